"""execute_payload on its own: working copy, environment and the per-submission time limit,
for forked and for fresh kernels, and for kernels behind bubblewrap."""
from __future__ import annotations

import os

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from autograder.execute.kernels import close_fork_servers
from autograder.execute.payload import execute_payload
from autograder.execute.sandbox import sandbox_status

pytestmark = pytest.mark.slow
BWRAP, BWRAP_WHY = sandbox_status("bubblewrap")


def _behind_bwrap(*values):
    """A parameter for a kernel behind bubblewrap (which boots fresh whatever "fork" says);
    skipped, with the reason, where bwrap cannot run."""
    return pytest.param(*values, id="bubblewrap", marks=pytest.mark.skipif(
        not BWRAP, reason=f"bubblewrap: {BWRAP_WHY}"))


@pytest.fixture(autouse=True, scope="module")
def _stop_fork_servers():
    yield
    close_fork_servers()  # execute_payload keeps its server for the next call; stop it here
CELLS = [
    "print(open('data/given.txt').read())",
    "import os, resource\nprint(os.getcwd())\nprint(os.environ.get('NN_UTILS_GRADING_NONCE', 'no-nonce'))\n"
    "print(resource.getrlimit(resource.RLIMIT_DATA)[0])",
    "import time\ntime.sleep(30)",
    "print('never reached')",
]


@pytest.mark.parametrize("fork", [True, False, _behind_bwrap("bubblewrap")],
                         ids=["forked", "fresh", "bubblewrap"])
def test_working_copy_env_and_submission_time_limit(fork):
    sandbox, fork = (fork, True) if fork == "bubblewrap" else (None, fork)
    payload = {"key": "s1", "nonce": "cafe01", "timeout": 60.0, "submission_timeout": 6.0,
               "fork": fork, "sandbox": sandbox, "preload": ["numpy", "ipykernel.kernelapp"], "threads": 1,
               "limits": {"memory": 2 * 1024 ** 3, "processes": 64},
               "files": {"data/given.txt": b"data from source/"},
               "notebooks": {"nb": nbformat.writes(new_notebook(
                   cells=[new_code_cell(c) for c in CELLS]))}}
    outcome = execute_payload(payload)
    assert outcome.status == "timeout" and "submission" in outcome.detail
    assert outcome.duration_s < 25
    cells = nbformat.reads(outcome.notebooks["nb"], as_version=4).cells
    assert cells[0].outputs[0]["text"].strip() == "data from source/"
    workdir, nonce, data_limit = cells[1].outputs[0]["text"].split()
    # the kernel never learns the nonce: the grader's plans are all it gets
    assert nonce == "no-nonce" and int(data_limit) == 2 * 1024 ** 3
    assert not os.path.exists(workdir)                 # the working copy is gone
    assert not workdir.startswith(os.getcwd())         # and was never in the course
    assert cells[3].get("execution_count") is None


@pytest.mark.parametrize("fork, isolation", [(True, True), (False, True), (False, False),
                                           _behind_bwrap("bubblewrap", True)],
                         ids=["forked", "fresh", "fresh-unisolated", "bubblewrap"])
def test_a_handed_in_nn_utils_folder_does_not_replace_the_graders(fork, isolation, monkeypatch):
    """nbgrader submit hands in the whole folder, the release's checker bundle included: the
    kernel imports the grader's checker, and the student's own modules, as nbgrader's would."""
    if not isolation:   # as --no-isolation (or a machine without any sandbox) runs kernels
        monkeypatch.setenv("AUTOGRADER_ISOLATION", "off")
    sandbox, fork = (fork, True) if fork == "bubblewrap" else (None, fork)
    payload = {"key": "s1", "nonce": "cafe02", "timeout": 60.0, "submission_timeout": 60.0,
               "fork": fork, "isolation": isolation, "sandbox": sandbox, "threads": 1,
               "preload": ["numpy", "ipykernel.kernelapp", "nn_utils"],
               "limits": {"memory": 2 * 1024 ** 3, "processes": 64},
               "files": {"nn_utils/__init__.py": b"raise RuntimeError('the handed-in copy')\n",
                         "autograder/__init__.py": b"raise RuntimeError('the handed-in copy')\n",
                         "helper.py": b"ANSWER = 42\n"},
               "notebooks": {"nb": nbformat.writes(new_notebook(cells=[new_code_cell(
                   "import nn_utils, os\nprint(os.path.realpath(nn_utils.__file__))\nprint(os.getcwd())\n"
                   "import helper\nprint(helper.ANSWER)")]))}}
    outcome = execute_payload(payload)
    assert outcome.status == "ok", outcome
    checker, workdir, answer = nbformat.reads(outcome.notebooks["nb"], as_version=4).cells[0].outputs[0][
        "text"].split()
    assert not checker.startswith(workdir + os.sep)
    assert answer == "42"   # but a module of the student's own beside the notebook imports


@pytest.mark.parametrize("sandbox", [_behind_bwrap("bubblewrap")])
def test_a_dying_kernels_error_output_and_its_processes(sandbox):
    """Behind bwrap too, what a kernel writes before it dies reaches the grader (the fault
    handler's report here), its memory cap is the one asked for, and nothing it started
    survives it (a process in a session of its own)."""
    cells = ["import resource, subprocess\nprint(resource.getrlimit(resource.RLIMIT_NPROC)[0])\n"
             "subprocess.Popen(['sleep', '3019'], start_new_session=True)",
             "import ctypes\nctypes.string_at(0)"]
    payload = {"key": "s1", "nonce": "cafe03", "timeout": 60.0, "submission_timeout": 60.0,
               "sandbox": sandbox, "preload": [], "threads": 1,
               "limits": {"memory": 2 * 1024 ** 3, "processes": 64, "core": 0},
               "files": {}, "notebooks": {"nb": nbformat.writes(new_notebook(
                   cells=[new_code_cell(c) for c in cells]))}}
    outcome = execute_payload(payload)
    assert outcome.status == "kernel-died", outcome
    assert "Segmentation fault" in outcome.stderr and "string_at" in outcome.stderr
    cells = nbformat.reads(outcome.notebooks["nb"], as_version=4).cells
    assert cells[0].outputs[0]["text"].strip() == "64"
    for pid in os.listdir("/proc"):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                assert fh.read() != b"sleep\0" + b"3019\0"
        except OSError:
            pass
