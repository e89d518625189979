"""The DDP pitfalls of notebook 06 (resnet_lib.tools.ddp_demos), with two CPU processes."""

import json
import math
from pathlib import Path

import pytest
import torch

from resnet_lib.tools.ddp_demos import batchnorm_statistics, sampler_and_batchnorm
from resnet_lib.tools.shapes import make_shapes

ROOT = Path(__file__).resolve().parents[1]


def test_set_epoch_and_batchnorm_statistics():
    ranks = sampler_and_batchnorm(make_shapes(512, 10, image_size=16)[0].tensors[0], batches=(4, 64))
    never, every = ([r["orders"][flag] for r in ranks] for flag in (False, True))
    assert all(order == orders[0] for orders in never for order in orders)
    assert all(len({tuple(o) for o in orders}) == 3 for orders in every)
    for epoch in range(3):  # the two ranks split each epoch's indices between them
        assert sorted(every[0][epoch] + every[1][epoch]) == list(range(8))
    gaps = ranks[0]["gaps"]
    assert gaps == ranks[1]["gaps"] and gaps[4] > 2 * gaps[64] > 0


def test_identical_halves_have_no_gap():
    # The check can fail: if both processes see the same images, their mean is the global one.
    one = make_shapes(10, 10, image_size=16)[0].tensors[0][:1]
    ranks = batchnorm_statistics(one.expand(16, -1, -1, -1).clone(), batches=(4,))
    assert ranks[0][4] == pytest.approx(0.0, abs=1e-6)


def test_too_few_images_is_a_clear_error():
    with pytest.raises(ValueError, match="images"):
        batchnorm_statistics(torch.zeros(10, 3, 4, 4), batches=(8,))


def test_the_stored_warmup_runs_show_what_notebook_06_says():
    warm = json.loads((ROOT / "resnet_lib" / "measured" / "ddp_warmup.json").read_text())
    assert warm["lr"] == 0.1 * warm["global_batch"] / 128
    cold, warmed = warm["runs"]["0"], warm["runs"]["20"]
    assert len(cold["step_loss"]) == len(warmed["step_loss"]) == warm["epochs"] * warm["steps_per_epoch"]
    assert warmed["lr"][0] < warm["lr"] / 10 and cold["lr"][0] == warm["lr"]  # the warm-up, and none
    assert max(cold["val_acc"]) < 0.15 and warmed["val_acc"][-1] > 0.3
    assert cold["train_loss"][0] > math.log(10) + 1 > warmed["train_loss"][0]
