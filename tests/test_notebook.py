"""examples/tour.ipynb runs clean in a real Jupyter kernel (the `notebook` extra).

nbclient starts an IPython kernel (ipykernel), runs every cell in order from the
notebook's own folder, and the outputs are checked: no error, nothing on stderr, and
each rich display the tour is about (LaTeX formulas, the explain tables, the graph as
SVG, the training curve as PNG) is there with the right content.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TOUR = ROOT / "examples" / "tour.ipynb"

MISSING = [name for name in ("nbformat", "nbclient", "ipykernel", "matplotlib")
           if __import__("importlib").util.find_spec(name) is None]
pytestmark = pytest.mark.skipif(
    bool(MISSING), reason=f"the notebook extra is not installed (missing {', '.join(MISSING)}): "
                          "pip install '.[notebook]'")


def test_committed_notebook_is_valid_and_has_no_outputs():
    import nbformat

    nb = nbformat.read(TOUR, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert len(code) >= 8
    assert all(not c.outputs and c.execution_count is None for c in code)


def test_tour_runs_clean_in_a_jupyter_kernel():
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(TOUR, as_version=4)
    # timeout: a guard per cell against a hung kernel (the whole tour takes seconds)
    client = NotebookClient(nb, timeout=60, kernel_name="python3",
                            resources={"metadata": {"path": str(TOUR.parent)}})
    client.execute()  # raises CellExecutionError on any exception in a cell

    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert not [o for o in outputs if o.output_type == "stream" and o.name == "stderr"], \
        "the tour writes to stderr (a warning?)"
    data = [o.get("data", {}) for o in outputs]
    latex = [d["text/latex"] for d in data if "text/latex" in d]
    assert "$\\displaystyle \\sigma(z) - y$" in latex  # the logistic loss's gradient
    assert any("X^{T}" in t for t in latex)
    markdown = [d["text/markdown"] for d in data if "text/markdown" in d]
    assert len(markdown) == 1 and "| step |" in markdown[0]
    assert "\\frac{\\partial J}{\\partial c}" in markdown[0]
    svg = [d["image/svg+xml"] for d in data if "image/svg+xml" in d]
    assert len(svg) == 1 and "∂L/∂W" in svg[0] and "∂L/∂X" in svg[0]
    assert sum("image/png" in d for d in data) == 1  # the training curve
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    m = re.search(r"loss ([\d.]+) -> ([\d.]+), training accuracy ([\d.]+)", text)
    assert m, text
    first, last, acc = map(float, m.groups())
    assert first == pytest.approx(0.693, abs=1e-3)  # log 2 at w = 0, b = 0
    assert last < 0.3 and acc >= 0.9
