"""The registry of exercises, `check` and `check_exercise`, and the common judges.

A *judge* takes a learner's answer (never None) and returns ``(correct?, message)``.
Each notebook's module (``nb01`` ... ``nb06``) puts its judges into `EXERCISES` under
the exercise's id, ``"03.2"`` say. A judge computes the right answer itself, with the
library, when the check runs: the page shows neither the answer nor the expression
that computes it, and the judge can name the typical mistake behind a wrong answer.
"""

from __future__ import annotations

from collections.abc import Callable
from numbers import Integral, Real
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
        print(f"❌ Not yet: you answered {answer!r}. {hint}".rstrip())
    return correct


def check_exercise(exercise_id: str, answer: Any) -> bool:
    """Judge `answer` to the exercise `exercise_id` of `EXERCISES`; print one line.

    Args:
        exercise_id: Such as ``"04.2"``: notebook, then exercise number.
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
    print(message)
    return correct


# --- judges that several notebooks use ------------------------------------------------


def is_int(value: Any) -> bool:
    """An int, but not a bool (True would otherwise pass for 1)."""
    return isinstance(value, Integral) and not isinstance(value, bool)


def _explained(answer: Any, right: Any, mistakes: list[tuple[Any, str]], hint: str) -> str:
    """The messages of every typical mistake that gives `answer`, or else `hint`."""
    why = [message for wrong, message in mistakes if wrong == answer and wrong != right]
    if not why:
        return hint
    return " Or: ".join(w[0].upper() + w[1:] + "." for w in why)


def judge_value(
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
        if not shape_ok or not all(is_int(a) or isinstance(a, float) for a in ints):
            kind = f"a tuple of {len(right)} ints" if isinstance(right, tuple) else "an int"
            return False, f"❌ Not yet: the answer is {kind}; you gave {answer!r} ({type(answer).__name__})."
        if any(isinstance(a, float) for a in ints):
            if not all(float(a).is_integer() for a in ints):
                return (
                    False,
                    f"❌ Not yet: you answered {answer!r}, which is not a whole number: where does the floor (//) go?",
                )
            if tuple(int(a) for a in ints) == (right if isinstance(right, tuple) else (right,)):
                return (
                    False,
                    f"❌ Not yet: {answer!r} has a float in it; sizes are whole numbers: use // (floor division).",
                )
        answer = tuple(int(a) for a in ints) if isinstance(answer, tuple) else int(answer)
        if answer == right:
            return True, f"✅ Correct: {right!r}."
        text = _explained(answer, right, mistakes(), hint)
        return False, f"❌ Not yet: you answered {answer!r}. {text}".rstrip()

    return judge


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
        digits: The number of decimals the exercise asks for.
        hint: Shown for a wrong answer that no known mistake explains.
        mistakes: Computes ``(wrong value, what it means)`` pairs, before rounding.
    """

    def judge(answer: Any) -> tuple[bool, str]:
        if not isinstance(answer, Real) or isinstance(answer, bool):
            return (
                False,
                f"❌ Not yet: the answer is a number; you gave {answer!r} ({type(answer).__name__}).",
            )
        right = round(expected(), digits)
        right = int(right) if digits <= 0 else right  # 16300, not 16300.0
        if round(answer, digits) == right:
            return True, f"✅ Correct: {right!r}."
        wrongs = [(round(value, digits), message) for value, message in mistakes()]
        text = _explained(round(answer, digits), right, wrongs, hint)
        if text == hint and abs(answer - right) <= 1.5 * 10**-digits:
            text = f"Close: round to {digits} decimal(s) only at the end, and check the last digit."
        return False, f"❌ Not yet: you answered {answer!r}. {text}".rstrip()

    return judge


def judge_choice(right: str, why_wrong: dict[str, str]) -> Judge:
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
