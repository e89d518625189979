"""Re-execute notebooks in place and store their outputs, reproducibly.

    python3 tasks.py execute                      # every notebook in notebooks/
    python3 tasks.py execute notebooks/01_*.ipynb # some of them

A second run gives byte-identical files: no per-cell timestamps, no widget state,
no machine paths. A notebook whose run raises an error (outside cells tagged
`raises-exception`) is left untouched, so a half-executed notebook is never stored.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"


def merge_streams(nb: nbformat.NotebookNode) -> None:
    """Join consecutive stdout (or stderr) outputs of a cell into one.

    The kernel sends printed text in chunks on a timer, so on a busy machine one
    print may arrive as two outputs; joined, the stored file is the same every run.
    """
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        merged: list[nbformat.NotebookNode] = []
        for out in cell.outputs:
            last = merged[-1] if merged else None
            if last and out.output_type == last.output_type == "stream" and out.name == last.name:
                last.text += out.text
            else:
                merged.append(out)
        cell.outputs = merged


def execute(path: Path, timeout: int = 600) -> float:
    """Run one notebook top to bottom in its own folder; return the seconds it took."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        record_timing=False,  # no timestamps in cell metadata
        store_widget_state=False,  # no widget models (they change every run)
    )
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    nb.metadata.pop("widgets", None)
    merge_streams(nb)
    nbformat.validate(nb)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        nbformat.write(nb, f)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: notebooks/[0-9]*.ipynb")
    args = parser.parse_args()
    paths = args.notebooks or sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    # The same settings as the tests (conftest.py), so the stored outputs are what they compare.
    os.environ.setdefault("IPYKERNEL_CELL_NAME", "<IPY-INPUT>")
    os.environ["CUDA_VISIBLE_DEVICES"] = ""
    for path in paths:
        print(f"executing {path.relative_to(ROOT) if path.is_absolute() else path} ...", end=" ", flush=True)
        print(f"{execute(path.resolve()):.1f} s", flush=True)


if __name__ == "__main__":
    sys.exit(main())
