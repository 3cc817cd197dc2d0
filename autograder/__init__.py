"""autograder: grade a whole class of nbgrader notebooks -- fast, in parallel, resumable.

Subcommands live in their own modules (``autograder.commands.grade`` ...), each with
``add_arguments(parser)`` and ``main(*, course=".", ...) -> int``; see ``autograder.cli``.
"""

import sys

__all__ = ["UsageError"]

# With rfc3987-syntax installed, jsonschema compiles ~40 grammars on import (seconds of
# start-up for every grader and Dask worker); nbformat never validates IRIs, so keep it out.
sys.modules.setdefault("rfc3987_syntax", None)


class UsageError(Exception):
    """A wrong argument or a missing course file: reported as one line, exit status 2."""
