"""Dask clients: a LocalCluster by default, or an existing scheduler (``tcp://host:port``)."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator

import dask
from distributed import Client, LocalCluster

log = logging.getLogger(__name__)

#: glibc malloc settings for batch worker processes: keep blocks up to 64 MiB on the heap
#: (no fresh ``mmap`` + page faults for every large temporary of the kernels) and do not
#: give freed memory back to the system below 1 GiB. The staging kernel spent ~30 % of its
#: time in system calls without them. They must be in the environment when a process
#: starts, so they are set before the LocalCluster's workers are spawned.
MALLOC_ENV: dict[str, str] = {
    "GLIBC_TUNABLES": "glibc.malloc.mmap_threshold=67108864:glibc.malloc.trim_threshold=1073741824",
    "MALLOC_MMAP_THRESHOLD_": "67108864",  # the same, for glibc without tunables and to override
    "MALLOC_TRIM_THRESHOLD_": "1073741824",  # Dask's default pre-spawn MALLOC_TRIM_THRESHOLD_=65536
}

#: Dask settings of the local batch workers: no statistical profiler (it samples every worker's
#: stack every 10 ms for the dashboard's profile page; an idle worker used ~55 ms of CPU per
#: second with it, ~37 without, measured on distributed 2026.8).
WORKER_CONFIG: dict[str, object] = {"distributed.worker.profile.enabled": False}


@contextlib.contextmanager
def make_client(*, scheduler: str | None = None, n_workers: int | None = None, threads_per_worker: int = 1,
                processes: bool = True, memory_limit: str = "auto", malloc_tuning: bool = True) -> Iterator[Client]:
    """A Dask client for the duration of the ``with`` block.

    ``scheduler``: the address of a running scheduler (``dask scheduler``); otherwise a
    LocalCluster of ``n_workers`` (default: one per CPU) single-threaded worker processes
    is started and shut down on exit. Numpy kernels hold the GIL between vector
    operations, so processes scale better than threads. ``malloc_tuning``: start the local
    worker processes with :data:`MALLOC_ENV` (workers of a running scheduler are started by
    whoever starts them: set the variables there). Local workers also get :data:`WORKER_CONFIG`.
    """
    if scheduler:
        client = Client(scheduler)  # type: ignore[no-untyped-call]
        log.info("connected to Dask scheduler %s", scheduler)
        try:
            yield client
        finally:
            client.close()  # type: ignore[no-untyped-call]
        return
    workers = n_workers or os.cpu_count() or 1
    env: dict[str, object] = dict(WORKER_CONFIG)
    if malloc_tuning:
        env.update({f"distributed.nanny.pre-spawn-environ.{k}": v for k, v in MALLOC_ENV.items()})
    with dask.config.set(env):
        cluster = LocalCluster(  # type: ignore[no-untyped-call]
            n_workers=workers, threads_per_worker=threads_per_worker, processes=processes,
            memory_limit=memory_limit, dashboard_address=":0",
        )
    with cluster, Client(cluster) as client:  # type: ignore[no-untyped-call]
        log.info("started a LocalCluster of %d worker(s)", workers)
        yield client
