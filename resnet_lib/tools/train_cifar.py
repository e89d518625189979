"""Train the paper's CIFAR-10 ResNet-20 (or 32/44/56/110), on one device or many.

    python -m resnet_lib.tools.train_cifar                           # one process, the best device
    torchrun --nproc_per_node=2 -m resnet_lib.tools.train_cifar      # 2 processes (2 GPUs, or 2 CPU workers)
    python -m resnet_lib.tools.train_cifar --checkpoint runs/r20.pt --resume runs/r20.pt   # continue a saved run

It ships inside the library (not in the repository's scripts/), so that it runs wherever
`resnet_lib` is installed, in Colab too.

Under torchrun each process trains a copy of the model on its own share of every
epoch (DistributedSampler); DistributedDataParallel averages the gradients of all
processes after every backward pass, so the copies stay identical. Only rank 0
prints and writes the checkpoint. `--batch-size` is per process: the batch of one
optimizer step is batch size x processes.

Data: CIFAR-10 (downloaded into --data-root) when reachable, else the generated
shapes of resnet_lib.tools.data (offline); --data shapes never touches the network.
The training images live on the device as one uint8 tensor and are cropped, flipped
and normalised a batch at a time (resnet_lib.tools.gpu_data); `--pipeline per-image`
is the older path, one PIL image at a time on the CPU (`tasks.py bench --data` compares them).

On a GPU the run uses notebook 05's lessons: channels_last, the library's precision
policy (bf16 where the GPU has it natively, else fp16 with a loss scaler), cuDNN's
autotuner; `--deterministic` and `--compile` are options. Before training it times a
few steps split into data and compute, and every epoch prints its images/s.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch.utils.data import DataLoader
from torch.utils.data.distributed import DistributedSampler

from resnet_lib.cifar import CIFAR_DEPTHS, cifar_resnet
from resnet_lib.device import pick_device, seed_everything
from resnet_lib.precision import training_precision
from resnet_lib.schedule import SCHEDULES
from resnet_lib.tools.benchmark.data_bench import step_breakdown
from resnet_lib.tools.checkpoint import load_checkpoint, unwrap
from resnet_lib.tools.data import CIFAR10_TRAIN, AugmentedDataset, image_data
from resnet_lib.tools.gpu_data import tensor_images, tensor_loader
from resnet_lib.tools.sampler import ResumableSampler
from resnet_lib.tools.validate import check_one_of
from resnet_lib.training import train

PAPER_STEPS = 64_000  # the paper's CIFAR-10 run: 64k iterations at batch 128 (Sec. 4.2)
STEPS_PER_EPOCH = CIFAR10_TRAIN // 128  # 351 at batch 128, incomplete last batches dropped
PAPER_EPOCHS = round(PAPER_STEPS / STEPS_PER_EPOCH)  # the whole number of epochs nearest to 64k steps


def setup_distributed(verbose: bool = False) -> tuple[int, int, torch.device]:
    """Join the process group that torchrun set up; return ``(rank, world_size, device)``.

    torchrun starts one process per device and tells each its ``RANK``, ``LOCAL_RANK``
    and ``WORLD_SIZE`` through environment variables. Each process then uses its own
    GPU (backend NCCL) or, without GPUs, the CPU (backend gloo). Started without
    torchrun, this is a single process: rank 0 of 1, on the best device.
    """
    import torch.distributed as dist

    check_one_of("verbose", verbose, (True, False))
    if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:
        return 0, 1, pick_device(verbose=verbose)
    rank, world_size = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    if torch.cuda.is_available():
        local_rank = int(os.environ.get("LOCAL_RANK", rank))
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
        dist.init_process_group("nccl", device_id=device)
    else:
        device = torch.device("cpu")
        dist.init_process_group("gloo")
    return rank, world_size, device


def cleanup_distributed() -> None:
    """Leave the process group (if there is one)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        # No barrier here: after an error the other ranks may never reach it. A finished
        # run synchronises and leaves on its own (see the end of this file).
        dist.destroy_process_group()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="Costs are per run unless said otherwise; 'GPU only' options change nothing on a CPU.",
    )
    p.add_argument("--depth", type=int, default=20, choices=CIFAR_DEPTHS)
    p.add_argument("--data", default="auto", choices=("auto", "cifar10", "shapes"))
    p.add_argument("--data-root", default="data")
    p.add_argument("--image-size", type=int, default=32)
    p.add_argument("--n-train", type=int, default=None, help="use only this many training images")
    p.add_argument(
        "--epochs",
        type=int,
        default=PAPER_EPOCHS,
        help=f"passes over the {CIFAR10_TRAIN:,} training images (default {PAPER_EPOCHS}: the whole "
        "number of epochs nearest to the paper's 64k steps at batch 128; for at least 64k steps, "
        "raise --epochs: --max-steps only shortens a run)",
    )
    p.add_argument(
        "--max-steps", type=int, default=None, help="stop after this many steps (the schedule fits them)"
    )
    p.add_argument(
        "--batch-size",
        type=int,
        default=128,
        help="per process: one optimizer step sees batch size x processes images (scale --lr with it, "
        "and warm up: Goyal et al. 2017)",
    )
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--schedule", default="step", choices=SCHEDULES)
    p.add_argument("--warmup-steps", type=int, default=0)
    p.add_argument(
        "--pipeline",
        default="tensor",
        choices=("tensor", "per-image"),
        help="tensor: the images on the device as uint8, augmented a batch at a time (costs "
        "about 354 MB of device memory for CIFAR-10: the images and a padded copy); per-image: one PIL "
        "image at a time on the CPU, 9x to 19x fewer images/s than tensor on 2 busy CPU cores "
        "(measured with tasks.py bench --data)",
    )
    p.add_argument(
        "--deterministic",
        action="store_true",
        help="deterministic kernels and cuDNN's autotuner off: the same digits every run, at the cost "
        "of the autotuner's faster algorithms (GPU only; compare the epoch times of a run with and without it)",
    )
    p.add_argument(
        "--compile",
        action="store_true",
        help="torch.compile the model: compiling is paid once, in the first steps (and once more at the "
        "first validation, in eval mode): the first epoch's printed time includes it, later ones not",
    )
    p.add_argument(
        "--no-amp",
        action="store_true",
        help="train a GPU in float32 (slower; GPU only, a CPU is fp32 always)",
    )
    p.add_argument(
        "--no-channels-last",
        action="store_true",
        help="keep NCHW tensors (GPU only: its tensor-core convolutions prefer channels_last, notebook 05)",
    )
    p.add_argument(
        "--breakdown-steps",
        type=int,
        default=10,
        help="before training, time this many extra steps (on a copy of the model) split into data and "
        "compute, each part followed by a synchronize (0: skip; costs those steps)",
    )
    p.add_argument(
        "--stop-at-step",
        type=int,
        default=None,
        help="stop after this step, as if interrupted (resume later)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--checkpoint", type=Path, default=None, help="save here after every epoch (rank 0)")
    p.add_argument("--resume", type=Path, default=None, help="continue the run saved in this checkpoint")
    p.add_argument(
        "--save-rank-weights",
        type=Path,
        default=None,
        help="folder: every rank saves its final weights as rank<N>.pt (to check they agree)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar (the epoch lines remain)")
    return p.parse_args(argv)


def build_loaders(args: argparse.Namespace, data, rank: int, world_size: int, device: torch.device):
    """The training loader (resumable, each rank its share) and rank 0's validation loader."""
    padding, gpu = args.image_size // 8, device.type == "cuda"
    if args.pipeline == "tensor":
        last = gpu and not args.no_channels_last
        train_set = tensor_images(data.train, device, args.image_size, padding, channels_last=last)
        train_loader = tensor_loader(
            train_set, args.batch_size, seed=args.seed, rank=rank, world_size=world_size
        )
        val_set = tensor_images(data.val, device, args.image_size, padding=0, flip=False, channels_last=last)
        return train_loader, tensor_loader(val_set, 256, shuffle=False) if rank == 0 else None
    train_set = AugmentedDataset(data.train, padding=padding)
    if world_size > 1:
        sampler = DistributedSampler(
            train_set, world_size, rank, shuffle=True, seed=args.seed, drop_last=True
        )
    else:
        sampler = torch.utils.data.RandomSampler(
            train_set, generator=torch.Generator().manual_seed(args.seed)
        )
    sampler = ResumableSampler(sampler)  # a resumed run starts at the next batch, reading none again
    train_loader = DataLoader(train_set, args.batch_size, sampler=sampler, drop_last=True, pin_memory=gpu)
    return train_loader, DataLoader(data.val, 256, pin_memory=gpu) if rank == 0 else None


def epoch_reporter(
    images_per_step: int,
    step: int = 0,
    show: bool = True,
    clock: Callable[[], float] = time.perf_counter,
) -> Callable[[int, dict], None]:
    """An ``on_epoch_end`` for `train`: prints each epoch's loss, accuracy and images/s.

    It counts the steps the epoch really took (the growth of the history's step losses,
    from `step`, where a resumed run starts): an epoch cut short by --max-steps or
    --stop-at-step, or resumed part-way, takes fewer than a full one.
    """
    last = {"time": clock(), "step": step}

    def report(epoch: int, history: dict) -> None:
        now, steps = clock(), len(history["step_loss"])
        seconds, images = now - last["time"], (steps - last["step"]) * images_per_step
        last.update(time=now, step=steps)
        if show:
            print(
                f"epoch {epoch + 1}: train loss {history['train_loss'][-1]:.3f}, "
                f"val accuracy {history['val_acc'][-1]:.1%}, {seconds:.1f} s "
                f"({images / seconds:,.0f} training images/s with validation)",
                flush=True,
            )

    return report


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    rank, world_size, device = setup_distributed()
    main_process = rank == 0
    gpu = device.type == "cuda"
    # The same seed on every rank: the same initial weights (DDP also copies rank 0's).
    seed_everything(args.seed, num_threads=None if gpu else 1, deterministic=args.deterministic)
    if gpu and not args.deterministic:
        torch.backends.cudnn.benchmark = True  # the autotuner: the fastest algorithm per layer shape
    try:
        # Rank 0 first (it may download CIFAR-10), the others after it, silently.
        for turn in range(2 if world_size > 1 else 1):
            if (rank == 0) == (turn == 0):
                quiet = (
                    contextlib.redirect_stdout(io.StringIO())
                    if not main_process
                    else contextlib.nullcontext()
                )
                with quiet:
                    data = image_data(
                        prefer=args.data,
                        root=args.data_root,
                        image_size=args.image_size,
                        n_train=args.n_train,
                    )
            if world_size > 1:
                torch.distributed.barrier()

        train_loader, val_loader = build_loaders(args, data, rank, world_size, device)

        model = cifar_resnet(args.depth).to(device)
        channels_last = gpu and not args.no_channels_last
        if channels_last:
            model = model.to(memory_format=torch.channels_last)
        if args.compile:
            model.compile()  # in place: the state_dict's names (and checkpoints) stay the same
        # Then a seed of each rank's own: the random crops and flips come from the global generator,
        # and with one seed for all, every rank would draw the same ones for its different images.
        torch.manual_seed(args.seed + rank)
        steps = len(train_loader) * args.epochs if args.max_steps is None else args.max_steps
        steps = min(steps, len(train_loader) * args.epochs)
        if main_process:
            print(
                f"ResNet-{args.depth} on {data.name}: {world_size} process(es) x batch {args.batch_size}, "
                f"{len(train_loader)} steps per epoch, {steps} steps"
            )
            precision = training_precision(device, not args.no_amp)
            on = {True: "on", False: "off"}
            print(
                f"settings: {device.type}, {precision}, {args.pipeline} pipeline, "
                f"channels_last {on[channels_last]}, compile {on[bool(args.compile)]},\n"
                f"  cudnn.benchmark {on[torch.backends.cudnn.benchmark]}, "
                f"deterministic {on[bool(args.deterministic)]}"
            )
        if args.breakdown_steps:
            parts = step_breakdown(model, train_loader, device, args.breakdown_steps, amp=not args.no_amp)
            if main_process:
                total = parts["data"] + parts["compute"]
                print(
                    f"a step, timed apart ({args.breakdown_steps} steps, each part synchronised): data "
                    f"{parts['data']:.2f} ms ({parts['data'] / total:.0%}), compute {parts['compute']:.2f} ms"
                    + (" (on an uncompiled copy of the model)" if args.compile else "")
                )
        if world_size > 1:
            model = torch.nn.parallel.DistributedDataParallel(model, device_ids=[device] if gpu else None)
        resumed = load_checkpoint(args.resume) if args.resume else None

        history = train(
            model,
            train_loader,
            val_loader,
            epochs=args.epochs,
            lr=args.lr,
            schedule=args.schedule,
            warmup_steps=args.warmup_steps,
            max_steps=args.max_steps,
            device=device,
            amp=not args.no_amp,
            progress=main_process and not args.no_progress,
            desc=f"ResNet-{args.depth}",
            checkpoint=args.checkpoint,
            resume_from=resumed,
            stop_at_step=args.stop_at_step,
            on_epoch_end=epoch_reporter(
                args.batch_size * world_size,
                step=resumed["step"] if resumed else 0,
                show=main_process,
            ),
        )
        if world_size > 1:
            # DDP copies rank 0's buffers (BatchNorm's running statistics) to the other ranks at the
            # start of every forward pass; the last step's update is local, so copy them once more.
            for buffer in unwrap(model).buffers():
                torch.distributed.broadcast(buffer, src=0)
        if main_process:
            tenth = max(1, len(history["step_loss"]) // 10)
            first, last = (
                sum(h) / len(h) for h in (history["step_loss"][:tenth], history["step_loss"][-tenth:])
            )
            print(
                f"done: {len(history['step_loss'])} steps, training loss {first:.3f} -> {last:.3f} "
                f"(chance {math.log(10):.3f})"
            )
            if args.checkpoint:
                print(f"checkpoint: {args.checkpoint}")
        if args.save_rank_weights is not None:
            args.save_rank_weights.mkdir(parents=True, exist_ok=True)
            torch.save(unwrap(model).state_dict(), args.save_rank_weights / f"rank{rank}.pt")
    except BaseException:
        cleanup_distributed()
        raise


if __name__ == "__main__":
    main()
    if torch.distributed.is_initialized():
        # Every rank is done and has saved what it had to. Leave now, without the interpreter's
        # shutdown: tearing down gloo's threads there can abort a finished run ("terminate called
        # without an active exception", exit code -6), which torchrun reports as a failure.
        torch.distributed.barrier()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
