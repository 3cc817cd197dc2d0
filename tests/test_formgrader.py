"""Manual grading end to end, in a real browser: grade, formgrader, export.

After ``autograder grade``, nbgrader's formgrader (a real Jupyter server with
nbgrader's server extension, on loopback) must list every submission and open
each written answer the grader flagged for a person.  A headless Chromium
(Debian's, driven by Playwright) enters a score and a comment as a grader would;
``autograder export`` then shows the score in ``grades.csv``.  The same browser
takes screenshots of the grading page and of one student's feedback page, left
in ``test-artifacts/``.
"""
from __future__ import annotations

import contextlib
import csv
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from browser import SCREENSHOTS, chromium
from pages import text_of
from test_nbgrader_parity import autograder, graded_fixture_course

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def formgrader(course: Path, scratch: Path):
    """A Jupyter server in ``course`` with nbgrader's formgrader; yields (base URL, token)."""
    port, token = _free_port(), secrets.token_hex(16)
    config = scratch / "jupyter_server_config.py"
    config.write_text(
        "c = get_config()\n"
        "c.ServerApp.jpserver_extensions = {'nbgrader.server_extensions.formgrader': True}\n"
        f"c.IdentityProvider.token = {token!r}\nc.ServerApp.ip = '127.0.0.1'\n"
        f"c.ServerApp.port = {port}\nc.ServerApp.open_browser = False\n"
        f"c.ServerApp.root_dir = {str(course)!r}\n")
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(scratch / "runtime"),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    server = subprocess.Popen([sys.executable, "-m", "jupyter", "server", f"--config={config}",
                               "--allow-root"], cwd=course, env=env,
                              stdout=subprocess.DEVNULL, stderr=open(scratch / "server.log", "w"))
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                request = urllib.request.Request(f"{base}/api/status",
                                                 headers={"Authorization": f"token {token}"})
                with urllib.request.urlopen(request, timeout=2):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the Jupyter server did not start: "
                                       + (scratch / "server.log").read_text()[-2000:]) from None
                time.sleep(0.3)
        yield base, token
    finally:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()


def _csv(course: Path) -> dict:
    with open(course / "grades.csv", newline="") as fh:
        return {r["student_id"]: r for r in csv.DictReader(fh)}


def test_a_grader_scores_a_written_answer_in_formgrader_and_export_shows_it(tmp_path):
    from nbgrader.api import Gradebook
    course = graded_fixture_course(tmp_path / "course")
    before = float(_csv(course)["changed"]["raw_score"])
    SCREENSHOTS.mkdir(exist_ok=True)
    with formgrader(course, tmp_path) as (base, token), chromium() as browser:
        context = browser.new_context(extra_http_headers={"Authorization": f"token {token}"},
                                      viewport={"width": 1280, "height": 1000})
        page = context.new_page()
        page.goto(f"{base}/formgrader/gradebook/ps1/p1")
        page.wait_for_selector("table tbody tr td a", timeout=30_000)
        listed = page.locator("table tbody tr td.name a.name-shown").all_inner_texts()
        assert sorted(listed) == sorted(p.name for p in (course / "submitted").iterdir())
        page.click("text=Show All Names")
        page.locator("a.name-shown").filter(has_text=re.compile(r"^changed$")).click()
        page.wait_for_selector("input#baz.score", timeout=30_000)
        with page.expect_response(lambda r: "/formgrader/api/grade/" in r.url  # a busy machine
                                  and r.request.method == "PUT", timeout=90_000) as saved:
            page.fill("input#baz.score", "2")
            page.press("input#baz.score", "Tab")
        assert saved.value.ok
        with page.expect_response(lambda r: "/formgrader/api/comment/" in r.url
                                  and r.request.method == "PUT", timeout=90_000) as commented:
            page.fill("textarea#baz-comment", "A clear argument.")
            page.press("textarea#baz-comment", "Tab")
        assert commented.value.ok
        page.screenshot(path=str(SCREENSHOTS / "formgrader-grading.png"), full_page=True)
        feedback = course / "feedback" / "changed" / "ps1" / "p1.html"
        page.goto(feedback.as_uri())
        page.screenshot(path=str(SCREENSHOTS / "feedback-changed.png"), full_page=True)
        assert "graded automatically" in page.locator("body").inner_text()
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        assert gb.find_grade("baz", "p1", "ps1", "changed").manual_score == 2.0
        assert gb.find_comment("baz", "p1", "ps1", "changed").manual_comment == "A clear argument."
    autograder(course, "export", "ps1")
    row = _csv(course)["changed"]
    assert float(row["raw_score"]) == before + 2.0 and float(row["score"]) == before + 2.0
    assert "A clear argument." not in text_of(feedback.read_text())  # feedback is from grading
