"""The measurements that need a GPU, as one prepared run (notebooks 05 and 06).

    python3 scripts/gpu_session.py OUT              # on a CUDA machine, within --budget-s seconds
    python3 scripts/gpu_session.py OUT --smoke      # seconds on a CPU: every step runs, tiny

It needs only the library's own dependencies (PyTorch, torchvision, numpy, matplotlib,
tqdm): no virtual environment, no Jupyter, no download. So it runs on a bare GPU machine
from a copy of the repository, with whatever PyTorch is there.
Each step runs in its own process under its own time limit: a step that fails or runs
out of time costs only itself, and the grid writes its file after every group of cells.
In this order (the short and the most important steps first):

1. ``environment.txt``: the GPU, its driver, Python, PyTorch and torchvision.
2. ``cifar_gpu_timing.json``: notebook 06's GPU run (ResNet-20, batches of 128, 45,000
   training images of 32x32 per epoch and 5,000 validation images, CIFAR-10's split in the
   notebook, mixed precision, channels_last, cuDNN's autotuner, the batched tensor pipeline),
   timed for a few epochs. A GPU machine without internet cannot download CIFAR-10, so the
   images are generated ones of the same number and size, kept as uint8 on the GPU as
   CIFAR-10's are: the work per epoch is the same; the accuracy says nothing about CIFAR-10
   and is not kept.
   ``data_pipeline.json`` (GPU only): images/s of notebook 06's old per-image data pipeline
   and of the batched tensor one on the GPU, and ResNet-20's step fed by each, split into
   data and compute (``python -m resnet_lib.tools.benchmark.data_bench --step``).
3. ``gpu_benchmark.json``: notebook 05's grid without `torch.compile`, all five depths.
4. The compiled cells of the grid, ResNet-50 first (the network of the targets), added
   to ``gpu_benchmark.json`` in the time that is left.

Give ``--budget-s`` a margin under the time the machine allows the whole command: the
steps run in sessions of their own, so stopping this script from outside leaves them running.

Then copy the JSON files to ``resnet_lib/measured/`` and re-execute notebooks 05 and 06
(``python3 tasks.py execute notebooks/05_gpu_performance.ipynb notebooks/06_training_and_pretrained.ipynb``).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_step(name: str, command: list[str], limit_s: float, log: Path) -> bool:
    """Run `command` from the repository root, stopping it (and its children) after `limit_s`."""
    print(f"== {name} (at most {limit_s:.0f} s): {' '.join(command)}", flush=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    start = time.perf_counter()
    with log.open("a", encoding="utf-8") as out:
        out.write(f"\n== {name}: {' '.join(command)}\n")
        out.flush()
        try:
            # A session of its own, so that a time limit also stops the compiler workers it starts.
            proc = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        except OSError as e:  # e.g. no nvidia-smi: this step is lost, the others still run
            out.write(f"could not start: {e}\n")
            print(f"   could not start: {e}", flush=True)
            return False
        try:
            code = proc.wait(timeout=max(1.0, limit_s))
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:  # it ended in the meantime
                pass
            proc.wait()
            code = None
    seconds = time.perf_counter() - start
    verdict = "ok" if code == 0 else ("stopped at its time limit" if code is None else f"failed ({code})")
    print(f"   {verdict} after {seconds:.0f} s", flush=True)
    return code == 0


def time_cifar_run(path: Path, epochs: int, smoke: bool) -> None:
    """Time the first `epochs` epochs of notebook 06's GPU run; write them to `path` (JSON)."""
    import torch

    from resnet_lib.cifar import cifar_resnet
    from resnet_lib.device import pick_device, seed_everything
    from resnet_lib.tools.benchmark.results import measured_on
    from resnet_lib.tools.data import image_data
    from resnet_lib.tools.gpu_data import tensor_images, tensor_loader
    from resnet_lib.training import train

    # Notebook 06's settings for a GPU (its cell "The recipe, and a run that fits the machine").
    run = dict(image_size=32, n_train=45_000, n_val=5000, batch_size=128, lr=0.1, epochs=30)
    if smoke:
        run.update(image_size=16, n_train=128, n_val=32, batch_size=32)  # 4 steps an epoch
    device = pick_device(verbose=False)
    # Notebook 06's own settings for a GPU (its section 3: cuDNN's autotuner on, deterministic
    # kernels off, channels_last): this step says how long the notebook's run takes.
    gpu = device.type == "cuda"
    seed_everything(num_threads=None, deterministic=not gpu)
    if gpu:
        torch.use_deterministic_algorithms(False)
        torch.backends.cudnn.benchmark = True
    data = image_data(
        prefer="shapes", image_size=run["image_size"], n_train=run["n_train"], n_val=run["n_val"]
    )
    size = run["image_size"]
    train_set = tensor_images(data.train, device, size, size // 8, channels_last=gpu)
    val_set = tensor_images(data.val, device, size, padding=0, flip=False, channels_last=gpu)
    train_loader = tensor_loader(train_set, run["batch_size"])
    val_loader = tensor_loader(val_set, 256, shuffle=False)
    model = cifar_resnet(20).to(device)
    if gpu:  # the model in channels_last too, as notebook 05 (4.2) and train_cifar do
        model = model.to(memory_format=torch.channels_last)
    ends = [time.perf_counter()]
    train(
        model,
        train_loader,
        val_loader,
        epochs=run["epochs"],
        lr=run["lr"],
        schedule="step",
        device=device,
        progress=False,
        stop_at_step=epochs * len(train_loader),
        on_epoch_end=lambda epoch, history: ends.append(time.perf_counter()),
    )
    seconds = [round(b - a, 3) for a, b in zip(ends, ends[1:])]
    result = {
        **measured_on(device),  # the device and the versions of torch, torchvision and CUDA
        "date": datetime.date.today().isoformat(),
        "network": "ResNet-20",
        "data": f"{data.name} (as many images as CIFAR-10, of the same size; accuracy not kept)",
        "image_size": run["image_size"],
        "train_images": len(data.train),
        "val_images": len(data.val),
        "batch_size": run["batch_size"],
        "schedule_epochs": run["epochs"],
        "timing_settings": "as notebook 06 runs: cudnn.benchmark on, deterministic "
        "algorithms off, model and batches in channels_last, the batched tensor pipeline "
        "(resnet_lib.tools.gpu_data)",
        "epoch_seconds": seconds,  # each epoch: training steps and the validation pass
    }
    path.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(f"epoch seconds: {seconds}")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out", type=Path, help="folder for the results and the log")
    p.add_argument("--budget-s", type=float, default=540, help="seconds for all steps together")
    p.add_argument("--smoke", action="store_true", help="a tiny version of every step, for a CPU (tests)")
    p.add_argument("--cifar-epochs", type=int, default=3, help="epochs of notebook 06's GPU run to time")
    p.add_argument("--time-cifar", type=Path, help=argparse.SUPPRESS)  # step 2, in its own process
    args = p.parse_args(argv)
    if args.cifar_epochs < 2:  # the first epoch also warms up: notebook 06 takes the median of the others
        p.error(f"--cifar-epochs must be at least 2, got {args.cifar_epochs}")
    if args.time_cifar is not None:
        time_cifar_run(args.time_cifar, args.cifar_epochs, args.smoke)
        return

    args.out = args.out.resolve()  # the steps run from the repository root
    args.out.mkdir(parents=True, exist_ok=True)
    log = args.out / "log.txt"
    deadline = time.perf_counter() + args.budget_s
    python = sys.executable
    bench = [
        python,
        "-m",
        "resnet_lib.tools.benchmark",
        "--grid",
        "--out",
        str(args.out / "gpu_benchmark.json"),
    ]
    if args.smoke:
        tiny = ["--device", "cpu", "--depths", "18", "--batch-size", "2", "--image-size", "16"]
        tiny += ["--rounds", "1", "--warmup", "0"]
        grid = bench + tiny + ["--modes", "fp32"]
        compiled = bench + tiny + ["--modes", "amp+cl", "--append"]  # compiling takes minutes on a CPU
    else:
        # 3 timed rounds instead of 5: a GPU's timings vary little, and the machine's time is short.
        bench += ["--rounds", "3"]
        grid = bench + ["--modes", "fp32", "channels_last", "amp+cl"]
        compiled = bench + ["--modes", "amp+cl+compile", "--append", "--depths"] + "50 18 34 101 152".split()
    cifar = [python, str(Path(__file__).resolve()), str(args.out), "--cifar-epochs", str(args.cifar_epochs)]
    cifar += ["--time-cifar", str(args.out / "cifar_gpu_timing.json")] + ["--smoke"] * args.smoke
    versions = (
        "import platform, torch, torchvision; "
        "print('python', platform.python_version(), '| torch', torch.__version__, "
        "'| torchvision', torchvision.__version__, '| cuda', torch.version.cuda); "
        "print('device:', torch.cuda.get_device_name() if torch.cuda.is_available() else 'no CUDA device')"
    )
    environment = args.out / "environment.txt"
    environment.write_text(f"{datetime.datetime.now().isoformat(timespec='seconds')}\n", encoding="utf-8")

    def left() -> float:
        return deadline - time.perf_counter()

    if not args.smoke:
        run_step(
            "GPU",
            ["nvidia-smi", "--query-gpu=name,memory.total,driver_version", "--format=csv"],
            30,
            environment,
        )
    run_step("versions", [python, "-c", versions], 60, environment)
    if not args.smoke:  # (tests/test_gpu_data.py runs this command on a CPU)
        data = [python, "-m", "resnet_lib.tools.benchmark.data_bench", "--data", "--step", "--device", "cuda"]
        run_step(
            "data pipelines, old vs new",
            data + ["--out", str(args.out / "data_pipeline.json")],
            min(120, left()),
            log,
        )
    run_step("notebook 06's GPU run, timed", cifar, min(90, left()), log)
    run_step("grid without compile", grid, min(330, left() - 60), log)
    run_step("compiled cells", compiled, left(), log)
    print(f"results in {args.out}: {', '.join(sorted(f.name for f in args.out.iterdir()))}")


if __name__ == "__main__":
    main()
