"""pytest setup shared by the unit tests and nbval's notebook runs."""

import os

# Warnings name the cell they come from; without this, by a temporary file path
# that changes on every run (see tests/nbval_sanitize.cfg for the rest).
os.environ.setdefault("IPYKERNEL_CELL_NAME", "<IPY-INPUT>")
# Stored outputs come from a CPU run, so the tests compare a CPU run even on a GPU machine.
os.environ["CUDA_VISIBLE_DEVICES"] = ""
os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")


def pytest_collection_modifyitems(items):
    for item in items:
        # nbval waits 5 s for a cell's output messages by default: too short on a busy 2-core CI.
        if hasattr(item, "output_timeout"):
            item.output_timeout = 60
