"""The work behind ``POST /api/grad``: request dict in, ``(status, answer dict)`` out.

No web framework is needed here; the server runs :func:`answer` in a worker process
(:mod:`symback.web.pool`) so that a slow request can be killed without touching the
others. The text is only ever read by :func:`symback.parse` (never executed), and every
request is bounded by :class:`Limits`:

* ``413`` when the text (or the request body) is over its size limit,
* ``422`` when another limit is passed (operators, bracket depth, graph nodes, number
  of variables, shape entries, dimension sizes, max_steps),
* ``400`` with ``{"error", "position"}`` for text, shapes or names that are wrong,
* ``504`` (set by the pool) when the time limit is passed.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

MODES = ("grad", "hessian", "jacobian")
FIELDS = {"expr", "wrt", "shapes", "onehot", "named", "mode", "max_steps", "check", "seed",
          "graph", "steps"}


@dataclass(frozen=True)
class Limits:
    """What one request may cost. Every limit is named in the error that enforces it."""

    max_body_bytes: int = 64 * 1024       #: the JSON body
    max_text_chars: int = 4_000           #: the expression's text
    max_operators: int = 1_000            #: ``sb.parse(max_nodes=...)``
    max_depth: int = 100                  #: ``sb.parse(max_depth=...)``
    max_graph_nodes: int = 20_000         #: forward + derivative nodes after differentiating
    max_variables: int = 8                #: names in ``wrt`` (and ``onehot``)
    max_shape_entries: int = 32           #: names in ``shapes``
    max_rank: int = 6                     #: dimensions of one shape
    max_dim: int = 1_000_000              #: one integer dimension
    max_steps: int = 400                  #: ``sb.explain(max_steps=...)``
    max_graph_drawn: int = 150            #: nodes drawn in the SVG (the rest are counted)
    check_size: int = 3                   #: value of every symbolic size (n, m, ...) in the check
    max_check_entries: int = 10_000       #: entries of one tensor in the numerical check
    check_probes: int = 8                 #: entries of each variable nudged by the check
    time_limit_s: float = 10.0            #: wall time of one request in its worker
    debug_hooks: bool = False             #: tests only: allows ``_debug_sleep``; never from a request

    def public(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("debug_hooks")
        return d


class Refusal(Exception):
    """A request that is answered with an error status and a JSON body."""

    def __init__(self, status: int, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.status = status
        self.body = {"error": error, **extra}


def _over(limits: Limits, name: str, value: Any, what: str, status: int = 422) -> Refusal:
    limit = getattr(limits, name)
    return Refusal(status, f"{what}: {value:,} is over the limit {name} = {limit:,}",
                   limit=name, value=value, max=limit)


# --------------------------------------------------------------------------- reading a request


def parse_shapes(spec: Any, limits: Limits) -> dict[str, tuple[Any, ...]]:
    """``{"X": ["n", 3]}`` or the text ``"X=n,3 W=3,2"`` (entries split by spaces or ``;``)."""
    if spec is None or spec == "":
        return {}
    if isinstance(spec, str):
        items: list[tuple[str, Any]] = []
        for entry in spec.replace(";", " ").split():
            name, sep, dims = entry.partition("=")
            if not sep:
                raise Refusal(400, f"shapes: {entry!r} is not NAME=D1,D2 (for example X=n,3)",
                              field="shapes")
            dims = dims.strip().strip("()[]")
            items.append((name, [d for d in dims.split(",") if d.strip()] if dims else []))
    elif isinstance(spec, dict):
        items = list(spec.items())
    else:
        raise Refusal(400, "shapes: expected an object {name: [dims]} or text like 'X=n,3 W=3,2'",
                      field="shapes")
    if len(items) > limits.max_shape_entries:
        raise _over(limits, "max_shape_entries", len(items), "shapes")
    out: dict[str, tuple[Any, ...]] = {}
    for name, dims in items:
        if not isinstance(name, str) or not name.isidentifier() or name.startswith("_"):
            raise Refusal(400, f"shapes: {str(name)[:40]!r} is not a name", field="shapes")
        if isinstance(dims, (int, str)) and not isinstance(dims, bool):
            dims = [dims]
        if not isinstance(dims, (list, tuple)):
            raise Refusal(400, f"shapes: {name}: expected a list of dimensions", field="shapes")
        if len(dims) > limits.max_rank:
            raise _over(limits, "max_rank", len(dims), f"shapes: {name} has too many dimensions")
        shape: list[Any] = []
        for d in dims:
            if isinstance(d, str):
                d = d.strip()
                if d.isdigit() and d.isascii():
                    d = int(d)
            if isinstance(d, bool) or not isinstance(d, (int, str)):
                raise Refusal(400, f"shapes: {name}: dimension {str(d)[:20]!r} is not a whole "
                              "number or a name", field="shapes")
            if isinstance(d, int):
                if d < 0:
                    raise Refusal(400, f"shapes: {name}: dimension {d} is negative",
                                  field="shapes")
                if d > limits.max_dim:
                    raise _over(limits, "max_dim", d, f"shapes: {name}: dimension")
            elif not d.isidentifier() or d.startswith("_"):
                raise Refusal(400, f"shapes: {name}: dimension {d[:20]!r} is not a whole number "
                              "or a name", field="shapes")
            shape.append(d)
        out[name] = tuple(shape)
    return out


def _names(value: Any, field: str, limits: Limits) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        value = value.replace(",", " ").split()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise Refusal(400, f"{field}: expected a list of names", field=field)
    if len(value) > limits.max_variables:
        raise _over(limits, "max_variables", len(value), field)
    return list(dict.fromkeys(v.strip() for v in value if v.strip()))


def _int(req: dict[str, Any], key: str, default: int) -> int:
    v = req.get(key, default)
    if v is None or v == "":
        return default
    if isinstance(v, str) and v.strip().lstrip("-").isdigit():
        v = int(v)
    if isinstance(v, bool) or not isinstance(v, int):
        raise Refusal(400, f"{key}: expected a whole number, not {str(v)[:20]!r}", field=key)
    return v


def _flag(req: dict[str, Any], key: str, default: bool) -> bool:
    v = req.get(key, default)
    if isinstance(v, str):
        return v.lower() in ("1", "true", "on", "yes")
    return bool(v)


# --------------------------------------------------------------------------- the answer


def answer(req: Any, limits: Limits) -> tuple[int, dict[str, Any]]:
    """Compute the whole answer of one request; never raises."""
    t0 = time.perf_counter()
    try:
        body = _answer(req, limits)
        body["elapsed_ms"] = round((time.perf_counter() - t0) * 1000, 1)
        return 200, body
    except Refusal as r:
        return r.status, r.body
    except Exception as e:  # noqa: BLE001 - turned into a 400/500 answer
        from ..errors import ParseError, ShapeError, SymbackError

        if isinstance(e, ParseError):
            msg = e.message
            for start, name in (("expression too large", "max_operators"),
                                ("brackets nested too deeply", "max_depth")):
                if msg.startswith(start):  # the parser's hint names its own argument: ours
                    limit = getattr(limits, name)
                    return 422, {"error": f"{msg.split(' (pass')[0]} (limit {name} = {limit:,})",
                                 "position": e.position, "limit": name, "max": limit,
                                 "kind": "parse"}
            return 400, {"error": msg, "position": e.position, "kind": "parse",
                         "detail": str(e)}
        if isinstance(e, ShapeError):
            pos = getattr(e, "position", None)
            msg = str(e).splitlines()[0] if str(e) else "shapes do not fit"
            if pos is not None:
                msg = msg.replace(f" (at position {pos})", "")
            return 400, {"error": msg, "position": pos, "kind": "shape"}
        if isinstance(e, (SymbackError, NotImplementedError)):
            msg = str(e).splitlines()[0] if str(e) else type(e).__name__
            return 400, {"error": msg, "position": None, "kind": "symback"}
        if isinstance(e, (MemoryError, RecursionError)):
            return 422, {"error": f"the request needs too much memory ({type(e).__name__})",
                         "limit": "memory"}
        return 500, {"error": f"internal error: {type(e).__name__}: {str(e)[:300]}"}


def _answer(req: Any, limits: Limits) -> dict[str, Any]:
    import symback as sb

    from ..graph import toposort

    if not isinstance(req, dict):
        raise Refusal(400, "expected a JSON object such as {\"expr\": \"sum(sigmoid(X @ W))\", "
                      "\"wrt\": [\"W\"], \"shapes\": {\"X\": [\"n\", 3], \"W\": [3, 2]}}")
    unknown = sorted(k for k in req if k not in FIELDS
                     and not (limits.debug_hooks and k == "_debug_sleep"))
    if unknown:
        raise Refusal(400, f"unknown field {str(unknown[0])[:40]!r} (fields: "
                      + ", ".join(sorted(FIELDS)) + ")", field=str(unknown[0])[:40])
    if limits.debug_hooks and req.get("_debug_sleep"):
        _busy(float(req["_debug_sleep"]))
    text = req.get("expr")
    if not isinstance(text, str):
        raise Refusal(400, "expr: give the expression as a string, e.g. "
                      "\"sum(sigmoid(X @ W))\"", field="expr", position=None)
    if len(text) > limits.max_text_chars:
        raise _over(limits, "max_text_chars", len(text), "expr: the text", status=413)
    shapes = parse_shapes(req.get("shapes"), limits)
    mode = req.get("mode") or "grad"
    if mode not in MODES:
        raise Refusal(400, f"mode: {str(mode)[:20]!r} is not one of {', '.join(MODES)}",
                      field="mode")
    max_steps = _int(req, "max_steps", 60)
    if max_steps < 0:
        raise Refusal(400, "max_steps: expected a number ≥ 0", field="max_steps")
    if max_steps > limits.max_steps:
        raise _over(limits, "max_steps", max_steps, "max_steps")
    max_steps = max_steps or limits.max_steps  # 0 ("all") means: as many as the limit allows
    seed = _int(req, "seed", 0)
    if not 0 <= seed < 2**32:
        raise Refusal(400, "seed: expected a whole number in 0 .. 2**32 - 1", field="seed")

    y = sb.parse(text, shapes, max_nodes=limits.max_operators, max_depth=limits.max_depth)
    symbols = {s.name: s for s in sb.free_symbols(y)}
    for name in shapes:
        if name not in symbols:
            raise Refusal(400, f"shapes: {name!r} does not appear in the expression "
                          f"(its names: {', '.join(sorted(symbols)) or 'none'})", field="shapes")
    wrt_names = _names(req.get("wrt"), "wrt", limits)
    if not wrt_names:
        wrt_names = sorted(symbols)[: limits.max_variables]
    for name in wrt_names:
        if name not in symbols:
            raise Refusal(400, f"wrt: {name!r} does not appear in the expression "
                          f"(its names: {', '.join(sorted(symbols)) or 'none'})", field="wrt")
    onehot_names = _names(req.get("onehot"), "onehot", limits)
    for name in onehot_names:
        if name not in symbols:
            raise Refusal(400, f"onehot: {name!r} does not appear in the expression",
                          field="onehot")
    wrt = [symbols[n] for n in wrt_names]
    onehot = [symbols[n] for n in onehot_names]
    output = next((n for n in ("L", "J", "f", "F", "y") if n not in symbols), "out")
    if mode == "grad" and y.shape != ():
        raise Refusal(400, f"the expression has shape {_shape_text(y.shape)}, not a scalar: "
                      "a gradient needs a scalar (choose Jacobian, or wrap it in sum(...))",
                      field="mode")
    if mode == "hessian" and y.shape != ():
        raise Refusal(400, "a Hessian needs a scalar expression (wrap it in sum(...))",
                      field="mode")

    # derivatives: D has shape base.shape + w.shape, base is what D differentiates
    grads = sb.grad(y, wrt) if y.shape == () else []
    derivs: list[Any] = []
    bases: list[Any] = []
    for k, w in enumerate(wrt):
        if mode == "grad":
            derivs.append(grads[k])
            bases.append(y)
        elif mode == "hessian":
            derivs.append(sb.hessian(y, w))
            bases.append(grads[k])
        else:
            derivs.append(sb.jacobian(y, w))
            bases.append(y)
    n_nodes = len(toposort([y, *derivs]))
    if n_nodes > limits.max_graph_nodes:
        raise _over(limits, "max_graph_nodes", n_nodes, "the graph with its derivatives")

    named = _flag(req, "named", False)
    notation = {"grad": r"\frac{{\partial {o}}}{{\partial {w}}}",
                "hessian": r"\frac{{\partial^2 {o}}}{{\partial {w}^2}}",
                "jacobian": r"\frac{{\partial {o}}}{{\partial {w}}}"}[mode]
    prefix = {"grad": "d{o}/d{w}", "hessian": "d²{o}/d{w}²", "jacobian": "d{o}/d{w}"}[mode]
    from ..printing.latex import latex_name

    body: dict[str, Any] = {
        "expr": {"text": str(y), "latex": _latex(sb, y, named, onehot), "shape": list(y.shape)},
        "output": output, "mode": mode,
        "symbols": {n: list(s.shape) for n, s in sorted(symbols.items())},
        "gradients": [],
    }
    for w, d in zip(wrt, derivs):
        body["gradients"].append({
            "wrt": w.name, "shape": list(d.shape), "text": str(d),
            "latex": _latex(sb, d, named, onehot),
            "label": prefix.format(o=output, w=w.name),
            "label_latex": notation.format(o=latex_name(output), w=latex_name(w.name)),
        })

    # the chain rule step by step (the reverse pass of a scalar expression)
    body["steps"], body["steps_rows"] = "", None
    if _flag(req, "steps", True) and y.shape == ():
        ex = sb.explain(y, wrt if len(wrt) != 1 else wrt[0], output=output,
                        max_steps=max_steps)
        body["steps"] = str(ex)
        body["steps_rows"] = _rows(ex)

    # generated NumPy
    args = [symbols[n] for n in sorted(symbols)]
    if mode == "grad":
        fn = sb.value_and_grad(y, wrt, args=args)
    else:
        fn = sb.lambdify(args, derivs)
    body["source"] = fn.source
    body["args"] = [s.name for s in args]

    # graph picture
    body["graph_svg"] = ""
    if _flag(req, "graph", True):
        body["graph_svg"] = _graph(sb, y, wrt, derivs, mode, output, limits)

    # numerical check at random points
    body["check"] = None
    if _flag(req, "check", True):
        body["check"] = _check(sb, args, wrt, bases, derivs, limits, seed)
    body["limits"] = limits.public()
    return body


def _busy(seconds: float) -> None:
    """The debug-only slow hook: burn CPU for ``seconds`` (tests of the time limit)."""
    end = time.perf_counter() + seconds
    x = 0
    while time.perf_counter() < end:
        x += 1


def _shape_text(shape: Any) -> str:
    return "×".join(str(d) for d in shape) or "scalar"


def _latex(sb: Any, e: Any, named: bool, onehot: list[Any]) -> str:
    try:
        return str(sb.latex(e, where=named, onehot=onehot))
    except NotImplementedError:
        return r"\text{(no LaTeX form)}"


def _graph(sb: Any, y: Any, wrt: list[Any], derivs: list[Any], mode: str, output: str,
           limits: Limits) -> str:
    """The graph of ``y`` and its derivatives as SVG, by symback's own layered drawer
    (``engine="builtin"``): the same picture everywhere, and no Graphviz process that
    would outlive a worker killed at its time limit. Gradient nodes are labelled ∂L/∂W."""
    if mode == "grad":
        pic = sb.render(y, wrt=wrt, output=output, engine="builtin",
                        max_nodes=limits.max_graph_drawn)
    else:
        pic = sb.render(y, *derivs, engine="builtin", max_nodes=limits.max_graph_drawn)
    return bytes(pic).decode("utf-8")


def _rows(ex: Any) -> dict[str, Any]:
    """The explanation as table rows for the page (LaTeX cells)."""
    forward = [{"name": f.name, "name_latex": f.name_latex, "text": f.text, "latex": f.latex}
               for f in ex.forward]
    entries = [{"label": e.label, "label_latex": e.label_latex, "rule_latex": e.rule_latex,
                "total_latex": e.total_latex, "total_text": e.total_text,
                "shape": _shape_text(e.shape)} for e in ex.entries]
    return {"forward": forward, "entries": entries,
            "forward_cut": list(ex.forward_cut) if ex.forward_cut else None,
            "entries_cut": list(ex.entries_cut) if ex.entries_cut else None}


def _check(sb: Any, args: list[Any], wrt: list[Any], bases: list[Any], derivs: list[Any],
           limits: Limits, seed: int) -> dict[str, Any]:
    """Central differences of each base at random points against the symbolic derivative."""
    sizes: dict[str, int] = {}

    def concrete(shape: Any) -> tuple[int, ...]:
        out = []
        for d in shape:
            if isinstance(d, str):
                sizes[d] = limits.check_size
                out.append(limits.check_size)
            else:
                out.append(d)
        return tuple(out)

    shapes = {a.name: concrete(a.shape) for a in args}
    sized = dict(shapes)
    for w, d in zip(wrt, derivs):  # a Jacobian or Hessian can be far bigger than its inputs
        sized[f"the derivative with respect to {w.name}"] = concrete(d.shape)
    big = [n for n, s in sized.items() if math.prod(s) > limits.max_check_entries]
    if big:
        n = big[0]
        return {"ran": False, "passed": None, "sizes": sizes,
                "note": f"skipped: {n} has {math.prod(sized[n]):,} entries, over the limit "
                        f"max_check_entries = {limits.max_check_entries:,}"}
    rng = np.random.default_rng(seed)
    results = []
    with np.errstate(all="ignore"):
        for attempt in ("normal", "positive"):
            point = {n: (rng.standard_normal(s) if attempt == "normal"
                         else rng.uniform(0.2, 1.2, s)) for n, s in shapes.items()}
            results = []
            finite = True
            for w, base, d in zip(wrt, bases, derivs):
                fb = sb.lambdify(args, base)
                fd = sb.lambdify(args, d)
                vals = [point[a.name] for a in args]
                got = np.array(fd(*vals), dtype=float)  # a copy: buffers are reused
                b0 = np.array(fb(*vals), dtype=float)
                if not (np.isfinite(got).all() and np.isfinite(b0).all()):
                    finite = False
                    break
                wshape = shapes[w.name]
                k = args.index(w)
                flat = int(math.prod(wshape))
                picks = (rng.choice(flat, size=min(flat, limits.check_probes), replace=False)
                         if flat else [])
                worst = 0.0
                probes = []
                for p in picks:
                    idx = np.unravel_index(int(p), wshape) if wshape else ()
                    x0 = vals[k]
                    h = 1e-6 * max(1.0, abs(float(np.asarray(x0)[idx])))
                    plus, minus = np.array(x0, dtype=float), np.array(x0, dtype=float)
                    plus[idx] += h
                    minus[idx] -= h
                    vp = np.array(fb(*vals[:k], plus, *vals[k + 1:]), dtype=float)
                    vm = np.array(fb(*vals[:k], minus, *vals[k + 1:]), dtype=float)
                    fdv = (vp - vm) / (2 * h)
                    sym = got[(Ellipsis, *idx)] if wshape else got
                    err = float(np.max(np.abs(fdv - sym) / np.maximum(1.0, np.abs(fdv))))
                    worst = max(worst, err)
                    if len(probes) < 3:
                        probes.append({"index": [int(i) for i in idx],
                                       "symbolic": _num(sym), "finite_difference": _num(fdv)})
                results.append({"wrt": w.name, "max_error": worst, "passed": worst < 1e-4,
                                "probes": probes})
            if finite:
                break
        else:
            return {"ran": False, "passed": None, "sizes": sizes,
                    "note": "skipped: the values are not finite at random points"}
    return {"ran": True, "passed": all(r["passed"] for r in results), "sizes": sizes,
            "points": attempt, "seed": seed, "results": results,
            "note": "central differences (h = 1e-6) at entries chosen at random; error relative "
                    "to max(1, |finite difference|)"}


def _num(v: Any) -> Any:
    a = np.asarray(v, dtype=float)
    if a.ndim == 0:
        return float(a) if math.isfinite(float(a)) else str(float(a))
    return [_num(x) for x in a[:4]]
