"""Run each solution notebook in source/ once, as a student would, and print its wall time.

    .venv/bin/python bench/time_notebooks.py [ASSIGNMENT ...]

The kernel imports this checkout's nn_utils and plots with Agg; the time includes the
kernel's start and TensorFlow's import.  Issue target: every notebook under 60 s.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent


def time_notebook(path: Path) -> float:
    """Execute ``path`` in a fresh kernel (cwd = its folder); return the wall time in s."""
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*", help="default: every folder in source/")
    args = parser.parse_args(argv)
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    os.environ.setdefault("MPLBACKEND", "Agg")
    names = args.assignments or sorted(p.name for p in (ROOT / "source").iterdir() if p.is_dir())
    for name in names:
        for notebook in sorted((ROOT / "source" / name).glob("*.ipynb")):
            print(f"{name}/{notebook.name}: {time_notebook(notebook):.1f} s", flush=True)
    print(f"load average: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
