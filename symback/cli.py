"""The ``symback`` command line: gradients, explanations and graph pictures of a formula.

    symback grad "3*(a + b*c)" --wrt a b c --at a=7 b=4 c=2
    symback grad "sum(sigmoid(X @ W))" --wrt W --shape X=3,3 W=3,2 --latex
    symback explain "3*(a + b*c)" --wrt a b c --at a=5 b=3 c=2
    symback graph "sum(sigmoid(X @ W))" --wrt W --shape X=3,3 W=3,2 --format mermaid

The formula is read by :func:`symback.parse` (never executed). Every user
mistake (bad text, shapes, names or values) prints one line on stderr and
exits with status 2; there is no traceback.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import sys
import warnings
from typing import Any, NoReturn, Sequence

import numpy as np

from .errors import ParseError, ShapeError, SymbackError

EXIT_USAGE = 2
EXIT_INTERNAL = 1


class UsageError(Exception):
    """A mistake on the command line (exit status 2)."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports a mistake as one line (no usage dump) and exit status 2."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


# --------------------------------------------------------------------------- arguments


def _shape(spec: str) -> tuple[str, tuple[Any, ...]]:
    """``X=3,4`` -> ("X", (3, 4)); ``w=n`` -> ("w", ("n",)); ``s=`` -> ("s", ())."""
    name, sep, dims = spec.partition("=")
    name = name.strip()
    if not sep or not name.isidentifier():
        raise UsageError(f"--shape {spec!r}: expected NAME=D1,D2 (for example X=3,4 or w=n)")
    dims = dims.strip().strip("()[]").strip()
    out: list[Any] = []
    for d in (p.strip() for p in dims.split(",")) if dims else ():
        if not d:
            continue
        if d.isdigit():
            out.append(int(d))
        elif d.isidentifier():
            out.append(d)
        else:
            raise UsageError(f"--shape {spec!r}: dimension {d!r} is not a whole number or a name")
    return name, tuple(out)


def _value(spec: str) -> tuple[str, Any]:
    """``a=7`` -> 7.0; ``v=1,2,3`` -> [1, 2, 3]; ``X=[[1,2],[3,4]]`` (JSON) -> nested list."""
    name, sep, text = spec.partition("=")
    name = name.strip()
    text = text.strip()
    if not sep or not name.isidentifier() or not text:
        raise UsageError(f"--at {spec!r}: expected NAME=VALUE (for example a=7, v=1,2,3 "
                         "or X=[[1,2],[3,4]])")
    try:
        if text.startswith("["):
            value = json.loads(text)
        elif "," in text:
            value = [float(p) for p in text.split(",") if p.strip()]
        else:
            value = float(text)
        arr = np.asarray(value, dtype=np.float64)
    except (ValueError, TypeError):
        raise UsageError(f"--at {spec!r}: {text!r} is not a number, a comma list or a JSON "
                         "array of numbers") from None
    return name, arr


def _build_parser() -> _Parser:
    parser = _Parser(
        prog="symback",
        description="Symbolic reverse-mode differentiation: gradients as formulas, "
                    "explained and drawn. The formula is parsed, never executed.",
    )
    from . import __version__

    parser.add_argument("--version", action="version", version=f"symback {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def common(p: argparse.ArgumentParser, wrt_required: bool) -> None:
        p.add_argument("expr", metavar="EXPR",
                       help='the formula, e.g. "3*(a + b*c)" or "sum(sigmoid(X @ W))"')
        p.add_argument("--wrt", nargs="+", metavar="NAME", required=wrt_required, default=[],
                       help="the variables to differentiate with respect to")
        p.add_argument("--shape", nargs="+", metavar="NAME=D1,D2", default=[], action="extend",
                       help="tensor shapes (names not listed are scalars); a dimension is a "
                            "number or a symbolic size: X=3,4  w=n")
        p.add_argument("--at", nargs="+", metavar="NAME=VALUE", default=[], action="extend",
                       help="values to evaluate at: a=7, v=1,2,3 or X=[[1,2],[3,4]]")
        p.add_argument("--name", metavar="NAME",
                       help="what to call the formula in the output (default: the first of "
                            "L, J, f, F not used in it)")

    g = sub.add_parser("grad", help="print the gradient with respect to each name")
    common(g, True)
    g.add_argument("--latex", action="store_true", help="print LaTeX (same as --format latex)")
    g.add_argument("--steps", action="store_true", help="also explain the chain rule step by step")
    g.add_argument("--graph", choices=("dot", "mermaid"), help="also print the graph")
    g.add_argument("--format", choices=("text", "latex", "json"), default="text")

    e = sub.add_parser("explain", help="the chain rule step by step")
    common(e, True)
    e.add_argument("--format", choices=("text", "latex", "markdown"), default="text")
    e.add_argument("--max-steps", type=_count, default=200, metavar="N",
                   help="show at most N forward lines and N grad-table entries (default 200; "
                        "0: all of them)")

    d = sub.add_parser("graph", help="the graph of the formula (and its gradients) as DOT or "
                                     "Mermaid text")
    common(d, False)
    d.add_argument("--format", choices=("dot", "mermaid"), default="dot")
    d.add_argument("--max-nodes", type=_count, default=0, metavar="N",
                   help="draw at most N nodes, then a '... more nodes' mark (default 0: all)")
    d.add_argument("-o", "--output", metavar="FILE",
                   help="write to FILE instead; FILE.svg, .png or .pdf draws the picture "
                        "(needs the optional graphviz package and Graphviz's dot)")

    s = sub.add_parser("serve", help="start the local web page and JSON API (needs the optional "
                                     "'web' extra: pip install \"symback[web]\")")
    s.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this machine only)")
    s.add_argument("--port", type=_port, default=8000, help="port (default 8000)")
    s.add_argument("--workers", type=_count, default=2, metavar="N",
                   help="requests computed in parallel, one process each (default 2)")
    s.add_argument("--time-limit", type=float, default=10.0, metavar="SECONDS",
                   help="wall time per request before it is stopped (default 10)")
    return parser


# --------------------------------------------------------------------------- the problem


class Problem:
    """The formula, its variables and values, as the command line gives them."""

    def __init__(self, args: argparse.Namespace) -> None:
        from .graph import free_symbols
        from .parse import parse

        shapes: dict[str, tuple[Any, ...]] = {}
        for spec in args.shape:
            name, shp = _shape(spec)
            shapes[name] = shp
        self.text: str = args.expr
        self.y = parse(self.text, shapes)
        self.symbols = {s.name: s for s in free_symbols(self.y)}
        self.name: str = args.name or next(
            (n for n in ("L", "J", "f", "F", "y") if n not in self.symbols), "out")
        if not self.name.isidentifier():
            raise UsageError(f"--name {self.name!r}: not a name")
        for name in shapes:
            if name not in self.symbols:
                raise UsageError(f"--shape {name}: {name!r} does not appear in the formula")
        self.wrt = []
        for name in args.wrt:
            if name not in self.symbols:
                raise UsageError(f"--wrt {name}: {name!r} does not appear in the formula "
                                 f"(its names: {', '.join(self.symbols) or 'none'})")
            self.wrt.append(self.symbols[name])
        self.at: dict[str, np.ndarray] = {}
        for spec in args.at:
            name, value = _value(spec)
            if name not in self.symbols:
                raise UsageError(f"--at {name}: {name!r} does not appear in the formula")
            self.at[name] = self._fit(name, value)
        if self.at:
            missing = [n for n in self.symbols if n not in self.at]
            if missing:
                raise UsageError("--at: no value for " + ", ".join(missing)
                                 + " (give every variable a value)")

    def _fit(self, name: str, value: np.ndarray) -> np.ndarray:
        """A flat list is laid out in the tensor's shape (row-major), as NumPy's reshape
        does; one symbolic dimension is inferred from the number of values."""
        shape = self.symbols[name].shape
        if value.ndim != 1 or len(shape) < 2:
            return value
        sym = [d for d in shape if isinstance(d, str)]
        known = math.prod(d for d in shape if isinstance(d, int))
        if len(sym) > 1 or known == 0 or value.size % known:
            return value
        if not sym and value.size != known:
            return value
        return value.reshape(tuple(-1 if isinstance(d, str) else d for d in shape))

    def grads(self) -> list[Any]:
        from .autodiff import grad

        return list(grad(self.y, self.wrt)) if self.wrt else []

    def values(self, exprs: list[Any]) -> list[np.ndarray]:
        from .codegen import lambdify

        names = sorted(self.symbols)
        fn = lambdify([self.symbols[n] for n in names], exprs)
        with np.errstate(all="ignore"):  # non-finite results are reported in one line instead
            out = fn(*(self.at[n] for n in names))
        return [np.asarray(v) for v in (out if isinstance(out, tuple) else (out,))]

    def nonfinite_note(self, labels: list[str], values: list[np.ndarray]) -> str | None:
        """One line naming the results that are NaN or ±inf at the given point, or None."""
        bad = []
        for label, v in zip(labels, values):
            if v.dtype.kind != "f" or np.isfinite(v).all():
                continue
            if v.ndim == 0:
                bad.append(f"{label} = {float(v)}")
            else:
                n = int(v.size - np.count_nonzero(np.isfinite(v)))
                bad.append(f"{label} has {n} of {v.size} entries NaN or inf")
        if not bad:
            return None
        at = ", ".join(f"{n}={float(v):.12g}" if v.ndim == 0 else f"{n}=<{v.size} values>"
                       for n, v in self.at.items())
        return f"not finite at {at}: " + "; ".join(bad)

    def at_for_explain(self) -> dict[str, Any] | None:
        if not self.at:
            return None
        return {n: (float(v) if v.ndim == 0 else v) for n, v in self.at.items()}


# --------------------------------------------------------------------------- output


def _fmt_value(v: np.ndarray) -> str:
    if v.ndim == 0:
        return f"{float(v):.12g}"
    return np.array2string(v, precision=8, separator=", ", floatmode="maxprec",
                           max_line_width=100, threshold=200)


def _json_value(v: np.ndarray) -> Any:
    def clean(x: float) -> Any:
        return x if math.isfinite(x) else str(x)
    if v.ndim == 0:
        return clean(float(v))
    return np.vectorize(clean, otypes=[object])(v).tolist()


def _latex(expr: Any) -> str:
    from .printing.latex import latex

    return latex(expr)


def _cmd_grad(args: argparse.Namespace, out: Any) -> None:
    fmt = "latex" if args.latex and args.format == "text" else args.format
    p = Problem(args)
    grads = p.grads()
    values = p.values([p.y] + grads) if p.at else None
    if values is not None:
        note = p.nonfinite_note([p.name] + [f"d{p.name}/d{w.name}" for w in p.wrt], values)
        if note:
            args.notes.append(note)
    if fmt == "json":
        doc: dict[str, Any] = {"name": p.name, "expr": str(p.y), "shape": list(p.y.shape),
                               "gradients": []}
        if values is not None:
            doc["at"] = {n: _json_value(v) for n, v in p.at.items()}
            doc["value"] = _json_value(values[0])
        for i, (w, g) in enumerate(zip(p.wrt, grads)):
            item = {"wrt": w.name, "shape": list(w.shape), "expr": str(g)}
            try:
                item["latex"] = _latex(g)
            except NotImplementedError:
                pass
            if values is not None:
                item["value"] = _json_value(values[i + 1])
            doc["gradients"].append(item)
        out.write(json.dumps(doc, indent=2) + "\n")
    elif fmt == "latex":
        value = f" = {_fmt_value(values[0])}" if values is not None else ""
        out.write(f"{p.name} = {_latex(p.y)}{value}\n")
        for i, (w, g) in enumerate(zip(p.wrt, grads)):
            value = f" = {_fmt_value(values[i + 1])}" if values is not None else ""
            out.write(rf"\frac{{\partial {p.name}}}{{\partial {w.name}}} = {_latex(g)}{value}"
                      + "\n")
    else:
        value = f" = {_fmt_value(values[0])}" if values is not None else ""
        out.write(f"{p.name} = {p.y}{value}\n")
        for i, (w, g) in enumerate(zip(p.wrt, grads)):
            value = f" = {_fmt_value(values[i + 1])}" if values is not None else ""
            out.write(f"d{p.name}/d{w.name} = {g}{value}\n")
    if args.steps:
        out.write("\n" + _explain_text(p, "latex" if fmt == "latex" else "text") + "\n")
    if args.graph:
        out.write("\n" + _graph_text([p.y] + grads, args.graph) + "\n")


def _port(text: str) -> int:
    """A TCP port: an int in 0..65535 (0: any free port)."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 0 <= n <= 65535:
        raise argparse.ArgumentTypeError(f"a port is in 0..65535, not {n}")
    return n


def _cmd_serve(args: argparse.Namespace) -> int:
    """Serve until interrupted; the page and API live in symback.web."""
    from .web import serve

    if args.time_limit <= 0:
        raise UsageError("--time-limit: expected a number of seconds > 0")
    try:
        serve(args.host, args.port, workers=max(1, args.workers), time_limit_s=args.time_limit)
    except KeyboardInterrupt:
        pass
    return 0


def _count(text: str) -> int:
    """A command-line count: an int ≥ 0."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if n < 0:
        raise argparse.ArgumentTypeError(f"expected a number ≥ 0, got {n}")
    return n


def _explain_text(p: Problem, fmt: str, max_steps: int = 200) -> str:
    from .explain import explain

    ex = explain(p.y, p.wrt if len(p.wrt) != 1 else p.wrt[0], at=p.at_for_explain(),
                 output=p.name, max_steps=max_steps or None)
    if fmt == "latex":
        return str(ex.latex())
    if fmt == "markdown":
        md = getattr(ex, "markdown", None)
        if md is None:
            raise UsageError("explain: Markdown output is not available; use --format text "
                             "or latex")
        return str(md())
    return str(ex)


def _graph_text(exprs: list[Any], fmt: str, max_nodes: int = 0) -> str:
    from .printing.graphviz import to_dot, to_mermaid

    draw = to_dot if fmt == "dot" else to_mermaid
    return str(draw(*exprs, max_nodes=max_nodes or None))


def _cmd_explain(args: argparse.Namespace, out: Any) -> None:
    p = Problem(args)
    out.write(_explain_text(p, args.format, args.max_steps).rstrip("\n") + "\n")


def _cmd_graph(args: argparse.Namespace, out: Any) -> None:
    p = Problem(args)
    exprs = [p.y] + p.grads()
    if not args.output:
        out.write(_graph_text(exprs, args.format, args.max_nodes).rstrip("\n") + "\n")
        return
    suffix = os.path.splitext(args.output)[1].lower().lstrip(".")
    try:
        if suffix in ("svg", "png", "pdf"):
            from .printing.graphviz import render

            render(*exprs, format=suffix, path=args.output)
        else:
            with open(args.output, "w", encoding="utf-8") as fh:
                fh.write(_graph_text(exprs, args.format, args.max_nodes).rstrip("\n") + "\n")
    except OSError as e:
        raise UsageError(f"--output {args.output}: {e.strerror or e}") from None
    out.write(f"wrote {args.output}\n")


_COMMANDS = {"grad": _cmd_grad, "explain": _cmd_explain, "graph": _cmd_graph}


# --------------------------------------------------------------------------- main


def _one_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def _report_warnings(notes: list[str], caught: list[warnings.WarningMessage]) -> None:
    """NumPy's floating-point RuntimeWarnings (log of a negative number, 1/0, ...) become one
    line on stderr: the results that are not finite where they are known, else the distinct
    NumPy messages. Other warnings are shown as usual."""
    numeric = []
    for w in caught:
        if issubclass(w.category, RuntimeWarning) and "encountered in" in str(w.message):
            if str(w.message) not in numeric:
                numeric.append(str(w.message))
        else:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    if notes:
        sys.stderr.write(f"symback: warning: {'; '.join(notes)}\n")
    elif numeric:
        sys.stderr.write("symback: warning: some values are not finite (NumPy: "
                         + "; ".join(numeric) + ")\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 2 user mistake, 1 internal error)."""
    parser = _build_parser()
    err = sys.stderr
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help(sys.stdout)
            return EXIT_USAGE
        if args.command == "serve":  # runs until interrupted: no buffered output
            return _cmd_serve(args)
        buf = io.StringIO()  # written only when everything succeeded: no half outputs
        args.notes = []
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            _COMMANDS[args.command](args, buf)
        sys.stdout.write(buf.getvalue())
        sys.stdout.flush()
        _report_warnings(args.notes, caught)
        return 0
    except UsageError as e:
        err.write(f"symback: error: {_one_line(e)}\n")
    except ParseError as e:
        err.write(f"symback: error: cannot read the formula: {_one_line(e)}\n")
    except ShapeError as e:
        err.write(f"symback: error: shapes do not fit: {_one_line(e)}\n")
    except SymbackError as e:
        err.write(f"symback: error: {_one_line(e)}\n")
    except NotImplementedError as e:
        err.write(f"symback: error: not available yet: {_one_line(e)}\n")
    except BrokenPipeError:  # e.g. piped into head
        return 0
    except Exception as e:  # a bug in symback, not a user mistake
        if os.environ.get("SYMBACK_DEBUG"):
            raise
        err.write(f"symback: internal error: {type(e).__name__}: {_one_line(e)} "
                  "(set SYMBACK_DEBUG=1 for the traceback)\n")
        return EXIT_INTERNAL
    return EXIT_USAGE


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
