"""Where submissions execute: local worker processes, or a Dask distributed cluster.

Both runners read plain-data payloads from an iterator *as workers free up* (a
window of a few per worker is in flight, so a class of thousands is never held
in memory at once) and yield ``(payload, outcome)`` as submissions finish, in
completion order; scoring and writing stay with the caller.  The iterator is
asked again after every result, so a caller may queue a retry while it scores.
A payload that raises inside a worker comes back as an outcome with status
``error``.
"""
from __future__ import annotations

import concurrent.futures as cf
import itertools
from typing import Iterator

from autograder import UsageError
from autograder.execute.kernels import fork_server
from autograder.execute.payload import error_outcome, execute_payload
from autograder.execute.pool import HelperDied, ProcessPool
from autograder.record import Outcome

__all__ = ["connect", "run_local", "run_dask", "error_outcome"]

_IN_FLIGHT_PER_WORKER = 2  # one running, one ready: a worker never waits for the scorer


def _take(payloads: Iterator[dict], count: int) -> list[dict]:
    """Up to ``count`` payloads; asks again next time even after one ran dry."""
    taken = []
    for _ in range(count):
        try:
            taken.append(next(payloads))
        except StopIteration:
            break
    return taken


def run_local(payloads: Iterator[dict], workers: int) -> Iterator[tuple[dict, Outcome]]:
    """Execute payloads in ``workers`` local worker processes (:mod:`.worker`).

    Each worker drives its kernels' Jupyter messages, so the grader's own process
    only builds payloads and judges outcomes.  Kernels are forked from one fork
    server, the grader's: each payload names its socket.  A worker that dies
    fails its submission (an ``error`` outcome, with what the worker wrote to its
    standard error) and is replaced.
    """
    workers = max(1, workers)
    window = workers * _IN_FLIGHT_PER_WORKER
    pool = ProcessPool("autograder.execute.worker", workers, name="grade")
    pending: dict = {}

    def submit(payload: dict) -> None:
        job = payload
        if payload.get("fork", True):  # started (or restarted) here, shared by every worker
            job = {**payload, "fork_server": fork_server(tuple(payload["preload"])).path}
        pending[pool.submit(job)] = payload

    try:
        while True:
            for payload in _take(payloads, window - len(pending)):
                try:
                    submit(payload)
                except Exception as exc:  # no fork server: this one fails, is retried fresh
                    yield payload, error_outcome(payload["key"], exc)
            if not pending:
                return
            done, _ = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
            for future in done:
                payload = pending.pop(future)
                try:
                    outcome = future.result()
                except HelperDied as exc:  # a worker lost: what it said on its way out
                    outcome = error_outcome(payload["key"], exc, exc.stderr, "grading worker")
                except Exception as exc:  # one failure never stops the batch
                    outcome = error_outcome(payload["key"], exc)
                yield payload, outcome
    finally:
        pool.close()


def connect(address: str, timeout: str = "10s"):
    """A Dask client for the scheduler at ``address`` (one readable error if unreachable)."""
    from distributed import Client
    try:
        return Client(address, timeout=timeout)
    except (OSError, TimeoutError, ValueError) as exc:
        raise UsageError(f"cannot reach the Dask scheduler at {address}: {exc}") from None


def run_dask(payloads: Iterator[dict], client) -> Iterator[tuple[dict, Outcome]]:
    """Execute payloads as tasks on the cluster of ``client``, a window per worker thread."""
    from distributed import as_completed
    threads = sum(client.nthreads().values()) or 1
    window = max(8, threads * _IN_FLIGHT_PER_WORKER)
    order = itertools.count()
    pending: dict = {}

    def submit(batch: list[dict]) -> list:
        futures = []
        for payload in batch:  # earlier payloads keep a higher priority
            future = client.submit(execute_payload, payload, pure=False, retries=1,
                                   key=f"grade-{payload['key']}-{payload['nonce'][:8]}-"
                                       f"{payload.get('attempt', 0)}",
                                   priority=-next(order))
            pending[future] = payload
            futures.append(future)
        return futures

    stream = as_completed(submit(_take(payloads, window)))
    for future in stream:
        payload = pending.pop(future)
        try:
            outcome = future.result()
        except Exception as exc:  # a lost worker is one row, not a crash
            outcome = error_outcome(payload["key"], exc)
        future.release()  # the scheduler forgets the task and its result
        yield payload, outcome
        for new in submit(_take(payloads, window - len(pending))):
            stream.add(new)
