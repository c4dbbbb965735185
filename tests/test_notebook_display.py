"""Jupyter display: explain() as Markdown tables, render() as an inline SVG picture.

The SVG is parsed as XML and checked against the graph: one box per node, the
derivative nodes (recomputed here: reachable from the gradients, not from the loss)
drawn apart, the gradient outputs labelled with which gradient they are, every edge
pointing down, no two boxes overlapping.
"""

from __future__ import annotations

import pickle
import re
import sys
import xml.etree.ElementTree as ET

import pytest
from test_graphviz import reachable  # the derivative set, recomputed by hand

import symback as sb
from symback.printing.graphviz import Picture, split

SVG = "{http://www.w3.org/2000/svg}"


def e3():
    X, W = sb.matrix("X", 3, 3), sb.matrix("W", 3, 2)
    L = sb.sum(sb.sigmoid(X @ W))
    return X, W, L


# --------------------------------------------------------------------------- explain


def test_explain_shows_markdown_tables_in_jupyter():
    a, b, c = sb.symbols("a b c")
    J = 3 * (a + b * c)
    ex = sb.explain(J, [a, b, c], at={a: 7, b: 4, c: 2}, output="J")
    md = ex._repr_markdown_()
    assert md == ex.markdown()
    rows = [line for line in md.splitlines() if line.startswith("| ")]
    # forward table: header + u, v, J; grad table: header + 6 entries (J, v, u, c, b, a)
    assert rows[0].startswith("| name | definition | value |")
    assert sum(r.startswith("| step |") for r in rows) == 1
    steps = [r for r in rows if re.match(r"\| \d+ \|", r)]
    assert len(steps) == 6
    # the values are the hand-computed partial derivatives at a=7, b=4, c=2
    values = {re.search(r"\\partial J}{\\partial (\w)}", r).group(1): r.split("|")[5].strip()
              for r in steps}
    assert values["a"] == "$3$" and values["b"] == "$6$" and values["c"] == "$12$"


def test_ipython_picks_the_rich_forms():
    formatters = pytest.importorskip("IPython.core.formatters")
    fmt = formatters.DisplayFormatter()
    a, b = sb.symbols("a b")
    bundle, _ = fmt.format(sb.explain(a * b, [a]))
    assert "text/markdown" in bundle and "| step |" in bundle["text/markdown"]
    bundle, _ = fmt.format(sb.sin(a) * b)
    assert bundle["text/latex"] == "$\\displaystyle b \\sin(a)$"
    bundle, _ = fmt.format(sb.render(a * b, wrt=[a], engine="builtin"))
    assert bundle["image/svg+xml"].startswith("<svg")


# --------------------------------------------------------------------------- render


def parse_svg(pic):
    root = ET.fromstring(pic._repr_svg_())
    boxes = {}
    for g in root.iter(f"{SVG}g"):
        if "node" in (g.get("class") or "").split():
            rect = g.find(f"{SVG}rect")
            texts = [t.text for t in g.findall(f"{SVG}text")]
            boxes[g.get("id")] = {
                "kind": g.get("class").split()[1],
                "x": float(rect.get("x")), "y": float(rect.get("y")),
                "w": float(rect.get("width")), "h": float(rect.get("height")),
                "stroke": rect.get("stroke-dasharray"), "texts": texts}
    edges = [(p.get("data-from"), p.get("data-to")) for p in root.iter(f"{SVG}path")
             if p.get("class") == "edge"]
    return root, boxes, edges


def test_builtin_svg_draws_the_graph_with_derivative_nodes_apart():
    X, W, L = e3()
    dX, dW = sb.grad(L, [X, W])
    pic = sb.render(L, wrt=[X, W], output="L", engine="builtin")
    assert isinstance(pic, Picture) and isinstance(pic, bytes)
    assert pic.format == "svg" and pic.engine == "builtin"
    _, boxes, edges = parse_svg(pic)
    view = split([L, dX, dW])
    nodes = list(view.nodes)
    assert len(boxes) == len(nodes)
    derivative = reachable([dX, dW]) - reachable([L])
    for i, n in enumerate(nodes):
        box = boxes[f"n{i}"]
        assert box["kind"] == ("derivative" if n in derivative else "forward")
        if n in derivative and not n.is_const:
            assert box["stroke"]  # dashed border: visible without colour too
    expected_edges = {(f"n{nodes.index(a)}", f"n{i}") for i, n in enumerate(nodes)
                      for a in n.args if a in nodes}
    assert set(edges) == expected_edges
    for src, dst in edges:  # arguments above their users
        assert boxes[src]["y"] + boxes[src]["h"] <= boxes[dst]["y"]
    ids = list(boxes)
    for i, p in enumerate(ids):  # no two boxes overlap
        for q in ids[i + 1:]:
            a, b = boxes[p], boxes[q]
            apart = (a["x"] + a["w"] <= b["x"] or b["x"] + b["w"] <= a["x"]
                     or a["y"] + a["h"] <= b["y"] or b["y"] + b["h"] <= a["y"])
            assert apart, (a["texts"], b["texts"])
    # which gradient each output is
    assert "∂L/∂W" in boxes[f"n{nodes.index(dW)}"]["texts"]
    assert "∂L/∂X" in boxes[f"n{nodes.index(dX)}"]["texts"]
    # the intermediate entry ∂L/∂(X W) is the node both gradients multiply
    inner = dW.args[1]
    assert "∂L/∂(X @ W)" in boxes[f"n{nodes.index(inner)}"]["texts"]
    assert "forward" in pic.decode() and "derivative (reverse pass)" in pic.decode()


def test_render_labels_a_constant_gradient_and_accepts_one_wrt():
    a, b, c = sb.symbols("a b c")
    J = 3 * (a + b * c)
    pic = sb.render(J, wrt=a, output="J", engine="builtin")
    _, boxes, _ = parse_svg(pic)
    assert any(box["texts"] == ["3", "∂J/∂a"] for box in boxes.values())


def test_picture_is_bytes_that_pickle_and_save(tmp_path):
    X, W, L = e3()
    path = tmp_path / "g.svg"
    pic = sb.render(L, *sb.grad(L, [X, W]), path=str(path), engine="builtin")
    assert path.read_bytes() == bytes(pic)
    back = pickle.loads(pickle.dumps(pic))
    assert back == pic and back.format == "svg" and back._repr_svg_() == pic._repr_svg_()
    assert pic._repr_png_() is None


def test_auto_engine_draws_svg_without_graphviz(monkeypatch):
    monkeypatch.setitem(sys.modules, "graphviz", None)
    _, W, L = e3()
    assert sb.render(L, wrt=[W]).engine == "builtin"
    with pytest.raises(sb.SymbackError, match="graphviz"):
        sb.render(L, wrt=[W], format="png")
    with pytest.raises(sb.SymbackError, match="SVG only"):
        sb.render(L, format="png", engine="builtin")


def test_render_rejects_bad_arguments():
    X, W, L = e3()
    with pytest.raises(sb.SymbackError, match="engine"):
        sb.render(L, engine="cairo")
    with pytest.raises(sb.SymbackError, match="scalar"):
        sb.render(X @ W, wrt=[W])
    with pytest.raises(sb.SymbackError, match="unknown option"):
        sb.render(L, engine="builtin", colour="red")


def test_builtin_svg_of_a_large_graph_is_cut_and_says_so():
    x = sb.symbols("x")
    y = x
    for _ in range(200):
        y = sb.sin(y) * y
    pic = sb.render(y, wrt=[x], engine="builtin", max_nodes=40)
    _, boxes, _ = parse_svg(pic)
    assert len(boxes) == 40
    assert "more nodes not drawn" in pic.decode()


def test_graphviz_svg_carries_the_gradient_labels_too():
    pytest.importorskip("graphviz")
    import shutil

    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot program is not installed (the builtin drawer is tested above)")
    _, W, L = e3()
    pic = sb.render(L, wrt=[W], output="L", engine="graphviz")
    assert pic.engine == "graphviz" and "∂L/∂W" in pic.decode()


def test_gradient_labels_reach_the_dot_text():
    """What Graphviz would draw carries the same labels (checked on the DOT text)."""
    from symback.printing.graphviz import gradient_labels

    X, W, L = e3()
    grads, labels = gradient_labels(L, [X, W], "L")
    assert grads == sb.grad(L, [X, W])
    dot = sb.to_dot(L, *grads, labels=labels)
    assert "∂L/∂W" in dot and "∂L/∂X" in dot and "∂L/∂(X @ W)" in dot
    line = next(x for x in dot.splitlines() if "∂L/∂W" in x)
    assert 'class="derivative"' in line and "matmul" in line
