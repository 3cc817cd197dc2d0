"""``autograder similarity`` on a synthetic class (tests/similarity_class.py) and its parts.

The class holds independent solutions in different styles, students who wrote
the canonical answers, planted copies (renamed, reformatted, reordered, split
and merged cells, comments and strings changed) and a pair that shares only a
rare wrong answer.  Every planted pair must rank above every independent one,
nobody who merely wrote the canonical answer may be listed, and the release and
the teacher's code never count.  The slow tests open the pages in a headless
Chromium with every request outside the page refused, and run the command after
a real ``autograder grade``.
"""
from __future__ import annotations

import csv
import dataclasses
import itertools
import json
import re
from pathlib import Path

import numpy as np
import pytest
import similarity_class as klass

from autograder.commands import similarity as command
from autograder.record import CellScore, Result, Status
from autograder.similarity import analyse
from autograder.similarity.answers import wrong_answers
from autograder.similarity.code import K, W, given_code, student_code
from autograder.similarity.code import _normalised as normalised
from autograder.similarity.code import _raw as raw
from autograder.similarity.pages import report_section
from autograder.similarity.rank import Pair, common_cut, groups, rank, weights

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    return klass.build(tmp_path_factory.mktemp("similarity") / "course")


@pytest.fixture(scope="module")
def everything(course):
    """The class compared with the lowest threshold: every pair that shares anything."""
    return analyse(course, klass.ASSIGNMENT, threshold=1e-9)


def _scores(analysis) -> dict[frozenset, float]:
    names = analysis.students
    return {frozenset((names[p.a], names[p.b])): p.score for p in analysis.pairs}


def _tokens(source: str) -> list[str]:
    tokens = raw(source)
    return normalised(tokens, set())


# --- the class ---------------------------------------------------------------------------

def test_every_planted_pair_ranks_above_every_independent_pair(everything):
    scores = _scores(everything)
    planted = [scores.get(pair, 0.0) for pair in klass.PLANTED]
    independent = [scores.get(frozenset(pair), 0.0)
                   for pair in itertools.combinations(klass.STUDENTS, 2)
                   if frozenset(pair) not in klass.PLANTED]
    assert min(planted) > max(independent), (min(planted), max(independent))
    # the planted pairs are found for the right reason
    by_pair = {frozenset((everything.students[p.a], everything.students[p.b])): p
               for p in everything.pairs}
    for pair in klass.PLANTED - {frozenset(("ind_d", "ind_e"))}:
        assert by_pair[pair].shared > 0.9 and not by_pair[pair].wrong, pair
    rare = by_pair[frozenset(("ind_d", "ind_e"))]
    assert rare.code < 0.1 and rare.answers >= 0.5
    assert [holders for _, holders in rare.wrong] == [2]


def test_default_threshold_lists_the_planted_pairs_only(course, capsys):
    assert command.main(course=str(course), assignment=klass.ASSIGNMENT) == 0
    out = capsys.readouterr().out
    assert "16 submissions, 6 pairs" in out and "1 group of three or more" in out
    assert not any(student in out for student in klass.STUDENTS)  # counts only, no names
    with open(course / "similarity" / klass.ASSIGNMENT / "pairs.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert {"student_a", "student_b", "score", "why"} <= set(rows[0])
    assert {frozenset((r["student_a"], r["student_b"])) for r in rows} == klass.PLANTED
    assert [float(r["score"]) for r in rows] == sorted((float(r["score"]) for r in rows),
                                                      reverse=True)
    why = {frozenset((r["student_a"], r["student_b"])): r["why"] for r in rows}
    assert "same wrong answer (no other submission gave it)" in why[frozenset(("ind_d", "ind_e"))]
    assert "d_bias[#]" in why[frozenset(("ind_d", "ind_e"))]
    assert why[frozenset(("ind_b", "copy_b"))].startswith("code: 100%")
    groups_of = {r["group"] for r in rows if r["group"]}
    assert groups_of == {"1"}
    assert {r["student_a"] for r in rows if r["group"]} | {r["student_b"] for r in rows
                                                           if r["group"]} == \
        {"ind_a", "copy_a1", "copy_a2"}


def test_canonical_answers_are_shared_but_not_flagged(course, everything):
    scores = _scores(everything)
    canonical = [frozenset(p) for p in itertools.combinations(klass.CANONICAL, 2)]
    # they do share code (np.dot, np.maximum(0, inputs), the chain of forward calls) ...
    assert sum(scores.get(pair, 0.0) > 0 for pair in canonical) >= 6
    # ... which counts for too little to list any of them
    listed = _scores(analyse(course, klass.ASSIGNMENT))
    assert not any(pair in listed for pair in canonical)
    # a wrong answer three of them share is no evidence either
    common = frozenset(("ind_f", "ind_g"))
    found = next(p for p in everything.pairs
                 if frozenset((everything.students[p.a], everything.students[p.b])) == common)
    assert [holders for _, holders in found.wrong] == [3] and found.answers < 0.2


def test_release_and_teacher_code_never_count(everything):
    codes = {code.student: code for code in everything.codes}
    for student in ("blank_1", "blank_2", "teacher_1", "teacher_2"):
        assert codes[student].lines == 0 and not codes[student].spans, student
    assert not any({everything.students[p.a], everything.students[p.b]}
                   & {"blank_1", "blank_2", "teacher_1", "teacher_2"} for p in everything.pairs)
    # ind_b writes the teacher's affine lines in another order: none of them is the student's
    affine = next(c for c in codes["ind_b"].cells if c.grade_id == "affine")
    assert not affine.own
    # the release's signature, docstring and stub are never the student's own
    own = {line.strip() for c in codes["ind_a"].cells for n, line in
           enumerate(c.source.split("\n"), 1) if n in c.own}
    assert "def forward(self, inputs, weight, bias):" not in own
    assert "out = np.dot(inputs, weight) + bias" in own


def test_pages_are_self_contained_and_escape_student_code(course):
    hostile = klass.build(course.parent / "hostile")
    path = hostile / "submitted" / "copy_b" / klass.ASSIGNMENT / f"{klass.ASSIGNMENT}.ipynb"
    nb = json.loads(path.read_text())
    nb["cells"].append({"cell_type": "code", "metadata": {}, "outputs": [],
                        "execution_count": None,
                        "source": "note = '</pre><script>alert(1)</script><img src=http://x/y>'"})
    path.write_text(json.dumps(nb))
    assert command.main(course=str(hostile), assignment=klass.ASSIGNMENT, pages=3) == 0
    out = hostile / "similarity" / klass.ASSIGNMENT
    pages = sorted(out.glob("pair-*.html"))
    assert [p.name for p in pages] == ["pair-0001.html", "pair-0002.html", "pair-0003.html"]
    for page in [out / "index.html", *pages]:
        text = page.read_text()
        assert not re.findall(r"<(?:script|img|link|iframe|object)\b|@import|url\(", text)
        assert all(ref.startswith(("pair-", "index.html")) for ref in re.findall(r"href='([^']*)'", text))
    page = next(p.read_text() for p in pages if "copy_b" in p.read_text())
    assert "&lt;script&gt;" in page
    assert page.count("<span class='m'") >= 10  # the matching lines are highlighted
    # fewer pages the next time: no page of the earlier run is left behind
    assert command.main(course=str(hostile), assignment=klass.ASSIGNMENT, pages=1) == 0
    assert [p.name for p in out.glob("pair-*.html")] == ["pair-0001.html"]


def test_report_section(course, tmp_path):
    similarity = course / "similarity" / klass.ASSIGNMENT
    report = course / "reports" / klass.ASSIGNMENT
    missing = report_section(tmp_path / "nowhere", report, klass.ASSIGNMENT)
    assert "autograder similarity backprop_numpy" in missing
    assert command.main(course=str(course), assignment=klass.ASSIGNMENT) == 0
    section = report_section(similarity, report, klass.ASSIGNMENT)
    assert "6 pairs" in section and "1 groups" not in section
    assert "href='../../similarity/backprop_numpy/index.html'" in section


def test_unreadable_submission_is_empty_not_fatal(tmp_path):
    root = klass.build(tmp_path / "course")
    (root / "submitted" / "ind_a" / klass.ASSIGNMENT / f"{klass.ASSIGNMENT}.ipynb").write_text("{")
    analysis = analyse(root, klass.ASSIGNMENT)
    assert next(c for c in analysis.codes if c.student == "ind_a").lines == 0
    assert frozenset(("copy_a1", "copy_a2")) in _scores(analysis)


def test_errors_are_one_line_exit_2(tmp_path, capsys):
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\n")
    (tmp_path / "source" / "a").mkdir(parents=True)
    (tmp_path / "source" / "a" / "a.ipynb").write_text(json.dumps(
        {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    for kwargs, text in [({"assignment": "a"}, "no submissions of 'a'"),
                         ({"assignment": "b"}, "has no notebook"),
                         ({"assignment": "a", "threshold": 0.0}, "--threshold"),
                         ({"assignment": "a", "pages": -1}, "--pages")]:
        assert command.main(course=str(tmp_path), **kwargs) == 2
        err = capsys.readouterr().err
        assert err.startswith("autograder: error: ") and text in err and err.count("\n") == 1


def test_cli_lists_the_command(capsys):
    from autograder.cli import SUBCOMMANDS, build_parser, main
    assert "similarity" in SUBCOMMANDS
    args = build_parser().parse_args(["similarity", "x", "--threshold", "0.5", "--pages", "3"])
    assert (args.assignment, args.threshold, args.pages) == ("x", 0.5, 3)
    assert main(["similarity", "x", "--threshold", "high"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("autograder: error: ") and err.count("\n") == 1
    with pytest.raises(SystemExit) as stop:
        main(["similarity", "--help"])
    assert stop.value.code == 0 and "usage: autograder similarity" in capsys.readouterr().out


# --- the parts ------------------------------------------------------------------------------

def test_normalisation_hides_renaming_reformatting_comments_and_strings():
    one = "total = np.sum(values, axis=0)  # add up\nname = 'first'\nresult = len(total) + 1\n"
    two = ("acc = np.sum(\n    xs,\n    axis = 0)\n# a comment of my own\nlabel = \"other\"\n"
           "out = len(acc) + 2\n")
    assert _tokens(one) == _tokens(two)
    # names a renaming cannot change are kept: they tell solutions apart
    assert _tokens("y = np.sum(x)") != _tokens("y = np.mean(x)")
    assert _tokens("y = x.sum(axis=0)") != _tokens("y = x.sum(keepdims=0)")
    assert "len" in _tokens("n = len(x)") and "len" not in _tokens("len = 3")


def test_tokens_of_broken_code_still_come():
    assert _tokens("y = f(x,\n") == ["V", "=", "V", "(", "V", ","]
    assert _tokens("  x = 1\n y = 2\n") == ["V", "=", "N", "V", "=", "N"]


def test_a_shared_run_of_the_guarantee_length_is_always_found():
    rng = np.random.default_rng(0)
    words = [f"np.f{i}(x)" for i in range(40)]
    for trial in range(20):
        shared = " + ".join(rng.choice(words, size=K + W))  # longer than K + W - 1 tokens
        a = "a = " + " * ".join(rng.choice(words, size=5)) + "\nb = " + shared + "\n"
        b = "c = " + shared + "\nd = " + " - ".join(rng.choice(words, size=7)) + "\n"
        empty = given_code([])
        x, y = (student_code(s, [("nb", None, text)], empty) for s, text in (("x", a), ("y", b)))
        assert set(x.spans) & set(y.spans), trial


def test_given_lines_and_kgrams_are_removed():
    template = ("def f(x):\n    \"\"\"Docstring.\"\"\"\n    # YOUR CODE HERE\n"
                "    raise NotImplementedError()\n    return out\n")
    solution = ("def f(x):\n    \"\"\"Docstring.\"\"\"\n"
                "    out = np.exp(x) / np.exp(x).sum(axis=0)\n    return out\n")
    given = given_code([template], [solution])
    teacher = student_code("t", [("nb", "f", solution)], given)
    assert teacher.lines == 0 and not teacher.spans
    # the teacher's line reformatted and renamed: not the same line, but every k-gram is given
    renamed = solution.replace("out = np.exp(x) / np.exp(x).sum(axis=0)",
                               "res = np.exp(x)/np.exp( x ).sum(axis = 0)").replace("out", "res")
    student = student_code("s", [("nb", "f", renamed)], given)
    assert student.lines > 0 and not student.spans
    # the release's own attributes (self.params) are everyone's: the teacher's update loop,
    # its names changed, is still the teacher's
    released = "class N:\n    def __init__(self):\n        self.params = {}\n"
    teacher = ("    def step(self, grads):\n        for name in self.params:\n"
               "            self.params[name] = self.params[name] - 0.1 * grads[name]\n")
    given = given_code([released], [released + teacher])
    mine = released + teacher.replace("name", "k").replace("grads", "g").replace("0.1", "0.5")
    assert not student_code("s", [("nb", None, mine)], given).spans


def test_wrong_answer_signatures_ignore_the_inputs():
    def record(message, bug="negated", status="ok"):
        return Result("s", "a", Status(status), tests=(CellScore(
            "t", "n", ok=False, check="affine", message=message, bug=bug),))
    a = wrong_answers(record("affine: d_bias is wrong\n  where:    d_bias[2] (3 of 3 entries)\n"
                             "  expected: 3.25\n  got:      -3.25"))
    b = wrong_answers(record("affine: d_bias is wrong\n  where:    d_bias[5] (7 of 7 entries)\n"
                             "  expected: -1.5\n  got:      1.5"))
    c = wrong_answers(record("affine: d_bias is wrong\n  where:    d_bias[5] (7 of 7 entries)\n"
                             "  expected: -1.5\n  got:      -15"))
    assert a.keys() == b.keys() and a.keys() != c.keys()
    assert "bug negated" in next(iter(a.values()))
    assert not wrong_answers(record("affine: forward raised\n  where: NotImplementedError: "))
    assert not wrong_answers(record("this test did not run", None))
    assert not wrong_answers(record("affine: d_bias is wrong", status="timeout"))


def test_weights_follow_rarity():
    n = 1000
    w = weights([1, 2, 5, common_cut(n), common_cut(n) + 1], n)
    assert w[1] == 1.0 and w[0] == 1.0 and 0 < w[3] < w[2] < 1.0 and w[4] == 0.0
    assert common_cut(100) == 10 and common_cut(5000) == 100


def test_rank_uses_only_what_pairs_share():
    fingerprints = [set(range(20)), set(range(20)), {50, 51}, {50, 52}, set()]
    pairs, frequency = rank(fingerprints, [{} for _ in fingerprints], threshold=0.01)
    assert [(p.a, p.b) for p in pairs] == [(0, 1), (2, 3)]
    assert pairs[0].shared == 1.0 and pairs[0].fingerprints == 20 and pairs[0].score > 0.8
    # half of a tiny submission shared is a large share but little evidence
    assert pairs[1].shared == 0.5 and pairs[1].score < 0.15
    assert frequency.weight(1) == 1.0 and frequency.weight(99) == 0.0


def test_groups_are_connected_components_of_three_or_more():
    pairs = [Pair(0, 1), Pair(1, 2), Pair(5, 6), Pair(7, 8), Pair(8, 9), Pair(9, 7)]
    assert groups(pairs) == [[0, 1, 2], [7, 8, 9]]
    assert [p.group for p in pairs] == [0, 0, None, 1, 1, 1]


# --- slow: a browser, and a real grading ---------------------------------------------------

@pytest.mark.slow
def test_pages_open_offline_in_chromium(tmp_path):
    from browser import SCREENSHOTS, chromium

    from autograder.commands import report
    root = klass.build(tmp_path / "course")
    assert command.main(course=str(root), assignment=klass.ASSIGNMENT) == 0
    assert report.main(course=str(root), assignment=klass.ASSIGNMENT) == 0
    out = root / "similarity" / klass.ASSIGNMENT
    SCREENSHOTS.mkdir(exist_ok=True)
    refused = []
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        # anything but the page's own files is refused and recorded: the pages must not need it
        page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:")
                   else (refused.append(route.request.url), route.abort()))
        page.goto((root / "reports" / klass.ASSIGNMENT / "index.html").as_uri())
        assert "6 pairs of submissions" in page.locator("body").inner_text()
        page.click("text=the similarity page")
        page.wait_for_load_state()
        assert page.url == (out / "index.html").as_uri()
        assert page.locator("h2", has_text="Groups").is_visible()
        page.screenshot(path=str(SCREENSHOTS / "similarity-index.png"), full_page=True)
        page.locator("a", has_text="side by side").first.click()
        page.wait_for_load_state()
        assert page.locator("span.m").count() > 10 and page.locator("span.m").first.is_visible()
        columns = page.locator(".side").evaluate_all("els => els.map(e => e.getBoundingClientRect().x)")
        assert len(columns) == 2 and columns[0] < columns[1]  # side by side, not stacked
        page.screenshot(path=str(SCREENSHOTS / "similarity-pair.png"), full_page=False)
    assert not refused, refused


@pytest.mark.slow
def test_after_a_real_grading(tmp_path, capsys, monkeypatch):
    """Grade four students of the small fixture course, then compare them: the two with the
    same bug (whose code differs from the teacher's by one short line) are the one pair."""
    from autograder import demo_class
    from autograder.cli import main
    from autograder.commands import demo
    relu_bug = next(b for b in demo_class.BUGS if b.id == "relu_ignores_d_out")
    monkeypatch.setattr(demo_class, "BUGS", (dataclasses.replace(relu_bug, assignment="tiny"),))
    kinds = ["solution", "bug:relu_ignores_d_out", "bug:relu_ignores_d_out", "blank"]
    dest = tmp_path / "class"
    assert demo.main(course=str(REPO / "tests" / "fixtures" / "course"), directory=str(dest),
                     assignments=["tiny"], kinds=kinds, workers=2) == 0
    capsys.readouterr()
    assert main(["--course", str(dest), "similarity", "tiny"]) == 0
    assert "4 submissions, 1 pair at" in capsys.readouterr().out
    with open(dest / "similarity" / "tiny" / "pairs.csv", newline="") as fh:
        (row,) = list(csv.DictReader(fh))
    assert (row["student_a"], row["student_b"]) == ("s02", "s03")
    from autograder.store import read_record
    (bug,) = {t.bug for t in read_record(dest, "s02", "tiny").tests if t.bug}
    assert f"same wrong answer (no other submission gave it): tiny/test_relu: bug {bug}" in row["why"]
