"""``autograder release``: argument errors, generate failures and the validation verdict."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from autograder.commands import release
from autograder.record import CellScore, Result, Status

REPO = Path(__file__).resolve().parents[1]


def _record(score, top=5.0, status="ok", failing=None):
    test = CellScore("test_a", "nb", ok=failing is None, message=failing)
    return Result("s", "a", Status(status), score=score, max_score=top, tests=(test,))


@pytest.mark.parametrize("records, good, text", [
    ({"s01": _record(5), "s02": _record(0)}, True, "solution 5/5, untouched release 0/5"),
    ({"s01": _record(3, failing="check_affine: wrong d_weight\n  where: ..."), "s02": _record(0)},
     False, "solution 3/5 (test_a: check_affine: wrong d_weight)"),
    ({"s01": _record(5), "s02": _record(0, status="kernel-died")},
     False, "untouched release 0/5 [kernel-died] -- status kernel-died, expected ok"),
    ({"s01": _record(5), "s02": _record(2)}, False, "untouched release 2/5 -- score 2/5, expected 0"),
    ({"s02": _record(0)}, False, "solution: no result"),
])
def test_verdict(records, good, text):
    verdict, description = release._verdict(records)
    assert verdict == good and text in description


def test_unknown_assignment_is_one_line_exit_2(capsys):
    assert release.main(course=str(REPO), assignments=["no_such_assignment"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("autograder: error: no assignment no_such_assignment") and err.count("\n") == 1


def test_a_source_nbgrader_rejects_is_reported_per_assignment(tmp_path, capsys):
    cell = {"cell_type": "code", "execution_count": None, "outputs": [], "source":
            "def f():\n    ### BEGIN SOLUTION\n    return 1\n",  # no END SOLUTION
            "metadata": {"nbgrader": {"grade_id": "f", "solution": True, "grade": False,
                                      "locked": False, "schema_version": 3}}}
    nb = {"cells": [cell], "metadata": {"kernelspec": {"name": "python3", "display_name": "P",
                                                       "language": "python"}},
          "nbformat": 4, "nbformat_minor": 5}
    (tmp_path / "source" / "broken").mkdir(parents=True)
    (tmp_path / "source" / "broken" / "broken.ipynb").write_text(json.dumps(nb))
    assert release.main(course=str(tmp_path)) == 1
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and re.fullmatch(
        r"release broken: FAILED -- generate_assignment: RuntimeError: "
        r"no end solution statement found \(\d+ s\)", out[0])


@pytest.mark.slow
def test_release_and_validate_the_fixture_course(tmp_path, capsys):
    """generate_assignment, then a solution scores full marks and the release zero."""
    import shutil
    shutil.copytree(REPO / "tests" / "fixtures" / "course", tmp_path / "course")
    assert release.main(course=str(tmp_path / "course"), workers=2) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 2 and re.fullmatch(
        r"release tiny: ok -- solution (\d+)/\1, untouched release 0/\d+; beside the "
        r"notebook: nn_utils/, requirements.txt \(\d+ s\)", out[0]), out
    assert out[1] == ("the checker as a wheel, for lab machines and JupyterHub images: "
                      "dist/nn_utils-0.1.0-py3-none-any.whl")
    bundle = tmp_path / "course" / "release" / "tiny"
    assert (bundle / "nn_utils" / "cases" / "relu.json").is_file()
    wanted = (bundle / "requirements.txt").read_text()
    assert "numpy>=1.26,<3" in wanted.splitlines() and not re.search(r"^[\w.-]+ *==", wanted, re.M)
    assert (tmp_path / "course" / "release" / "tiny" / "tiny.ipynb").is_file()
