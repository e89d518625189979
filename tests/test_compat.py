"""scripts/compat.py's logic, on the current environment: no venv made, nothing downloaded."""

import json
import os
import subprocess
import sys

import nbformat
import pytest
import torch

import compat

GIT_URL = "git+file:///somewhere/resnets@main"


def test_torchvision_table_and_its_error():
    assert compat.torchvision_for("2.3.1") == "0.18.1"
    assert compat.torchvision_for("2.4.1") == "0.19.1"
    assert compat.torchvision_for("2.9.1") == "0.24.1"
    assert compat.torchvision_for("2.11.0") == "0.26.0"
    assert compat.torchvision_for("2.14.1") == "0.29.1"
    with pytest.raises(ValueError, match=r"torch='2\.5\.0'.*2\.3\.1, 2\.4\.1, 2\.9\.1, 2\.11\.0, 2\.14\.1"):
        compat.torchvision_for("2.5.0")


def test_the_table_holds_the_pinned_versions():
    # requirements.txt's torch/torchvision pair must be one the command knows.
    pins = dict(
        line.split("==")
        for line in (compat.ROOT / "requirements.txt").read_text().splitlines()
        if "==" in line
    )
    assert compat.torchvision_for(pins["torch"]) == pins["torchvision"]


def test_plan_pins_torch_and_installs_resnet_lib_from_git_not_editable():
    commands = compat.plan("3.12", "2.9.1", GIT_URL, interpreter="/usr/bin/python3.12")
    venv = str(compat.venv_dir("3.12", "2.9.1"))
    assert venv.endswith(".compat/py3.12-torch2.9.1")
    assert commands[0] == ["/usr/bin/python3.12", "-m", "venv", venv]
    py = str(compat.venv_python(compat.venv_dir("3.12", "2.9.1")))
    assert all(c[0] == py for c in commands[1:])  # everything else runs in the venv

    preinstall = next(c for c in commands if "torch==2.9.1" in c)
    assert "torchvision==0.24.1" in preinstall
    for name in [*compat.COLAB_PACKAGES, *compat.RUNNER_PACKAGES]:
        assert name in preinstall
    assert GIT_URL not in preinstall  # torch is in place before resnet_lib comes

    git_install = next(c for c in commands if GIT_URL in c)
    assert commands.index(git_install) > commands.index(preinstall)
    # An earlier run's resnet_lib (same version number) is removed first, or pip would keep it.
    uninstall = commands[commands.index(git_install) - 1]
    assert uninstall[1:4] == ["-m", "pip", "uninstall"] and uninstall[-1] == "resnet_lib"
    assert "torchinfo" in git_install
    assert "-e" not in git_install and "--editable" not in git_install
    assert not any(arg.startswith("torch") and arg != "torchinfo" for arg in git_install[5:])
    # The last step checks that the install kept the asked torch.
    assert commands[-1] == [py, "-c", compat.CHECK_TORCH, "2.9.1"]


def test_plan_keeps_numpy_1_for_old_torch():
    old = compat.plan("3.10", "2.3.1", GIT_URL, interpreter="python3.10")
    new = compat.plan("3.13", "2.11.0", GIT_URL, interpreter="python3.13")
    assert "numpy<2" in old[2] and "numpy" not in old[2]
    assert "numpy" in new[2] and "numpy<2" not in new[2]


def test_plan_refuses_unknown_versions():
    with pytest.raises(ValueError, match="torch='1.13.1'"):
        compat.plan("3.12", "1.13.1", GIT_URL, interpreter="python3.12")
    with pytest.raises(ValueError, match=r"python='9\.99'.*python9\.99"):
        compat.plan("9.99", "2.9.1", GIT_URL)


def test_command_line_names_an_unknown_torch_before_making_anything(capsys):
    with pytest.raises(SystemExit) as exit_:
        compat.main(["--python", "3.12", "--torch", "2.5.0"])
    assert exit_.value.code != 0
    assert "torch='2.5.0'" in capsys.readouterr().err
    assert not compat.venv_dir("3.12", "2.5.0").exists()
    with pytest.raises(SystemExit):
        compat.main(["--python", "3.12"])  # --torch is required


def test_local_git_url_is_the_clone_at_its_branch_or_commit():
    url = compat.local_git_url()
    assert url.startswith("git+file:///") and "@" in url
    assert url.endswith("@" + compat.git_ref())
    assert compat.local_git_url(ref="abc123").endswith("@abc123")


@pytest.mark.parametrize("path", compat.notebooks(), ids=lambda p: p.relative_to(compat.ROOT).as_posix())
def test_patched_notebook_points_the_colab_install_at_the_clone_and_changes_nothing_else(path):
    stored = path.read_bytes()
    nb = nbformat.read(path, as_version=4)
    url = compat.local_git_url()
    patched = compat.patched_notebook(nb, url)

    changed = [i for i, (a, b) in enumerate(zip(nb.cells, patched.cells)) if a != b]
    assert len(changed) == 1 and len(patched.cells) == len(nb.cells)
    cell = patched.cells[changed[0]]
    assert "%pip install" in cell.source and f'"{url}"' in cell.source
    assert "github.com" not in cell.source
    assert cell.source.replace(url, compat.COLAB_GIT_URL) == nb.cells[changed[0]].source
    assert patched.metadata == nb.metadata
    # The repository's notebook is neither changed in memory nor on disk.
    assert compat.COLAB_GIT_URL in nb.cells[changed[0]].source
    assert path.read_bytes() == stored


def test_patched_notebook_fails_without_the_colab_install_line():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("%pip install torchinfo")])
    with pytest.raises(ValueError, match="no code cell installs"):
        compat.patched_notebook(nb, GIT_URL)


def test_every_notebook_and_student_copy_is_run():
    names = [p.relative_to(compat.ROOT).as_posix() for p in compat.notebooks()]
    assert "notebooks/01_conv_arithmetic.ipynb" in names
    assert "notebooks/student/01_conv_arithmetic.ipynb" in names
    assert len(names) == len(set(names)) >= 2


def test_stub_makes_the_kernel_look_like_colab(tmp_path):
    compat.write_stub(tmp_path)
    code = "import sys; print('google.colab' in sys.modules)"
    env = compat.run_env(tmp_path)
    assert env["CUDA_VISIBLE_DEVICES"] == ""
    colab = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert colab.stdout.strip() == "True"
    # Without the stub the same check says False: the test above can fail.
    plain = subprocess.run(
        [sys.executable, "-c", code], env=compat.run_env(), capture_output=True, text=True, check=True
    )
    assert plain.stdout.strip() == "False"


def run_in_colab_stub(tmp_path, sources):
    """Execute a small notebook the way run_notebooks does (its own process, the stub)."""
    stub = tmp_path / "stub"
    compat.write_stub(stub)
    env = compat.run_env(stub)
    env["JUPYTER_DATA_DIR"] = str(stub / "jupyter")
    # The Colab cell's URL must be there to be patched; `if False` keeps pip from running.
    cells = [f'if False:\n    %pip install "{compat.COLAB_GIT_URL}"', *sources]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in cells])
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    command = [sys.executable, compat.__file__, "--execute", str(path), "--git-url", GIT_URL]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


def test_execute_runs_the_kernel_as_colab_without_a_gpu_and_fails_on_an_error(tmp_path):
    ok = run_in_colab_stub(
        tmp_path,
        [
            "import os, sys\nassert 'google.colab' in sys.modules\nassert os.environ['CUDA_VISIBLE_DEVICES'] == ''"
        ],
    )
    assert ok.returncode == 0, ok.stderr
    bad = run_in_colab_stub(tmp_path, ["raise RuntimeError('broken cell')"])
    assert bad.returncode != 0 and "broken cell" in bad.stderr


def test_torch_check_passes_on_the_installed_torch_and_fails_on_another():
    ours = torch.__version__.split("+")[0]
    ok = subprocess.run([sys.executable, "-c", compat.CHECK_TORCH, ours], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    bad = subprocess.run([sys.executable, "-c", compat.CHECK_TORCH, "2.3.1"], capture_output=True, text=True)
    assert (
        bad.returncode != 0 and f"torch 2.3.1 was asked for but the install left torch {ours}" in bad.stderr
    )


def entry(python, torch_version, passed=True):
    return {
        "python": python,
        "torch": torch_version,
        "torchvision": "x",
        "notebooks": {"a": {"passed": passed}},
    }


def test_update_results_appends_and_replaces_the_same_pair(tmp_path):
    path = tmp_path / "compat" / "results.json"
    compat.update_results(path, entry("3.13.1", "2.11.0+cu126"))
    compat.update_results(path, entry("3.12.7", "2.9.1+cu128", passed=False))
    compat.update_results(path, entry("3.10.4", "2.3.1"))
    # A re-run for Python 3.12 / torch 2.9.1, on another patch release of Python.
    written = compat.update_results(path, entry("3.12.8", "2.9.1", passed=True))
    assert json.loads(path.read_text()) == written
    assert [(e["python"], e["torch"]) for e in written] == [
        ("3.10.4", "2.3.1"),
        ("3.12.8", "2.9.1"),
        ("3.13.1", "2.11.0+cu126"),
    ]
    assert written[1]["notebooks"]["a"]["passed"] is True
    # Another torch on the same Python is another entry.
    assert len(compat.update_results(path, entry("3.12.8", "2.11.0"))) == 4


def test_junit_counts(tmp_path):
    xml = tmp_path / "junit.xml"
    xml.write_text(
        '<?xml version="1.0"?><testsuites><testsuite name="pytest" tests="10" failures="2" errors="1"'
        ' skipped="3"></testsuite></testsuites>'
    )
    assert compat.junit_counts(xml) == {"passed": 4, "failed": 2, "errors": 1, "skipped": 3}


def test_compat_dir_is_ignored_by_git():
    result = subprocess.run(
        ["git", "check-ignore", "-q", ".compat/py3.12-torch2.9.1/bin/python"], cwd=compat.ROOT, env=os.environ
    )
    assert result.returncode == 0
