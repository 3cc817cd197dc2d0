"""Run real nbgrader commands on a throwaway copy of the course (for assignment tests).

Every assignment test follows the same steps, so they live here:

    course = copy_course(tmp_path, ["backprop_numpy"])      # config + source/ + release/
    generate_release(course, "backprop_numpy")              # nbgrader generate_assignment
    submit(course, "backprop_numpy", "solution", SOURCE / "backprop_numpy")
    submit(course, "backprop_numpy", "blank", RELEASE / "backprop_numpy")
    run = autograde(course, "backprop_numpy")               # ONE call grades every student
    run.scores["solution"]["backprop_numpy"]["test-affine"]  # -> CellScore(score, max_score)

Nothing here knows about a particular assignment; pass the names.  The nbgrader
subprocesses (and so the grading kernels) import ``nn_utils`` from this
checkout, plot with matplotlib's Agg backend, and never touch the real
course's gradebook or release/ folder.
"""
from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import nbformat

__all__ = ["REPO", "SOURCE", "RELEASE", "CellScore", "GradeRun", "configured_assignments",
           "copy_course", "nbgrader", "generate_release", "submit", "autograde",
           "cell_scores", "notebook_signature", "cell_output_text", "grade_solution_and_blank",
           "nbgrader_cell", "add_course"]

REPO = Path(__file__).resolve().parent.parent
SOURCE = REPO / "source"
RELEASE = REPO / "release"

# nbgrader metadata that changes between runs or is derived from the source text
_VOLATILE = {"checksum"}


@dataclass(frozen=True)
class CellScore:
    """The autograded score of one test cell."""

    score: float
    max_score: float


@dataclass
class GradeRun:
    """One ``nbgrader autograde`` call: its exit status, log and the per-cell scores.

    ``scores[student][notebook][grade_id]`` is a :class:`CellScore`.
    """

    returncode: int
    log: str
    seconds: float
    scores: dict = field(default_factory=dict)


def nbgrader_cell(source: str, grade_id: str, points=None, solution: bool = False):
    """A code cell with nbgrader metadata: a test cell when ``points`` is given."""
    meta = {"grade_id": grade_id, "grade": points is not None, "solution": solution,
            "locked": not solution, "schema_version": 3}
    if points is not None:
        meta["points"] = points
    return nbformat.v4.new_code_cell(source, metadata={"nbgrader": meta})


ADD_BODIES = {  # what a student of add_course() may submit
    "solution": "    return a + b\n",
    "wrong": "    return a - b\n",
    "crash": "    return a + b\nimport os\nos._exit(1)\n",
    "endless": "    return a + b\nwhile True:\n    pass\n",
}


def add_course(root: Path, students: dict[str, str]) -> Path:
    """A course whose one assignment ``add`` is a tiny notebook (no import, two 1-point tests).

    ``students`` maps each student to a key of :data:`ADD_BODIES`.
    """
    def notebook(body: str):
        nb = nbformat.v4.new_notebook(metadata={"kernelspec": {
            "name": "python3", "language": "python", "display_name": "Python 3"}})
        nb.cells = [nbgrader_cell(f"def add(a, b):\n{body}", "add", solution=True),
                    nbgrader_cell("assert add(1, 2) == 3\n", "test-add", points=1),
                    nbgrader_cell("assert add(-1, 1) == 0\n", "test-add-negative", points=1)]
        return nb
    root = Path(root)
    (root / "source" / "add").mkdir(parents=True)
    solution = "    ### BEGIN SOLUTION\n    return a + b\n    ### END SOLUTION\n"
    nbformat.write(notebook(solution), root / "source" / "add" / "add.ipynb")
    shutil.copy(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    for student, kind in students.items():
        (root / "submitted" / student / "add").mkdir(parents=True)
        nbformat.write(notebook(ADD_BODIES[kind]), root / "submitted" / student / "add" / "add.ipynb")
    return root


def configured_assignments(root: Path = REPO) -> list[str]:
    """The literal list ``COURSE_ASSIGNMENTS`` of the course's ``nbgrader_config.py``."""
    tree = ast.parse((root / "nbgrader_config.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "COURSE_ASSIGNMENTS" for t in node.targets):
            return list(ast.literal_eval(node.value))
    return []


def copy_course(dest: Path, assignments: Iterable[str], root: Path = REPO) -> Path:
    """Copy ``nbgrader_config.py`` and the assignments' source/ and release/ folders to ``dest``."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(root / "nbgrader_config.py", dest / "nbgrader_config.py")
    ignore = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__")
    for name in assignments:
        if not (root / "source" / name).is_dir():
            raise FileNotFoundError(f"no assignment {name!r} under {root / 'source'}")
        for folder in ("source", "release"):
            if (root / folder / name).is_dir():
                shutil.copytree(root / folder / name, dest / folder / name, ignore=ignore)
    return dest


def _env() -> dict:
    env = dict(os.environ)
    bindir = str(Path(sys.executable).parent)  # nbgrader runs `alembic` from here
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    env["MPLBACKEND"] = "Agg"  # kernels inherit it: no GUI, no inline PNG encoding
    env.pop("NN_UTILS_GRADING_NONCE", None)  # hidden tests use their written seeds
    return env


def nbgrader(course: Path, *args: str, timeout: float = 1200) -> subprocess.CompletedProcess:
    """Run ``python -m nbgrader ARGS`` in ``course``; stdout and stderr together in ``.stdout``."""
    return subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=_env(),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=timeout, check=False)


def generate_release(course: Path, assignment: str) -> Path:
    """``nbgrader generate_assignment`` in the copy; returns its release folder."""
    proc = nbgrader(course, "generate_assignment", assignment, "--force")
    if proc.returncode != 0:
        raise RuntimeError(f"generate_assignment {assignment} failed:\n{proc.stdout[-3000:]}")
    return course / "release" / assignment


def submit(course: Path, assignment: str, student: str, folder: Path) -> Path:
    """Hand in every notebook of ``folder`` as ``student``'s submission of ``assignment``."""
    target = Path(course) / "submitted" / student / assignment
    target.mkdir(parents=True, exist_ok=True)
    notebooks = sorted(Path(folder).glob("*.ipynb"))
    if not notebooks:
        raise FileNotFoundError(f"no notebook in {folder}")
    for path in notebooks:
        shutil.copy2(path, target / path.name)
    return target


def autograde(course: Path, assignment: str, timeout: float = 1200) -> GradeRun:
    """Grade every submitted student of ``assignment`` in one ``nbgrader autograde`` call."""
    start = time.perf_counter()
    proc = nbgrader(course, "autograde", assignment, "--force", timeout=timeout)
    seconds = time.perf_counter() - start
    return GradeRun(proc.returncode, proc.stdout, seconds, cell_scores(course, assignment))


def cell_scores(course: Path, assignment: str) -> dict:
    """``{student: {notebook: {grade_id: CellScore}}}`` from the copy's gradebook."""
    from nbgrader.api import Gradebook, MissingEntry

    scores: dict = {}
    url = "sqlite:///" + str(Path(course) / "gradebook.db")
    with Gradebook(url) as gb:
        try:
            submissions = gb.find_assignment(assignment).submissions
        except MissingEntry:
            return scores
        for submission in submissions:
            per_student = scores.setdefault(submission.student.id, {})
            for notebook in submission.notebooks:
                per_student[notebook.name] = {
                    grade.name: CellScore(float(grade.score), float(grade.max_score))
                    for grade in notebook.grades
                }
    return scores


def released_by_nbgrader(folder: Path) -> list[str]:
    """The names in ``release/<assignment>/`` that nbgrader wrote: not the bundle that
    ``autograder release`` adds beside the notebook (``nn_utils/``, ``requirements.txt``)."""
    return sorted(p.name for p in folder.iterdir() if p.name not in ("nn_utils", "requirements.txt"))


def notebook_signature(path: Path) -> list[tuple]:
    """What a release must reproduce: per cell its type, source and nbgrader metadata.

    Outputs, execution counts, cell ids and checksums are left out.
    """
    nb = nbformat.read(str(path), as_version=4)
    signature = []
    for cell in nb.cells:
        meta = {k: v for k, v in cell.metadata.get("nbgrader", {}).items() if k not in _VOLATILE}
        signature.append((cell.cell_type, cell.source, tuple(sorted(meta.items()))))
    return signature


def cell_output_text(notebook: Path, grade_id: str, limit: int = 2000) -> str:
    """Text outputs (streams, errors) of the cell ``grade_id`` of an executed notebook."""
    nb = nbformat.read(str(notebook), as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") != grade_id:
            continue
        parts = []
        for out in cell.get("outputs", []):
            if out.output_type == "stream":
                parts.append(f"[{out.name}] {out.text}")
            elif out.output_type == "error":
                parts.append(f"[error] {out.ename}: {out.evalue}")
        return "".join(parts)[-limit:]
    return f"(no cell {grade_id!r} in {notebook})"


def grade_solution_and_blank(workdir: Path, assignments: Iterable[str]) -> tuple[Path, dict]:
    """Copy the course, regenerate each release, hand in its solution and its untouched
    release as students ``solution`` and ``blank``, and autograde both in one call.

    Returns the course copy and ``{assignment: GradeRun}``.
    """
    assignments = list(assignments)
    course = copy_course(workdir, assignments)
    runs = {}
    for assignment in assignments:
        generate_release(course, assignment)
        submit(course, assignment, "solution", SOURCE / assignment)
        submit(course, assignment, "blank", RELEASE / assignment)
        runs[assignment] = autograde(course, assignment)
        print(f"autograde {assignment}: 2 students in {runs[assignment].seconds:.1f} s")
    return course, runs
