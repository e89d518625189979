"""pytest setup shared by the unit tests and nbval's notebook runs."""

import os
from pathlib import Path

import pytest

# Warnings name the cell they come from; without this, by a temporary file path
# that changes on every run (see tests/nbval_sanitize.cfg for the rest).
os.environ.setdefault("IPYKERNEL_CELL_NAME", "<IPY-INPUT>")
# Stored outputs come from a CPU run, so the tests compare a CPU run even on a GPU machine.
os.environ["CUDA_VISIBLE_DEVICES"] = ""
os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")

#: PyTorch's CPU kernels for the student copies' kernels, unless the caller chose one.
#: "default" is the unvectorised code path: the same math rounded differently, as on
#: another CPU. The student copies hold the same outputs as the notebooks, so running them
#: this way proves, on every run, that the stored outputs do not depend on this CPU.
STUDENT_COPY_CPU_CAPABILITY = "default"


def pytest_collection_modifyitems(items):
    for item in items:
        # The student copies re-run each notebook on the slow, unvectorised kernels: the
        # full suite (`tasks.py test --all`, CI) runs them, the quick one does not.
        if _is_student_copy(item):
            item.add_marker(pytest.mark.slow)
        # nbval waits 5 s for a cell's output messages by default: too short on a busy 2-core CI.
        if hasattr(item, "output_timeout"):
            item.output_timeout = 60


def _is_student_copy(item: pytest.Item) -> bool:
    path = Path(str(item.fspath))
    return path.suffix == ".ipynb" and path.parent.name == "student"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    # nbval starts a notebook's kernel while its first cell is set up, and the kernel
    # inherits this process's environment: set the variable just for that moment.
    if _is_student_copy(item) and "ATEN_CPU_CAPABILITY" not in os.environ:
        os.environ["ATEN_CPU_CAPABILITY"] = STUDENT_COPY_CPU_CAPABILITY
        try:
            yield
        finally:
            del os.environ["ATEN_CPU_CAPABILITY"]
    else:
        yield
