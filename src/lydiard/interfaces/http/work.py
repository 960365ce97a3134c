"""Where request work runs: the thread pools of a server process, and an upload's budget.

* Requests (sync routes and the request policy) share AnyIO's default thread pool, limited to
  ``settings.request_threads`` (:func:`limit_request_threads`, at start-up): Python threads
  share one interpreter lock, so a few threads served in order answer sooner than forty
  sharing the CPU.
* Uploads and check-ins, the writes that recompute an athlete's days (0.1 s of CPU or
  more each), run in a pool of their own, ``settings.recompute_threads`` wide
  (:func:`run_recompute_work`), so they never hold a page view up.
* An upload's work runs under a budget that stops when the client goes away (:func:`request_budget`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Callable
from typing import TypeVar

import anyio.to_thread
from anyio import CapacityLimiter
from anyio.lowlevel import RunVar
from fastapi import Request

from lydiard.config import Settings
from lydiard.services.importing import WorkBudget

T = TypeVar("T")

#: The recomputing writes' thread limiter of the running event loop (AnyIO keeps its default one the same way).
_RECOMPUTE_LIMITER: RunVar[CapacityLimiter] = RunVar("lydiard_recompute_limiter")


def limit_request_threads(settings: Settings) -> None:
    """Limit the running event loop's default thread pool to ``settings.request_threads``."""
    anyio.to_thread.current_default_thread_limiter().total_tokens = settings.request_threads


def _recompute_limiter(settings: Settings) -> CapacityLimiter:
    try:
        return _RECOMPUTE_LIMITER.get()
    except LookupError:
        limiter = CapacityLimiter(settings.recompute_threads)
        _RECOMPUTE_LIMITER.set(limiter)
        return limiter


async def run_recompute_work(settings: Settings, func: Callable[..., T], /, *args: object, **kwargs: object) -> T:
    """Run ``func(*args, **kwargs)`` in the recomputing writes' thread pool (``settings.recompute_threads`` at once)."""
    call = functools.partial(func, *args, **kwargs)
    return await anyio.to_thread.run_sync(call, limiter=_recompute_limiter(settings))

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
