"""The pure-Python SVG graph picture (``symback.web.svg.to_svg``), used by the page
where Graphviz is not installed: well-formed, every node and edge drawn once, forward and
derivative nodes apart, edges pointing down, big graphs cut, deep graphs without recursion."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import symback as sb
from symback.printing.graphviz import DERIVATIVE_FILL, FORWARD_FILL, split
from symback.web.svg import to_svg

NS = "{http://www.w3.org/2000/svg}"


def e3():  # type: ignore[no-untyped-def]
    X, W = sb.matrix("X", "n", 3), sb.matrix("W", 3, 2)
    L = sb.sum(sb.sigmoid(X @ W))
    return L, sb.grad(L, [X, W])


def test_nodes_edges_and_colours_match_the_graph() -> None:
    L, grads = e3()
    svg = to_svg(L, *grads)
    root = ET.fromstring(svg)  # well-formed XML
    view = split([L, *grads])
    groups = [g for g in root.iter(NS + "g") if "node" in g.get("class", "")]
    assert len(groups) == len(view.nodes)
    kinds = [g.get("class").split()[1] for g in groups]
    assert kinds.count("derivative") == len(view.derivative)
    assert kinds.count("forward") == len(view.nodes) - len(view.derivative)
    for g in groups:
        rect = g.find(NS + "rect")
        fill = rect.get("fill")
        if "derivative" in g.get("class"):
            assert fill in (DERIVATIVE_FILL, "none")
        else:
            assert fill in (FORWARD_FILL, "none")
    n_edges = sum(1 for n in view.nodes for a in n.args if a in set(view.nodes))
    edges = [p for p in root.iter(NS + "path") if p.get("class") == "edge"]
    assert len(edges) == n_edges
    for p in edges:  # arguments sit above their users: every edge points down
        nums = [float(v) for v in re.findall(r"-?\d+\.?\d*", p.get("d"))]
        assert nums[1] < nums[-1]
    texts = "".join(t.text or "" for t in root.iter(NS + "text"))
    for label in ("X", "W", "sigmoid", "matmul", "n×3"):
        assert label in texts


def test_labels_are_escaped() -> None:
    x = sb.vector("x", "n")
    y = sb.sum(sb.where(x > 0, x, 0.5 * x))
    svg = to_svg(y, sb.grad(y, x))
    ET.fromstring(svg)
    assert "<script" not in svg


def test_big_graphs_are_cut_and_deep_ones_need_no_recursion() -> None:
    x = sb.symbols("x")
    y = x
    for _ in range(3000):
        y = sb.sin(y)
    svg = to_svg(y, max_nodes=50)
    root = ET.fromstring(svg)
    assert len([g for g in root.iter(NS + "g") if "node" in g.get("class", "")]) == 50
    assert "2951 more nodes not drawn" in svg
    full = to_svg(y, sb.grad(y, x), max_nodes=None)  # ~9,000 nodes, 3,000 layers deep
    assert full.count('class="node ') == len(split([y, sb.grad(y, x)]).nodes)
