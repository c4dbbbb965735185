"""From graph to one generated NumPy function: ``lambdify`` and ``value_and_grad``.

Every requested output is linearised in one topological order, and each
non-leaf node becomes one assignment (``t5 = np.exp(t4)``), so every node is
evaluated once per call; interning already made that a CSE. Arguments are
checked at call time (count, rank, dimensions, symbolic sizes agreeing across
arguments). Intermediates are released after their last use. The source is
compiled under a unique file name registered with ``linecache``, so
tracebacks show real generated lines. The only ``exec`` is of this
self-generated text; names are validated identifiers, never user text.
"""

from __future__ import annotations

import builtins
import inspect
import itertools
import keyword
import linecache
import threading
from typing import Any, Callable, Sequence

import numpy as np

from . import numeric
from .autodiff import grad
from .errors import ShapeError, SymbackError
from .graph import Expr, as_expr, free_symbols, render_numpy, toposort
from .shapes import fmt

_COUNTER = itertools.count()
_COUNTER_LOCK = threading.Lock()
_RESERVED = {"np", "math"} | set(numeric.HELPERS) | set(dir(builtins))


def _py_name(name: str, taken: set[str]) -> str:
    """A safe Python identifier for a symbol name (mangled if it would clash)."""
    base = name if name.isidentifier() else "_bad"
    if keyword.iskeyword(base) or base in _RESERVED or base.startswith("_") or base in taken:
        base = f"{base}_"
        while base in taken or base in _RESERVED:
            base += "_"
    taken.add(base)
    return base


def _as_array(x: Any, name: str) -> np.ndarray:
    """Call-time conversion of one argument: floats kept, ints and bools to float64."""
    a = np.asarray(x)
    kind = a.dtype.kind
    if kind == "f":
        return a
    if kind in "biu":
        return a.astype(np.float64)
    raise SymbackError(
        f"argument {name}: expected numbers, got an array of dtype {a.dtype}"
    )


def _shape_error(name: str, expected: str, got: tuple[int, ...], bound: dict[str, int]) -> None:
    extra = ""
    if bound:
        extra = " (with " + ", ".join(f"{k} = {v}" for k, v in bound.items()) + ")"
    raise ShapeError(
        f"argument {name}: expected shape {expected}{extra}, got {fmt(tuple(got))}",
        op="call", shapes=(expected, tuple(got)),
    )


class CompiledFunction:
    """A generated NumPy function. Call it with arrays or numbers, positionally.

    ``.source`` holds the generated Python, ``.args`` the symbols it takes and
    ``.outputs`` the expressions it returns.
    """

    def __init__(self, args: Sequence[Expr], outputs: Sequence[Expr], single: bool,
                 source: str, consts: dict[str, Any], filename: str) -> None:
        self.args = tuple(args)
        self.outputs = tuple(outputs)
        self.single = single
        self.source = source
        self._consts = consts
        self.filename = filename
        self._fn = _compile(source, consts, filename)

    def __call__(self, *values: Any) -> Any:
        if len(values) != len(self.args):
            names = ", ".join(a.name for a in self.args)
            raise SymbackError(
                f"compiled function takes {len(self.args)} argument(s) ({names}), "
                f"got {len(values)}"
            )
        return self._fn(*values)

    def __repr__(self) -> str:
        names = ", ".join(a.name for a in self.args)
        return f"<symback compiled function ({names}) -> {len(self.outputs)} output(s)>"

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        del state["_fn"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._fn = _compile(self.source, self._consts, self.filename)


def _compile(source: str, consts: dict[str, Any], filename: str) -> Callable[..., Any]:
    ns: dict[str, Any] = {"np": np, "_as_array": _as_array, "_shape_error": _shape_error}
    ns.update(consts)
    code = compile(source, filename, "exec")
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(code, ns)  # noqa: S102 - self-generated source over validated identifiers
    return ns["_symback_fn"]


def _helper_sources(names: set[str]) -> str:
    todo = list(names)
    seen: set[str] = set()
    while todo:
        n = todo.pop()
        if n in seen:
            continue
        seen.add(n)
        todo.extend(numeric.DEPENDS.get(n, ()))
    return "".join(inspect.getsource(numeric.HELPERS[n]) + "\n\n" for n in sorted(seen))


def lambdify(args: Sequence[Expr] | Expr, exprs: Sequence[Any] | Any, *,
             check: bool = True) -> CompiledFunction:
    """Compile ``exprs`` into one NumPy function of ``args`` (symbols), like ``sympy.lambdify``.

    Returns one ``np.ndarray`` for a single expression, a tuple for a list.
    Each graph node is evaluated once per call. ``check=False`` skips the
    call-time shape checks.

    >>> import symback as sb
    >>> x = sb.vector("x", 3)
    >>> f = sb.lambdify([x], sb.sum(x * x))
    >>> float(f([1.0, 2.0, 3.0]))
    14.0
    """
    arg_list = [args] if isinstance(args, Expr) else list(args)
    single = not isinstance(exprs, (list, tuple))
    outs = [as_expr(e) for e in ([exprs] if single else exprs)]
    for i, a in enumerate(arg_list):
        if not isinstance(a, Expr) or not a.is_symbol:
            raise SymbackError(f"lambdify: args[{i}] is not a symbol: {a!r:.80}")
    names_seen: dict[str, Expr] = {}
    for a in arg_list:
        if a.name in names_seen:
            raise SymbackError(f"lambdify: the symbol name {a.name!r} appears twice in args")
        names_seen[a.name] = a
    arg_set = set(arg_list)
    missing = [s.name for s in free_symbols(*outs) if s not in arg_set]
    if missing:
        raise SymbackError(
            f"lambdify: the expressions depend on {', '.join(sorted(set(missing)))}, "
            "which are not among args"
        )
    with _COUNTER_LOCK:
        k = next(_COUNTER)
    filename = f"<symback-{k}>"
    source, consts = _generate(arg_list, outs, single, check)
    return CompiledFunction(arg_list, outs, single, source, consts, filename)


def _generate(args: list[Expr], outs: list[Expr], single: bool,
              check: bool) -> tuple[str, dict[str, Any]]:
    taken: set[str] = set()
    var: dict[Expr, str] = {}
    for a in args:
        var[a] = _py_name(a.name, taken)
    body: list[str] = []
    dims: dict[str, str] = {}
    bound_names: list[str] = []
    # call-time argument checks and bindings of symbolic dimensions
    for a in args:
        v = var[a]
        if a.shape == () and not check:
            continue
        if a.shape == ():
            body.append(f"if {v}.__class__ is not float: {v} = _as_array({v}, {a.name!r})")
            body.append(f"if {v}.__class__ is not float and {v}.shape != (): "
                        f"_shape_error({a.name!r}, '()', {v}.shape, {{}})")
            continue
        body.append(f"{v} = _as_array({v}, {a.name!r})")
        if not check:
            for i, d in enumerate(a.shape):
                if isinstance(d, str) and d not in dims:
                    dims[d] = f"_d_{d}"
                    body.append(f"_d_{d} = {v}.shape[{i}]")
            continue
        conds = [f"{v}.ndim != {len(a.shape)}"]
        for i, d in enumerate(a.shape):
            if isinstance(d, int):
                conds.append(f"{v}.shape[{i}] != {d}")
            elif d in dims:
                conds.append(f"{v}.shape[{i}] != {dims[d]}")
        bound = "{" + ", ".join(f"{d!r}: {dims[d]}" for d in bound_names) + "}"
        body.append(f"if {' or '.join(conds)}: "
                    f"_shape_error({a.name!r}, {fmt(a.shape)!r}, {v}.shape, {bound})")
        for i, d in enumerate(a.shape):
            if isinstance(d, str) and d not in dims:
                dims[d] = f"_d_{d}"
                bound_names.append(d)
                body.append(f"_d_{d} = {v}.shape[{i}]")

    def dim_code(d: Any) -> str:
        if d not in dims:
            raise SymbackError(
                f"lambdify: the size {d!r} cannot be read off any argument's shape; "
                "add an argument that has it"
            )
        return dims[d]

    order = toposort(outs)
    consts: dict[str, Any] = {}
    helpers: set[str] = set()
    last_use: dict[Expr, int] = {}
    for i, n in enumerate(order):
        for a in n.args:
            last_use[a] = i
    out_set = set(outs)
    counter = 0
    for i, n in enumerate(order):
        if n.is_symbol:
            continue
        if n.is_const:
            val = n.value
            if n.weak and isinstance(val, (int, float)) and np.isfinite(val):
                var[n] = repr(val)
            else:
                name = f"_k{len(consts)}"
                consts[name] = val
                var[n] = name
            continue
        helpers.update(n.op.helpers)
        name = f"t{counter}"
        while name in taken:
            counter += 1
            name = f"t{counter}"
        counter += 1
        expr = render_numpy(n.op, [var[a] for a in n.args], n.kw, dim_code)
        body.append(f"{name} = {expr}")
        var[n] = name
        dead = [a for a in dict.fromkeys(n.args)
                if last_use.get(a) == i and a not in out_set and not a.is_leaf]
        if dead:
            body.append("del " + ", ".join(var[a] for a in dead))
    rets = []
    for o in outs:
        v = var[o]
        if o.is_const and o.dtype not in ("float64", "float32"):
            rets.append(f"np.array({v}, dtype=np.float64)")
        elif o.is_leaf or o.op.view:
            rets.append(f"np.array({v})")  # a fresh, writable array of the full shape
        else:
            rets.append(f"np.asarray({v})")
    ret = rets[0] if single else "(" + ", ".join(rets) + ("," if len(rets) == 1 else "") + ")"
    body.append(f"return {ret}")
    params = ", ".join(var[a] for a in args)
    source = _helper_sources(helpers)
    source += f"def _symback_fn({params}):\n" + "".join(f"    {line}\n" for line in body)
    return source, consts


def value_and_grad(y: Any, wrt: Any, args: Sequence[Expr] | None = None, *,
                   check: bool = True) -> CompiledFunction:
    """Compile ``y`` and its gradients: the callable returns ``(value, [gradients])``.

    ``wrt`` is one symbol or a list; ``args`` defaults to every free symbol of
    ``y`` (and of ``wrt``) in name order.
    """
    y = as_expr(y)
    wrt_list = [wrt] if isinstance(wrt, Expr) else list(wrt)
    if args is None:
        args = free_symbols(y, *wrt_list)
    grads = grad(y, wrt_list)
    inner = lambdify(args, [y] + list(grads), check=check)
    return _ValueAndGrad(inner)


class _ValueAndGrad(CompiledFunction):
    """Wraps a compiled ``[y, g1, g2, ...]`` into ``(value, [g1, g2, ...])``."""

    def __init__(self, inner: CompiledFunction) -> None:  # noqa: D107 - no super().__init__
        self.__dict__.update(inner.__dict__)

    def __call__(self, *values: Any) -> Any:
        out = CompiledFunction.__call__(self, *values)
        return out[0], list(out[1:])
