"""``autograder collect``: LMS downloads (zip or folder) into submitted/."""
from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from autograder.commands import collect

NB = b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'

# entry name in the download -> (student, notebook) it must land at, or None
GOOD = {
    "s017_gradient_tape.ipynb": "s017",
    "s018-gradient_tape.ipynb": "s018",
    "s019.ipynb": "s019",
    "Jane Doe_1234567_assignsubmission_file_gradient_tape.ipynb": "1234567",
    "John Roe_7654321_assignsubmission_file_/my work.ipynb": "7654321",
    "doejane_12345_6789012_gradient_tape.ipynb": "12345",
    "roejohn_LATE_23456_6789013_gt.ipynb": "23456",
    "HW 3_jdoe_attempt_2024-11-02-10-11-12_gradient_tape.ipynb": "jdoe",
    "per-student/s020/gradient_tape.ipynb": "s020",
}
BAD = {
    "notes.txt": "not a notebook",
    "weird name.ipynb": "does not match",
    "__MACOSX/._s017_gradient_tape.ipynb": "system or hidden",
    "s021_gradient_tape.ipynb": "duplicate",
    "s021_gradient_tape-1.ipynb": "duplicate",
}


@pytest.fixture
def course(tmp_path: Path) -> Path:
    root = tmp_path / "course"
    (root / "source" / "gradient_tape").mkdir(parents=True)
    (root / "source" / "gradient_tape" / "gradient_tape.ipynb").write_bytes(NB)
    (root / "nbgrader_config.py").write_text("c = get_config()\n")
    return root


def _contents(name: str) -> bytes:
    return NB.replace(b"{}", b'{"from": "%s"}' % name.encode())


def _as_zip(tmp_path: Path, names) -> Path:
    archive = tmp_path / "download.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for name in names:
            zf.writestr(name, _contents(name))
    return archive


def _as_folder(tmp_path: Path, names) -> Path:
    folder = tmp_path / "download"
    for name in names:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(_contents(name))
    return folder


def _placed(course: Path) -> dict[str, bytes]:
    return {p.relative_to(course / "submitted").as_posix(): p.read_bytes()
            for p in (course / "submitted").rglob("*") if p.is_file()}


@pytest.mark.parametrize("make", [_as_zip, _as_folder], ids=["zip", "folder"])
def test_places_good_names_and_lists_bad_ones(course, tmp_path, capsys, make):
    archive = make(tmp_path, list(GOOD) + list(BAD))
    assert collect.main(course=str(course), assignment="gradient_tape",
                        archive=str(archive)) == 0
    expected = {f"{sid}/gradient_tape/gradient_tape.ipynb": _contents(name)
                for name, sid in GOOD.items()}
    assert _placed(course) == expected
    out = capsys.readouterr().out
    assert f"placed {len(GOOD)} notebook(s)" in out
    for name, reason in BAD.items():
        line = next(row for row in out.splitlines() if row.strip().startswith(name + ":"))
        assert reason in line


def test_rerun_is_idempotent_and_reports_unchanged(course, tmp_path, capsys):
    archive = _as_zip(tmp_path, ["s017_gradient_tape.ipynb"])
    collect.main(course=str(course), assignment="gradient_tape", archive=str(archive))
    collect.main(course=str(course), assignment="gradient_tape", archive=str(archive))
    assert "(1 unchanged)" in capsys.readouterr().out.splitlines()[-1]


def test_entries_cannot_escape_submitted(course, tmp_path):
    archive = _as_zip(tmp_path, ["../../s030_gradient_tape.ipynb", "a/../../x/..ipynb"])
    collect.main(course=str(course), assignment="gradient_tape", archive=str(archive))
    files = [p for p in tmp_path.rglob("*.ipynb") if "source" not in p.parts]
    assert sorted(p.relative_to(course).as_posix() for p in files) == [
        "submitted/s030/gradient_tape/gradient_tape.ipynb"]


def test_custom_pattern_and_multi_notebook_assignment(course, tmp_path, capsys):
    (course / "source" / "gradient_tape" / "extra.ipynb").write_bytes(NB)
    archive = _as_folder(tmp_path, ["gradient_tape--u1.ipynb", "extra--u1.ipynb",
                                    "other--u2.ipynb"])
    pattern = r"(?P<file_id>.+)--(?P<student_id>\w+)\.ipynb"
    assert collect.main(course=str(course), assignment="gradient_tape",
                        archive=str(archive), pattern=pattern) == 0
    assert sorted(_placed(course)) == ["u1/gradient_tape/extra.ipynb",
                                       "u1/gradient_tape/gradient_tape.ipynb"]
    assert "other--u2.ipynb: cannot tell which of extra, gradient_tape" in capsys.readouterr().out


@pytest.mark.parametrize("kwargs, message", [
    ({"archive": "nope.zip"}, "does not exist"),
    ({"archive": "notes.txt"}, "cannot read"),
    ({"pattern": "(?P<id>\\w+"}, "not a valid regular expression"),
    ({"pattern": "(?P<id>\\w+)"}, "no named group (?P<student_id>"),
    ({"assignment": "nosuch"}, "has no notebook"),
    ({"course": "/nonexistent/course"}, "does not exist"),
])
def test_bad_input_is_one_line_exit_2(course, tmp_path, capsys, monkeypatch, kwargs, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("hello")
    folder = _as_folder(tmp_path, ["s1_gradient_tape.ipynb"])
    args = {"course": str(course), "assignment": "gradient_tape", "archive": str(folder)}
    args.update(kwargs)
    assert collect.main(**args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("autograder: error: ")
    assert message in err
    assert not (course / "submitted").exists()


@pytest.mark.parametrize("argv, message", [
    (["collect"], "the following arguments are required: assignment, archive"),
    (["collect", "gradient_tape", "nope.zip"], "archive nope.zip does not exist"),
    (["report", "gradient_tape"], "no grading results for 'gradient_tape'"),
    (["release", "no_such_assignment"], "no assignment no_such_assignment"),
    (["demo", "--students", "many"], "invalid int value: 'many'"),
    (["--course", "/nonexistent", "report", "x"], "course directory /nonexistent does not exist"),
])
def test_cli_errors_are_one_line_exit_2(course, monkeypatch, capsys, argv, message):
    from autograder import cli
    monkeypatch.chdir(course)
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("autograder: error: ") and err.count("\n") == 1
    assert message in err


@pytest.mark.parametrize("command", ["release", "collect", "report", "demo"])
def test_help(command, capsys):
    from autograder import cli
    with pytest.raises(SystemExit) as stop:
        cli.main([command, "--help"])
    assert stop.value.code == 0 and f"usage: autograder {command}" in capsys.readouterr().out


def test_console_entry_point_error(course):
    import subprocess
    import sys
    run = subprocess.run([sys.executable, "-m", "autograder", "collect", "gradient_tape",
                          "missing.zip"], capture_output=True, text=True, cwd=course)
    assert run.returncode == 2 and run.stderr == "autograder: error: archive missing.zip does not exist\n"
