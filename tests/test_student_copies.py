"""Student copies: generated from the notebooks, current, and without solutions."""

from pathlib import Path

import nbformat
import pytest

from make_student_copies import STUDENT, render, student_copy

ROOT = Path(__file__).resolve().parents[1]

SOURCES = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name)
def test_student_copy_is_current(source):
    stored = STUDENT / source.name
    assert stored.exists(), "missing: run python3 tasks.py students"
    expected = render(student_copy(nbformat.read(source, as_version=4), source.name))
    assert stored.read_text(encoding="utf-8") == expected, "stale: run python3 tasks.py students"


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name)
def test_student_copy_has_no_solutions_and_unanswered_exercises(source):
    nb = nbformat.read(STUDENT / source.name, as_version=4)
    assert not [c for c in nb.cells if "solution" in c.metadata.get("tags", [])]
    text = "".join(c.source for c in nb.cells)
    assert "<summary>Solution" not in text
    # An exercise cell holds a check and the learner's part still to do: an answer that is
    # None, or a function (or a block's forward) that raises NotImplementedError.
    exercises = [
        c
        for c in nb.cells
        if c.cell_type == "code"
        and "check" in c.source
        and ("= None" in c.source or "raise NotImplementedError" in c.source)
    ]
    assert exercises, "no exercise cells found"
    for cell in exercises:
        printed = "".join(o.get("text", "") for o in cell.outputs)
        assert "Not answered yet" in printed


def test_no_orphan_student_copies():
    assert {p.name for p in STUDENT.glob("*.ipynb")} == {p.name for p in SOURCES}


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name)
def test_student_copy_does_not_point_at_a_solution_it_lacks(source):
    """A kept cell never sends the learner to "the solution": the student copy has none."""
    import re

    nb = student_copy(nbformat.read(source, as_version=4), source.name)
    kept = [c.source for c in nb.cells[1:]]  # the title's note names the full notebook
    pointers = [
        m.group(0) for text in kept for m in re.finditer(r"\b(the|its|their)\s+solutions?\b", text, re.I)
    ]
    assert not pointers, pointers
