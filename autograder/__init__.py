"""autograder: grade a whole class of nbgrader notebooks -- fast, in parallel, resumable.

Subcommands live in their own modules (``autograder.grade`` ...), each with
``add_arguments(parser)`` and ``main(*, course=".", ...) -> int``; see ``autograder.cli``.
"""

__all__ = ["UsageError"]


class UsageError(Exception):
    """A wrong argument or a missing course file: reported as one line, exit status 2."""
