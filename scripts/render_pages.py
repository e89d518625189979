"""Render every notebook as a reader sees it and report what reads badly at that width.

Each notebook is converted by nbconvert (HTML, the JupyterLab template) and opened in
headless Chromium in a window `--width` pixels wide (900: a stand-in for GitHub's
narrower column). A script in the page measures, per notebook:

- every output image: its width on screen against its natural width. A figure wider
  than the column is scaled down, and its smallest text with it: on screen it is
  ``MIN_FONT_PT * dpi / 72 * scale`` pixels, with the dpi from the PNG itself and
  MIN_FONT_PT the smallest text `figure_problems` allows (tests/test_figure_text.py
  holds every library figure to it). Under 8 px fails.
- every line of a text output (a ``pre`` in an output area) wider than its box: the
  browser wraps it, mid-word.
- the font of `show_source` outputs (Markdown holding a fenced Python block): it must
  be monospace (measured: "iiii" and "MMMM" equally wide).

It also reports how many characters of the output font fit on one line (the limit
tests/test_output_width.py holds the stored outputs to). Optional tooling, not run by
the tests (it needs Chromium: ``apt-get install chromium``):

    .venv/bin/python scripts/render_pages.py [--width 900] [notebooks/02_*.ipynb ...]

Exits 1 when something fails.
"""

from __future__ import annotations

import argparse
import base64
import html
import json
import re
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from resnet_lib.tools.figures import MIN_FONT_PT  # noqa: E402

MIN_TEXT_PX = 8.0
REPORT_ID = "render-pages-report"

# Runs in the page once it has loaded; writes its findings as JSON into a <pre>.
MEASURE_JS = (
    r"""
window.addEventListener("load", () => {
  const cells = Array.from(document.querySelectorAll(".jp-Cell"));
  const cellOf = (el) => cells.indexOf(el.closest(".jp-Cell"));
  const probe = document.createElement("span");
  probe.style.cssText = "position:absolute;visibility:hidden;white-space:pre;";
  document.body.appendChild(probe);
  const width = (text, el) => {
    probe.style.font = getComputedStyle(el).font;
    probe.textContent = text;
    return probe.getBoundingClientRect().width;
  };
  const report = {window: window.innerWidth, cells: cells.length,
                  images: [], lines: [], code: [], columns: null};
  document.querySelectorAll(".jp-OutputArea-output img").forEach((img) => {
    report.images.push({cell: cellOf(img), shown: img.getBoundingClientRect().width,
                        natural: img.naturalWidth});
  });
  document.querySelectorAll(".jp-OutputArea-output pre").forEach((pre) => {
    const style = getComputedStyle(pre);
    const box = pre.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    if (report.columns === null && !pre.closest(".jp-RenderedMarkdown")) {
      report.columns = Math.floor(box / (width("0".repeat(100), pre) / 100));
      report.box = box;
    }
    pre.textContent.split("\n").forEach((line) => {
      const w = width(line, pre);
      if (w > box + 0.5) {
        report.lines.push({cell: cellOf(pre), chars: line.length, px: Math.round(w),
                           box: Math.round(box), text: line.slice(0, 60)});
      }
    });
  });
  // Rich outputs (an HTML table) that are wider than the column: the reader scrolls.
  document.querySelectorAll(".jp-OutputArea-output table").forEach((table) => {
    const box = table.closest(".jp-OutputArea-output").clientWidth;
    const w = table.getBoundingClientRect().width;
    if (w > box + 0.5) {
      report.lines.push({cell: cellOf(table), chars: 0, px: Math.round(w),
                         box: Math.round(box), text: "(a table)"});
    }
  });
  document.querySelectorAll(".jp-OutputArea-output.jp-RenderedMarkdown pre")
    .forEach((code) => {
      report.code.push({cell: cellOf(code), font: getComputedStyle(code).fontFamily,
                        mono: Math.abs(width("iiii", code) - width("MMMM", code)) < 0.5});
    });
  const out = document.createElement("pre");
  out.id = "%s";
  out.textContent = JSON.stringify(report);
  document.body.appendChild(out);
});
"""
    % REPORT_ID
)


def png_dpi(data: str) -> float:
    """The dpi a PNG (base64) records in its pHYs chunk; matplotlib writes it; 72 if absent."""
    raw = base64.b64decode(data)
    at = raw.find(b"pHYs")
    if at < 0:
        return 72.0
    per_metre, _, unit = struct.unpack(">IIB", raw[at + 4 : at + 13])
    return per_metre * 0.0254 if unit == 1 else 72.0


def image_dpis(nb: nbformat.NotebookNode) -> dict[int, list[float]]:
    """The dpi of every PNG output, per cell index, in the order the cell shows them."""
    dpis: dict[int, list[float]] = {}
    for index, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if "image/png" in out.get("data", {}):
                dpis.setdefault(index, []).append(png_dpi(out["data"]["image/png"]))
    return dpis


def to_html(nb: nbformat.NotebookNode) -> str:
    body, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
    # The page has no network here: drop the CDN scripts (MathJax, require.js) so that
    # loading does not wait on them; only formulas change, not the outputs measured.
    body = re.sub(r'<script[^>]*src="https?://[^"]*"[^>]*>\s*</script>', "", body)
    return body.replace("</body>", f"<script>{MEASURE_JS}</script>\n</body>")


def measure(page: Path, chromium: str, width: int) -> dict:
    command = [
        chromium,
        "--headless",
        "--no-sandbox",  # as root in a container
        "--disable-gpu",
        "--hide-scrollbars",
        f"--window-size={width},1000",
        "--virtual-time-budget=20000",
        "--dump-dom",
        page.as_uri(),
    ]
    dom = subprocess.run(command, capture_output=True, text=True, timeout=300).stdout
    found = re.search(rf'<pre id="{REPORT_ID}">(.*?)</pre>', dom, re.S)
    if not found:
        raise RuntimeError(f"no report in the page rendered from {page.name}")
    return json.loads(html.unescape(found.group(1)))


def check(path: Path, chromium: str, width: int, out_dir: Path) -> tuple[list[str], dict]:
    nb = nbformat.read(path, as_version=4)
    page = out_dir / f"{path.stem}.html"
    page.write_text(to_html(nb), encoding="utf-8")
    report = measure(page, chromium, width)
    problems = []
    if report["cells"] != len(nb.cells):
        problems.append(f"the page shows {report['cells']} cells, the notebook has {len(nb.cells)}")
    dpis = image_dpis(nb)
    smallest = None
    for image in report["images"]:
        # An image that is not a stored PNG (an SVG, a picture in HTML): assume 72 dpi.
        stored = dpis.get(image["cell"], [])
        dpi = stored.pop(0) if stored else 72.0
        scale = min(1.0, image["shown"] / image["natural"]) if image["natural"] else 1.0
        text_px = MIN_FONT_PT * dpi / 72 * scale
        smallest = text_px if smallest is None else min(smallest, text_px)
        if text_px < MIN_TEXT_PX:
            problems.append(
                f"c{image['cell']}: figure {image['natural']} px shown at {image['shown']:.0f} px:"
                f" {MIN_FONT_PT:g} pt text is {text_px:.1f} px (at least {MIN_TEXT_PX:g})"
            )
    for line in report["lines"]:
        problems.append(
            f"c{line['cell']}: a {line['chars'] or ''}-character line ({line['px']} px > {line['box']}) wraps:"
            f" {line['text']!r}"
        )
    for code in report["code"]:
        if not code["mono"]:
            font = code["font"].split(",")[0]
            problems.append(f"c{code['cell']}: show_source output not monospace (font-family {font}, ...)")
    summary = {
        "images": len(report["images"]),
        "smallest_text_px": smallest,
        "wrapping_lines": len(report["lines"]),
        "code_blocks": len(report["code"]),
        "proportional_code": sum(not c["mono"] for c in report["code"]),
        "columns": report["columns"],
        "box": report.get("box"),
    }
    return problems, summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--width", type=int, default=900, help="window width in CSS pixels")
    parser.add_argument("--chromium", default=None, help="the browser (default: found on PATH)")
    parser.add_argument("--keep", type=Path, default=None, help="keep the HTML pages in this folder")
    args = parser.parse_args(argv)
    chromium = args.chromium or next(
        (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)),
        None,
    )
    if chromium is None:
        parser.error("no Chromium found: apt-get install chromium, or pass --chromium")
    paths = args.notebooks or sorted((ROOT / "notebooks").glob("0*.ipynb"))
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        out_dir = args.keep or Path(tmp)
        out_dir.mkdir(parents=True, exist_ok=True)
        header = (
            f"{'notebook':34} {'figs':>4} {'min text':>8} {'wraps':>5} {'code':>4} {'prop':>4} {'cols':>4}"
        )
        rows, details = [header], []
        for path in paths:
            problems, s = check(path, chromium, args.width, out_dir)
            failed |= bool(problems)
            text = "-" if s["smallest_text_px"] is None else f"{s['smallest_text_px']:.1f} px"
            rows.append(
                f"{path.name[:34]:34} {s['images']:>4} {text:>8} {s['wrapping_lines']:>5}"
                f" {s['code_blocks']:>4} {s['proportional_code']:>4} {s['columns'] or '-':>4}"
            )
            details += [f"{path.name}: {p}" for p in problems]
    print(
        f"At {args.width} px (min text: {MIN_FONT_PT:g} pt figure text on screen; cols: characters per output line)"
    )
    print("\n".join(rows))
    if details:
        print("\n".join(["", *details]))
    print("FAIL" if failed else "OK: no small figure text, no wrapping output line, code in monospace")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
