"""The generated image set, and the choice between it and CIFAR-10."""

import time

import pytest
import torch

from resnet_lib.tools import data
from resnet_lib.tools.data import SHAPE_CLASSES, image_data, make_loaders, make_shapes


def test_shapes_are_deterministic_balanced_and_normalised():
    train, val = make_shapes(200, 50, image_size=16, seed=3)
    again, _ = make_shapes(200, 50, image_size=16, seed=3)
    other, _ = make_shapes(200, 50, image_size=16, seed=4)
    x, y = train.tensors
    assert x.shape == (200, 3, 16, 16) and x.dtype == torch.float32 and y.dtype == torch.long
    assert torch.equal(x, again.tensors[0]) and torch.equal(y, again.tensors[1])
    assert not torch.equal(x, other.tensors[0])
    assert len(val) == 50 and set(y.tolist()) == set(range(len(SHAPE_CLASSES)))
    assert x.mean(dim=(0, 2, 3)).abs().max() < 1e-4
    assert (x.std(dim=(0, 2, 3)) - 1).abs().max() < 1e-3


def test_shapes_are_fast():
    start = time.perf_counter()
    make_shapes(5000, 1000, image_size=32)
    assert time.perf_counter() - start < 10


@pytest.mark.parametrize("kwargs", [{"image_size": 8}, {"n_train": 0}, {"noise": -1.0}, {"n_val": 2.5}])
def test_shapes_bad_arguments(kwargs):
    with pytest.raises((ValueError, TypeError)):
        make_shapes(**{"n_train": 10, "n_val": 10, **kwargs})


def test_offline_falls_back_quickly_and_says_so(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(data, "CIFAR10_HOST", "cifar.invalid")  # never resolves
    start = time.perf_counter()
    d = image_data(root=str(tmp_path), image_size=16, n_train=100, n_val=20, timeout=1.0)
    assert time.perf_counter() - start < 5
    assert d.name == "generated shapes" and len(d.train) == 100 and d.image_size == 16
    printed = capsys.readouterr().out.strip().splitlines()
    assert len(printed) == 1 and printed[0].startswith("Data: generated shapes (CIFAR-10 is not on disk")


def test_prefer_shapes_never_touches_the_network(monkeypatch, capsys):
    def fail(*args, **kwargs):
        raise AssertionError("network used")

    monkeypatch.setattr(data, "reachable", fail)
    d = image_data(prefer="shapes", image_size=16, n_train=30, n_val=10)
    assert d.name == "generated shapes"
    assert "as asked" in capsys.readouterr().out


def test_prefer_cifar10_offline_is_an_error(monkeypatch, tmp_path):
    monkeypatch.setattr(data, "reachable", lambda host, timeout: False)
    with pytest.raises(RuntimeError, match="neither"):
        image_data(prefer="cifar10", root=str(tmp_path))
    with pytest.raises(ValueError, match="prefer"):
        image_data(prefer="imagenet")


def test_loaders_are_seeded():
    train, val = make_shapes(64, 16, image_size=16)
    first = [y for _, y in make_loaders(train, val, batch_size=16, seed=1)[0]]
    second = [y for _, y in make_loaders(train, val, batch_size=16, seed=1)[0]]
    assert all(torch.equal(a, b) for a, b in zip(first, second)) and len(first) == 4


def _fake_cifar10(root, per_batch: int = 10) -> None:
    """CIFAR-10's folder layout and pickle format, with a few random 32x32 images per batch."""
    import pickle

    import numpy as np

    folder = root / data.CIFAR10_FOLDER
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {
            "data": rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8),
            "labels": [int(v) for v in rng.integers(0, 10, per_batch)],
        }
        (folder / name).write_bytes(pickle.dumps(batch))
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": [f"class {i}" for i in range(10)]}))


def test_cifar10_validation_is_held_out_of_the_training_set(monkeypatch, tmp_path, capsys):
    from torchvision import datasets

    _fake_cifar10(tmp_path)
    monkeypatch.setattr(datasets.cifar, "check_integrity", lambda path, md5=None: True)  # fake files: no md5s
    monkeypatch.setattr(data, "CIFAR10_TRAIN", 45)  # of the 50 fake training images, as 45k of 50k
    d = image_data(prefer="cifar10", root=str(tmp_path))
    assert (len(d.train), len(d.val), len(d.test)) == (45, 5, 10)
    assert d.train.indices == range(45) and d.val.indices == range(45, 50)  # disjoint, both from training
    assert d.test.train is False and d.val.dataset.train is True
    assert (
        "45 training / 5 validation (held out of the training set) / 10 test images"
        in capsys.readouterr().out
    )


def test_generated_set_has_no_test_split():
    assert image_data(prefer="shapes", image_size=16, n_train=30, n_val=10).test is None


def test_the_training_loader_shuffles_as_shuffle_true_did_and_can_resume():
    from torch.utils.data import DataLoader

    from resnet_lib.tools.sampler import ResumableSampler

    train, val = make_shapes(64, 16, image_size=16)
    loader = make_loaders(train, val, batch_size=16, seed=1)[0]
    before = DataLoader(train, 16, shuffle=True, generator=torch.Generator().manual_seed(1), drop_last=True)
    for _ in range(2):  # two epochs: the generator moves on alike
        assert all(torch.equal(a[1], b[1]) for a, b in zip(loader, before, strict=True))
    assert isinstance(loader.sampler, ResumableSampler)


@pytest.mark.parametrize(
    "call, error, argument",
    [
        (lambda: make_shapes(10, 10, image_size=True), TypeError, "image_size"),
        (lambda: make_shapes(10, 10, image_size=16, seed=-1), ValueError, "seed"),
        (lambda: make_loaders(None, [0]), TypeError, "train"),
        (lambda: make_loaders([0], [0], batch_size=0), ValueError, "batch_size"),
        (lambda: make_loaders([0], [0], seed=1.5), TypeError, "seed"),
        (lambda: make_loaders([0], [0], num_workers=-1), ValueError, "num_workers"),
        (lambda: image_data(prefer="imagenet"), ValueError, "prefer"),
        (lambda: image_data(prefer="shapes", root=3), TypeError, "root"),
        (lambda: image_data(prefer="shapes", image_size=0), ValueError, "image_size"),
        (lambda: image_data(prefer="shapes", n_val=-5), ValueError, "n_val"),
        (lambda: image_data(prefer="shapes", seed=True), TypeError, "seed"),
        (lambda: image_data(timeout=0), ValueError, "timeout"),
        (lambda: data.cifar10_available(timeout=-1.0), ValueError, "timeout"),
        (lambda: data.load_cifar10(download="yes"), ValueError, "download"),
    ],
)
def test_bad_arguments_are_named(call, error, argument):
    # The exception's type and the argument its message names, not the whole wording.
    with pytest.raises(error, match=argument):
        call()


def test_a_bad_augmentation_fails_at_its_first_image():
    # AugmentedDataset is shown to learners and checks nothing itself: PyTorch's errors name
    # the problem when the first image is drawn.
    images = [(torch.zeros(3, 8, 8), 0)]
    with pytest.raises(TypeError, match="pad"):
        data.AugmentedDataset(images, padding=1.0)[0]
    with pytest.raises(TypeError, match="len"):
        len(data.AugmentedDataset(3))
