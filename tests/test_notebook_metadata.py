"""Opening a stored notebook in JupyterLab and saving it without an edit changes no byte.

JupyterLab (4.x) reads a notebook through jupyter_server's contents manager, and on
opening sets two metadata entries from the kernel it starts: ``kernelspec`` (name,
display_name and language of the kernel spec) and ``language_info`` (the kernel's
kernel_info reply). Any difference marks the notebook unsaved at once, and autosave
rewrites it: a modified file in `git status` that the learner never touched. The test
does what JupyterLab does, through the same contents manager, and compares the bytes.
"""

import json
import platform
import shutil
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
STUDENT = sorted((ROOT / "notebooks" / "student").glob("[0-9][0-9]_*.ipynb"))


def kernel_metadata(name: str) -> dict:
    """What JupyterLab writes for a kernel: its spec's names, and the kernel's language_info."""
    from ipykernel.ipkernel import IPythonKernel
    from jupyter_client.kernelspec import KernelSpecManager

    spec = KernelSpecManager().get_kernel_spec(name)
    return {
        "kernelspec": {"display_name": spec.display_name, "language": spec.language, "name": name},
        "language_info": json.loads(json.dumps(IPythonKernel.language_info)),
    }


def open_and_save(path: Path, folder: Path) -> bytes:
    """Open `path` as JupyterLab does, change nothing, save it; the bytes it writes."""
    pytest.importorskip("jupyter_server")
    from jupyter_server.services.contents.filemanager import FileContentsManager
    from nbformat.sign import NotebookNotary

    shutil.copy(path, folder / path.name)
    manager = FileContentsManager(root_dir=str(folder))
    manager.notary = NotebookNotary(db_file=":memory:", data_dir=str(folder))  # no trust database in ~
    model = manager.get(path.name, content=True, type="notebook")
    nb = json.loads(json.dumps(model["content"]))  # what the browser receives
    # JupyterLab's notebook model on opening: orig_nbformat dropped, every cell given an id
    # (a new one where the file has none), then the kernel's metadata set.
    nb["metadata"].pop("orig_nbformat", None)
    for cell in nb["cells"]:
        cell.setdefault("id", str(uuid.uuid4()))
    nb["metadata"].update(kernel_metadata(nb["metadata"].get("kernelspec", {}).get("name", "python3")))
    manager.save({"type": "notebook", "format": "json", "content": nb}, path.name)
    return (folder / path.name).read_bytes()


@pytest.mark.parametrize("path", NOTEBOOKS + STUDENT, ids=lambda p: str(p.relative_to(ROOT / "notebooks")))
def test_jupyterlab_saves_the_notebook_unchanged(path, tmp_path):
    stored = json.loads(path.read_text(encoding="utf-8"))["metadata"]
    python = stored.get("language_info", {}).get("version")
    if python != platform.python_version():
        pytest.skip(
            f"stored with Python {python}; JupyterLab on Python {platform.python_version()} writes its own"
        )
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    # nbformat gives a cell without an id a random one when it reads the notebook, so
    # `python3 tasks.py execute` stores them; JupyterLab would add its own.
    assert [i for i, cell in enumerate(cells) if "id" not in cell] == [], "cells without an id"
    saved = open_and_save(path, tmp_path)
    assert saved.decode("utf-8") == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_stored_metadata_is_the_kernels(path):
    """The kernel entries are JupyterLab's, whatever else the metadata holds (Colab's hints)."""
    metadata = json.loads(path.read_text(encoding="utf-8"))["metadata"]
    assert metadata["kernelspec"] == {
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
        "name": "python3",
    }
    assert set(metadata["language_info"]) == {
        "codemirror_mode",
        "file_extension",
        "mimetype",
        "name",
        "nbconvert_exporter",
        "pygments_lexer",
        "version",
    }


def test_the_check_sees_a_notebook_jupyterlab_would_change(tmp_path):
    """The old display name, and a cell without an id, are both rewritten on save."""
    nb = json.loads(NOTEBOOKS[0].read_text(encoding="utf-8"))
    nb["metadata"]["kernelspec"]["display_name"] = "Python 3"
    del nb["cells"][0]["id"]
    path = tmp_path / "in" / "old.ipynb"
    path.parent.mkdir()
    text = json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    path.write_text(text, encoding="utf-8")
    saved = open_and_save(path, tmp_path).decode("utf-8")
    assert saved != text and '"display_name": "Python 3 (ipykernel)"' in saved


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_the_execute_script_keeps_the_metadata(path):
    """scripts/execute_notebooks.py writes through notebook_files.render: the same bytes back
    (nbclient sets language_info from the kernel, as JupyterLab does, and leaves kernelspec)."""
    import nbformat

    from notebook_files import render

    nb = nbformat.read(path, as_version=4)
    nb.metadata.update(kernel_metadata(nb.metadata.kernelspec.name))
    text = path.read_text(encoding="utf-8")
    if any("id" not in c for c in json.loads(text)["cells"]):
        pytest.skip("cells without an id: nbformat gives them random ones (the next execute stores them)")
    executed_by = json.loads(text)["metadata"]["language_info"]["version"]
    if executed_by != platform.python_version():  # e.g. under `tasks.py compat`
        pytest.skip(f"executed by Python {executed_by}, not this {platform.python_version()}")
    assert render(nb) == text
