"""Helpers shared by the API routes: pagination links."""

from __future__ import annotations

from fastapi import Request


def next_url(request: Request, *, offset: int, limit: int, total: int) -> str | None:
    """The URL of the next page, or None on the last page."""
    if offset + limit >= total:
        return None
    return str(request.url.include_query_params(offset=offset + limit, limit=limit))
