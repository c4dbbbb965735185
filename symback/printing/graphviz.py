"""Graph pictures: ``sb.to_dot`` (Graphviz DOT), ``sb.to_mermaid`` (Mermaid ``flowchart TD``)
and ``sb.render`` (an SVG, PNG or PDF :class:`Picture`: through Graphviz when it is installed;
SVG also without it, by symback's own layered drawer in :mod:`symback.printing.svg`).

Forward nodes and derivative nodes are drawn apart. Nothing on a node says
which it is (a node can be both, and flags would break interning): the
derivative nodes are computed here, as those reachable from the gradient
outputs but not from the forward outputs. Arrows go from an argument to its
user, labelled with the argument's index when the op takes several. Every walk
is iterative; ``max_nodes`` keeps the nodes nearest the outputs of huge graphs.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import SymbackError
from ..graph import Expr, as_expr, toposort

FORWARD_FILL = "#dbeafe"
FORWARD_LINE = "#1d4ed8"
DERIVATIVE_FILL = "#ffedd5"
DERIVATIVE_LINE = "#c2410c"


@dataclass(frozen=True)
class GraphView:
    """What a picture shows: nodes (arguments first), the derivative subset, outputs, cuts."""

    nodes: tuple[Expr, ...]
    derivative: frozenset[Expr]
    forward_outputs: tuple[Expr, ...]
    grad_outputs: tuple[Expr, ...]
    hidden: int  # nodes left out by max_nodes
    cut: frozenset[Expr]  # shown nodes with an argument that is not shown


def split(exprs: Sequence[Any], forward: Iterable[Any] | None = None,
          grads: Iterable[Any] | None = None, max_nodes: int | None = None) -> GraphView:
    """Decide what to draw.

    ``split(y, *grads)``: the first expression is the forward output and the rest
    are gradients. With ``forward=`` or ``grads=`` keywords, positional
    expressions count as forward outputs. Derivative nodes are those reachable
    from the gradients but not from the forward outputs.
    """
    pos = [as_expr(e) for e in exprs]
    if forward is None and grads is None:
        fwd, grd = pos[:1], pos[1:]
    else:
        fwd = pos + [as_expr(e) for e in (forward or ())]
        grd = [as_expr(e) for e in (grads or ())]
    if not fwd and not grd:
        raise SymbackError("to_dot/to_mermaid: give at least one expression")
    if max_nodes is not None and (not isinstance(max_nodes, int) or max_nodes < 1):
        raise SymbackError(f"max_nodes must be a positive int, not {max_nodes!r}")
    reach_fwd = set(toposort(fwd))
    order = toposort(fwd + grd)
    derivative = frozenset(n for n in order if n not in reach_fwd)
    hidden = 0
    cut: frozenset[Expr] = frozenset()
    if max_nodes is not None and len(order) > max_nodes:
        keep = _nearest(fwd + grd, max_nodes)
        cut = frozenset(n for n in keep if any(a not in keep for a in n.args))
        hidden = len(order) - len(keep)
        order = [n for n in order if n in keep]
    return GraphView(tuple(order), derivative, tuple(fwd), tuple(grd), hidden, cut)


def _nearest(roots: Sequence[Expr], limit: int) -> set[Expr]:
    """The ``limit`` nodes nearest the roots (breadth first from the outputs)."""
    keep: set[Expr] = set()
    queue = deque(roots)
    while queue and len(keep) < limit:
        n = queue.popleft()
        if n in keep:
            continue
        keep.add(n)
        queue.extend(a for a in n.args if a not in keep)
    return keep


def _shape_text(shape: Sequence[Any]) -> str:
    return "×".join(str(d) for d in shape)


def node_label(n: Expr) -> tuple[str, ...]:
    """Label lines: the symbol name, constant or op name (with its attributes), then the shape."""
    if n.is_symbol:
        first = n.name
    elif n.is_const:
        first = repr(n.value) if n.weak else f"const {_shape_text(n.shape)}"
    else:
        # attributes that say something (not shape, which is the second line; not None/False)
        kw = {k: v for k, v in n.kw.items()
              if k != "shape" and v is not None and v is not False}
        if not n.args:  # count and other leaves: their text form
            from .text import to_text

            first = to_text(n)
        elif kw:
            first = n.op.name + " " + " ".join(f"{k}={_attr(v)}" for k, v in kw.items())
        else:
            first = n.op.name
    lines = [first]
    if n.shape and not n.is_const:
        lines.append(_shape_text(n.shape))
    return tuple(lines)


def _attr(v: Any) -> str:
    if isinstance(v, tuple) and len(v) == 1:
        return str(v[0])
    return str(v).replace(" ", "")


def _edge_label(n: Expr, i: int) -> str:
    return str(i) if len(n.args) > 1 else ""


# --------------------------------------------------------------------------- DOT


def _dot_quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _dot_label(lines: Sequence[str]) -> str:
    """A quoted DOT label with one ``\\n`` between lines."""
    return '"' + "\\n".join(_dot_quote(x)[1:-1] for x in lines) + '"'


def to_dot(*exprs: Any, forward: Iterable[Any] | None = None, grads: Iterable[Any] | None = None,
           max_nodes: int | None = None, rankdir: str = "TB", title: str | None = None,
           labels: Mapping[Expr, str] | None = None) -> str:
    """The graph as Graphviz DOT: forward nodes blue (cluster "forward"), derivative nodes
    orange (cluster "derivative"), outputs with a thick border.

    ``to_dot(L, *sb.grad(L, [X, W]))`` draws L's graph and the gradient nodes that the
    reverse pass appended to it. ``labels`` adds a line to some nodes (``render`` uses it
    to say which gradient a node is, e.g. ``∂L/∂W``).

    >>> import symback as sb
    >>> a, b = sb.symbols("a b")
    >>> print(sb.to_dot(a * b, sb.grad(a * b, a)).splitlines()[0])
    digraph symback {
    """
    view = split(exprs, forward, grads, max_nodes)
    ids = {n: f"n{i}" for i, n in enumerate(view.nodes)}
    outputs = set(view.forward_outputs) | set(view.grad_outputs)
    lines = ["digraph symback {", f"  rankdir={rankdir};",
             '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11];',
             '  edge [fontname="Helvetica", fontsize=9, color="#555555"];']
    if title:
        lines.append(f"  label={_dot_quote(title)}; labelloc=t;")
    for kind, fill, line in (("forward", FORWARD_FILL, FORWARD_LINE),
                             ("derivative", DERIVATIVE_FILL, DERIVATIVE_LINE)):
        members = [n for n in view.nodes if (n in view.derivative) == (kind == "derivative")]
        if not members:
            continue
        lines.append(f"  subgraph cluster_{kind} {{")
        lines.append(f'    label="{kind}"; style=dashed; color="{line}"; fontname="Helvetica";')
        for n in members:
            lines_n = node_label(n) + ((labels[n],) if labels and n in labels else ())
            attrs = [f"label={_dot_label(lines_n)}",
                     f'fillcolor="{fill}"', f'color="{line}"', f'class="{kind}"']
            if n.is_symbol:
                attrs.append("shape=ellipse")
            elif n.is_const:
                attrs.append("shape=plaintext")
            if n in outputs:
                attrs.append("penwidth=2.5")
            lines.append(f"    {ids[n]} [{', '.join(attrs)}];")
        lines.append("  }")
    for n in view.nodes:
        for i, a in enumerate(n.args):
            if a in ids:
                lab = _edge_label(n, i)
                extra = f" [label={_dot_quote(lab)}]" if lab else ""
                lines.append(f"  {ids[a]} -> {ids[n]}{extra};")
    if view.hidden:
        lines.append(f'  more [label="… {view.hidden} more nodes", shape=plaintext];')
        for n in view.nodes:
            if n in view.cut:
                lines.append(f"  more -> {ids[n]} [style=dashed];")
    lines.append("}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- Mermaid


def _mermaid_text(s: str) -> str:
    out = s.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;")
    return out.replace(">", "#gt;").replace("|", "#124;")


def to_mermaid(*exprs: Any, forward: Iterable[Any] | None = None,
               grads: Iterable[Any] | None = None, max_nodes: int | None = None,
               direction: str = "TD") -> str:
    """The graph as a Mermaid ``flowchart TD`` with classes ``forward`` and ``derivative``.

    >>> import symback as sb
    >>> a, b = sb.symbols("a b")
    >>> print(sb.to_mermaid(a * b, sb.grad(a * b, a)))
    flowchart TD
      n0(["a"]):::forward
      n1(["b"]):::forward
      n2[["mul"]]:::forward
      n0 -->|0| n2
      n1 -->|1| n2
      classDef forward fill:#dbeafe,stroke:#1d4ed8,color:#111111
      classDef derivative fill:#ffedd5,stroke:#c2410c,color:#111111
    """
    view = split(exprs, forward, grads, max_nodes)
    ids = {n: f"n{i}" for i, n in enumerate(view.nodes)}
    outputs = set(view.forward_outputs) | set(view.grad_outputs)
    lines = [f"flowchart {direction}"]
    for n in view.nodes:
        text = _mermaid_text("<br/>".join(node_label(n))).replace("#lt;br/#gt;", "<br/>")
        kind = "derivative" if n in view.derivative else "forward"
        if n.is_symbol:
            box = f'(["{text}"])'
        elif n in outputs:
            box = f'[["{text}"]]'
        else:
            box = f'["{text}"]'
        lines.append(f"  {ids[n]}{box}:::{kind}")
    for n in view.nodes:
        for i, a in enumerate(n.args):
            if a in ids:
                lab = _edge_label(n, i)
                lines.append(f"  {ids[a]} -->|{lab}| {ids[n]}" if lab else
                             f"  {ids[a]} --> {ids[n]}")
    if view.hidden:
        lines.append(f'  more["… {view.hidden} more nodes"]')
        for n in view.nodes:
            if n in view.cut:
                lines.append(f"  more -.-> {ids[n]}")
    lines.append(f"  classDef forward fill:{FORWARD_FILL},stroke:{FORWARD_LINE},color:#111111")
    lines.append(f"  classDef derivative fill:{DERIVATIVE_FILL},stroke:{DERIVATIVE_LINE},"
                 "color:#111111")
    return "\n".join(lines)


# --------------------------------------------------------------------------- rendering

INSTALL_HINT = ("rendering PNG or PDF needs the optional 'graphviz' Python package and "
                "Graphviz's 'dot' program: pip install 'symback[graphviz]' and install Graphviz "
                "(e.g. apt-get install graphviz, brew install graphviz); SVG works without them "
                "(engine='builtin'), and sb.to_dot() gives the DOT text")


class Picture(bytes):
    """The bytes of a rendered graph (SVG, PNG or PDF) that Jupyter shows inline.

    A ``bytes`` object as before (write it to a file, compare it); ``format`` says
    which kind, ``engine`` which drew it (``"graphviz"`` or ``"builtin"``). In a
    notebook an SVG shows through ``_repr_svg_`` and a PNG through ``_repr_png_``.
    """

    format: str
    engine: str

    def __new__(cls, data: bytes, format: str = "svg", engine: str = "builtin") -> "Picture":
        obj = super().__new__(cls, data)
        obj.format = format
        obj.engine = engine
        return obj

    def __reduce__(self) -> tuple[Any, ...]:
        return (Picture, (bytes(self), self.format, self.engine))

    def _repr_svg_(self) -> str | None:
        return self.decode("utf-8") if self.format == "svg" else None

    def _repr_png_(self) -> bytes | None:
        return bytes(self) if self.format == "png" else None

    def save(self, path: str) -> None:
        """Write the picture to ``path``."""
        with open(path, "wb") as fh:
            fh.write(self)


def _short(e: Expr, limit: int = 18) -> str | None:
    """A node's plain text if it is short (``X @ W``), else None."""
    from .text import to_text

    text = to_text(e, limit=limit + 1)
    return text if len(text) <= limit else None


def gradient_labels(y: Expr, wrt: Sequence[Expr], output: str | None = None
                    ) -> tuple[list[Expr], dict[Expr, str]]:
    """The gradients of ``y`` with respect to ``wrt``, and a label for every node of the
    picture that is a grad-table entry: ``∂L/∂W`` for the gradients, ``∂L/∂(X @ W)`` for
    an intermediate (its text when short, else its op's name). A constant is labelled only
    when it is one of the requested gradients."""
    from ..autodiff import backprop

    if not isinstance(y, Expr) or y.shape != ():
        raise SymbackError("render: with wrt=, the first expression must be a scalar output")
    name = output or (y.name if y.is_symbol else "y")
    bp = backprop(y, list(wrt), record=False)
    grads = [bp.grad_of(w) for w in wrt]
    labels: dict[Expr, list[str]] = {}
    wrt_set = set(wrt)
    for node, g in bp.table.items():
        if node is y or (g.is_const and node not in wrt_set):
            continue
        if node.is_symbol:
            what = node.name
        else:
            text = _short(node)
            what = f"({text})" if text else f"({node.op.name})"
        entry = labels.setdefault(g, [])
        if node in wrt_set:
            entry.insert(0, f"∂{name}/∂{what}")
        else:
            entry.append(f"∂{name}/∂{what}")
    return grads, {g: ", ".join(v[:2]) + (" …" if len(v) > 2 else "")
                   for g, v in labels.items()}


def _graphviz_svg_ready() -> bool:
    """True if the graphviz package imports and its ``dot`` program is on the PATH."""
    import shutil

    try:
        import graphviz  # type: ignore[import-not-found]  # noqa: F401
    except ImportError:
        return False
    return shutil.which("dot") is not None


def render(*exprs: Any, format: str = "svg", path: str | None = None,
           wrt: Sequence[Any] | None = None, output: str | None = None,
           engine: str = "auto", **options: Any) -> Picture:
    """The picture of the graph as a :class:`Picture` (SVG, PNG or PDF bytes; ``path``:
    also written there). In Jupyter it shows inline.

    ``render(L, *grads)`` draws L and the given gradients, as :func:`to_dot`.
    ``render(L, wrt=[X, W])`` computes the gradients of the scalar ``L`` itself and
    labels each node that is a grad-table entry with the derivative it holds
    (``∂L/∂W``; ``output="J"`` names L). Forward and derivative nodes are drawn apart.
    A constant is labelled only as a requested gradient (one constant node can stand for
    several entries).

    ``engine``: ``"graphviz"`` (the optional ``graphviz`` package and Graphviz's
    ``dot``: ``pip install 'symback[graphviz]'``), ``"builtin"`` (symback's own
    layered SVG drawer, no dependency; SVG only) or ``"auto"`` (Graphviz when both
    are installed, else the builtin drawer for SVG). PNG and PDF need Graphviz;
    without it a :class:`SymbackError` says how to install it.

    >>> import symback as sb
    >>> X, W = sb.matrix("X", 3, 3), sb.matrix("W", 3, 2)
    >>> pic = sb.render(sb.sum(sb.sigmoid(X @ W)), wrt=[W], output="L", engine="builtin")
    >>> pic.format, pic[:4], "∂L/∂W" in pic._repr_svg_()
    ('svg', b'<svg', True)
    """
    if format not in ("svg", "png", "pdf"):
        raise SymbackError(f"render: format must be 'svg', 'png' or 'pdf', not {format!r}")
    if engine not in ("auto", "graphviz", "builtin"):
        raise SymbackError(f"render: engine must be 'auto', 'graphviz' or 'builtin', "
                           f"not {engine!r}")
    labels: dict[Expr, str] = {}
    if wrt is not None:
        if not exprs:
            raise SymbackError("render: give the output whose gradients wrt= asks for")
        items = [wrt] if isinstance(wrt, Expr) else list(wrt)
        grads, labels = gradient_labels(as_expr(exprs[0]), [as_expr(w) for w in items], output)
        exprs = (exprs[0], *exprs[1:], *grads)
    if engine == "auto":
        engine = "graphviz" if format != "svg" or _graphviz_svg_ready() else "builtin"
    if engine == "builtin":
        if format != "svg":
            raise SymbackError(f"render: the builtin drawer makes SVG only; {format} needs "
                               + INSTALL_HINT.split(": ", 1)[1])
        from .svg import draw

        dot_only = {"rankdir"}
        view = split(exprs, options.get("forward"), options.get("grads"),
                     options.get("max_nodes"))
        unknown = set(options) - {"forward", "grads", "max_nodes", "title"} - dot_only
        if unknown:
            raise SymbackError(f"render: unknown option(s) {sorted(unknown)}")
        text = draw(view, {n: node_label(n) for n in view.nodes}, labels,
                    options.get("title"))
        data = Picture(text.encode("utf-8"), "svg", "builtin")
    else:
        dot = to_dot(*exprs, labels=labels, **options)
        try:
            import graphviz  # type: ignore[import-not-found]
        except ImportError:
            raise SymbackError(INSTALL_HINT) from None
        try:
            data = Picture(graphviz.Source(dot).pipe(format=format), format, "graphviz")
        except graphviz.ExecutableNotFound:
            raise SymbackError(INSTALL_HINT) from None
        except graphviz.CalledProcessError as e:  # pragma: no cover - dot rejected our text
            raise SymbackError(f"render: Graphviz failed: {e}") from None
    if path is not None:
        data.save(path)
    return data
