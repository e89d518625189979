"""The batched tensor pipeline (resnet_lib.tools.gpu_data): the same crops as the per-image path,
seeded, resumable; and the data benchmark's command line."""

import json
import subprocess
import sys

import pytest
import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import Subset, TensorDataset

from resnet_lib.tools.benchmark.data_bench import cifar_like, compare_pipelines, step_breakdown
from resnet_lib.tools.data import AugmentedDataset, make_shapes
from resnet_lib.tools.gpu_data import TensorImages, tensor_images, tensor_loader
from resnet_lib.training import train

MEAN, STD = (0.5, 0.4, 0.3), (0.25, 0.2, 0.3)


def coded_image(size: int = 32) -> torch.Tensor:
    """(1, 3, size, size) uint8 whose channel 0 is 10 + row and channel 1 is 10 + column."""
    rows = torch.arange(size).view(-1, 1).expand(size, size)
    image = torch.stack([10 + rows, 10 + rows.T, torch.full((size, size), 50)])
    return image.to(torch.uint8).unsqueeze(0)


def normalised(images: torch.Tensor) -> torch.Tensor:
    mean, std = torch.tensor(MEAN).view(1, 3, 1, 1), torch.tensor(STD).view(1, 3, 1, 1)
    return (images.float() / 255 - mean) / std


def reference_crop(image: torch.Tensor, top: int, left: int, flip: bool, p: int = 4) -> torch.Tensor:
    """The per-image path's operations (AugmentedDataset): pad the normalised image, slice, flip."""
    h, w = image.shape[-2:]
    crop = F.pad(image, (p, p, p, p))[..., top : top + h, left : left + w]
    return crop.flip(-1) if flip else crop


def test_each_crop_is_the_padded_images_crop_for_every_offset_and_flip():
    pixels = torch.randint(0, 256, (1, 3, 32, 32), dtype=torch.uint8)
    images = TensorImages(pixels, torch.zeros(1), MEAN, STD, padding=4)
    for top in range(9):
        for left in range(9):
            for flip in (False, True):
                crop = images.augment(torch.tensor([0]), torch.tensor([[top, left]]), torch.tensor([flip]))
                expected = reference_crop(normalised(pixels), top, left, flip)
                assert torch.allclose(crop, expected, atol=1e-5), (top, left, flip)


def decode(outputs: torch.Tensor) -> list[tuple[int, int, bool]]:
    """(top, left, flip) of crops of `coded_image`, read from their pixels and then checked whole."""
    pixels = (outputs * torch.tensor(STD).view(1, 3, 1, 1) + torch.tensor(MEAN).view(1, 3, 1, 1)) * 255
    pixels = pixels.round().long()
    image = normalised(coded_image())
    found = []
    for out, px in zip(outputs, pixels):
        # The centre pixel is always inside the image (offsets are at most 4).
        flip = bool(px[1, 16, 17] < px[1, 16, 16])
        top = int(px[0, 16, 16]) - 10 - 16 + 4
        left = int(px[1, 16, 16]) - 10 - (15 if flip else 16) + 4
        assert torch.allclose(out, reference_crop(image, top, left, flip)[0], atol=1e-5)
        found.append((top, left, flip))
    return found


def chi_square_uniform(draws: list[tuple[int, int, bool]], cells: int = 162) -> float:
    counts = torch.zeros(9, 9, 2)
    for top, left, flip in draws:
        counts[top, left, int(flip)] += 1
    expected = len(draws) / cells
    return float(((counts - expected) ** 2 / expected).sum())


# The 99.9 % quantile of a chi-square with 161 degrees of freedom (Wilson-Hilferty): 222.
CHI2_161_999 = 222.0


def test_crops_and_flips_have_the_per_image_paths_distribution():
    draws = 162 * 50
    torch.manual_seed(0)
    new = TensorImages(coded_image(), torch.zeros(1, dtype=torch.long), MEAN, STD, padding=4)
    new_draws = decode(new.__getitems__([0] * draws)[0])
    old = AugmentedDataset(TensorDataset(normalised(coded_image()), torch.zeros(1)), padding=4)
    old_draws = decode(torch.stack([old[0][0] for _ in range(draws)]))
    for found in (new_draws, old_draws):
        assert len(set(found)) == 162  # every offset in [-4, 4]^2, flipped or not
        assert chi_square_uniform(found) < CHI2_161_999
        flips = sum(f for _, _, f in found) / draws
        assert abs(flips - 0.5) < 0.02


def test_the_uniformity_check_rejects_a_biased_crop():
    # An off-by-one (offsets 0..7, never 8) or a flip that is too rare: both fail the test above.
    g = torch.Generator().manual_seed(0)

    def draws(high: int, p_flip: float) -> list[tuple[int, int, bool]]:
        tops, lefts = torch.randint(0, high, (2, 8100), generator=g).tolist()
        flips = (torch.rand(8100, generator=g) < p_flip).tolist()
        return list(zip(tops, lefts, flips))

    short, rare_flip = draws(8, 0.5), draws(9, 0.45)
    assert chi_square_uniform(short) > CHI2_161_999
    assert chi_square_uniform(rare_flip) > CHI2_161_999


def test_cifar_pixels_match_torchvisions_transforms():
    dataset = cifar_like(40)
    subset = Subset(Subset(dataset, range(5, 40)), [3, 0, 7])
    images = tensor_images(subset, padding=0, flip=False)
    x, y = images.__getitems__([0, 1, 2])
    expected = torch.stack([subset[i][0] for i in range(3)])
    assert torch.allclose(x, expected, atol=1e-5)
    assert y.tolist() == [subset[i][1] for i in range(3)]


def test_generated_images_are_kept_within_a_quantisation_step():
    train_set, _ = make_shapes(50, 10, image_size=16)
    images = tensor_images(train_set, padding=0, flip=False)
    x, y = images.__getitems__(list(range(50)))
    span = train_set.tensors[0].amax(dim=(0, 2, 3)) - train_set.tensors[0].amin(dim=(0, 2, 3))
    assert ((x - train_set.tensors[0]).abs().amax(dim=(0, 2, 3)) <= span / 255 / 2 + 1e-5).all()
    assert torch.equal(y, train_set.tensors[1])


def batches(loader, epoch: int = 0):
    loader.sampler.set_epoch(epoch)
    return [(x.clone(), y.clone()) for x, y in loader]


def same(a, b) -> bool:
    return all(torch.equal(x1, x2) and torch.equal(y1, y2) for (x1, y1), (x2, y2) in zip(a, b))


def test_seeded_per_rank_and_epoch():
    images = tensor_images(make_shapes(64, 10, image_size=16)[0])

    def run(rank: int, epoch: int):
        torch.manual_seed(100 + rank)  # train_cifar's seed per rank
        loader = tensor_loader(images, 8, seed=0, rank=rank, world_size=2)
        for e in range(epoch):
            batches(loader, e)
        return batches(loader, epoch)

    assert same(run(0, 0), run(0, 0)) and same(run(1, 1), run(1, 1))  # deterministic
    assert not same(run(0, 0), run(1, 0))  # ranks differ
    assert not same(run(0, 0), run(0, 1))  # epochs differ
    # The same images in another order and with other crops: the ranks share the epoch without overlap.
    torch.manual_seed(0)
    seen = [y for rank in (0, 1) for _, y in batches(tensor_loader(images, 8, rank=rank, world_size=2))]
    assert len(torch.cat(seen)) == 64


def test_same_indices_with_another_seed_get_other_crops():
    images = tensor_images(make_shapes(64, 10, image_size=16)[0])
    torch.manual_seed(0)
    a = images.__getitems__(list(range(64)))[0]
    torch.manual_seed(1)
    b = images.__getitems__(list(range(64)))[0]
    assert not torch.equal(a, b)


def tiny_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.Flatten(), nn.LazyLinear(10))


def test_an_interrupted_run_resumes_exactly(tmp_path):
    images = tensor_images(make_shapes(96, 10, image_size=16)[0])
    common = dict(epochs=2, lr=0.05, progress=False, device="cpu")

    def fit(**extra):
        model = tiny_model()
        model(torch.zeros(1, 3, 16, 16))  # materialise the lazy layer
        torch.manual_seed(7)
        history = train(model, tensor_loader(images, 16, seed=3), **common, **extra)
        return model, history

    straight, h1 = fit()
    fit(checkpoint=tmp_path / "run.pt", stop_at_step=4)  # mid-epoch (6 steps per epoch)
    resumed, h2 = fit(checkpoint=tmp_path / "run.pt", resume_from=tmp_path / "run.pt")
    assert h1["step_loss"] == h2["step_loss"]
    for a, b in zip(straight.state_dict().values(), resumed.state_dict().values()):
        assert torch.equal(a, b)


def test_bad_inputs_name_the_argument():
    images = coded_image()
    with pytest.raises(ValueError, match="images"):
        TensorImages(images.float(), torch.zeros(1), MEAN, STD)
    with pytest.raises(ValueError, match="labels"):
        TensorImages(images, torch.zeros(2), MEAN, STD)
    with pytest.raises(ValueError, match="mean"):
        TensorImages(images, torch.zeros(1), (0.5,), STD)
    with pytest.raises(TypeError, match="dataset"):
        tensor_loader([1, 2], 8)
    good = TensorImages(images, torch.zeros(1), MEAN, STD)
    with pytest.raises(ValueError, match="rank"):
        tensor_loader(good, 1, rank=2, world_size=2)
    with pytest.raises(ValueError, match="batch_size"):
        tensor_loader(good, 0)


def test_compare_pipelines_and_step_breakdown_report_numbers():
    result = compare_pipelines("cpu", batch_size=16, images=64, n=200)
    assert set(result) == {"old", "new", "ratio"} and all(v > 0 for v in result.values())
    images = tensor_images(make_shapes(64, 10, image_size=16)[0])
    model = tiny_model()
    model(torch.zeros(1, 3, 16, 16))
    before = [p.clone() for p in model.parameters()]
    rng = torch.get_rng_state()
    parts = step_breakdown(model, tensor_loader(images, 16), torch.device("cpu"), steps=2)
    assert set(parts) == {"data", "compute"} and all(v > 0 for v in parts.values())
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))  # the run is untouched
    assert torch.equal(rng, torch.get_rng_state())


def test_step_breakdown_leaves_the_first_epochs_order_alone():
    """train_cifar times a few steps before it trains: the run's order must not change."""
    images = tensor_images(make_shapes(64, 10, image_size=16)[0])
    plain, timed = tensor_loader(images, 16), tensor_loader(images, 16)
    step_breakdown(tiny_model(), timed, torch.device("cpu"), steps=2, warmup=0)
    assert list(plain.sampler) == list(timed.sampler)


def test_epoch_reporter_counts_the_steps_each_epoch_took(capsys):
    from resnet_lib.tools.train_cifar import epoch_reporter

    ticks = iter([0.0, 2.0, 3.0])  # made at 0 s, epochs ending at 2 s and at 3 s
    report = epoch_reporter(64, step=4, clock=lambda: next(ticks))  # resumed at step 4
    history = {"step_loss": [0.0] * 14, "train_loss": [2.0], "val_acc": [0.5]}
    report(0, history)  # 10 steps since step 4: 640 images in 2 s
    history["step_loss"] += [0.0] * 2  # an epoch cut short: 2 steps, 128 images in 1 s
    report(1, history)
    lines = capsys.readouterr().out.splitlines()
    assert "(320 training images/s" in lines[0] and "(128 training images/s" in lines[1]


def test_bench_data_command_prints_both_pipelines_and_the_ratio():
    # `tasks.py bench --data` sends its arguments here (resnet_lib/tools/benchmark/cli.py).
    command = [sys.executable, "-m", "resnet_lib.tools.benchmark.data_bench", "--data", "--device", "cpu"]
    result = subprocess.run(
        command + ["--images", "128", "--batch-size", "32"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "old (" in result.stdout and "new (" in result.stdout and "ratio new/old:" in result.stdout


def test_bench_data_step_writes_both_pipelines_step_split(tmp_path):
    command = [sys.executable, "-m", "resnet_lib.tools.benchmark.data_bench", "--data", "--device", "cpu"]
    command += ["--step", "--images", "64", "--batch-size", "8", "--dataset-size", "256"]
    result = subprocess.run(
        command + ["--out", str(tmp_path / "d.json")], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    saved = json.loads((tmp_path / "d.json").read_text())
    assert set(saved["images_per_s"]) == {"old", "new", "ratio"}
    assert set(saved["step_ms"]) == {"old", "new"} and set(saved["step_ms"]["new"]) == {"data", "compute"}
