"""A small table that shows itself as HTML in Jupyter and as aligned text elsewhere.

Both renderings are deterministic (the notebooks' tests compare them with stored
outputs). Notebook 04's tables of the ResNets and notebook 05's benchmark rows
(`resnet_lib.tools.benchmark.format_rows`) are drawn with it.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

#: A table cell: one line of text, or several lines (a block's convs, one per line).
Cell = str | tuple[str, ...]


def _lines(cell: Cell) -> tuple[str, ...]:
    return (cell,) if isinstance(cell, str) else tuple(cell)


@dataclass(frozen=True, repr=False)
class Table:
    """Rows of text cells with a header; shown as HTML in Jupyter, as text by `print`.

    Args:
        columns: Column headers.
        rows: One tuple of cells per row; a cell is a string or a tuple of lines.
        align: One letter per column, ``"l"`` or ``"r"``; default: the first column
            left-aligned, the others right-aligned (numbers).
        caption: A line shown above the table.
        widths: Fixed column widths, gaps included, for rows printed one at a time as
            they are measured: each cell is padded to its column's width (never cut),
            with no gap and no rule under the header, so that a row printed alone lines
            up under a header printed before. Default: each column as wide as its widest
            cell, two spaces apart.
    """

    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    align: str = ""
    caption: str = ""
    widths: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        for i, row in enumerate(self.rows):
            if len(row) != len(self.columns):
                raise ValueError(f"row {i} has {len(row)} cells, the header {len(self.columns)}")
        if self.align and (len(self.align) != len(self.columns) or set(self.align) - {"l", "r"}):
            raise ValueError(
                f"align must give 'l' or 'r' for each of {len(self.columns)} columns, got {self.align!r}"
            )
        if self.widths and (
            len(self.widths) != len(self.columns)
            or not all(isinstance(w, int) and not isinstance(w, bool) and w > 0 for w in self.widths)
        ):
            raise ValueError(
                f"widths must give a positive int for each of {len(self.columns)} columns, got {self.widths!r}"
            )

    def _alignment(self) -> str:
        return self.align or "l" + "r" * (len(self.columns) - 1)

    def to_text(self, header: bool = True) -> str:
        """Aligned plain text: a header, a rule, then the rows (multi-line cells stacked).

        Args:
            header: Start with the caption, the column names and the rule; ``False``
                gives the rows alone (aligned as they would be under the header).
        """
        align = self._alignment()
        table = [tuple((c,) for c in self.columns)] + [tuple(_lines(c) for c in row) for row in self.rows]
        widths = self.widths or [
            max(len(line) for row in table for line in row[j]) for j in range(len(self.columns))
        ]

        def render(row: tuple[tuple[str, ...], ...]) -> list[str]:
            height = max(len(cell) for cell in row)
            out = []
            for k in range(height):
                parts = []
                for j, cell in enumerate(row):
                    text = cell[k] if k < len(cell) else ""
                    parts.append(text.ljust(widths[j]) if align[j] == "l" else text.rjust(widths[j]))
                # Fixed widths already hold the gaps; a row printed alone keeps its full width.
                out.append("".join(parts) if self.widths else "  ".join(parts).rstrip())
            return out

        lines = []
        if header:
            lines += [self.caption] if self.caption else []
            lines += render(table[0])
            if not self.widths:
                lines.append("  ".join("-" * w for w in widths))
        for row in table[1:]:
            lines += render(row)
        return "\n".join(lines)

    def to_html(self) -> str:
        """An HTML table (escaped; multi-line cells joined with ``<br>``)."""
        align = self._alignment()

        def cell(tag: str, value: Cell, j: int) -> str:
            side = "left" if align[j] == "l" else "right"
            text = "<br>".join(html.escape(line) for line in _lines(value))
            return f'<{tag} style="text-align: {side}">{text}</{tag}>'

        out = ["<table>"]
        if self.caption:
            out.append(f"<caption>{html.escape(self.caption)}</caption>")
        out.append("<tr>" + "".join(cell("th", c, j) for j, c in enumerate(self.columns)) + "</tr>")
        for row in self.rows:
            out.append("<tr>" + "".join(cell("td", c, j) for j, c in enumerate(row)) + "</tr>")
        out.append("</table>")
        return "\n".join(out)

    def _repr_html_(self) -> str:
        return self.to_html()

    def __repr__(self) -> str:
        return self.to_text()

    __str__ = __repr__
