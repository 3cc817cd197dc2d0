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
import threading
import time

__all__ = ["process_table", "members", "usage", "kill_tree"]

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _scan() -> tuple[dict[int, tuple[int, int]], set[int]]:
    """(pid -> (parent pid, session id), the zombies among them) of every visible process."""
    table, zombies = {}, set()
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else ():
        if not entry.isdigit():
            continue
        try:
            fd = os.open(f"/proc/{entry}/stat", os.O_RDONLY)
            try:
                stat = os.read(fd, 4096)
            finally:
                os.close(fd)
        except OSError:
            continue
        fields = stat.rsplit(b")", 1)[-1].split()
        pid = int(entry)
        table[pid] = (int(fields[1]), int(fields[3]))
        if fields[0] == b"Z":
            zombies.add(pid)
    return table, zombies


_shared: tuple[float, dict] = (0.0, {})
_shared_lock = threading.Lock()


def process_table(max_age: float = 0.0) -> dict[int, tuple[int, int]]:
    """pid -> (parent pid, session id) of every visible process.

    ``max_age``: a table read by any thread of this process at most that many seconds
    ago will do.  Every running submission is watched a few times a second; one read
    of /proc serves them all, instead of one each.
    """
    global _shared
    if max_age > 0:
        with _shared_lock:
            read_at, table = _shared
            if time.monotonic() - read_at <= max_age:
                return table
            table = _scan()[0]
            _shared = (time.monotonic(), table)
            return table
    return _scan()[0]


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
    """SIGKILL ``pid``, its session and descendants until none is left; how many were killed.

    A zombie is dead already (it only waits for its parent to reap it): killing it
    again achieves nothing, so the loop ends when only zombies are left.
    """
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass
    count = 0
    for _ in range(20):  # a process may fork while we kill: repeat until the tree is empty
        table, zombies = _scan()
        victims = members(pid, table) - zombies
        if not victims:
            break
        for victim in victims:
            try:
                os.kill(victim, signal.SIGKILL)
                count += 1
            except OSError:
                pass
    return count
