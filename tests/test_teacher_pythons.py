"""The teacher's side on the newest Python it supports: installed from a clone, a release validated.

``pyproject.toml`` admits Python 3.11 to 3.13; CI's own venv is 3.11.  This test
builds a venv with the newest interpreter of that range found on the machine,
installs the project into it (not editable) and runs ``autograder release`` on a
numpy and a TensorFlow assignment: generating, bundling and grading the
validation class (solution: full marks; untouched release: zero) all run there.
"""
from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path

import pytest
from interpreters import python3_interpreters
from nbgrader_course import copy_course
from real_server import install_clone

pytestmark = pytest.mark.slow
NEWEST = (3, 13)
ASSIGNMENTS = ("backprop_numpy", "gradient_tape")


def _interpreter(version: tuple[int, int]) -> str | None:
    """The newest interpreter of ``version`` on this machine, if any."""
    found = [path for release, path in python3_interpreters() if release[:2] == version]
    return found[-1] if found else None


def test_the_teacher_side_installs_and_validates_a_release_on_the_newest_python():
    python = _interpreter(NEWEST)
    if python is None:
        pytest.skip("no Python %d.%d on this machine" % NEWEST)
    with tempfile.TemporaryDirectory(prefix="teacher-py-") as scratch:
        venv = Path(scratch) / "venv"
        install_clone(python, venv)
        course = copy_course(Path(scratch) / "course", ASSIGNMENTS)
        env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": scratch, "LANG": "C.UTF-8"}
        done = subprocess.run([str(venv / "bin" / "autograder"), "release", *ASSIGNMENTS], cwd=course,
                              env=env, capture_output=True, text=True, timeout=900)
        version = subprocess.run([str(venv / "bin" / "python"), "-c", "import sys; print(sys.version)"],
                                 capture_output=True, text=True).stdout.strip()
    print(f"teacher side on Python {version}:\n{done.stdout}")
    assert done.returncode == 0, done.stdout + done.stderr
    for assignment in ASSIGNMENTS:
        assert re.search(rf"release {assignment}: ok\b", done.stdout), done.stdout
