"""One training step, and the memory it takes.

`TrainingStep` is the one training step of the library's timings: `compare_training_step`
(`resnet_lib.tools.timing`) times it without an optimizer, as forward + backward; the benchmark
grid (`resnet_lib.tools.benchmark.StepRunner`) with SGD and mixed precision. `step_memory`
measures what a step needs: on CUDA, the allocator's peak; elsewhere PyTorch keeps no
allocator statistics, so the bytes autograd saves for backward, the part that grows with
the batch. Notebook 05, section 2.4.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from resnet_lib.device import synchronize
from resnet_lib.inspection import saved_tensor_bytes
from resnet_lib.precision import autocast, grad_scaler
from resnet_lib.tools.validate import check_device


def cuda_peak_memory(step: Callable[[], None], device: torch.device) -> int:
    """Bytes at the peak of PyTorch's CUDA allocator during one call of `step`.

    The peak counts everything allocated at that moment, also what was there before the
    call (weights, gradients, other models): subtract `torch.cuda.memory_allocated()`
    taken before, to keep only what `step` adds.

    Args:
        step: The work to measure, e.g. ``lambda: train_step(model, x)``.
        device: The CUDA device `step` runs on.

    Returns:
        The peak of allocated bytes, as `torch.cuda.max_memory_allocated` reports it.
    """
    device = check_device("device", device)
    if device.type != "cuda":
        raise ValueError(
            f"device must be a CUDA device (other devices keep no peak statistics), got {device}"
        )
    synchronize(device)
    torch.cuda.reset_peak_memory_stats(device)
    step()
    synchronize(device)
    return torch.cuda.max_memory_allocated(device)


#: What `step_memory` measures: the CUDA allocator's peak on CUDA (minus what was there
#: before the step, or before the model came to the GPU), the bytes saved for backward elsewhere.
#: {step} says what the step holds: "forward + backward", or "... + optimizer step".
STEP_CUDA_MEMORY = "peak CUDA memory that {step} adds to what was allocated before it"
CUDA_MEMORY = "peak CUDA memory of the model's step (weights, gradients, momentum, activations)"
SAVED_MEMORY = "memory saved for backward"


class TrainingStep:
    """One training step on a fixed batch `x`: zero_grad, forward, loss, backward, optimizer step.

    The loss is cross-entropy against `target`, or without one the sum of the outputs (the
    same backward pass, no labels needed); without an `optimizer` the step ends at the
    gradients. `precision` is "fp32", "bf16" or "fp16" (fp16 also scales the loss), and
    `forward` replaces `model` in the forward pass, e.g. ``torch.compile(model)``.
    """

    def __init__(
        self,
        model: nn.Module,
        x: torch.Tensor,
        target: torch.Tensor | None = None,
        optimizer: torch.optim.Optimizer | None = None,
        precision: str = "fp32",
        forward: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> None:
        self.model, self.x, self.target, self.optimizer = model, x, target, optimizer
        self.precision = precision
        self.forward = model if forward is None else forward  # not `or`: a compiled model has no truth value
        self.scaler = grad_scaler(x.device, precision)

    def __call__(self) -> None:
        # At every call: the grid runs inference steps of the model in between.
        self.model.train()
        self.model.zero_grad(set_to_none=True)
        with autocast(self.x.device, self.precision):
            out = self.forward(self.x)
            if self.target is None:
                loss = out.sum()
            else:
                loss = nn.functional.cross_entropy(out, self.target)
        self.scaler.scale(loss).backward()
        if self.optimizer is not None:
            self.scaler.step(self.optimizer)  # skipped when fp16 gradients overflowed
            self.scaler.update()


def step_memory(step: TrainingStep, baseline: int | None = None) -> tuple[int, str]:
    """Memory of one training step, and what that number counts.

    Args:
        step: The step to measure (it runs once more on CUDA).
        baseline: CUDA only: bytes allocated before the model came to the GPU, so that
            its weights, gradients and momentum count too (`CUDA_MEMORY`); ``None``:
            count only what the step adds to what is there (`STEP_CUDA_MEMORY`, which
            says whether the step holds an optimizer step). Other
            models sitting on the GPU are left out either way.

    Returns:
        ``(bytes, kind)``; on devices without allocator statistics, what autograd keeps
        for backward (`SAVED_MEMORY`), the part of the peak that grows with the batch.
    """
    device = step.x.device
    step.model.zero_grad(set_to_none=True)  # the gradients of an earlier step are not this one's
    if device.type == "cuda":
        if baseline is not None:
            return cuda_peak_memory(step, device) - baseline, CUDA_MEMORY
        before = torch.cuda.memory_allocated(device)  # weights, other models, earlier tensors
        what = "forward + backward" + (" + optimizer step" if step.optimizer is not None else "")
        return cuda_peak_memory(step, device) - before, STEP_CUDA_MEMORY.format(step=what)
    step.model.train()
    with autocast(device, step.precision):
        return saved_tensor_bytes(step.model, step.x), SAVED_MEMORY
