"""Run one request's heavy work (an upload's import) under a budget that stops when the client goes away."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from fastapi import Request

from lydiard.services.importing import WorkBudget

#: How often the client's connection is looked at while work runs, in seconds.
DISCONNECT_POLL_S = 0.5


@contextlib.asynccontextmanager
async def request_budget(request: Request, budget_s: float) -> AsyncIterator[WorkBudget]:
    """A :class:`WorkBudget` of ``budget_s`` seconds for this request, cancelled as soon as the
    client disconnects (polled every :data:`DISCONNECT_POLL_S`)."""
    budget = WorkBudget(budget_s)

    async def watch() -> None:
        while True:
            if await request.is_disconnected():
                budget.cancel()
                return
            await asyncio.sleep(DISCONNECT_POLL_S)

    task = asyncio.create_task(watch())
    try:
        yield budget
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
