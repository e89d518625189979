"""Notebook 01's exercises: output sizes, padding, pooling and receptive fields.

The judges compute every answer with `resnet_lib.arithmetic` (or with torch itself,
for the coding exercise 01.3, which refuses a function that calls the library's
formula or torch), and know the typical wrong formulas: a missing ``+ 1``, the padding
added once, the kernel size in place of a dilated kernel's span, rounding up where the
formula takes the floor.
"""

from __future__ import annotations

import dis
import functools
import math
import types
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


# Where a size can come from without the formula: the library, or a real layer's width.
BORROWED_MODULES = ("resnet_lib", "torch")
BORROWED_NAMES = {
    "conv_output_size": "the library's conv_output_size",
    "pool_output_size": "the library's pool_output_size",
    "torch_width": "torch_width (a real layer's width)",
    "torch": "the module torch",
    "F": "torch.nn.functional (F)",
    "nn": "torch.nn (nn)",
}
GLOBAL_LOADS = ("LOAD_GLOBAL", "LOAD_NAME")


def _codes(code: types.CodeType) -> list[types.CodeType]:
    """`code` and the code of every function defined inside it."""
    inner = [const for const in code.co_consts if isinstance(const, types.CodeType)]
    return [code, *(c for const in inner for c in _codes(const))]


def _from_library(obj: Any) -> str | None:
    """Where `obj` comes from ("the library's conv_output_size", ...), if borrowed."""
    if isinstance(obj, types.ModuleType):
        borrowed = obj.__name__.split(".")[0] in BORROWED_MODULES
        return f"the module {obj.__name__}" if borrowed else None
    module = getattr(obj, "__module__", None) or ""
    if not isinstance(module, str) or module.split(".")[0] not in BORROWED_MODULES:
        return None
    name = getattr(obj, "__name__", type(obj).__name__)
    return f"the library's {name}" if module.startswith("resnet_lib") else f"torch's {name}"


def _closure(fn: Any) -> list[Any]:
    values = []
    for cell in getattr(fn, "__closure__", None) or ():
        try:
            values.append(cell.cell_contents)
        except ValueError:  # a cell not filled yet
            pass
    return values


def _borrowed(fn: Any, seen: set[int] | None = None) -> str | None:
    """What `fn` uses in place of the formula (the library, or torch), or None.

    It follows the globals and closure variables that `fn`'s code (and the functions
    it defines) reads, and the learner's own functions among them, so an alias such
    as ``from resnet_lib import conv_output_size as f`` or a helper is found too.
    """
    while isinstance(fn, functools.partial):
        fn = fn.func
    found = _from_library(fn)
    if found:
        return found
    code = getattr(fn, "__code__", None)
    if code is None:  # an object with a __call__ method
        code = getattr(getattr(type(fn), "__call__", None), "__code__", None)
    seen = set() if seen is None else seen
    if not isinstance(code, types.CodeType) or id(code) in seen:
        return None
    seen.add(id(code))
    codes = _codes(code)
    scope = getattr(fn, "__globals__", None) or {}
    loads = [i for c in codes for i in dis.get_instructions(c) if i.opname in GLOBAL_LOADS]
    loaded = {i.argval for i in loads}
    for obj in [scope[name] for name in sorted(loaded) if name in scope] + _closure(fn):
        found = _from_library(obj)
        if not found and isinstance(obj, types.FunctionType):
            found = _borrowed(obj, seen)  # a helper of the learner's
        if found:
            return found
    # Names that are not globals here: a module imported inside the function, say.
    names = {part for c in codes for name in c.co_names for part in name.split(".")}
    return next((BORROWED_NAMES[n] for n in sorted(names) if n in BORROWED_NAMES), None)


def _judge_output_size(fn: Any) -> tuple[bool, str]:
    if not callable(fn):
        return False, f"❌ Not yet: pass your function itself (its name, without parentheses), not {fn!r}."
    borrowed = _borrowed(fn)
    if borrowed:
        what = "is" if _from_library(fn) else "uses"
        return False, (
            f"❌ Not yet: your function {what} {borrowed}, so the check would test "
            "that, not you: compute the size yourself."
        )
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


# --- inverse questions: which input, which dilation, how many layers -----------------

# Exercise 01.1: the input widths that a 5x5 conv with stride 2 and padding 2 takes to 29.
INVERSE_CONV, INVERSE_OUT = (5, 2, 2), 29  # (kernel, stride, padding)


def _widths_giving(out: int, formula: Callable[[int], int]) -> tuple[int, int] | None:
    """(smallest, largest) input width that `formula` takes to `out`, or None."""
    sizes = [i for i in range(1, 8 * out) if formula(i) == out]
    return (sizes[0], sizes[-1]) if sizes else None


def _inverse_right() -> tuple[int, int] | None:
    from resnet_lib.arithmetic import conv_output_size

    k, s, p = INVERSE_CONV
    return _widths_giving(INVERSE_OUT, lambda i: conv_output_size(i, k, s, p) if i + 2 * p >= k else 0)


def _inverse_mistakes() -> list[tuple[Any, str]]:
    k, s, p = INVERSE_CONV
    wrong = [
        (lambda i: (i + 2 * p - k) // s, "the + 1 is missing: it counts the first position of the kernel"),
        (lambda i: (i + p - k) // s + 1, "there are p zeros on each side: add 2p"),
        (lambda i: (i - k) // s + 1, "the padding is missing: the kernel slides over i + 2p cells"),
        (lambda i: -(-(i + 2 * p - k) // s) + 1, "that rounds up: the formula takes the floor"),
    ]
    right = _inverse_right()
    found = [(_widths_giving(INVERSE_OUT, f), why) for f, why in wrong]
    found += [
        (
            (right[0], right[0]),
            "the floor takes more than one width to the same output: what does the next width give?",
        ),
        ((right[1], right[1]), "the floor takes more than one width to the same output: and the one before?"),
    ]
    return [(w, why) for w, why in found if w is not None]


# Exercise 01.2: the dilation that takes 20 to 8 with a 3x3 kernel, no padding, stride 1.
DILATION_SIZES, DILATION_KERNEL = (20, 8), 3


def _judge_dilation(answer: Any) -> tuple[bool, str]:
    from resnet_lib.arithmetic import conv_output_size

    (size, wanted), k = DILATION_SIZES, DILATION_KERNEL
    d = as_int(answer)
    if d is None or d < 1:
        return False, f"❌ Not yet: the answer is a dilation, an int of at least 1; you gave {answer!r}."
    span = d * (k - 1) + 1
    if span > size:
        return (
            False,
            f"❌ Not yet: with dilation {d} the kernel spans {span} cells, more than the {size} of the input.",
        )
    out = conv_output_size(size, k, dilation=d)
    if out == wanted:
        return True, f"✅ Correct: {d}: the kernel spans {span} cells, and {size} - {span} + 1 = {wanted}."
    why = (
        " (the span is d(k - 1) + 1, not d·k)" if size - d * k + 1 == wanted or size - d * k == wanted else ""
    )
    return (
        False,
        f"❌ Not yet: with dilation {d} the kernel spans {span} cells and gives {out}, not {wanted}{why}.",
    )


# Exercise 01.6: a (kernel_size, dilation) that keeps 28 at 28 with padding 6 and stride 1.
SAME_SIZE, SAME_PADDING = 28, 6


def _judge_same(answer: Any) -> tuple[bool, str]:
    from resnet_lib.arithmetic import conv_output_size

    ints = as_ints(answer)
    if ints is None or len(ints) != 2:
        return False, f"❌ Not yet: answer a tuple of two ints (kernel_size, dilation); you gave {answer!r}."
    k, d = ints
    if k < 3 or d < 2:
        return False, (
            f"❌ Not yet: the exercise asks for a kernel of at least 3 and a dilation of at least 2; "
            f"you gave {ints!r}."
        )
    span = d * (k - 1) + 1
    if span > SAME_SIZE + 2 * SAME_PADDING:
        return (
            False,
            f"❌ Not yet: kernel {k} with dilation {d} spans {span} cells, more than the padded input.",
        )
    out = conv_output_size(SAME_SIZE, k, padding=SAME_PADDING, dilation=d)
    if out == SAME_SIZE:
        return True, (
            f"✅ Correct: kernel {k} with dilation {d} spans {span} = 2 · {SAME_PADDING} + 1 cells, "
            f"so {SAME_SIZE} stays {SAME_SIZE}."
        )
    why = (
        " The span of a dilated kernel is d(k - 1) + 1, not d·k."
        if d * k == 2 * SAME_PADDING + 1 or d * k == 2 * SAME_PADDING
        else ""
    )
    return False, (
        f"❌ Not yet: kernel {k} with dilation {d} spans {span} cells: with {SAME_PADDING} zeros on each "
        f"side it gives {out}, not {SAME_SIZE}.{why}"
    )


# Exercise 01.9: how many 3x3 stride-1 convs after ResNet-18's stem until a pixel sees RF_WANTED pixels.
RF_STEM, RF_WANTED = [(7, 2, 3, 1), (3, 2, 1, 1)], 100


def _convs_until(wanted: int, grow: Callable[[int], int]) -> int:
    n = 0
    while grow(n) < wanted:
        n += 1
    return n


def _rf_after(n: int) -> int:
    from resnet_lib.arithmetic import receptive_field

    return receptive_field(RF_STEM + [(3, 1, 1, 1)] * n).size


def register() -> None:
    """Put notebook 01's judges into `EXERCISES`."""

    EXERCISES["01.1"] = judge_value(
        _inverse_right,
        "Write the formula with i unknown, then try the widths around 2 · 29: which give 29?",
        _inverse_mistakes,
        whole=SIZES,
    )
    EXERCISES["01.2"] = _judge_dilation
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
    EXERCISES["01.6"] = _judge_same
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
    stem = _rf_after(0)  # 11 pixels, with a jump of 4
    EXERCISES["01.9"] = judge_value(
        lambda: _convs_until(RF_WANTED, _rf_after),
        "Each 3x3 conv with stride 1 adds (k - 1) times the jump after the stem: how much is that?",
        lambda: [
            (
                _convs_until(RF_WANTED, lambda n: stem + 2 * n),
                "each conv adds (k - 1) times the jump, not (k - 1): the stem's strides made the jump 4",
            ),
            (
                _convs_until(RF_WANTED, lambda n: stem + 3 * n),
                "receptive fields do not add kernel sizes: each conv adds (k - 1)·jump",
            ),
            (
                _convs_until(RF_WANTED, _rf_after) - 1,
                f"{_convs_until(RF_WANTED, _rf_after) - 1} convs reach "
                f"{_rf_after(_convs_until(RF_WANTED, _rf_after) - 1)}, short of {RF_WANTED}: round up",
            ),
        ],
        whole="a number of convs is a whole number: answer an int",
    )
