"""Login, logout, the account, API tokens, and the administration of accounts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from lydiard.interfaces.api.routes._common import next_url
from lydiard.interfaces.api.schemas import (
    AccountDeleteIn,
    AccountPatch,
    LoginIn,
    LoginOut,
    Message,
    NewTokenOut,
    Page,
    PasswordChangeIn,
    SessionOut,
    TokenIn,
    TokenOut,
    UserCreateIn,
    UserOut,
    UserPatch,
)
from lydiard.interfaces.http.auth import current_session, login_response, logout, session_token
from lydiard.interfaces.http.deps import CtxDep, SessionActorDep, UserActorDep
from lydiard.services import privacy
from lydiard.services import tokens as token_svc
from lydiard.services import users as user_svc


def routes() -> APIRouter:
    r = APIRouter(tags=["auth"])

    @r.post("/auth/login", response_model=LoginOut)
    def login(body: LoginIn, request: Request, response: Response) -> LoginOut:
        """Log in with email and password; sets the session cookie and returns the CSRF token."""
        result = login_response(request, response, email=body.email, password=body.password)
        return LoginOut(user=UserOut.model_validate(result.user), csrf_token=result.csrf_token)

    @r.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
    def logout_route(request: Request, response: Response) -> Response:
        """End the session."""
        out = Response(status_code=status.HTTP_204_NO_CONTENT)
        logout(request, out)
        return out

    @r.get("/auth/me", response_model=UserOut)
    def me(ctx: CtxDep, actor: UserActorDep) -> UserOut:
        """The logged-in account."""
        assert actor.user_id is not None
        return UserOut.model_validate(user_svc.get_user(ctx, actor, actor.user_id))

    @r.patch("/auth/me", response_model=UserOut)
    def patch_me(body: AccountPatch, ctx: CtxDep, actor: UserActorDep) -> UserOut:
        """Change the display name or units."""
        return UserOut.model_validate(user_svc.update_account(ctx, actor, display_name=body.display_name,
                                                              units=body.units))

    @r.post("/auth/password", response_model=Message)
    def password(body: PasswordChangeIn, request: Request, ctx: CtxDep, actor: SessionActorDep) -> Message:
        """Change the password (browser session and the current password): every other session
        ends and every API token of the account is revoked."""
        n = user_svc.change_password(ctx, actor, current_password=body.current_password,
                                     new_password=body.new_password, keep_session_token=session_token(request))
        return Message(detail=f"password changed; your other sessions ended and {n} API token(s) were revoked")

    @r.post("/auth/me/delete", status_code=status.HTTP_204_NO_CONTENT)
    def delete_me(body: AccountDeleteIn, request: Request, ctx: CtxDep, actor: SessionActorDep) -> Response:
        """Delete the account, its athlete profile and the athletes it manages, for good
        (browser session and the password)."""
        assert actor.user_id is not None
        user_svc.confirm_password(ctx, actor, body.password)
        privacy.delete_account(ctx, actor, actor.user_id)
        out = Response(status_code=status.HTTP_204_NO_CONTENT)
        logout(request, out)
        return out

    @r.get("/auth/sessions", response_model=list[SessionOut])
    def list_sessions(request: Request, ctx: CtxDep, actor: UserActorDep) -> list[SessionOut]:
        """My open browser sessions (when, from where, which browser), the current one marked."""
        session = current_session(request)
        return [SessionOut.model_validate(x) for x in
                user_svc.list_sessions(ctx, actor, current_id=session.id if session else "")]

    @r.delete("/auth/sessions/{login_session_id}", status_code=status.HTTP_204_NO_CONTENT)
    def end_session(login_session_id: str, ctx: CtxDep, actor: SessionActorDep) -> Response:
        """End one of my sessions (e.g. a browser I left logged in elsewhere)."""
        user_svc.end_session(ctx, actor, login_session_id)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    @r.get("/auth/tokens", response_model=list[TokenOut])
    def list_tokens(ctx: CtxDep, actor: UserActorDep) -> list[TokenOut]:
        """My personal API tokens (without their secret), with their last use and expiry."""
        return [TokenOut.model_validate(t) for t in token_svc.list_tokens(ctx, actor)]

    @r.post("/auth/tokens", response_model=NewTokenOut, status_code=status.HTTP_201_CREATED)
    def create_token(body: TokenIn, ctx: CtxDep, actor: SessionActorDep) -> NewTokenOut:
        """Create a token (browser session and the current password); its secret is shown in this
        response only. It expires after ``expires_in_days`` (default 90, at most 365 unless the
        server says otherwise) and is revoked when the password changes."""
        new = token_svc.create_token(ctx, actor, name=body.name, scope=body.scope, password=body.password,
                                     expires_in_days=body.expires_in_days)
        return NewTokenOut(token=new.token, info=TokenOut.model_validate(new.info))

    @r.delete("/auth/tokens/{token_id}", response_model=TokenOut)
    def revoke_token(token_id: str, ctx: CtxDep, actor: SessionActorDep) -> TokenOut:
        """Revoke a token (browser session)."""
        return TokenOut.model_validate(token_svc.revoke_token(ctx, actor, token_id))

    @r.get("/admin/users", response_model=Page[UserOut], tags=["admin"])
    def list_users(request: Request, ctx: CtxDep, actor: UserActorDep,
                   limit: Annotated[int, Query(ge=1, le=500)] = 100,
                   offset: Annotated[int, Query(ge=0)] = 0) -> Page[UserOut]:
        """Every account (administrators)."""
        rows = user_svc.list_users(ctx, actor, limit=limit + 1, offset=offset)
        total = offset + len(rows)
        return Page[UserOut](items=[UserOut.model_validate(u) for u in rows[:limit]], total=total, limit=limit,
                             offset=offset, next=next_url(request, offset=offset, limit=limit, total=total))

    @r.post("/admin/users", response_model=UserOut, status_code=status.HTTP_201_CREATED, tags=["admin"])
    def create_user(body: UserCreateIn, ctx: CtxDep, actor: UserActorDep) -> UserOut:
        """Create an account (administrators)."""
        return UserOut.model_validate(user_svc.create_user(ctx, actor, email=body.email, password=body.password,
                                                           display_name=body.display_name,
                                                           is_admin=body.is_admin))

    @r.patch("/admin/users/{user_id}", response_model=UserOut, tags=["admin"])
    def patch_user(user_id: str, body: UserPatch, ctx: CtxDep, actor: UserActorDep) -> UserOut:
        """Deactivate or reactivate an account (administrators)."""
        return UserOut.model_validate(user_svc.set_user_active(ctx, actor, user_id, active=body.is_active))

    return r
