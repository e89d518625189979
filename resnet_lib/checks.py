"""Self-checks for the notebooks' exercises.

A check never raises: an exercise that is not answered yet, or answered with the
wrong type, gets a message, so a notebook always runs from top to bottom.
"""

from __future__ import annotations

from typing import Any

NOT_ANSWERED = "⏳ Not answered yet: replace the None with your answer and run the cell again."


def check(answer: Any, expected: Any, hint: str = "") -> bool:
    """Compare a learner's answer with the expected one and say so in one line.

    Args:
        answer: What the learner wrote; ``None`` (or ``...``) means not answered yet.
        expected: The right answer, usually computed with the library.
        hint: Shown when the answer is wrong: a nudge, not the answer.

    Returns:
        True when the answer is right.
    """
    if answer is None or answer is Ellipsis:
        print(NOT_ANSWERED)
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
