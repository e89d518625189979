"""The benchmark grid of notebook 05, on a tiny CPU grid (ResNet-18 at 32x32)."""

import functools
import json

import matplotlib.pyplot as plt
import pytest
import torch
from torch import nn

import resnet_lib  # noqa: F401  (before torch.utils.benchmark: silences a CUDA log line)
from resnet_lib import resnet18, resnet50
from resnet_lib.flops import count_step_flops
from resnet_lib.tools.benchmark import (
    MODES,
    BenchConfig,
    StepRunner,
    default_grid,
    format_rows,
    grid_configs,
    load_results,
    main,
    memory_kind,
    parity,
    peak_tflops,
    plot_results,
    run_grid,
    save_results,
)
from resnet_lib.tools.step import CUDA_MEMORY

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def tiny_grid():
    before = (
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
    )
    torch.use_deterministic_algorithms(True, warn_only=True)  # as seed_everything() leaves it
    configs = grid_configs(depths=(18,), modes=("fp32", "amp+cl"), batch_size=2, image_size=32, device=CPU)
    rows = run_grid(configs, CPU, rounds=1, steps_per_round=1, warmup=0)
    settings = (
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
    )
    torch.use_deterministic_algorithms(before[0], warn_only=before[1])
    return rows, settings


@pytest.fixture(scope="module")
def tiny_rows(tiny_grid):
    return tiny_grid[0]


def test_tiny_grid_rows(tiny_rows):
    assert [(r["impl"], r["mode"]) for r in tiny_rows] == [
        ("resnet_lib", "fp32"),
        ("torchvision", "fp32"),
        ("resnet_lib", "bf16+cl"),
        ("torchvision", "bf16+cl"),
    ]
    for r in tiny_rows:
        assert r["train_img_s"] > 0 and r["infer_img_s"] > 0 and r["first_train_step_s"] > 0
        assert r["memory_kind"] == "memory saved for backward" and r["train_memory_mib"] > 0
        # The FLOPs of ResNet-18 on one 32x32 image, counted (see test_training_flops...).
        assert (r["forward_gflop_per_image"], r["train_gflop_per_image"]) == (0.075046912, 0.22032384)
        assert r["peak_tflops"] is None and r["train_fraction_of_peak"] is None  # no peak for a CPU
    # Same network: same FLOPs, same saved memory; bf16 keeps about half the bytes of fp32.
    fp32, bf16 = tiny_rows[0], tiny_rows[2]
    assert tiny_rows[0]["train_memory_mib"] == tiny_rows[1]["train_memory_mib"]
    assert fp32["train_gflop_per_image"] == bf16["train_gflop_per_image"]
    assert 0.4 < bf16["train_memory_mib"] / fp32["train_memory_mib"] < 0.6
    assert [(p["depth"], p["mode"]) for p in parity(tiny_rows)] == [(18, "fp32"), (18, "bf16+cl")]


def test_grid_restores_determinism_settings(tiny_grid):
    # seed_everything (run by the notebooks) turns deterministic algorithms on; the grid
    # switches them off while it runs and must put them back.
    assert tiny_grid[1] == (True, True)
    assert not torch.backends.cudnn.benchmark


def test_results_json_round_trip(tiny_rows, tmp_path):
    path = save_results(tiny_rows, tmp_path / "sub" / "grid.json", CPU)
    results = load_results(path)
    assert results["rows"] == json.loads(json.dumps(tiny_rows))
    assert results["device"] == "cpu" and results["torch"] == torch.__version__
    assert {"torchvision", "cuda", "date", "device_type"} <= results.keys()
    (tmp_path / "bad.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="path"):
        load_results(tmp_path / "bad.json")
    with pytest.raises(ValueError, match="rows"):
        save_results([], tmp_path / "empty.json", CPU)


def test_append_keeps_earlier_rows_and_replaces_cells_measured_again(tiny_rows, tmp_path):
    rows = tiny_rows
    path = tmp_path / "grid.json"
    save_results(rows[:2], path, CPU)
    again = {**rows[1], "train_img_s": 123.0}  # the torchvision fp32 cell, measured again
    save_results([again] + rows[2:], path, CPU, append=True)
    kept = load_results(path)["rows"]
    assert [(r["impl"], r["mode"]) for r in kept] == [(r["impl"], r["mode"]) for r in rows]
    assert kept[1]["train_img_s"] == 123.0
    assert not (tmp_path / "grid.json.partial").exists()
    # Without append the file holds only the new rows.
    save_results(rows[:1], path, CPU)
    assert len(load_results(path)["rows"]) == 1


def test_append_refuses_results_of_another_device_or_version(tiny_rows, tmp_path):
    rows = tiny_rows
    path = save_results(rows, tmp_path / "grid.json", CPU)
    results = load_results(path)
    path.write_text(json.dumps({**results, "device": "NVIDIA H100 80GB HBM3"}))
    with pytest.raises(ValueError, match="holds results of NVIDIA H100 80GB HBM3"):
        save_results(rows, path, CPU, append=True)
    # The command line refuses before it measures anything.
    with pytest.raises(ValueError, match="holds results of NVIDIA H100 80GB HBM3"):
        main(
            ["--grid", "--device", "cpu", "--depths", "18", "--modes", "fp32", "--out", str(path), "--append"]
        )


def test_table_and_plot(tiny_rows):
    table = format_rows(tiny_rows)
    assert table.splitlines()[0].split()[:3] == ["model", "impl", "mode"]
    # The memory column says what it holds: on a CPU, the memory saved for backward.
    assert "saved MiB" in table.splitlines()[0] and "peak MiB" not in table
    cuda_rows = [{**r, "memory_kind": CUDA_MEMORY} for r in tiny_rows]
    assert "peak MiB" in format_rows(cuda_rows).splitlines()[0]
    assert "mem MiB" in format_rows(tiny_rows[:1] + cuda_rows[:1]).splitlines()[0]  # mixed: no name
    assert "peak MiB" in format_rows([], memory=memory_kind(torch.device("cuda")))
    assert format_rows([], memory=memory_kind(CPU)) == table.splitlines()[0]
    assert len(table.splitlines()) == 1 + len(tiny_rows)
    assert format_rows(tiny_rows[:1], header=False) == table.splitlines()[1]
    fig = plot_results(tiny_rows, "tiny")
    assert [ax.get_title() for ax in fig.axes] == [
        "training images/s",
        "inference images/s",
        "training: achieved TFLOP/s",  # no peak known for a CPU
    ]
    # A results file with a known peak plots the fraction of it instead.
    rows = [{**r, "train_fraction_of_peak": 0.1} for r in tiny_rows]
    fig2 = plot_results(rows)
    assert fig2.axes[2].get_title() == "training: fraction of peak"
    plt.close(fig)
    plt.close(fig2)


def test_training_flops_are_counted_not_assumed():
    forward, both = count_step_flops(resnet50(), (1, 3, 224, 224))
    assert forward == 8_178_368_512  # 4.089 G multiply-adds (torchvision's "GFLOPS")
    assert both == 24_299_077_632  # the reference figure: about 24.3 GFLOP per image
    assert 2.9 < both / forward < 3  # the image itself needs no gradient
    model = resnet18().train()
    count_step_flops(model, (2, 3, 32, 32))
    assert model.training and next(model.parameters()).device.type == "cpu"


@pytest.mark.parametrize(
    "name, precision, expected",
    [
        ("NVIDIA H100 80GB HBM3", "bf16", 989.5),  # SXM
        ("NVIDIA H100 PCIe", "bf16", 756.5),
        ("NVIDIA H100 80GB HBM3", "tf32", 494.5),
        ("NVIDIA A100-SXM4-80GB", "bf16", 312.0),
        ("NVIDIA A100 80GB PCIe", "tf32", 156.0),
        ("NVIDIA L4", "fp16", 121.0),
        ("Tesla T4", "fp16", 65.0),
        ("NVIDIA H200", "bf16", 989.5),
        ("NVIDIA H200 NVL", "tf32", 417.5),
        ("Tesla V100-SXM2-16GB", "fp16", 125.0),
        ("Tesla V100-PCIE-32GB", "fp16", 112.0),
        ("Tesla T4", "bf16", None),  # Turing has no bf16 tensor cores
        ("NVIDIA L40S", "bf16", None),  # not in the table, and not an "L4"
        ("NVIDIA GeForce RTX 4090", "fp32", None),
    ],
)
def test_peak_lookup(name, precision, expected):
    assert peak_tflops(name, precision) == expected


def test_bad_arguments_name_the_argument():
    with pytest.raises(ValueError, match="depth"):
        BenchConfig(depth=20)
    with pytest.raises(ValueError, match="batch_size"):
        BenchConfig(batch_size=0)
    with pytest.raises(ValueError, match="image_size"):
        BenchConfig(image_size=-1)
    with pytest.raises(ValueError, match="precision"):
        BenchConfig(precision="fp8")
    with pytest.raises(ValueError, match="impl"):
        BenchConfig(impl="timm")
    with pytest.raises(ValueError, match="precision"):
        peak_tflops("NVIDIA H100 80GB HBM3", "int8")
    with pytest.raises(ValueError, match="mode"):
        grid_configs(modes=("fast",))
    configs = [BenchConfig(18, 2, 32)]
    with pytest.raises(ValueError, match="rounds"):
        run_grid(configs, CPU, rounds=0)
    with pytest.raises(ValueError, match="steps_per_round"):
        run_grid(configs, CPU, steps_per_round=0)
    with pytest.raises(ValueError, match="warmup"):
        run_grid(configs, CPU, warmup=-1)
    with pytest.raises(ValueError, match="configs"):
        run_grid([], CPU)


def test_modes_labels_and_default_grids():
    assert BenchConfig().mode == "fp32"
    assert BenchConfig(precision="bf16", channels_last=True, compile=True).mode == "bf16+cl+compile"
    assert list(MODES) == ["fp32", "channels_last", "amp+cl", "amp+cl+compile"]
    cpu = default_grid(CPU)
    assert {c.depth for c in cpu} == {18, 50} and not any(c.compile for c in cpu)
    assert default_grid(CPU, full=False) == cpu  # "quick" only changes the CUDA grid
    with pytest.raises(ValueError, match="full must be one of False, True; got 'no'"):
        default_grid(CPU, full="no")
    assert {c.image_size for c in cpu} == {32} and len(cpu) == 2 * 3 * 2


def _tiny_classifier() -> nn.Module:
    """A stand-in for a ResNet with its interface (images in, 1000 scores out), fast in fp16 on a CPU."""
    return nn.Sequential(
        nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 1000)
    )


def test_fp16_cells_train_with_a_gradient_scaler(monkeypatch):
    # The path of GPUs without bf16 (Colab's T4), run here on the CPU, where fp16 is emulated
    # and slow (seconds a ResNet-18 step): a small network goes through the same code.
    import resnet_lib.tools.benchmark.runner as runner_module

    cfg = BenchConfig(depth=18, batch_size=2, image_size=32, precision="fp16", channels_last=True)
    runner = StepRunner(_tiny_classifier(), cfg, CPU)
    scaler = runner.train_step.scaler
    assert scaler.is_enabled() and runner.train_step.precision == "fp16"
    assert not StepRunner(
        _tiny_classifier(), BenchConfig(precision="bf16"), CPU
    ).train_step.scaler.is_enabled()
    before = [p.detach().clone() for p in runner.model.parameters()]
    # The scaler starts with a large scale and skips the steps whose gradients overflow
    # fp16, halving the scale each time, until a step goes through.
    for _ in range(5):
        runner.train_step()
        if any(not torch.equal(a, p) for a, p in zip(before, runner.model.parameters())):
            break
    else:
        raise AssertionError("no optimizer step in 5 tries")
    assert 0 < scaler.get_scale() <= 2.0**16
    monkeypatch.setattr(
        runner_module, "build_models", lambda depth, impls, weights: {i: _tiny_classifier() for i in impls}
    )
    rows = run_grid([cfg], CPU, rounds=1, steps_per_round=1, warmup=0)
    assert rows[0]["mode"] == "fp16+cl" and rows[0]["train_img_s"] > 0


def test_a_compiled_cell_runs(monkeypatch):
    # The GPU grid's last mode, here on the CPU: training and inference are compiled
    # separately, and the compiled graphs are dropped afterwards. Inductor's C++ code
    # generation would take a minute here and says nothing about the grid, so the graphs
    # are captured and differentiated as on a GPU (TorchDynamo, AOTAutograd), then run eagerly.
    monkeypatch.setattr(torch, "compile", functools.partial(torch.compile, backend="aot_eager"))
    cfg = BenchConfig(
        depth=18, batch_size=2, image_size=32, precision="bf16", channels_last=True, compile=True
    )
    (row,) = run_grid([cfg], CPU, rounds=1, steps_per_round=1, warmup=0)
    assert row["mode"] == "bf16+cl+compile" and row["train_img_s"] > 0 and row["infer_img_s"] > 0
    assert row["first_train_step_s"] > row["train_ms"] / 1e3  # the first step paid for compiling


def test_gpu_grids_full_and_quick(monkeypatch):
    import resnet_lib.tools.benchmark.grid

    monkeypatch.setattr(
        resnet_lib.tools.benchmark.grid, "amp_dtype", lambda device: "bf16"
    )  # no GPU to ask here
    cuda = torch.device("cuda")
    full, quick = default_grid(cuda), default_grid(cuda, full=False)
    assert len(full) == 5 * 4 * 2 and {c.batch_size for c in full} == {256}
    assert {c.depth for c in quick} == {18, 50} and {c.batch_size for c in quick} == {128}
    assert (
        {c.mode for c in quick}
        == {c.mode for c in full}
        == {
            "fp32",
            "fp32+cl",
            "bf16+cl",
            "bf16+cl+compile",
        }
    )


def test_grid_command_writes_a_results_file(tmp_path, capsys):
    out = tmp_path / "grid.json"
    tiny = ["--device", "cpu", "--depths", "18", "--batch-size", "2", "--image-size", "16"]
    tiny += ["--rounds", "1", "--warmup", "0"]
    main(["--grid", "--modes", "fp32", "--out", str(out)] + tiny)
    printed = capsys.readouterr().out
    assert "resnet_lib / torchvision: train" in printed and f"wrote {out}" in printed
    rows = load_results(out)["rows"]
    assert [(r["depth"], r["mode"], r["batch_size"], r["image_size"]) for r in rows] == [
        (18, "fp32", 2, 16)
    ] * 2
    # A second part of the grid, added to the same file (as on a GPU machine with a time limit).
    main(["--grid", "--modes", "channels_last", "--out", str(out), "--append"] + tiny)
    rows = load_results(out)["rows"]
    assert [r["mode"] for r in rows] == ["fp32", "fp32", "fp32+cl", "fp32+cl"]


def test_results_file_says_how_it_was_timed(tiny_rows, tmp_path):
    path = save_results(tiny_rows, tmp_path / "grid.json", CPU)
    assert load_results(path)["timing_settings"] == "cudnn.benchmark on, deterministic algorithms off"


def test_command_is_named_as_users_run_it(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.startswith("usage: tasks.py bench")


def test_parity_command_still_refuses_grid_options():
    with pytest.raises(SystemExit):
        main(["--out", "x.json"])
    with pytest.raises(SystemExit):
        main(["--append"])


def test_images_per_second_and_tflops_follow_from_the_timed_seconds(monkeypatch):
    # Timing replaced by known seconds: 2 images in 0.5 s of training, 0.25 s of inference.
    import resnet_lib.tools.benchmark.runner as runner
    from resnet_lib.tools.step import TrainingStep

    def fake_medians(steps, rounds, steps_per_round):
        return {impl: 0.5 if isinstance(step, TrainingStep) else 0.25 for impl, step in steps.items()}

    monkeypatch.setattr(runner, "interleaved_medians", fake_medians)
    (row,) = run_grid([BenchConfig(18, 2, 32)], CPU, rounds=1, steps_per_round=1, warmup=0)
    assert (row["train_ms"], row["infer_ms"]) == (500.0, 250.0)
    assert (row["train_img_s"], row["infer_img_s"]) == (4.0, 8.0)
    # ResNet-18 at 32x32: 220,323,840 FLOPs a training step per image, 75,046,912 a forward pass.
    assert row["train_tflops"] == pytest.approx(220_323_840 * 4 / 1e12)
    assert row["infer_tflops"] == pytest.approx(75_046_912 * 8 / 1e12)


def test_a_group_out_of_memory_is_retried_with_half_the_batch(monkeypatch, capsys):
    import resnet_lib.tools.benchmark.runner as runner

    batches = []

    def time_group(group, device, rounds, steps_per_round, warmup, weights):
        batches.append([c.batch_size for c in group])
        if group[0].batch_size > 2:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return [{"batch_size": c.batch_size, "impl": c.impl} for c in group]

    monkeypatch.setattr(runner, "time_group", time_group)
    configs = grid_configs(depths=(50,), modes=("fp32",), batch_size=8, image_size=32, device=CPU)
    rows = run_grid(configs, CPU, rounds=1)
    assert batches == [[8, 8], [4, 4], [2, 2]]  # halved twice, both implementations alike
    assert rows == [{"batch_size": 2, "impl": "resnet_lib"}, {"batch_size": 2, "impl": "torchvision"}]
    err = capsys.readouterr().err
    assert "out of memory: ResNet-50 fp32 batch 8, retrying with 4" in err
    assert "out of memory: ResNet-50 fp32 batch 4, retrying with 2" in err


def test_out_of_memory_at_batch_one_is_raised(monkeypatch):
    import resnet_lib.tools.benchmark.runner as runner

    def time_group(*args):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory (simulated)")

    monkeypatch.setattr(runner, "time_group", time_group)
    with pytest.raises(torch.OutOfMemoryError, match="simulated"):
        run_grid([BenchConfig(18, 1, 32)], CPU)


def test_format_rows_prints_the_rows_as_before():
    # The text table of notebook 05, character for character (fixed columns, rows line up).
    row = {
        "depth": 152, "impl": "torchvision", "mode": "bf16+cl+compile", "batch_size": 256,
        "train_img_s": 1234.56, "infer_img_s": 4567.89, "train_memory_mib": 20480.4,
        "train_tflops": 123.4567, "train_fraction_of_peak": 0.25, "memory_kind": CUDA_MEMORY,
    }  # fmt: skip
    assert format_rows([row]).splitlines() == [
        "model      impl        mode             batch train img/s infer img/s  peak MiB train TFLOP/s %peak",
        "ResNet-152 torchvision bf16+cl+compile    256      1234.6      4567.9     20480       123.457  25.0",
    ]
    no_peak = format_rows([{**row, "train_fraction_of_peak": None}], header=False)
    assert (
        no_peak
        == "ResNet-152 torchvision bf16+cl+compile    256      1234.6      4567.9     20480       123.457      "
    )


def test_python_dash_m_runs_the_command_line():
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "resnet_lib.tools.benchmark", "--grid", "--batch-size", "0"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2 and "usage: tasks.py bench" in done.stderr
    assert "--batch-size: must be a positive whole number, got '0'" in done.stderr
