"""The two small processes around a kernel isolated in a user namespace (run as a script).

    python -S -E reaper.py PID

Used by the ``namespaces`` sandbox when the grader is not root
(:func:`autograder.execute.sandbox.namespaces._fork_and_reap`).  Such a kernel
lives in a PID namespace of its own.  The process the grader launched (the
*relay*, still outside the namespace after ``unshare``) forks the namespace's
pid 1 (the *init*), which builds the kernel's view and forks the kernel (pid
2).  Both then exec this script: a fresh interpreter that shares no memory with
the fork server, so the memory watch counts each as a few MiB.  Each waits for
its children (the init also reaps the orphans the submission leaves), ignores
SIGINT (interrupts reach the kernel through its process group), passes SIGTERM
on to ``PID``, and exits as ``PID`` did, so the grader sees the kernel's exit
status.  When the init exits, Linux kills whatever is left in the namespace.

The init cannot die of a signal it sends itself, so it exits with 128 + the
signal; the relay, which can, turns that back into the signal.  The
``bubblewrap`` sandbox needs neither: ``bwrap`` is its own relay and init.
"""
import os
import resource
import signal
import sys


def _wait_for(target: int) -> int:
    """Reap children until ``target`` exits; its exit code (negative: killed by a signal)."""
    while True:
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:
            return 1
        if pid == target:
            return os.waitstatus_to_exitcode(status)


def main(argv: list[str]) -> None:
    target = int(argv[0])
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda signum, frame: os.kill(target, signum))
    code = _wait_for(target)
    if os.getpid() == 1:  # the init
        os._exit(128 - code if code < 0 else code)
    if code > 128:  # the init's way of saying "killed by a signal"
        code = 128 - code
    if code < 0:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    os._exit(code & 0xFF)


if __name__ == "__main__":
    main(sys.argv[1:])
