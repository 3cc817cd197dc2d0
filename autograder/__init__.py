"""autograder: grade a whole class of nbgrader notebooks -- fast, in parallel, resumable.

The pipeline of one submission, in the order the tree lists it::

    pipeline.py      one class graded: orchestration only (GradingRun: prepare, execute,
                     score, save; results back, nothing printed)
    course.py        what nbgrader's config says: folders, settings, region markers
    record.py        the result record, one type: Result, CellScore, Status, Outcome
    protocol.py      what crosses the kernel boundary, named once: MIME type, plans file,
                     reporter, records (writers for the kernel, readers for the judge),
                     the preamble; cells.py: what assemble tells judge about a test cell
    assemble/        the graded notebook, rebuilt from source/ with the student's answers;
                     rewrite.py: the form of a test cell the kernel runs (asserts -> reports);
                     files.py: what is read from source/ and from a submission folder
    execute/         run it: payload -> runners (worker processes or Dask) -> kernels (forked from
                     forkserver, warmed up by warmup, isolated by a sandbox/ behind one
                     interface, watched by procs and reaper)
    kernel_side.py   the only code the grading kernel runs for us: probes out, nothing judged
    judge/           decide each test cell from what crossed the boundary: score.py and
                     expect_judge.py (the asserts' reports); assemble and judge meet only
                     in protocol.py and cells.py (tests/test_layers.py lists the layers)
    reference/       the only code that computes answers (teacher side; hidden from kernels)
    store.py         gradebook (nbgrader's), records, grades.csv
    feedback/        what students and LMSs get: pages.py (HTML), render.py (pages rendered
                     beside the grading loop, in processes or Dask tasks), save.py (pages
                     written, then the store saves the grade), withhold.py (no
                     hidden tests), exports.py (Gradescope, Canvas, Moodle), plots.py (charts)
    similarity/      after grading, for graders only: which submissions share rare code
                     (the students' own lines, winnowed) or rare wrong answers (records)

Around it: ``bundle.py`` (the student bundle a release ships), ``demo_class.py``
(pretend students for the demo and the release check), ``commands/`` (one module
per subcommand: ``add_arguments(parser)`` and ``main(*, course=".", ...) -> int``;
``cli.py`` dispatches).  The trust boundary is the kernel: everything under
``execute/`` and ``kernel_side.py`` treats what comes back as data from student code.

Adding an assignment: its notebook in ``source/<name>/`` (plain nbgrader cells), its
name in ``nbgrader_config.py``, ``autograder release <name>``, and a row of
``ASSIGNMENTS`` in ``tests/test_assignments.py``.  Adding a check: its row in
``nn_utils`` (a ``LayerSpec`` for a layer), its reference maths in
``autograder/reference/``, its name in ``reference.PUBLISHED``, then
``python -m autograder.reference``.  Adding a command: a module in ``commands/`` and
a row of ``cli.SUBCOMMANDS``.
"""

import sys

__all__ = ["UsageError"]

# With rfc3987-syntax installed, jsonschema compiles ~40 grammars on import (seconds of
# start-up for every grader and Dask worker); nbformat never validates IRIs, so keep it out.
sys.modules.setdefault("rfc3987_syntax", None)


class UsageError(Exception):
    """A wrong argument or a missing course file: reported as one line, exit status 2."""
