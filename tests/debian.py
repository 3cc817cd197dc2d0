"""Debian packages a slow test needs, installed by the test's own setup when missing (as root)."""
from __future__ import annotations

import os
import shutil
import subprocess
from typing import Callable, TypeVar

__all__ = ["ensure_package"]

T = TypeVar("T")


def ensure_package(package: str, locate: Callable[[], T | None]) -> T:
    """What ``locate()`` finds, after ``apt-get install package`` if it found nothing."""
    found = locate()
    if found is None and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", package]
        if subprocess.run(install, env=env, capture_output=True).returncode != 0:
            subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True)
            subprocess.run(install, env=env, capture_output=True, check=True)
        found = locate()
    if found is None:
        raise RuntimeError(f"{package} is not installed (apt-get install {package})")
    return found
