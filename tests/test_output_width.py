"""Every stored text output line fits the column it is read in, so nothing wraps mid-word.

The limit was measured: scripts/render_pages.py renders each notebook with nbconvert's
JupyterLab template in headless Chromium at 900 px (a stand-in for GitHub's narrower
column). A text output's box is 782 px wide there, and its font (13 px DejaVu Sans Mono,
the first of JupyterLab's code fonts that Chromium finds on Linux) is 7.83 px per
character: 99 characters fit, the 100th wraps (a 100-character line of "=" measured
783 px). Wide characters (the checks' emoji) take two columns in a terminal-style
monospace font, and may in a reader's emoji font: they count 2 here.
"""

import json
import re
import unicodedata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("0*.ipynb")) + sorted(
    (ROOT / "notebooks" / "student").glob("0*.ipynb")
)
MAX_COLUMNS = 99
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# A text/plain form is only shown when nothing richer is there: show_source's plain code
# and Table 1's aligned text are what nbval compares, the page shows Markdown or HTML.
RICHER = ("text/html", "text/markdown", "text/latex", "image/png", "image/jpeg", "image/svg+xml")


def columns(line: str) -> int:
    """How many character cells `line` takes in a monospace font."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line)


def shown_texts(output: dict) -> list[str]:
    """The texts of one stored output that the page shows as plain text."""
    kind = output["output_type"]
    if kind == "stream":
        return ["".join(output["text"])]
    if kind == "error":
        return [f"{output['ename']}: {output['evalue']}"]
    data = output.get("data", {})
    if "text/plain" in data and not any(mime in data for mime in RICHER):
        return ["".join(data["text/plain"])]
    return []


def too_wide(nb: dict, limit: int = MAX_COLUMNS) -> list[str]:
    """'cell N: W columns: line' for every shown output line wider than `limit`."""
    found = []
    for index, cell in enumerate(nb["cells"]):
        for output in cell.get("outputs", []):
            for text in shown_texts(output):
                for line in ANSI.sub("", text).splitlines():
                    line = line.split("\r")[-1]  # a progress line overwritten in place
                    if columns(line) > limit:
                        found.append(f"cell {index}: {columns(line)} columns: {line[:70]}")
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT / "notebooks")))
def test_every_output_line_fits_the_column(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert too_wide(nb) == []


def code_cell(*outputs: dict) -> dict:
    return {"cell_type": "code", "source": [], "metadata": {}, "outputs": list(outputs)}


def test_an_overlong_line_is_caught_in_every_kind_of_output():
    long = "x" * (MAX_COLUMNS + 1)
    nb = {
        "cells": [
            code_cell({"output_type": "stream", "name": "stdout", "text": ["short\n", long + "\n"]}),
            code_cell({"output_type": "execute_result", "data": {"text/plain": [long]}, "metadata": {}}),
            code_cell({"output_type": "error", "ename": "ValueError", "evalue": long, "traceback": []}),
        ]
    }
    assert [p.split(":")[0] for p in too_wide(nb)] == ["cell 0", "cell 1", "cell 2"]


def test_a_line_that_just_fits_passes_and_wide_characters_count_twice():
    fits = "x" * MAX_COLUMNS
    emoji = "✅" + "x" * (MAX_COLUMNS - 1)  # MAX_COLUMNS characters, one column more
    nb = {"cells": [code_cell({"output_type": "stream", "name": "stdout", "text": [fits + "\n", emoji]})]}
    assert [p.split(":")[0] for p in too_wide(nb)] == ["cell 0"]
    assert too_wide(nb)[0].startswith(f"cell 0: {MAX_COLUMNS + 1} columns")


def test_plain_text_behind_a_richer_form_is_not_what_the_page_shows():
    long = "x" * (MAX_COLUMNS + 1)
    shown = {"output_type": "display_data", "metadata": {}}
    nb = {"cells": [code_cell({**shown, "data": {"text/plain": [long], "text/markdown": ["```python"]}})]}
    assert too_wide(nb) == []
