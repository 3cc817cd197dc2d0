"""Deciding test cells from what left the kernel, never from the kernel's own verdict.

``score.py`` scores one test cell (check records judged by ``autograder.reference``,
nbgrader's rules otherwise); ``expect_judge.py`` evaluates the reports of the asserts
that :mod:`autograder.assemble.rewrite` turned into reports.  The records are read
with :mod:`autograder.protocol`; what each cell must show is an
:class:`autograder.cells.TestCell`.  Nothing here imports :mod:`autograder.assemble`.
"""
