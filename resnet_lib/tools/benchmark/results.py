"""The grid's results: the JSON file it writes, the text table it prints, the parity ratios.

A results file holds the rows of `run_grid` with the device, the versions and the date
they were measured with (`measured_on`), so that rows of different
machines are never mixed in one file.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Sequence
from pathlib import Path

import torch

from resnet_lib.device import device_description, pick_device
from resnet_lib.tools.step import CUDA_MEMORY, SAVED_MEMORY
from resnet_lib.tools.tables import Table
from resnet_lib.tools.timing import SPEED_SETTINGS
from resnet_lib.tools.validate import check_device, check_one_of

#: Column headers of `format_rows` for each kind.
MEMORY_COLUMNS = {CUDA_MEMORY: "peak MiB", SAVED_MEMORY: "saved MiB"}

_SAME = ("device", "torch", "torchvision", "cuda")  # what rows of one results file share


def measured_on(device: torch.device | str) -> dict[str, str | None]:
    """What a results file records about where it was measured: ``device``
    (`device_description`), ``device_type``, and the versions of ``torch``, ``torchvision``
    and ``cuda`` (None without CUDA)."""
    import torchvision

    device = check_device("device", device)
    return {
        "device": device_description(device),
        "device_type": device.type,
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "cuda": torch.version.cuda,
    }


def _cell(row: dict) -> tuple:
    """What identifies a cell of the grid (its batch may have been halved to fit)."""
    return tuple(row[k] for k in ("depth", "impl", "precision", "channels_last", "compile", "image_size"))


def check_rows(rows: object) -> None:
    """Raise TypeError unless `rows` is a list of rows of `run_grid` (dicts)."""
    if isinstance(rows, (str, dict)) or not isinstance(rows, Sequence):
        raise TypeError(f"rows must be a list of rows of run_grid (dicts), got {rows!r}")
    if not all(isinstance(r, dict) for r in rows):
        raise TypeError(f"rows must be a list of rows of run_grid (dicts), got {rows!r}")


def check_appendable(path: str | Path, device: torch.device | str) -> None:
    """Raise ValueError if `path` holds results of another device or other versions.

    The command line calls it before measuring anything, so that ``--append`` onto the
    wrong file fails at once rather than after the first cells.

    Args:
        path: The results file (nothing to check if it does not exist yet).
        device: The device of the rows to be appended.
    """
    path = Path(path)
    if not path.exists():
        return
    old, new = load_results(path), measured_on(device)
    if any(old.get(k) != new[k] for k in _SAME):
        raise ValueError(
            f"path {str(path)!r} holds results of {', '.join(str(old.get(k)) for k in _SAME)}; "
            f"not appending rows of {', '.join(str(new[k]) for k in _SAME)}"
        )


def save_results(
    rows: Sequence[dict], path: str | Path, device: torch.device | str | None = None, append: bool = False
) -> Path:
    """Write grid rows to a JSON file, with the device, the versions and the date.

    Args:
        rows: What `run_grid` returned.
        path: The file to write (its folder is created).
        device: The device the rows were measured on; `pick_device()` when ``None``.
        append: Keep the rows already in `path` (which must come from the same device
            and versions); a cell measured again replaces its old row.

    Returns:
        The path written.
    """
    check_rows(rows)
    if not rows:
        raise ValueError("rows must hold at least one result; got none")
    check_one_of("append", append, (False, True))
    device = pick_device(verbose=False) if device is None else check_device("device", device)
    results = {
        **measured_on(device),
        "date": datetime.date.today().isoformat(),
        "timing_settings": SPEED_SETTINGS,
        "rows": list(rows),
    }
    path = Path(path)
    if append and path.exists():
        check_appendable(path, device)
        new_cells = {_cell(r) for r in rows}
        results["rows"] = [r for r in load_results(path)["rows"] if _cell(r) not in new_cells] + list(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Write a new file, then rename it over the old one: a run killed while writing
    # (a time limit) leaves the previous version whole.
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    partial.replace(path)
    return path


def load_results(path: str | Path) -> dict:
    """Read a file written by `save_results`: a dict with "device", "date", "rows", ...

    Args:
        path: The JSON file.
    """
    results = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(results, dict) or not isinstance(results.get("rows"), list):
        raise ValueError(f"path {str(path)!r} is not a benchmark results file (no 'rows' list)")
    return results


#: The columns of `format_rows`, with their widths (gaps included) and alignment.
# 99 characters in all: what a text output shows unwrapped in a 900 px column
# (tests/test_output_width.py).
_COLUMNS = (
    ("model", 11, "l"),
    ("impl", 12, "l"),
    ("mode", 16, "l"),
    ("batch", 6, "r"),
    ("train img/s", 12, "r"),
    ("infer img/s", 12, "r"),
    (None, 10, "r"),  # the memory column, named for what it holds
    ("train TFLOP/s", 14, "r"),
    ("%peak", 6, "r"),
)


def format_rows(rows: Sequence[dict], header: bool = True, memory: str | None = None) -> str:
    """The rows as an aligned text table (images/s, memory, TFLOP/s, % of peak).

    The columns have fixed widths, so that rows printed one by one as they are measured
    (``header=False``) line up under a header printed before. The memory column is named
    for what it holds: "peak MiB" (`CUDA_MEMORY`) or "saved MiB" (`SAVED_MEMORY`, memory
    saved for backward), "mem MiB" if unknown.

    Args:
        rows: Rows of `run_grid` (none: the header alone).
        header: Start with the line of column names.
        memory: The rows' ``memory_kind``, to name the column when `rows` is empty
            (e.g. ``memory_kind(device)``); by default, read from the rows.
    """
    check_rows(rows)
    check_one_of("header", header, (False, True))
    kinds = {memory} if memory else {r.get("memory_kind") for r in rows}
    mem_column = MEMORY_COLUMNS.get(kinds.pop(), "mem MiB") if len(kinds) == 1 else "mem MiB"
    cells = []
    for r in rows:
        frac = r.get("train_fraction_of_peak")
        cells.append(
            (
                f"ResNet-{r['depth']}",
                r["impl"],
                r["mode"],
                str(r["batch_size"]),
                f"{r['train_img_s']:.1f}",
                f"{r['infer_img_s']:.1f}",
                f"{r['train_memory_mib']:.0f}",
                f"{r['train_tflops']:.3f}",
                "" if frac is None else f"{100 * frac:.1f}",
            )
        )
    table = Table(
        columns=tuple(name or mem_column for name, _, _ in _COLUMNS),
        rows=tuple(cells),
        align="".join(a for _, _, a in _COLUMNS),
        widths=tuple(w for _, w, _ in _COLUMNS),
    )
    return table.to_text(header=header)


def parity(rows: Sequence[dict]) -> list[dict]:
    """resnet_lib / torchvision throughput ratios for every (depth, mode) timed with both.

    Args:
        rows: Rows of `run_grid` or of a results file.

    Returns:
        One dict per cell timed with both: ``depth``, ``mode``, ``train_ratio``, ``infer_ratio``.
    """
    check_rows(rows)
    by_cell: dict[tuple, dict[str, dict]] = {}
    for r in rows:
        by_cell.setdefault((r["depth"], r["mode"], r["batch_size"], r["image_size"]), {})[r["impl"]] = r
    out = []
    for (depth, mode, _, _), pair in by_cell.items():
        if {"resnet_lib", "torchvision"} <= pair.keys():
            ours, theirs = pair["resnet_lib"], pair["torchvision"]
            out.append(
                {
                    "depth": depth,
                    "mode": mode,
                    "train_ratio": ours["train_img_s"] / theirs["train_img_s"],
                    "infer_ratio": ours["infer_img_s"] / theirs["infer_img_s"],
                }
            )
    return out
