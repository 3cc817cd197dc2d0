"""The student bundle on every Python 3 of this machine, as a student would run it.

The interpreters are the ones ``pyenv versions`` lists, ``~/.pyenv/versions/*``,
Debian's ``/usr/bin/python3*`` and the one running the tests, one per real path
and version.  Each gets a throw-away venv with whatever numpy it can install
(``pip install 'numpy>=1.26,<3'``, the range ``requirements.txt`` asks for; the oldest
supported Python also at the range's floor, numpy 1.26) and runs, with ``python -I``
from inside a released folder, a script of correct and buggy layers taken from
``layer_variants`` and ``framework_variants``: the correct ones print their success
line, the buggy ones raise ``nn_utils.CheckFailed`` naming their bug.  Python 3.10
and newer must pass, and the oldest and newest of them resolve (``pip install
--dry-run``) the requirements of every released assignment together; an
older Python must stop at ``import nn_utils`` with the one-line ImportError, before
numpy is needed (its venv has none).  An interpreter that cannot install numpy (no
network, no wheel for it) is skipped with pip's reason.
"""
from __future__ import annotations

import inspect
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from interpreters import python3_interpreters

from autograder import bundle as _bundle

ROOT = Path(__file__).resolve().parent.parent
OLDEST = (3, 10)
NUMPY = "numpy" + _bundle.STUDENT_RANGES["numpy"]
NUMPY_FLOOR = "numpy==" + re.match(r">=([\d.]+)", _bundle.STUDENT_RANGES["numpy"]).group(1) + ".*"
#: pip's words when the package index cannot be reached or has nothing for this Python
_CANNOT_INSTALL = ("No matching distribution found", "Could not find a version that satisfies",
                   "NewConnectionError", "Temporary failure in name resolution",
                   "Network is unreachable", "ConnectTimeout", "ReadTimeout", "ProxyError")


# ------------------------------------------------------------------ the interpreters

def _run(argv, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, **kw)


INTERPRETERS = python3_interpreters()
SUPPORTED = [(v, p) for v, p in INTERPRETERS if v >= OLDEST]
OLDER = [(v, p) for v, p in INTERPRETERS if v < OLDEST]
_floor = [(v, p) for v, p in SUPPORTED if v < (3, 13)][:1]   # numpy 1.26 has no wheel for 3.13
#: the oldest and the newest supported Python: pip resolves the course's requirements there
EDGES = sorted(set(SUPPORTED[:1] + SUPPORTED[-1:]))


def _id(version, path) -> str:
    return f"{'.'.join(map(str, version))} {path}"


# ------------------------------------------------------------------ venvs and the bundle

@pytest.fixture(scope="session")
def student_folder(tmp_path_factory) -> Path:
    """A released numpy-framework folder with its bundle, written as ``autograder release`` does."""
    folder = tmp_path_factory.mktemp("release") / "numpy_framework"
    shutil.copytree(ROOT / "release" / "numpy_framework", folder,
                    ignore=shutil.ignore_patterns("nn_utils", "requirements.txt", ".*"))
    assert _bundle.write_bundle(folder) == ["nn_utils/", "requirements.txt"]
    return folder


@pytest.fixture(scope="session")
def venvs(tmp_path_factory):
    """``make(python, numpy)``: the venv's python, made once per session and cached."""
    cache_dir, made = tmp_path_factory.mktemp("student-venvs"), {}

    def make(python: str, numpy: str | None) -> Path:
        key = (python, numpy)
        if key not in made:
            where = cache_dir / f"venv{len(made)}"
            made[key] = _make_venv(python, numpy, where)
        if isinstance(made[key], str):
            pytest.skip(made[key])
        return made[key]
    return make


def _make_venv(python: str, numpy: str | None, where: Path) -> Path | str:
    """The venv's python, or why numpy could not be installed (a reason to skip)."""
    created = _run([python, "-m", "venv", *([] if numpy else ["--without-pip"]), str(where)],
                   timeout=300)
    own_pip = created.returncode == 0 and bool(numpy)
    if created.returncode:  # a Python without ensurepip (Debian without python3-venv)
        shutil.rmtree(where, ignore_errors=True)
        created = _run([python, "-m", "venv", "--without-pip", str(where)], timeout=300)
        assert created.returncode == 0, created.stderr
    venv_python = where / "bin" / "python"
    if numpy:
        pip = [str(venv_python), "-m", "pip"] if own_pip else \
            [sys.executable, "-m", "pip", "--python", str(venv_python)]
        done = _run([*pip, "install", "--quiet", "--disable-pip-version-check", numpy], timeout=600)
        if done.returncode:
            text = done.stdout + done.stderr
            if any(words in text for words in _CANNOT_INSTALL):
                return f"{python} cannot install {numpy}: {text.strip().splitlines()[-1]}"
            pytest.fail(f"pip install {numpy} on {python} failed:\n{text[-3000:]}")
    return venv_python


def _student_run(venv_python: Path, folder: Path, script: str, tmp_path: Path):
    """The student's script run with ``python -I`` from a copy of the released folder."""
    here = tmp_path / folder.name
    shutil.copytree(folder, here)
    (here / "student.py").write_text(script, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    return _run([str(venv_python), "-I", "student.py"], cwd=here, env=env, timeout=600), here


# ------------------------------------------------------------------ the student's script

_PRELUDE = '''import json, os, sys
sys.path.insert(0, os.getcwd())   # what Jupyter does: the notebook's folder comes first
import nn_utils
import numpy as np
print("CHECKER", json.dumps([nn_utils.__file__, np.__version__]))


def correct(*table_row):   # the tables' decorators of tests/layer_variants.py, doing nothing here
    return lambda cls: cls


buggy = correct
'''
_RUN = '''

def run(check, label, student, fragment):
    """One check: a JSON line saying whether it passed, or its CheckFailed message."""
    try:
        getattr(nn_utils, "check_" + check)(student)
        outcome, message = "passed", None
    except nn_utils.CheckFailed as exc:
        outcome, message = "failed", str(exc)
    except Exception as exc:
        outcome, message = "error", f"{type(exc).__name__}: {exc}"
    print("RESULT", json.dumps({"check": check, "student": label, "fragment": fragment,
                                "outcome": outcome, "message": message}), flush=True)
'''
#: (check, a correct class, a buggy class) of tests/layer_variants.py, numpy only
_LAYERS = (("affine", "AffineDot", "AffineDWeightOverN"),
           ("relu", "ReluMaximum", "ReluForgetsDOut"),
           ("cross_entropy", "CEStable", "CESummed"))
#: numpy-framework checks: the solution notebook's class, a bug of tests/framework_variants.py
#: whose replaced methods are named functions
_FRAMEWORK = (("weight_multiply", "WeightMultiply", "WmNotImplemented"),
              ("sigmoid", "Sigmoid", "SigmoidInPlace"),
              ("dense", "Dense", None),
              ("neural_network", "network_factory()", "NetBackwardNotReversed"),
              ("sgd", "SGD", "SgdNotCalled"))


def _layer_part() -> tuple[list[str], list[str]]:
    import layer_variants as lv
    fragments = {cls.__name__: fragment for _, cls, _, fragment in lv.BUGGY}
    code = [inspect.getsource(lv._stable_softmax)]
    calls = []
    for check, good, bad in _LAYERS:
        code += [inspect.getsource(getattr(lv, good)), inspect.getsource(getattr(lv, bad))]
        calls += [f"run({check!r}, {good!r}, {good}(), None)",
                  f"run({check!r}, {bad!r}, {bad}(), {fragments[bad]!r})"]
    return code, calls


def _framework_part() -> tuple[list[str], list[str]]:
    import framework_variants as fv
    cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source
             for c in nbformat.read(fv.NOTEBOOK, as_version=4).cells}
    code = [cells[grade_id] for grade_id in fv.DEFINITIONS]
    code += [inspect.getsource(fv.variant), inspect.getsource(fv.network_factory)]
    bugs = {b.name: b for b in fv.BUGGY}
    calls = []
    for check, good, bad in _FRAMEWORK:
        calls.append(f"run({check!r}, {good!r}, {good}, None)")
        if bad is None:
            continue
        bug = bugs[bad]
        cls = bug.student
        if check == "neural_network":   # a factory of networks of the buggy class
            cls = inspect.getclosurevars(bug.student).nonlocals["cls"]
        methods = {k: f for k, f in vars(cls).items() if inspect.isfunction(f)}
        assert all(f.__name__ != "<lambda>" for f in methods.values()), bad
        code += [inspect.getsource(f) for f in methods.values()]
        made = (f"variant({cls.__bases__[0].__name__}, {bad!r}, "
                + ", ".join(f"{k}={f.__name__}" for k, f in methods.items()) + ")")
        student = f"network_factory({made})" if check == "neural_network" else made
        calls.append(f"run({check!r}, {bad!r}, {student}, {bug.fragment!r})")
    return code, calls


def _script() -> tuple[str, int]:
    """The script's text and the number of checks it runs."""
    layer_code, layer_calls = _layer_part()
    framework_code, framework_calls = _framework_part()
    calls = layer_calls + framework_calls
    return "\n\n".join([_PRELUDE, *layer_code, *framework_code, _RUN, "\n".join(calls) + "\n"]), \
        len(calls)


# ------------------------------------------------------------------ the tests

def _say(capsys, line: str) -> None:
    with capsys.disabled():
        print(f"\n    {line}", end="")


@pytest.mark.slow
@pytest.mark.parametrize("version,python,numpy",
                         [(v, p, NUMPY) for v, p in SUPPORTED]
                         + [(v, p, NUMPY_FLOOR) for v, p in _floor],
                         ids=[_id(v, p) for v, p in SUPPORTED]
                         + [f"{_id(v, p)} {NUMPY_FLOOR}" for v, p in _floor])
def test_the_numpy_checks_run_from_the_bundle(version, python, numpy, venvs, student_folder,
                                              tmp_path, capsys):
    script, count = _script()
    done, here = _student_run(venvs(python, numpy), student_folder, script, tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    lines = done.stdout.splitlines()
    checker, numpy_version = json.loads(lines[0].removeprefix("CHECKER "))
    assert Path(checker).resolve() == (here / "nn_utils" / "__init__.py").resolve()
    results = [json.loads(line.removeprefix("RESULT ")) for line in lines
               if line.startswith("RESULT ")]
    assert len(results) == count, done.stdout
    for r in results:
        if r["fragment"] is None:
            assert r["outcome"] == "passed", r
        else:
            assert r["outcome"] == "failed" and r["fragment"] in r["message"], r
    succeeded = {line.split(":")[0] for line in lines if not line.startswith(("RESULT", "CHECKER"))}
    assert {f"check_{r['check']}" for r in results} <= succeeded, done.stdout
    _say(capsys, f"Python {_id(version, python)}: numpy {numpy_version}, {len(results)} checks "
                 "as expected (correct ones pass, buggy ones raise CheckFailed)")


@pytest.mark.slow
@pytest.mark.parametrize("version,python", OLDER, ids=[_id(v, p) for v, p in OLDER])
def test_an_older_python_gets_one_line(version, python, venvs, student_folder, tmp_path, capsys):
    venv_python = venvs(python, None)   # no numpy: the message must come before it is needed
    assert _run([str(venv_python), "-c", "import numpy"]).returncode != 0
    done, _ = _student_run(venv_python, student_folder, _PRELUDE, tmp_path)
    said = "nn_utils needs Python 3.10 or newer; this is " + ".".join(map(str, version))
    err = done.stderr.strip().splitlines()
    assert done.returncode != 0 and done.stdout == ""
    assert err[-1] == f"ImportError: {said}", done.stderr
    raised = [line for line in err if re.match(r"[\w.]+(Error|Exception): ", line)]
    assert raised == [err[-1]], done.stderr   # no other error before or after it
    _say(capsys, f"Python {_id(version, python)}: {err[-1]}")


@pytest.mark.slow
@pytest.mark.parametrize("version,python", EDGES, ids=[_id(v, p) for v, p in EDGES])
def test_the_course_requirements_install_on(version, python, venvs, tmp_path, capsys):
    """pip resolves the requirements of every released assignment together (nothing installed)."""
    notebooks = sorted((ROOT / "release").glob("*/*.ipynb"))
    wanted = tmp_path / "requirements.txt"
    wanted.write_text(_bundle.requirements(notebooks), encoding="utf-8")
    venv_python = venvs(python, NUMPY)
    report = tmp_path / "report.json"
    pip = [str(venv_python), "-m", "pip"]
    if _run([*pip, "--version"]).returncode:
        pip = [sys.executable, "-m", "pip", "--python", str(venv_python)]
    done = _run([*pip, "install", "--dry-run", "--quiet", "--disable-pip-version-check",
                 "--ignore-installed", "--report", str(report), "-r", str(wanted)], timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    chosen = {i["metadata"]["name"].lower().replace("_", "-"): i["metadata"]["version"]
              for i in json.loads(report.read_text())["install"]}
    names = ("numpy", "scipy", "scikit-learn", "matplotlib", "tensorflow-cpu")
    _say(capsys, f"Python {_id(version, python)}: requirements.txt resolves to "
                 + ", ".join(f"{n} {chosen[n]}" for n in names if n in chosen))


def test_the_requirements_are_ranges_the_course_runs_within():
    """No pins: each distribution a release may list has a range, the teacher's version inside."""
    from importlib.metadata import PackageNotFoundError, version

    from packaging.specifiers import SpecifierSet
    assert set(_bundle.STUDENT_PACKAGES.values()) | {"numpy", "ipykernel", "jupyter"} \
        <= set(_bundle.STUDENT_RANGES)
    notebooks = sorted((ROOT / "release").glob("*/*.ipynb"))
    text = _bundle.requirements(notebooks)
    assert not re.search(r"^[\w.-]+ *==", text, re.M) and "numpy>=1.26,<3" in text.splitlines()
    for distribution, wanted in _bundle.STUDENT_RANGES.items():
        assert re.fullmatch(r">=[\d.]+,<\d+", wanted), (distribution, wanted)
        try:
            installed = version(distribution)
        except PackageNotFoundError:
            continue
        assert installed in SpecifierSet(wanted), (distribution, installed, wanted)


def test_interpreters_found():
    """The list this machine gives the tests above (at least the running Python)."""
    assert INTERPRETERS, "no Python 3 interpreter found"
    print("student Pythons:", ", ".join(_id(v, p) for v, p in INTERPRETERS))
