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
        nn.Conv2d(3, 16, 3, padding=1, bias=False),
        nn.BatchNorm2d(16),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1, bias=False),
        nn.BatchNorm2d(32),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(32, num_classes),
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


# ---------------------------------------------------------------- checkpoints and resuming

from resnet_lib.training import AugmentedDataset, load_checkpoint, save_checkpoint  # noqa: E402


def _fresh_run(dataset_pair, **kwargs):
    """Seeded model and loaders, trained with `kwargs`: the same batches every call."""
    torch.manual_seed(0)
    train_set, val_set = dataset_pair
    train_loader, val_loader = make_loaders(
        AugmentedDataset(train_set, padding=2), val_set, batch_size=32, seed=0
    )
    model = small_net()
    history = train(
        model, train_loader, val_loader, epochs=2, lr=0.05, schedule="step", progress=False, **kwargs
    )
    return model, history


@pytest.fixture(scope="module")
def shapes():
    return make_shapes(320, 64, image_size=16, seed=1)  # 10 steps of 32 per epoch


def test_checkpoint_round_trip(tmp_path):
    torch.manual_seed(0)
    model = small_net()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.randn(4, 3, 16, 16)).sum().backward()
    optimizer.step()  # so that the optimizer has momentum buffers
    path = save_checkpoint(tmp_path / "sub" / "ckpt.pt", model, optimizer, step=7, history={"loss": [1.5]})
    assert path.is_file() and not list(path.parent.glob("*.partial"))
    raw = torch.load(path, weights_only=True)  # plain tensors and containers only
    assert raw["step"] == 7 and raw["history"] == {"loss": [1.5]}

    torch.manual_seed(1)
    other = small_net()
    other_optimizer = torch.optim.SGD(other.parameters(), lr=0.1, momentum=0.9)
    loaded = load_checkpoint(path, other, other_optimizer)
    assert loaded["step"] == 7
    for a, b in zip(model.state_dict().values(), other.state_dict().values()):
        assert torch.equal(a, b)
    assert other_optimizer.state_dict()["state"][0]["momentum_buffer"].equal(
        optimizer.state_dict()["state"][0]["momentum_buffer"]
    )


def test_checkpoint_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        load_checkpoint(tmp_path / "missing.pt")
    torch.save({"weights": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a checkpoint"):
        load_checkpoint(tmp_path / "other.pt")
    path = save_checkpoint(tmp_path / "c.pt", small_net())
    with pytest.raises(RuntimeError, match="Missing key|Unexpected key|size mismatch"):
        load_checkpoint(path, small_net(num_classes=3))
    with pytest.raises(ValueError, match="no optimizer"):
        model = small_net()
        load_checkpoint(path, model, torch.optim.SGD(model.parameters(), lr=0.1))


@pytest.mark.parametrize("stop", [6, 10, 13])  # mid-epoch, at an epoch's end, in the second epoch
def test_resume_continues_where_it_stopped(shapes, tmp_path, stop):
    straight, straight_history = _fresh_run(shapes)
    path = tmp_path / "run.pt"
    _, first = _fresh_run(shapes, stop_at_step=stop, checkpoint=path)
    assert len(first["step_loss"]) == stop and load_checkpoint(path)["step"] == stop
    torch.manual_seed(123)  # whatever happened in between: the checkpoint restores the random state
    resumed, history = _fresh_run(shapes, resume_from=path, checkpoint=path)
    assert history == straight_history  # the same losses, learning rates and epoch figures
    for a, b in zip(straight.state_dict().values(), resumed.state_dict().values()):
        assert torch.equal(a, b)
    assert load_checkpoint(path)["step"] == 20  # saved again at the end


def test_resume_refuses_another_schedule(shapes, tmp_path):
    path = tmp_path / "run.pt"
    _fresh_run(shapes, stop_at_step=3, checkpoint=path)
    with pytest.raises(ValueError, match="same loader"):
        _fresh_run(shapes, resume_from=path, max_steps=15)
    with pytest.raises(ValueError, match="stop_at_step"):
        _fresh_run(shapes, stop_at_step=0)


def test_augmentation_keeps_shapes_and_labels(shapes):
    torch.manual_seed(0)
    augmented = AugmentedDataset(shapes[0], padding=4)
    image, label = augmented[3]
    assert image.shape == shapes[0][3][0].shape and label == shapes[0][3][1]
    assert not all(torch.equal(augmented[3][0], shapes[0][3][0]) for _ in range(5))  # random crops/flips
    assert torch.equal(AugmentedDataset(shapes[0], padding=0, flip=False)[3][0], shapes[0][3][0])
    with pytest.raises(ValueError, match="padding"):
        AugmentedDataset(shapes[0], padding=-1)
