"""What isolating one kernel costs: fork, versus fork + entering the sandbox, side by side.

Run it as the grader would run: as root (a uid of its own per kernel) or as an
ordinary user (user namespaces, with a relay and an init exec'ed around the
kernel).  Each round forks a child that enters the sandbox and exits.  Two
medians each: until the child is ready to start ipykernel (what delays a
kernel), and until it is reaped (with user namespaces this includes the
start of the two small reaper interpreters, which run beside the kernel).

    .venv/bin/python bench/sandbox_cost.py [--rounds 20]
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from autograder.execute.sandbox import namespaces as _sandbox  # needs the repository on sys.path


def _fork_once(spec: dict | None) -> tuple[float, float]:
    """(seconds until the child is ready to start a kernel, seconds until it is reaped)."""
    read, write = os.pipe()
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(read)
            if spec:
                os.chdir(spec["workdir"])
                _sandbox.enter(spec, os.path.join(spec["rundir"], "given.json"))
            os.write(write, b"x")
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    os.read(read, 1)
    ready = time.perf_counter() - start
    os.close(read)
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit("entering the sandbox failed")
    return ready, time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args(argv)
    if not _sandbox.sandbox_status()[0]:
        print(f"no isolation here: {_sandbox.sandbox_status()[1]}")
        return 1
    workdir, rundir = tempfile.mkdtemp(prefix="autograde-"), tempfile.mkdtemp(prefix="agk-")
    try:
        Path(rundir, "given.json").write_text("{}")
        spec = {"workdir": workdir, "rundir": rundir, "paths": _sandbox._readable_paths(),
                "processes": 64}
        plain = [_fork_once(None) for _ in range(args.rounds)]
        isolated = [_fork_once(spec) for _ in range(args.rounds)]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        shutil.rmtree(rundir, ignore_errors=True)
    for label, index in (("ready to start the kernel", 0), ("reaped", 1)):
        base = statistics.median(r[index] for r in plain)
        cost = statistics.median(r[index] for r in isolated)
        print(f"mode {_sandbox.sandbox_mode()}, {label}: fork {base * 1000:.1f} ms, "
              f"fork + sandbox {cost * 1000:.1f} ms: +{(cost - base) * 1000:.1f} ms "
              f"(median of {args.rounds})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
