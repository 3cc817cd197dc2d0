"""The ten checks that take the class: correct styles pass, each common bug fails, named."""
from __future__ import annotations

import numpy as np
import pytest
from row_variants import BUGGY, CORRECT
from teacher import verdict

import nn_utils

SEEDS = range(8)
_IDS = [row[1].__name__ for row in BUGGY]


@pytest.mark.parametrize("name,cls", [(n, c) for n, cs in CORRECT.items() for c in cs],
                         ids=lambda x: getattr(x, "__name__", x))
def test_correct_styles_pass_over_many_seeds(name, cls):
    for seed in SEEDS:
        result = verdict(name, cls, seed)
        assert result.ok, (seed, result.message)


@pytest.mark.parametrize("name,cls,bug,fragment,always", BUGGY, ids=_IDS)
def test_buggy_variant_fails_and_names_the_bug(name, cls, bug, fragment, always):
    failed = 0
    for seed in SEEDS:
        result = verdict(name, cls, seed)
        if result.ok and not always and seed:
            continue  # this plan's settings hide the bug (e.g. stride 1)
        assert not result.ok, (seed, result.message)
        assert result.bug == bug, (seed, result.message)
        assert fragment in result.message, result.message
        assert len(result.message.splitlines()) <= 6 and len(result.message) < 600
        failed += 1
    assert failed >= len(SEEDS) // 2


@pytest.mark.parametrize("name", sorted(CORRECT))
def test_the_students_check_passes_at_every_published_seed(name, capsys):
    check = getattr(nn_utils, f"check_{name}")
    for seed in (0, 1, 2, 3):
        check(CORRECT[name][0], seed=seed)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 4 and all(line.startswith(f"check_{name}: ") for line in lines)


@pytest.mark.parametrize("name,cls,bug,fragment,always", BUGGY, ids=_IDS)
def test_the_students_check_names_the_bug_at_seed_0(name, cls, bug, fragment, always):
    with pytest.raises(nn_utils.CheckFailed) as info:
        getattr(nn_utils, f"check_{name}")(cls, seed=0)
    assert fragment in str(info.value) and str(info.value).startswith(f"check_{name}: ")


def test_every_row_has_correct_styles_and_bugs():
    assert all(len(classes) >= 2 for classes in CORRECT.values())
    assert {row[0] for row in BUGGY} == set(CORRECT)
    assert len(BUGGY) >= 40


def test_dropout_is_judged_without_touching_the_students_generator():
    np.random.seed(5)
    before = np.random.get_state()[1].copy()
    from row_variants import DropoutGenerator
    assert verdict("dropout", DropoutGenerator, 0).ok
    assert np.array_equal(np.random.get_state()[1], before)  # the check did not seed it


def test_a_class_that_ignores_its_settings_fails_at_every_published_seed():
    from row_variants import Conv2DStrideIgnored, MaxPoolDefaults
    for name, cls in (("conv2d", Conv2DStrideIgnored), ("maxpool2d", MaxPoolDefaults)):
        assert not any(verdict(name, cls, seed).ok for seed in (0, 1, 2, 3))
