"""to_dot / to_mermaid / render: forward and derivative nodes drawn apart, edges labelled.

The derivative set is recomputed here independently (nodes reachable from the
gradients and not from the loss) and compared with what the pictures show.
"""

from __future__ import annotations

import re
import shutil
import sys

import pytest

import symback as sb


def e3():
    X, W = sb.matrix("X", 3, 3), sb.matrix("W", 3, 2)
    L = sb.sum(sb.sigmoid(X @ W))
    return L, sb.grad(L, [X, W])


def reachable(roots):
    seen, stack = set(), list(roots)
    while stack:
        n = stack.pop()
        if n in seen:
            continue
        seen.add(n)
        stack.extend(n.args)
    return seen


def dot_clusters(dot):
    """{cluster name: number of nodes declared in it}."""
    out, current = {}, None
    for line in dot.splitlines():
        m = re.match(r"\s*subgraph cluster_(\w+) \{", line)
        if m:
            current = m.group(1)
            out[current] = 0
        elif re.match(r"\s*n\d+ \[", line) and current:
            out[current] += 1
        elif line.strip() == "}":
            current = None
    return out


def test_dot_splits_forward_and_derivative_nodes():
    L, grads = e3()
    dot = sb.to_dot(L, *grads)
    assert dot.startswith("digraph symback {") and dot.endswith("}")
    fwd = reachable([L])
    everything = reachable([L, *grads])
    deriv = everything - fwd
    assert dot_clusters(dot) == {"forward": len(fwd), "derivative": len(deriv)}
    assert dot.count('class="derivative"') == len(deriv)
    edges = re.findall(r"n(\d+) -> n(\d+)", dot)
    assert len(edges) == sum(len(n.args) for n in everything)
    assert 'label="0"' in dot and 'label="1"' in dot  # matmul's two arguments
    assert 'label="X\\n3×3"' in dot and 'label="sigmoid\\n3×2"' in dot
    assert dot.count("penwidth=2.5") == 3  # the loss and the two gradients


def test_keywords_and_positional_agree():
    L, grads = e3()
    assert sb.to_dot(L, *grads) == sb.to_dot(forward=[L], grads=grads)
    assert sb.to_mermaid(L, *grads) == sb.to_mermaid(forward=[L], grads=grads)


def test_a_node_used_by_both_is_forward():
    L, (_, gW) = e3()
    sig = L.args[0]  # sigmoid(X @ W): forward, and an argument of the gradient nodes
    assert sig in reachable([gW])
    dot = sb.to_dot(L, gW)
    assert re.search(r'label="sigmoid\\n3×2", fillcolor="#dbeafe"', dot)


def test_mermaid_flowchart():
    L, grads = e3()
    mm = sb.to_mermaid(L, *grads)
    lines = mm.splitlines()
    assert lines[0] == "flowchart TD"
    fwd = reachable([L])
    everything = reachable([L, *grads])
    assert sum(line.endswith(":::forward") for line in lines) == len(fwd)
    assert sum(line.endswith(":::derivative") for line in lines) == len(everything - fwd)
    assert any(line.startswith("  classDef forward ") for line in lines)
    assert any(line.startswith("  classDef derivative ") for line in lines)
    assert sum("-->" in line for line in lines) == sum(len(n.args) for n in everything)
    assert any("-->|1|" in line for line in lines)
    assert 'n0(["X<br/>3×3"]):::forward' in lines[1]


def test_max_nodes_truncates_near_the_outputs():
    x = sb.symbols("x")
    e = x
    for _ in range(100_000):  # deep: every walk must be iterative
        e = sb.sin(e)
    dot = sb.to_dot(e, max_nodes=10)
    assert len(re.findall(r"^\s+n\d+ \[", dot, flags=re.MULTILINE)) == 10
    assert "… 99991 more nodes" in dot
    assert "more -> " in dot
    short = x
    for _ in range(300):
        short = sb.sin(short)
    mm = sb.to_mermaid(short, sb.grad(short, x), max_nodes=7)
    assert sum(":::" in line for line in mm.splitlines()) == 7
    with pytest.raises(sb.SymbackError):
        sb.to_dot(e, max_nodes=0)


def test_render_without_graphviz_says_how_to_install(monkeypatch):
    L, grads = e3()
    monkeypatch.setitem(sys.modules, "graphviz", None)  # import graphviz -> ImportError
    with pytest.raises(sb.SymbackError, match=r"pip install 'symback\[graphviz\]'"):
        sb.render(L, *grads, format="png")
    with pytest.raises(sb.SymbackError, match=r"pip install 'symback\[graphviz\]'"):
        sb.render(L, *grads, format="svg", engine="graphviz")
    # SVG needs no Graphviz: symback's own drawer (tests/test_notebook_display.py)
    assert sb.render(L, *grads, format="svg").engine == "builtin"
    with pytest.raises(sb.SymbackError, match="format"):
        sb.render(L, format="gif")


def test_render_svg_when_graphviz_is_installed(tmp_path):
    pytest.importorskip("graphviz")
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot program is not installed")
    L, grads = e3()
    path = tmp_path / "e3.svg"
    data = sb.render(L, *grads, format="svg", path=str(path))
    assert b"<svg" in data and path.read_bytes() == data
    assert b"derivative" in data and b"sigmoid" in data


def test_nothing_to_draw():
    with pytest.raises(sb.SymbackError):
        sb.to_dot()
