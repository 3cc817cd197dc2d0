"""Integration: grade the fixture class with real kernels, once per module.

Every fixture submission is named by the outcome it expects; the table below
spells that outcome out (status, total score out of 4).
"""
from __future__ import annotations

import csv
import os
import shutil
import signal
import threading
import time
from pathlib import Path

import pytest
from pages import text_of

from autograder import pipeline
from autograder.commands import grade
from autograder.execute.payload import error_outcome
from autograder.execute.procs import process_table
from autograder.record import Result
from autograder.store import CSV_COLUMNS, read_record

pytestmark = pytest.mark.slow
FIXTURES = Path(__file__).parent / "fixtures"
EXPECTED = {
    "full_marks": ("ok", 4),
    "untouched_release__zero": ("ok", 0),
    "wrong_relu__relu_zero": ("ok", 2),
    "hostile_wrong_relu__relu_zero": ("ok", 2),
    "stderr_sleep_other_kernelspec__full_marks": ("ok", 4),
    "skip_execution_tags__full_marks": ("ok", 4),
    "infinite_loop__timeout": ("timeout", 2),
    "kernel_exit__kernel_died": ("kernel-died", 2),
    "segfault__kernel_died": ("kernel-died", 2),
    "allocate_6gib__memory": ("memory", 2),
    "spawn_100_processes__kernel_died": ("kernel-died", 2),
    "background_daemon__full_marks": ("ok", 4),
    "output_flood__full_marks": ("ok", 4),
    "malformed_json__malformed": ("malformed", 0),
    "no_notebook__missing": ("missing", 0),
}


EARLIER_ROW = {"assignment": "earlier", "student_id": "full_marks", "score": "3.0", "status": "ok"}


def make_course(root: Path, students=EXPECTED) -> Path:
    """A course directory with the fixture source and one submission per student."""
    shutil.copytree(FIXTURES / "course", root)
    for student in students:
        folder = root / "submitted" / student / "tiny"
        folder.mkdir(parents=True)
        notebook = FIXTURES / "submissions" / f"{student}.ipynb"
        if notebook.exists():
            shutil.copy(notebook, folder / "tiny.ipynb")
        else:
            (folder / "notes.txt").write_text("forgot the notebook\n")
    return root


def _living(table: dict) -> dict:
    """The process table without zombies (dead, only waiting to be reaped)."""
    alive = {}
    for pid, row in table.items():
        try:
            with open(f"/proc/{pid}/stat", "rb") as fh:
                state = fh.read().rsplit(b")", 1)[-1].split()[0]
        except (OSError, IndexError):
            continue
        if state != b"Z":
            alive[pid] = row
    return alive


def descendants() -> set[int]:
    table, mine, grew = _living(process_table()), {os.getpid()}, True
    while grew:
        more = {p for p, (ppid, _) in table.items() if ppid in mine} - mine
        mine |= more
        grew = bool(more)
    return mine - {os.getpid()}


def kernel_processes() -> set[int]:
    """Fork servers and kernels (forked or fresh) still running below this process."""
    found = set()
    for pid in descendants():
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                if b"autograder.execute.forkserver" in fh.read():
                    found.add(pid)
        except OSError:
            pass
    return found


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = make_course(tmp_path_factory.mktemp("grade") / "course")
    with open(course / "grades.csv", "w", newline="") as fh:   # an earlier assignment's grades
        writer = csv.DictWriter(fh, CSV_COLUMNS)
        writer.writeheader()
        writer.writerow(dict.fromkeys(CSV_COLUMNS, "") | EARLIER_ROW)
    status = grade.main(course=course, assignment="tiny", workers=2, timeout=5,
                        submission_timeout=60, progress=False)
    return course, status


@pytest.mark.parametrize("student", EXPECTED)
def test_each_submission_gets_its_expected_outcome(graded, student):
    course, status = graded
    assert status == 0
    record = read_record(course, student, "tiny")
    assert (record.status, record.score, record.max_score) == (*EXPECTED[student], 4.0)
    assert record.submission_sha256 and len(record.tests) == 3


def test_trusted_verdicts_name_the_check_and_bug(graded):
    course, _ = graded
    tests = {t.grade_id: t for t in read_record(course, "wrong_relu__relu_zero", "tiny").tests}
    assert tests["test_relu"].check == "relu" and tests["test_relu"].bug
    assert tests["test_relu"].message.startswith("check_relu:")
    hostile = {t.grade_id: t for t in read_record(course, "hostile_wrong_relu__relu_zero",
                                                      "tiny").tests}
    assert hostile["test_relu"].points == 0 and hostile["test_relu"].max_points == 2


def test_gradebook_has_one_row_per_student_matching_records(graded):
    from nbgrader.api import Gradebook
    course, _ = graded
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        subs = gb.find_assignment("tiny").submissions
        assert sorted(s.student.id for s in subs) == sorted(EXPECTED)
        for sub in subs:
            assert sub.score == pytest.approx(read_record(course, sub.student.id, "tiny").score)


def test_outputs_csv_log_feedback(graded):
    course, _ = graded
    with open(course / "grades.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == CSV_COLUMNS
    earlier = [r for r in rows if r["assignment"] != "tiny"]      # other assignments are kept
    assert [{k: r[k] for k in EARLIER_ROW} for r in earlier] == [EARLIER_ROW]
    rows = [r for r in rows if r["assignment"] == "tiny"]
    assert {r["student_id"]: (r["status"], float(r["score"])) for r in rows} == {
        s: (st, float(sc)) for s, (st, sc) in EXPECTED.items()}
    log = [line for line in (course / "autograder.log").read_text().splitlines()
           if not line.startswith(" ")]     # indented: a dead kernel's own error output
    assert sorted(line.split()[2] for line in log if "error output" not in line) == sorted(EXPECTED)
    html = text_of((course / "feedback" / "wrong_relu__relu_zero" / "tiny" / "tiny.html").read_text())
    assert "check_relu: forward output is wrong" in html
    assert "seed=7" not in html and "square(-2)" not in html    # hidden tests stay hidden
    broken = (course / "feedback" / "malformed_json__malformed" / "tiny" / "tiny.html").read_text()
    assert "tiny.ipynb is malformed" in text_of(broken)
    autograded = (course / "autograded" / "full_marks" / "tiny" / "tiny.ipynb").read_text()
    assert "seed=7" in autograded                                # the teacher sees them


def test_a_dead_kernels_own_error_output_reaches_the_log(graded):
    """What a kernel writes before it dies (here Python's fault handler) is the grader's clue."""
    course, _ = graded
    log = (course / "autograder.log").read_text()
    said = log.split("tiny segfault__kernel_died the kernel's error output:\n", 1)[1]
    said = "\n".join(line for line in said.splitlines() if line.startswith("    | "))
    assert "Segmentation fault" in said and "string_at" in said
    assert "full_marks the kernel's error output" not in log   # only dead kernels are quoted


def test_no_process_is_left_behind(graded):
    assert not descendants()
    for pid in os.listdir("/proc"):   # the daemon a submission double-forked is gone too
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                assert fh.read() != b"sleep\0" + b"3017\0"
        except (OSError, ValueError):
            pass


def test_output_floods_are_trimmed(graded):
    course, _ = graded
    for folder in ("autograded", "feedback"):
        for path in (course / folder / "output_flood__full_marks" / "tiny").iterdir():
            assert path.stat().st_size < 1_000_000, path


def test_rerun_grades_nothing_new(graded, capsys):
    course, _ = graded
    before = (course / "autograder.log").read_text()
    assert grade.main(course=course, assignment="tiny", progress=False) == 0
    assert (course / "autograder.log").read_text() == before
    assert f"0 graded, {len(EXPECTED)} already graded" in capsys.readouterr().out


DASK_SUBSET = ["full_marks", "wrong_relu__relu_zero", "kernel_exit__kernel_died",
               "malformed_json__malformed", "untouched_release__zero"]


def _comparable(record: Result) -> tuple:
    return (record.status, record.score, [(t.grade_id, t.points, t.ok, t.bug) for t in record.tests])


def _kill_when_busy(pid: int, killed: list) -> None:
    """SIGKILL process ``pid`` once it runs a kernel (fork server + kernel below it)."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        table, below, grew = process_table(), {pid}, True
        while grew:
            more = {p for p, (ppid, _) in table.items() if ppid in below} - below
            below |= more
            grew = bool(more)
        if len(below) >= 3:
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
            return
        time.sleep(0.05)


def test_dask_cluster_gives_the_local_results_despite_a_killed_worker(graded, tmp_path):
    from distributed import LocalCluster
    local, _ = graded
    course = make_course(tmp_path / "course", students=DASK_SUBSET)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None, scheduler_port=0) as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1")
        victim = next(iter(cluster.workers.values())).process.process.pid
        killed: list = []
        killer = threading.Thread(target=_kill_when_busy, args=(victim, killed), daemon=True)
        killer.start()
        status = grade.main(course=course, assignment="tiny", scheduler=cluster.scheduler_address,
                            timeout=5, submission_timeout=60, progress=False)
        killer.join()
    assert status == 0 and killed == [victim]    # a worker died mid-task; its task ran again
    deadline = time.monotonic() + 15             # its fork server and kernel died with it
    while kernel_processes() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not kernel_processes()
    for student in DASK_SUBSET:
        assert _comparable(read_record(course, student, "tiny")) == \
            _comparable(read_record(local, student, "tiny")), student


def test_unreachable_scheduler_is_one_line(tmp_path, capsys):
    from autograder import cli
    course = make_course(tmp_path / "course", students=["full_marks"])
    assert cli.main(["--course", str(course), "grade", "tiny", "--scheduler",
                     "tcp://127.0.0.1:9", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("autograder: error: cannot reach the Dask scheduler") and err.count("\n") == 1


def test_late_submissions_get_nbgrader_s_configured_penalty(tmp_path, monkeypatch, capsys):
    """penalty_method 'zero' (nbgrader's plugin) zeroes a late submission, as nbgrader autograde does."""
    import sys
    from datetime import datetime

    from nbgrader.api import Gradebook
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")  # alembic
    course = make_course(tmp_path / "course", ["full_marks"])
    shutil.copytree(course / "submitted" / "full_marks", course / "submitted" / "late")
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\nc.LateSubmissionPlugin.penalty_method = 'zero'\n")
    for student, stamp in (("full_marks", "2026-03-01 11:59:00 UTC"), ("late", "2026-03-01 12:01:00 UTC")):
        (course / "submitted" / student / "tiny" / "timestamp.txt").write_text(stamp)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        gb.update_or_create_assignment("tiny", duedate=datetime(2026, 3, 1, 12, 0))
    assert grade.main(course=course, assignment="tiny", progress=False) == 0
    summary = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}
    assert "late: -4 points" in summary["late"] and "late" not in summary["full_marks"]
    rows = {r["student_id"]: r for r in csv.DictReader(open(course / "grades.csv"))}
    assert (rows["full_marks"]["raw_score"], rows["full_marks"]["late_submission_penalty"],
            rows["full_marks"]["score"]) == ("4.0", "0.0", "4.0")
    assert (rows["late"]["raw_score"], rows["late"]["late_submission_penalty"],
            rows["late"]["score"]) == ("4.0", "4.0", "0.0")
    assert read_record(course, "late", "tiny").late_submission_penalty == 4.0
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:  # what nbgrader export reads
        assert gb.find_submission("tiny", "late").late_submission_penalty == 4.0
        assert gb.find_submission("tiny", "full_marks").late_submission_penalty == 0.0


def _partial_credit_course(root: Path) -> Path:
    """A course whose test cells end in a score, nbgrader's partial-credit idiom."""
    import nbformat
    from nbgrader_course import REPO
    from nbgrader_course import nbgrader_cell as cell
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "language": "python",
                                                           "display_name": "Python 3"}})
    nb.cells = [
        cell("def f(x):\n    ### BEGIN SOLUTION\n    return x * x\n    ### END SOLUTION\n", "f",
             solution=True),
        cell("score = 0\nif f(1) == 1:\n    score += 0.5\nif f(2) == 4:\n    score += 0.5\nscore\n",
             "test-score", points=1),
        cell("assert f(0) == 0\n0.5 * (f(2) == 4) + 1.0 * float(f(3) == 9)\n", "test-expr", points=2),
        cell("value = f(3)\nvalue;\n", "test-quiet", points=1),
    ]
    (root / "source" / "partial").mkdir(parents=True)
    nbformat.write(nb, root / "source" / "partial" / "partial.ipynb")
    shutil.copy(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    return root


def test_partial_credit_scores_as_nbgrader_autograde_does(tmp_path, monkeypatch):
    """nbgrader and the grader give the same points to test cells that display a score."""
    import sys

    import nbformat
    from nbgrader_course import autograde, cell_scores, generate_release
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    plain = _partial_credit_course(tmp_path / "plain")
    generate_release(plain, "partial")
    for student, body in (("right", "return x * x"), ("half", "return 2 * x"), ("wrong", "return 0")):
        nb = nbformat.read(plain / "release" / "partial" / "partial.ipynb", as_version=4)
        nb.cells[0].source = f"def f(x):\n    {body}\n"
        (plain / "submitted" / student / "partial").mkdir(parents=True)
        nbformat.write(nb, plain / "submitted" / student / "partial" / "partial.ipynb")
    fast = tmp_path / "fast"
    shutil.copytree(plain, fast)
    assert autograde(plain, "partial").returncode == 0
    assert grade.main(course=fast, assignment="partial", progress=False) == 0
    expected = {"right": {"test-score": 1.0, "test-expr": 1.5, "test-quiet": 1.0},
                "half": {"test-score": 0.5, "test-expr": 0.5, "test-quiet": 1.0},
                "wrong": {"test-score": 0.0, "test-expr": 0.0, "test-quiet": 1.0}}
    for course in (plain, fast):
        got = {s: {g: c.score for g, c in nbs["partial"].items()}
               for s, nbs in cell_scores(course, "partial").items()}
        assert got == expected, course.name


def _daemons(marker: bytes = b"sleep\0" + b"3017\0") -> list[int]:
    found = []
    for pid in os.listdir("/proc"):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                if fh.read() == marker:
                    found.append(int(pid))
        except (OSError, ValueError):
            pass
    return found


def test_fresh_kernels_leave_no_double_forked_daemon_behind(tmp_path):
    """Without the fork server (--no-fork-server) the kernel itself adopts and kills orphans."""
    course = make_course(tmp_path / "course", ["background_daemon__full_marks"])
    try:
        assert grade.main(course=course, assignment="tiny", fork=False, progress=False) == 0
        assert read_record(course, "background_daemon__full_marks", "tiny").score == 4
        assert not _daemons()
    finally:
        for pid in _daemons():
            os.kill(pid, signal.SIGKILL)


def test_a_scoring_crash_is_retried_and_the_batch_goes_on(tmp_path, monkeypatch):
    course = make_course(tmp_path / "course", ["full_marks", "wrong_relu__relu_zero"])
    real, calls = pipeline.score_cell, []

    def flaky(test, outputs, *args):
        calls.append(test.grade_id)
        if len(calls) == 1 and outputs is not None:  # the first scored cell of the batch
            raise RuntimeError("scoring blew up")
        return real(test, outputs, *args)
    monkeypatch.setattr(pipeline, "score_cell", flaky)
    assert grade.main(course=course, assignment="tiny", workers=1, progress=False) == 0
    for student in ("full_marks", "wrong_relu__relu_zero"):
        record = read_record(course, student, "tiny")
        assert (record.status, record.score) == ("ok", EXPECTED[student][1])
    assert "retrying" in (course / "autograder.log").read_text()


def test_a_submission_the_grader_cannot_grade_gets_no_score_and_a_failing_exit(
        tmp_path, monkeypatch, capsys):
    course = make_course(tmp_path / "course", ["full_marks", "wrong_relu__relu_zero"])
    real, attempts = pipeline.run_local, []

    def broken_for_one(feed, workers):
        """The real workers, except that every run of full_marks fails in the grader."""
        failed = []

        class Others:  # the feed without full_marks, whose payloads fail as they are taken
            def __iter__(self):
                return self

            def __next__(self):
                while True:
                    payload = next(feed)
                    if payload["key"] != "full_marks":
                        return payload
                    attempts.append(payload.get("fork"))
                    failed.append(payload)

        others, stream = Others(), real(Others(), workers)
        while True:
            while failed:
                payload = failed.pop()
                yield payload, error_outcome(payload["key"], OSError("the grader's disk is full"))
            item = next(stream, None)
            if item is not None:
                yield item
                continue
            # the workers are done: a retry of full_marks queued since is taken here
            assert next(others, None) is None, "only full_marks is retried"
            if not failed:
                return
    monkeypatch.setattr(pipeline, "run_local", broken_for_one)
    assert grade.main(course=course, assignment="tiny", workers=2, progress=False) == 1
    err = capsys.readouterr().err
    assert "1 submission could not be graded" in err and "run the same command again" in err
    assert attempts == [True, False, False]          # tried, then twice in a fresh kernel
    record = read_record(course, "full_marks", "tiny")
    assert (record.status, record.score) == ("error", None)
    assert "disk is full" in record.detail
    with open(course / "grades.csv", newline="") as fh:
        rows = {r["student_id"]: r for r in csv.DictReader(fh)}
    assert (rows["full_marks"]["status"], rows["full_marks"]["score"]) == ("error", "")
    assert rows["full_marks"]["raw_score"] == ""
    assert (rows["wrong_relu__relu_zero"]["status"], rows["wrong_relu__relu_zero"]["score"]) == ("ok", "2.0")
    from nbgrader.api import Gradebook, MissingEntry
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        with pytest.raises(MissingEntry):  # no zero in the gradebook either
            gb.find_submission("tiny", "full_marks")
    monkeypatch.setattr(pipeline, "run_local", real)
    assert grade.main(course=course, assignment="tiny", workers=2, progress=False) == 0
    assert "1 graded, 1 already graded" in capsys.readouterr().out
    record = read_record(course, "full_marks", "tiny")
    assert (record.status, record.score) == ("ok", 4)


GRADESCOPE_RESULT = {"score", "execution_time", "output", "output_format", "test_output_format",
                     "test_name_format", "visibility", "stdout_visibility", "extra_data", "tests",
                     "leaderboard"}
GRADESCOPE_TEST = {"score", "max_score", "status", "name", "name_format", "number", "output",
                   "output_format", "tags", "visibility", "extra_data"}
VISIBILITY = {"visible", "hidden", "after_due_date", "after_published"}


def test_exports_for_gradescope_canvas_and_moodle_come_from_the_gradebook(graded):
    import json

    from autograder.commands import export
    course, _ = graded
    for fmt in ("gradescope", "canvas", "moodle"):
        assert export.main(course=course, assignments=["tiny"], format=fmt) == 0
    graded_students = {s for s, (status, _) in EXPECTED.items()}
    folder = course / "exports" / "gradescope" / "tiny"
    assert {p.name for p in folder.iterdir()} == graded_students
    for student, (_, total) in EXPECTED.items():
        result = json.loads((folder / student / "results.json").read_text())
        assert set(result) <= GRADESCOPE_RESULT and {"score", "tests"} <= set(result)
        assert result["score"] == total == sum(t["score"] for t in result["tests"])
        for test in result["tests"]:
            assert set(test) <= GRADESCOPE_TEST and {"name", "score", "max_score", "status",
                                                     "output", "visibility"} <= set(test)
            assert test["status"] == ("passed" if test["score"] == test["max_score"] else "failed")
            assert test["visibility"] in VISIBILITY
        visibility = {t["name"]: t["visibility"] for t in result["tests"]}
        assert visibility["tiny: test_relu"] == "after_published"   # holds hidden tests
        assert visibility["tiny: test_tape"] == "visible"
        text = json.dumps(result)
        assert "seed=7" not in text and "square(-2)" not in text   # never a test's source
    with open(course / "exports" / "canvas.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "tiny"]
    assert rows[1][0].strip() == "Points Possible" and float(rows[1][5]) == 4.0
    assert {r[2]: float(r[5]) for r in rows[2:]} == {s: float(t) for s, (_, t) in EXPECTED.items()}
    with open(course / "exports" / "moodle.csv", newline="") as fh:
        moodle = {r["ID number"]: float(r["tiny"]) for r in csv.DictReader(fh)}
    assert moodle == {s: float(t) for s, (_, t) in EXPECTED.items()}


def test_a_local_worker_killed_mid_submission_costs_a_retry_not_the_grade(tmp_path):
    """A grading worker lost (the OOM killer, an operator) fails its submission, which runs
    again in a new worker; its kernel does not outlive it."""
    import psutil
    course = make_course(tmp_path / "course", ["full_marks"])
    killed: list = []

    def kill_the_busy_worker():
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not killed:
            for proc in psutil.Process().children(recursive=True):
                try:  # busy: its kernel (booted fresh: --no-fork-server) runs below it
                    if "autograder.execute.worker" in " ".join(proc.cmdline()) and proc.children():
                        proc.kill()
                        killed.append(proc.pid)
                        return
                except psutil.Error:
                    pass
            time.sleep(0.05)
    killer = threading.Thread(target=kill_the_busy_worker, daemon=True)
    killer.start()
    assert grade.main(course=course, assignment="tiny", workers=1, fork=False,
                      progress=False) == 0
    killer.join()
    assert killed
    record = read_record(course, "full_marks", "tiny")
    assert (record.status, record.score) == ("ok", 4)
    log = (course / "autograder.log").read_text()
    assert "attempt 1 failed (HelperDied: the helper process autograder.execute.worker died " \
           "(killed by signal 9)); retrying" in log
    assert not kernel_processes()
