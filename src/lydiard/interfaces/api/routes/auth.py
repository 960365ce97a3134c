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
    NewTokenOut,
    Page,
    PasswordChangeIn,
    TokenIn,
    TokenOut,
    UserCreateIn,
    UserOut,
    UserPatch,
)
from lydiard.interfaces.http.auth import SESSION_COOKIE, login_response, logout
from lydiard.interfaces.http.deps import CtxDep, UserActorDep
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

    @r.post("/auth/password", status_code=status.HTTP_204_NO_CONTENT)
    def password(body: PasswordChangeIn, request: Request, ctx: CtxDep, actor: UserActorDep) -> Response:
        """Change the password; other sessions end."""
        user_svc.change_password(ctx, actor, current_password=body.current_password,
                                 new_password=body.new_password,
                                 keep_session_token=request.cookies.get(SESSION_COOKIE))
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    @r.post("/auth/me/delete", status_code=status.HTTP_204_NO_CONTENT)
    def delete_me(body: AccountDeleteIn, request: Request, ctx: CtxDep, actor: UserActorDep) -> Response:
        """Delete the account, its athlete profile and the athletes it manages, for good."""
        assert actor.user_id is not None
        user_svc.confirm_password(ctx, actor, body.password)
        privacy.delete_account(ctx, actor, actor.user_id)
        out = Response(status_code=status.HTTP_204_NO_CONTENT)
        logout(request, out)
        return out

    @r.get("/auth/tokens", response_model=list[TokenOut])
    def list_tokens(ctx: CtxDep, actor: UserActorDep) -> list[TokenOut]:
        """My personal API tokens (without their secret)."""
        return [TokenOut.model_validate(t) for t in token_svc.list_tokens(ctx, actor)]

    @r.post("/auth/tokens", response_model=NewTokenOut, status_code=status.HTTP_201_CREATED)
    def create_token(body: TokenIn, ctx: CtxDep, actor: UserActorDep) -> NewTokenOut:
        """Create a token; its secret is shown in this response only."""
        new = token_svc.create_token(ctx, actor, name=body.name, scope=body.scope)
        return NewTokenOut(token=new.token, info=TokenOut.model_validate(new.info))

    @r.delete("/auth/tokens/{token_id}", response_model=TokenOut)
    def revoke_token(token_id: str, ctx: CtxDep, actor: UserActorDep) -> TokenOut:
        """Revoke a token."""
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
