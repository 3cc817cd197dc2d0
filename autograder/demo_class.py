"""Synthetic student notebooks for the demo, the release check and the benchmark.

A *kind* names what a pretend student handed in:

* ``solution`` -- the released notebook with every solution cell filled in from
  the teacher's source (solution markers removed, hidden tests never seen);
* ``blank`` -- the released notebook untouched;
* ``bug:<id>`` -- the solution with one known mistake, a textual substitution
  from :data:`BUGS` (the build fails loudly if the text is not found);
* ``malformed``, ``infinite_loop``, ``kernel_crash``, ``missing`` -- broken
  submissions the grader must survive.
"""
from __future__ import annotations

import copy
import csv
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from autograder import UsageError
from autograder.course import generate, markers, notebook_names
from autograder.record import Result, Status

__all__ = ["DEMO_ASSIGNMENTS", "expected_outcome", "roster", "build_class", "Bug", "BUGS",
           "BROKEN", "BuildError", "bugs_for", "solution_notebook", "build_submission", "kinds_for"]


class BuildError(Exception):
    """A synthetic submission could not be built (e.g. a bug no longer applies)."""


@dataclass(frozen=True)
class Bug:
    """A known mistake: replace ``old`` by ``new`` in the solution cell ``cell``."""

    assignment: str
    id: str
    cell: str          # grade_id of the solution cell
    old: str
    new: str


#: The known-buggy variants, one row each.  ``old`` must occur in the named
#: solution cell of the teacher's source (tests/test_demo.py checks every row).
BUGS = (
    Bug("backprop_numpy", "transposed_d_weight", "affine",
        "d_weight = inputs.T @ d_out", "d_weight = (inputs.T @ d_out).T"),
    Bug("backprop_numpy", "relu_ignores_d_out", "relu",
        "d_inputs = d_out * (inputs > 0)", "d_inputs = 1.0 * (inputs > 0)"),
    Bug("backprop_numpy", "missing_1_over_N", "cross-entropy",
        "(probs - labels) / probs.shape[0]", "(probs - labels)"),
    Bug("backprop_numpy", "gradient_ascent", "feedforward",
        "self.params[name] - self.learning_rate", "self.params[name] + self.learning_rate"),
    Bug("gradient_tape", "argmax_over_batch_axis", "evaluate",
        "np.argmax(np.asarray(model(X)), axis=1)", "np.argmax(np.asarray(model(X)), axis=0)"),
    Bug("gradient_tape", "history_without_row_0", "fit",
        "for k in range(N + 1):", "for k in range(1, N + 1):"),
    Bug("gradient_tape", "rebinds_weight_instead_of_assign", "fit",
        "w.assign_sub(lr * g)", "w = w - lr * g"),
    Bug("tf_basics", "minimise_ascends", "minimise-square",
        "x.assign_sub(", "x.assign_add("),
    Bug("numpy_framework", "sgd_rebinds_param", "sgd",
        "param -= self.lr * grad", "param = param - self.lr * grad"),
    Bug("cnn_numpy", "conv_backward_flipped_kernel", "conv2d",
        "np.tensordot(d_out, weight[:, :, k, l]",
        "np.tensordot(d_out, weight[:, :, KH - 1 - k, KW - 1 - l]"),
    Bug("cnn_numpy", "batchnorm_unbiased_variance", "batchnorm",
        "inputs.var(axis=0)", "inputs.var(axis=0, ddof=1)"),
    Bug("cnn_numpy", "dropout_without_scale", "dropout",
        "return inputs * self.mask / (1.0 - self.rate)", "return inputs * self.mask"),
    Bug("cnn_numpy", "cnn_gradient_ascent", "small-cnn",
        "self.params[name] - self.learning_rate", "self.params[name] + self.learning_rate"),
    Bug("optimizers_numpy", "softmax_without_max_shift", "softmax",
        "shifted = logits - logits.max(axis=1, keepdims=True)", "shifted = logits"),
    Bug("optimizers_numpy", "momentum_velocity_not_kept", "momentum",
        "self.velocity = self.momentum * self.velocity - self.learning_rate * grad\n"
        "        return param + self.velocity",
        "velocity = self.momentum * self.velocity - self.learning_rate * grad\n"
        "        return param + velocity"),
    Bug("optimizers_numpy", "adam_without_bias_correction", "adam",
        "m_hat = self.m / (1 - self.beta1 ** self.t)\n"
        "        v_hat = self.v / (1 - self.beta2 ** self.t)",
        "m_hat = self.m\n        v_hat = self.v"),
    Bug("optimizers_numpy", "optimizers_recreated_every_epoch", "train",
        "optimizers = {name: make_optimizer() for name in model.params}\n"
        "    losses = []\n    for _ in range(epochs):\n",
        "losses = []\n    for _ in range(epochs):\n"
        "        optimizers = {name: make_optimizer() for name in model.params}\n"),
)

#: Broken submissions: kind -> what to do to the solution notebook.
BROKEN = ("malformed", "infinite_loop", "kernel_crash", "missing")

_PREFIX = {"infinite_loop": "while True:\n    pass\n",
           "kernel_crash": "import os\nos._exit(1)\n"}


def _text(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _meta(cell: dict) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def _solution_cells(nb: dict) -> list[dict]:
    return [c for c in nb["cells"] if c.get("cell_type") == "code" and _meta(c).get("solution")]


def bugs_for(assignment: str) -> list[Bug]:
    """The rows of :data:`BUGS` for one assignment."""
    return [bug for bug in BUGS if bug.assignment == assignment]


def kinds_for(assignment: str) -> list[str]:
    """Every kind that can be built for ``assignment`` (solution first)."""
    return ["solution", "blank"] + [f"bug:{b.id}" for b in bugs_for(assignment)] + list(BROKEN)


def solution_notebook(source_nb: dict, release_nb: dict) -> dict:
    """The released notebook with each solution cell replaced by the source's solution."""
    answers = {_meta(c).get("grade_id"): markers().without_markers(_text(c), hidden=False)
               for c in _solution_cells(source_nb)}
    nb = copy.deepcopy(release_nb)
    for cell in _solution_cells(nb):
        grade_id = _meta(cell).get("grade_id")
        if grade_id not in answers:
            raise BuildError(f"solution cell {grade_id!r} of the release is not in the source")
        cell["source"] = answers[grade_id]
    return nb


def _apply_bug(nb: dict, bug: Bug) -> dict | None:
    """The notebook with ``bug`` applied, or None when it lacks the bug's cell."""
    nb = copy.deepcopy(nb)
    for cell in _solution_cells(nb):
        if _meta(cell).get("grade_id") == bug.cell:
            if bug.old not in _text(cell):
                raise BuildError(f"bug {bug.id!r} does not apply: {bug.old!r} is not in "
                                 f"solution cell {bug.cell!r} of {bug.assignment}")
            cell["source"] = _text(cell).replace(bug.old, bug.new)
            return nb
    return None


def _prefix_middle_solution(nb: dict, code: str) -> dict:
    """Break the middle solution cell: the cells before it keep their credit, and
    the (often slow) training cells after it never run."""
    nb = copy.deepcopy(nb)
    cells = _solution_cells(nb)
    if not cells:
        raise BuildError("the notebook has no solution cell")
    middle = cells[len(cells) // 2]
    middle["source"] = code + _text(middle)
    return nb


def _variant(kind: str, assignment: str, solved: dict, release_nb: dict) -> dict | None:
    """One notebook of a ``kind`` submission (None: this notebook stays solved)."""
    if kind == "solution":
        return solved
    if kind == "blank":
        return release_nb
    if kind.startswith("bug:"):
        rows = [b for b in bugs_for(assignment) if b.id == kind[4:]]
        if not rows:
            raise BuildError(f"no bug {kind[4:]!r} for {assignment}")
        return _apply_bug(solved, rows[0])
    if kind in _PREFIX:
        return _prefix_middle_solution(solved, _PREFIX[kind])
    raise BuildError(f"unknown kind of submission {kind!r}")


def build_submission(kind: str, assignment: str, notebooks: dict[str, tuple[dict, dict]],
                     folder: Path) -> list[Path]:
    """Write the ``kind`` submission of an assignment into ``folder``.

    ``notebooks`` maps each notebook name to its (source, release) JSON.  Broken
    kinds break the first notebook; a bug goes where its cell is.  Returns the files.
    """
    folder.mkdir(parents=True, exist_ok=True)
    written, changed = [], False
    for index, (name, (source_nb, release_nb)) in enumerate(sorted(notebooks.items())):
        solved = solution_notebook(source_nb, release_nb)
        target = folder / f"{name}.ipynb"
        if index == 0 and kind == "malformed":
            text = json.dumps(solved, indent=1)
            target.write_text(text[: len(text) // 2])  # cut mid-file: not JSON any more
            written.append(target)
            changed = True
            continue
        if index == 0 and kind == "missing":
            # Uploaded under another name: there is nothing to grade.
            target = folder / "Untitled.ipynb"
            nb, changed = solved, True
        elif kind in ("malformed", "missing") or (index > 0 and kind in _PREFIX):
            nb = solved
        else:
            nb = _variant(kind, assignment, solved, release_nb)
            changed = changed or nb is not None
            nb = solved if nb is None else nb
        target.write_text(json.dumps(nb, indent=1))
        written.append(target)
    if not changed:
        raise BuildError(f"{kind} does not apply to any notebook of {assignment}")
    return written


#: Graded by default, in this order, when they exist in source/: assignment ->
#: how many of the class hand it in.  A gradient_tape solution trains a
#: 512-wide network for 1000 epochs (~25 s of CPU per submission), so a
#: section of the class submits it and the demo stays within minutes.
DEMO_ASSIGNMENTS = {"backprop_numpy": 30, "gradient_tape": 10}


_MARK = ".autograder-demo"  # only a folder carrying this mark is ever deleted


_STATUS = {"malformed": Status.MALFORMED, "infinite_loop": Status.TIMEOUT,
           "kernel_crash": Status.KERNEL_DIED, "missing": Status.MISSING}


def expected_outcome(kind: str, record: Result | None) -> str | None:
    """None when a ``kind`` submission got the outcome it should, else what is wrong."""
    if record is None:
        return "no result record"
    status, score, top = record.status, record.score or 0, record.max_score
    if kind in _STATUS:
        return None if status is _STATUS[kind] else f"status {status}, expected {_STATUS[kind]}"
    if status is not Status.OK:
        return f"status {status}, expected ok"
    # answers graded by hand score 0 until a teacher grades them: full marks means the rest
    auto_top = top - sum(t.max_points for t in record.tests if t.manual)
    if kind == "solution" and abs(score - auto_top) > 1e-9:
        return f"score {score:g}/{top:g}, expected {auto_top:g} (full marks on every autograded test)"
    if kind == "blank" and score != 0:
        return f"score {score:g}/{top:g}, expected 0"
    if kind.startswith("bug:") and not score < top:
        return f"score {score:g}/{top:g}, expected less than full marks"
    return None


def roster(assignment: str, students: int) -> list[str]:
    """The kind of submission of each of ``students`` students (every kind once, then solutions)."""
    kinds = kinds_for(assignment)
    return (kinds + ["solution"] * students)[:students]


def _fresh(dest: Path, course: Path) -> None:
    if dest == course or course.is_relative_to(dest):
        raise UsageError(f"--dir {dest} would overwrite the course itself")
    if dest.exists() or dest.is_symlink():
        if not (dest.is_dir() and (dest / _MARK).is_file()):
            raise UsageError(f"{dest} exists and is not a demo class; remove it or use --dir")
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    (dest / _MARK).write_text("built by autograder demo; deleted by the next one\n")


def build_class(course: Path, dest: Path, assignments: list[str], students: int | None,
                kinds: list[str] | None = None) -> list[tuple[str, str, str]]:
    """Copy and release the course into ``dest`` and write every submission.

    ``students`` per assignment (None: :data:`DEMO_ASSIGNMENTS`' number, else 30),
    or exactly ``kinds``.  Returns the roster as (student, assignment, kind) rows.
    """
    _fresh(dest, course)
    # the course files nbgrader reads beside the assignments: config, AUTOTEST templates,
    # and files at the top of source/ (a header or footer notebook)
    for path in [course / "nbgrader_config.py", course / "autotests.yml",
                 *sorted((course / "source").glob("*"))]:
        if path.is_file():
            target = dest / path.relative_to(course)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
    rows = []
    for assignment in assignments:
        shutil.copytree(course / "source" / assignment, dest / "source" / assignment,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        problem = generate(dest, assignment)
        if problem:
            raise UsageError(f"nbgrader generate_assignment {assignment} failed: {problem}")
        notebooks = {name: tuple(json.loads((dest / folder / assignment / f"{name}.ipynb")
                                            .read_text()) for folder in ("source", "release"))
                     for name in notebook_names(dest, assignment)}
        plan = list(kinds) if kinds else roster(
            assignment, students or DEMO_ASSIGNMENTS.get(assignment, 30))
        width = max(2, len(str(len(plan))))
        for number, kind in enumerate(plan, 1):
            student = f"s{number:0{width}d}"
            folder = dest / "submitted" / student / assignment
            build_submission(kind, assignment, notebooks, folder)
            rows.append((student, assignment, kind))
    with (dest / "roster.csv").open("w", newline="") as handle:
        csv.writer(handle).writerows([("student", "assignment", "kind"), *rows])
    return rows
