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


#: The slowest unit tests (measured with --durations on 2 cores), left out of the quick suite
#: (`python3 tasks.py test`) and run by the full one (`tasks.py test --all`, CI). Each proves
#: something the quick suite also proves on a smaller case: ResNet-18's weights load, not all
#: depths'; one training step, not a whole learning curve; one DDP step, not a resumed run.
SLOW_TESTS = (
    "tests/test_gpu_session.py::test_every_step_runs_and_writes_its_file",
    "tests/test_models.py::test_torchvision_weights_load_strictly_and_the_functions_agree[34]",
    "tests/test_models.py::test_torchvision_weights_load_strictly_and_the_functions_agree[50]",
    "tests/test_models.py::test_torchvision_weights_load_strictly_and_the_functions_agree[101]",
    "tests/test_models.py::test_torchvision_weights_load_strictly_and_the_functions_agree[152]",
    "tests/test_ddp.py::test_interrupted_and_resumed_run_matches_an_uninterrupted_one",
    "tests/test_family.py::test_train_mode_and_gradients_match_torchvision[wide_resnet50_2]",
    "tests/test_family.py::test_same_network_as_torchvision[resnext101_32x8d]",
    "tests/test_family.py::test_same_network_as_torchvision[resnext101_64x4d]",
    "tests/test_benchmark.py::test_grid_command_writes_a_results_file",
    "tests/test_benchmark.py::test_a_compiled_cell_runs",
    "tests/test_helpers.py::test_benchmark_command_prints_both_ratios",
    "tests/test_helpers.py::test_receptive_field_formula_agrees_with_backpropagation[resnet50-v1]",
    "tests/test_helpers.py::test_receptive_field_formula_agrees_with_backpropagation[resnet50-v1.5]",
    "tests/test_training.py::test_learns_the_generated_set",
    "tests/test_repository.py::test_the_wheel_holds_every_module_and_measurement",
)


def pytest_collection_modifyitems(items):
    for item in items:
        # The student copies re-run each notebook on the slow, unvectorised kernels: the
        # full suite (`tasks.py test --all`, CI) runs them, the quick one does not.
        if _is_student_copy(item) or item.nodeid in SLOW_TESTS:
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
