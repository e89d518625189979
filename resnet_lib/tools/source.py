"""Showing the library's own code in a notebook, highlighted, so that what a reader sees
is always the code that ran (the notebooks never paste copies of it).
"""

from __future__ import annotations

import inspect

__all__ = ["Source", "show_source"]

MONOSPACE = '<div style="font-family: monospace">'


class Source:
    """Source code of a library object; shown highlighted in Jupyter, plain elsewhere.

    A notebook stores two forms: Markdown with a fenced Python block (in a monospace
    div, for nbconvert), which JupyterLab, Colab and GitHub show as highlighted code, and
    the plain text, which is what nbval compares (the same text on every run).
    """

    def __init__(self, obj: object) -> None:
        self.text = inspect.getsource(obj).rstrip()

    def _repr_markdown_(self) -> str:
        # A fence longer than any run of backticks in the code, so a docstring's own
        # fenced example cannot close the block early.
        fence = "```"
        while fence in self.text:
            fence += "`"
        # nbconvert's HTML gives a <pre> in an output the font of the text around it, a
        # proportional one: the div keeps the code monospace there. GitHub drops the
        # style, and it and JupyterLab show a fenced block in monospace anyway.
        return f"{MONOSPACE}\n\n{fence}python\n{self.text}\n{fence}\n\n</div>"

    def __repr__(self) -> str:
        return self.text


def show_source(obj: object) -> Source | None:
    """Show the source of a function, class or method of the library in a notebook.

    The notebooks display the library's code with this instead of pasting copies of
    it, so what a reader sees is always the code that ran. They also show a few of
    PyTorch's own functions, and what those are depends on the torch version: torch
    2.9 on a machine without an accelerator makes ``torch.utils.benchmark``'s timer
    the builtin ``timeit.default_timer``, which has no Python source. Such objects get
    a short printed note instead of an exception, so that "Run all" goes on.

    Args:
        obj: A function, class, method or module.

    Returns:
        A `Source` (displayed by Jupyter), or ``None`` when `obj` has no Python source
        (a builtin written in C, or code whose file is not installed); then a note is
        printed.

    Raises:
        TypeError: `obj` is not code at all (e.g. a number).

    Example:
        >>> from resnet_lib import conv3x3
        >>> show_source(conv3x3)  # doctest: +SKIP
    """
    name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None) or repr(obj)
    if inspect.isbuiltin(obj) or inspect.ismethoddescriptor(obj):
        module = getattr(obj, "__module__", None)
        where = f"{module}.{name}" if module else name
        print(f"{where} is a builtin (written in C, not Python): there is no source to show.")
        return None
    if not (
        inspect.isfunction(obj) or inspect.isclass(obj) or inspect.ismethod(obj) or inspect.ismodule(obj)
    ):
        raise TypeError(f"obj must be a function, class, method or module, got {type(obj).__name__}")
    try:
        return Source(obj)
    except (OSError, TypeError) as e:  # e.g. a class defined in C, or source files not installed
        print(f"{name} has no Python source to show here ({e}).")
        return None
