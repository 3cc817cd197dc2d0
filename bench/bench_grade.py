"""Throughput of ``autograder grade`` against plain ``nbgrader autograde``, side by side.

Builds K copies of a class (per copy: one solution, one untouched release and
one submission per known bug of the assignment), grades one copy with
``nbgrader autograde`` and an identical copy with ``autograder grade``, checks
that every student gets the same score on every notebook, and prints the
throughput of both, their ratio, and how close the grader comes to the
limit set by the notebooks' own compute time (the sum of their cells'
execution times, divided by the number of workers).

    .venv/bin/python bench/bench_grade.py -k 2              # gradient_tape, all cores
    .venv/bin/python bench/bench_grade.py -k 4 --workers 2 --assignment backprop_numpy

Exit status 0 when the scores are identical, 1 when they differ.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from autograder import demo_class as _students  # noqa: E402  (needs the repository on sys.path)

__all__ = ["build", "cell_seconds", "scores", "main"]

_TF_IMPORT = re.compile(r"^\s*(import|from)\s+tensorflow\b", re.M)


def build(course: Path, dest: Path, assignment: str, copies: int) -> list[str]:
    """The benchmark class in ``dest``: ``copies`` x (solution, blank, every bug)."""
    kinds = ["solution", "blank"] + [f"bug:{b.id}" for b in _students.bugs_for(assignment)]
    _students.build_class(course, dest, [assignment], 0, kinds * copies)
    return kinds


def _run(command: list[str], cwd: Path, log: Path) -> tuple[float, int]:
    """Run ``command`` in ``cwd`` with its output in ``log``; (wall seconds, exit status)."""
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    started = time.perf_counter()
    with open(log, "w") as out:
        status = subprocess.run(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                check=False).returncode
    return time.perf_counter() - started, status


def scores(course: Path, assignment: str) -> dict[tuple[str, str], float]:
    """(student, notebook) -> score, read from the course's nbgrader gradebook."""
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return {(sub.student.id, nb.name): float(nb.score)
                for sub in gb.assignment_submissions(assignment) for nb in sub.notebooks}


def _seconds(timing: dict) -> float:
    start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
    if not (start and end):
        return 0.0
    def parse(text):
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (parse(end) - parse(start)).total_seconds()


def cell_seconds(course: Path, assignment: str) -> tuple[float, float]:
    """(all cells, cells that import tensorflow): summed execution times of every
    code cell of every autograded notebook, from nbclient's timing metadata."""
    total = imports = 0.0
    for path in (course / "autograded").glob(f"*/{assignment}/*.ipynb"):
        try:
            cells = json.loads(path.read_text())["cells"]
        except (OSError, ValueError, KeyError):
            continue
        for cell in cells:
            seconds = _seconds(cell.get("metadata", {}).get("execution", {}))
            source = "".join(cell.get("source", ""))
            total += seconds
            imports += seconds if _TF_IMPORT.search(source) else 0.0
    return total, imports


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-k", "--copies", type=int, default=2,
                        help="copies of the class (default: 2)")
    parser.add_argument("--assignment", default="gradient_tape")
    parser.add_argument("--workers", type=int, default=os.cpu_count(),
                        help="autograder workers (default: every core)")
    parser.add_argument("--cell-timeout", type=int, default=300,
                        help="per-cell time limit for both graders (default: 300 s)")
    parser.add_argument("--course", default=str(REPO), help="the course (default: this repo)")
    parser.add_argument("--keep", metavar="DIR", help="build in DIR and keep it")
    args = parser.parse_args(argv)

    scratch = Path(args.keep or tempfile.mkdtemp(prefix="bench-grade-")).resolve()
    plain, fast = scratch / "nbgrader", scratch / "autograder"
    if args.keep and scratch.exists():
        shutil.rmtree(scratch)
    scratch.mkdir(parents=True, exist_ok=True)
    try:
        kinds = build(Path(args.course).resolve(), plain, args.assignment, args.copies)
        shutil.copytree(plain, fast)
        n = len(kinds) * args.copies
        print(f"{args.assignment}: {args.copies} copies x {len(kinds)} kinds = {n} submissions "
              f"({', '.join(kinds)}); {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
        # the same generous per-cell limit for both, so neither scores a slow cell as a timeout
        limit_s = str(args.cell_timeout)
        t_nb, s_nb = _run(["nbgrader", "autograde", args.assignment,
                           f"--Execute.timeout={limit_s}"], plain, scratch / "nbgrader.log")
        t_ag, s_ag = _run([sys.executable, "-m", "autograder", "grade", args.assignment,
                           "--workers", str(args.workers), "--timeout", limit_s],
                          fast, scratch / "autograder.log")
        ref, got = scores(plain, args.assignment), scores(fast, args.assignment)
        differ = sorted(k for k in set(ref) | set(got) if ref.get(k) != got.get(k))
        cells, imports = cell_seconds(plain, args.assignment)
        own, own_imports = cell_seconds(fast, args.assignment)
        print(f"nbgrader autograde : {t_nb:7.1f} s  {n / t_nb:6.3f} submissions/s  (exit {s_nb})")
        print(f"autograder grade   : {t_ag:7.1f} s  {n / t_ag:6.3f} submissions/s  "
              f"(exit {s_ag}; {args.workers} workers)")
        print(f"speed-up           : {t_nb / t_ag:.1f}x")
        # Two limits.  nbgrader's kernels time the cells with every core to themselves: the
        # import is paid per notebook and large matmuls use both cores.  The grader's kernels
        # get cores / workers threads each, so its own cell times (the import is already paid
        # by the fork server) are the compute that cannot be avoided at this many workers.
        for label, total, tf_import, whose in (
                ("limit (nbgrader)  ", cells, imports, "under nbgrader"),
                ("limit (grader)    ", own, own_imports, "in the grader's kernels")):
            limit = (total - tf_import) / args.workers
            print(f"{label} : cells ran {total:.1f} s {whose}, {tf_import:.1f} s of it importing "
                  f"tensorflow; the rest on {args.workers} workers is {limit:.1f} s: the grader ran "
                  f"at {100 * limit / t_ag:.0f}% of it (best possible speed-up {t_nb / limit:.1f}x)"
                  if limit > 0 else f"{label} : no cell timings found")
        if differ:
            print(f"scores DIFFER for {len(differ)} of {len(ref)} notebooks:")
            for key in differ[:20]:
                print(f"  {key[0]} {key[1]}: nbgrader {ref.get(key)}  autograder {got.get(key)}")
        else:
            print(f"scores             : identical for all {len(ref)} (student, notebook) pairs")
        return 1 if differ or not ref else 0
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
