"""Make the student copy of every notebook: the same notebook without its solutions.

    python3 tasks.py students          # write notebooks/student/NN_*.ipynb
    python3 tasks.py students --check  # exit 1 if a stored copy is stale

A student copy drops every cell tagged `solution` (the collapsible worked answers and
the code cells that run them), keeps every other cell with its stored outputs, so the
teaching cells still show their results and the exercise cells say "not answered yet",
and points its Colab badge at itself. Run it after `python3 tasks.py execute`.
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

import nbformat

from notebook_files import render

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
STUDENT = NOTEBOOKS / "student"

NOTE = (
    "> **Student copy.** The solutions are left out: try every exercise, and run its cell to check "
    "your answer. The full notebook is [`../{name}`](../{name})."
)


def student_copy(nb: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    """The student version of a notebook whose file name is `name`."""
    nb = copy.deepcopy(nb)
    nb.cells = [c for c in nb.cells if "solution" not in c.metadata.get("tags", [])]
    title = nb.cells[0]
    title.source = title.source.replace(f"/notebooks/{name}", f"/notebooks/student/{name}")
    title.source += "\n\n" + NOTE.format(name=name)
    # The remaining code cells ran in this order; number them 1..n as one run would.
    count = 0
    for cell in nb.cells:
        if cell.cell_type == "code":
            count += 1
            cell.execution_count = count
            for out in cell.outputs:
                if "execution_count" in out:
                    out.execution_count = count
    return nb


def main() -> int:
    parser = argparse.ArgumentParser(description="Write (or --check) the student copies.")
    parser.add_argument("--check", action="store_true", help="only report stale or missing copies")
    args = parser.parse_args()
    stale = []
    STUDENT.mkdir(exist_ok=True)
    for source in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        target = STUDENT / source.name
        text = render(student_copy(nbformat.read(source, as_version=4), source.name))
        current = target.read_text(encoding="utf-8") if target.exists() else None
        if current == text:
            continue
        stale.append(target)
        if not args.check:
            target.write_text(text, encoding="utf-8", newline="\n")
            print(f"wrote {target.relative_to(ROOT)}")
    if args.check and stale:
        print("stale student copies (run python3 tasks.py students):", *[p.name for p in stale])
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
