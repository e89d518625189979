"""The helpers the notebooks lean on: inspection, device, seeding, self-checks, benchmark."""

import random
import time

import numpy as np
import pytest
import torch
from torch import nn

from resnet_lib import (
    conv3x3,
    count_parameters,
    pick_device,
    resnet,
    resnet18,
    resnet50,
    seed_everything,
    trace_layers,
)
from resnet_lib.checks import check
from resnet_lib.inspection import measure_receptive_field, model_receptive_field
from resnet_lib.tools.benchmark import main
from resnet_lib.tools.source import show_source
from resnet_lib.tools.timing import StepStats, compare_training_step, interleaved_medians, speed_settings


def test_count_parameters_trainable_only():
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))  # 16 + 10
    model[0].requires_grad_(False)
    assert count_parameters(model) == 26
    assert count_parameters(model, trainable_only=True) == 10


def test_trace_layers_records_real_sizes_of_the_stem():
    calls = trace_layers(resnet18(), (1, 3, 224, 224))
    stem = [(c.name, c.kind, c.in_size, c.out_size, c.kernel_size, c.stride, c.padding) for c in calls[:2]]
    assert stem == [("conv1", "conv", 224, 112, 7, 2, 3), ("maxpool", "pool", 112, 56, 3, 2, 1)]
    assert calls[-1].out_size == 7


def test_show_source_displays_the_real_code():
    source = show_source(conv3x3)
    assert repr(source).startswith("def conv3x3(")
    assert "\n\n```python\ndef conv3x3(" in source._repr_markdown_()
    with pytest.raises(TypeError, match="obj must be a function, class, method or module, got int"):
        show_source(3)


def test_show_source_notes_a_builtin_instead_of_failing(capsys):
    # torch 2.9 on a machine without an accelerator: benchmark.utils.timer.timer is timeit.default_timer.
    import timeit

    assert show_source(timeit.default_timer) is None
    assert "time.perf_counter is a builtin (written in C, not Python)" in capsys.readouterr().out
    assert show_source(int) is None  # a class defined in C: inspect.getsource raises TypeError
    assert "int has no Python source to show here" in capsys.readouterr().out


def test_seed_everything_repeats_every_generator():
    def draw():
        return random.random(), np.random.rand(), torch.rand(1).item()

    seed_everything(7)
    first = draw()
    seed_everything(7)
    assert draw() == first
    assert torch.get_num_threads() == 2
    with pytest.raises(TypeError, match="seed must be an int >= 0, got '7'"):
        seed_everything("7")
    with pytest.raises(ValueError, match="seed must be an int >= 0, got -1"):
        seed_everything(-1)
    with pytest.raises(ValueError, match="seed must be below 2"):
        seed_everything(2**32)


def test_pick_device_says_what_it_picked(capsys):
    device = pick_device()
    assert isinstance(device, torch.device)
    assert capsys.readouterr().out.startswith(f"Using device: {device.type}")
    pick_device(verbose=False)
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(
    "answer, expected, ok, says",
    [
        (None, 3, False, "Not answered yet"),
        (..., 3, False, "Not answered yet"),
        (3, 3, True, "Correct: 3."),
        (4, 3, False, "Not yet: you answered 4. Think again."),
        ("three", 3, False, "Not yet: you answered 'three'."),
        (torch.ones(2), (1, 1), False, "Not yet"),  # an ambiguous comparison does not crash
    ],
)
def test_check_never_raises(capsys, answer, expected, ok, says):
    assert check(answer, expected, hint="Think again.") is ok
    assert says in capsys.readouterr().out


class Sleepy(nn.Module):
    """A small network whose forward pass takes a known time: 50 ms more than its conv."""

    def __init__(self, seconds: float = 0.05):
        super().__init__()
        self.conv, self.seconds = nn.Conv2d(3, 4, 3), seconds

    def forward(self, x):
        time.sleep(self.seconds)
        return self.conv(x)


def test_compare_training_step_times_and_measures_each_model():
    torch.manual_seed(0)
    models = {"a": Sleepy(), "b": Sleepy()}
    stats = compare_training_step(models, torch.randn(2, 3, 8, 8), rounds=2, steps_per_round=2, warmup=1)
    assert set(stats) == {"a", "b"} and all(isinstance(s, StepStats) for s in stats.values())
    # Seconds per step, not per round of 2 steps, nor milliseconds: a step sleeps 50 ms.
    assert all(0.05 <= s.seconds < 0.095 for s in stats.values()), stats
    assert stats["a"].memory_bytes == stats["b"].memory_bytes > 0  # same network, same memory
    assert stats["a"].memory_kind == "memory saved for backward"
    with pytest.raises(ValueError, match="rounds must be a positive int, got 0"):
        compare_training_step(models, torch.randn(2, 3, 8, 8), rounds=0)


def test_interleaved_medians_alternate_the_order_of_the_steps():
    calls = []
    steps = {"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}
    interleaved_medians(steps, rounds=3, steps_per_round=1)
    runs = [name for i, name in enumerate(calls) if i == 0 or calls[i - 1] != name]
    assert runs == ["a", "b", "a", "b"]  # A B, B A, A B: the middle round starts with B


def _settings():
    return torch.are_deterministic_algorithms_enabled(), torch.backends.cudnn.benchmark


def test_speed_settings_are_set_inside_and_restored_after():
    seed_everything()  # the notebooks' repeatable settings: deterministic, no autotuner
    assert _settings() == (True, False)
    with pytest.raises(RuntimeError, match="boom"):
        with speed_settings():
            assert _settings() == (False, True)
            raise RuntimeError("boom")
    assert _settings() == (True, False) and torch.is_deterministic_algorithms_warn_only_enabled()


def test_compare_training_step_times_with_the_speed_settings_and_says_how_far_it_is():
    seed_everything()
    seen = []

    class Spy(nn.Module):  # records the settings every step of the comparison ran with
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 2, 3)

        def forward(self, x):
            seen.append(_settings())
            return self.conv(x)

    lines = []
    compare_training_step(
        {"a": Spy()}, torch.randn(1, 3, 8, 8), rounds=2, steps_per_round=1, progress=lines.append
    )
    assert seen and set(seen) == {(False, True)}
    assert _settings() == (True, False)  # put back
    assert lines[0].startswith("  warm-up: 2 untimed steps per model (cudnn.benchmark on")
    assert [ln.split(" (")[0] for ln in lines if "timed round" in ln] == [
        "  timed round 1/2",
        "  timed round 2/2",
    ]


def test_benchmark_command_prints_both_ratios(capsys):
    main(["--depth", "18", "--batch-size", "2", "--image-size", "32", "--device", "cpu"])
    out = capsys.readouterr().out
    assert "warm-up" in out and "timed round 7/7" in out  # progress while it runs
    assert "time ratio   (resnet_lib / torchvision):" in out
    assert "memory ratio (resnet_lib / torchvision): 1.000" in out


# Receptive field / total stride / padding of the last feature map (reference figures).
RECEPTIVE_FIELDS = {
    18: (435, 32, 217),
    34: (899, 32, 449),
    50: (427, 32, 213),
    101: (971, 32, 485),
    152: (1451, 32, 725),
}


@pytest.mark.parametrize("depth", RECEPTIVE_FIELDS)
def test_receptive_field_of_every_depth(depth):
    rf = model_receptive_field(resnet(depth))
    assert (rf.size, rf.stride, rf.padding) == RECEPTIVE_FIELDS[depth]


@pytest.mark.parametrize(
    "model, image_size, expected",
    [(resnet18(), 448, 435), (resnet50(), 448, 427), (resnet50(stride_in_1x1=True), 512, 483)],
    ids=["resnet18", "resnet50-v1.5", "resnet50-v1"],
)
def test_receptive_field_formula_agrees_with_backpropagation(model, image_size, expected):
    assert model_receptive_field(model).size == expected == measure_receptive_field(model, image_size)


def test_measure_receptive_field_refuses_a_clipped_field():
    with pytest.raises(ValueError, match="image_size=224 is too small"):
        measure_receptive_field(resnet18(), 224)


def test_the_cuda_peak_of_a_step_leaves_out_what_was_allocated_before(monkeypatch):
    # No GPU here: PyTorch's CUDA allocator statistics are replaced by a fake allocator that
    # already holds 1,000 bytes (weights, other tensors) and peaks 300 bytes higher in the step.
    from types import SimpleNamespace

    from resnet_lib.tools import step as step_module

    allocator = {"allocated": 1000, "peak": 5000}  # a peak left over from earlier work

    def reset(device):
        allocator["peak"] = allocator["allocated"]

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "synchronize", lambda device=None: None)
    monkeypatch.setattr(torch.cuda, "reset_peak_memory_stats", reset)
    monkeypatch.setattr(torch.cuda, "memory_allocated", lambda device=None: allocator["allocated"])
    monkeypatch.setattr(torch.cuda, "max_memory_allocated", lambda device=None: allocator["peak"])

    class FakeStep:
        def __init__(self, optimizer):
            self.x = SimpleNamespace(device=torch.device("cuda"))
            self.model, self.optimizer = nn.Linear(2, 2), optimizer

        def __call__(self):
            allocator["peak"] = max(allocator["peak"], allocator["allocated"] + 300)

    memory, kind = step_module.step_memory(FakeStep(optimizer=None))
    assert memory == 300  # not 5,000 (the old peak) nor 1,300 (what was there before counted)
    assert kind == "peak CUDA memory that forward + backward adds to what was allocated before it"
    memory, kind = step_module.step_memory(FakeStep(optimizer=object()))
    assert memory == 300 and "forward + backward + optimizer step" in kind
    memory, kind = step_module.step_memory(FakeStep(optimizer=None), baseline=200)
    assert memory == 1100 and kind == step_module.CUDA_MEMORY  # the model's own bytes count too


def test_the_gpu_profile_table_counts_each_kernel_once():
    # What key_averages() holds after a CUDA profile: each kernel once as its own event and
    # once more in the self device time of the operation that launched it.
    from types import SimpleNamespace

    from resnet_lib.tools.timing import profile_table

    def event(key, device_us, device_type):
        return SimpleNamespace(
            key=key,
            self_cpu_time_total=5.0,
            self_device_time_total=device_us,
            device_type=device_type,
            count=1,
        )

    cpu, cuda = torch.autograd.DeviceType.CPU, torch.autograd.DeviceType.CUDA
    events = [
        event("aten::cudnn_convolution", 1000.0, cpu),
        event("sm80_xmma_fprop_implicit_gemm", 1000.0, cuda),
        event("aten::native_batch_norm", 250.0, cpu),
        event("bn_fw_tr_1C11_kernel", 250.0, cuda),
    ]
    lines = profile_table(events, on_gpu=True).splitlines()
    assert [line.split()[0] for line in lines[1:-1]] == ["aten::cudnn_convolution", "aten::native_batch_norm"]
    assert [line.split()[2] for line in lines[1:-1]] == ["80.0%", "20.0%"]
    assert lines[-1] == "self GPU time of all operations: 1.250 ms"


def test_the_profile_table_fits_a_narrow_column():
    from resnet_lib.tools.timing import profile_step

    x = torch.randn(4, 8)
    layer = nn.Linear(8, 8)
    table = profile_step(lambda: layer(x).sum().backward(), "cpu", row_limit=5)
    lines = table.splitlines()
    assert max(len(line) for line in lines) <= 100
    assert lines[0].split() == ["operation", "self", "CPU", "ms", "share", "calls"]
    assert len(lines) == 1 + 5 + 1 and lines[-1].startswith("self CPU time of all operations")
    shares = [float(line.split()[-2].rstrip("%")) for line in lines[1:-1]]
    assert shares == sorted(shares, reverse=True) and 0 < sum(shares) <= 100.05
