"""A released folder works on its own: the bundled checker, no repository, no teacher's code.

Each ``release/<assignment>/`` is copied with its bundle (``nn_utils/``,
``requirements.txt``), the teacher's solutions are pasted into the notebook,
and the notebook runs top to bottom in a kernel started with ``python -I`` that
refuses ``autograder`` and ``nbgrader`` -- as on a student's laptop, where this
repository was never installed.  The ``nn_utils`` imported must be the bundled one.
"""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

import nn_utils
from autograder import bundle as _bundle
from autograder.demo_class import solution_notebook

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENTS = sorted(p.name for p in (ROOT / "release").iterdir() if p.is_dir())

_LAUNCH = '''import os, sys
sys.path.insert(0, os.getcwd())   # what Jupyter does: the notebook's folder comes first


class _NotInstalled:
    """A student's machine: the teacher's packages do not exist there, and nn_utils only
    as the folder beside the notebook (this repository's editable install is ignored)."""

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("autograder", "nbgrader"):
            raise ModuleNotFoundError(f"No module named {name!r}")
        if name == "nn_utils":
            from importlib.machinery import PathFinder
            spec = PathFinder.find_spec(name, [os.getcwd()])
            if spec is None:
                raise ModuleNotFoundError(f"No module named {name!r}")
            return spec
        return None


sys.meta_path.insert(0, _NotInstalled())
from ipykernel import kernelapp
kernelapp.launch_new_instance()
'''
_PROBE = ("import sys\n"
          "try:\n    import nn_utils\n    print('CHECKER', nn_utils.__file__)\n"
          "except ImportError:\n    print('CHECKER none')\n"
          "print('TEACHER', sorted(m for m in sys.modules if m.split('.')[0] in "
          "('autograder', 'nbgrader')))\n")


def _kernelspec(tmp_path: Path) -> Path:
    launch = tmp_path / "launch.py"
    launch.write_text(_LAUNCH)
    spec = tmp_path / "jupyter" / "kernels" / "student"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-I", str(launch), "-f", "{connection_file}"],
        "display_name": "a student's Python", "language": "python"}))
    return tmp_path / "jupyter"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_a_release_folder_runs_on_its_own_with_the_solutions(assignment, tmp_path, monkeypatch):
    folder = tmp_path / "student" / assignment
    shutil.copytree(ROOT / "release" / assignment, folder,
                    ignore=shutil.ignore_patterns("nn_utils", "requirements.txt"))
    bundled = _bundle.write_bundle(folder)
    assert "requirements.txt" in bundled
    monkeypatch.setenv("JUPYTER_PATH", str(_kernelspec(tmp_path)))
    monkeypatch.delenv("PYTHONPATH", raising=False)
    for path in sorted(folder.glob("*.ipynb")):
        release = nbformat.read(path, as_version=4)
        source = nbformat.read(ROOT / "source" / assignment / path.name, as_version=4)
        nb = nbformat.from_dict(solution_notebook(source, release))
        uses_checker = "nn_utils" in "".join(c.source for c in nb.cells)
        nb.cells.append(nbformat.v4.new_code_cell(_PROBE))
        NotebookClient(nb, kernel_name="student", timeout=600,
                       resources={"metadata": {"path": str(folder)}}).execute()
        printed = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", [])
                          if o.get("output_type") == "stream")
        checker = printed.split("CHECKER ")[1].split()[0]
        assert "TEACHER []" in printed
        if not uses_checker:
            assert checker == "none"
        else:
            assert Path(checker).resolve() == (folder / "nn_utils" / "__init__.py").resolve()
            passed = [line for line in printed.splitlines()
                      if line.split(":")[0] in _CHECK_NAMES]
            assert passed, printed[-2000:]


# the first word of a passing check's line: the check as the student called it
_CHECK_NAMES = {name for name in nn_utils.__all__ if name.startswith("check_")}
