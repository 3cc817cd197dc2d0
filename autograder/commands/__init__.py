"""One module per ``autograder`` subcommand: arguments, the work, one summary.

Each has ``add_arguments(parser)`` and ``main(*, course=".", ...) -> int``
decorated with ``common.command`` (a ``UsageError`` becomes one line and exit
status 2); ``cli.SUBCOMMANDS`` lists them.  ``common.py`` holds what several
commands share (finding the course and its assignments, nbgrader's
generate_assignment, reading records).
"""
