"""The ``autograder`` command line: one subcommand per module, dispatched from a table.

Adding a subcommand is adding a row to ``SUBCOMMANDS``; the module provides
``add_arguments(parser)`` and ``main(*, course=".", ...) -> int``.  Options a user
does not give are left out, so each ``main``'s keyword defaults are the only ones.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from autograder import UsageError

__all__ = ["SUBCOMMANDS", "build_parser", "main"]

# name -> (module, one-line help)
SUBCOMMANDS = {
    "grade": ("autograder.commands.grade", "grade every submission of an assignment"),
    "release": ("autograder.commands.release", "generate the student notebooks and check they grade right"),
    "collect": ("autograder.commands.collect", "file an LMS download of submissions into submitted/"),
    "report": ("autograder.commands.report", "write a class report (HTML and PNG charts)"),
    "similarity": ("autograder.commands.similarity",
                   "rank pairs of submissions that share rare code or rare wrong answers"),
    "export": ("autograder.commands.export",
               "write grades.csv again from the gradebook (manual grades included)"),
    "demo": ("autograder.commands.demo", "build, grade and report a demo class"),
}


class _Parser(argparse.ArgumentParser):
    """argparse that reports a wrong argument as one line and exit status 2."""

    def error(self, message: str):
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every subcommand's options."""
    parser = _Parser(prog="autograder", description="Grade a class of nbgrader notebooks: "
                     "in parallel, resumably, on one machine or a Dask cluster.",
                     argument_default=argparse.SUPPRESS)
    parser.add_argument("--course", metavar="DIR",
                        help="the nbgrader course directory (default: the current directory)")
    subparsers = parser.add_subparsers(dest="command", metavar="SUBCOMMAND", parser_class=_Parser)
    for name, (module, help_text) in SUBCOMMANDS.items():
        sub = subparsers.add_parser(name, help=help_text, description=help_text,
                                    argument_default=argparse.SUPPRESS)
        importlib.import_module(module).add_arguments(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv``, run the subcommand, return its exit status."""
    try:
        args = vars(build_parser().parse_args(argv))
        command = args.pop("command", None)
        if command is None:
            raise UsageError(f"choose a subcommand: {', '.join(SUBCOMMANDS)} (see --help)")
        return int(importlib.import_module(SUBCOMMANDS[command][0]).main(**args) or 0)
    except UsageError as exc:
        print(f"autograder: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("autograder: interrupted", file=sys.stderr)
        return 130
