"""resnet_lib.tools.train_cifar under torchrun: 2 CPU processes (gloo), DistributedDataParallel, offline data."""

import os
import subprocess
import sys

import torch


def run_script(tmp_path, *extra, nproc=2):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        f"--nproc_per_node={nproc}",
        "--standalone",
        "-m",
        "resnet_lib.tools.train_cifar",
        "--data",
        "shapes",
        "--image-size",
        "16",
        "--n-train",
        "640",
        "--batch-size",
        "32",
        "--epochs",
        "2",
        "--no-progress",
        *extra,
    ]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path)


def test_two_processes_end_with_identical_weights(tmp_path):
    result = run_script(
        tmp_path,
        "--max-steps",
        "12",
        "--save-rank-weights",
        str(tmp_path / "ranks"),
        "--checkpoint",
        str(tmp_path / "run.pt"),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    # Rank 0 alone prints: each line once.
    assert out.count("Data: generated shapes") == 1, out
    assert "2 process(es) x batch 32, 10 steps per epoch, 12 steps" in out
    assert out.count("epoch 1:") == 1 and out.count("done: 12 steps") == 1
    ranks = [torch.load(tmp_path / "ranks" / f"rank{r}.pt", weights_only=True) for r in (0, 1)]
    assert ranks[0].keys() == ranks[1].keys()
    # Gradients all-reduced: the same weights; BatchNorm statistics broadcast at the end.
    for name in ranks[0]:
        assert torch.equal(ranks[0][name], ranks[1][name]), name
    checkpoint = torch.load(tmp_path / "run.pt", weights_only=True)  # written by rank 0 only
    assert checkpoint["step"] == 12 and not list(tmp_path.glob("**/*.partial"))
    for name in checkpoint["model"]:
        assert torch.equal(checkpoint["model"][name], ranks[0][name])


def test_interrupted_and_resumed_run_matches_an_uninterrupted_one(tmp_path):
    common = ("--max-steps", "14", "--checkpoint", str(tmp_path / "run.pt"))
    first = run_script(tmp_path, *common, "--stop-at-step", "6")
    assert first.returncode == 0, first.stderr[-3000:]
    assert torch.load(tmp_path / "run.pt", weights_only=True)["step"] == 6
    resumed = run_script(tmp_path, *common, "--resume", str(tmp_path / "run.pt"))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    straight = run_script(tmp_path, "--max-steps", "14", "--save-rank-weights", str(tmp_path / "straight"))
    assert straight.returncode == 0, straight.stderr[-3000:]
    saved = torch.load(tmp_path / "run.pt", weights_only=True)
    reference = torch.load(tmp_path / "straight" / "rank0.pt", weights_only=True)
    assert saved["step"] == 14
    assert saved["model"].keys() == reference.keys()
    for name, tensor in saved["model"].items():  # weights and BatchNorm statistics, bit for bit
        assert torch.equal(tensor, reference[name]), name


def test_one_process_with_the_per_image_pipeline_prints_its_settings_and_step_split(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    command = [sys.executable, "-m", "resnet_lib.tools.train_cifar", "--data", "shapes", "--image-size", "16"]
    command += ["--n-train", "128", "--batch-size", "32", "--epochs", "1", "--max-steps", "2"]
    command += ["--pipeline", "per-image", "--breakdown-steps", "1", "--no-progress"]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "per-image pipeline" in result.stdout and "cudnn.benchmark off" in result.stdout
    assert "a step, timed apart (1 steps" in result.stdout and "compute" in result.stdout
    assert "done: 2 steps" in result.stdout


def test_help_states_the_schedule_in_steps_and_each_options_cost():
    result = subprocess.run(
        [sys.executable, "-m", "resnet_lib.tools.train_cifar", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    text = " ".join(result.stdout.split())
    assert "64k steps at batch 128" in text and "--max-steps only shortens a run" in text
    for option in ("--deterministic", "--compile", "--pipeline", "--breakdown-steps"):
        assert option in text
    assert "paid once" in text and "{cosine,step,constant}" in text
