"""What every command shares: the one error convention (:func:`command`)."""
from __future__ import annotations

import functools
import sys

from autograder import UsageError

__all__ = ["command", "error_line"]


def error_line(exc: BaseException | str) -> int:
    """Print ``autograder: error: ...`` (one line) to stderr and return 2."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    print(f"autograder: error: {text}", file=sys.stderr)
    return 2


def command(main):
    """The one error convention of every command's ``main``: a :class:`UsageError`
    raised anywhere inside becomes one line on stderr and exit status 2, whether the
    command runs from the CLI or is called as a function."""
    @functools.wraps(main)
    def run(**kwargs) -> int:
        try:
            return int(main(**kwargs) or 0)
        except UsageError as exc:
            return error_line(exc)
    return run

