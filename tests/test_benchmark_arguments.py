"""Bad arguments to the benchmark, timing and device helpers fail at once, saying what is allowed."""

import re

import pytest
import torch
from torch import nn

import resnet_lib  # noqa: F401  (before torch.utils.benchmark: silences a CUDA log line)
from resnet_lib.device import device_description, seed_everything, synchronize
from resnet_lib.tools.benchmark import (
    BenchConfig,
    default_grid,
    format_rows,
    grid_configs,
    main,
    memory_kind,
    parity,
    peak_tflops,
    plot_results,
    run_grid,
    save_results,
)
from resnet_lib.tools.benchmark.parity import parity_benchmark
from resnet_lib.tools.benchmark.results import measured_on
from resnet_lib.tools.step import TrainingStep, cuda_peak_memory
from resnet_lib.tools.tables import Table
from resnet_lib.tools.timing import interleaved_medians, profile_step

CPU = torch.device("cpu")
NO_CUDA = pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a CUDA GPU")


def test_devices_may_be_given_as_strings():
    assert memory_kind("cpu") == "memory saved for backward"
    assert device_description("cpu") == "cpu" and measured_on("cpu")["device_type"] == "cpu"
    synchronize("cpu")
    # row_limit above the handful of ops the lambda runs: which ones rank first by time varies.
    assert "aten::mul" in profile_step(lambda: torch.ones(3) * 2, "cpu", row_limit=20)
    assert default_grid("cpu") == default_grid(CPU)


@pytest.mark.parametrize(
    "call, error, argument",
    [
        (lambda: run_grid([BenchConfig(18, 2, 32)], device=0), TypeError, "device"),
        (lambda: run_grid([BenchConfig(18, 2, 32)], device="gpu"), ValueError, "device"),
        (lambda: run_grid(BenchConfig(18, 2, 32), CPU), TypeError, "configs"),
        (lambda: run_grid([BenchConfig(18, 2, 32)], CPU, rounds=True), TypeError, "rounds"),
        (lambda: run_grid([BenchConfig(18, 2, 32)], CPU, progress="print"), TypeError, "progress"),
        (lambda: profile_step(lambda: None, CPU, row_limit=0), ValueError, "row_limit"),
        (lambda: parity_benchmark(batch_size=0), ValueError, "batch_size"),
        (lambda: parity_benchmark(batch_size=2.0), TypeError, "batch_size"),
        (lambda: parity_benchmark(depth=20), ValueError, "depth"),
        (lambda: parity_benchmark(image_size=-1), ValueError, "image_size"),
        (lambda: parity_benchmark(device=1), TypeError, "device"),
        (lambda: BenchConfig(batch_size=True), TypeError, "batch_size"),
        (lambda: BenchConfig(channels_last=1), ValueError, "channels_last"),
        (lambda: grid_configs(depths=18), TypeError, "depths"),
        (lambda: grid_configs(depths=()), TypeError, "depths"),
        (lambda: grid_configs(depths=(20,)), ValueError, "depth"),
        (lambda: grid_configs(modes="fp32"), TypeError, "modes"),
        (lambda: grid_configs(impls=("timm",)), ValueError, "impl"),
        (lambda: grid_configs(batch_size=0), ValueError, "batch_size"),
        (lambda: grid_configs(device=3), TypeError, "device"),
        (lambda: default_grid("tpu"), ValueError, "device"),
        (lambda: memory_kind(None), TypeError, "device"),
        (lambda: peak_tflops(None, "bf16"), TypeError, "device_name"),
        (lambda: format_rows("rows"), TypeError, "rows"),
        (lambda: format_rows([1]), TypeError, "rows"),
        (lambda: format_rows([], header="yes"), ValueError, "header"),
        (lambda: parity({"depth": 18}), TypeError, "rows"),
        (lambda: plot_results("rows"), TypeError, "rows"),
        (lambda: plot_results([]), ValueError, "rows"),
        (lambda: plot_results([{}], title=3), TypeError, "title"),
        (lambda: save_results("rows", "x.json", CPU), TypeError, "rows"),
        (lambda: save_results([{}], "x.json", CPU, append="yes"), ValueError, "append"),
        (lambda: interleaved_medians({}, 1, 1), TypeError, "steps"),
        (lambda: interleaved_medians({"a": 3}, 1, 1), TypeError, "steps"),
        (lambda: interleaved_medians({"a": print}, 0, 1), ValueError, "rounds"),
        (lambda: interleaved_medians({"a": print}, 1, 0), ValueError, "steps_per_round"),
        (lambda: TrainingStep(nn.Linear(2, 2), torch.ones(1, 2), precision="fp8"), ValueError, "precision"),
        (lambda: cuda_peak_memory(lambda: None, "cpu"), ValueError, "device"),
        (lambda: synchronize(0), TypeError, "device"),
        (lambda: device_description("gpu"), ValueError, "device"),
        (lambda: measured_on(None), TypeError, "device"),
        (lambda: seed_everything(True), TypeError, "seed"),
        (lambda: seed_everything(0, num_threads=0), ValueError, "num_threads"),
        (lambda: seed_everything(0, deterministic=1), TypeError, "deterministic"),
        (lambda: Table(("a", "b"), (), widths=(3,)), ValueError, "widths"),
        (lambda: Table(("a",), (), widths=(0,)), ValueError, "widths"),
    ],
)  # fmt: skip
def test_bad_arguments_say_what_is_allowed(call, error, argument):
    # The exception's type and the argument it names, not the whole wording.
    with pytest.raises(error, match=re.escape(argument)):
        call()


@NO_CUDA
def test_a_device_this_machine_lacks_is_refused_before_any_work():
    with pytest.raises(ValueError, match="device='cuda': this machine has no cuda device"):
        run_grid([BenchConfig(18, 2, 32)], "cuda")
    with pytest.raises(ValueError, match="device='cuda': this machine has no cuda device"):
        parity_benchmark(18, 2, 32, "cuda")
    # Planning is not running: the grid of a GPU can be listed on any machine.
    assert memory_kind("cuda").startswith("peak CUDA memory")


@pytest.mark.parametrize(
    "argv, says",
    [
        (["--grid", "--rounds", "0"], "--rounds: must be a positive whole number, got '0'"),
        (["--grid", "--warmup", "-1"], "--warmup: must be a whole number >= 0, got '-1'"),
        (["--image-size", "x"], "--image-size: must be a positive whole number, got 'x'"),
        (["--device", "tpu"], "--device must name a device"),
    ],
)
def test_the_command_line_refuses_bad_values(argv, says, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2 and says in capsys.readouterr().err
