"""Notebook 06's exercises: steps per epoch, transfer, checkpoints, DDP, one training step.

06.5 is a coding exercise: the learner writes ``train_step(model, optimizer, images,
labels)``. The check runs it for two steps on a small seeded network next to a
reference step, and records the order of what it does (forward, backward, the
optimizer's step and zero_grad) to name the usual mistakes.
"""

from __future__ import annotations

from typing import Any

from resnet_lib.checks.core import EXERCISES, as_float, judge_letters, judge_value

# The paper's batch and steps, and the processes of exercises 06.4 and 06.6.
BATCH, PAPER_STEPS, PROCESSES, MORE_PROCESSES = 128, 64_000, 4, 8


def steps_per_epoch(processes: int, batch_size: int) -> int:
    """Optimizer steps per epoch of `train_cifar` on CIFAR-10's training split.

    Built as `train_cifar` builds its loader (a DistributedSampler under torchrun, and
    drop_last), on as many indices as the library's training split holds: no images.
    """
    from torch.utils.data import DataLoader, DistributedSampler

    from resnet_lib.tools.data import CIFAR10_TRAIN

    images = range(CIFAR10_TRAIN)
    sampler = None
    if processes > 1:
        sampler = DistributedSampler(images, processes, 0, shuffle=True, drop_last=True)
    return len(DataLoader(images, batch_size, sampler=sampler, drop_last=True))


def _images() -> int:
    from resnet_lib.tools.data import CIFAR10_TRAIN

    return CIFAR10_TRAIN


def _epochs_for(steps: int, per_epoch: int) -> int:
    return -(-steps // per_epoch)


# Exercise 06.3: what torch.load(..., weights_only=True) reads back. Each object is saved
# and loaded by the check itself; for each letter, what to say when it is picked wrongly
# and when it is left out wrongly.
LOADABLE = {
    "a": (
        "model.state_dict()",
        "it loads: an ordered dict of tensors is what weights_only is for",
        "a state_dict is an (ordered) dict of tensors: it loads",
    ),
    "b": (
        '{"epoch": 3, "lr": 0.1, "history": [2.3, 1.9]}',
        "it loads: dicts, lists, numbers and strings are plain containers",
        "dicts, lists, numbers and strings are plain containers: they load",
    ),
    "c": (
        "args, the argparse.Namespace of a training script",
        "a Namespace is an object of a class (argparse's), so unpickling it would build that class: "
        "refused. Save vars(args), a dict, instead",
        "",
    ),
    "d": (
        "the model itself, torch.save(model, path)",
        "a whole model is pickled as an object of its class (and the file names the class): refused. "
        "Save model.state_dict()",
        "",
    ),
    "e": (
        "torch.get_rng_state()",
        "it loads: a generator's state is a tensor of bytes",
        "a generator's state is a tensor (of bytes): it loads",
    ),
    "f": (
        "optimizer.state_dict()",
        "it loads: an optimizer's state_dict is dicts and lists of tensors and numbers",
        "an optimizer's state_dict holds dicts and lists of tensors and numbers: it loads",
    ),
    "g": (
        'pathlib.Path("runs/last.pt")',
        "a Path is an object of a class (pathlib's): refused. Save str(path)",
        "",
    ),
}


def _saved_objects() -> dict[str, Any]:
    import argparse
    import pathlib

    import torch
    from torch import nn

    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.ones(2, 3, 5, 5)).sum().backward()
    optimizer.step()  # now it has momentum buffers
    return {
        "a": model.state_dict(),
        "b": {"epoch": 3, "lr": 0.1, "history": [2.3, 1.9]},
        "c": argparse.Namespace(lr=0.1, epochs=30),
        "d": model,
        "e": torch.get_rng_state(),
        "f": optimizer.state_dict(),
        "g": pathlib.Path("runs/last.pt"),
    }


def _loadable() -> set[str]:
    """The letters of exercise 06.3 whose object `torch.load(..., weights_only=True)` reads back."""
    import io

    import torch

    letters = set()
    with torch.random.fork_rng(devices=[]):
        objects = _saved_objects()
    for letter, value in objects.items():
        buffer = io.BytesIO()
        torch.save(value, buffer)
        buffer.seek(0)
        try:
            torch.load(buffer, weights_only=True)
        except Exception:  # refused: an UnpicklingError
            continue
        letters.add(letter)
    return letters


# Exercise 06.2: what a frozen network trained in train mode still changes. For
# each letter, what to say when it is picked wrongly and when it is left out wrongly.
FROZEN = {
    "a": (
        "requires_grad_(False) leaves conv1's weight without a gradient, and SGD "
        "skips a parameter that has none (its weight decay too): it stays as it was",
        "",
    ),
    "b": (
        "",
        "a BatchNorm in train mode updates its running mean at every forward pass, "
        "gradient or not: requires_grad_(False) does not stop that",
    ),
    "c": (
        "BatchNorm's weight is a parameter like the others: frozen, no gradient, no change",
        "",
    ),
    "d": (
        "",
        "the new fc requires gradients (a new layer does), and the optimizer updates it",
    ),
    "e": (
        "",
        "in eval mode BatchNorm normalises with its running statistics, and those "
        "moved: the frozen part computes something else, though no parameter changed",
    ),
    "f": (
        "in train mode BatchNorm normalises with the batch's own statistics, and no "
        "parameter of the frozen part changed: the same batch gives the same output",
        "",
    ),
}


def _changed_when_frozen() -> set[str]:
    """Train a small network as exercise 06.2 says; the letters of what changed."""
    import copy

    import torch
    from torch import nn

    with torch.random.fork_rng(devices=[]):
        model = small_model()
        model.requires_grad_(False)
        model[-1] = nn.Linear(4, 3)  # the new fc: trainable
        x = torch.randn(16, 3, 6, 6)
        y = torch.randint(0, 3, (16,))
        trainable = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.SGD(trainable, lr=0.1, momentum=0.9, weight_decay=1e-4)

        def seen() -> list[torch.Tensor]:
            probe = copy.deepcopy(model[:-1])  # the frozen part, read on a copy
            with torch.no_grad():
                outputs = [probe.eval()(x[:1]), probe.train()(x)]
            bn = model[1]
            tensors = [model[0].weight, bn.running_mean, bn.weight, model[-1].weight]
            return [t.clone() for t in tensors] + outputs

        before = seen()
        for _ in range(3):  # a short epoch, in train mode as train() runs it
            loss = nn.functional.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        after = seen()
    return {k for k, a, b in zip("abcdef", before, after) if not torch.equal(a, b)}


# Exercise 06.6: one DDP step of 8 processes x 16 images against one process's
# step of 128.
SPLIT = {
    "a": (
        "each process averages the loss over its 16 images and DDP averages the 8 "
        "gradients: a mean of 8 means of 16 is the mean over all 128",
        "",
    ),
    "b": (
        "the linear scaling rule scales the rate with the global batch, and that is still 128",
        "",
    ),
    "c": (
        "",
        "BatchNorm is each process's own: it normalises with the mean of that process's images",
    ),
    "d": (
        "",
        "the gradient flows through the BatchNorms, whose means differ, so it differs "
        "too, and the weights with it",
    ),
    "e": (
        "without BatchNorm every image's loss and gradient is computed alone, so the "
        "averaged gradients are the same (up to rounding)",
        "",
    ),
    "f": (
        "each process gets an eighth of the epoch, in batches of an eighth: as many steps",
        "",
    ),
}


def _differs_under_ddp() -> set[str]:
    """A simulated DDP step (gradients averaged over 8 chunks) against one process's."""
    import torch
    from torch import nn

    def step(model: nn.Module, chunks: list[tuple[torch.Tensor, torch.Tensor]]) -> list:
        grads = []
        for x, y in chunks:  # one process each; DDP averages their gradients
            model.zero_grad()
            nn.functional.cross_entropy(model.train()(x), y).backward()
            grads.append([p.grad.clone() for p in model.parameters()])
        with torch.no_grad():
            pairs = zip(model.parameters(), *grads)
            return [p - 0.1 * sum(g) / len(g) for p, *g in pairs]

    def same(one: list, many: list) -> bool:
        return all(torch.allclose(a, b, atol=1e-6) for a, b in zip(one, many))

    with torch.random.fork_rng(devices=[]):
        x, y = torch.randn(BATCH, 3, 6, 6), torch.randint(0, 3, (BATCH,))
        chunks = list(zip(x.chunk(MORE_PROCESSES), y.chunk(MORE_PROCESSES)))
        with_bn, without_bn = small_model(), small_model()
        without_bn[1] = nn.Identity()
        share, whole = chunks[0][0].mean(dim=(0, 2, 3)), x.mean(dim=(0, 2, 3))
        small = BATCH // MORE_PROCESSES
        differ = {
            "a": sum(len(c[1]) for c in chunks) != BATCH,
            "b": False,  # the rule follows the global batch: BATCH in both runs
            "c": not torch.allclose(share, whole),
            "d": not same(step(with_bn, [(x, y)]), step(with_bn, chunks)),
            "e": not same(step(without_bn, [(x, y)]), step(without_bn, chunks)),
            "f": steps_per_epoch(MORE_PROCESSES, small) != steps_per_epoch(1, BATCH),
        }
    return {k for k, v in differ.items() if v}


def small_model() -> Any:
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
    """One training step as notebook 06 (and `resnet_lib.training.train`) takes it."""
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

    model = small_model().eval()  # handed over in eval mode, as after an evaluation
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
    if str(getattr(train_step, "__module__", "")).startswith("resnet_lib"):
        return False, (
            f"❌ Not yet: {getattr(train_step, '__name__', train_step)!r} comes from "
            f"{train_step.__module__}, not from you: write the step yourself."
        )
    g = torch.Generator().manual_seed(0)
    steps = [(torch.randn(8, 3, 6, 6, generator=g), torch.randint(0, 3, (8,), generator=g)) for _ in range(2)]
    with torch.random.fork_rng(devices=[]):
        model, losses, events = _recording_run(train_step, steps)
        reference = small_model()
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
    if events.count("step") > len(steps):
        return False, (
            f"❌ Not yet: optimizer.step() ran {events.count('step')} times in {len(steps)} calls of "
            "your train_step: take exactly one optimizer step per call."
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
    values = [as_float(v) if isinstance(v, float) else None for v in losses]
    if any(v is None for v in values):
        bad = next(v for v, f in zip(losses, values) if f is None)
        return False, f"❌ Not yet: return the loss as a float; your step returned {bad!r}."
    for step, (mine, theirs) in enumerate(zip(values, right), 1):
        if abs(mine - theirs) < 1e-5:
            continue
        if step == 1:
            return False, (
                f"❌ Not yet: your step's first loss is {mine:.4f}, the reference's {theirs:.4f}: use "
                "F.cross_entropy(model(images), labels) on the logits (it applies the softmax itself)."
            )
        return False, (
            f"❌ Not yet: the first loss agrees, but the second is {mine:.4f}, the reference's "
            f"{theirs:.4f}: your first step changed the weights differently; take one optimizer "
            "step per call, after backward."
        )
    for (name, p), q in zip(model.named_parameters(), reference.parameters()):
        if not torch.allclose(p, q, atol=1e-5):
            return (
                False,
                f"❌ Not yet: after two steps, {name} differs from the reference step's: take one optimizer step per call.",
            )
    for (name, b), c in zip(model.named_buffers(), reference.buffers()):
        if not torch.allclose(b.double(), c.double(), atol=1e-6):
            return False, (
                f"❌ Not yet: the weights agree, but BatchNorm's {name} does not: "
                "every forward pass in train mode updates it: run the model once a step."
            )
    return (
        True,
        "✅ Correct: your train_step trains as the reference does, in train mode, one clean step at a time.",
    )


def register() -> None:
    """Put notebook 06's judges into `EXERCISES`."""

    one_gpu = lambda: steps_per_epoch(1, BATCH)  # noqa: E731
    EXERCISES["06.1"] = judge_value(
        lambda: _epochs_for(PAPER_STEPS, one_gpu()),
        "Count the steps of one epoch first (which images does train_cifar train on, and what "
        "happens to the last incomplete batch?), then how many epochs reach 64,000 steps.",
        lambda: [
            (
                round(PAPER_STEPS / (50_000 // BATCH)),
                "that counts all 50,000 training images: the library trains on its training split "
                "and keeps the rest for validation",
            ),
            (
                _epochs_for(PAPER_STEPS, 50_000 // BATCH),
                "that counts all 50,000 training images: the library trains on its training split "
                "and keeps the rest for validation",
            ),
            (
                PAPER_STEPS // one_gpu(),
                f"rounding down stops {PAPER_STEPS - PAPER_STEPS // one_gpu() * one_gpu()} steps short "
                "of 64,000: the last epoch is needed too",
            ),
            (
                _epochs_for(PAPER_STEPS, -(-_images() // BATCH)),
                "that counts the incomplete last batch, which drop_last=True drops",
            ),
        ],
        whole="--epochs is a whole number: answer an int",
    )
    EXERCISES["06.2"] = judge_letters(_changed_when_frozen, FROZEN, "".join(FROZEN))
    EXERCISES["06.3"] = judge_letters(
        _loadable, {k: (picked, left) for k, (_, picked, left) in LOADABLE.items()}, "".join(LOADABLE)
    )
    EXERCISES["06.4"] = judge_value(
        lambda: steps_per_epoch(PROCESSES, BATCH),
        "Each process gets a quarter of the training images per epoch, in batches of 128; all take "
        "each step together.",
        lambda: [
            (one_gpu(), "that is one process alone: under DDP each process sees only its share"),
            (
                PROCESSES * one_gpu(),
                "the processes share an epoch: each step trains on 4 x 128 images",
            ),
            (
                50_000 // PROCESSES // BATCH,
                "that counts all 50,000 training images: the library trains on its training split",
            ),
            (
                -(-_images() // PROCESSES // BATCH),
                "that counts the incomplete last batch, which drop_last=True drops",
            ),
        ],
        whole="steps are whole numbers: answer an int",
    )
    EXERCISES["06.5"] = _judge_train_step
    EXERCISES["06.6"] = judge_letters(_differs_under_ddp, SPLIT, "".join(SPLIT))
