"""The registry of exercises, `check` and `check_exercise`, and the common judges.

A *judge* takes a learner's answer (never None) and returns ``(correct?, message)``.
Each notebook's module (``nb01`` ... ``nb07``) puts its judges into `EXERCISES` under
the exercise's id, ``"04.2"`` say. A judge computes the right answer itself, with the
library, when the check runs: the page shows neither the answer nor the expression
that computes it, and the judge can name the typical mistake behind a wrong answer.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from numbers import Integral, Real
from typing import Any

NOT_ANSWERED = "⏳ Not answered yet: replace the None with your answer and run the cell again."
NOT_WRITTEN = "⏳ Not answered yet: write forward in place of `raise NotImplementedError` and run the cell."
NOT_WRITTEN_FUNCTION = (
    "⏳ Not answered yet: write the function in place of `raise NotImplementedError` and run the cell."
)

_UNSET = object()

# A judge takes the learner's answer (never None) and says (correct?, message).
Judge = Callable[[Any], "tuple[bool, str]"]
EXERCISES: dict[str, Judge] = {}


def one_line(text: str, limit: int = 400) -> str:
    """`text` on one line (an error's message can span many), cut at `limit` characters."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _not_answered(answer: Any) -> bool:
    """True (and says so) while the learner's cell still holds None, or ``...``."""
    if answer is None or answer is Ellipsis:
        print(NOT_ANSWERED)
        return True
    return False


def check(answer: Any, expected: Any = _UNSET, hint: str = "") -> bool:
    """Check a learner's answer and say so in one line.

    Args:
        answer: The id of an exercise in `EXERCISES` (``"01.4"``): then the second
            argument is the answer, and the exercise's judge computes what is right.
            Or (the older form) what the learner wrote, compared with `expected`.
        expected: With an exercise id, the learner's answer; otherwise the right answer.
        hint: Shown when an answer of the older form is wrong: a nudge, not the answer.

    Returns:
        True when the answer is right. Never raises.
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
        print(one_line(f"❌ Not yet: you answered {answer!r}. {hint}".rstrip()))
    return correct


def check_exercise(exercise_id: str, answer: Any) -> bool:
    """Judge `answer` to the exercise `exercise_id` of `EXERCISES`; print one line.

    Args:
        exercise_id: Such as ``"05.2"``: notebook, then exercise number.
        answer: The learner's answer (a value, or a function for a coding exercise).

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
    except NotImplementedError:  # the learner's function still holds its placeholder
        correct, message = False, NOT_WRITTEN_FUNCTION
    except Exception as e:  # a learner's function can fail in any way: report it, never raise
        correct, message = False, f"❌ Not yet: checking your answer failed with {type(e).__name__}: {e}"
    print(one_line(message))
    return correct


# --- judges that several notebooks use ------------------------------------------------


def is_int(value: Any) -> bool:
    """An int, but not a bool (True would otherwise pass for 1)."""
    return isinstance(value, Integral) and not isinstance(value, bool)


# Answers are turned into plain built-in values before any comparison: an object of the
# learner's (or a subclass of int, str or tuple) could define == to say "equal" to anything.


def as_int(value: Any) -> int | None:
    """`value` as a plain int (an int, a numpy integer...), or None; never a bool."""
    if not is_int(value):
        return None
    try:
        number = operator.index(value)
    except Exception:  # an Integral that is no integer after all
        return None
    return int.__index__(number) if isinstance(number, int) else None


def as_float(value: Any) -> float | None:
    """`value` as a plain float (any real number but a bool), or None."""
    if not isinstance(value, Real) or isinstance(value, bool):
        return None
    if isinstance(value, Integral):
        number = as_int(value)
        return None if number is None else float(number)
    try:
        number = float(value)
    except Exception:
        return None
    return float.__float__(number) if isinstance(number, float) else None


def as_str(value: Any) -> str | None:
    """`value` as a plain str, or None."""
    return str.__str__(value) if isinstance(value, str) else None


def as_ints(value: Any) -> tuple[int, ...] | None:
    """A tuple of plain ints, from a tuple of ints, or None."""
    if not isinstance(value, tuple):
        return None
    items = [as_int(v) for v in tuple.__iter__(value)]
    return None if any(v is None for v in items) else tuple(items)


def _explained(answer: Any, right: Any, mistakes: list[tuple[Any, str]], hint: str) -> str:
    """The messages of every typical mistake that gives `answer`, or else `hint`.

    `answer` and `right` are plain values (see `as_int`); so is every mistake's value.
    """
    why = [message for wrong, message in mistakes if wrong == answer and wrong != right]
    if not why:
        return hint
    return " Or: ".join(w[0].upper() + w[1:] + ("" if w.endswith("?") else ".") for w in why)


# What a float answer to a question about sizes is told: the formula's floor.
SIZES = "sizes are whole numbers: use // (floor division)"


def _plain(value: Any) -> Any:
    """An int, a float, or a tuple of them as plain built-in values; None for anything else."""
    if isinstance(value, tuple):
        items = [_plain(v) for v in tuple.__iter__(value)]
        return None if any(v is None or isinstance(v, tuple) for v in items) else tuple(items)
    number = as_int(value)
    if number is not None:
        return number
    return as_float(value)


def judge_value(
    expected: Callable[[], Any],
    hint: str,
    mistakes: Callable[[], list[tuple[Any, str]]] = list,
    whole: str = "the answer is a count, a whole number: answer an int",
) -> Judge:
    """A judge for an answer that is one int or a tuple of ints.

    Args:
        expected: Computes the right answer (with the library), when the check runs.
        hint: Shown for a wrong answer that no known mistake explains.
        mistakes: Computes ``(wrong answer, what it means)`` pairs for typical mistakes;
            a wrong answer that several explain gets all their messages.
        whole: What a float answer is told, in the words of the exercise (`SIZES` for
            an output size).
    """

    def judge(answer: Any) -> tuple[bool, str]:
        right = expected()
        plain = _plain(answer)
        size = len(right) if isinstance(right, tuple) else None
        kind = f"a tuple of {size} ints" if size else "an int"
        if plain is None or isinstance(plain, tuple) != bool(size) or (size and len(plain) != size):
            return False, f"❌ Not yet: the answer is {kind}; you gave {answer!r} ({type(answer).__name__})."
        numbers = plain if size else (plain,)
        if any(isinstance(a, float) for a in numbers):
            if not all(a.is_integer() for a in numbers if isinstance(a, float)):
                return False, f"❌ Not yet: you answered {answer!r}, which is not a whole number: {whole}."
            which = "has a float in it" if size else "is a float"
            return False, f"❌ Not yet: {answer!r} {which}: {whole}."
        if plain == right:
            return True, f"✅ Correct: {right!r}."
        text = _explained(plain, right, [(_plain(w), m) for w, m in mistakes()], hint)
        return False, f"❌ Not yet: you answered {plain!r}. {text}".rstrip()

    return judge


def _rounding(digits: int) -> str:
    """How `round(x, digits)` is said: "to 2 decimals", "to the nearest hundred"."""
    if digits > 0:
        return f"to {digits} decimal{'s' if digits > 1 else ''}"
    names = {0: "the nearest whole number", -1: "the nearest ten", -2: "the nearest hundred"}
    return names.get(digits, f"the nearest multiple of {10**-digits:,}").join(["to ", ""])


def judge_number(
    expected: Callable[[], float],
    digits: int,
    hint: str,
    mistakes: Callable[[], list[tuple[float, str]]] = list,
) -> Judge:
    """A judge for a real number that the exercise asks to round to `digits` decimals.

    The right answer and every typical mistake are rounded the same way, so an answer
    rounded as asked matches exactly; one that is off only in its last digit is told so.

    Args:
        expected: Computes the exact right answer (with the library).
        digits: The number of decimals the exercise asks for (-2: to the nearest hundred).
        hint: Shown for a wrong answer that no known mistake explains.
        mistakes: Computes ``(wrong value, what it means)`` pairs, before rounding.
    """

    def judge(answer: Any) -> tuple[bool, str]:
        value = as_float(answer)
        if value is None:
            return (
                False,
                f"❌ Not yet: the answer is a number; you gave {answer!r} ({type(answer).__name__}).",
            )
        right = round(expected(), digits)
        right = int(right) if digits <= 0 else right  # 16300, not 16300.0
        if round(value, digits) == right:
            return True, f"✅ Correct: {right!r}."
        wrongs = [(round(wrong, digits), message) for wrong, message in mistakes()]
        text = _explained(round(value, digits), right, wrongs, hint)
        if text == hint and abs(value - right) <= 1.5 * 10**-digits:
            text = f"Close: round {_rounding(digits)} only at the end, and check the last digit."
        shown = as_int(answer) if isinstance(answer, Integral) else value  # 16250, not 16250.0
        return False, f"❌ Not yet: you answered {shown!r}. {text}".rstrip()

    return judge


def judge_choice(right: str, why_wrong: dict[str, str]) -> Judge:
    """A judge for a multiple-choice answer (one letter), with a reason for each wrong letter."""

    def judge(answer: Any) -> tuple[bool, str]:
        text = as_str(answer)
        letter = None if text is None else text.strip().lower()
        if letter == right:
            return True, f"✅ Correct: {right!r}."
        if letter in why_wrong:
            return False, f"❌ Not yet: {letter!r}: {why_wrong[letter]}"
        return (
            False,
            f"❌ Not yet: answer with one of the letters {sorted([right, *why_wrong])}; you gave {answer!r}.",
        )

    return judge


def judge_letters(right: Callable[[], set[str]], why: dict[str, tuple[str, str]], letters: str) -> Judge:
    """A judge for "which of these ...?": a string of the letters the learner picks.

    Args:
        right: Computes the set of right letters (with the library or torch itself).
        why: For each letter, what to say when it is (wrongly) picked and when it is
            (wrongly) left out.
        letters: Every letter on offer, such as ``"abcdef"``.
    """

    def judge(answer: Any) -> tuple[bool, str]:
        text = as_str(answer)
        picked = None if text is None else {c for c in text.lower() if c.isalnum()}
        if picked is None or not picked or not picked <= set(letters):
            return False, (
                f"❌ Not yet: answer a string of the letters you pick out of {letters!r}, such as "
                f"{letters[0] + letters[-1]!r}; you gave {answer!r}."
            )
        want = right()
        if picked == want:
            return True, f"✅ Correct: {''.join(sorted(want))!r}."
        # Wrong picks and letters left out are told apart: one right pick is no wrong
        # choice, and the reason for a missing letter argues for adding it.
        wrong = sorted(picked - want)
        missed = sorted(want - picked)
        parts = []
        if wrong:
            verb = "is" if len(wrong) == 1 else "are"
            reason = _why(wrong[0], why[wrong[0]][0])
            count = "your choice" if len(picked) == 1 else f"{len(wrong)} of your choices"
            parts.append(f"{count} {verb} wrong. {reason}")
        if missed:
            start = "your choice is" if len(picked) == 1 else "your choices are"
            start = "You also left out" if wrong else f"{start} right, but you left out"
            more = "" if wrong else " more"
            reason = _why(missed[0], why[missed[0]][1])
            parts.append(f"{start} {len(missed)}{more}. {reason}")
        return False, "❌ Not yet: " + " ".join(parts)

    return judge


def _why(letter: str, reason: str) -> str:
    """``'c': reason.``, the reason ending in a full stop unless it asks a question."""
    if not reason:
        return f"{letter!r}."
    return f"{letter!r}: {reason}{'' if reason.endswith(('?', '.')) else '.'}"
