"""A local grading worker: ``python -P -m autograder.execute.worker``, one of a pool.

It runs :func:`~autograder.execute.payload.execute_payload` for each payload the
grader sends (:mod:`autograder.execute.pool`) and sends the outcome back, so the
Jupyter messages of its kernels cost the grader's own process nothing.  Its
kernels are forked from the grader's fork server (the payload names its
socket) or booted fresh; it kills those still running when it stops.
"""
from __future__ import annotations

from autograder.execute.payload import execute_payload, kill_running
from autograder.execute.pool import serve

if __name__ == "__main__":
    try:
        serve(execute_payload)
    finally:
        kill_running()
