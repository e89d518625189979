"""What a ResNet-50 training step should reach on a GPU: published figures, estimates.

NVIDIA publishes single-GPU training throughputs of ResNet-50 v1.5 in PyTorch for the
A100 and the V100 only (`PUBLISHED`). For the other GPUs of the peak table, an
*estimate* is made with a per-operation roofline: every operation of a training step
(forward and backward, counted on the meta device) takes at least the longer of its
FLOPs at the GPU's peak and its bytes at the GPU's memory bandwidth (`roofline`). A
real run reaches a fraction of that bound; the estimate assumes the fraction that
NVIDIA's A100 mixed-precision run reached (`resnet50_target`). Notebook 05, section 3.3.
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils._pytree import tree_flatten
from torch.utils.flop_counter import flop_registry

from resnet_lib.models import resnet
from resnet_lib.tools.benchmark.peaks import peak_bandwidth, peak_tflops
from resnet_lib.tools.validate import check_int, check_one_of


@dataclass(frozen=True)
class Published:
    """One published single-GPU training throughput of ResNet-50 v1.5."""

    gpu: str  # what torch.cuda.get_device_name() says on that GPU
    precision: str  # the peak it is held against: "fp16" (mixed), "tf32" or "fp32"
    batch_size: int
    channels_last: bool
    img_s: float


#: NVIDIA DeepLearningExamples, PyTorch/Classification/ConvNets/resnet50v1.5/README.md,
#: "Training performance results" (pytorch-21.03 NGC container, 1 GPU of a DGX A100
#: 80GB and of a DGX-1 16GB); batch sizes and layouts from ConvNets/configs.yml of the
#: same repository. Their mixed precision is fp16 with a loss scaler, in NHWC.
#: Published, not measured here.
PUBLISHED: tuple[Published, ...] = (
    Published("NVIDIA A100-SXM4-80GB", "fp16", 256, True, 2470),
    Published("NVIDIA A100-SXM4-80GB", "tf32", 256, False, 938),
    Published("Tesla V100-SXM2-16GB", "fp16", 256, True, 1200),
    Published("Tesla V100-SXM2-16GB", "fp32", 112, False, 367),
)

#: Operations that move no data: allocations (the next operation writes them), aliases.
_NO_TRAFFIC = {
    "empty",
    "empty_like",
    "empty_strided",
    "new_empty",
    "new_empty_strided",
    "detach",
    "alias",
}


@dataclass(frozen=True)
class OpCost:
    """One operation of a training step: its FLOPs and the bytes it reads and writes."""

    name: str
    flops: int
    bytes: int


def _bytes(tensors: list) -> int:
    # Each tensor counts once, by its size: an in-place operation reads and writes the
    # same tensor and is counted once, a lower bound.
    unique = {id(t): t for t in tensors if isinstance(t, torch.Tensor)}
    return sum(t.numel() * t.element_size() for t in unique.values())


class _Recorder(torch.utils._python_dispatch.TorchDispatchMode):
    """Records every operation that runs, with its FLOPs and the bytes it touches."""

    def __init__(self) -> None:
        super().__init__()
        self.ops: list[OpCost] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        name = func.overloadpacket.__name__
        if func.is_view or name in _NO_TRAFFIC:
            return out
        count = flop_registry.get(func.overloadpacket)  # PyTorch's own FLOP formulas
        flops = 0 if count is None else count(*args, **kwargs, out_val=out)
        touched = tree_flatten((args, kwargs, out))[0]
        self.ops.append(OpCost(name, flops, _bytes(touched)))
        return out


def step_costs(
    model: nn.Module,
    batch_size: int,
    image_size: int = 224,
) -> list[OpCost]:
    """Every `OpCost` of a training step of `model`: forward, cross-entropy, backward.

    Run on the meta device (shapes only, no time, no memory) on a copy of `model`, in
    the dtype of its parameters: build it in bf16 to count 16-bit traffic. `model`
    itself is left as it was.
    """
    check_int("batch_size", batch_size)
    check_int("image_size", image_size)
    dtype = next(model.parameters()).dtype
    model = copy.deepcopy(model).to("meta").train()
    x = torch.empty(batch_size, 3, image_size, image_size, device="meta", dtype=dtype)
    y = torch.zeros(batch_size, dtype=torch.long, device="meta")
    with _Recorder() as recorder:
        F.cross_entropy(model(x), y).backward()
    return recorder.ops


#: Bytes per parameter moved outside the network's operations in a mixed-precision
#: step: SGD with momentum reads weight, gradient and momentum and writes weight and
#: momentum (5 x 4 bytes); autocast reads each fp32 weight and writes its 16-bit copy
#: (4 + 2); the 16-bit weight gradient is read and written to the fp32 .grad (2 + 4).
OPTIMIZER_BYTES_PER_PARAMETER = 32


@dataclass(frozen=True)
class Roofline:
    """The fastest a step can run: each operation at the peak FLOP/s or bandwidth."""

    seconds: float  # the sum over operations of max(compute time, memory time)
    compute_seconds: float  # all FLOPs at the peak
    memory_seconds: float  # all bytes at the bandwidth
    memory_bound_share: float  # of `seconds`, in operations limited by bandwidth


def roofline(ops: list[OpCost], parameters: int, tflops: float, tbs: float) -> Roofline:
    """The roofline of `ops` (`step_costs`) on a GPU of `tflops` TFLOP/s, `tbs` TB/s."""
    flop_s, byte_s = tflops * 1e12, tbs * 1e12
    seconds = memory_bound = 0.0
    for op in ops:
        compute, memory = op.flops / flop_s, op.bytes / byte_s
        seconds += max(compute, memory)  # an operation waits for the slower of the two
        if memory >= compute:
            memory_bound += memory
    # The optimizer and autocast's casts: passes over the weights, little arithmetic.
    optimizer = parameters * OPTIMIZER_BYTES_PER_PARAMETER / byte_s
    seconds += optimizer
    memory_bound += optimizer
    return Roofline(
        seconds=seconds,
        compute_seconds=sum(op.flops for op in ops) / flop_s,
        memory_seconds=sum(op.bytes for op in ops) / byte_s + optimizer,
        memory_bound_share=memory_bound / seconds,
    )


BATCH_SIZE = 256  # the batch of NVIDIA's published runs


@functools.lru_cache(maxsize=1)
def resnet50_step_costs() -> tuple[list[OpCost], int]:
    """`step_costs` of a bf16 ResNet-50 at batch 256, and its number of parameters."""
    with torch.device("meta"):
        model = resnet(50).to(torch.bfloat16)
    return step_costs(model, BATCH_SIZE), sum(p.numel() for p in model.parameters())


def resnet50_roofline_img_s(device_name: str, precision: str = "bf16") -> float | None:
    """Images/s of a 16-bit ResNet-50 training step at its roofline; None if unknown."""
    check_one_of("precision", precision, ("bf16", "fp16"))
    tflops, tbs = peak_tflops(device_name, precision), peak_bandwidth(device_name)
    if tflops is None or tbs is None:
        return None
    ops, parameters = resnet50_step_costs()
    return BATCH_SIZE / roofline(ops, parameters, tflops, tbs).seconds


@dataclass(frozen=True)
class Target:
    """What a ResNet-50 mixed-precision training step should reach on one GPU."""

    img_s: float
    published: bool  # True: NVIDIA's figure; False: an estimate (see `how`)
    how: str


def resnet50_target(device_name: str, precision: str = "bf16") -> Target | None:
    """The published 16-bit throughput of this GPU, else an estimate; None if unknown.

    The estimate is this GPU's roofline (`resnet50_roofline_img_s`) times the share of
    its own roofline that NVIDIA's A100 mixed-precision run reached. Faster GPUs tend
    to reach a smaller share (the fixed costs of each kernel weigh more), so it is
    optimistic.
    """
    for p in PUBLISHED:
        if p.gpu == device_name and p.precision in ("fp16", "bf16"):
            how = f"published by NVIDIA ({p.precision}, batch {p.batch_size})"
            return Target(p.img_s, True, how)
    roof = resnet50_roofline_img_s(device_name, precision)
    if roof is None:
        return None
    a100 = PUBLISHED[0]
    share = a100.img_s / resnet50_roofline_img_s(a100.gpu, a100.precision)
    how = f"estimate: roofline {roof:,.0f} img/s x {share:.0%} (A100's share)"
    return Target(roof * share, False, how)
