"""Where submissions execute: local worker threads, or a Dask distributed cluster.

Both runners take plain-data payloads and yield ``(key, outcome)`` as submissions
finish, in completion order; scoring and writing stay with the caller.  A payload
that raises inside a worker comes back as an outcome with status ``error``.
"""
from __future__ import annotations

import concurrent.futures as cf
from typing import Iterable, Iterator

from . import UsageError
from ._execute import execute_payload
from ._kernels import fork_server

__all__ = ["connect", "run_local", "run_dask", "error_outcome"]


def error_outcome(key: str, exc: BaseException) -> dict:
    """The outcome of a payload whose execution failed in the grader itself."""
    text = str(exc).strip().splitlines()
    detail = f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
    return {"key": key, "status": "error", "detail": detail, "duration_s": 0.0, "notebooks": {}}


def run_local(payloads: Iterable[dict], workers: int) -> Iterator[tuple[str, dict]]:
    """Execute payloads on ``workers`` threads (each drives its own kernel processes), in order."""
    payloads = list(payloads)
    if payloads and payloads[0].get("fork", True):  # start it here, not inside the first task
        fork_server(tuple(payloads[0]["preload"]))
    pool = cf.ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="grade")
    futures = {pool.submit(execute_payload, p): p["key"] for p in payloads}
    try:
        for future in cf.as_completed(futures):
            try:
                yield futures[future], future.result()
            except Exception as exc:  # noqa: BLE001 - one failure never stops the batch
                yield futures[future], error_outcome(futures[future], exc)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def connect(address: str, timeout: str = "10s"):
    """A Dask client for the scheduler at ``address`` (one readable error if unreachable)."""
    from distributed import Client
    try:
        return Client(address, timeout=timeout)
    except (OSError, TimeoutError, ValueError) as exc:
        raise UsageError(f"cannot reach the Dask scheduler at {address}: {exc}") from None


def run_dask(payloads: Iterable[dict], client) -> Iterator[tuple[str, dict]]:
    """Execute payloads as tasks on the cluster of ``client``."""
    from distributed import as_completed
    payloads = list(payloads)  # in the order to start them: earlier ones get a higher priority
    futures = {client.submit(execute_payload, p, key=f"grade-{p['key']}-{p['nonce'][:8]}",
                             pure=False, retries=1, priority=len(payloads) - i): p["key"]
               for i, p in enumerate(payloads)}
    for future in as_completed(futures):
        try:
            yield futures[future], future.result()
        except Exception as exc:  # noqa: BLE001 - a lost worker is one row, not a crash
            yield futures[future], error_outcome(futures[future], exc)
