"""Notebook 05's exercises: steps per epoch, transfer, checkpoints, DDP, one training step.

05.5 is a coding exercise: the learner writes ``train_step(model, optimizer, images,
labels)``. The check runs it for two steps on a small seeded network next to a
reference step, and records the order of what it does (forward, backward, the
optimizer's step and zero_grad) to name the usual mistakes.
"""

from __future__ import annotations

from typing import Any

from resnet_lib.checks.core import EXERCISES, judge_choice, judge_value

# CIFAR-10's training images, the paper's batch, and the processes of exercises 05.4 and 05.6.
IMAGES, BATCH, PROCESSES, MORE_PROCESSES = 50_000, 128, 4, 8


def _small_model() -> Any:
    """A seeded network with a BatchNorm, so that train and eval mode give other losses."""
    import torch
    from torch import nn

    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1, bias=False),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(4, 3),
    )


def reference_step(model: Any, optimizer: Any, images: Any, labels: Any) -> float:
    """One training step as notebook 05 (and `resnet_lib.training.train`) takes it."""
    import torch.nn.functional as F

    model.train()
    optimizer.zero_grad(set_to_none=True)
    loss = F.cross_entropy(model(images), labels)
    loss.backward()
    optimizer.step()
    return loss.item()


def _recording_run(train_step: Any, steps: list[tuple[Any, Any]]) -> tuple[Any, list, list[str]]:
    """Run the learner's `train_step` on each batch of `steps`; record what happens, in order.

    Events: ``"forward(train)"`` or ``"forward(eval)"``, ``"backward(stale)"`` when the
    gradients were not cleared since the last step, ``"backward"``, ``"step"``, ``"zero_grad"``.
    """
    import torch

    model = _small_model().eval()  # handed over in eval mode, as after an evaluation
    events: list[str] = []

    class RecordingSGD(torch.optim.SGD):
        def step(self, closure=None):  # noqa: ANN001, ANN202 - the signature of Optimizer.step
            events.append("step")
            return super().step(closure)

        def zero_grad(self, set_to_none: bool = True) -> None:
            events.append("zero_grad")
            super().zero_grad(set_to_none)

    optimizer = RecordingSGD(model.parameters(), lr=0.1, momentum=0.9)
    model.register_forward_pre_hook(
        lambda m, inputs: events.append(f"forward({'train' if m.training else 'eval'})")
    )
    weight = model[-1].weight

    def on_grad(grad: Any) -> None:  # runs before the gradient is added to weight.grad
        stale = weight.grad is not None and bool(weight.grad.abs().sum() > 0)
        events.append("backward(stale)" if stale else "backward")

    weight.register_hook(on_grad)
    # Gradients left from an earlier batch: a step that does not clear them adds to them.
    for p in model.parameters():
        p.grad = torch.full_like(p, 0.5)
    losses = [train_step(model, optimizer, images, labels) for images, labels in steps]
    return model, losses, events


def _judge_train_step(train_step: Any) -> tuple[bool, str]:
    import torch

    if not callable(train_step):
        return (
            False,
            f"❌ Not yet: pass your function itself (its name, without parentheses), not {train_step!r}.",
        )
    g = torch.Generator().manual_seed(0)
    steps = [(torch.randn(8, 3, 6, 6, generator=g), torch.randint(0, 3, (8,), generator=g)) for _ in range(2)]
    with torch.random.fork_rng(devices=[]):
        model, losses, events = _recording_run(train_step, steps)
        reference = _small_model()
        optimizer = torch.optim.SGD(reference.parameters(), lr=0.1, momentum=0.9)
        right = [reference_step(reference, optimizer, x, y) for x, y in steps]
    if any(e == "forward(eval)" for e in events):
        return False, (
            "❌ Not yet: your step ran the model in eval mode (the check hands it over in eval mode, "
            "as after an evaluation): call model.train() first, so that BatchNorm uses the batch's statistics."
        )
    if not any(e.startswith("backward") for e in events):
        return False, "❌ Not yet: no gradient was computed: call loss.backward()."
    if "step" not in events:
        return False, "❌ Not yet: the weights never changed: call optimizer.step() after loss.backward()."
    for before, after in zip(events, events[1:]):
        if before == "step" and after.startswith("backward"):
            return False, (
                "❌ Not yet: optimizer.step() runs before loss.backward(), so it applies the previous "
                "gradients: the order is zero_grad, forward, loss, backward, step."
            )
    if "backward(stale)" in events:
        return False, (
            "❌ Not yet: the gradients of the previous step were still there at backward, and "
            "backward adds to them: call optimizer.zero_grad() before loss.backward()."
        )
    if isinstance(losses[0], torch.Tensor):
        return False, (
            "❌ Not yet: return loss.item(), a Python float: the tensor keeps the whole graph of the step in memory."
        )
    if not all(isinstance(v, float) for v in losses):
        return False, f"❌ Not yet: return the loss as a float; your step returned {losses[0]!r}."
    if not all(abs(a - b) < 1e-5 for a, b in zip(losses, right)):
        return False, (
            f"❌ Not yet: your step returned the loss {losses[0]:.4f}, the reference {right[0]:.4f}: "
            "use F.cross_entropy(model(images), labels) on the logits (it applies the softmax itself)."
        )
    for (name, p), q in zip(model.named_parameters(), reference.parameters()):
        if not torch.allclose(p, q, atol=1e-5):
            return (
                False,
                f"❌ Not yet: after two steps, {name} differs from the reference step's: take one optimizer step per call.",
            )
    return (
        True,
        "✅ Correct: your train_step trains as the reference does, in train mode, one clean step at a time.",
    )


def register() -> None:
    """Put notebook 05's judges into `EXERCISES`."""
    from torch import nn

    from resnet_lib.inspection import count_parameters

    EXERCISES["05.1"] = judge_value(
        lambda: IMAGES // BATCH,
        "Divide, and mind the last batch: make_loaders drops it when it is incomplete.",
        lambda: [
            (-(-IMAGES // BATCH), "rounding up counts the incomplete last batch, which drop_last=True drops")
        ],
    )
    EXERCISES["05.2"] = judge_value(
        lambda: count_parameters(nn.Linear(2048, 5)),
        "Only the new fc layer trains: its weight matrix and its bias.",
        lambda: [
            (2048 * 5, "the bias is missing: nn.Linear has one per output"),
            (2048 * 1000 + 1000, "that is ImageNet's fc with 1,000 classes; the new one has 5"),
            (5, "that is only the bias"),
        ],
    )
    EXERCISES["05.3"] = judge_choice(
        "b",
        {
            "a": "weights_only=True loads everything the file holds, the optimizer state too; it is not about speed.",
            "c": "strict=True is an argument of load_state_dict; torch.load does not touch any model.",
        },
    )
    EXERCISES["05.4"] = judge_value(
        lambda: IMAGES // PROCESSES // BATCH,
        "Each process gets a quarter of the images per epoch, in batches of 128; all take each step together.",
        lambda: [
            (IMAGES // BATCH, "that is one process alone: under DDP each process sees only its share"),
            (
                PROCESSES * (IMAGES // BATCH),
                "the processes share an epoch: each step trains on 4 x 128 images",
            ),
        ],
    )
    EXERCISES["05.5"] = _judge_train_step
    EXERCISES["05.6"] = judge_value(
        lambda: (BATCH // MORE_PROCESSES, IMAGES // MORE_PROCESSES // (BATCH // MORE_PROCESSES)),
        "One step trains on every process's batch together: the global batch is their sum.",
        lambda: [
            (
                (BATCH, IMAGES // MORE_PROCESSES // BATCH),
                f"with --batch-size {BATCH} each step trains on {MORE_PROCESSES} x {BATCH} images, not {BATCH}",
            ),
            (
                (BATCH // MORE_PROCESSES, IMAGES // MORE_PROCESSES // BATCH),
                "the global batch is the paper's again, so an epoch has as many steps as the paper's",
            ),
            (
                (BATCH // MORE_PROCESSES, IMAGES // (BATCH // MORE_PROCESSES)),
                f"that counts all {IMAGES:,} images per process: each one sees an eighth of them",
            ),
        ],
    )
