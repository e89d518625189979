"""Run the notebooks and unit tests under another Python and torch, as a Colab learner would.

    python3 tasks.py compat --python 3.12 --torch 2.9.1     # torch 2.9.1 + torchvision 0.24.1
    python3 tasks.py compat --python 3.13 --torch 2.11.0 --out /tmp/results.json

It makes a separate virtual environment (.compat/py<PYTHON>-torch<TORCH>/) with that
Python, installs that torch, the matching torchvision and what Colab has preinstalled,
then installs resnet_lib the way each notebook's Colab cell does: a non-editable
`pip install git+<url>` (here the local clone's committed HEAD, not GitHub), which must
keep the preinstalled torch. Then it executes every notebook and student copy top to
bottom with a stub `google.colab`, so that each setup cell takes its Colab branch
(errors fail; outputs are not compared), runs the unit tests, and records versions,
per-notebook pass/fail and seconds in compat/results.json, one entry per (Python, torch).

It downloads torch (gigabytes) and needs network access; the logic is unit-tested
without either (tests/test_compat.py).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
COMPAT_DIR = ROOT / ".compat"  # git-ignored: one venv per (Python, torch)
RESULTS = ROOT / "compat" / "results.json"
NOTEBOOK_DIRS = [ROOT / "notebooks", ROOT / "notebooks" / "student"]

#: The URL each notebook's Colab cell installs resnet_lib from; replaced by the local clone.
COLAB_GIT_URL = "git+https://github.com/resnets-from-scratch/resnets-from-scratch@main"

#: torch -> the torchvision released with it (torchvision pins one torch exactly).
TORCHVISION = {
    "2.3.1": "0.18.1",  # fails on Python 3.12: see pyproject.toml
    "2.4.1": "0.19.1",  # the oldest torch pyproject.toml allows
    "2.9.1": "0.24.1",
    "2.11.0": "0.26.0",  # Colab's
    "2.14.1": "0.29.1",  # requirements.txt's
}

#: What Colab has preinstalled and the notebooks use, unpinned as Colab's are.
COLAB_PACKAGES = ["matplotlib", "tqdm", "ipywidgets", "numpy"]
#: What executes the notebooks and the tests here (Colab has its own runner).
RUNNER_PACKAGES = ["nbclient", "ipykernel", "nbformat", "pytest"]

# Run inside the venv after the installs: pip may have replaced torch with a newer one
# to satisfy a dependency, and then the run would not test the torch it claims to.
CHECK_TORCH = """\
import sys, torch
wanted = sys.argv[1]
got = torch.__version__.split("+")[0]  # "2.9.1+cu128" is torch 2.9.1
if got != wanted:
    sys.exit(f"torch {wanted} was asked for but the install left torch {torch.__version__}")
print(f"torch {torch.__version__} kept")
"""

# The stub: importing `google.colab` at interpreter start puts it in sys.modules, which is
# all the notebooks' setup cells look at. `google` stays a namespace package (no
# __init__.py), so it cannot hide other google.* packages (protobuf) installed in the venv.
STUB_FILES = {
    "google/colab/__init__.py": '"""Stub of Colab\'s module for scripts/compat.py."""\n',
    "sitecustomize.py": "import google.colab  # noqa: F401  (compat.py: look like Colab)\n",
}


def torchvision_for(torch: str) -> str:
    """The torchvision version that goes with `torch`.

    Raises:
        ValueError: `torch` is not in the table.
    """
    if torch not in TORCHVISION:
        known = ", ".join(TORCHVISION)
        raise ValueError(f"torch={torch!r}: no matching torchvision known; known torch versions: {known}")
    return TORCHVISION[torch]


def numpy_spec(torch: str) -> str:
    """numpy as Colab had it next to `torch`: torch before 2.4 was built against numpy 1.x."""
    major, minor = (int(part) for part in torch.split(".")[:2])
    return "numpy<2" if (major, minor) < (2, 4) else "numpy"


def venv_dir(python: str, torch: str) -> Path:
    """Where the virtual environment for this (Python, torch) pair lives."""
    return COMPAT_DIR / f"py{python}-torch{torch}"


def venv_python(venv: Path) -> Path:
    """The venv's interpreter."""
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def git_ref(root: Path = ROOT) -> str:
    """The current branch, or the commit when HEAD is detached: what pip clones."""
    branch = subprocess.run(
        ["git", "branch", "--show-current"], cwd=root, capture_output=True, text=True, check=True
    ).stdout.strip()
    if branch:
        return branch
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
    ).stdout.strip()


def local_git_url(root: Path = ROOT, ref: str | None = None) -> str:
    """A pip requirement for the local clone, in the form of the Colab cell's GitHub one."""
    return f"git+{root.resolve().as_uri()}@{ref or git_ref(root)}"


def find_python(python: str) -> str:
    """The interpreter of Python `python` ("3.12"): a pyenv installation, or python<version> on PATH.

    pyenv's shims are on PATH for every version but run only the versions pyenv has enabled,
    so its own installations are looked at first, and whatever is found must really run.
    """
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates = sorted(root.glob(f"versions/{python}.*/bin/python{python}"), reverse=True)
    on_path = shutil.which(f"python{python}")
    for candidate in [*map(str, candidates), *([on_path] if on_path else [])]:
        ran = subprocess.run([candidate, "--version"], capture_output=True, text=True)
        if ran.returncode == 0 and ran.stdout.split()[-1].startswith(f"{python}."):
            return candidate
    raise ValueError(f"python={python!r}: no working python{python} (pyenv install {python}?)")


def plan(python: str, torch: str, git_url: str, interpreter: str | None = None) -> list[list[str]]:
    """The commands that set up the venv for (`python`, `torch`), in order.

    Args:
        python: the Python version, "3.12".
        torch: the torch version, "2.9.1"; must be in TORCHVISION.
        git_url: what to install resnet_lib from (see local_git_url).
        interpreter: the Python that makes the venv; found on PATH as python<version> if None.

    Raises:
        ValueError: no torchvision is known for `torch`, or no python<version> is on PATH.
    """
    torchvision = torchvision_for(torch)
    if interpreter is None:
        interpreter = find_python(python)
    py = str(venv_python(venv_dir(python, torch)))
    pip = [py, "-m", "pip", "install", "--progress-bar", "off"]
    colab = [numpy_spec(torch) if name == "numpy" else name for name in COLAB_PACKAGES]
    return [
        [interpreter, "-m", "venv", str(venv_dir(python, torch))],
        [py, "-m", "pip", "install", "--quiet", "--upgrade", "pip"],
        # "Preinstalled", as in Colab: torch and torchvision pinned, the rest as pip resolves it.
        [*pip, f"torch=={torch}", f"torchvision=={torchvision}", *colab, *RUNNER_PACKAGES],
        # A reused venv holds the resnet_lib of an earlier run, with the same version number:
        # pip would keep it ("already satisfied") and the run would test old code.
        [py, "-m", "pip", "uninstall", "--yes", "--quiet", "resnet_lib"],
        # The Colab cell's own install: not editable, from git, with dependencies (which
        # must be satisfied by the torch above, not replace it).
        [*pip, "torchinfo", git_url],
        [py, "-c", CHECK_TORCH, torch],
    ]


def patched_notebook(nb: nbformat.NotebookNode, git_url: str) -> nbformat.NotebookNode:
    """A copy of `nb` whose Colab install line installs from `git_url` instead of GitHub.

    Raises:
        ValueError: no code cell holds the Colab install URL (the setup cell changed, and
            the run would no longer test the Colab path).
    """
    patched = nbformat.from_dict(json.loads(json.dumps(nb)))  # deep copy, same node types
    found = False
    for cell in patched.cells:
        if cell.cell_type == "code" and COLAB_GIT_URL in cell.source:
            cell.source = cell.source.replace(COLAB_GIT_URL, git_url)
            found = True
    if not found:
        raise ValueError(f"nb: no code cell installs {COLAB_GIT_URL!r}; the Colab setup cell changed")
    return patched


def notebooks() -> list[Path]:
    """Every notebook and student copy, in order."""
    return [path for folder in NOTEBOOK_DIRS for path in sorted(folder.glob("*.ipynb"))]


def write_stub(folder: Path) -> None:
    """Write the `google.colab` stub (and the sitecustomize that imports it) into `folder`."""
    for name, text in STUB_FILES.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def run_env(stub: Path | None = None) -> dict[str, str]:
    """The environment of the runs: no GPU, as in the tests, and the stub if given."""
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="")
    env.pop("PYTHONPATH", None)  # nothing of the host's: resnet_lib must come from the install
    env.pop("VIRTUAL_ENV", None)
    if stub is not None:
        env["PYTHONPATH"] = str(stub)
    return env


def execute_notebook(path: Path, git_url: str, timeout: int = 1800) -> None:
    """Execute a patched copy of the notebook at `path` in its own folder (in the current env).

    Runs inside the compat venv (see main's --execute), so that the kernel, and the
    `%pip install` of its Colab cell, are the venv's Python. The repository's file is
    only read.
    """
    from nbclient import NotebookClient  # only the venv running the notebooks needs it

    nb = patched_notebook(nbformat.read(path, as_version=4), git_url)
    client = NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    client.execute()


def run_notebooks(py: Path, git_url: str) -> dict[str, dict[str, object]]:
    """Execute every notebook in the venv of `py`, one process each; pass/fail and seconds."""
    results: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory(prefix="colab-stub-") as stub:
        write_stub(Path(stub))
        env = run_env(Path(stub))
        # No user-installed "python3" kernelspec may shadow the venv's own kernel: the
        # kernel (and its %pip) must be the venv's Python, found from the runner's.
        env["JUPYTER_DATA_DIR"] = str(Path(stub) / "jupyter")
        for path in notebooks():
            name = str(path.relative_to(ROOT).as_posix())
            print(f"compat: executing {name}", flush=True)
            start = time.perf_counter()
            proc = subprocess.run(
                [str(py), str(Path(__file__).resolve()), "--execute", str(path), "--git-url", git_url],
                env=env,
                capture_output=True,
                text=True,
            )
            seconds = round(time.perf_counter() - start, 1)
            passed = proc.returncode == 0
            results[name] = {"passed": passed, "seconds": seconds}
            if not passed:
                results[name]["error"] = last_lines(proc.stderr + proc.stdout)
                print(results[name]["error"], file=sys.stderr)
            print(f"compat: {name}: {'passed' if passed else 'FAILED'} in {seconds} s", flush=True)
    return results


def last_lines(text: str, n: int = 15) -> str:
    """The end of a failed run's output: the error, without the whole traceback of nbclient."""
    return "\n".join(text.strip().splitlines()[-n:])


def junit_counts(xml_path: Path) -> dict[str, int]:
    """passed/failed/errors/skipped from pytest's --junitxml report."""
    root = ET.parse(xml_path).getroot()
    suite = root if root.tag == "testsuite" else root.find("testsuite")
    tests, failed, errors, skipped = (
        int(suite.get(key, 0)) for key in ("tests", "failures", "errors", "skipped")
    )
    return {
        "passed": tests - failed - errors - skipped,
        "failed": failed,
        "errors": errors,
        "skipped": skipped,
    }


def run_unit_tests(py: Path) -> dict[str, int]:
    """The unit tests (not nbval: outputs differ between versions by design) in the venv.

    test_lint is left out: ruff checks the sources, which do not depend on torch; so is the
    test of compat/results.json, which the run is writing. Run from
    the repository root, pytest imports the working tree's resnet_lib (its rootdir is on
    sys.path), so these test the library's source against this torch; the notebooks test
    the installed package.
    """
    with tempfile.TemporaryDirectory(prefix="compat-junit-") as tmp:
        xml = Path(tmp) / "junit.xml"
        print("compat: running the unit tests", flush=True)
        subprocess.run(
            [
                str(py),
                "-m",
                "pytest",
                "tests",
                "-q",
                "-p",
                "no:cacheprovider",
                "-o",
                "addopts=",
                "--ignore=tests/test_lint.py",
                # This test reads compat/results.json, which this very run is rewriting.
                "--deselect=tests/test_repository.py::test_readme_quotes_every_compatibility_run_and_each_passed",
                f"--junitxml={xml}",
            ],
            cwd=ROOT,
            env=run_env(),
        )
        return junit_counts(xml) if xml.exists() else {"passed": 0, "failed": 0, "errors": 1, "skipped": 0}


def installed_versions(py: Path) -> dict[str, str]:
    """Python, torch and torchvision as the venv reports them."""
    code = (
        "import json, platform, torch, torchvision; print(json.dumps({'python': platform.python_version(),"
        " 'torch': torch.__version__, 'torchvision': torchvision.__version__}))"
    )
    out = subprocess.run([str(py), "-c", code], env=run_env(), capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def update_results(path: Path, entry: dict[str, object]) -> list[dict[str, object]]:
    """Add `entry` to the results file at `path`, replacing the one for the same (python, torch).

    Entries are kept sorted by (python, torch) so that a re-run changes only its own lines.
    Returns what was written.
    """
    path = Path(path)
    entries = json.loads(path.read_text(encoding="utf-8")) if path.exists() else []

    def key(e: dict[str, object]) -> tuple[tuple[int, ...], tuple[int, ...]]:
        # Only "3.12" and "2.9.1" of "3.12.7" / "2.9.1+cu128": the pair the command was asked for.
        python = tuple(int(p) for p in str(e["python"]).split(".")[:2])
        torch = tuple(int(p) for p in str(e["torch"]).split("+")[0].split("."))
        return python, torch

    entries = [e for e in entries if key(e) != key(entry)] + [entry]
    entries.sort(key=key)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(entries, indent=1) + "\n", encoding="utf-8", newline="\n")
    return entries


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tasks.py compat", description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", help="Python version, e.g. 3.12 (python<version> must be on PATH)")
    parser.add_argument("--torch", help=f"torch version, one of {', '.join(TORCHVISION)}")
    parser.add_argument("--out", default=str(RESULTS), help="results file (default: %(default)s)")
    # Internal: how the venv's Python is asked to run one notebook.
    parser.add_argument("--execute", help=argparse.SUPPRESS)
    parser.add_argument("--git-url", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.execute:
        execute_notebook(Path(args.execute), args.git_url)
        return 0
    if not args.python or not args.torch:
        parser.error("--python and --torch are required")

    git_url = local_git_url()
    try:
        commands = plan(args.python, args.torch, git_url)
    except ValueError as error:  # an unknown version: say so before anything is made
        parser.error(str(error))
    dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True).stdout
    if dirty.strip():
        # pip clones the repository: only committed work is installed into the venv.
        print("compat: note: uncommitted changes are not part of the git install", file=sys.stderr)
    for command in commands:
        if command[1:3] == ["-m", "venv"] and venv_python(Path(command[-1])).exists():
            print(f"compat: reusing {command[-1]}", flush=True)
            continue
        print("compat: $", " ".join(command if "-c" not in command else command[:2] + ["..."]), flush=True)
        subprocess.run(command, check=True, env=run_env())
    py = venv_python(venv_dir(args.python, args.torch))

    versions = installed_versions(py)
    notebook_results = run_notebooks(py, git_url)
    # The notebooks' own %pip install ran too: it must also have kept the torch.
    subprocess.run([str(py), "-c", CHECK_TORCH, args.torch], check=True, env=run_env())
    tests = run_unit_tests(py)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    entry = {
        **versions,
        "date": datetime.date.today().isoformat(),
        "commit": commit.stdout.strip(),
        "notebooks": notebook_results,
        "unit_tests": tests,
    }
    update_results(Path(args.out), entry)
    failed = [name for name, r in notebook_results.items() if not r["passed"]]
    ok = not failed and tests["failed"] == tests["errors"] == 0
    print(
        f"compat: {len(notebook_results) - len(failed)}/{len(notebook_results)} notebooks passed, "
        f"unit tests {tests}; written to {args.out}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
