"""The benchmark grid of notebook 04: how fast ResNets really run.

`run_grid` times inference and a full training step of ResNet-18 ... 152, resnet_lib
beside torchvision (the same weights), in fp32, channels_last, mixed precision and
compiled, with the honest timing of `resnet_lib.timing`, and turns the times into
images/s, achieved TFLOP/s and the fraction of the GPU's datasheet peak. The results
go to a JSON file (with the device, versions and date) that the notebook plots.

Everything is timed with the settings a training run uses for speed
(`resnet_lib.timing.speed_settings`: cuDNN's autotuner on, non-deterministic kernels
allowed), whatever `seed_everything()` set before.

From the command line (``python -m resnet_lib.benchmark`` is the same):

    python3 tasks.py bench --depth 50 --batch-size 8     # the README's parity benchmark
    python3 tasks.py bench --grid --out resnet_lib/measured/gpu_benchmark.json
"""

from __future__ import annotations

import argparse
import datetime
import gc
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch
from torch import nn

from ._validation import check_int, check_one_of
from .device import pick_device, seed_everything
from .inspection import in_mode, saved_tensor_bytes
from .precision import amp_dtype
from .timing import (
    SPEED_SETTINGS,
    cuda_peak_memory,
    interleaved_medians,
    parity_benchmark,
    speed_settings,
    synchronize,
)

DEPTHS: tuple[int, ...] = (18, 34, 50, 101, 152)
IMPLEMENTATIONS: tuple[str, ...] = ("resnet_lib", "torchvision")
PRECISIONS: tuple[str, ...] = ("fp32", "bf16", "fp16")

#: The modes of the grid, each adding one thing to the one before:
#: name -> (mixed precision, channels_last, torch.compile).
#: "amp" is bf16 where the device supports it, fp16 with a gradient scaler otherwise.
MODES: dict[str, tuple[bool, bool, bool]] = {
    "fp32": (False, False, False),
    "channels_last": (False, True, False),
    "amp+cl": (True, True, False),
    "amp+cl+compile": (True, True, True),
}

#: Dense (no 2:4 sparsity) peak tensor throughput in TFLOP/s, from the vendors' datasheets:
#: NVIDIA H100 and H200 Tensor Core GPU datasheets (SXM, PCIe and NVL columns; the sheets'
#: headline figures are "with sparsity", the dense figures are half of them), NVIDIA A100 Tensor
#: Core GPU datasheet, NVIDIA L4 Tensor Core GPU datasheet (sparse figures halved) and
#: NVIDIA T4 and V100 datasheets (Turing and Volta have no bf16 and no tf32; V100: SXM2 and PCIe). "fp32" is the non-tensor-core
#: figure. Keys are substrings of `torch.cuda.get_device_name()`, tried in order, so the
#: more specific names come first ("NVIDIA H100 80GB HBM3" is the SXM part).
PEAK_TFLOPS: tuple[tuple[str, dict[str, float]], ...] = (
    ("H100 PCIe", {"bf16": 756.5, "fp16": 756.5, "tf32": 378.0, "fp32": 51.0}),
    ("H100 NVL", {"bf16": 835.5, "fp16": 835.5, "tf32": 417.5, "fp32": 60.0}),
    ("H100", {"bf16": 989.5, "fp16": 989.5, "tf32": 494.5, "fp32": 67.0}),  # SXM5
    ("H200 NVL", {"bf16": 835.5, "fp16": 835.5, "tf32": 417.5, "fp32": 60.0}),  # as H100 NVL
    ("H200", {"bf16": 989.5, "fp16": 989.5, "tf32": 494.5, "fp32": 67.0}),  # same chip as H100 SXM
    ("A100", {"bf16": 312.0, "fp16": 312.0, "tf32": 156.0, "fp32": 19.5}),
    ("L4", {"bf16": 121.0, "fp16": 121.0, "tf32": 60.0, "fp32": 30.3}),
    ("T4", {"fp16": 65.0, "fp32": 8.1}),
    ("V100-PCIE", {"fp16": 112.0, "fp32": 14.0}),
    ("V100", {"fp16": 125.0, "fp32": 15.7}),  # SXM2, e.g. "Tesla V100-SXM2-16GB"
)


def peak_tflops(device_name: str, precision: str) -> float | None:
    """The datasheet peak of a GPU for one number format, or None if it is not in the table.

    Args:
        device_name: What `torch.cuda.get_device_name()` returns, e.g. "NVIDIA A100-SXM4-80GB".
        precision: "bf16", "fp16", "tf32" or "fp32".

    Returns:
        Dense TFLOP/s, or None for an unknown GPU or a format it has no peak for (T4: bf16).
    """
    import re

    check_one_of("precision", precision, ("bf16", "fp16", "tf32", "fp32"))
    for key, peaks in PEAK_TFLOPS:
        # Whole words only: "L4" must not match "NVIDIA L40S".
        if re.search(rf"(?<![A-Za-z0-9]){re.escape(key)}(?![A-Za-z0-9])", device_name, re.IGNORECASE):
            return peaks.get(precision)
    return None


#: What the grid's memory column measures: CUDA has allocator statistics, other devices not.
CUDA_MEMORY = "peak CUDA memory of the model's step (weights, gradients, momentum, activations)"
SAVED_MEMORY = "memory saved for backward"
#: Column headers of `format_rows` for each kind.
MEMORY_COLUMNS = {CUDA_MEMORY: "peak MiB", SAVED_MEMORY: "saved MiB"}


def memory_kind(device: torch.device) -> str:
    """What the grid measures as a training step's memory on `device` (`CUDA_MEMORY` or `SAVED_MEMORY`)."""
    return CUDA_MEMORY if device.type == "cuda" else SAVED_MEMORY


@dataclass(frozen=True)
class BenchConfig:
    """One cell of the grid: which network, how big a batch, and how it is run.

    Args:
        depth: 18, 34, 50, 101 or 152.
        batch_size: Images per step.
        image_size: Height and width of the (random) images.
        precision: "fp32", or "bf16" / "fp16" for mixed precision (`torch.autocast`;
            fp16 adds a gradient scaler).
        channels_last: Store the batch and the weights as NHWC.
        compile: Run the model through `torch.compile`.
        impl: "resnet_lib" or "torchvision".
    """

    depth: int = 50
    batch_size: int = 64
    image_size: int = 224
    precision: str = "fp32"
    channels_last: bool = False
    compile: bool = False
    impl: str = "resnet_lib"

    def __post_init__(self) -> None:
        check_one_of("depth", self.depth, DEPTHS)
        check_int("batch_size", self.batch_size)
        check_int("image_size", self.image_size)
        check_one_of("precision", self.precision, PRECISIONS)
        check_one_of("channels_last", self.channels_last, (False, True))
        check_one_of("compile", self.compile, (False, True))
        check_one_of("impl", self.impl, IMPLEMENTATIONS)

    @property
    def mode(self) -> str:
        """Short label, e.g. "fp32", "fp32+cl", "bf16+cl+compile"."""
        return "+".join([self.precision] + ["cl"] * self.channels_last + ["compile"] * self.compile)


def grid_configs(
    depths: Sequence[int] = DEPTHS,
    modes: Sequence[str] = tuple(MODES),
    batch_size: int = 64,
    image_size: int = 224,
    device: torch.device | None = None,
    impls: Sequence[str] = IMPLEMENTATIONS,
) -> list[BenchConfig]:
    """Every combination of depth, mode and implementation, "amp" resolved for `device`."""
    device = device or torch.device("cpu")
    amp = amp_dtype(device)
    configs = []
    for depth in depths:
        for mode in modes:
            check_one_of("mode", mode, MODES)
            mixed, channels_last, compiled = MODES[mode]
            for impl in impls:
                configs.append(
                    BenchConfig(
                        depth, batch_size, image_size, amp if mixed else "fp32", channels_last, compiled, impl
                    )
                )
    return configs


#: The grid on a CUDA GPU, and the reduced one that runs in seconds on a CPU (no compile:
#: on a CPU it needs a C++ compiler and minutes). Apple MPS: the GPU grid without compile.
GPU_GRID = {"depths": DEPTHS, "modes": tuple(MODES), "batch_size": 256, "image_size": 224}
#: What notebook 04 runs on a CUDA GPU unless asked for the full grid: ResNet-18, and
#: ResNet-50 (the network of the targets), in all four modes. Every compiled cell
#: compiles two networks twice (training and inference), which on a small GPU with two
#: CPU cores (Colab's T4) takes minutes each: the full grid is not for a workshop.
QUICK_GPU_GRID = {"depths": (18, 50), "modes": tuple(MODES), "batch_size": 128, "image_size": 224}
MPS_GRID = {
    "depths": DEPTHS,
    "modes": ("fp32", "channels_last", "amp+cl"),
    "batch_size": 32,
    "image_size": 224,
}
CPU_GRID = {
    "depths": (18, 50),
    "modes": ("fp32", "channels_last", "amp+cl"),
    "batch_size": 4,
    "image_size": 32,
}


def default_grid(device: torch.device, full: bool = True) -> list[BenchConfig]:
    """The grid for `device`.

    Args:
        device: Where the grid will run.
        full: On CUDA, ``False`` gives `QUICK_GPU_GRID` instead of `GPU_GRID`.

    Returns:
        The cells of `GPU_GRID` on CUDA (a batch that does not fit is halved while
        running), of `MPS_GRID` on Apple GPUs and of `CPU_GRID` elsewhere.
    """
    check_one_of("full", full, (False, True))
    return grid_configs(device=device, **_grid_for(device, full))


def _grid_for(device: torch.device, full: bool = True) -> dict:
    return {"cuda": GPU_GRID if full else QUICK_GPU_GRID, "mps": MPS_GRID}.get(device.type, CPU_GRID)


def _build_models(
    depth: int, impls: Sequence[str], weights: dict[int, dict[str, torch.Tensor]]
) -> dict[str, nn.Module]:
    """The same network from each implementation, holding the same weights.

    torchvision initialises the weights once per depth (kept in `weights`); every model
    is then built on the meta device (no initialisation, which takes seconds for the
    deep ones on a CPU) and given its own copy of them.
    """
    import torchvision

    from .models import resnet

    if depth not in weights:
        weights[depth] = getattr(torchvision.models, f"resnet{depth}")().state_dict()
    models = {}
    for impl in impls:
        with torch.device("meta"):
            model = (
                getattr(torchvision.models, f"resnet{depth}")() if impl == "torchvision" else resnet(depth)
            )
        model.load_state_dict({k: v.clone() for k, v in weights[depth].items()}, strict=True, assign=True)
        models[impl] = model
    return models


def count_step_flops(model: nn.Module, input_size: tuple[int, ...]) -> tuple[int, int]:
    """FLOPs of a forward pass and of forward + backward, counted, not assumed.

    The model runs on the meta device (shapes only, no data, no time), through
    `torch.func.functional_call` so the model itself is untouched. Convolutions and
    matrix products are counted (`FlopCounterMode`). The backward pass computes
    gradients for the weights and for the activations, except for the input image,
    so it costs a little less than twice the forward pass.

    Args:
        model: The network (eval mode is used for the count; its mode is restored).
        input_size: Shape of the batch, e.g. ``(1, 3, 224, 224)``.

    Returns:
        ``(forward_flops, forward_and_backward_flops)`` for the whole batch.
    """
    from torch.func import functional_call
    from torch.utils.flop_counter import FlopCounterMode

    params = {
        n: torch.empty_like(p, device="meta").requires_grad_(p.requires_grad)
        for n, p in model.named_parameters()
    }
    buffers = {n: torch.empty_like(b, device="meta") for n, b in model.named_buffers()}
    x = torch.empty(input_size, device="meta")
    with in_mode(model, training=False):
        with FlopCounterMode(display=False) as forward:
            functional_call(model, {**params, **buffers}, (x,))
        with FlopCounterMode(display=False) as both:
            out = functional_call(model, {**params, **buffers}, (x,))
            torch.autograd.grad(out.sum(), [p for p in params.values() if p.requires_grad])
    return forward.get_total_flops(), both.get_total_flops()


class StepRunner:
    """A model set up as one grid cell says, with a training step and an inference step."""

    def __init__(self, model: nn.Module, cfg: BenchConfig, device: torch.device) -> None:
        self.cfg, self.device = cfg, device
        memory_format = torch.channels_last if cfg.channels_last else torch.contiguous_format
        self.model = model.to(device=device, memory_format=memory_format)
        self.forward = torch.compile(self.model) if cfg.compile else self.model
        g = torch.Generator(device="cpu").manual_seed(0)
        x = torch.randn(cfg.batch_size, 3, cfg.image_size, cfg.image_size, generator=g)
        self.x = x.to(device).contiguous(memory_format=memory_format)
        self.y = torch.randint(0, 1000, (cfg.batch_size,), generator=g).to(device)
        self.dtype = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[cfg.precision]
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=0.01, momentum=0.9)
        # fp16 has a narrow exponent range: small gradients underflow to 0 unless the loss
        # is scaled up first. bf16 has fp32's range and needs no scaler.
        self.scaler = torch.amp.GradScaler(device.type, enabled=cfg.precision == "fp16")

    def _autocast(self):
        return torch.autocast(self.device.type, dtype=self.dtype, enabled=self.dtype is not None)

    def train_step(self) -> None:
        self.model.train()
        self.optimizer.zero_grad(set_to_none=True)
        with self._autocast():
            loss = nn.functional.cross_entropy(self.forward(self.x), self.y)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()

    def infer_step(self) -> None:
        self.model.eval()
        with torch.inference_mode(), self._autocast():
            self.forward(self.x)

    def train_memory(self, baseline: int) -> tuple[int, str]:
        """Peak memory of one training step, and what that number counts.

        Args:
            baseline: CUDA memory allocated before this model came to the GPU (the other
                model of the group sits there too: only what this one adds is counted).
        """
        if self.device.type == "cuda":
            peak = cuda_peak_memory(self.train_step, self.device)
            return peak - baseline, CUDA_MEMORY
        # No allocator statistics elsewhere: what autograd keeps for backward, the part
        # that grows with the batch.
        self.model.train()
        with self._autocast():
            saved = saved_tensor_bytes(self.model, self.x)
        return saved, SAVED_MEMORY


def _time_group(
    configs: Sequence[BenchConfig],
    device: torch.device,
    rounds: int,
    steps_per_round: int,
    warmup: int,
    weights: dict[int, dict[str, torch.Tensor]],
) -> list[dict]:
    """Time configs that differ only in `impl`, interleaving them round by round."""
    import time

    cfg0 = configs[0]
    seed_everything(0, num_threads=None, deterministic=False)
    models = _build_models(cfg0.depth, [c.impl for c in configs], weights)
    forward_flops, step_flops = count_step_flops(models[cfg0.impl], (1, 3, cfg0.image_size, cfg0.image_size))
    runners, first, memory = {}, {}, {}
    for cfg in configs:
        baseline = torch.cuda.memory_allocated(device) if device.type == "cuda" else 0
        runner = runners[cfg.impl] = StepRunner(models[cfg.impl], cfg, device)
        synchronize(device)
        start = time.perf_counter()
        runner.train_step()  # the first step: allocation, algorithm choice, compilation
        synchronize(device)
        first[cfg.impl] = time.perf_counter() - start
        for _ in range(warmup):
            runner.train_step()
            runner.infer_step()
        memory[cfg.impl] = runner.train_memory(baseline)

    train = interleaved_medians({impl: r.train_step for impl, r in runners.items()}, rounds, steps_per_round)
    infer = interleaved_medians({impl: r.infer_step for impl, r in runners.items()}, rounds, steps_per_round)

    name = torch.cuda.get_device_name(device) if device.type == "cuda" else None
    peak_format = cfg0.precision
    if peak_format == "fp32" and device.type == "cuda" and torch.backends.cudnn.allow_tf32:
        # On Ampere and later, cuDNN runs fp32 convolutions on tensor cores in tf32 by default.
        if torch.cuda.get_device_capability(device) >= (8, 0):
            peak_format = "tf32"
    peak = peak_tflops(name, peak_format) if name else None
    rows = []
    for cfg in configs:
        train_s, infer_s = train[cfg.impl], infer[cfg.impl]
        train_tflops = step_flops * cfg.batch_size / train_s / 1e12
        infer_tflops = forward_flops * cfg.batch_size / infer_s / 1e12
        mem, kind = memory[cfg.impl]
        rows.append(
            {
                **asdict(cfg),
                "mode": cfg.mode,
                "train_ms": train_s * 1e3,
                "infer_ms": infer_s * 1e3,
                "train_img_s": cfg.batch_size / train_s,
                "infer_img_s": cfg.batch_size / infer_s,
                "first_train_step_s": first[cfg.impl],
                "train_memory_mib": mem / 2**20,
                "memory_kind": kind,
                "forward_gflop_per_image": forward_flops / 1e9,
                "train_gflop_per_image": step_flops / 1e9,
                "train_tflops": train_tflops,
                "infer_tflops": infer_tflops,
                "peak_format": peak_format,
                "peak_tflops": peak,
                "train_fraction_of_peak": train_tflops / peak if peak else None,
                "infer_fraction_of_peak": infer_tflops / peak if peak else None,
            }
        )
    return rows


def _release(device: torch.device, compiled: bool) -> None:
    """Give back what a group of cells held: its compiled graphs and its cached GPU memory."""
    if compiled:
        torch._dynamo.reset()
    gc.collect()  # models caught in reference cycles (compiled ones are) go now, not later
    if device.type == "cuda":
        torch.cuda.empty_cache()


def run_grid(
    configs: Sequence[BenchConfig],
    device: torch.device | None = None,
    rounds: int = 5,
    steps_per_round: int = 3,
    warmup: int = 3,
    progress: Callable[[dict], None] | None = None,
) -> list[dict]:
    """Time every config: inference and training-step throughput, memory, TFLOP/s.

    Configs that differ only in the implementation are timed together, interleaved
    (A, B, B, A, ...), after `warmup` untimed steps, and the medians over `rounds` are
    kept. A training step is zero_grad, forward, cross-entropy loss, backward and an SGD
    step; inference is a forward pass under `torch.inference_mode`. The grid runs under
    `resnet_lib.timing.speed_settings` (cuDNN's autotuner on, non-deterministic kernels
    allowed), as a training run for speed would; the settings are restored afterwards.
    On CUDA, a group that runs out of memory is retried with half the batch.

    Args:
        configs: The cells of the grid (see `grid_configs`, `default_grid`).
        device: Where to run; `pick_device()` when ``None``.
        rounds: Timed rounds per config and phase; the result is the median over rounds.
        steps_per_round: Steps in one timed round.
        warmup: Untimed training and inference steps per config, after the first step.
        progress: Called with each row as soon as it is measured (e.g. ``print``).

    Returns:
        One dict per config: the config, ``mode``, ``train_img_s``, ``infer_img_s``,
        ``train_ms``, ``infer_ms``, ``first_train_step_s``, ``train_memory_mib`` and
        ``memory_kind`` (`CUDA_MEMORY` on CUDA, `SAVED_MEMORY` elsewhere), FLOPs per image (``forward_gflop_per_image``,
        ``train_gflop_per_image``), achieved ``train_tflops`` / ``infer_tflops``, and the
        device's ``peak_tflops`` for ``peak_format`` with the fractions of it (None where
        the peak is not known).
    """
    configs = list(configs)
    if not configs or not all(isinstance(c, BenchConfig) for c in configs):
        raise ValueError(f"configs must be a non-empty sequence of BenchConfig; got {configs!r}")
    check_int("rounds", rounds)
    check_int("steps_per_round", steps_per_round)
    check_int("warmup", warmup, minimum=0)
    device = device or pick_device(verbose=False)

    groups: dict[BenchConfig, list[BenchConfig]] = {}
    for cfg in configs:
        groups.setdefault(replace(cfg, impl="resnet_lib"), []).append(cfg)

    rows: list[dict] = []
    weights: dict[int, dict[str, torch.Tensor]] = {}  # depth -> the weights every model starts from
    with speed_settings():
        for group in groups.values():
            group_rows = None
            while group_rows is None:
                try:
                    group_rows = _time_group(group, device, rounds, steps_per_round, warmup, weights)
                except torch.cuda.OutOfMemoryError:
                    batch = group[0].batch_size
                    if batch == 1:
                        raise
                    print(
                        f"out of memory: ResNet-{group[0].depth} {group[0].mode} batch {batch},"
                        f" retrying with {batch // 2}",
                        file=sys.stderr,
                    )
                    group = [replace(c, batch_size=batch // 2) for c in group]
                # Here, outside the except block, the failed try's models and activations are
                # no longer referenced by the exception, so their memory can be given back.
                _release(device, compiled=group[0].compile)
            for row in group_rows:
                if progress:
                    progress(row)
            rows.extend(group_rows)
    return rows


def device_description(device: torch.device) -> str:
    """The GPU's name on CUDA, else the device type ("cpu", "mps")."""
    return torch.cuda.get_device_name(device) if device.type == "cuda" else device.type


def _cell(row: dict) -> tuple:
    """What identifies a cell of the grid (its batch may have been halved to fit)."""
    return tuple(row[k] for k in ("depth", "impl", "precision", "channels_last", "compile", "image_size"))


_SAME = ("device", "torch", "torchvision", "cuda")  # what rows of one results file share


def _measured_on(device: torch.device) -> dict:
    import torchvision

    return {
        "device": device_description(device),
        "device_type": device.type,
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "cuda": torch.version.cuda,
    }


def check_appendable(path: str | Path, device: torch.device) -> None:
    """Raise ValueError if `path` holds results of another device or other versions.

    The command line calls it before measuring anything, so that ``--append`` onto the
    wrong file fails at once rather than after the first cells.
    """
    path = Path(path)
    if not path.exists():
        return
    old, new = load_results(path), _measured_on(device)
    if any(old.get(k) != new[k] for k in _SAME):
        raise ValueError(
            f"path {str(path)!r} holds results of {', '.join(str(old.get(k)) for k in _SAME)}; "
            f"not appending rows of {', '.join(str(new[k]) for k in _SAME)}"
        )


def save_results(
    rows: Sequence[dict], path: str | Path, device: torch.device | None = None, append: bool = False
) -> Path:
    """Write grid rows to a JSON file, with the device, the versions and the date.

    Args:
        rows: What `run_grid` returned.
        path: The file to write (its folder is created).
        device: The device the rows were measured on; `pick_device()` when ``None``.
        append: Keep the rows already in `path` (which must come from the same device
            and versions); a cell measured again replaces its old row.
    """
    if not rows:
        raise ValueError("rows must hold at least one result; got none")
    device = device or pick_device(verbose=False)
    results = {
        **_measured_on(device),
        "date": datetime.date.today().isoformat(),
        "timing_settings": SPEED_SETTINGS,
        "rows": list(rows),
    }
    path = Path(path)
    if append and path.exists():
        check_appendable(path, device)
        new_cells = {_cell(r) for r in rows}
        results["rows"] = [r for r in load_results(path)["rows"] if _cell(r) not in new_cells] + list(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Write a new file, then rename it over the old one: a run killed while writing
    # (a time limit) leaves the previous version whole.
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    partial.replace(path)
    return path


def load_results(path: str | Path) -> dict:
    """Read a file written by `save_results`: a dict with "device", "date", "rows", ..."""
    results = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(results, dict) or not isinstance(results.get("rows"), list):
        raise ValueError(f"path {str(path)!r} is not a benchmark results file (no 'rows' list)")
    return results


def format_rows(rows: Sequence[dict], header: bool = True, memory: str | None = None) -> str:
    """The rows as an aligned text table (images/s, memory, TFLOP/s, % of peak).

    The memory column is named for what it holds: "peak MiB" (`CUDA_MEMORY`) or
    "saved MiB" (`SAVED_MEMORY`, memory saved for backward), "mem MiB" if unknown.

    Args:
        rows: Rows of `run_grid` (none: the header alone).
        header: Start with the line of column names.
        memory: The rows' ``memory_kind``, to name the column when `rows` is empty
            (e.g. ``memory_kind(device)``); by default, read from the rows.
    """
    kinds = {memory} if memory else {r.get("memory_kind") for r in rows}
    mem_column = MEMORY_COLUMNS.get(kinds.pop(), "mem MiB") if len(kinds) == 1 else "mem MiB"
    columns = (
        f"{'model':<11}{'impl':<12}{'mode':<17}{'batch':>6}{'train img/s':>12}{'infer img/s':>12}"
        f"{mem_column:>10}{'train TFLOP/s':>14}{'% peak':>7}"
    )
    lines = [columns] if header else []
    for r in rows:
        frac = r.get("train_fraction_of_peak")
        lines.append(
            f"{'ResNet-' + str(r['depth']):<11}{r['impl']:<12}{r['mode']:<17}{r['batch_size']:>6}"
            f"{r['train_img_s']:>12.1f}{r['infer_img_s']:>12.1f}{r['train_memory_mib']:>10.0f}"
            f"{r['train_tflops']:>14.3f}{'' if frac is None else f'{100 * frac:.1f}':>7}"
        )
    return "\n".join(lines)


def parity(rows: Sequence[dict]) -> list[dict]:
    """resnet_lib / torchvision throughput ratios for every (depth, mode) timed with both."""
    by_cell: dict[tuple, dict[str, dict]] = {}
    for r in rows:
        by_cell.setdefault((r["depth"], r["mode"], r["batch_size"], r["image_size"]), {})[r["impl"]] = r
    out = []
    for (depth, mode, _, _), pair in by_cell.items():
        if {"resnet_lib", "torchvision"} <= pair.keys():
            ours, theirs = pair["resnet_lib"], pair["torchvision"]
            out.append(
                {
                    "depth": depth,
                    "mode": mode,
                    "train_ratio": ours["train_img_s"] / theirs["train_img_s"],
                    "infer_ratio": ours["infer_img_s"] / theirs["infer_img_s"],
                }
            )
    return out


def plot_results(rows: Sequence[dict], title: str = ""):
    """Bar charts of a grid: training and inference images/s (log scale) per depth and mode.

    Bars are resnet_lib, black dots torchvision on the same cell (they should sit on the
    bars' tops). A third panel shows the fraction of the device's peak when it is known,
    the achieved TFLOP/s otherwise.

    Returns:
        The matplotlib figure.
    """
    import matplotlib.pyplot as plt

    if not rows:
        raise ValueError("rows must hold at least one result; got none")
    depths = sorted({r["depth"] for r in rows})
    modes = list(dict.fromkeys(r["mode"] for r in rows))
    use_peak = all(r.get("train_fraction_of_peak") is not None for r in rows)
    panels = [
        ("train_img_s", "training images/s"),
        ("infer_img_s", "inference images/s"),
        ("train_fraction_of_peak", "training: fraction of peak")
        if use_peak
        else ("train_tflops", "training: achieved TFLOP/s"),
    ]
    width = 0.8 / len(modes)
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    for ax, (key, label) in zip(axes, panels):
        for i, mode in enumerate(modes):
            for impl, style in (("resnet_lib", "bar"), ("torchvision", "dot")):
                points = [
                    (depths.index(r["depth"]) + (i - (len(modes) - 1) / 2) * width, r[key])
                    for r in rows
                    if r["mode"] == mode and r["impl"] == impl
                ]
                if not points:
                    continue
                xs, ys = zip(*points)
                if style == "bar":
                    ax.bar(xs, ys, width=width, color=f"C{i}", label=mode)
                else:
                    ax.plot(xs, ys, "k.", label="torchvision" if i == 0 else None)
        ax.set_xticks(range(len(depths)), [f"ResNet-{d}" for d in depths])
        ax.set_title(label)
        if key.endswith("img_s"):
            ax.set_yscale("log")
    axes[0].legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="tasks.py bench",
        description="Time resnet_lib against torchvision (forward + backward), or run the grid of notebook 04."
        f" Timed with {SPEED_SETTINGS}, as a training run for speed would.",
    )
    parser.add_argument("--depth", type=int, default=50, choices=DEPTHS, help="parity benchmark: the depth")
    parser.add_argument("--batch-size", type=int, default=None, help="default: 8, or the grid's default")
    parser.add_argument("--image-size", type=int, default=None, help="default: 224, or the grid's default")
    parser.add_argument("--device", default=None, help="cpu, cuda or mps (default: the best available)")
    grid = parser.add_argument_group("grid (notebook 04)")
    grid.add_argument("--grid", action="store_true", help="run the grid: depths x modes x implementations")
    grid.add_argument("--depths", type=int, nargs="+", choices=DEPTHS, help="default: the device's grid")
    grid.add_argument("--modes", nargs="+", choices=list(MODES), help="default: the device's grid")
    grid.add_argument("--rounds", type=int, default=5, help="timed rounds per cell (median)")
    grid.add_argument(
        "--out", type=Path, default=None, help="write the rows to this JSON file (after every cell)"
    )
    grid.add_argument(
        "--append", action="store_true", help="keep the rows already in --out (same device and versions)"
    )
    args = parser.parse_args(argv)
    device = torch.device(args.device) if args.device else None
    if not args.grid:
        if args.out is not None or args.depths or args.modes or args.append:
            parser.error("--out, --append, --depths and --modes go with --grid")
        batch_size, image_size = args.batch_size or 8, args.image_size or 224
        device = device or pick_device()
        print(
            f"ResNet-{args.depth}, batch {batch_size}, {image_size}x{image_size}, forward + backward, on"
            f" {device_description(device)}: resnet_lib against torchvision (same weights, same batch).",
            flush=True,
        )
        stats = parity_benchmark(
            args.depth, batch_size, image_size, device, progress=lambda line: print(line, flush=True)
        )
        ours, theirs = stats["resnet_lib"], stats["torchvision"]
        for name, s in stats.items():
            print(
                f"  {name:12s} {s.seconds * 1e3:9.1f} ms/step   {s.memory_bytes / 2**20:8.1f} MiB ({s.memory_kind})"
            )
        print(f"  time ratio   (resnet_lib / torchvision): {ours.seconds / theirs.seconds:.3f}")
        print(f"  memory ratio (resnet_lib / torchvision): {ours.memory_bytes / theirs.memory_bytes:.3f}")
        return

    device = device or pick_device()
    grid = _grid_for(device)
    configs = grid_configs(
        args.depths or grid["depths"],
        args.modes or grid["modes"],
        args.batch_size or grid["batch_size"],
        args.image_size or grid["image_size"],
        device,
    )
    if args.append and args.out is not None:
        check_appendable(args.out, device)
    print(
        f"{len(configs)} cells on {device_description(device)}, torch {torch.__version__}, {SPEED_SETTINGS}",
        flush=True,
    )
    kind = memory_kind(device)
    print(f"({MEMORY_COLUMNS[kind]}: {kind})", flush=True)
    print(format_rows([], memory=kind), flush=True)
    measured: list[dict] = []

    def keep(row: dict) -> None:
        print(format_rows([row], header=False), flush=True)
        measured.append(row)
        if args.out is not None:  # now, so that a run stopped halfway keeps what it measured
            save_results(measured, args.out, device, append=args.append)

    rows = run_grid(configs, device, rounds=args.rounds, progress=keep)
    for p in parity(rows):
        print(
            f"ResNet-{p['depth']:<4} {p['mode']:<17} resnet_lib / torchvision: train {p['train_ratio']:.3f}, infer {p['infer_ratio']:.3f}"
        )
    if args.out is not None:
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
