"""Notebook 01's exercises: output sizes, padding, pooling and receptive fields.

The judges compute every answer with `resnet_lib.arithmetic` (or with torch itself,
for the coding exercise 01.3), and know the typical wrong formulas: a missing ``+ 1``,
the padding added once, the kernel size in place of a dilated kernel's span, rounding
up where the formula takes the floor.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from resnet_lib.checks.core import (
    EXERCISES,
    NOT_WRITTEN_FUNCTION,
    SIZES,
    as_float,
    as_int,
    as_ints,
    judge_value,
)


def _pool_naive_ceil(size: int, kernel_size: int, stride: int, padding: int) -> int:
    """``ceil_mode`` without its exception: just round the division up."""
    return math.ceil((size + 2 * padding - kernel_size) / stride) + 1


def _halvings_to_one(size: int) -> int:
    from resnet_lib.arithmetic import conv_output_size

    steps = 0
    while size > 1:
        size, steps = conv_output_size(size, 3, stride=2, padding=1), steps + 1
    return steps


def _resnet50_final_size(size: int, pool: bool = True, rounding: str = "torch") -> int:
    """Side of ResNet-50's last map: the stem (with or without its max-pool) and the three
    stride-2 3x3 convs of stages 2-4. ``rounding="floor"`` halves with the floor instead."""
    from resnet_lib.arithmetic import conv_output_size, pool_output_size

    if rounding == "floor":
        return size // 2 ** (4 + pool)
    size = conv_output_size(size, 7, 2, 3)
    if pool:
        size = pool_output_size(size, 3, 2, 1)
    for _ in range(3):
        size = conv_output_size(size, 3, 2, 1)
    return size


def _inputs_ending_as(final: int, pool: bool = True, rounding: str = "torch") -> tuple[int, int]:
    sizes = [i for i in range(1, 40 * final) if _resnet50_final_size(i, pool, rounding) == final]
    return sizes[0], sizes[-1]


# Exercise 01.5: a pooling layer with ceil_mode=True, and two input widths: on one of them
# ceil_mode keeps a window the floor would drop, on the other it drops the one rounding up adds.
CEIL_POOL, CEIL_SIZES = (3, 3, 1), (8, 9)  # (kernel, stride, padding)


def _ceil_widths(rule: str = "torch") -> tuple[int, int]:
    from resnet_lib.arithmetic import pool_output_size

    k, s, p = CEIL_POOL
    if rule == "floor":
        return tuple(pool_output_size(i, k, s, p) for i in CEIL_SIZES)
    if rule == "rounded up":
        return tuple(_pool_naive_ceil(i, k, s, p) for i in CEIL_SIZES)
    return tuple(pool_output_size(i, k, s, p, ceil_mode=True) for i in CEIL_SIZES)


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
    from resnet_lib.arithmetic import receptive_field

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
    from resnet_lib.arithmetic import conv_output_size

    size, wanted = DESIGN_SIZES
    ints = as_ints(answer)
    if ints is None or len(ints) != 3:
        return (
            False,
            f"❌ Not yet: answer a tuple of three ints (kernel_size, stride, padding); you gave {answer!r}.",
        )
    answer = ints
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
            f"❌ Not yet: {answer!r} gives {wanted}, but {unread} of the {size} columns "
            f"{'is' if unread == 1 else 'are'} never read: {why}.",
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
        number = as_float(got) if isinstance(got, float) else None
        if number is not None and number.is_integer() and int(number) == right:
            return False, f"❌ Not yet: {call} returned the float {got!r}: use // so the size is an int."
        if as_int(got) is None:
            return False, f"❌ Not yet: {call} returned {got!r} ({type(got).__name__}); a size is an int."
        results.append((call, as_int(got), right))
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


def register() -> None:
    """Put notebook 01's judges into `EXERCISES`."""
    from resnet_lib.arithmetic import conv_output_size, same_padding

    plus_one = "the + 1 is missing: it counts the first position of the kernel"
    EXERCISES["01.1"] = judge_value(
        lambda: conv_output_size(57, 5, stride=2, padding=2),
        "Put i = 57, k = 5, s = 2, p = 2, d = 1 into the formula; remember the floor and the + 1.",
        lambda: [
            (conv_output_size(57, 5, stride=2, padding=2) - 1, plus_one),
            ((57 + 2 - 5) // 2 + 1, "there are p zeros on each side: add 2p"),
            ((57 - 5) // 2 + 1, "the padding is missing: the kernel slides over i + 2p cells"),
        ],
        whole=SIZES,
    )
    EXERCISES["01.2"] = judge_value(
        lambda: conv_output_size(20, 3, dilation=3),
        "First work out how many cells the dilated kernel spans: d(k - 1) + 1.",
        lambda: [
            (20 - 3 + 1, "that ignores the dilation: the kernel spans d(k - 1) + 1 cells, not k"),
            (conv_output_size(20, 3, dilation=3) - 1, plus_one),
            (20 - 3 * 3 + 1, "a dilated kernel spans d(k - 1) + 1 cells, not d·k"),
        ],
        whole=SIZES,
    )
    EXERCISES["01.3"] = _judge_output_size
    EXERCISES["01.4"] = _judge_design
    EXERCISES["01.5"] = judge_value(
        _ceil_widths,
        "For each width: round up, then find where the last window would start: inside the input "
        "(kept) or in the right padding (dropped)?",
        lambda: [
            (
                _ceil_widths("floor"),
                "that is the floor for both: ceil_mode=True keeps a last window that only partly fits",
            ),
            (
                _ceil_widths("rounded up"),
                "that rounds up both: where would the last window start on 8 cells? A window that "
                "starts in the right padding is dropped",
            ),
        ],
        whole=SIZES,
    )
    EXERCISES["01.6"] = judge_value(
        lambda: same_padding(5, dilation=3),
        "The dilated kernel spans d(k - 1) + 1 cells; it needs half of d(k - 1) on each side.",
        lambda: [
            (
                same_padding(5),
                "that is the padding without dilation: the dilated kernel spans d(k - 1) + 1 cells",
            ),
            (2 * same_padding(5, dilation=3), "that is the total over both sides: p is added on each side"),
        ],
        whole="a padding is a whole number of cells: use // (floor division)",
    )
    EXERCISES["01.7"] = judge_value(
        lambda: _halvings_to_one(224),
        "Each one gives ceil(i / 2): 224 → 112 → ... count the steps until 1.",
        lambda: [
            (math.floor(math.log2(224)), "that halves with the floor (7 → 3); this conv rounds up (7 → 4)")
        ],
    )
    EXERCISES["01.8"] = judge_value(
        lambda: _inputs_ending_as(14, pool=False),
        "Count the layers that still halve the size without the pool; each rounds up.",
        lambda: [
            (_inputs_ending_as(14), "that is ResNet-50 with its max-pool: without it, one halving fewer"),
            (
                _inputs_ending_as(14, pool=False, rounding="floor"),
                "those end as 14 with the floor; every halving here rounds up (ceil)",
            ),
            (
                (13 * 16, 14 * 16),
                f"{13 * 16} = 13 · 16 gives exactly 13",
            ),
            (
                _inputs_ending_as(7, pool=False),
                "those end as 7; the question asks for a 14 x 14 map",
            ),
        ],
        whole=SIZES,
    )
    EXERCISES["01.9"] = judge_value(
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
