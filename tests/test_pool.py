"""execute/pool.py: helper processes fed over pipes (local grading workers, page renderers)."""
from __future__ import annotations

import concurrent.futures as cf
import os
import textwrap
import time

import psutil
import pytest

from autograder.execute.pool import HelperDied, ProcessPool

HELPER = textwrap.dedent('''
    import os, sys, time
    from autograder.execute.pool import serve

    def handle(job):
        kind, value = job
        if kind == "echo":
            return (os.getpid(), value)
        if kind == "raise":
            raise KeyError(value)
        if kind == "die":  # what a worker says on its way out reaches the caller
            print("fatal: " + value, file=sys.stderr, flush=True)
            os._exit(3)
        if kind == "busy":  # stopped mid-job, it cleans up as a grading worker kills its kernels
            try:
                open(value + ".started", "w").close()
                time.sleep(60)
            finally:
                open(value + ".cleaned", "w").close()

    if __name__ == "__main__":
        serve(handle)
''')


@pytest.fixture
def pool(tmp_path, monkeypatch):
    (tmp_path / "pool_helper_for_tests.py").write_text(HELPER)
    # the helpers start with -P: the module is found through PYTHONPATH, as an installed one
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")])))
    pool = ProcessPool("pool_helper_for_tests", 2, name="test")
    yield pool
    pool.close()


def _helpers() -> list[psutil.Process]:
    return [p for p in psutil.Process().children(recursive=True)
            if "pool_helper_for_tests" in " ".join(p.cmdline())]


def test_jobs_run_in_helper_processes_and_come_back(pool):
    replies = [pool.submit(("echo", i)).result(timeout=30) for i in range(6)]
    assert [value for _, value in replies] == list(range(6))
    assert os.getpid() not in {pid for pid, _ in replies}


def test_a_jobs_exception_is_raised_as_itself(pool):
    with pytest.raises(KeyError, match="nope"):
        pool.submit(("raise", "nope")).result(timeout=30)
    assert pool.submit(("echo", 1)).result(timeout=30)[1] == 1


def test_a_dead_helper_fails_its_job_with_its_error_output_and_is_replaced(pool):
    futures = [pool.submit(("die", "out of luck")), pool.submit(("echo", 1))]
    with pytest.raises(HelperDied, match="exit status 3") as died:
        futures[0].result(timeout=30)
    assert "fatal: out of luck" in died.value.stderr
    assert futures[1].result(timeout=30)[1] == 1
    assert all(pool.submit(("echo", i)).result(timeout=30)[1] == i for i in range(4))
    assert len([p for p in _helpers() if p.status() != psutil.STATUS_ZOMBIE]) <= 2  # replaced


def test_close_stops_a_busy_helper_which_cleans_up_first(pool, tmp_path):
    marker = str(tmp_path / "job")
    future = pool.submit(("busy", marker))
    deadline = time.monotonic() + 30
    while not os.path.exists(marker + ".started") and time.monotonic() < deadline:
        time.sleep(0.05)
    started = time.monotonic()
    pool.close()
    assert time.monotonic() - started < 2.5            # asked, not waited out
    assert os.path.exists(marker + ".cleaned")         # its finally ran before it exited
    with pytest.raises((HelperDied, cf.CancelledError)):
        future.result(timeout=10)
    assert not [p for p in _helpers() if p.status() != psutil.STATUS_ZOMBIE]


def test_close_leaves_no_helper_behind(pool):
    for i in range(4):
        pool.submit(("echo", i)).result(timeout=30)
    assert _helpers()
    pool.close()
    assert not [p for p in _helpers() if p.status() != psutil.STATUS_ZOMBIE]
