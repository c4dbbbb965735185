"""A graph picture as SVG without Graphviz: a small layered (Sugiyama-style) drawing.

``sb.render(..., format="svg")`` uses Graphviz when its ``dot`` program is there and
this drawer otherwise, so pictures show in a notebook on any machine. The steps:

1. **Layers.** Every node sits one layer below its lowest argument (the longest path
   from the leaves); a leaf (symbol, constant) sits just above its first user, so its
   edges stay short.
2. **Order in a layer.** Starting from the graph order, a few sweeps down and up
   sort each layer by the mean position of its neighbours in the layer before
   (the barycentre heuristic), which removes most edge crossings.
3. **Coordinates.** Boxes as wide as their labels, each layer centred; edges are
   cubic curves from an argument's bottom to its user's top, with the argument
   index near the arrowhead when the op takes several.

Forward nodes are blue boxes, derivative nodes (appended by the reverse pass)
orange with a dashed border, outputs drawn thick; a node that is a grad-table
entry carries a line such as ``∂L/∂W``. Every walk is a loop over the
topological order (no recursion).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..graph import Expr

CHAR_W = 7.2      # average width of a character at FONT_SIZE (Helvetica-like fonts)
FONT_SIZE = 12
LINE_H = 15
PAD_X, PAD_Y = 10, 6
GAP_X, GAP_Y = 24, 46
MARGIN = 16
LEGEND_H = 26
SWEEPS = 4

FORWARD_FILL = "#dbeafe"
FORWARD_LINE = "#1d4ed8"
DERIVATIVE_FILL = "#ffedd5"
DERIVATIVE_LINE = "#c2410c"


def _esc(s: str) -> str:
    return (s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def _layers(nodes: list[Expr], shown: set[Expr]) -> dict[Expr, int]:
    """Longest path from the leaves; leaves pulled down to just above their first user."""
    layer: dict[Expr, int] = {}
    users: dict[Expr, list[Expr]] = {n: [] for n in nodes}
    for n in nodes:  # arguments come first (topological order)
        depth = 0
        for a in n.args:
            if a in shown:
                users[a].append(n)
                depth = max(depth, layer[a] + 1)
        layer[n] = depth
    for n in nodes:
        if not any(a in shown for a in n.args) and users[n]:
            layer[n] = max(0, min(layer[u] for u in users[n]) - 1)
    return layer


def _order(nodes: list[Expr], layer: dict[Expr, int], shown: set[Expr]) -> list[list[Expr]]:
    """Nodes per layer, sorted by the barycentre of their neighbours (a few sweeps)."""
    depth = max(layer.values()) + 1
    rows: list[list[Expr]] = [[] for _ in range(depth)]
    for n in nodes:
        rows[layer[n]].append(n)
    users: dict[Expr, list[Expr]] = {n: [] for n in nodes}
    for n in nodes:
        for a in n.args:
            if a in shown:
                users[a].append(n)
    pos: dict[Expr, float] = {}

    def place(row: list[Expr]) -> None:
        for i, n in enumerate(row):
            pos[n] = (i + 0.5) / len(row)

    for row in rows:
        place(row)
    for _ in range(SWEEPS):
        for k in range(1, depth):  # down: by the arguments above
            rows[k].sort(key=lambda n: _mean([pos[a] for a in n.args if a in shown], pos[n]))
            place(rows[k])
        for k in range(depth - 2, -1, -1):  # up: by the users below
            rows[k].sort(key=lambda n: _mean([pos[u] for u in users[n]], pos[n]))
            place(rows[k])
    return rows


def _mean(xs: list[float], default: float) -> float:
    return sum(xs) / len(xs) if xs else default


def draw(view: Any, labels: Mapping[Expr, tuple[str, ...]],
         extra: Mapping[Expr, str] | None = None, title: str | None = None) -> str:
    """The SVG text of a :class:`~symback.printing.graphviz.GraphView`.

    ``labels`` gives each node's label lines; ``extra`` an added line (which gradient
    a node is, e.g. ``∂L/∂W``).
    """
    extra = extra or {}
    nodes = list(view.nodes)
    ids = {n: f"n{i}" for i, n in enumerate(nodes)}  # as in to_dot and to_mermaid
    shown = set(nodes)
    outputs = set(view.forward_outputs) | set(view.grad_outputs)
    layer = _layers(nodes, shown)
    rows = _order(nodes, layer, shown)

    text: dict[Expr, list[str]] = {}
    size: dict[Expr, tuple[float, float]] = {}
    for n in nodes:
        lines = list(labels[n])
        if n in extra:
            lines.append(extra[n])
        text[n] = lines
        w = max(len(s) for s in lines) * CHAR_W + 2 * PAD_X
        size[n] = (max(w, 36.0), len(lines) * LINE_H + 2 * PAD_Y)

    row_w = [sum(size[n][0] for n in row) + GAP_X * max(0, len(row) - 1) for row in rows]
    row_h = [max((size[n][1] for n in row), default=0.0) for row in rows]
    width = max(row_w, default=0.0) + 2 * MARGIN
    top = MARGIN + LEGEND_H + (LINE_H + 4 if title else 0)
    xy: dict[Expr, tuple[float, float]] = {}  # centre of each box
    y = top
    for row, rw, rh in zip(rows, row_w, row_h):
        x = (width - rw) / 2
        for n in row:
            w, h = size[n]
            xy[n] = (x + w / 2, y + rh / 2)
            x += w + GAP_X
        y += rh + GAP_Y
    height = y - GAP_Y + MARGIN + (LINE_H if view.hidden else 0)
    width = max(width, 300.0)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" '
           f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" '
           f'font-family="Helvetica, Arial, sans-serif" font-size="{FONT_SIZE}">',
           "<defs>",
           '<marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
           'markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" '
           'fill="#555555"/></marker>',
           "</defs>",
           '<rect width="100%" height="100%" fill="white"/>']
    ly = MARGIN
    if title:
        out.append(f'<text x="{width / 2:.1f}" y="{ly + LINE_H - 3}" text-anchor="middle" '
                   f'font-weight="bold">{_esc(title)}</text>')
        ly += LINE_H + 4
    out.append('<g class="legend">')
    lx = MARGIN
    for kind, fill, line, dash, words in (
            ("forward", FORWARD_FILL, FORWARD_LINE, "", "forward"),
            ("derivative", DERIVATIVE_FILL, DERIVATIVE_LINE, ' stroke-dasharray="4 2"',
             "derivative (reverse pass)")):
        out.append(f'<rect class="{kind}" x="{lx}" y="{ly}" width="18" height="12" rx="3" '
                   f'fill="{fill}" stroke="{line}"{dash}/>')
        out.append(f'<text x="{lx + 24}" y="{ly + 10}">{words}</text>')
        lx += 24 + len(words) * CHAR_W + 20
    out.append("</g>")

    out.append('<g class="edges" fill="none">')
    for n in nodes:
        many = len(n.args) > 1
        for i, a in enumerate(n.args):
            if a not in shown:
                continue
            (x1, y1), (x2, y2) = xy[a], xy[n]
            y1 += size[a][1] / 2
            y2 -= size[n][1] / 2
            mid = (y1 + y2) / 2
            color = DERIVATIVE_LINE if n in view.derivative else "#555555"
            out.append(f'<path class="edge" data-from="{ids[a]}" data-to="{ids[n]}" '
                       f'd="M {x1:.1f} {y1:.1f} C {x1:.1f} {mid:.1f} {x2:.1f} '
                       f'{mid:.1f} {x2:.1f} {y2:.1f}" stroke="{color}" stroke-width="1.1" '
                       f'marker-end="url(#arrow)"/>')
            if many:
                tx = x2 + (x1 - x2) * 0.22 + 4
                ty = y2 - (y2 - y1) * 0.22
                out.append(f'<text x="{tx:.1f}" y="{ty:.1f}" font-size="9" fill="#555555" '
                           f'stroke="none">{i}</text>')
    out.append("</g>")

    out.append('<g class="nodes">')
    for n in nodes:
        deriv = n in view.derivative
        kind = "derivative" if deriv else "forward"
        fill, line = (DERIVATIVE_FILL, DERIVATIVE_LINE) if deriv else (FORWARD_FILL, FORWARD_LINE)
        (cx, cy), (w, h) = xy[n], size[n]
        stroke_w = 2.6 if n in outputs else 1.2
        dash = ' stroke-dasharray="5 3"' if deriv else ""
        rx = h / 2 if n.is_symbol else 6
        out.append(f'<g id="{ids[n]}" class="node {kind}">'
                   f'<title>{_esc(" / ".join(text[n]))}</title>')
        if n.is_const:
            out.append(f'<rect x="{cx - w / 2:.1f}" y="{cy - h / 2:.1f}" width="{w:.1f}" '
                       f'height="{h:.1f}" fill="white" stroke="none"/>')
        else:
            out.append(f'<rect x="{cx - w / 2:.1f}" y="{cy - h / 2:.1f}" width="{w:.1f}" '
                       f'height="{h:.1f}" rx="{rx:.1f}" fill="{fill}" stroke="{line}" '
                       f'stroke-width="{stroke_w}"{dash}/>')
        ty = cy - h / 2 + PAD_Y + LINE_H - 4
        for k, s in enumerate(text[n]):
            style = ""
            if n in extra and k == len(text[n]) - 1:
                style = f' font-style="italic" fill="{DERIVATIVE_LINE}"'
            elif k > 0:
                style = ' fill="#444444" font-size="10"'
            out.append(f'<text x="{cx:.1f}" y="{ty:.1f}" text-anchor="middle"{style}>'
                       f'{_esc(s)}</text>')
            ty += LINE_H
        out.append("</g>")
    out.append("</g>")
    if view.hidden:
        out.append(f'<text x="{MARGIN}" y="{height - MARGIN / 2:.1f}" fill="#555555">'
                   f'… {view.hidden} more nodes not drawn</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
