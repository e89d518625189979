"""Notebook 03's judges of the experiment's exercises (03.1, 03.2): the right answer passes,
each typical mistake is named, and nothing raises."""

import math

import pytest

from resnet_lib.checks import check
from resnet_lib.checks.core import EXERCISES
from resnet_lib.checks.nb03 import features_rms


@pytest.fixture(scope="module")
def rms():
    return {depth: features_rms(depth) for depth in (20, 56, 110)}


def test_the_prediction_passes_the_laws_of_the_table_and_names_the_others(rms, capsys):
    assert 1.5 < (rms[110] / rms[56]) ** 2 < 2.5  # the law the exercise rests on
    exponent = math.log(rms[56] / rms[20]) / math.log(3)
    assert 0.5 < exponent < 0.6  # near a square root
    assert check("03.1", rms[56] * math.sqrt(54 / 27))  # the square root, from the nearest depth
    assert check("03.1", rms[56] * 2**exponent)  # the power fitted through the two depths
    assert check("03.1", round(rms[56], 1) * 1.41)  # rounded on the way
    capsys.readouterr()
    for answer, named in (
        (2 * rms[56], "doubles the rms"),
        (2 * rms[56] - rms[20], "added resnet-20 -> 56's growth"),
        (rms[20] * math.sqrt(54 / 9), "scales resnet-20's rms"),
        (rms[56], "that is resnet-56's"),
        (rms[20], "the features shrink"),
        (20.0, "count the blocks"),
        (math.sqrt(54), "a variance of 1 per block"),
    ):
        assert check("03.1", answer) is False
        out = capsys.readouterr().out
        assert out.count("\n") == 1 and named in out.lower(), out


def test_the_prediction_refuses_laws_that_land_near_the_measurement(rms, capsys):
    """At 2x the blocks a log law, or the RMS growing by a constant step, comes within 17 %
    of the measured RMS: the judge compares with the laws of the table instead."""
    per_block = (rms[56] - rms[20]) / 18  # the RMS, not the variance, linear in the blocks
    log_blocks = rms[56] + (rms[56] - rms[20]) * math.log(2) / math.log(3)  # 9 -> 27 -> 54 blocks
    log_depth = rms[56] + (rms[56] - rms[20]) * math.log(110 / 56) / math.log(56 / 20)
    for wrong in (rms[56] + 27 * per_block, log_blocks, log_depth, rms[56] * 2**0.7, 4.7, 4.8):
        assert abs(wrong - rms[110]) < 0.17 * rms[110]  # near the measurement...
        assert check("03.1", wrong) is False, wrong  # ... and still refused
    capsys.readouterr()


def test_the_prediction_leaves_the_learners_random_state_alone():
    import random

    import numpy as np
    import torch

    def draw():
        return torch.rand(3).tolist(), random.random(), float(np.random.rand())

    for seed in (3, 4):
        torch.manual_seed(seed), random.seed(seed), np.random.seed(seed)
        expected = draw()
        torch.manual_seed(seed), random.seed(seed), np.random.seed(seed)
        threads = torch.get_num_threads()
        check("03.1", 5.0)
        assert draw() == expected and torch.get_num_threads() == threads


def test_the_diagnosis_squares_the_growth(capsys):
    right = EXERCISES["03.2"]  # the judge itself: its right answer is not on any page
    ok, message = right(1.0)
    assert not ok and "square the ratio" in message
    growths = [v for v in (10.0**k for k in range(1, 6))]
    passed = [g for g in growths if right(g)[0]]
    assert passed == []  # no round number passes by luck
    from resnet_lib.checks.nb03 import effective_step_drop

    drop = effective_step_drop()
    assert drop > 1000  # plain-56's first conv: its step collapsed
    assert check("03.2", drop) and check("03.2", round(drop, -2))
    capsys.readouterr()
    for answer, named in (
        (math.sqrt(drop), "so square it"),
        (1 / drop, "a fraction below 1"),
        (1 / math.sqrt(drop), "a fraction below 1"),
    ):
        assert check("03.2", answer) is False
        out = capsys.readouterr().out
        assert out.count("\n") == 1 and named in out, out


@pytest.mark.parametrize("exercise", ["03.1", "03.2"])
@pytest.mark.parametrize("answer", ["5", [5.0], float("nan"), True, object()])
def test_answers_of_the_wrong_type_get_one_line_and_no_exception(exercise, answer, capsys):
    assert check(exercise, answer) is False
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "Not yet" in out
