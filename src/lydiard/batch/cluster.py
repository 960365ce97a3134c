"""Dask clients: a LocalCluster by default, or an existing scheduler (``tcp://host:port``)."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator

from distributed import Client, LocalCluster

log = logging.getLogger(__name__)


@contextlib.contextmanager
def make_client(*, scheduler: str | None = None, n_workers: int | None = None, threads_per_worker: int = 1,
                processes: bool = True, memory_limit: str = "auto") -> Iterator[Client]:
    """A Dask client for the duration of the ``with`` block.

    ``scheduler``: the address of a running scheduler (``dask scheduler``); otherwise a
    LocalCluster of ``n_workers`` (default: one per CPU) single-threaded worker processes
    is started and shut down on exit. Numpy kernels hold the GIL between vector
    operations, so processes scale better than threads.
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
    cluster = LocalCluster(  # type: ignore[no-untyped-call]
        n_workers=workers, threads_per_worker=threads_per_worker, processes=processes,
        memory_limit=memory_limit, dashboard_address=":0",
    )
    with cluster, Client(cluster) as client:  # type: ignore[no-untyped-call]
        log.info("started a LocalCluster of %d worker(s)", workers)
        yield client
