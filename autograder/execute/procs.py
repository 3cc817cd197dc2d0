"""The process tree of a submission, read from /proc: who belongs to it, how big it is, killing it.

A kernel leads its own session; everything it starts stays in that session or
descends from it, unless it starts a session of its own and loses its parent --
such orphans are adopted by the fork server, which kills them, or (fresh kernels)
by the kernel itself, a child subreaper (see :mod:`autograder.execute.forkserver`).
Standard library only.
"""
from __future__ import annotations

import os
import signal

__all__ = ["process_table", "members", "usage", "kill_tree"]

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def process_table() -> dict[int, tuple[int, int]]:
    """pid -> (parent pid, session id) of every visible process."""
    table = {}
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else ():
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read().decode(errors="replace")
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[-1].split()
        table[int(entry)] = (int(fields[1]), int(fields[3]))
    return table


def members(pid: int, table: dict | None = None) -> set[int]:
    """``pid``, the processes of its session and all their descendants."""
    table = process_table() if table is None else table
    found = {p for p, (_, sid) in table.items() if sid == pid} | ({pid} & set(table))
    grew = True
    while grew:
        more = {p for p, (ppid, _) in table.items() if ppid in found} - found
        found |= more
        grew = bool(more)
    found.discard(os.getpid())
    return found


def usage(pids) -> int:
    """Resident memory of ``pids`` together, in bytes."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/statm", "rb") as fh:
                total += int(fh.read().split()[1]) * _PAGE
        except (OSError, ValueError, IndexError):
            pass
    return total


def kill_tree(pid: int) -> int:
    """SIGKILL ``pid``, its session and descendants until none is left; how many were killed."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass
    count = 0
    for _ in range(20):  # a process may fork while we kill: repeat until the tree is empty
        victims = members(pid)
        if not victims:
            break
        for victim in victims:
            try:
                os.kill(victim, signal.SIGKILL)
                count += 1
            except OSError:
                pass
    return count
