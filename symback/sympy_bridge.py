"""Conversion to and from SymPy: ``to_sympy`` and ``from_sympy``.

Scalars become ordinary SymPy expressions (symbols real, ``sigmoid``,
``softplus`` and ``relu`` as the SymPy functions of
:mod:`symback.sympy_functions`); 2-D tensors become SymPy matrix expressions
(``MatrixSymbol``, ``MatMul``, ``MatAdd``, ``Transpose``, ``HadamardProduct``,
``HadamardPower``, elementwise functions as ``ElementwiseApplyFunction``,
Σ of all entries as ``Trace(OneMatrix · X)``). Each direction is one table
(op name → converter, SymPy class → converter) driven by one iterative
walk, so 100,000-node chains convert. What SymPy cannot hold (1-D or 3-D
tensors, softmax, …) raises a ``SymbackError`` naming the op.
SymPy is imported on first use only.
"""

from __future__ import annotations


import math
from functools import lru_cache
from typing import Any, Callable, Mapping

import numpy as np

from .errors import SymbackError
from .graph import Expr, as_expr, broadcast_to, const, ones, symbol, tensor, toposort, zeros
from .shapes import Shape, fmt

__all__ = ["from_sympy", "to_sympy"]


def __getattr__(name: str) -> Any:
    """``symback.sympy_bridge.sigmoid`` etc.: the SymPy functions, imported on first use."""
    if name in ("sigmoid", "softplus", "relu"):
        from . import sympy_functions

        return getattr(sympy_functions, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _short(node: Any, limit: int = 80) -> str:
    s = str(node)
    return s if len(s) <= limit else s[:limit] + "…"


# =========================================================================== symback -> SymPy


def _dim(d: Any) -> Any:
    import sympy

    return sympy.Integer(d) if isinstance(d, int) else sympy.Symbol(d, integer=True, positive=True)


def _check_rank(node: Expr) -> None:
    if node.ndim > 2:
        raise SymbackError(
            f"to_sympy: {_short(node)} ({node.op.name}) has shape {fmt(node.shape)}; SymPy "
            "matrix expressions have at most 2 dimensions")


def _as2d(shape: Shape) -> Shape:
    """The SymPy shape of a symback shape: vectors are columns, (n,) -> (n, 1)."""
    return (shape[0], 1) if len(shape) == 1 else shape


def _number(v: Any) -> Any:
    import sympy

    if isinstance(v, (bool, np.bool_)):
        return sympy.true if v else sympy.false
    if isinstance(v, (int, np.integer)):
        return sympy.Integer(int(v))
    f = float(v)
    if math.isnan(f):
        return sympy.nan
    if math.isinf(f):
        return sympy.oo if f > 0 else -sympy.oo
    return sympy.Float(f)


def _leaf_to_sympy(node: Expr) -> Any:
    import sympy

    if node.is_symbol:
        if node.ndim == 0:
            # a symbol from the user's SymPy symbol keeps its assumptions (the same SymPy
            # symbol comes back, so to_sympy(from_sympy(e)) - e cancels); symback's are real
            user = node.kw.get("sympy")
            if user:
                return sympy.Symbol(node.name, **dict(user))
            return sympy.Symbol(node.name, real=True)
        return sympy.MatrixSymbol(node.name, *(_dim(d) for d in _as2d(node.shape)))
    v = node.value
    if node.weak or np.ndim(v) == 0:
        return _number(v if node.weak else v[()])
    arr = np.asarray(v)
    arr = arr.reshape(_as2d(arr.shape))
    return sympy.ImmutableMatrix([[_number(x) for x in row] for row in arr])


def _ones(shape: Shape) -> Any:
    import sympy

    return sympy.OneMatrix(*(_dim(d) for d in shape))


def _bcast(m: Any, src: Shape, dst: Shape) -> Any:
    """``m`` (of symback shape ``src``) stretched to ``dst`` by NumPy broadcasting.

    Vectors are SymPy columns, but NumPy aligns them on the right: a (k,) vector
    stretched to (r, k) is a row, 1_{r×1} vᵀ.
    """
    if src == dst:
        return m
    if src == ():
        return m * _ones(_as2d(dst))
    if len(dst) == 1:  # (1,) -> (n,)
        return _ones((dst[0], 1)) * m
    if len(src) == 1:
        m, src = m.T, (1, src[0])
    if src[0] == 1 and dst[0] != 1:
        m = _ones((dst[0], 1)) * m
    if src[1] == 1 and dst[1] != 1:
        m = m * _ones((1, dst[1]))
    return m


def _reshape(m: Any, src: Shape, dst: Shape) -> Any:
    """Between shapes that hold the same entries in the same order: (n,) <-> (n, 1) <-> (1, n),
    () <-> (1,) <-> (1, 1)."""
    import sympy

    a, b = _as2d(src), _as2d(dst)
    if a == b:
        return m
    if a == b[::-1] and 1 in a:
        return m.T
    if dst == () and all(d == 1 for d in a):
        return sympy.Trace(m)
    if src == () and all(d == 1 for d in b):
        return sympy.ImmutableMatrix([[m]])
    raise SymbackError(f"to_sympy: reshaping {fmt(src)} to {fmt(dst)} has no SymPy form")


def _scalar_or_apply(fn: Callable[[Any], Any]) -> Callable[..., Any]:
    """An elementwise function: ``fn(a)`` for a scalar, ``A.applyfunc(fn)`` for a matrix."""
    def conv(node: Expr, a: Any) -> Any:
        return fn(a) if node.ndim == 0 else a.applyfunc(fn)
    return conv


def _ew2(scalar: Callable[[Any, Any], Any],
         matrix: Callable[[Any, Any, Shape, Shape, Shape], Any] | None,
         name: str) -> Callable[..., Any]:
    """A broadcasting binary op: ``scalar(a, b)``, or ``matrix(a, b, shape_a, shape_b, out)``."""
    def conv(node: Expr, a: Any, b: Any) -> Any:
        if node.ndim == 0:
            return scalar(a, b)
        if matrix is None:
            raise SymbackError(
                f"to_sympy: {name} of matrices has no SymPy matrix-expression form "
                f"({_short(node)})")
        return matrix(a, b, node.args[0].shape, node.args[1].shape, node.shape)
    return conv


@lru_cache(maxsize=1)
def _dummy() -> Any:
    """The bound variable of the elementwise lambdas this module builds."""
    import sympy

    return sympy.Dummy("d")


@lru_cache(maxsize=1)
def _TO_TABLE() -> dict[str, Callable[..., Any]]:
    """op name -> converter(node, *sympy_args) for the core ops. Built once, on first use.

    An op whose record carries a ``sympy`` constructor (the matrix functions)
    is converted by that field instead; these are the ops whose SymPy form
    depends on shapes (broadcasting, scalars against matrices).
    """
    import sympy
    from sympy.codegen.cfunctions import expm1, log1p

    from . import sympy_functions as sf

    HP, HPow = sympy.HadamardProduct, sympy.HadamardPower

    def m_add(a: Any, b: Any, sa: Shape, sb: Shape, so: Shape) -> Any:
        return _bcast(a, sa, so) + _bcast(b, sb, so)

    def m_sub(a: Any, b: Any, sa: Shape, sb: Shape, so: Shape) -> Any:
        return _bcast(a, sa, so) - _bcast(b, sb, so)

    def m_mul(a: Any, b: Any, sa: Shape, sb: Shape, so: Shape) -> Any:
        if sa == ():
            return a * _bcast(b, sb, so)
        if sb == ():
            return b * _bcast(a, sa, so)
        return HP(_bcast(a, sa, so), _bcast(b, sb, so))

    def m_div(a: Any, b: Any, sa: Shape, sb: Shape, so: Shape) -> Any:
        if sb == ():
            return _bcast(a, sa, so) / b
        if sa == ():
            return a * HPow(_bcast(b, sb, so), -1)
        return HP(_bcast(a, sa, so), HPow(_bcast(b, sb, so), -1))

    def m_pow(a: Any, b: Any, sa: Shape, sb: Shape, so: Shape) -> Any:
        if sb == ():
            return HPow(_bcast(a, sa, so), b)
        if sa == ():
            d = _dummy()
            return _bcast(b, sb, so).applyfunc(sympy.Lambda(d, a ** d))
        raise SymbackError("to_sympy: a matrix raised to a matrix power has no SymPy form")

    def rel(cls: Any) -> Callable[[Any, Any], Any]:
        return lambda a, b: cls(a, b, evaluate=False)

    def where(node: Expr, c: Any, a: Any, b: Any) -> Any:
        if node.ndim != 0:
            raise SymbackError(f"to_sympy: where over matrices has no SymPy matrix-expression "
                               f"form ({_short(node)})")
        return sympy.Piecewise((a, c), (b, True))

    def reduce_sum(node: Expr, a: Any) -> Any:
        """Σ over axes as products with ones: 1ᵀ X sums columns, X 1 sums rows, and
        Σ of every entry of an n×m X is tr(1_{m×n} X)."""
        x = node.args[0]
        if x.ndim == 0:
            return a
        axis = node.kw.get("axis")
        axes = set(range(x.ndim)) if axis is None else set(axis)
        n, m = _as2d(x.shape)
        if node.shape == ():
            return sympy.Trace(_ones((m, n)) * a)
        if 0 in axes:
            a = _ones((1, n)) * a
        if 1 in axes:
            a = a * _ones((m, 1))
        # a now has the keepdims shape; give it the result's shape
        kept = tuple(1 if i in axes else d for i, d in enumerate(x.shape))
        return _reshape(a, kept, node.shape)

    def count(dims: Shape) -> Any:
        out = sympy.Integer(1)
        for d in dims:
            out *= _dim(d)
        return out

    def reduce_mean(node: Expr, a: Any) -> Any:
        x = node.args[0]
        axis = node.kw.get("axis")
        dims = tuple(d for i, d in enumerate(x.shape) if axis is None or i in axis)
        return reduce_sum(node, a) / count(dims)

    def transpose(node: Expr, a: Any) -> Any:
        return a.T if node.ndim == 2 else a

    def matmul(node: Expr, a: Any, b: Any) -> Any:
        """2-D @ 2-D and 2-D @ 1-D are SymPy products; v @ M = Mᵀ v; v @ w = tr(vᵀ w)."""
        x, y = node.args
        if x.ndim == 1 and y.ndim == 1:
            return sympy.Trace(a.T * b)
        if x.ndim == 1:
            return b.T * a
        return a * b

    def outer(node: Expr, a: Any, b: Any) -> Any:
        return a * b.T

    def bcast(node: Expr, a: Any) -> Any:
        return _bcast(a, node.args[0].shape, node.shape)

    def reshape(node: Expr, a: Any) -> Any:
        return _reshape(a, node.args[0].shape, node.shape)

    def neg(node: Expr, a: Any) -> Any:
        return -a

    return {
        "add": _ew2(lambda a, b: a + b, m_add, "add"),
        "sub": _ew2(lambda a, b: a - b, m_sub, "sub"),
        "mul": _ew2(lambda a, b: a * b, m_mul, "mul"),
        "div": _ew2(lambda a, b: a / b, m_div, "div"),
        "pow": _ew2(lambda a, b: a ** b, m_pow, "pow"),
        "neg": neg,
        "exp": _scalar_or_apply(sympy.exp),
        "log": _scalar_or_apply(sympy.log),
        "log1p": _scalar_or_apply(log1p),
        "expm1": _scalar_or_apply(expm1),
        "sqrt": _scalar_or_apply(sympy.sqrt),
        "sin": _scalar_or_apply(sympy.sin),
        "cos": _scalar_or_apply(sympy.cos),
        "tan": _scalar_or_apply(sympy.tan),
        "tanh": _scalar_or_apply(sympy.tanh),
        "sigmoid": _scalar_or_apply(sf.sigmoid),
        "softplus": _scalar_or_apply(sf.softplus),
        "relu": _scalar_or_apply(sf.relu),
        "abs": _scalar_or_apply(sympy.Abs),
        "sign": _scalar_or_apply(sympy.sign),
        "maximum": _ew2(sympy.Max, None, "maximum"),
        "minimum": _ew2(sympy.Min, None, "minimum"),
        "greater": _ew2(rel(sympy.StrictGreaterThan), None, "greater"),
        "greater_equal": _ew2(rel(sympy.GreaterThan), None, "greater_equal"),
        "less": _ew2(rel(sympy.StrictLessThan), None, "less"),
        "less_equal": _ew2(rel(sympy.LessThan), None, "less_equal"),
        "equal": _ew2(rel(sympy.Eq), None, "equal"),
        "where": where,
        "sum": reduce_sum,
        "mean": reduce_mean,
        "transpose": transpose,
        "matmul": matmul,
        "outer": outer,
        "broadcast_to": bcast,
        "expand_dims": reshape,
        "squeeze": reshape,
        "count": lambda node: count(node.kw["dims"]),
    }


def _convert_node(node: Expr, args: list[Any], table: dict[str, Callable[..., Any]]) -> Any:
    """One node's SymPy form: the op's own ``sympy`` constructor, else the table."""
    if node.op.sympy is not None:
        out = node.op.sympy(*args, **node.kw)
        if out is None:
            raise SymbackError(f"to_sympy: {_short(node)} ({node.op.name}) has no SymPy form")
        return out
    conv = table.get(node.op.name)
    if conv is None:
        raise SymbackError(
            f"to_sympy: the op '{node.op.name}' has no SymPy counterpart ({_short(node)})")
    return conv(node, *args)


#: Default ``to_sympy(max_nodes=...)``: the most tensor nodes converted as one nested
#: SymPy matrix expression. SymPy's matrix constructors re-run ``doit``/shape checks on
#: the whole subtree at every level, so their time grows much faster than the node
#: count (a 50-node vector chain took 15 s); scalar nodes are not counted.
MAX_MATRIX_NODES = 40


def to_sympy(expr: Any, *, evaluate: bool = True, cse: bool = False,
             max_nodes: int | None = MAX_MATRIX_NODES) -> Any:
    """The SymPy form of ``expr``: a SymPy expression for a scalar, a matrix expression for
    a matrix (vectors as n×1 columns).

    Scalar symbols become real SymPy symbols; symbolic dimensions become
    positive integer symbols. ``SymbackError`` names the op where SymPy has no
    form (3-D tensors, softmax, where over matrices, …).

    With ``evaluate=False`` SymPy keeps symback's structure as it is (no
    flattening or canonical ordering); SymPy's own constructors recurse on
    very deep expressions unless told not to evaluate, so use it for graphs
    that are thousands of nodes deep.

    Size: the walk over symback's graph is iterative, but SymPy builds nested
    matrix expressions recursively and re-simplifies every level, so a graph
    with more than ``max_nodes`` tensor (non-scalar) nodes raises a
    ``SymbackError`` saying so, instead of running for minutes. Raise
    ``max_nodes`` (``None``: no limit) to try anyway, or pass ``cse=True``.

    With ``cse=True`` the result is ``(replacements, result)`` as with
    ``sympy.cse``: every intermediate tensor node and every scalar node used
    more than once is named (``cse0``, ``cse1``, … as ``MatrixSymbol`` or real
    ``Symbol``), ``replacements`` lists ``(name, definition)`` pairs in
    dependency order, and each definition is one op applied to names, so the
    cost grows linearly with the graph (no size limit applies).

    >>> import symback as sb
    >>> x, y = sb.symbols("x y")
    >>> sb.to_sympy(x * sb.sigmoid(y) - 1)
    x*sigmoid(y) - 1
    """
    from sympy.core.parameters import evaluate as sympy_evaluate

    root = as_expr(expr)
    order = toposort([root])
    if not cse and max_nodes is not None:
        big = sum(1 for n in order if n.shape != ())
        if big > max_nodes:
            raise SymbackError(
                f"to_sympy: the graph has {big} tensor nodes, more than max_nodes={max_nodes}; "
                "SymPy re-simplifies nested matrix expressions at every level, so this "
                "would take very long. Call to_sympy(expr, cse=True) for named "
                "intermediates, or raise max_nodes")
    table = _TO_TABLE()
    done: dict[Expr, Any] = {}
    named: dict[Expr, Any] = {}
    replacements: list[tuple[Any, Any]] = []
    if cse:
        name_of = _cse_namer(order)
        uses: dict[Expr, int] = {}
        for n in order:
            for a in n.args:
                uses[a] = uses.get(a, 0) + 1
    with sympy_evaluate(evaluate):
        for node in order:
            _check_rank(node)
            try:
                if not node.args and (node.is_symbol or node.is_const):
                    done[node] = _leaf_to_sympy(node)
                    continue
                done[node] = _convert_node(node, [named.get(a, done[a]) for a in node.args],
                                           table)
            except SymbackError:
                raise
            except RecursionError:
                raise SymbackError(
                    "to_sympy: SymPy's constructors recurse too deeply on this expression; "
                    "call to_sympy(expr, evaluate=False) or to_sympy(expr, cse=True)") from None
            except (TypeError, ValueError, AttributeError, IndexError) as e:
                raise SymbackError(f"to_sympy: {node.op.name} ({_short(node)}): {e}") from None
            if cse and node is not root and (node.shape != () or uses.get(node, 0) > 1):
                sym = name_of(node)
                named[node] = sym
                replacements.append((sym, done[node]))
    if cse:
        return replacements, done[root]
    return done[root]


def _cse_namer(order: list[Expr]) -> Callable[[Expr], Any]:
    """Fresh SymPy names cse0, cse1, … (skipping the graph's own symbol names)."""
    import sympy

    taken = {n.name for n in order if n.is_symbol}
    counter = [0]

    def name_of(node: Expr) -> Any:
        while True:
            name = f"cse{counter[0]}"
            counter[0] += 1
            if name not in taken:
                break
        if node.shape == ():
            return sympy.Symbol(name, real=True)
        rows, cols = _as2d(node.shape)
        return sympy.MatrixSymbol(name, _dim(rows), _dim(cols))

    return name_of


# =========================================================================== SymPy -> symback


def _sb_dim(d: Any) -> Any:
    import sympy

    if isinstance(d, (int, np.integer)):
        return int(d)
    if isinstance(d, sympy.Integer):
        return int(d)
    if isinstance(d, sympy.Symbol):
        return d.name
    raise SymbackError(f"from_sympy: matrix dimension {d} is not an integer or a symbol")


class _FromSympy:
    """One conversion: an iterative post-order walk with a memo (SymPy expr -> Expr)."""

    def __init__(self, shapes: Mapping[str, Any] | None) -> None:
        self.shapes = dict(shapes or {})
        self.memo: dict[Any, Expr] = {}

    def conv(self, e: Any) -> Expr:
        """An already-converted sub-expression."""
        return self.memo[e]

    def run(self, root: Any) -> Expr:
        table = _FROM_TABLE()
        stack: list[tuple[Any, bool]] = [(root, False)]
        while stack:
            e, expanded = stack.pop()
            if e in self.memo:
                continue
            handler = _lookup(table, e)
            if not expanded:
                stack.append((e, True))
                for c in handler.children(e):
                    if c not in self.memo:
                        stack.append((c, False))
                continue
            try:
                out = handler.build(self, e)
            except SymbackError:
                raise
            except RecursionError:
                raise SymbackError(f"from_sympy: SymPy recursed too deeply inside "
                                   f"{type(e).__name__}") from None
            except (TypeError, ValueError, KeyError, AttributeError,
                    NotImplementedError) as err:
                raise SymbackError(f"from_sympy: {type(e).__name__} ({_short(e)}): {err}") \
                    from None
            self.memo[e] = as_expr(out)
        return self.memo[root]

    # ------------------------------------------------------------- leaves

    def symbol(self, e: Any) -> Expr:
        name = e.name
        if name in self.shapes:
            shp = self.shapes[name]
            return tensor(name, shp)
        import sympy

        if e == sympy.Symbol(name, real=True):
            return symbol(name)  # symback's own kind of symbol
        # another SymPy variable of that name (as in SymPy): to_sympy gives it back
        return symbol(name, sympy_assumptions=tuple(e.assumptions0.items()))

    def matrix_symbol(self, e: Any) -> Expr:
        name = str(e.name)
        shape = tuple(_sb_dim(d) for d in e.shape)
        if name in self.shapes:
            given = self.shapes[name]
            given = (given,) if isinstance(given, (int, str)) else tuple(given)
            if given != shape:
                raise SymbackError(f"from_sympy: {name} is a {fmt(shape)} MatrixSymbol but "
                                   f"shapes gives {fmt(given)}")
        return tensor(name, shape)


class _Handler:
    """How one SymPy class converts: which arguments are sub-expressions, and how to build."""

    def __init__(self, build: Callable[[_FromSympy, Any], Any],
                 children: Callable[[Any], tuple[Any, ...]] | None = None) -> None:
        self.build = build
        self.children = children if children is not None else (lambda e: tuple(e.args))


def _leaf(build: Callable[[_FromSympy, Any], Any]) -> _Handler:
    return _Handler(build, lambda e: ())


def _lookup(table: dict[type, _Handler], e: Any) -> _Handler:
    for cls in type(e).__mro__:
        h = table.get(cls)
        if h is not None:
            return h
    name = type(e).__name__
    raise SymbackError(
        f"from_sympy: the SymPy object {name} ({_short(e)}) has no symback counterpart")


def _int_or_float(n: Any) -> Any:
    v = int(n)
    return v if abs(v) < 2**63 else float(v)


@lru_cache(maxsize=1)
def _FROM_TABLE() -> dict[type, _Handler]:
    """SymPy class -> handler (looked up along the MRO). Built once, on first use."""
    import sympy
    from sympy.codegen.cfunctions import expm1, log1p
    from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
    from sympy.matrices.expressions.matexpr import MatrixElement

    import symback as sb

    from . import sympy_functions as sf

    def args(fs: _FromSympy, e: Any) -> list[Expr]:
        return [fs.conv(a) for a in e.args]

    def func(f: Callable[..., Any]) -> _Handler:
        return _Handler(lambda fs, e: f(*args(fs, e)))

    def chain(f: Callable[[Any, Any], Any]) -> _Handler:
        def build(fs: _FromSympy, e: Any) -> Expr:
            items = args(fs, e)
            out = items[0]
            for it in items[1:]:
                out = f(out, it)
            return out
        return _Handler(build)

    def build_add(fs: _FromSympy, e: Any) -> Expr:
        # symback's add turns a + (-b) into a - b by itself
        terms = list(e.args)
        pos = [t for t in terms if not t.could_extract_minus_sign()]
        neg = [t for t in terms if t.could_extract_minus_sign()]
        out: Expr | None = None
        for t in pos + neg:
            x = fs.conv(t)
            out = x if out is None else out + x
        assert out is not None
        return out

    def product(fs: _FromSympy, factors: Any, out: Expr | None = None) -> Expr:
        """The product of SymPy factors, negative rational powers as one division:
        x y^{-1} z^{-2} -> x / (y z ** 2); ``out`` (a matrix product) goes first."""
        num: list[Expr] = [] if out is None else [out]
        den: list[Expr] = []
        coeff = sympy.S.One
        for f in factors:
            if f.is_Rational:
                coeff *= f
            elif f.is_Pow and f.exp.is_Rational and f.exp.is_negative:
                base = fs.conv(f.base)
                k = -f.exp
                den.append(base if k == 1 else _pow(base, k))
            else:
                num.append(fs.conv(f))
        p, q = coeff.p, coeff.q
        negative = p < 0
        p = abs(p)
        if p != 1:
            num.insert(0, const(_int_or_float(p)))
        top: Expr = num[0] if num else const(1)
        for x in num[1:]:
            top = top * x
        if q != 1:
            den.insert(0, const(_int_or_float(q)))
        if den:
            bottom = den[0]
            for x in den[1:]:
                bottom = bottom * x
            top = top / bottom
        return -top if negative else top

    def build_mul(fs: _FromSympy, e: Any) -> Expr:
        return product(fs, e.args)

    def _pow(base: Expr, k: Any) -> Expr:
        if k == sympy.S.Half:
            return sb.sqrt(base)
        if k.is_Integer:
            return base ** _int_or_float(k)
        return base ** float(k)

    def build_pow(fs: _FromSympy, e: Any) -> Expr:
        base = fs.conv(e.base)
        k = e.exp
        if k.is_Rational and k.is_negative:  # b^{-k} = 1 / b^k
            return 1 / _pow(base, -k)
        if k.is_Number:
            return _pow(base, k)
        return base ** fs.conv(k)

    def build_piecewise(fs: _FromSympy, e: Any) -> Expr:
        out: Expr | None = None
        for piece in reversed(e.args):
            val, cond = fs.conv(piece.expr), piece.cond
            if cond == sympy.true:
                out = val
            else:
                out = sb.where(fs.conv(cond), val, const(float("nan")) if out is None else out)
        assert out is not None
        return out

    def piecewise_children(e: Any) -> tuple[Any, ...]:
        out: list[Any] = []
        for piece in e.args:
            out.append(piece.expr)
            if piece.cond != sympy.true:
                out.append(piece.cond)
        return tuple(out)

    def build_heaviside(fs: _FromSympy, e: Any) -> Expr:
        x = fs.conv(e.args[0])
        h0 = e.args[1] if len(e.args) > 1 else sympy.S.Half
        at0 = float("nan") if h0 is sympy.nan or not h0.is_Number else float(h0)
        return sb.where(x > 0.0, 1.0, sb.where(x < 0.0, 0.0, at0))

    def number(fs: _FromSympy, e: Any) -> Expr:
        if e.is_Integer:
            return const(_int_or_float(e))
        if e is sympy.nan or e is sympy.zoo:
            return const(float("nan"))
        if e.is_real is False:
            raise SymbackError(f"from_sympy: {e} is not a real number")
        return const(float(e))

    def matmul(fs: _FromSympy, e: Any) -> Expr:
        return matprod(fs, e.args)

    def matprod(fs: _FromSympy, factors: Any) -> Expr:
        """c A B ...: the matrix product times the scalar factors. A OneMatrix at either
        end is a sum and/or a broadcast: 1_{r×k} Y = the column sums of Y, stretched to r rows."""
        mats = [a for a in factors if getattr(a, "is_Matrix", False)]
        scalars = [a for a in factors if not getattr(a, "is_Matrix", False)]
        lead = trail = None
        if len(mats) > 1 and isinstance(mats[0], sympy.OneMatrix):
            lead, mats = mats[0], mats[1:]
        if len(mats) > 1 and isinstance(mats[-1], sympy.OneMatrix):
            trail, mats = mats[-1], mats[:-1]
        out = fs.conv(mats[0])
        for m in mats[1:]:
            out = out @ fs.conv(m)
        r, k1 = (_sb_dim(d) for d in lead.shape) if lead is not None else (1, 1)
        k2, c = (_sb_dim(d) for d in trail.shape) if trail is not None else (1, 1)
        axes = tuple(i for i, k in ((0, k1), (1, k2)) if k != 1)
        if axes:
            out = sb.sum(out, axis=axes, keepdims=True)
        if r != 1 or c != 1:
            out = broadcast_to(out, (r if r != 1 else out.shape[0], c if c != 1 else out.shape[1]))
        return product(fs, scalars, out) if scalars else out

    def trace(fs: _FromSympy, e: Any) -> Expr:
        arg = e.args[0]
        # Σ of all entries of Y is written Trace(OneMatrix · Y): give it back as sum(Y)
        if isinstance(arg, sympy.MatMul) and isinstance(arg.args[0], sympy.OneMatrix):
            return sb.sum(matprod(fs, arg.args[1:]))
        if tuple(arg.shape) == (1, 1):  # the one entry of a 1×1 matrix (vᵀ w)
            return sb.sum(fs.conv(arg))
        return sb.trace(fs.conv(arg))

    def matpow(fs: _FromSympy, e: Any) -> Expr:
        base, k = fs.conv(e.args[0]), e.args[1]
        if k == -1:
            return sb.inv(base)
        if k.is_Integer and k > 0:
            out = base
            for _ in range(int(k) - 1):
                out = out @ base
            return out
        raise SymbackError(f"from_sympy: matrix power {k} is not supported (only k >= 1 and -1)")

    def hadamard_power(fs: _FromSympy, e: Any) -> Expr:
        base, k = fs.conv(e.args[0]), e.args[1]
        if k.is_Rational and k.is_negative:
            return 1 / _pow(base, -k)
        return _pow(base, k) if k.is_Number else base ** fs.conv(k)

    def hadamard_product(fs: _FromSympy, e: Any) -> Expr:
        """A ⊙ B ⊙ C^{∘-1}: the entrywise product, negative powers as one division."""
        num: list[Expr] = []
        den: list[Expr] = []
        for f in e.args:
            k = f.args[1] if isinstance(f, sympy.HadamardPower) else None
            if k is not None and k.is_Rational and k.is_negative:
                base = fs.conv(f.args[0])
                den.append(base if k == -1 else _pow(base, -k))
            else:
                num.append(fs.conv(f))
        out = num[0] if num else const(1)
        for x in num[1:]:
            out = out * x
        if den:
            bottom = den[0]
            for x in den[1:]:
                bottom = bottom * x
            out = out / bottom
        return out

    def explicit(fs: _FromSympy, e: Any) -> Expr:
        try:
            arr = np.array([[float(x) for x in row] for row in e.tolist()])
        except TypeError:
            raise SymbackError("from_sympy: explicit matrices with symbolic entries are not "
                               "supported (use a MatrixSymbol)") from None
        return const(arr)

    def one_matrix(fs: _FromSympy, e: Any) -> Expr:
        return ones(tuple(_sb_dim(d) for d in e.shape))

    def zero_matrix(fs: _FromSympy, e: Any) -> Expr:
        return zeros(tuple(_sb_dim(d) for d in e.shape))

    def identity(fs: _FromSympy, e: Any) -> Expr:
        n = e.shape[0]
        if not n.is_Integer:
            raise SymbackError(f"from_sympy: Identity({n}) of symbolic size is not supported")
        return const(np.eye(int(n)))

    def applyfunc(fs: _FromSympy, e: Any) -> Expr:
        """f applied to every entry of X: convert f's body with its variable bound to X."""
        x = fs.conv(e.expr)
        f = e.function
        if isinstance(f, sympy.Lambda):
            var, body = f.variables[0], f.expr
        else:
            var = sympy.Dummy("d")
            body = f(var)
        inner = _FromSympy(fs.shapes)
        inner.memo[var] = x
        return inner.run(body)

    def matrix_element(fs: _FromSympy, e: Any) -> Expr:
        m, i, j = e.args
        if tuple(m.shape) == (1, 1) and i == 0 and j == 0:
            return sb.sum(fs.conv(m))
        raise SymbackError(f"from_sympy: indexing ({_short(e)}) is not supported")

    def diag_matrix(fs: _FromSympy, e: Any) -> Expr:
        """DiagMatrix(v), v a column or row: the square matrix with v on its diagonal."""
        v = fs.conv(e.args[0])
        return sb.diag(sb.reshape(v, (_sb_dim(e.shape[0]),)))

    def diagonal_of(fs: _FromSympy, e: Any) -> Expr:
        """DiagonalOf(X): X's diagonal as a column."""
        return sb.reshape(sb.diag(fs.conv(e.args[0])), tuple(_sb_dim(d) for d in e.shape))

    def relational(f: Callable[[Any, Any], Any]) -> _Handler:
        return _Handler(lambda fs, e: f(fs.conv(e.lhs), fs.conv(e.rhs)))

    def via(rewrite: Callable[[Any], Any]) -> _Handler:
        """A function symback lacks, written through ones it has (sinh = (eˣ - e⁻ˣ)/2, ...)."""
        def build(fs: _FromSympy, e: Any) -> Expr:
            return from_sympy_inner(rewrite(e), fs)
        return _Handler(build, lambda e: ())

    def boolean(fs: _FromSympy, e: Any) -> Expr:
        """Logic as choices: a ∧ b = where(a, b, False), a ∨ b = where(a, True, b),
        ¬a = where(a, False, True), ITE(a, b, c) = where(a, b, c)."""
        args = [fs.conv(t) for t in e.args]
        if isinstance(e, sympy.Not):
            return sb.where(args[0], False, True)
        if isinstance(e, sympy.ITE):
            return sb.where(*args)
        out = args[0]
        for t in args[1:]:
            out = sb.where(out, t, False) if isinstance(e, sympy.And) else sb.where(out, True, t)
        return out

    def not_real(fs: _FromSympy, e: Any) -> Expr:
        raise SymbackError(f"from_sympy: complex numbers ({_short(e)}) are not supported")

    table: dict[type, _Handler] = {
        sympy.Symbol: _leaf(lambda fs, e: fs.symbol(e)),
        sympy.Number: _leaf(number),
        sympy.NumberSymbol: _leaf(lambda fs, e: const(float(e))),
        sympy.core.numbers.ImaginaryUnit: _leaf(not_real),
        sympy.Add: _Handler(build_add),
        sympy.Mul: _Handler(build_mul),
        sympy.Pow: _Handler(build_pow),
        sympy.exp: func(sb.exp),
        sympy.log: func(sb.log),
        sympy.sin: func(sb.sin),
        sympy.cos: func(sb.cos),
        sympy.tan: func(sb.tan),
        sympy.tanh: func(sb.tanh),
        sympy.Abs: func(sb.abs),
        sympy.sign: func(sb.sign),
        log1p: func(sb.log1p),
        expm1: func(sb.expm1),
        sf.sigmoid: func(sb.sigmoid),
        sf.softplus: func(sb.softplus),
        sf.relu: func(sb.relu),
        sympy.Max: chain(sb.maximum),
        sympy.Min: chain(sb.minimum),
        sympy.Piecewise: _Handler(build_piecewise, piecewise_children),
        sympy.Heaviside: _Handler(build_heaviside, lambda e: (e.args[0],)),
        sympy.StrictGreaterThan: relational(lambda a, b: a > b),
        sympy.GreaterThan: relational(lambda a, b: a >= b),
        sympy.StrictLessThan: relational(lambda a, b: a < b),
        sympy.LessThan: relational(lambda a, b: a <= b),
        sympy.Eq: relational(sb.equal),
        sympy.And: _Handler(boolean),
        sympy.Or: _Handler(boolean),
        sympy.Not: _Handler(boolean),
        sympy.ITE: _Handler(boolean),
        sympy.logic.boolalg.BooleanTrue: _leaf(lambda fs, e: const(True)),
        sympy.logic.boolalg.BooleanFalse: _leaf(lambda fs, e: const(False)),
        # δ(x), the derivative of sign and of the Heaviside step: 0 almost everywhere, as
        # symback's own conventions have it (sign' = 0, relu'(0) = 0)
        sympy.DiracDelta: _Handler(lambda fs, e: 0.0 * fs.conv(e.args[0]),
                                   lambda e: (e.args[0],)),
        # issue 11: NumPy's elementwise functions and sb.special (symback/ops/ufuncs.py,
        # ops/special.py)
        sympy.sinh: func(sb.sinh),
        sympy.cosh: func(sb.cosh),
        sympy.asin: func(sb.arcsin),
        sympy.acos: func(sb.arccos),
        sympy.atan: func(sb.arctan),
        sympy.asinh: func(sb.arcsinh),
        sympy.acosh: func(sb.arccosh),
        sympy.atanh: func(sb.arctanh),
        sympy.atan2: func(sb.arctan2),
        sympy.floor: func(sb.floor),
        sympy.ceiling: func(sb.ceil),
        sympy.Mod: func(sb.mod),
        sympy.sinc: _Handler(lambda fs, e: sb.sinc(fs.conv(e.args[0] / sympy.pi)),
                             lambda e: (e.args[0] / sympy.pi,)),  # SymPy's sinc is sin(x)/x
        sympy.erf: func(sb.special.erf),
        sympy.erfc: func(sb.special.erfc),
        sympy.loggamma: func(sb.special.gammaln),
        sympy.polygamma: _Handler(
            lambda fs, e: (sb.special.digamma(fs.conv(e.args[1])) if int(e.args[0]) == 0 else
                           sb.special.polygamma(int(e.args[0]), fs.conv(e.args[1]))),
            lambda e: (e.args[1],)),
        sympy.sec: via(lambda e: 1 / sympy.cos(e.args[0])),
        sympy.csc: via(lambda e: 1 / sympy.sin(e.args[0])),
        sympy.cot: via(lambda e: 1 / sympy.tan(e.args[0])),
        # matrix expressions
        sympy.MatrixSymbol: _Handler(lambda fs, e: fs.matrix_symbol(e), lambda e: ()),
        sympy.MatMul: _Handler(matmul),
        sympy.MatAdd: chain(lambda a, b: a + b),
        sympy.Transpose: func(lambda a: a.T),
        sympy.HadamardProduct: _Handler(hadamard_product),
        sympy.HadamardPower: _Handler(hadamard_power),
        sympy.Inverse: _Handler(lambda fs, e: sb.inv(fs.conv(e.args[0])), lambda e: (e.args[0],)),
        sympy.DiagMatrix: _Handler(diag_matrix),
        sympy.DiagonalOf: _Handler(diagonal_of),
        sympy.Determinant: func(lambda a: sb.det(a)),
        sympy.Trace: _Handler(trace, lambda e: _trace_children(e)),
        sympy.MatPow: _Handler(matpow, lambda e: (e.args[0],)),
        sympy.OneMatrix: _leaf(one_matrix),
        sympy.ZeroMatrix: _leaf(zero_matrix),
        sympy.Identity: _leaf(identity),
        sympy.MatrixBase: _leaf(explicit),
        MatrixElement: _Handler(matrix_element, lambda e: (e.args[0],)),
        ElementwiseApplyFunction: _Handler(applyfunc, lambda e: (e.expr,)),
    }
    return table


def _trace_children(e: Any) -> tuple[Any, ...]:
    import sympy

    arg = e.args[0]
    if isinstance(arg, sympy.MatMul) and isinstance(arg.args[0], sympy.OneMatrix):
        return tuple(arg.args[1:])
    return (arg,)


def from_sympy_inner(e: Any, fs: _FromSympy) -> Expr:
    """Convert a SymPy expression built during a conversion, sharing its memo."""
    inner = _FromSympy(fs.shapes)
    inner.memo = fs.memo
    return inner.run(e)


def from_sympy(expr: Any, shapes: Mapping[str, Any] | None = None) -> Expr:
    """The symback expression for a SymPy expression (scalar, or a matrix expression).

    ``shapes`` maps symbol names to tensor shapes: a SymPy ``Symbol`` listed
    there becomes a tensor, so a scalar formula applies elementwise. Python
    numbers are accepted too. ``SymbackError`` names what has no symback form.

    >>> import sympy, symback as sb
    >>> x = sympy.Symbol("x")
    >>> sb.from_sympy(sympy.exp(-x) / (1 + x**2))
    exp(-x) / (1 + x ** 2)
    """
    import sympy

    if isinstance(expr, Expr):
        return expr
    if isinstance(expr, (bool, int, float, np.number)):
        return as_expr(expr)
    if isinstance(expr, sympy.MatrixBase):
        expr = sympy.ImmutableMatrix(expr)
    if not isinstance(expr, sympy.Basic):
        what = "text: use sb.parse" if isinstance(expr, str) else type(expr).__name__
        raise SymbackError(f"from_sympy takes a SymPy expression, not {what}")
    return _FromSympy(shapes).run(expr)
