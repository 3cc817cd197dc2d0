"""One module per ``autograder`` subcommand: arguments, the work, one summary.

Each has ``add_arguments(parser)`` and ``main(*, course=".", ...) -> int``
decorated with ``common.command`` (a ``UsageError`` becomes one line and exit
status 2); ``cli.SUBCOMMANDS`` lists them.  ``common.py`` holds the one error
convention they share; finding the course and its assignments is
:mod:`autograder.course`'s, reading result records :mod:`autograder.store`'s.
"""
