"""Self-checks for the notebooks' exercises.

A check never raises: an exercise that is not answered yet, or answered with the
wrong type, gets a message, so a notebook always runs from top to bottom.

Two kinds of exercise:

- ``check(answer, expected=..., hint=...)`` compares with a value the cell computes;
- ``check("01.4", answer)`` looks the exercise up by its id in `EXERCISES`, whose
  judge computes the right answer itself, with the library. The page then shows
  neither the answer nor the expression that computes it, and a judge can name the
  typical mistake behind a wrong answer ("rounding up gives 6, but ...").

`check_block` runs a learner's ``forward`` against the library's block.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from numbers import Integral
from typing import Any

NOT_ANSWERED = "⏳ Not answered yet: replace the None with your answer and run the cell again."
NOT_WRITTEN = (
    "⏳ Not answered yet: write forward (in place of `raise NotImplementedError`) and run the cell again."
)
NOT_WRITTEN_FUNCTION = "⏳ Not answered yet: write the function (in place of `raise NotImplementedError`) and run the cell again."

_UNSET = object()

# A judge takes the learner's answer (never None) and says (correct?, message).
Judge = Callable[[Any], "tuple[bool, str]"]
EXERCISES: dict[str, Judge] = {}


def _not_answered(answer: Any) -> bool:
    """True (and says so) while the learner's cell still holds None, or ``...``."""
    if answer is None or answer is Ellipsis:
        print(NOT_ANSWERED)
        return True
    return False


def check(answer: Any, expected: Any = _UNSET, hint: str = "") -> bool:
    """Check a learner's answer and say so in one line.

    Args:
        answer: What the learner wrote; ``None`` (or ``...``) means not answered yet.
            Or the id of an exercise in `EXERCISES` (``"01.4"``): then the second
            argument is the answer, and the exercise's judge computes what is right.
        expected: The right answer, usually computed with the library (or, with an
            exercise id, the learner's answer).
        hint: Shown when the answer is wrong: a nudge, not the answer.

    Returns:
        True when the answer is right.
    """
    if isinstance(answer, str) and answer in EXERCISES:
        return check_exercise(answer, None if expected is _UNSET else expected)
    if expected is _UNSET:
        print(f"❌ check({answer!r}) needs expected=..., or an exercise id out of {sorted(EXERCISES)}.")
        return False
    if _not_answered(answer):
        return False
    try:
        correct = bool(answer == expected)
    except Exception:  # e.g. comparing a tensor with a tuple: just "not equal"
        correct = False
    if correct:
        print(f"✅ Correct: {expected!r}.")
    else:
        print(f"❌ Not yet: you answered {answer!r}. {hint}".rstrip())
    return correct


def check_exercise(exercise_id: str, answer: Any) -> bool:
    """Judge `answer` to the exercise `exercise_id` of `EXERCISES`; print one line.

    Returns:
        True when the answer is right. Never raises.
    """
    judge = EXERCISES.get(exercise_id)
    if judge is None:
        print(f"❌ No exercise {exercise_id!r}: the ids are {sorted(EXERCISES)}.")
        return False
    if _not_answered(answer):
        return False
    try:
        correct, message = judge(answer)
    except Exception as e:  # a learner's function can fail in any way: report it, never raise
        correct, message = False, f"❌ Not yet: checking your answer failed with {type(e).__name__}: {e}"
    print(message)
    return correct


# --- answers that are numbers --------------------------------------------------------


def _is_int(value: Any) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool)


def _judge_value(
    expected: Callable[[], Any], hint: str, mistakes: Callable[[], list[tuple[Any, str]]] = list
) -> Judge:
    """A judge for an answer that is one int or a tuple of ints.

    Args:
        expected: Computes the right answer (with the library), when the check runs.
        hint: Shown for a wrong answer that no known mistake explains.
        mistakes: Computes ``(wrong answer, what it means)`` pairs for typical mistakes;
            a wrong answer that several explain gets all their messages.
    """

    def judge(answer: Any) -> tuple[bool, str]:
        right = expected()
        ints = (answer,) if not isinstance(answer, tuple) else answer
        shape_ok = isinstance(answer, tuple) == isinstance(right, tuple) and len(ints) == len(
            (right,) if not isinstance(right, tuple) else right
        )
        if not shape_ok or not all(_is_int(a) or isinstance(a, float) for a in ints):
            kind = f"a tuple of {len(right)} ints" if isinstance(right, tuple) else "an int"
            return False, f"❌ Not yet: the answer is {kind}; you gave {answer!r} ({type(answer).__name__})."
        if any(isinstance(a, float) for a in ints):
            if all(float(a).is_integer() for a in ints) and tuple(int(a) for a in ints) == (
                right if isinstance(right, tuple) else (right,)
            ):
                return (
                    False,
                    f"❌ Not yet: {answer!r} has a float in it; sizes are whole numbers: use // (floor division).",
                )
            if not all(float(a).is_integer() for a in ints):
                return (
                    False,
                    f"❌ Not yet: you answered {answer!r}, which is not a whole number: where does the floor (//) go?",
                )
        answer = tuple(int(a) for a in ints) if isinstance(answer, tuple) else int(answer)
        if answer == right:
            return True, f"✅ Correct: {right!r}."
        why = [message for wrong, message in mistakes() if wrong == answer and wrong != right]
        if why:
            text = " Or: ".join(w[0].upper() + w[1:] + "." for w in why)
        else:
            text = hint
        return False, f"❌ Not yet: you answered {answer!r}. {text}".rstrip()

    return judge


def _pool_naive_ceil(size: int, kernel_size: int, stride: int, padding: int) -> int:
    """``ceil_mode`` without its exception: just round the division up."""
    return math.ceil((size + 2 * padding - kernel_size) / stride) + 1


def _halvings_to_one(size: int) -> int:
    from .arithmetic import conv_output_size

    steps = 0
    while size > 1:
        size, steps = conv_output_size(size, 3, stride=2, padding=1), steps + 1
    return steps


def _resnet50_final_size(size: int) -> int:
    """Side of ResNet-50's last map: the stem and the three stride-2 3x3 convs of stages 2-4."""
    from .arithmetic import conv_output_size, pool_output_size

    size = pool_output_size(conv_output_size(size, 7, 2, 3), 3, 2, 1)
    for _ in range(3):
        size = conv_output_size(size, 3, 2, 1)
    return size


def _inputs_ending_as(final: int) -> tuple[int, int]:
    sizes = [i for i in range(1, 40 * final) if _resnet50_final_size(i) == final]
    return sizes[0], sizes[-1]


# ResNet-18's stem and first block's two 3x3 convs, as (kernel, stride, padding, dilation).
RF_EXERCISE_LAYERS = [(7, 2, 3, 1), (3, 2, 1, 1), (3, 1, 1, 1), (3, 1, 1, 1)]


def _rf_without_jump(layers: list[tuple[int, int, int, int]]) -> int:
    return 1 + sum(d * (k - 1) for k, _, _, d in layers)


def _rf_jump_after_stride(layers: list[tuple[int, int, int, int]]) -> int:
    size, jump = 1, 1
    for k, s, _, d in layers:
        jump *= s
        size += d * (k - 1) * jump
    return size


def _rf_exercise() -> int:
    from .arithmetic import receptive_field

    return receptive_field(RF_EXERCISE_LAYERS).size


# --- a design exercise: a conv that takes 57 to 19 and reads every pixel -------------

DESIGN_SIZES = (57, 19)  # input and wanted output of exercise 01.4


def _columns_never_read(size: int, kernel_size: int, stride: int, padding: int, out: int) -> int:
    """How many of the input's positions no window reads."""
    read = set()
    for j in range(out):
        start = j * stride - padding  # in input coordinates
        read.update(range(max(start, 0), min(start + kernel_size, size)))
    return size - len(read)


def _judge_design(answer: Any) -> tuple[bool, str]:
    from .arithmetic import conv_output_size

    size, wanted = DESIGN_SIZES
    if not (isinstance(answer, tuple) and len(answer) == 3 and all(_is_int(a) for a in answer)):
        return (
            False,
            f"❌ Not yet: answer a tuple of three ints (kernel_size, stride, padding); you gave {answer!r}.",
        )
    k, s, p = answer
    if k < 1 or s < 1 or p < 0:
        return (
            False,
            f"❌ Not yet: kernel_size and stride must be at least 1 and padding at least 0; you gave {answer!r}.",
        )
    try:
        out = conv_output_size(size, k, stride=s, padding=p)
    except ValueError as e:
        return False, f"❌ Not yet: {answer!r} is not a valid convolution on {size}: {e}."
    if out != wanted:
        return False, f"❌ Not yet: kernel {k}, stride {s}, padding {p} gives {out}, not {wanted}."
    if 2 * p > k - 1:
        return False, (
            f"❌ Not yet: {answer!r} gives {wanted}, but padding {p} is more than (k - 1)/2 = {(k - 1) / 2:g}: "
            "the windows at the border read mostly zeros. Use less padding."
        )
    unread = _columns_never_read(size, k, s, p, out)
    if unread:
        why = (
            "a kernel smaller than the stride steps over cells (section 1.2)"
            if k < s
            else "the last window stops short of the end, and the floor drops the next one (section 2)"
        )
        return (
            False,
            f"❌ Not yet: {answer!r} gives {wanted}, but {unread} of the {size} columns are never read: {why}.",
        )
    return (
        True,
        f"✅ Correct: kernel {k}, stride {s}, padding {p} takes {size} to {wanted} and reads every pixel.",
    )


# --- a coding exercise: the output size of a dilated convolution ---------------------


def _output_size_configs() -> list[tuple[int, int, int, int, int, int]]:
    """(size, kernel, stride, padding, dilation, torch's output size) for every config
    of a small grid that torch accepts, from real conv1d calls on the "meta" device
    (shapes without data, so the whole grid takes a fraction of a second)."""
    import torch
    import torch.nn.functional as F

    if _output_size_configs.cache:
        return _output_size_configs.cache
    configs = []
    weights = {k: torch.empty(1, 1, k, device="meta") for k in range(1, 6)}
    for size in range(1, 17):
        x = torch.empty(1, 1, size, device="meta")
        for k in range(1, 6):
            for s in range(1, 4):
                for p in range(3):
                    for d in range(1, 4):
                        try:
                            out = F.conv1d(x, weights[k], stride=s, padding=p, dilation=d).shape[-1]
                        except RuntimeError:  # the kernel does not fit: torch refuses
                            continue
                        configs.append((size, k, s, p, d, out))
    _output_size_configs.cache = configs
    return configs


_output_size_configs.cache = []

# Typical wrong formulas for the output size, and what each one forgets.
OUTPUT_SIZE_MISTAKES: list[tuple[str, Callable[[int, int, int, int, int], float]]] = [
    (
        "it ignores the dilation: the kernel spans d(k - 1) + 1 cells, not k",
        lambda i, k, s, p, d: (i + 2 * p - k) // s + 1,
    ),
    (
        "the + 1 is missing (it counts the first position)",
        lambda i, k, s, p, d: (i + 2 * p - d * (k - 1) - 1) // s,
    ),
    (
        "it rounds up: the formula takes the floor",
        lambda i, k, s, p, d: -(-(i + 2 * p - d * (k - 1) - 1) // s) + 1,
    ),
    (
        "it adds the padding once: there are p zeros on each side",
        lambda i, k, s, p, d: (i + p - d * (k - 1) - 1) // s + 1,
    ),
    (
        "the span of a dilated kernel is d(k - 1) + 1, not d·k",
        lambda i, k, s, p, d: (i + 2 * p - d * k) // s + 1,
    ),
    ("the - 1 is missing", lambda i, k, s, p, d: (i + 2 * p - d * (k - 1)) // s + 1),
]


def _judge_output_size(fn: Any) -> tuple[bool, str]:
    if not callable(fn):
        return False, f"❌ Not yet: pass your function itself (its name, without parentheses), not {fn!r}."
    results = []
    for size, k, s, p, d, right in _output_size_configs():
        call = f"output_size({size}, kernel_size={k}, stride={s}, padding={p}, dilation={d})"
        try:
            got = fn(size, k, s, p, d)
        except NotImplementedError:
            return False, NOT_WRITTEN_FUNCTION
        except Exception as e:
            return False, f"❌ Not yet: {call} raised {type(e).__name__}: {e}"
        if got is None:
            return False, f"❌ Not yet: {call} returned None: return the size."
        if isinstance(got, float) and got.is_integer() and int(got) == right:
            return False, f"❌ Not yet: {call} returned the float {got!r}: use // so the size is an int."
        if not _is_int(got):
            return False, f"❌ Not yet: {call} returned {got!r} ({type(got).__name__}); a size is an int."
        results.append((call, int(got), right))
    wrong = [(call, got, right) for call, got, right in results if got != right]
    if not wrong:
        return True, f"✅ Correct: your output_size agrees with torch on all {len(results)} configurations."
    configs = _output_size_configs()
    for why, formula in OUTPUT_SIZE_MISTAKES:
        if all(got == formula(*c[:5]) for (_, got, _), c in zip(results, configs)):
            break
    else:
        why = "check each term of the formula"
    call, got, right = wrong[0]
    return False, (
        f"❌ Not yet: wrong on {len(wrong)} of {len(results)} configurations, e.g. {call} gave {got}, "
        f"torch gives {right}: {why}."
    )


def _register_notebook_01() -> None:
    from .arithmetic import conv_output_size, pool_output_size, same_padding

    plus_one = "the + 1 is missing: it counts the first position of the kernel"
    EXERCISES["01.1"] = _judge_value(
        lambda: conv_output_size(57, 5, stride=2, padding=2),
        "Put i = 57, k = 5, s = 2, p = 2, d = 1 into the formula; remember the floor and the + 1.",
        lambda: [
            (conv_output_size(57, 5, stride=2, padding=2) - 1, plus_one),
            ((57 + 2 - 5) // 2 + 1, "there are p zeros on each side: add 2p"),
            ((57 - 5) // 2 + 1, "the padding is missing: the kernel slides over i + 2p cells"),
        ],
    )
    EXERCISES["01.2"] = _judge_value(
        lambda: conv_output_size(20, 3, dilation=3),
        "First work out how many cells the dilated kernel spans: d(k - 1) + 1.",
        lambda: [
            (20 - 3 + 1, "that ignores the dilation: the kernel spans d(k - 1) + 1 cells, not k"),
            (conv_output_size(20, 3, dilation=3) - 1, plus_one),
            (20 - 3 * 3 + 1, "a dilated kernel spans d(k - 1) + 1 cells, not d·k"),
        ],
    )
    EXERCISES["01.3"] = _judge_output_size
    EXERCISES["01.4"] = _judge_design
    EXERCISES["01.5"] = _judge_value(
        lambda: pool_output_size(9, 2, stride=2, padding=1, ceil_mode=True),
        "Round up, then check where the last window would start: inside the input, or in the right padding?",
        lambda: [
            (
                _pool_naive_ceil(9, 2, 2, 1),
                f"rounding up gives {_pool_naive_ceil(9, 2, 2, 1)}, but where would that last window start? "
                "A window that starts in the right padding is dropped",
            ),
            ((9 - 2) // 2 + 1, "the padding is missing: the window slides over i + 2p cells"),
        ],
    )
    EXERCISES["01.6"] = _judge_value(
        lambda: same_padding(5, dilation=3),
        "The dilated kernel spans d(k - 1) + 1 cells; it needs half of d(k - 1) on each side.",
        lambda: [
            (
                same_padding(5),
                "that is the padding without dilation: the dilated kernel spans d(k - 1) + 1 cells",
            ),
            (2 * same_padding(5, dilation=3), "that is the total over both sides: p is added on each side"),
        ],
    )
    EXERCISES["01.7"] = _judge_value(
        lambda: _halvings_to_one(224),
        "Each one gives ceil(i / 2): 224 → 112 → ... count the steps until 1.",
        lambda: [
            (math.floor(math.log2(224)), "that halves with the floor (7 → 3); this conv rounds up (7 → 4)")
        ],
    )
    EXERCISES["01.8"] = _judge_value(
        lambda: _inputs_ending_as(14),
        "Each halving rounds up, so the final size is ceil(i / 32).",
        lambda: [
            ((14 * 32, 15 * 32 - 1), "those end as 14 with the floor, floor(i / 32); the layers round up"),
            ((13 * 32, 14 * 32), f"{13 * 32} = 13 · 32 gives exactly 13"),
        ],
    )
    EXERCISES["01.9"] = _judge_value(
        _rf_exercise,
        "Keep two numbers per layer: r_out = r_in + (k - 1)·j_in, then j_out = j_in·s.",
        lambda: [
            (
                _rf_without_jump(RF_EXERCISE_LAYERS),
                "each layer adds (k - 1) times the jump, not (k - 1): the jump grows with every stride",
            ),
            (
                sum(k for k, _, _, _ in RF_EXERCISE_LAYERS),
                "receptive fields do not add kernel sizes: each layer adds (k - 1)·jump",
            ),
            (
                _rf_jump_after_stride(RF_EXERCISE_LAYERS),
                "a layer widens the field by (k - 1) times the jump *before* its own stride",
            ),
        ],
    )


_register_notebook_01()


def _judge_resnext_design(answer: Any) -> tuple[bool, str]:
    """Exercise 06.2: (groups, base_width) of a stage-1 Bottleneck 4x as wide inside as
    ResNet-50's, whose 3x3 conv has as many weights as ResNet-50's dense one."""
    from .blocks import Bottleneck

    if not (isinstance(answer, tuple) and len(answer) == 2 and all(_is_int(a) and a > 0 for a in answer)):
        return (
            False,
            f"❌ Not yet: the answer is a tuple (groups, base_width) of positive ints; you gave {answer!r}.",
        )
    groups, base_width = answer
    target_width, target_weights = 4 * 64, Bottleneck(256, 64).conv2.weight.numel()
    width = 64 * base_width // 64 * groups
    if width != target_width:
        return (
            False,
            f"❌ Not yet: the inner width is groups · base_width = {width}; it should be 4 · 64 = {target_width}.",
        )
    weights = Bottleneck(256, 64, groups=groups, base_width=base_width).conv2.weight.numel()
    if weights != target_weights:
        more = "more" if weights > target_weights else "fewer"
        return False, (
            f"❌ Not yet: that 3x3 conv has {weights:,} weights, {more} than ResNet-50's {target_weights:,}: "
            "each output channel reads width / groups input channels."
        )
    return True, f"✅ Correct: {answer!r}: {width} channels inside, {weights:,} weights in the 3x3 conv."


def _register_notebook_06() -> None:
    from .blocks import conv3x3

    EXERCISES["06.1"] = _judge_value(
        lambda: conv3x3(1024, 1024, groups=32).weight.numel(),
        "The weight of a grouped conv has the shape (C_out, C_in / groups, k, k).",
        lambda: [
            (
                1024 * 1024 * 9,
                "that is the dense conv: with groups, each output channel reads only C_in / groups inputs",
            ),
            (
                1024 * 1024 * 9 // 32**2,
                "that divides by the groups twice: only the inputs per output channel shrink",
            ),
            (1024 // 32 * 9, "that is one output channel's weights; there are 1,024 output channels"),
        ],
    )
    EXERCISES["06.2"] = _judge_resnext_design


_register_notebook_06()


def _judge_choice(right: str, why_wrong: dict[str, str]) -> Judge:
    """A judge for a multiple-choice answer (one letter), with a reason for each wrong letter."""

    def judge(answer: Any) -> tuple[bool, str]:
        letter = answer.strip().lower() if isinstance(answer, str) else answer
        if letter == right:
            return True, f"✅ Correct: {right!r}."
        if letter in why_wrong:
            return False, f"❌ Not yet: {letter!r}: {why_wrong[letter]}"
        return (
            False,
            f"❌ Not yet: answer with one of the letters {sorted([right, *why_wrong])}; you gave {answer!r}.",
        )

    return judge


def _register_notebooks_02_05() -> None:
    from .blocks import BasicBlock, projection_shortcut
    from .inspection import count_parameters

    bn = "BatchNorm learns 2 parameters per channel (its running mean and variance are buffers, not parameters)"
    EXERCISES["02.1"] = _judge_value(
        lambda: count_parameters(BasicBlock(256, 256)),
        "Two 3x3 convs of 256 -> 256 channels (no bias), and two BatchNorms with 2 parameters per channel.",
        lambda: [
            (2 * 9 * 256 * 256, f"the BatchNorms are missing: {bn}"),
            (2 * 9 * 256 * 256 + 4 * 2 * 256, f"that counts the running statistics too: {bn}"),
            (2 * 9 * 256 * 256 + 2 * 256 + 2 * 2 * 256, "that counts a conv bias: the convs have none"),
            (9 * 256 * 256 + 2 * 256, "that is one conv and one BatchNorm: a basic block has two of each"),
        ],
    )
    EXERCISES["02.4"] = _judge_value(
        lambda: count_parameters(projection_shortcut(256, 512, stride=2)),
        "A 1x1 conv from 256 to 512 channels, no bias (the stride changes no weight), then BatchNorm.",
        lambda: [
            (256 * 512, f"the BatchNorm is missing: {bn}"),
            (9 * 256 * 512 + 2 * 512, "the projection is a 1x1 conv, not a 3x3"),
            (
                256 * 512 // 4 + 2 * 512,
                "a stride changes where the kernel is applied, not how many weights it has",
            ),
            (256 * 512 + 4 * 512, f"that counts the running statistics too: {bn}"),
        ],
    )
    images, batch, processes = 50_000, 128, 4
    EXERCISES["05.1"] = _judge_value(
        lambda: images // batch,
        "Divide, and mind the last batch: make_loaders drops it when it is incomplete.",
        lambda: [
            (-(-images // batch), "rounding up counts the incomplete last batch, which drop_last=True drops")
        ],
    )
    EXERCISES["05.2"] = _judge_value(
        lambda: 2048 * 5 + 5,
        "Only the new fc layer trains: its weight matrix and its bias.",
        lambda: [
            (2048 * 5, "the bias is missing: nn.Linear has one per output"),
            (2048 * 1000 + 1000, "that is ImageNet's fc with 1,000 classes; the new one has 5"),
            (5, "that is only the bias"),
        ],
    )
    EXERCISES["05.3"] = _judge_choice(
        "b",
        {
            "a": "weights_only=True loads everything the file holds, the optimizer state too; it is not about speed.",
            "c": "strict=True is an argument of load_state_dict; torch.load does not touch any model.",
        },
    )
    EXERCISES["05.4"] = _judge_value(
        lambda: images // processes // batch,
        "Each process gets a quarter of the images per epoch, in batches of 128; all take each step together.",
        lambda: [
            (images // batch, "that is one process alone: under DDP each process sees only its share"),
            (
                processes * (images // batch),
                "the processes share an epoch: each step trains on 4 x 128 images",
            ),
        ],
    )


_register_notebooks_02_05()


# --- check_block ---------------------------------------------------------------------

IN_PLACE = (
    "your forward writes into its input x (an in-place operation: x += ..., or identity += out while "
    "identity is x, or self.relu(x)). In a network x is the previous layer's output, which autograd "
    "still needs for the backward pass. Add out of place (out = out + identity), or in place into the "
    "branch's output (out += identity)"
)
IN_PLACE_AUTOGRAD = (
    "the backward pass failed: a tensor that autograd saved for it was changed by an in-place operation "
    "(+=, *=, or a ReLU with inplace=True) after it was used. Write that step out of place, e.g. "
    "out = out + identity"
)


def _randomise_batchnorm(block: Any, generator: Any) -> None:
    """Give every BatchNorm non-trivial statistics and affine parameters, so that a
    missing layer or a misplaced ReLU changes the output (and outputs go negative)."""
    import torch
    from torch import nn

    for m in block.modules():
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            with torch.no_grad():
                m.weight.copy_(0.5 + torch.rand(c, generator=generator))
                m.bias.copy_(0.5 * torch.randn(c, generator=generator))
                m.running_mean.copy_(0.1 * torch.randn(c, generator=generator))
                m.running_var.copy_(0.5 + torch.rand(c, generator=generator))


def _pairs(block: Any) -> list[str]:
    return ["1", "2", "3"] if hasattr(block, "conv3") else ["1", "2"]


def _branch(block: Any, x: Any, orders: tuple[str, ...]) -> Any:
    """The residual branch of a library block with each conv/bn pair run in the given
    order: "cbr" (conv, bn, relu), "crb" (the ReLU before the BatchNorm) or "cb"."""
    import torch

    out = x
    for n, order in zip(_pairs(block), orders):
        for step in order:
            layer = {"c": getattr(block, f"conv{n}"), "b": getattr(block, f"bn{n}"), "r": torch.relu}[step]
            out = layer(out)
    return out


def _explain(ref: Any, x: Any, out: Any) -> str | None:
    """Name the mistakes that turn the library's forward into one that gives `out`.

    Tries every way of placing the ReLUs around each conv/bn pair and of ending the
    block (with or without the final ReLU, with or without the shortcut) on the
    library block `ref`, and describes the first one that matches.
    """
    import itertools

    import torch

    pairs = _pairs(ref)
    shortcut = x if ref.downsample is None else ref.downsample(x)
    inner = ["cbr", "crb", "cb"]
    last = ["cb", "cbr", "crb"]
    endings = ["relu(b + s)", "b + s", "relu(b)", "b"]
    for orders in itertools.product(*[inner] * (len(pairs) - 1), last):
        branch = _branch(ref, x, orders)
        for ending in endings:
            if orders == tuple(["cbr"] * (len(pairs) - 1) + ["cb"]) and ending == "relu(b + s)":
                continue  # the right forward: `out` differs from it
            candidate = {
                "relu(b + s)": lambda: torch.relu(branch + shortcut),
                "b + s": lambda: branch + shortcut,
                "relu(b)": lambda: torch.relu(branch),
                "b": lambda: branch,
            }[ending]()
            if candidate.shape == out.shape and torch.allclose(out, candidate, atol=1e-8, rtol=1e-6):
                return _describe(pairs, orders, ending)
    return None


def _describe(pairs: list[str], orders: tuple[str, ...], ending: str) -> str:
    why = []
    for n, order in zip(pairs[:-1], orders[:-1]):
        if order == "crb":
            why.append(f"the ReLU after conv{n} comes before bn{n}: the order is conv -> bn -> relu")
        elif order == "cb":
            why.append(f"the ReLU after bn{n} is missing: every bn except the last is followed by self.relu")
    if orders[-1] == "crb":
        why.append(
            f"a ReLU sits between conv{pairs[-1]} and bn{pairs[-1]}: the last bn comes right after its conv"
        )
    if ending == "b + s" and orders[-1] == "cbr":
        why.append("the last ReLU comes before the addition: add the shortcut first, then apply the ReLU")
    elif ending == "b + s":
        why.append("the final ReLU is missing: apply self.relu after adding the shortcut")
    elif ending == "relu(b)":
        why.append("the shortcut is missing: add the input (or self.downsample(x)) before the last ReLU")
    elif ending == "b":
        why.append("the shortcut and the final ReLU are missing: return relu(branch + shortcut)")
    elif orders[-1] == "cbr":
        why.append(
            f"there is a ReLU after bn{pairs[-1]}, before the addition: only the final ReLU follows it"
        )
    return "; ".join(why)


def check_block(learner_cls: type, seed: int = 0) -> bool:
    """See `_check_block`; the global random state is left as it was. Never raises."""
    import torch

    # One thread: on tensors this small, handing work to other threads costs far more than the work.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with torch.random.fork_rng(devices=[]):
        try:
            return _check_block(learner_cls, seed)
        except Exception as e:  # the learner's code can fail anywhere: report, never raise
            print(f"❌ Not yet: checking your block failed with {type(e).__name__}: {e}")
            return False
        finally:
            torch.set_num_threads(threads)


def _check_block(learner_cls: type, seed: int = 0) -> bool:
    """Check a learner's block class against the library block it subclasses.

    The learner subclasses `resnet_lib.blocks.BasicBlock` or `Bottleneck` and writes
    its own ``forward``. For an identity-shortcut block, a stride-2 block with a
    projection shortcut (and, for a Bottleneck, a stride-1 one) and a stride-2 block
    with the parameter-free option-A shortcut, the check builds the library block with
    randomised BatchNorm statistics and affine parameters (at default init BatchNorm
    is a positive scale that commutes with ReLU, so a misplaced ReLU would not show),
    loads its weights into the learner's block and, in float64, compares:

    1. in eval mode: the output's shape and values, and that the input is unchanged;
    2. in train mode (batch statistics): the output and the updated running statistics;
    3. a backward pass: the gradients of the input and of every parameter.

    It prints one line: correct, not answered yet (``forward`` raises
    NotImplementedError or returns None), or the first mistake explained.

    Returns:
        True when the learner's block computes what the library's does.
    """
    import torch
    from torch import nn

    from .blocks import BasicBlock, Bottleneck, projection_shortcut
    from .cifar import PadShortcut

    reference = next(
        (c for c in getattr(learner_cls, "__mro__", ())[1:] if c in (BasicBlock, Bottleneck)), None
    )
    if not isinstance(learner_cls, type):
        print(
            f"❌ Not yet: pass your class itself (a {type(learner_cls).__name__} instance was given); "
            "it must subclass BasicBlock or Bottleneck."
        )
        return False
    if reference is None:
        print(f"❌ Not yet: {learner_cls.__name__} must subclass BasicBlock or Bottleneck.")
        return False
    # (what, in_channels, channels, stride, shortcut): the first two keep notebook 02's wording.
    if reference is BasicBlock:
        cases = [
            ("an identity-shortcut block (8 -> 8 channels)", 8, 8, 1, None),
            ("a projection block (8 -> 16 channels, stride 2)", 8, 16, 2, "projection"),
            ("a stride-2 block with option A's parameter-free shortcut (8 -> 16 channels)", 8, 16, 2, "A"),
        ]
    else:
        cases = [
            ("an identity-shortcut block (32 -> 32 channels)", 32, 8, 1, None),
            ("a projection block (16 -> 32 channels, stride 2)", 16, 8, 2, "projection"),
            ("a projection block that keeps the size (8 -> 32 channels, stride 1)", 8, 8, 1, "projection"),
            ("a stride-2 block with option A's parameter-free shortcut (16 -> 32 channels)", 16, 8, 2, "A"),
        ]

    g = torch.Generator().manual_seed(seed)
    for what, in_channels, channels, stride, kind in cases:
        out_channels = channels * reference.expansion

        def build(cls: type) -> Any:
            down = {
                None: lambda: None,
                "projection": lambda: projection_shortcut(in_channels, out_channels, stride),
                "A": lambda: PadShortcut(in_channels, out_channels, stride),
            }[kind]()
            return cls(in_channels, channels, stride, down)

        torch.manual_seed(seed)
        ref = build(reference)
        _randomise_batchnorm(ref, g)
        ref.double().eval()
        try:
            mine = build(learner_cls)
            mine.double()
            mine.load_state_dict(ref.state_dict())
            mine.eval()
        except Exception as e:
            print(f"❌ Not yet: building your block failed with {type(e).__name__}: {e}")
            return False
        for name, m in ref.named_modules():
            theirs = dict(mine.named_modules()).get(name)
            if isinstance(m, nn.Conv2d) and isinstance(theirs, nn.Conv2d) and theirs.stride != m.stride:
                print(
                    f"❌ Not yet: on {what}, your {name} has stride {theirs.stride[0]} where the library's has "
                    f"{m.stride[0]}: the block's stride sits in "
                    f"{'conv2, the 3x3' if reference is Bottleneck else 'conv1'} (and the shortcut)."
                )
                return False
        x = torch.randn(4, in_channels, 8, 8, generator=g, dtype=torch.float64)

        # 1. Eval mode, no gradients: shape, values, and the input left alone.
        with torch.no_grad():
            expected = ref(x.clone())
            x_mine = x.clone()
            calls = _record_calls(mine)
            try:
                out = mine(x_mine)
            except NotImplementedError:
                print(NOT_WRITTEN)
                return False
            except Exception as e:
                print(
                    f"❌ Not yet: on {what}, your forward raised {type(e).__name__}: {e}.{_why_failed(e, calls, mine)}"
                )
                return False
            finally:
                calls.remove()
            if out is None:
                print(
                    NOT_WRITTEN if what == cases[0][0] else f"❌ Not yet: on {what}, forward returned None."
                )
                return False
            if not isinstance(out, torch.Tensor):
                print(f"❌ Not yet: forward must return a tensor, it returned a {type(out).__name__}.")
                return False
            if not torch.equal(x_mine, x):
                print(f"❌ Not yet: on {what}, {IN_PLACE}.")
                return False
            if out.shape != expected.shape:
                print(
                    f"❌ Not yet: on {what}, an input of shape {tuple(x.shape)} gave {tuple(out.shape)}, "
                    f"expected {tuple(expected.shape)}. Run every conv/bn pair in order, and the "
                    "shortcut through self.downsample when there is one."
                )
                return False
            if not torch.allclose(out, expected, atol=1e-8, rtol=1e-6):
                # Layers called a wrong number of times explain it best, the shortcut above all;
                # other ways of calling them (F.relu, F.batch_norm) are fine when the output agrees.
                calls_problem = calls.problem()
                why = (
                    calls_problem
                    if calls_problem and "downsample" in calls_problem
                    else _explain(ref, x, out)
                )
                why = why or calls_problem
                if why is None:
                    error = (out - expected).abs().max().item()
                    why = f"the output differs from the library block's by up to {error:.3g}: check the order conv -> bn -> relu"
                print(f"❌ Not yet: on {what}, {why}.")
                return False

        # 2. Train mode, with gradients: BatchNorm on batch statistics, then backward.
        ref.train()
        mine.train()
        leaf_ref = x.clone().requires_grad_()
        leaf_mine = x.clone().requires_grad_()
        expected = ref(leaf_ref.clone())  # a non-leaf input, like a layer's output in a network
        x_mine = leaf_mine.clone()
        try:
            out = mine(x_mine)
        except Exception as e:
            print(f"❌ Not yet: on {what}, in train mode your forward raised {type(e).__name__}: {e}.")
            return False
        if not torch.equal(x_mine.detach(), x):
            print(f"❌ Not yet: on {what}, in train mode {IN_PLACE}.")
            return False
        if not isinstance(out, torch.Tensor) or out.shape != expected.shape:
            print(f"❌ Not yet: on {what}, in train mode forward returned something else than in eval mode.")
            return False
        if not torch.allclose(out.detach(), expected.detach(), atol=1e-8, rtol=1e-6):
            print(
                f"❌ Not yet: on {what}, in train mode the output differs from the library block's (eval mode "
                "agreed): call every BatchNorm as a module, self.bnN(...), once, so that it normalises with "
                "the batch's statistics in training."
            )
            return False
        for (name, buf), theirs in zip(ref.named_buffers(), mine.buffers()):
            if not torch.allclose(buf, theirs):
                print(
                    f"❌ Not yet: on {what}, in train mode {name} was updated differently: call each BatchNorm once."
                )
                return False
        grad_out = torch.randn(expected.shape, generator=g, dtype=torch.float64)
        expected.backward(grad_out)
        if not out.requires_grad:
            print(
                f"❌ Not yet: on {what}, your output has no gradient: do not use torch.no_grad(), .detach() "
                "or .data in forward."
            )
            return False
        try:
            out.backward(grad_out)
        except RuntimeError as e:
            if "inplace" in str(e):
                print(f"❌ Not yet: on {what}, {IN_PLACE_AUTOGRAD}.")
            else:
                print(f"❌ Not yet: on {what}, the backward pass failed with {type(e).__name__}: {e}")
            return False
        grads = [("the input", leaf_ref.grad, leaf_mine.grad)] + [
            (name, p.grad, q.grad) for (name, p), q in zip(ref.named_parameters(), mine.parameters())
        ]
        for name, theirs, yours in grads:
            if yours is None or not torch.allclose(theirs, yours, atol=1e-8, rtol=1e-6):
                print(
                    f"❌ Not yet: on {what}, the gradient of {name} differs from the library block's "
                    "(the outputs agreed): do not use .detach(), .data or torch.no_grad() in forward."
                )
                return False
    print(
        f"✅ Correct: your forward computes what {reference.__name__}.forward does, with and without a projection."
    )
    return True


class _Calls:
    """Counts the calls of a block's convs, BatchNorms and shortcut during one forward."""

    def __init__(self, block: Any) -> None:
        self.block = block
        self.counts: dict[str, int] = {}
        self.handles = []
        for name in [f"{kind}{n}" for n in _pairs(block) for kind in ("conv", "bn")] + ["downsample"]:
            module = getattr(block, name, None)
            if module is not None:
                self.counts[name] = 0
                self.handles.append(module.register_forward_pre_hook(self._hook(name)))

    def _hook(self, name: str) -> Callable[..., None]:
        def hook(module: Any, inputs: Any) -> None:
            self.counts[name] += 1

        return hook

    def remove(self) -> None:
        for h in self.handles:
            h.remove()

    def problem(self) -> str | None:
        if self.counts.get("downsample") == 0:
            return "self.downsample is never called: the shortcut must go through it when it is not None"
        for name, n in self.counts.items():
            if n != 1:
                return f"self.{name} is called {n} times: call each layer once"
        return None


def _record_calls(block: Any) -> _Calls:
    return _Calls(block)


def _why_failed(error: Exception, calls: _Calls, block: Any) -> str:
    """A hint for an error inside the learner's forward."""
    if not (isinstance(error, RuntimeError) and "must match" in str(error)):
        return ""
    if block.downsample is not None and calls.counts.get("downsample") == 0:
        return " The shortcut must go through self.downsample when it is not None: x has another shape."
    return " The branch and the shortcut have different shapes: check the strides and channels of each."
