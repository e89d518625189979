"""Notebook 04's exercises: the costs of whole ResNets, and a network designed for a budget.

Every judge builds the networks it needs on the "meta" device (shapes without data:
a ResNet-152 in a fraction of a second) and counts on them, so the notebook's page
holds neither an answer nor the expression that computes it.
"""

from __future__ import annotations

from typing import Any

from resnet_lib.checks.core import EXERCISES, as_ints, as_str, judge_letters, judge_number, judge_value

# Exercise 04.4: at least this deep, at most this many parameters, each stage at least ResNet-50's.
DESIGN_DEPTH, DESIGN_BUDGET = 101, 35_000_000
# Exercise 04.2: the input side of a ResNet-50 that is not 224.
LARGE_INPUT = 300


def _on_meta(build: Any) -> Any:
    """`build()` run with every new tensor on the meta device."""
    import torch

    with torch.device("meta"):
        return build()


def _stem_macs() -> int:
    from resnet_lib.flops import count_flops
    from resnet_lib.models import resnet

    return count_flops(resnet(18).conv1, (1, 3, 224, 224)).macs


def _stage1_conv_macs() -> int:
    """Multiply-adds of one 3x3 conv of stage 1 (64 -> 64 channels on the 56 x 56 map)."""
    from resnet_lib.flops import count_flops
    from resnet_lib.models import resnet

    return count_flops(resnet(18).layer1[0].conv1, (1, 64, 56, 56)).macs


def _bug_fingerprints(depth: int) -> dict[str, int]:
    """Parameters that each bug of notebook 04's section 5 adds to a ResNet of `depth`.

    "1": a bias in every conv; "2": a projection in the first block of every stage, needed
    or not; "3": a classifier wired to 2048 inputs; "4": ``identity = x.clone()``.
    """
    from resnet_lib.blocks import projection_shortcut
    from resnet_lib.inspection import count_parameters
    from resnet_lib.models import resnet

    model = _on_meta(lambda: resnet(depth))
    missing = [
        getattr(model, f"layer{i}")[0]
        for i in range(1, 5)
        if getattr(model, f"layer{i}")[0].downsample is None
    ]
    projections = sum(
        count_parameters(
            _on_meta(lambda b=b: projection_shortcut(b.conv1.in_channels, b.conv1.in_channels, 1))
        )
        for b in missing
    )
    classifier = 2048 * 1000 + 1000 - count_parameters(model.fc)
    return {"1": _conv_biases(depth), "2": projections, "3": classifier, "4": 0}


# Exercise 04.5: a ResNet-50 with this many parameters more than torchvision's.
BUG_DEPTH = 50


def _possible_bugs() -> set[str]:
    """The bugs a ResNet-50 with bug 1's extra parameters can have, judged by its count alone."""
    prints = _bug_fingerprints(BUG_DEPTH)
    return {"1"} | {bug for bug, extra in prints.items() if extra == 0}


def _block_parameters(layers: tuple[int, ...]) -> list[int]:
    """Parameters of one repeated (not first) Bottleneck block in each stage."""
    from resnet_lib.blocks import Bottleneck
    from resnet_lib.inspection import count_parameters
    from resnet_lib.models import ResNet

    model = _on_meta(lambda: ResNet(Bottleneck, layers))
    return [count_parameters(getattr(model, f"layer{i}")[-1]) for i in range(1, 5)]


def _judge_design(answer: Any) -> tuple[bool, str]:
    """Exercise 04.4: blocks per stage of a Bottleneck ResNet, at least 101 layers deep,
    with at most 35 million parameters and no stage shallower than ResNet-50's."""
    from resnet_lib.blocks import Bottleneck
    from resnet_lib.inspection import count_parameters
    from resnet_lib.models import RESNET_CONFIGS, ResNet

    ints = as_ints(answer)
    if ints is None or len(ints) != 4:
        return (
            False,
            f"❌ Not yet: answer the blocks of the four stages, a tuple of four ints; you gave {answer!r}.",
        )
    answer = ints
    least = RESNET_CONFIGS[50][1]
    if any(n < m for n, m in zip(answer, least)):
        return False, f"❌ Not yet: every stage needs at least ResNet-50's blocks {least}; you gave {answer}."
    depth = 2 + 3 * sum(answer)
    if depth < DESIGN_DEPTH:
        return False, (
            f"❌ Not yet: {answer} is {depth} layers deep (2 + 3 per Bottleneck block), "
            f"less than {DESIGN_DEPTH}: add blocks."
        )
    parameters = count_parameters(_on_meta(lambda: ResNet(Bottleneck, answer)))
    if parameters > DESIGN_BUDGET:
        costs = ", ".join(f"stage {i} {n / 1e6:.2f} M" for i, n in enumerate(_block_parameters(answer), 1))
        return False, (
            f"❌ Not yet: {answer} has {parameters / 1e6:.1f} million parameters, more than "
            f"{DESIGN_BUDGET / 1e6:.0f} million. One more block costs {costs}: where is depth cheap?"
        )
    return (
        True,
        f"✅ Correct: {answer} is {depth} layers deep with {parameters / 1e6:.1f} million parameters.",
    )


def _large_input() -> tuple[int, int]:
    """(side of ResNet-50's last map, numbers its classifier reads) for a LARGE_INPUT image."""
    import torch

    from resnet_lib.models import resnet

    model = _on_meta(lambda: resnet(50))
    features = model.forward_features(torch.empty(1, 3, LARGE_INPUT, LARGE_INPUT, device="meta"))
    return features.shape[-1], model.fc.in_features


def _judge_stage(answer: Any) -> tuple[bool, str]:
    """Exercise 04.3: the stage of ResNet-152 that holds the most parameters."""
    from resnet_lib.inspection import count_parameters
    from resnet_lib.models import resnet

    model = _on_meta(lambda: resnet(152))
    names = [f"layer{i}" for i in range(1, 5)]
    counts = {name: count_parameters(getattr(model, name)) for name in names}
    right = max(counts, key=counts.get)
    text = as_str(answer)
    if text is None or text.strip() not in names:
        return False, f"❌ Not yet: answer one of the names {names}; you gave {answer!r}."
    answer = text.strip()
    if answer == right:
        return (
            True,
            f"✅ Correct: {right!r}, with {counts[right] / counts['layer1']:.0f} times the parameters of layer1.",
        )
    # The first block of a stage holds the projection too: say both sizes.
    stage = getattr(model, answer)
    first, other = (count_parameters(stage[i]) / 1e6 for i in (0, -1))
    return False, (
        f"❌ Not yet: {answer!r} has {len(stage)} blocks: the first (with the "
        f"projection) {first:.2f} million parameters, each other {other:.2f} million. "
        "Multiply blocks by parameters per block for each stage: which product is the largest?"
    )


def _conv_biases(depth: int) -> int:
    """What bug 1 (a bias in every conv) adds: one parameter per output channel of every conv."""
    from torch import nn

    from resnet_lib.models import resnet

    model = _on_meta(lambda: resnet(depth))
    return sum(m.out_channels for m in model.modules() if isinstance(m, nn.Conv2d))


def _projection_outputs(depth: int) -> int:
    from resnet_lib.models import resnet

    model = _on_meta(lambda: resnet(depth))
    return sum(m[0].out_channels for name, m in model.named_modules() if name.endswith("downsample"))


def register() -> None:
    """Put notebook 04's judges into `EXERCISES`."""
    EXERCISES["04.1"] = judge_number(
        lambda: _stem_macs() / _stage1_conv_macs(),
        2,
        "Each output value is one dot product over the kernel's window of every input channel: "
        "count outputs times window for each conv.",
        lambda: [
            (
                _stem_macs() / 3 / _stage1_conv_macs(),
                "the stem's 3 input channels are missing: each of its filters is 7 x 7 x 3",
            ),
            (
                4 * _stem_macs() / _stage1_conv_macs(),
                "that counts the stem on the 224 x 224 input; it writes a 112 x 112 map",
            ),
            (
                _stage1_conv_macs() / _stem_macs(),
                "that is the ratio upside down: the 3x3 conv over the stem",
            ),
            (
                _stem_macs() / (_stage1_conv_macs() / 64),
                "the 3x3 conv reads all 64 input channels: each filter is 3 x 3 x 64",
            ),
        ],
    )
    EXERCISES["04.2"] = judge_value(
        _large_input,
        "Follow 300 through the stem and the three halvings, then ask what the global average pool keeps.",
        lambda: [
            (
                (LARGE_INPUT // 32, _large_input()[1]),
                "each halving rounds up (ceil), so the floor of 300 / 32 is one short",
            ),
            (
                (_large_input()[0], _large_input()[0] ** 2 * _large_input()[1]),
                "the global average pool leaves one number per channel, whatever the map's size",
            ),
            ((_large_input()[0], 512), "512 is the width of stage 4; a Bottleneck outputs 4 times its width"),
            ((7, _large_input()[1]), "7 is the last map of a 224 x 224 image"),
        ],
    )
    EXERCISES["04.3"] = _judge_stage
    EXERCISES["04.4"] = _judge_design
    EXERCISES["04.5"] = judge_letters(
        _possible_bugs,
        {
            "1": (
                "",
                "26,560 is exactly one bias per output channel of every conv of ResNet-50: bug 1's fingerprint",
            ),
            "2": (
                "",
                "count what bug 2 adds to ResNet-50: does the first block of its stage 1 have a projection already?",
            ),
            "3": (
                "",
                "a classifier wired to 2048 inputs is ResNet-50's own: it adds no parameter and no error",
            ),
            "4": ("", "a clone adds no parameter: the count cannot see it"),
        },
        "1234",
    )
