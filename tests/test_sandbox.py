"""Kernel isolation without Jupyter: a child enters the sandbox and reports what it sees.

The child is what a grading kernel is just before ipykernel starts: it gets a
working copy and a socket directory and must not see the course, other working
copies, other users' processes or any network.  With ``namespaces`` it is a
forked child that enters by itself; with ``bubblewrap`` an interpreter started
behind the ``bwrap`` prefix, as a fresh kernel is.
"""
from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from autograder import UsageError
from autograder.execute import sandbox
from autograder.execute.sandbox import bubblewrap
from autograder.execute.sandbox import namespaces as _sandbox
from autograder.execute.sandbox.policy import policy

ROOT = Path(__file__).parent.parent
ISOLATED, WHY = _sandbox.sandbox_status()
needs_root = pytest.mark.skipif(not ISOLATED, reason=f"no isolation here: {WHY}")
BWRAP, BWRAP_WHY = bubblewrap.SANDBOX.available()
needs_bwrap = pytest.mark.skipif(not BWRAP, reason=f"bubblewrap: {BWRAP_WHY}")

PROBES = {  # name -> code run inside the sandbox; prints a JSON-able value
    "uid": "os.getuid()",
    "cwd": "os.getcwd()",
    "own_file": "open('mine.txt').read()",
    "course_visible": "[os.path.exists(p) for p in (COURSE + '/source', COURSE + '/gradebook.db', "
                      "COURSE + '/nbgrader_config.py', OTHER)]",
    "packages": "[os.path.exists(p) for p in (COURSE + '/nn_utils/engine/runner.py', np.__file__)]",
    "pids": "sorted(int(p) for p in os.listdir('/proc') if p.isdigit())",
    "network": "net()",
    "write_root": "write(COURSE + '/PWNED')",
    "write_var_tmp": "write('/var/tmp/PWNED-sandbox')",
    "write_workdir": "write('mine2.txt')",
    "fill_workdir": "write('big.bin', 16 * 2 ** 20)",
}
HELPERS = """
import os, socket
import numpy as np
def net():
    out = []
    for host in ("127.0.0.1", "1.1.1.1"):
        try:
            socket.create_connection((host, PORT), timeout=1).close()
            out.append("connected")
        except OSError as exc:
            out.append(type(exc).__name__)
    return out
def write(path, size=1):
    try:
        with open(path, "w") as fh:
            fh.write("x" * size)
        return "wrote"
    except OSError as exc:
        return type(exc).__name__
"""


def _run_isolated(spec: dict, code: str, env: dict) -> dict:
    """Fork, enter the sandbox, run ``code`` with ``env`` as globals; its printed JSON."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child never returns into pytest
        try:
            os.close(read)
            os.chdir(spec["workdir"])
            conn = os.path.join(spec["rundir"], "given.json")
            _sandbox.enter(spec, conn)
            scope = dict(env)
            exec(HELPERS, scope)
            result = {name: eval(expr, scope) for name, expr in PROBES.items()}
            os.write(write, json.dumps(result).encode())
        finally:
            os._exit(0)
    os.close(write)
    data = b""
    while chunk := os.read(read, 65536):
        data += chunk
    os.waitpid(pid, 0)
    return json.loads(data)


def _run_in_bwrap(spec: dict, code: str, env: dict) -> dict:
    """Start an interpreter behind the ``bwrap`` prefix, enter, run ``code``; its printed JSON."""
    script = ("import json, sys\nfrom autograder.execute.sandbox import enter\n"
              "spec, env = json.loads(sys.argv[1]), json.loads(sys.argv[2])\n"
              "enter(spec, 'given.json')\nscope = dict(env)\nexec(sys.argv[3], scope)\n"
              "print(json.dumps({name: eval(expr, scope) for name, expr in "
              "json.loads(sys.argv[4]).items()}))\n")
    argv = [*bubblewrap.bwrap_argv(spec), "--", sys.executable, "-P", "-c", script,
            json.dumps(spec), json.dumps(env), HELPERS + code, json.dumps(PROBES)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd=spec["workdir"])
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture
def spec(tmp_path):
    workdir = tempfile.mkdtemp(prefix="autograde-")
    rundir = tempfile.mkdtemp(prefix="agk-")
    Path(workdir, "mine.txt").write_text("my answer")
    Path(rundir, "given.json").write_text("{}")
    yield {"workdir": workdir, "rundir": rundir, "paths": _sandbox._readable_paths(),
           "processes": 64}
    import shutil
    shutil.rmtree(workdir, ignore_errors=True)
    shutil.rmtree(rundir, ignore_errors=True)


@pytest.mark.parametrize("name", [
    pytest.param("namespaces", marks=needs_root),
    pytest.param("bubblewrap", marks=needs_bwrap)])
def test_a_kernel_sees_its_working_copy_and_nothing_of_the_course(spec, name):
    other = tempfile.mkdtemp(prefix="autograde-")   # another student's working copy
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    env = {"COURSE": str(ROOT), "OTHER": other, "PORT": listener.getsockname()[1]}
    if name == "namespaces":
        seen = _run_isolated({**spec, "workdir_size": "8m"}, "", env)
    else:
        view = policy(spec["workdir"], spec["rundir"], {"processes": 64})
        box = bubblewrap.SANDBOX.prepare(view)
        box = {**box, "workdir_size": "8m"}
        seen = _run_in_bwrap(box, "", env)
    listener.close()
    os.rmdir(other)
    if os.geteuid() == 0:   # a uid of its own; as an ordinary user the grader's, mapped
        assert seen["uid"] >= _sandbox.UID_BASE
    assert seen["cwd"] == os.path.realpath(spec["workdir"])
    assert seen["own_file"] == "my answer"
    assert seen["course_visible"] == [False, False, False, False]
    assert seen["packages"] == [True, True]       # nn_utils and numpy still import
    # only itself in /proc (bubblewrap: and bwrap's init, pid 1 of the sandbox's PID namespace)
    assert len(seen["pids"]) == (1 if name == "namespaces" and os.geteuid() == 0 else 2), seen["pids"]
    assert seen["network"] == ["OSError", "OSError"] or all(
        r != "connected" for r in seen["network"])
    assert seen["write_root"] != "wrote" and seen["write_var_tmp"] != "wrote"
    assert seen["write_workdir"] == "wrote" and seen["fill_workdir"] == "OSError"  # 8 MiB cap
    assert not (ROOT / "PWNED").exists() and not Path("/var/tmp/PWNED-sandbox").exists()
    assert not Path(spec["workdir"], "mine2.txt").exists()   # it wrote in a private copy


@needs_root
def test_entering_costs_little_next_to_a_kernel_start(spec):
    """Forking stays the fast path: the set-up adds milliseconds, not the seconds of an import."""
    def fork_once(isolate: bool) -> float:
        start = time.perf_counter()
        pid = os.fork()
        if pid == 0:
            try:
                if isolate:
                    os.chdir(spec["workdir"])
                    _sandbox.enter(spec, os.path.join(spec["rundir"], "given.json"))
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
        return time.perf_counter() - start
    plain = statistics.median(fork_once(False) for _ in range(5))
    isolated = statistics.median(fork_once(True) for _ in range(5))
    print(f"fork {plain * 1000:.1f} ms, fork + sandbox {isolated * 1000:.1f} ms")
    assert isolated < 0.5


def test_where_kernels_cannot_be_isolated_isolate_refuses_unless_told(monkeypatch):
    monkeypatch.setattr(_sandbox, "_status", (False, "no namespaces here"))
    monkeypatch.setattr(bubblewrap.Bubblewrap, "_status", (False, "bwrap is not installed"))
    with pytest.raises(RuntimeError, match="no namespaces here.*--no-isolation"):
        sandbox.isolate(lambda server, limits: "km", None, {"memory": 1}, "/tmp")
    made = []
    km = sandbox.isolate(lambda server, limits: made.append(limits) or "km", None,
                         {"memory": 1}, "/tmp", required=False)
    assert km == "km" and made == [{"memory": 1}]
    assert _sandbox.sandbox_mode() == "none"
    with pytest.raises(UsageError, match="^cannot isolate submissions with bubblewrap: "
                       "bwrap is not installed$"):
        sandbox.choose("bubblewrap")
    with pytest.raises(UsageError, match="no sandbox called 'docker'"):
        sandbox.choose("docker")
    monkeypatch.setenv("AUTOGRADER_ISOLATION", "off")
    assert sandbox.switched_off()
    assert sandbox.sandbox_status() == (False, "switched off by AUTOGRADER_ISOLATION")


def test_the_default_is_namespaces_where_they_work_else_bubblewrap(monkeypatch):
    monkeypatch.setattr(_sandbox, "_status", (True, ""))
    assert sandbox.choose().name == "namespaces" and sandbox.forks()
    monkeypatch.setattr(_sandbox, "_status", (False, "no user namespaces"))
    monkeypatch.setattr(bubblewrap.Bubblewrap, "_status", (True, ""))
    assert sandbox.choose().name == "bubblewrap" and not sandbox.forks()
    monkeypatch.setattr(bubblewrap.Bubblewrap, "_status", (False, "bwrap is not installed"))
    assert sandbox.choose().name == "namespaces"   # which then says why it cannot
    assert sandbox.sandbox_status() == (False, "no user namespaces")


@needs_bwrap
def test_the_bwrap_prefix_follows_the_policy(spec):
    view = policy(spec["workdir"], spec["rundir"], {"processes": 64, "stderr": "/tmp/err"})
    argv = bubblewrap.bwrap_argv(bubblewrap.SANDBOX.prepare(view))
    pairs = list(zip(argv, argv[1:], strict=False))
    assert "--die-with-parent" in argv and "--new-session" in argv
    assert ("--unshare-net" in argv or "--unshare-all" in argv) and "--share-net" not in argv
    assert ("--cap-drop", "ALL") in pairs and ("--proc", "/proc") in pairs
    for path in view.hidden:   # shown empty
        assert ("--tmpfs", path) in pairs or argv[argv.index(path) - 2] == "--ro-bind"
    writable = {argv[i + 2] for i, a in enumerate(argv) if a == "--bind"}
    assert writable == {spec["rundir"], "/tmp/err"}   # the working copy is a private tmpfs
    assert ("--tmpfs", view.workdir) in pairs and (view.workdir, bubblewrap.SUBMISSION) in pairs


def test_a_root_without_capabilities_is_an_ordinary_user(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert _sandbox._privileged() == (os.geteuid() == 0 and _capabilities() != 0)
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert not _sandbox._privileged()


def _capabilities() -> int:
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1], 16) for line in fh if line.startswith("CapEff"))
