"""The data pipeline's benchmark: the per-image path against the batched tensor one.

    python3 tasks.py bench --data                  # both pipelines, side by side, and their ratio
    python3 tasks.py bench --data --device cuda    # the new one on the GPU (the old one feeds it)

The old path is notebook 06's until this benchmark: a torchvision CIFAR-10 dataset (a
PIL image per item, ``ToTensor``, ``Normalize``) behind `data.AugmentedDataset`, in a
DataLoader with ``num_workers=0``, each batch copied to the device. The new one is
`gpu_data.TensorImages`: the images already on the device as uint8, a batch augmented
with a few tensor operations. Offline, the CIFAR-10 images are replaced by random uint8
images of the same size in the same torchvision dataset class: the per-image work does
not depend on what the pixels show.

`step_breakdown` splits a training step into its data and its compute time.
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, RandomSampler

from resnet_lib.device import pick_device
from resnet_lib.precision import autocast, grad_scaler, training_precision
from resnet_lib.tools.data import CIFAR10_MEAN, CIFAR10_STD, AugmentedDataset
from resnet_lib.tools.gpu_data import tensor_images, tensor_loader
from resnet_lib.tools.validate import check_device, check_int

__all__ = ["both_pipelines", "cifar_like", "compare_pipelines", "main", "pipeline_speed", "step_breakdown"]


def cifar_like(n: int, seed: int = 0):
    """A torchvision ``CIFAR10`` dataset of `n` random 32x32 images, read as CIFAR-10's are.

    The object is torchvision's own class, so an item goes through its ``__getitem__``
    (a PIL image, then the transforms), without the files on disk.
    """
    from torchvision import datasets, transforms

    check_int("n", n)
    rng = np.random.default_rng(seed)
    dataset = datasets.CIFAR10.__new__(datasets.CIFAR10)
    dataset.data = rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
    dataset.targets = rng.integers(0, 10, n).tolist()
    dataset.transform = transforms.Compose(
        [transforms.ToTensor(), transforms.Normalize(CIFAR10_MEAN, CIFAR10_STD)]
    )
    dataset.target_transform = None
    return dataset


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def pipeline_speed(loader: DataLoader, device: torch.device, images: int) -> float:
    """Images per second that `loader` delivers onto `device` (after one untimed batch)."""
    batches = iter(loader)
    next(batches)  # the first batch starts the iterator: not timed
    seen = 0
    _sync(device)
    start = time.perf_counter()
    while seen < images:
        try:
            x, _ = next(batches)
        except StopIteration:
            batches = iter(loader)
            continue
        x = x.to(device, non_blocking=True)
        seen += len(x)
    _sync(device)
    return seen / (time.perf_counter() - start)


def both_pipelines(
    device: torch.device, batch_size: int, n: int = 45_000, channels_last: bool = False
) -> dict[str, DataLoader]:
    """``{"old": loader, "new": loader}`` over the same `n` CIFAR-sized images (see the module)."""
    dataset = cifar_like(n)
    g = torch.Generator().manual_seed(0)
    old = DataLoader(
        AugmentedDataset(dataset),
        batch_size,
        sampler=RandomSampler(dataset, generator=g),
        drop_last=True,
        pin_memory=device.type == "cuda",
    )
    new = tensor_loader(tensor_images(dataset, device, channels_last=channels_last), batch_size)
    return {"old": old, "new": new}


def compare_pipelines(
    device: torch.device | str = "cpu",
    batch_size: int = 128,
    images: int = 2560,
    n: int = 45_000,
    threads: int | None = 1,
) -> dict[str, float]:
    """``{"old": images/s, "new": images/s, "ratio": new / old}``, measured one after the other.

    With `threads` torch CPU threads (None: as they are), put back afterwards: a batch's
    operations are too small to gain from more, and on a busy machine extra threads wait.
    """
    device = check_device("device", device)
    check_int("batch_size", batch_size)
    check_int("images", images)
    loaders = both_pipelines(device, batch_size, n)
    before = torch.get_num_threads()
    if threads is not None:
        check_int("threads", threads)
        torch.set_num_threads(threads)
    try:
        result = {
            "old": pipeline_speed(loaders["old"], device, images),
            "new": pipeline_speed(loaders["new"], device, images * 10),
        }
    finally:
        torch.set_num_threads(before)
    result["ratio"] = result["new"] / result["old"]
    return result


def step_breakdown(
    model: nn.Module,
    loader: DataLoader,
    device: torch.device,
    steps: int = 10,
    amp: bool = True,
    warmup: int = 2,
) -> dict[str, float]:
    """Milliseconds per step spent getting a batch and computing it: ``{"data": .., "compute": ..}``.

    On a copy of `model`, with an optimizer of its own, so the run's model is untouched;
    the global generator (the crops) and the sampler's own generator (the order of the
    run's first epoch) are put back afterwards. The device is synchronised
    after each part, so the two do not overlap here as they can in a real run: their
    sum is a little more than a step takes. No DDP all-reduce is included.
    """
    check_int("steps", steps)
    check_int("warmup", warmup, minimum=0)
    model = copy.deepcopy(model).to(device).train()
    precision = training_precision(device, amp)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    scaler = grad_scaler(device, precision)
    rng = torch.get_rng_state()
    # A RandomSampler (in a ResumableSampler) draws its order from its own generator.
    sampler = getattr(loader.sampler, "sampler", loader.sampler)
    order = getattr(sampler, "generator", None)
    order_state = order.get_state() if order is not None else None
    totals = {"data": 0.0, "compute": 0.0}
    batches = iter(loader)
    for i in range(warmup + steps):  # the first ones warm up (cuDNN's autotuner, allocations)
        _sync(device)
        t0 = time.perf_counter()
        try:
            x, y = next(batches)
        except StopIteration:
            batches = iter(loader)
            x, y = next(batches)
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        _sync(device)
        t1 = time.perf_counter()
        with autocast(device, precision):
            loss = F.cross_entropy(model(x).float(), y)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        _sync(device)
        if i >= warmup:
            totals["data"] += t1 - t0
            totals["compute"] += time.perf_counter() - t1
    torch.set_rng_state(rng)
    if order is not None:
        order.set_state(order_state)
    return {k: 1000 * v / steps for k, v in totals.items()}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(
        prog="tasks.py bench --data",
        description="Images/s of notebook 06's old data pipeline (PIL images, one at a time) and of the "
        "batched tensor pipeline, measured one after the other in this run, and their ratio.",
    )
    p.add_argument("--data", action="store_true", help=argparse.SUPPRESS)  # how cli.py sends us here
    p.add_argument("--device", default=None, help="where the new pipeline works (default: the best)")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument(
        "--images", type=int, default=2560, help="images timed for the old pipeline (10x for the new)"
    )
    p.add_argument(
        "--step",
        action="store_true",
        help="also time ResNet-20's training step fed by each pipeline, split into data and compute "
        "(channels_last and mixed precision on a GPU)",
    )
    p.add_argument(
        "--dataset-size", type=int, default=45_000, help="images in the data set (CIFAR-10's training split)"
    )
    p.add_argument("--out", type=Path, default=None, help="also write the numbers to this JSON file")
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch CPU threads (default 1: a batch's operations are too small to gain from more, and on "
        "a busy machine extra threads only wait for cores; the old pipeline uses one either way)",
    )
    args = p.parse_args(argv)
    check_int("threads", args.threads)
    torch.set_num_threads(args.threads)
    device = pick_device(verbose=False) if args.device is None else check_device("device", args.device)
    r = compare_pipelines(device, args.batch_size, args.images, args.dataset_size, args.threads)
    print(f"device {device}, batch {args.batch_size}, {torch.get_num_threads()} torch thread(s)")
    print(f"old (PIL + AugmentedDataset, num_workers=0): {r['old']:10,.0f} images/s")
    print(f"new (uint8 tensor, batched crops and flips): {r['new']:10,.0f} images/s")
    print(f"ratio new/old: {r['ratio']:.1f}x")
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    result = {
        "device": name,
        "torch": torch.__version__,
        "batch_size": args.batch_size,
        "torch_threads": torch.get_num_threads(),
    }
    result["images_per_s"] = {k: round(v, 1) for k, v in r.items()}
    if args.step:
        from resnet_lib.cifar import cifar_resnet

        gpu = device.type == "cuda"
        if gpu:
            torch.backends.cudnn.benchmark = True
        model = cifar_resnet(20).to(device)
        if gpu:
            model = model.to(memory_format=torch.channels_last)
        result["step_ms"] = {}
        for name, loader in both_pipelines(device, args.batch_size, args.dataset_size, gpu).items():
            parts = step_breakdown(model, loader, device, steps=20)
            result["step_ms"][name] = {k: round(v, 3) for k, v in parts.items()}
            share = parts["data"] / (parts["data"] + parts["compute"])
            print(
                f"ResNet-20 step with the {name} pipeline: data {parts['data']:.2f} ms ({share:.0%}), "
                f"compute {parts['compute']:.2f} ms ({training_precision(device)})"
            )
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
