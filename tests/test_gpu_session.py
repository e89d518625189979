"""The prepared GPU run (scripts/gpu_session.py), in its tiny CPU version."""

import json
import subprocess
import sys
import time
from pathlib import Path

from gpu_session import run_step

ROOT = Path(__file__).resolve().parents[1]


def test_every_step_runs_and_writes_its_file(tmp_path):
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gpu_session.py"), str(out), "--smoke"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("   ok after") == 4, done.stdout  # versions, CIFAR timing, grid, "compiled"
    assert {p.name for p in out.iterdir()} == {
        "environment.txt",
        "log.txt",
        "gpu_benchmark.json",
        "cifar_gpu_timing.json",
    }
    # The second grid step added its rows to the first one's file.
    rows = json.loads((out / "gpu_benchmark.json").read_text())["rows"]
    assert [r["mode"] for r in rows] == ["fp32", "fp32", "bf16+cl", "bf16+cl"]
    timing = json.loads((out / "cifar_gpu_timing.json").read_text())
    assert len(timing["epoch_seconds"]) == 3 and all(s > 0 for s in timing["epoch_seconds"])
    assert timing["schedule_epochs"] == 30 and timing["network"] == "ResNet-20"
    assert timing["timing_settings"].startswith("as notebook 06 runs")  # says how it was timed
    assert "torch" in (out / "environment.txt").read_text()


def test_a_step_over_its_time_limit_is_stopped(tmp_path, capsys):
    start = time.perf_counter()
    ok = run_step("sleeper", [sys.executable, "-c", "import time; time.sleep(60)"], 1, tmp_path / "log.txt")
    assert not ok and time.perf_counter() - start < 30
    assert "stopped at its time limit" in capsys.readouterr().out


def test_a_step_that_cannot_start_is_lost_alone(tmp_path, capsys):
    assert not run_step("missing", ["no-such-program-here"], 5, tmp_path / "log.txt")
    assert "could not start" in capsys.readouterr().out
    assert "could not start" in (tmp_path / "log.txt").read_text()
