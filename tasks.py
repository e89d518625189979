"""Set up and run the series with nothing but Python 3.10+ and git.

    python3 tasks.py lab        set everything up, open the notebooks in JupyterLab
    python3 tasks.py test       set everything up, run unit tests + every notebook (nbval), minutes
    python3 tasks.py test --all    ... and the slow tests too (student copies and more): what CI runs
    python3 tasks.py execute    re-execute notebooks in place and store their outputs
    python3 tasks.py bench      time resnet_lib against torchvision (see --help)
    python3 tasks.py degradation   run notebook 03's plain-vs-residual experiment (see --help)
    python3 tasks.py compat --python 3.12 --torch 2.9.1   run every notebook with another Python and torch, as Colab would
    python3 tasks.py students   write the student copies (solutions removed) of the notebooks
    python3 tasks.py retarget OWNER/NAME [--branch B]   point badges and installs at a fork

Each command creates the virtual environment `.venv` on first use (or reuses it),
installs the pinned `requirements.txt` and this repository's `resnet_lib`, and
reinstalls only when those files change. Extra arguments go to the tool it runs,
e.g. `python3 tasks.py test -k arithmetic` or `python3 tasks.py bench --depth 18`.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".installed"  # hash of what was installed last


def _requirements_hash() -> str:
    files = [ROOT / "requirements.txt", ROOT / "pyproject.toml"]
    return hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()


def _run(*cmd: str | Path, **kwargs) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], check=True, **kwargs)


def setup() -> None:
    """Create .venv if needed and install requirements and resnet_lib if they changed."""
    if sys.version_info < (3, 10):
        sys.exit(f"Python 3.10 or newer is needed, this is {sys.version.split()[0]}")
    if not PYTHON.exists():
        print(f"Creating the virtual environment {VENV.name} ...", flush=True)
        venv.create(VENV, with_pip=True)
    wanted = _requirements_hash()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    # The first install is the long one; say so, and let pip show what it downloads.
    print(
        "Installing requirements.txt: PyTorch (its CUDA build) and the notebooks' tools. The first"
        " time, this fills .venv with about 5.8 GB and took about 4 minutes when measured (see README).",
        flush=True,
    )
    _run(PYTHON, "-m", "pip", "install", "--progress-bar", "on", "-r", ROOT / "requirements.txt")
    # Editable: notebooks import the library as it is in the working tree.
    print("Installing resnet_lib from this working tree (editable, seconds) ...", flush=True)
    _run(PYTHON, "-m", "pip", "install", "--quiet", "--no-deps", "-e", ROOT)
    STAMP.write_text(wanted)


COMMANDS: dict[str, list[str | Path]] = {
    "lab": [BIN / "jupyter", "lab", ROOT / "notebooks"],
    "test": [PYTHON, "-m", "pytest"],
    "execute": [PYTHON, ROOT / "scripts" / "execute_notebooks.py"],
    "bench": [PYTHON, "-m", "resnet_lib.tools.benchmark"],
    "degradation": [PYTHON, ROOT / "scripts" / "degradation.py"],
    "compat": [PYTHON, ROOT / "scripts" / "compat.py"],
    "students": [PYTHON, ROOT / "scripts" / "make_student_copies.py"],
    "retarget": [PYTHON, ROOT / "scripts" / "retarget.py"],
}


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def command_line(name: str, extra: list[str], as_root: bool | None = None) -> list[str | Path]:
    """The command that `python3 tasks.py NAME EXTRA...` runs.

    Args:
        name: One of `COMMANDS`.
        extra: Arguments passed on to the tool.
        as_root: Whether this runs as root (default: ask the OS). JupyterLab refuses
            to start as root without ``--allow-root``, and Docker containers, cloud VMs
            and many workshop machines run as root, so ``lab`` adds the flag there.
    """
    if name == "test":
        # The quick suite leaves out the tests marked slow (pyproject.toml says which);
        # `--all` runs them too, as CI does.
        extra = [a for a in extra if a != "--all"] if "--all" in extra else ["-m", "not slow", *extra]
    cmd = [*COMMANDS[name], *extra]
    if name == "lab" and (_is_root() if as_root is None else as_root) and "--allow-root" not in extra:
        print("Running as root (a container or VM?): starting JupyterLab with --allow-root.", flush=True)
        cmd.append("--allow-root")
    return cmd


def main(argv: list[str]) -> None:
    if argv and argv[0] in ("-h", "--help", "help"):
        print(__doc__)
        return
    if not argv or argv[0] not in COMMANDS:
        unknown = f"unknown command {argv[0]!r}; " if argv else "no command given; "
        print(__doc__, file=sys.stderr)
        sys.exit(f"tasks.py: {unknown}the commands are: {', '.join(COMMANDS)}")
    name, extra = argv[0], argv[1:]
    setup()
    try:
        _run(*command_line(name, extra), cwd=ROOT)
    except subprocess.CalledProcessError as e:
        sys.exit(e.returncode)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main(sys.argv[1:])
