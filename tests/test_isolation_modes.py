"""The grader where user namespaces are unavailable: it refuses, or grades unisolated when told.

The hostile suite (``test_integrity``) grades every attack both as root and as
``nobody``; this module covers a machine where user namespaces are switched
off.  The limit ``user.max_user_namespaces`` is per user namespace, so the test
switches it off in a namespace of its own (the machine's setting stays as it
is) and runs the grader there as a root without capabilities: the grader then
has no privilege and no namespace to make, as on a locked-down machine.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from nbgrader_course import add_course

from autograder.store import read_record

pytestmark = pytest.mark.slow
NO_NAMESPACES = ("echo 0 > /proc/sys/user/max_user_namespaces\n"
                 "exec setpriv --inh-caps=-all --bounding-set=-all -- \"$@\"")


def _grade_without_namespaces(course: Path, *options: str) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-m", "autograder", "grade", "add", "--no-progress", *options]
    return subprocess.run(["unshare", "--user", "--map-root-user", "sh", "-c", NO_NAMESPACES,
                           "sh", *argv], cwd=course, capture_output=True, text=True, timeout=300)


def test_without_user_namespaces_it_refuses_in_one_line_and_no_isolation_grades(tmp_path):
    if shutil.which("unshare") is None or subprocess.run(
            ["unshare", "--user", "--map-root-user", "true"]).returncode != 0:
        pytest.fail("this test needs user namespaces to switch them off in one")
    course = add_course(tmp_path / "course", {"right": "solution", "wrong": "wrong"})
    refused = _grade_without_namespaces(course)
    assert refused.returncode == 2, refused.stderr
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("autograder: error: cannot isolate"), lines
    assert "user namespaces" in lines[0] and "--no-isolation" in lines[0]
    assert not (course / "gradebook.db").exists() and not (course / "autograded").exists()

    done = _grade_without_namespaces(course, "--no-isolation")
    assert done.returncode == 0, done.stderr
    assert "isolation: none" in done.stdout and "unisolated" in done.stderr
    assert "this batch runs unisolated" in (course / "autograder.log").read_text()
    assert {s: read_record(course, s, "add").score for s in ("right", "wrong")} == {
        "right": 2, "wrong": 0}
