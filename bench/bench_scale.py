"""How the grader's cost grows with the class: time, memory and descriptors per batch size.

Grades one batch each of 10, 100 and 1000 submissions of a tiny notebook
(nbgrader's own user-guide ``ps1``, shipped inside the nbgrader package, with
its solutions as the submissions) and 10 and 100 of ``gradient_tape``.  Each
batch is one ``autograder grade`` process; while it runs, its open
descriptors and peak memory (VmHWM) are sampled from ``/proc``.  A grader
that leaks shows descriptors and memory growing with the batch, and a cost
per submission that rises.

    .venv/bin/python bench/bench_scale.py                       # the full table
    .venv/bin/python bench/bench_scale.py --sizes ps1:10,100    # a subset

Exit status 1 when a batch exits non-zero or grades a submission other than ``ok``.
"""
from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from autograder import demo_class  # noqa: E402  (needs the repository on sys.path)

__all__ = ["build_ps1", "build_repo_assignment", "measure", "main"]

DEFAULT_SIZES = "ps1:10,100,1000;gradient_tape:10,100"


def build_ps1(dest: Path, students: int) -> None:
    """A course of nbgrader's user-guide ps1 with ``students`` copies of its solution."""
    import nbgrader
    guide = Path(nbgrader.__file__).parent / "docs" / "source" / "user_guide"
    shutil.copytree(guide / "source" / "ps1", dest / "source" / "ps1")
    shutil.copy(REPO / "nbgrader_config.py", dest / "nbgrader_config.py")
    for i in range(students):
        shutil.copytree(guide / "source" / "ps1", dest / "submitted" / f"s{i:04d}" / "ps1")


def build_repo_assignment(dest: Path, assignment: str, students: int) -> None:
    """A class of ``students`` solutions of one of this course's assignments."""
    demo_class.build_class(REPO, dest, [assignment], 0, ["solution"] * students)


class _Sampler(threading.Thread):
    """Reads a process's descriptor count and peak resident memory every 50 ms."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.fds, self.peak_kib, self.done = pid, 0, 0, threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.05):
            try:
                self.fds = max(self.fds, len(os.listdir(f"/proc/{self.pid}/fd")))
                with open(f"/proc/{self.pid}/status") as fh:
                    for line in fh:
                        if line.startswith("VmHWM:"):
                            self.peak_kib = max(self.peak_kib, int(line.split()[1]))
            except (OSError, ValueError):
                pass


def measure(course: Path, assignment: str, workers: int, log: Path) -> dict:
    """Grade ``assignment`` once in ``course``; wall time, peaks, exit status and statuses."""
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    started = time.perf_counter()
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "autograder", "grade", assignment, "--no-progress",
             "--workers", str(workers)], cwd=course, env=env, stdout=out, stderr=subprocess.STDOUT)
        sampler = _Sampler(process.pid)
        sampler.start()
        status = process.wait()
        sampler.done.set()
        sampler.join()
    seconds = time.perf_counter() - started
    with open(course / "grades.csv", newline="") as fh:
        statuses = Counter(row["status"] for row in csv.DictReader(fh))
    return {"seconds": seconds, "exit": status, "fds": sampler.fds,
            "peak_mib": sampler.peak_kib / 1024, "statuses": statuses}


def _sizes(text: str) -> list[tuple[str, int]]:
    pairs = []
    for part in filter(None, text.split(";")):
        name, _, counts = part.partition(":")
        pairs += [(name.strip(), int(n)) for n in counts.split(",") if n.strip()]
    return pairs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=DEFAULT_SIZES,
                        help=f"ASSIGNMENT:N,N;... (default {DEFAULT_SIZES!r}; ps1 is nbgrader's)")
    parser.add_argument("--workers", type=int, default=os.cpu_count(),
                        help="grading workers (default: every core)")
    parser.add_argument("--keep", metavar="DIR", help="build the classes in DIR and keep them")
    args = parser.parse_args(argv)
    scratch = Path(args.keep or tempfile.mkdtemp(prefix="bench-scale-")).resolve()
    scratch.mkdir(parents=True, exist_ok=True)
    print(f"{os.cpu_count()} cores, {args.workers} workers, "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)
    print(f"{'assignment':<14} {'submissions':>11} {'wall s':>8} {'s/submission':>12} "
          f"{'peak MiB':>9} {'max fds':>8}  exit  statuses", flush=True)
    good = True
    try:
        for assignment, students in _sizes(args.sizes):
            course = scratch / f"{assignment}-{students}"
            shutil.rmtree(course, ignore_errors=True)
            if assignment == "ps1":
                build_ps1(course, students)
            else:
                build_repo_assignment(course, assignment, students)
            row = measure(course, assignment, args.workers, scratch / f"{course.name}.log")
            statuses = ", ".join(f"{k} {v}" for k, v in sorted(row["statuses"].items()))
            good = good and row["exit"] == 0 and set(row["statuses"]) == {"ok"}
            print(f"{assignment:<14} {students:>11} {row['seconds']:>8.1f} "
                  f"{row['seconds'] / students:>12.3f} {row['peak_mib']:>9.0f} {row['fds']:>8}  "
                  f"{row['exit']:>4}  {statuses}", flush=True)
            if not args.keep:
                shutil.rmtree(course, ignore_errors=True)
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
