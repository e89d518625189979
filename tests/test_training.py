"""The training loop: it learns, its history has the documented shape, errors are clear."""

import math
import re

import numpy as np
import pytest
import torch
from torch import nn

from resnet_lib.cifar import cifar_resnet
from resnet_lib.schedule import lr_at
from resnet_lib.tools.data import make_loaders, make_shapes
from resnet_lib.training import evaluate, train


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
    with pytest.raises(ValueError, match="num_classes"):
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

from resnet_lib.tools.checkpoint import load_checkpoint, save_checkpoint  # noqa: E402
from resnet_lib.tools.data import AugmentedDataset  # noqa: E402


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


# ---------------------------------------------------------------- bad input, named clearly


def _tiny_loaders():
    from resnet_lib.tools.data import make_loaders, make_shapes

    train_set, val_set = make_shapes(64, 32, image_size=16)
    return make_loaders(train_set, val_set, batch_size=32)


@pytest.mark.parametrize(
    "kwargs, error, argument",
    [
        (dict(device="gpu"), ValueError, "device"),
        (dict(device=0.5), TypeError, "device"),
        (dict(max_steps=0), ValueError, "max_steps"),
        (dict(max_steps=-3), ValueError, "max_steps"),
        (dict(lr=True), TypeError, "lr"),
        (dict(lr=float("nan")), ValueError, "lr"),
        (dict(schedule="linear"), ValueError, "schedule"),
        (dict(amp=1), TypeError, "amp"),
        (dict(warmup_steps=-1), ValueError, "warmup_steps"),
        (dict(epochs=2.0), TypeError, "epochs"),
        (dict(momentum=-0.1), ValueError, "momentum"),
        (dict(weight_decay="1e-4"), TypeError, "weight_decay"),
        (dict(progress="no"), TypeError, "progress"),
        (dict(stop_at_step=0), ValueError, "stop_at_step"),
        (dict(stop_at_step=True), TypeError, "stop_at_step"),
        (dict(stop_at_step=99), ValueError, "stop_at_step"),
        (dict(on_epoch_end="print"), TypeError, "on_epoch_end"),
        (dict(val_loader=[1, 2]), TypeError, "val_loader"),
    ],
)
def test_train_refuses_bad_arguments_before_training(kwargs, error, argument):
    from resnet_lib import cifar_resnet
    from resnet_lib.training import train

    model = cifar_resnet(20)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    train_loader, val_loader = _tiny_loaders()
    kwargs = {"progress": False, "val_loader": val_loader, **kwargs}
    with pytest.raises(error, match=re.escape(argument)):
        train(model, train_loader, **kwargs)
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())  # nothing trained


def test_evaluate_a_model_without_parameters_needs_a_device():
    from resnet_lib.training import evaluate

    with pytest.raises(ValueError, match="Flatten has no parameters.*device="):
        evaluate(torch.nn.Flatten(), _tiny_loaders()[1])


def test_a_negative_label_is_named():
    from resnet_lib import cifar_resnet
    from resnet_lib.training import train

    images = torch.randn(32, 3, 16, 16)
    labels = torch.full((32,), -1)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(images, labels), batch_size=32)
    with pytest.raises(ValueError, match=r"labels must be class indices 0\.\.9, got -1"):
        train(cifar_resnet(20), loader, progress=False)


@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_a_damaged_checkpoint_is_a_clear_error(tmp_path, damage):
    from resnet_lib import cifar_resnet
    from resnet_lib.tools.checkpoint import load_checkpoint, save_checkpoint

    path = save_checkpoint(tmp_path / "c.pt", cifar_resnet(20))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] if damage == "truncate" else b"not a checkpoint at all")
    with pytest.raises(ValueError, match="cannot be read as a checkpoint .* truncated or corrupted") as error:
        load_checkpoint(path)
    assert "weights_only" not in str(error.value)  # torch's advice to unpickle anyway is wrong here


def test_image_data_refuses_zero_images_and_make_shapes_nan_noise():
    from resnet_lib.tools.data import image_data, make_shapes

    with pytest.raises(ValueError, match="n_train must be a positive int, got 0"):
        image_data(prefer="shapes", n_train=0)
    with pytest.raises(ValueError, match="noise must be a finite number >= 0, got nan"):
        make_shapes(10, 10, image_size=16, noise=float("nan"))


@pytest.mark.parametrize(
    "x, message",
    [
        (
            torch.zeros(2, 3, 16, 16, dtype=torch.long),
            "expected floating-point images, got dtype torch.int64",
        ),
        (
            torch.zeros(2, 3, 16, 16, dtype=torch.float64),
            "the images are torch.float64 but the model's weights",
        ),
        (np.zeros((2, 3, 16, 16), dtype=np.float32), "expected a torch.Tensor of images, got ndarray"),
    ],
)
def test_model_inputs_of_the_wrong_kind_are_named(x, message):
    from resnet_lib import cifar_resnet, resnet18

    for model in (cifar_resnet(20), resnet18()):
        with pytest.raises(TypeError, match=re.escape(message)):
            model(x)
