"""Re-execute notebooks in place and store their outputs, reproducibly.

    python3 tasks.py execute                      # every notebook in notebooks/
    python3 tasks.py execute notebooks/01_*.ipynb # some of them

A second run gives byte-identical files: no per-cell timestamps, no widget state,
no machine paths, and the cells that show measured times (`# NBVAL_IGNORE_OUTPUT`)
keep their stored outputs unless `--refresh-timings` is given. A notebook whose run
raises an error (outside cells tagged `raises-exception`) is left untouched, so a
half-executed notebook is never stored.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import sys
import time
from importlib.metadata import version
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from notebook_files import write_notebook

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
RUN_TIMES = NOTEBOOKS / "run_times.json"


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


def is_timing_cell(cell: nbformat.NotebookNode) -> bool:
    """Cells whose output nbval ignores: they show measured times."""
    return cell.cell_type == "code" and cell.source.lstrip().startswith("# NBVAL_IGNORE_OUTPUT")


def keep_timings(old: nbformat.NotebookNode, new: nbformat.NotebookNode) -> None:
    """Put back the stored outputs of timing cells, so that a re-run changes no bytes.

    Measured times differ on every run; the stored ones stay until --refresh-timings.
    """
    old_cells = {c.source: c for c in old.cells if is_timing_cell(c) and c.outputs}
    for cell in new.cells:
        if is_timing_cell(cell) and cell.source in old_cells:
            cell.outputs = old_cells[cell.source].outputs
            for out in cell.outputs:
                if "execution_count" in out:
                    out.execution_count = cell.execution_count


def execute(path: Path, timeout: int = 600, refresh_timings: bool = False) -> float:
    """Run one notebook top to bottom in its own folder; return the seconds it took."""
    nb = nbformat.read(path, as_version=4)
    stored = copy.deepcopy(nb)
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
    if not refresh_timings:
        keep_timings(stored, nb)
    nbformat.validate(nb)
    write_notebook(nb, path)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: notebooks/[0-9]*.ipynb")
    parser.add_argument(
        "--refresh-timings",
        action="store_true",
        help="also store new outputs of timing cells (# NBVAL_IGNORE_OUTPUT); by default their"
        " stored outputs are kept, so that a re-run changes no bytes",
    )
    parser.add_argument(
        "--record-times",
        action="store_true",
        help=f"write each notebook's run time into {RUN_TIMES.relative_to(ROOT)} (README and"
        " WORKSHOP.md quote it); do this on a quiet machine",
    )
    args = parser.parse_args()
    paths = args.notebooks or sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    # The same settings as the tests (conftest.py), so the stored outputs are what they compare.
    os.environ.setdefault("IPYKERNEL_CELL_NAME", "<IPY-INPUT>")
    os.environ["CUDA_VISIBLE_DEVICES"] = ""
    times = json.loads(RUN_TIMES.read_text())["seconds"] if RUN_TIMES.exists() else {}
    for path in paths:
        print(f"executing {path.relative_to(ROOT) if path.is_absolute() else path} ...", end=" ", flush=True)
        seconds = execute(path.resolve(), refresh_timings=args.refresh_timings)
        print(f"{seconds:.1f} s", flush=True)
        times[path.name] = round(seconds)
    if args.record_times:
        record = {
            "about": "seconds to execute each notebook top to bottom on the CPU (python3 tasks.py execute)",
            "cpu_cores": os.cpu_count(),
            "torch": version("torch"),
            "platform": platform.platform(terse=True),
            "seconds": dict(sorted(times.items())),
        }
        RUN_TIMES.write_text(json.dumps(record, indent=1) + "\n")


if __name__ == "__main__":
    sys.exit(main())
