"""Three DistributedDataParallel pitfalls, shown with two CPU processes (backend gloo).

- `sampler_orders`: a DistributedSampler shuffles with a seed and the epoch number; a
  loop that never calls ``set_epoch`` sees the same order every epoch.
- `batchnorm_statistics`: BatchNorm normalises with the statistics of its own process's
  batch; SyncBatchNorm with those of the whole global batch. SyncBatchNorm runs on
  GPUs only, so here its statistics are computed with the same all-reduce it does.
- `warmup_runs` (stored: ``python -m resnet_lib.tools.ddp_demos``): a larger global
  batch with the learning rate scaled up with it (Goyal et al. 2017), with and
  without a warm-up.

Each function starts two processes (a few seconds) and returns what each one saw.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.utils.data.distributed import DistributedSampler

from resnet_lib.tools.validate import check_int

__all__ = [
    "batchnorm_statistics",
    "run_two_processes",
    "sampler_and_batchnorm",
    "sampler_orders",
    "warmup_runs",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, fn: Callable, args: tuple, port: int, folder: str, world_size: int) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world_size)
    try:
        torch.save(fn(rank, world_size, *args), Path(folder) / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def run_two_processes(fn: Callable, *args: Any) -> list[Any]:
    """``[fn(0, 2, *args), fn(1, 2, *args)]``, each in its own process of a gloo group."""
    # Forked where the system can (Linux): the children start with the libraries already loaded,
    # a fraction of a second instead of the seconds that importing PyTorch again takes.
    method = "fork" if "fork" in mp.get_all_start_methods() and sys.platform == "linux" else "spawn"
    with tempfile.TemporaryDirectory() as folder:
        arguments = (fn, args, _free_port(), folder, 2)
        mp.start_processes(_worker, args=arguments, nprocs=2, join=True, start_method=method)
        return [torch.load(Path(folder) / f"rank{r}.pt", weights_only=False) for r in range(2)]


# ------------------------------------------------------------- 1. set_epoch


def _orders(rank: int, world_size: int, n: int, epochs: int, set_epoch: bool) -> list[list[int]]:
    sampler = DistributedSampler(range(n), world_size, rank, shuffle=True, seed=0)
    orders = []
    for epoch in range(epochs):
        if set_epoch:
            sampler.set_epoch(epoch)
        orders.append(list(sampler))
    return orders


def sampler_orders(n: int = 8, epochs: int = 3) -> dict[bool, list[list[list[int]]]]:
    """``{set_epoch: [rank 0's orders, rank 1's orders]}``, one order per epoch, without and with it."""
    check_int("n", n, minimum=2)
    check_int("epochs", epochs)
    return {flag: run_two_processes(_orders, n, epochs, flag) for flag in (False, True)}


# ------------------------------------------------------------- 2. BatchNorm


def _statistics(rank: int, world_size: int, images: torch.Tensor, batches: tuple[int, ...]) -> dict:
    result = {}
    for batch in batches:
        gaps = []
        for k in range(len(images) // (world_size * batch)):  # consecutive global batches
            start = (k * world_size + rank) * batch
            x = images[start : start + batch]  # this process's share of global batch k
            local_mean = x.mean(dim=(0, 2, 3))  # as a BatchNorm on the images would compute it
            # What SyncBatchNorm computes instead: sums over every process's images, then the mean.
            total = torch.cat([x.sum(dim=(0, 2, 3)), torch.tensor([float(x[:, 0].numel())])])
            dist.all_reduce(total)
            gaps.append((local_mean - total[:-1] / total[-1]).abs().mean())
        result[batch] = float(torch.stack(gaps).mean())
    return result


def batchnorm_statistics(
    images: torch.Tensor, batches: tuple[int, ...] = (4, 16, 64)
) -> list[dict[int, float]]:
    """How far each process's channel means of `images` are from the global batch's.

    The means that a BatchNorm on the images would normalise with, against those that
    SyncBatchNorm would use (only the means: the variances are not compared).

    For a per-process batch b, `images` is cut into global batches of 2b; process r
    takes the r-th half of each. Returns ``[rank 0's, rank 1's]``, each
    ``{b: mean over global batches and channels of |its batch's mean - the global batch's mean|}``.
    """
    if len(images) < 2 * max(batches):
        raise ValueError(f"images must hold at least {2 * max(batches)} images, got {len(images)}")
    return run_two_processes(_statistics, images, tuple(batches))


def _both(rank: int, world_size: int, n: int, epochs: int, images: torch.Tensor, batches: tuple) -> dict:
    orders = {flag: _orders(rank, world_size, n, epochs, flag) for flag in (False, True)}
    return {"orders": orders, "gaps": _statistics(rank, world_size, images, batches)}


def sampler_and_batchnorm(
    images: torch.Tensor, n: int = 8, epochs: int = 3, batches: tuple[int, ...] = (4, 16, 64)
) -> list[dict]:
    """`sampler_orders` and `batchnorm_statistics` in one start of two processes (a notebook cell).

    Returns ``[rank 0's, rank 1's]``, each ``{"orders": {set_epoch: orders}, "gaps": {b: gap}}``.
    """
    return run_two_processes(_both, n, epochs, images, tuple(batches))


# ------------------------------------------------------------- 3. warm-up


def _warmup_run(rank: int, world_size: int, config: dict) -> dict:
    from resnet_lib.cifar import cifar_resnet
    from resnet_lib.tools.data import make_shapes
    from resnet_lib.tools.gpu_data import tensor_images, tensor_loader
    from resnet_lib.training import train

    train_set, val_set = make_shapes(config["n_train"], 1000, image_size=16)
    torch.manual_seed(0)
    model = torch.nn.parallel.DistributedDataParallel(cifar_resnet(config["depth"]))
    torch.manual_seed(1 + rank)  # each rank its own crops
    loader = tensor_loader(tensor_images(train_set, padding=2), config["batch"], rank=rank, world_size=2)
    val = tensor_loader(tensor_images(val_set, padding=0, flip=False), 250, shuffle=False)
    history = train(
        model,
        loader,
        val if rank == 0 else None,
        epochs=config["epochs"],
        lr=config["lr"],
        schedule="cosine",
        warmup_steps=config["warmup_steps"],
        progress=False,
        device="cpu",
    )
    return history


def warmup_runs(
    depth: int = 20, batch: int = 256, epochs: int = 8, n_train: int = 5120, warmup_epochs: int = 2
) -> dict:
    """Two 2-process runs at the linearly scaled rate, without and with a warm-up; their histories."""
    global_batch = 2 * batch
    lr = 0.1 * global_batch / 128  # the paper's 0.1 at 128, scaled linearly
    steps_per_epoch = n_train // global_batch
    result = {
        "depth": depth,
        "data": f"generated shapes, {n_train} training images of 16x16",
        "global_batch": global_batch,
        "per_process_batch": batch,
        "lr": lr,
        "epochs": epochs,
        "steps_per_epoch": steps_per_epoch,
        "runs": {},
    }
    for warmup in (0, warmup_epochs * steps_per_epoch):
        config = dict(depth=depth, batch=batch, epochs=epochs, n_train=n_train, lr=lr, warmup_steps=warmup)
        history = run_two_processes(_warmup_run, config)[0]
        result["runs"][str(warmup)] = {k: [round(v, 4) for v in history[k]] for k in history}
    return result


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="Store the warm-up demonstration (2 CPU processes).")
    p.add_argument("--out", type=Path, default=Path("resnet_lib/measured/ddp_warmup.json"))
    p.add_argument("--epochs", type=int, default=8)
    args = p.parse_args(argv)
    result = warmup_runs(epochs=args.epochs)
    args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    for warmup, run in result["runs"].items():
        print(
            f"warm-up {warmup} steps: first-epoch loss {run['train_loss'][0]:.3f}, val acc {run['val_acc']}"
        )


if __name__ == "__main__":
    main()
