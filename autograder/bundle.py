"""The student bundle: what ``autograder release`` puts beside each released notebook.

``release/<assignment>/`` gets the student build of ``nn_utils`` (probes, judges
and the cases published just now by the teacher's side -- no reference maths
exists in it) and a
``requirements.txt`` of the packages that assignment imports, as version ranges
a student's Python 3.10 to 3.13 can install (:data:`STUDENT_RANGES`), never pins of
the teacher's environment.  :func:`build_wheel` packs the same checker as one
installable wheel for JupyterHub images and lab machines.  A student never
installs this repository.
"""
from __future__ import annotations

import ast
import base64
import hashlib
import os
import shutil
import zipfile
from pathlib import Path

import nbformat

import nn_utils

__all__ = ["write_bundle", "requirements", "build_wheel", "CHECKER_DIR", "STUDENT_PACKAGES",
           "STUDENT_RANGES"]

CHECKER_DIR = Path(nn_utils.__file__).resolve().parent
#: import name -> the distribution a student installs for it
STUDENT_PACKAGES = {"numpy": "numpy", "scipy": "scipy", "matplotlib": "matplotlib",
                    "sklearn": "scikit-learn", "tensorflow": "tensorflow-cpu",
                    "pandas": "pandas", "PIL": "pillow"}
_ALWAYS = ("numpy", "ipykernel", "jupyter")   # nn_utils needs numpy; a notebook needs Jupyter
#: distribution -> the versions a release asks for.  numpy's is the checker's own range:
#: tests/test_student_pythons.py runs the bundle at numpy 1.26 and at the newest numpy each
#: Python from 3.10 to 3.13 installs.  The others start at pyproject.toml's floors (pandas
#: and pillow, which no notebook imports yet, at releases with wheels for 3.10 to 3.13) and
#: stop below the next major version; the same test has pip resolve them on 3.10 and 3.13,
#: and pip picks for each student's Python the newest release it has wheels for.
STUDENT_RANGES = {"numpy": ">=1.26,<3", "scipy": ">=1.13,<2", "matplotlib": ">=3.9,<4",
                  "scikit-learn": ">=1.5,<2", "tensorflow-cpu": ">=2.21,<3",
                  "pandas": ">=2.2,<3", "pillow": ">=10.4,<14",
                  "ipykernel": ">=6.29,<8", "jupyter": ">=1.1,<2"}
#: tensorflow-cpu publishes no wheels for macOS, where the full package is the CPU one
_ON_MAC = {"tensorflow-cpu": "tensorflow"}


def _imports(notebook_path: Path) -> set[str]:
    """Top-level module names the notebook's code cells import (IPython magics skipped)."""
    names = set()
    nb = nbformat.read(notebook_path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        code = "\n".join(line for line in cell.source.splitlines()
                         if not line.lstrip().startswith(("%", "!")))
        try:
            tree = ast.parse(code)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module.split(".")[0])
    return names


def _ranges(distribution: str) -> list[str]:
    """The requirement lines of one distribution (two where macOS needs another name)."""
    wanted = STUDENT_RANGES.get(distribution, "")
    if distribution not in _ON_MAC:
        return [distribution + wanted]
    return [f'{distribution}{wanted}; sys_platform != "darwin"',
            f'{_ON_MAC[distribution]}{wanted}; sys_platform == "darwin"']


def requirements(notebooks: list[Path]) -> str:
    """The text of ``requirements.txt`` for an assignment made of ``notebooks``."""
    used = set().union(*(_imports(p) for p in notebooks)) if notebooks else set()
    wanted = {STUDENT_PACKAGES[n] for n in used if n in STUDENT_PACKAGES} | set(_ALWAYS)
    lines = [line for d in sorted(wanted, key=str.lower) for line in _ranges(d)]
    return ("# what this assignment needs (pip install -r requirements.txt);\n"
            "# nn_utils, the course's checker, is the folder beside the notebook\n"
            + "\n".join(lines) + "\n")


def write_bundle(release_dir: Path) -> list[str]:
    """Put ``nn_utils/`` and ``requirements.txt`` into ``release_dir``; the names written."""
    notebooks = sorted(release_dir.glob("*.ipynb"))
    uses_checker = any("nn_utils" in _imports(p) for p in notebooks)
    written = []
    if uses_checker:
        target = release_dir / "nn_utils"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(CHECKER_DIR, target, ignore=shutil.ignore_patterns(
            "__pycache__", "*.pyc", ".*", "cases"))
        from autograder import reference
        reference.publish(str(target / "cases"))  # fresh expected values, written now
        written.append("nn_utils/")
    (release_dir / "requirements.txt").write_text(requirements(notebooks), encoding="utf-8")
    written.append("requirements.txt")
    return written


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def build_wheel(dest: Path, version: str = "0.1.0") -> Path:
    """``dest/nn_utils-<version>-py3-none-any.whl``: the student checker, pip-installable."""
    dest.mkdir(parents=True, exist_ok=True)
    info = f"nn_utils-{version}.dist-info"
    files: dict[str, bytes] = {}
    from autograder import reference
    for path in sorted(CHECKER_DIR.rglob("*")):
        rel = path.relative_to(CHECKER_DIR.parent).as_posix()
        if path.is_file() and "__pycache__" not in rel and not path.name.endswith(".pyc") \
                and not rel.startswith("nn_utils/cases/"):
            files[rel] = path.read_bytes()
    for name in reference.PUBLISHED:  # fresh expected values, written now
        files[f"nn_utils/cases/{name}.json"] = reference.published_cases(name).encode()
    files[f"{info}/METADATA"] = (
        "Metadata-Version: 2.1\nName: nn-utils\n"
        f"Version: {version}\nSummary: The course's checker for neural-network exercises\n"
        f"Requires-Python: >=3.10\nRequires-Dist: numpy{STUDENT_RANGES['numpy']}\n").encode()
    files[f"{info}/WHEEL"] = (b"Wheel-Version: 1.0\nGenerator: autograder\n"
                              b"Root-Is-Purelib: true\nTag: py3-none-any\n")
    record = [_record_line(n, d) for n, d in files.items()] + [f"{info}/RECORD,,"]
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    wheel = dest / f"nn_utils-{version}-py3-none-any.whl"
    tmp = wheel.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0)), data)
    os.replace(tmp, wheel)
    return wheel
