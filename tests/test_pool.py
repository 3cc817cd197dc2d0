"""execute/pool.py: helper processes fed over pipes (local grading workers, page renderers)."""
from __future__ import annotations

import os
import textwrap

import psutil
import pytest

from autograder.execute.pool import HelperDied, ProcessPool

HELPER = textwrap.dedent('''
    import os, sys
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


def test_close_leaves_no_helper_behind(pool):
    for i in range(4):
        pool.submit(("echo", i)).result(timeout=30)
    assert _helpers()
    pool.close()
    assert not [p for p in _helpers() if p.status() != psutil.STATUS_ZOMBIE]
