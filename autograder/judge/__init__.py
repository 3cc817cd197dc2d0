"""Deciding test cells from what left the kernel, never from the kernel's own verdict.

``score.py`` scores one test cell (check records judged by ``autograder.reference``,
nbgrader's rules otherwise); ``expect.py`` rewrites a test cell's asserts so the
kernel only reports their values; ``expect_judge.py`` evaluates those reports here.
"""
