"""Point the series at another GitHub repository or branch (e.g. your fork).

    python3 tasks.py retarget OWNER/NAME [--branch BRANCH]

The address lives in one place, `[tool.resnets-from-scratch]` of pyproject.toml. This
rewrites it there and everywhere it is used: the Colab badges and the Colab setup
cells' install lines of every notebook, and absolute GitHub links in the README.
Outputs are left as they are (the badge and install line live in sources).
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import nbformat

from notebook_files import write_notebook

ROOT = Path(__file__).resolve().parents[1]
SECTION = "[tool.resnets-from-scratch]"


def read_target(root: Path = ROOT) -> tuple[str, str]:
    """(owner/name, branch) as written in pyproject.toml."""
    section = (root / "pyproject.toml").read_text(encoding="utf-8").split(SECTION, 1)[1]
    github = re.search(r'^github = "([^"]+)"', section, re.M).group(1)
    branch = re.search(r'^branch = "([^"]+)"', section, re.M).group(1)
    return github, branch


def addresses(github: str, branch: str) -> list[str]:
    """Every form in which the address appears, most specific first."""
    return [
        f"colab.research.google.com/github/{github}/blob/{branch}/",
        f"raw.githubusercontent.com/{github}/{branch}/",
        f"github.com/{github}/blob/{branch}/",
        f"git+https://github.com/{github}@{branch}",
        f"github.com/{github}",
    ]


def retarget(github: str, branch: str, root: Path = ROOT) -> list[Path]:
    """Rewrite the address everywhere; return the files that changed."""
    if not re.fullmatch(r"[\w.-]+/[\w.-]+", github):
        raise ValueError(f"github must look like OWNER/NAME, got {github!r}")
    if not re.fullmatch(r"[\w./-]+", branch):
        raise ValueError(f"branch must be a git branch name, got {branch!r}")
    old = read_target(root)
    pairs = list(zip(addresses(*old), addresses(github, branch)))

    def rewrite(text: str) -> str:
        for before, after in pairs:
            text = text.replace(before, after)
        return text

    changed = []
    pyproject = root / "pyproject.toml"
    head, section = pyproject.read_text(encoding="utf-8").split(SECTION, 1)
    section = re.sub(r'^github = "[^"]+"', f'github = "{github}"', section, count=1, flags=re.M)
    section = re.sub(r'^branch = "[^"]+"', f'branch = "{branch}"', section, count=1, flags=re.M)
    files = {pyproject: head + SECTION + section}
    for path in [root / "README.md", *sorted((root / "notebooks").rglob("*.md"))]:
        files[path] = rewrite(path.read_text(encoding="utf-8"))
    for path, text in files.items():
        if text != path.read_text(encoding="utf-8"):
            path.write_text(text, encoding="utf-8")
            changed.append(path)
    for path in sorted((root / "notebooks").rglob("*.ipynb")):
        if ".ipynb_checkpoints" in path.parts:
            continue
        nb = nbformat.read(path, as_version=4)
        touched = False
        for cell in nb.cells:
            new = rewrite(cell.source)
            touched |= new != cell.source
            cell.source = new
        if touched:
            write_notebook(nb, path)
            changed.append(path)
    return changed


def main() -> None:
    parser = argparse.ArgumentParser(description="Point badges and install lines at another repository.")
    parser.add_argument("github", help="OWNER/NAME on GitHub")
    parser.add_argument("--branch", default="main")
    args = parser.parse_args()
    for path in retarget(args.github, args.branch):
        print(f"rewrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
