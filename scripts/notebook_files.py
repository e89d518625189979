"""Writing notebooks the one way every script of the repository writes them.

The stored notebooks are compared byte for byte (a second execution must not change
them), so the execute, student-copy and retarget scripts must produce the same text.
"""

from __future__ import annotations

from pathlib import Path

import nbformat


def render(nb: nbformat.NotebookNode) -> str:
    """The file's text, exactly as nbformat.write writes it (with a final newline)."""
    text = nbformat.writes(nb)
    return text if text.endswith("\n") else text + "\n"


def write_notebook(nb: nbformat.NotebookNode, path: Path) -> None:
    """Write `nb` to `path` as `render` gives it, with Unix line ends on every platform."""
    Path(path).write_text(render(nb), encoding="utf-8", newline="\n")
