"""Bad arguments to the benchmark, timing and device helpers fail at once, saying what is allowed."""

import pytest
import torch
from torch import nn

import resnet_lib  # noqa: F401  (before torch.utils.benchmark: silences a CUDA log line)
from resnet_lib.device import device_description, measured_on, pick_device, seed_everything, synchronize
from resnet_lib.step import TrainingStep, cuda_peak_memory
from resnet_lib.timing import compare_training_step, interleaved_medians, parity_benchmark, profile_step
from resnet_lib.tools.benchmark import (
    BenchConfig,
    StepRunner,
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
from resnet_lib.tools.tables import Table

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
    "call, error, match",
    [
        (lambda: run_grid([BenchConfig(18, 2, 32)], device=0), TypeError, "device must be a torch.device or a string"),
        (lambda: run_grid([BenchConfig(18, 2, 32)], device="gpu"), ValueError, "device must name a device"),
        (lambda: run_grid(BenchConfig(18, 2, 32), CPU), TypeError, "configs must be a sequence of BenchConfig"),
        (lambda: run_grid([BenchConfig(18, 2, 32)], CPU, rounds=True), TypeError, "rounds must be a positive int, got True"),
        (lambda: run_grid([BenchConfig(18, 2, 32)], CPU, progress="print"), TypeError, "progress must be a function"),
        (lambda: profile_step(lambda: None, 0), TypeError, "device must be a torch.device or a string"),
        (lambda: profile_step("step", CPU), TypeError, "step must be a function"),
        (lambda: profile_step(lambda: None, CPU, row_limit=0), ValueError, "row_limit must be a positive int, got 0"),
        (lambda: parity_benchmark(batch_size=0), ValueError, "batch_size must be a positive int, got 0"),
        (lambda: parity_benchmark(batch_size=2.0), TypeError, "batch_size must be a positive int, got 2.0"),
        (lambda: parity_benchmark(depth=20), ValueError, "depth must be one of 18, 34, 50, 101, 152; got 20"),
        (lambda: parity_benchmark(image_size=-1), ValueError, "image_size must be a positive int, got -1"),
        (lambda: parity_benchmark(device=1), TypeError, "device must be a torch.device or a string"),
        (lambda: BenchConfig(batch_size=True), TypeError, "batch_size must be a positive int, got True"),
        (lambda: BenchConfig(channels_last=1), ValueError, "channels_last must be one of False, True; got 1"),
        (lambda: grid_configs(depths=18), TypeError, "depths must be a non-empty sequence"),
        (lambda: grid_configs(depths=()), TypeError, "depths must be a non-empty sequence"),
        (lambda: grid_configs(depths=(20,)), ValueError, "depth must be one of 18, 34, 50, 101, 152; got 20"),
        (lambda: grid_configs(modes="fp32"), TypeError, "modes must be a non-empty sequence"),
        (lambda: grid_configs(impls=("timm",)), ValueError, "impl must be one of 'resnet_lib', 'torchvision'"),
        (lambda: grid_configs(batch_size=0), ValueError, "batch_size must be a positive int, got 0"),
        (lambda: grid_configs(device=3), TypeError, "device must be a torch.device or a string"),
        (lambda: default_grid("tpu"), ValueError, "device must name a device"),
        (lambda: memory_kind(None), TypeError, "device must be a torch.device or a string"),
        (lambda: peak_tflops(None, "bf16"), TypeError, "device_name must be a str"),
        (lambda: StepRunner(nn.Linear(2, 2), "cfg", CPU), TypeError, "cfg must be a BenchConfig, got 'cfg'"),
        (lambda: format_rows("rows"), TypeError, "rows must be a list of rows of run_grid"),
        (lambda: format_rows([1]), TypeError, "rows must be a list of rows of run_grid"),
        (lambda: format_rows([], header="yes"), ValueError, "header must be one of False, True; got 'yes'"),
        (lambda: parity({"depth": 18}), TypeError, "rows must be a list of rows of run_grid"),
        (lambda: plot_results("rows"), TypeError, "rows must be a list of rows of run_grid"),
        (lambda: plot_results([]), ValueError, "rows must hold at least one result"),
        (lambda: plot_results([{}], title=3), TypeError, "title must be a str, got 3"),
        (lambda: save_results("rows", "x.json", CPU), TypeError, "rows must be a list of rows of run_grid"),
        (lambda: save_results([{}], "x.json", CPU, append="yes"), ValueError, "append must be one of False, True"),
        (lambda: interleaved_medians({}, 1, 1), TypeError, "steps must be a non-empty dict"),
        (lambda: interleaved_medians({"a": 3}, 1, 1), TypeError, "steps must be a non-empty dict"),
        (lambda: interleaved_medians({"a": print}, 0, 1), ValueError, "rounds must be a positive int, got 0"),
        (lambda: interleaved_medians({"a": print}, 1, 0), ValueError, "steps_per_round must be a positive int"),
        (lambda: compare_training_step([nn.Linear(2, 2)], torch.ones(1, 2)), TypeError, "models must be a non-empty dict"),
        (lambda: compare_training_step({"a": "model"}, torch.ones(1, 2)), TypeError, "model must be a torch.nn.Module"),
        (lambda: compare_training_step({"a": nn.Linear(2, 2)}, [1.0, 2.0]), TypeError, "x must be a torch.Tensor"),
        (lambda: compare_training_step({"a": nn.Linear(2, 2)}, torch.ones(1, 2), warmup=-1), ValueError, "warmup must be an int >= 0, got -1"),
        (lambda: TrainingStep(nn.Linear(2, 2), torch.ones(1, 2), precision="fp8"), ValueError, "precision must be one of 'fp32', 'bf16', 'fp16'; got 'fp8'"),
        (lambda: cuda_peak_memory(lambda: None, "cpu"), ValueError, "device must be a CUDA device"),
        (lambda: synchronize(0), TypeError, "device must be a torch.device or a string"),
        (lambda: device_description("gpu"), ValueError, "device must name a device"),
        (lambda: measured_on(None), TypeError, "device must be a torch.device or a string"),
        (lambda: pick_device(verbose="no"), ValueError, "verbose must be one of False, True; got 'no'"),
        (lambda: seed_everything(True), TypeError, "seed must be an int >= 0, got True"),
        (lambda: seed_everything(0, num_threads=0), ValueError, "num_threads must be a positive int, got 0"),
        (lambda: seed_everything(0, deterministic=1), ValueError, "deterministic must be one of False, True; got 1"),
        (lambda: Table(("a", "b"), (), widths=(3,)), ValueError, "widths must give a positive int for each of 2 columns"),
        (lambda: Table(("a",), (), widths=(0,)), ValueError, "widths must give a positive int for each of 1 columns"),
    ],
)  # fmt: skip
def test_bad_arguments_say_what_is_allowed(call, error, match):
    with pytest.raises(error, match=match):
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
