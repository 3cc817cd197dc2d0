"""The grader process's own CPU per submission, and how many workers one grader can keep busy.

Whatever the number of workers, every submission passes through the one grader
process (payload, kernel messages, judging, gradebook, feedback pages).  This
grades a class with ``autograder grade`` and reads, once the grader has exited
but before it is reaped, its CPU time with psutil:

* **grader**: user + system of the grader's own threads (not its children), over the
  whole run, start-up included, per submission;
* **steady**: the same, sampled with psutil every 50 ms while the batch runs, between the
  first and the last result record to appear, per record: what each further
  submission costs once the grader is up (imports, gradebook, fork server excluded);
* **total**: grader + every process it waited for (fork server, kernels, renderers);
* **bound**: total / steady, the most workers one grader can keep busy (Amdahl:
  the grader's part is serial, everything else runs in the workers).

The classes: nbgrader's user-guide ``ps1`` (its solutions, as ``bench_scale.py``
builds it), and the demo class of ``backprop_numpy`` and ``gradient_tape``
(every kind of pretend submission once, then solutions).  ``--compare REV``
grades an identical copy of each class with the grader of revision ``REV``
(checked out in a temporary ``git worktree``) in the same invocation, and
checks that both give the same scores and byte-identical feedback pages (once
the parts that differ between any two gradings are masked: nbformat's random cell
ids, the check seeds drawn from each submission's random nonce, and the markup, so
that printed lines cut differently into stream messages compare equal).

    .venv/bin/python bench/bench_grader_cpu.py                          # ps1 x100, backprop x30, tape x10
    .venv/bin/python bench/bench_grader_cpu.py --sizes "ps1:20;backprop_numpy:8" --compare HEAD~3

CPU time, not wall time, is measured: the figures hold on a busy machine.
Exit status 1 when a grader fails, or when the revisions' results differ.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from bench_scale import build_ps1  # noqa: E402  (needs bench/ on sys.path)

from autograder import demo_class  # noqa: E402  (needs the repository on sys.path)

__all__ = ["build", "measure", "compare_results", "main"]

DEFAULT_SIZES = "ps1:100;backprop_numpy:30;gradient_tape:10"


def build(dest: Path, assignment: str, students: int) -> None:
    """The class to grade: ps1's solutions, or the demo class of one of this course's assignments."""
    if assignment == "ps1":
        build_ps1(dest, students)
    else:
        demo_class.build_class(REPO, dest, [assignment], students)


class _Sampler(threading.Thread):
    """The grader's own CPU whenever another result record appears (every 50 ms)."""

    def __init__(self, pid: int, records):
        super().__init__(daemon=True)
        import psutil
        self.process, self.records, self.done = psutil.Process(pid), records, threading.Event()
        self.points: list[tuple[int, float]] = []  # (records on disk, grader CPU seconds)

    def run(self) -> None:
        import psutil
        seen = 0
        while not self.done.wait(0.05):
            count = len(self.records())
            if count == seen:
                continue
            try:
                times = self.process.cpu_times()
            except psutil.Error:
                return
            seen = count
            self.points.append((count, times.user + times.system))

    def steady(self) -> float | None:
        """Grader CPU seconds per record between the first and the last record seen."""
        if len(self.points) < 2 or self.points[-1][0] == self.points[0][0]:
            return None
        (first, start), (last, end) = self.points[0], self.points[-1]
        return (end - start) / (last - first)


def measure(course: Path, assignment: str, workers: int, log: Path,
            code: Path | None = None) -> dict:
    """Grade ``assignment`` in ``course`` (with the grader of ``code``, else this checkout).

    Returns the grader's own CPU seconds, the total (grader and its reaped children), the
    exit status and the statuses of grades.csv.
    """
    import psutil
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    if code is not None:  # ahead of the editable install: that revision's packages
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(code), env.get("PYTHONPATH")]))
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "autograder", "grade", assignment, "--no-progress",
             "--workers", str(workers)], cwd=course, env=env, stdout=out, stderr=subprocess.STDOUT)
        sampler = _Sampler(process.pid, lambda: list(
            (course / "autograded").glob(f"*/{assignment}/.result.json")))
        sampler.start()
        # exited but not reaped: its own times and its children's are still readable
        os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOWAIT)
        times = psutil.Process(process.pid).cpu_times()
        status = process.wait()
        sampler.done.set()
        sampler.join()
    grader = times.user + times.system
    statuses = Counter()
    if (course / "grades.csv").is_file():
        with open(course / "grades.csv", newline="") as fh:
            statuses = Counter(row["status"] for row in csv.DictReader(fh))
    return {"grader": grader, "total": grader + times.children_user + times.children_system,
            "steady": sampler.steady(), "exit": status, "statuses": statuses}


def _results(course: Path, assignment: str) -> dict:
    """student -> (status, score, each test's points) from the result records."""
    out = {}
    for path in sorted((course / "autograded").glob(f"*/{assignment}/.result.json")):
        record = json.loads(path.read_text())
        out[record["student"]] = (record["status"], record["score"],
                                  [(t["notebook"], t["grade_id"], t["points"])
                                   for t in record["tests"]])
    return out


# what differs between any two gradings of the same submission, by design: nbformat's
# random cell ids, and the seeds the grader draws from each submission's nonce
# (and how a kernel's printed lines were cut into stream messages: the text is compared);
# and, against revisions before it, the ``check_`` that every check's message now starts with
_RANDOM = re.compile(rb'cell-id=[0-9a-f]+|\(seed \d+\)|<[^>]*>|\s+|\bcheck_')


def _page(path: Path) -> bytes:
    """A feedback page's text, its random parts masked."""
    return _RANDOM.sub(b"", path.read_bytes())


def compare_results(old: Path, new: Path, assignment: str) -> list[str]:
    """What differs between two graded copies: records' scores and feedback pages' bytes."""
    problems = []
    a, b = _results(old, assignment), _results(new, assignment)
    problems += [f"{s}: {a.get(s)} != {b.get(s)}" for s in sorted(set(a) | set(b))
                 if a.get(s) != b.get(s)]
    pages = {p.relative_to(old) for p in (old / "feedback").rglob("*.html")}
    pages |= {p.relative_to(new) for p in (new / "feedback").rglob("*.html")}
    for rel in sorted(pages):
        if not ((old / rel).is_file() and (new / rel).is_file()
                and _page(old / rel) == _page(new / rel)):
            problems.append(f"feedback page {rel} differs")
    return problems


def _sizes(text: str) -> list[tuple[str, int]]:
    pairs = []
    for part in filter(None, text.split(";")):
        name, _, count = part.partition(":")
        pairs.append((name.strip(), int(count)))
    return pairs


def _worktree(rev: str, where: Path) -> Path:
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(where), rev],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return where


def _row(label: str, assignment: str, n: int, got: dict) -> str:
    grader, total = got["grader"] * 1000 / n, got["total"] * 1000 / n
    steady = got["steady"] * 1000 if got["steady"] is not None else grader
    bound = total / steady if steady else float("inf")
    statuses = ", ".join(f"{k} {v}" for k, v in sorted(got["statuses"].items()))
    return (f"{label:<12} {assignment:<15} {n:>5} {got['grader']:>9.2f} {grader:>9.1f} "
            f"{steady:>9.1f} {total:>9.1f} {100 * steady / total:>6.1f}% {bound:>6.1f}  "
            f"exit {got['exit']}  {statuses}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=DEFAULT_SIZES,
                        help=f"ASSIGNMENT:N;... (default {DEFAULT_SIZES!r}; ps1 is nbgrader's)")
    parser.add_argument("--workers", type=int, default=os.cpu_count(),
                        help="grading workers (default: every core)")
    parser.add_argument("--compare", metavar="REV",
                        help="also grade each class with the grader of git revision REV")
    parser.add_argument("--keep", metavar="DIR", help="build the classes in DIR and keep them")
    args = parser.parse_args(argv)
    scratch = Path(args.keep or tempfile.mkdtemp(prefix="bench-grader-cpu-")).resolve()
    scratch.mkdir(parents=True, exist_ok=True)
    old_code = None
    good = True
    try:
        if args.compare:
            old_code = _worktree(args.compare, scratch / "old-code")
            label = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", args.compare],
                                   capture_output=True, text=True, check=True).stdout.strip()
        print(f"{os.cpu_count()} cores, {args.workers} workers, load average "
              f"{os.getloadavg()[0]:.1f}; CPU per submission in ms", flush=True)
        print(f"{'grader':<12} {'assignment':<15} {'n':>5} {'grader s':>9} {'grader':>9} "
              f"{'steady':>9} {'total':>9} {'share':>7} {'bound':>6}", flush=True)
        for assignment, n in _sizes(args.sizes):
            built = scratch / f"{assignment}-{n}"
            shutil.rmtree(built, ignore_errors=True)
            build(built, assignment, n)
            runs = ([(f"old {label}", old_code)] if old_code else []) + [("this tree", None)]
            graded = []
            for name, code in runs:
                course = scratch / f"{assignment}-{n}-{'old' if code else 'new'}"
                shutil.rmtree(course, ignore_errors=True)
                shutil.copytree(built, course, symlinks=True)
                got = measure(course, assignment, args.workers, course.with_suffix(".log"), code)
                good = good and got["exit"] == 0
                print(_row(name, assignment, n, got), flush=True)
                graded.append(course)
            if len(graded) == 2:
                problems = compare_results(graded[0], graded[1], assignment)
                good = good and not problems
                print(f"{'':<12} {assignment:<15} same scores and feedback pages" if not problems
                      else f"{'':<12} {assignment:<15} {len(problems)} differences:\n  "
                      + "\n  ".join(problems[:20]), flush=True)
            if not args.keep:
                for course in [built, *graded]:
                    shutil.rmtree(course, ignore_errors=True)
    finally:
        if old_code is not None:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force",
                            str(old_code)], check=False)
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
