"""A graph picture as SVG without Graphviz: ``to_svg(y, *grads)``.

The same picture as :func:`symback.printing.graphviz.to_dot` (forward nodes blue,
derivative nodes orange, outputs with a thick border, argument indices on the
edges of ops with several arguments), laid out here in pure Python for the web page: the same
look on every machine, and no ``dot`` process per request (one would outlive a worker
killed at its time limit).

Layout (a small Sugiyama-style layered drawing):

* layer(n) = 0 for leaves, else 1 + max(layer(a) for a in n.args): the longest path
  from a leaf, so every edge points down;
* within a layer, nodes are ordered by the mean position of their arguments in the
  layers above (the barycentre heuristic, two sweeps), which keeps crossings few;
* boxes are sized from their label, layers are centred, edges are cubic curves from
  the bottom of the argument to the top of the user, with an arrowhead.

Every walk is iterative; ``max_nodes`` keeps the nodes nearest the outputs.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from xml.sax.saxutils import escape

from ..printing.graphviz import (
    DERIVATIVE_FILL,
    DERIVATIVE_LINE,
    FORWARD_FILL,
    FORWARD_LINE,
    _edge_label,
    node_label,
    split,
)

CHAR_W = 7.0  # average glyph width of 12px sans-serif, for sizing boxes
LINE_H = 15.0
PAD_X, PAD_Y = 10.0, 6.0
GAP_X, GAP_Y = 18.0, 46.0
MARGIN = 12.0


def to_svg(*exprs: Any, forward: Iterable[Any] | None = None, grads: Iterable[Any] | None = None,
           max_nodes: int | None = 200, title: str | None = None) -> str:
    """The graph of ``exprs`` as a standalone SVG document (a ``str``).

    ``to_svg(L, *sb.grad(L, [X, W]))``: the first expression is the forward output, the
    rest are gradients; their derivative nodes (reachable from the gradients only) are
    drawn orange with class ``derivative``, the forward ones blue with class ``forward``.

    >>> import symback as sb
    >>> from symback.web.svg import to_svg
    >>> a, b = sb.symbols("a b")
    >>> to_svg(a * b, sb.grad(a * b, a)).startswith("<svg")
    True
    """
    view = split(exprs, forward, grads, max_nodes)
    nodes = list(view.nodes)  # arguments come before their users
    index = {n: i for i, n in enumerate(nodes)}
    layer = [0] * len(nodes)
    for i, n in enumerate(nodes):
        shown = [index[a] for a in n.args if a in index]
        layer[i] = 1 + max((layer[j] for j in shown), default=-1)
    users: dict[int, list[int]] = {}
    for i, n in enumerate(nodes):
        for a in n.args:
            if a in index:
                users.setdefault(index[a], []).append(i)
    for i, n in enumerate(nodes):  # constants sit just above their first user
        if n.is_const and users.get(i):
            layer[i] = max(0, min(layer[u] for u in users[i]) - 1)
    depth = max(layer, default=0) + 1
    rows: list[list[int]] = [[] for _ in range(depth)]
    for i in range(len(nodes)):
        rows[layer[i]].append(i)
    labels = [node_label(n) for n in nodes]
    width = [max(len(s) for s in lab) * CHAR_W + 2 * PAD_X for lab in labels]
    height = [len(lab) * LINE_H + 2 * PAD_Y for lab in labels]

    # order each layer by the barycentre of the arguments' positions (two sweeps)
    pos = [0.0] * len(nodes)
    for row in rows:
        for k, i in enumerate(row):
            pos[i] = float(k)
    for _ in range(2):
        for r in range(1, depth):
            def key(i: int) -> float:
                args = [pos[index[a]] for a in nodes[i].args if a in index]
                return sum(args) / len(args) if args else pos[i]
            rows[r].sort(key=key)
            for k, i in enumerate(rows[r]):
                pos[i] = float(k)

    # coordinates: layers centred on the widest one
    row_w = [sum(width[i] for i in row) + GAP_X * max(0, len(row) - 1) for row in rows]
    total_w = max(row_w, default=0.0) + 2 * MARGIN
    x = [0.0] * len(nodes)
    y = [0.0] * len(nodes)
    top = MARGIN + (22.0 if title else 0.0)
    for r, row in enumerate(rows):
        h = max((height[i] for i in row), default=0.0)
        cx = (total_w - row_w[r]) / 2
        for i in row:
            x[i] = cx
            y[i] = top + (h - height[i]) / 2
            cx += width[i] + GAP_X
        top += h + GAP_Y
    total_h = top - GAP_Y + MARGIN + (20.0 if view.hidden else 0.0)

    out = [(f'<svg xmlns="http://www.w3.org/2000/svg" class="symback-graph" '
            f'width="{total_w:.0f}" height="{total_h:.0f}" '
            f'viewBox="0 0 {total_w:.0f} {total_h:.0f}" '
            f'font-family="Helvetica, Arial, sans-serif" font-size="12">'),
           ('<defs><marker id="sb-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
            'markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" '
            'fill="#555555"/></marker></defs>')]
    if title:
        out.append(f'<text x="{total_w / 2:.1f}" y="{MARGIN + 12:.1f}" text-anchor="middle" '
                   f'font-weight="bold">{escape(title)}</text>')
    for i, n in enumerate(nodes):  # edges first, under the boxes
        for k, a in enumerate(n.args):
            j = index.get(a)
            if j is None:
                continue
            x1, y1 = x[j] + width[j] / 2, y[j] + height[j]
            x2, y2 = x[i] + width[i] / 2, y[i]
            mid = (y1 + y2) / 2
            out.append(f'<path class="edge" d="M {x1:.1f} {y1:.1f} C {x1:.1f} {mid:.1f} '
                       f'{x2:.1f} {mid:.1f} {x2:.1f} {y2:.1f}" fill="none" stroke="#555555" '
                       f'stroke-width="1" marker-end="url(#sb-arrow)"/>')
            lab = _edge_label(n, k)
            if lab:
                out.append(f'<text x="{(x1 + x2) / 2 + 4:.1f}" y="{mid + 4:.1f}" font-size="10" '
                           f'fill="#555555">{escape(lab)}</text>')
    outputs = set(view.forward_outputs) | set(view.grad_outputs)
    for i, n in enumerate(nodes):
        kind = "derivative" if n in view.derivative else "forward"
        fill, line = ((DERIVATIVE_FILL, DERIVATIVE_LINE) if kind == "derivative"
                      else (FORWARD_FILL, FORWARD_LINE))
        stroke = 2.5 if n in outputs else 1.0
        rx = height[i] / 2 if n.is_symbol else 6.0
        tip = " ".join(labels[i])
        out.append(f'<g class="node {kind}"><title>{escape(tip)} ({kind})</title>')
        if n.is_const:
            out.append(f'<rect x="{x[i]:.1f}" y="{y[i]:.1f}" width="{width[i]:.1f}" '
                       f'height="{height[i]:.1f}" fill="none" stroke="none"/>')
        else:
            out.append(f'<rect x="{x[i]:.1f}" y="{y[i]:.1f}" width="{width[i]:.1f}" '
                       f'height="{height[i]:.1f}" rx="{rx:.1f}" fill="{fill}" stroke="{line}" '
                       f'stroke-width="{stroke}"/>')
        for k, text in enumerate(labels[i]):
            ty = y[i] + PAD_Y + LINE_H * (k + 0.78)
            style = ' font-size="10" fill="#444444"' if k else ' fill="#111111"'
            out.append(f'<text x="{x[i] + width[i] / 2:.1f}" y="{ty:.1f}" '
                       f'text-anchor="middle"{style}>{escape(text)}</text>')
        out.append("</g>")
    if view.hidden:
        out.append(f'<text x="{MARGIN:.1f}" y="{total_h - MARGIN:.1f}" fill="#555555">'
                   f'… {view.hidden} more nodes not drawn</text>')
    out.append("</svg>")
    return "\n".join(out)


__all__ = ["to_svg"]
