"""The training loop: it learns, its history has the documented shape, errors are clear."""

import math

import pytest
import torch
from torch import nn

from resnet_lib.cifar import cifar_resnet
from resnet_lib.data import make_loaders, make_shapes
from resnet_lib.training import evaluate, lr_at, train


def small_net(num_classes=10):
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, num_classes),
    )


@pytest.fixture(scope="module")
def loaders():
    train_set, val_set = make_shapes(640, 200, image_size=16, seed=0)
    return make_loaders(train_set, val_set, batch_size=32, seed=0)


def test_learns_the_generated_set(loaders):
    torch.manual_seed(0)
    model = small_net()
    history = train(model, *loaders, epochs=3, lr=0.1, progress=False)
    assert len(history["step_loss"]) == len(history["lr"]) == 3 * 20
    assert all(len(history[k]) == 3 for k in ("train_loss", "train_acc", "val_loss", "val_acc"))
    assert history["train_loss"][-1] < history["train_loss"][0] < math.log(10) + 0.2
    assert history["val_acc"][-1] > 0.25  # chance is 0.1
    assert evaluate(model, loaders[1]) == pytest.approx((history["val_loss"][-1], history["val_acc"][-1]))


def test_a_residual_net_learns_in_a_few_steps(loaders):
    torch.manual_seed(0)
    history = train(cifar_resnet(8), loaders[0], epochs=2, lr=0.02, progress=False)
    first, last = history["step_loss"][:5], history["step_loss"][-5:]
    assert sum(last) < sum(first)
    assert history["val_loss"] == []


def test_same_seed_same_history(loaders):
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        train_loader, val_loader = make_loaders(loaders[0].dataset, loaders[1].dataset, batch_size=32, seed=0)
        runs.append(train(small_net(), train_loader, val_loader, max_steps=5, progress=False))
    assert runs[0] == runs[1]


def test_max_steps_and_schedules():
    assert lr_at(0, 100, 0.1) == pytest.approx(0.1)
    assert lr_at(50, 100, 0.1) == pytest.approx(0.05)
    assert [lr_at(s, 100, 0.1, "step") for s in (49, 50, 75)] == pytest.approx([0.1, 0.01, 0.001])
    assert lr_at(0, 100, 0.1, "constant", warmup_steps=10) == pytest.approx(0.01)
    with pytest.raises(ValueError, match="schedule"):
        lr_at(0, 10, 0.1, "linear")


def test_max_steps_stops_early(loaders):
    history = train(small_net(), *loaders, epochs=5, max_steps=7, progress=False)
    assert len(history["step_loss"]) == 7 and len(history["val_acc"]) == 1


def test_errors_are_clear(loaders):
    with pytest.raises(ValueError, match="only 3 outputs"):
        train(small_net(num_classes=3), loaders[0], progress=False)
    with pytest.raises(ValueError, match="epochs"):
        train(small_net(), loaders[0], epochs=0)
    with pytest.raises(ValueError, match="lr"):
        train(small_net(), loaders[0], lr=0)
    tiny, val = make_shapes(10, 10, image_size=16)
    with pytest.raises(ValueError, match="no batches"):
        train(small_net(), make_loaders(tiny, val, batch_size=32)[0])
    with pytest.raises(FloatingPointError, match="smaller lr"):
        train(small_net(), loaders[0], lr=1e6, momentum=0.0, progress=False)
