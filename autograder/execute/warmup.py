"""What kernels import before the student's code, and starting the fork server early.

The fork server (:mod:`.forkserver`) imports these modules once, so a kernel
forked from it starts in milliseconds instead of seconds.
"""
from __future__ import annotations

import re
import threading

from autograder.execute.kernels import fork_server

__all__ = ["KERNEL_MODULES", "preload_for", "warm_up"]

#: what every kernel imports while it starts (debugger included), and the checker
KERNEL_MODULES = ("numpy", "IPython", "IPython.core.completer", "ipykernel.kernelapp",
                  "ipykernel.ipkernel", "ipykernel.zmqshell", "ipykernel.comm",
                  "ipykernel.debugger", "debugpy.server.api", "tornado.ioloop", "nn_utils")

_TF_IMPORT = re.compile(r"^\s*(import|from)\s+tensorflow\b", re.M)


def preload_for(notebooks) -> list[str]:
    """The modules to preload for ``notebooks`` (source notebooks): TensorFlow too when a
    cell imports it (seconds saved per kernel; never imported when no cell needs it)."""
    preload = list(KERNEL_MODULES)
    if any(_TF_IMPORT.search(c.source) for nb in notebooks for c in nb.cells):
        preload.append("tensorflow")
    return preload


def warm_up(preload) -> None:
    """Start the fork server (seconds of imports) in the background, while the gradebook
    opens and the first payloads are built.

    A failed start is not reported here: the runner asks again and reports it then.
    """
    def start():
        try:
            fork_server(tuple(preload))
        except Exception:
            pass
    threading.Thread(target=start, name="fork-server-start", daemon=True).start()
