"""Order statistics, products, moments and running totals over axes (issue 11).

Primitive ops: ``max``/``min`` (NumPy's ``amax``/``amin``), ``prod`` (one axis; more axes
are one ``prod`` per axis), ``cumsum``, ``cumprod``, ``var``, ``std``. Composed functions:
``ptp`` (max - min), ``average`` (weighted mean) and ``sum``/``mean`` of a list of
expressions (stacked as NumPy does, in :mod:`symback.ops.reduce`).

Conventions, as in the README table:

* ``max``/``min``: at ties the gradient is split evenly among the maxima (as the
  elementwise ``maximum`` does for two arguments): each of k tied entries gets ȳ / k.
* ``prod``: the gradient Π_{k≠j} x_k is written without division, as the product of an
  exclusive cumulative product from the left and one from the right, so a zero in the
  input gives the product of the others (not NaN), and second derivatives are right too.
* ``cumprod``: the VJP x̄_j = Σ_{i≥j} ȳ_i Π_{k≤i, k≠j} x_k is also division-free: it is a
  cumulative product over an (n × n) table (O(n²) memory along the axis, n an int).
* ``std``: at zero variance (every entry equal) the gradient is 0, not NaN (the
  minimum-norm subgradient, as for ``norm`` at 0).
* ``var``/``std`` take NumPy's ``ddof``: the divisor is N - ddof.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .. import numeric
from ..numeric import row_moments
from ..errors import ShapeError, SymbackError
from ..graph import CONST, Expr, Op, as_expr, const
from ..notation import ATOM, MUL, Notation
from ..shapes import Shape, check_flag, normalize_axis, reduced
from . import _scalar, register
from .elementwise import div, equal, maximum, minimum, mul, sub, where
from .reduce import (_batch, _contract, _fn_text, _np, _red_axes, _reduced_axes, mean,
                     sum_, unreduce)
from .structural import broadcast_to_op, count_of, expand_dims

# ---------------------------------------------------------------- notation

_LETTERS = "ijklmnpqrstuvw"


def _indexed(arg: str, letters: str, plain: bool) -> str:
    """``X_{ij}``: the argument's entry. Only a plain name takes the subscript directly; a
    name with a subscript of its own, or an expression, goes in braces (``{x_{1}}_{i}``)."""
    if not letters:
        return arg
    # the printed argument decides too: a node shown by a subscripted name (``Z_{2}`` in
    # sb.explain, a ``names=`` entry) is not plain even when its symbol's name is
    plain = plain and "_" not in arg and "^" not in arg
    return f"{arg}_{{{letters}}}" if plain else f"{{{arg}}}_{{{letters}}}"


def _plain(x: Expr) -> bool:
    from ..notation import latex_name

    if not x.is_symbol:
        return False
    name = latex_name(x.name)
    return "_" not in name and "^" not in name


def _index_latex(cmd: str, extra: Any = None) -> Notation:
    """``\\max_{j} X_{ij}``: the reduced axes' indices under the operator, the entry after it.
    ``extra(kw)`` may add a superscript (ddof)."""
    def select(node: Expr) -> Notation:
        x = node.args[0]
        nd = x.ndim
        if nd == 0:
            return Notation(lambda a, kw: f"{cmd}({a[0]})", ATOM)
        axes = node.kw.get("axis")
        axes = _red_axes(x, (axes,) if isinstance(axes, int) else axes)
        letters = _LETTERS[:nd] if nd <= len(_LETTERS) else None
        if letters is None:
            return Notation(lambda a, kw: f"{cmd}({a[0]})", ATOM)
        under = ",".join(letters[i] for i in axes)
        sup = extra(node.kw) if extra is not None else ""
        plain = _plain(x)

        def render(a: list[str], kw: dict[str, Any]) -> str:
            return f"{cmd}_{{{under}}}{sup} {_indexed(a[0], letters, plain)}"
        # binds like a sum: tighter than +, looser than a product on its right
        return Notation(render, MUL - 1, ATOM)
    return Notation(cmd.replace("{", "{{").replace("}", "}}") + "({0})", ATOM, select=select)


def _running_latex(cmd: str) -> Notation:
    """``\\sum_{k \\leq j} X_{ik}``: a running total along one axis."""
    def select(node: Expr) -> Notation:
        x = node.args[0]
        nd = x.ndim
        ax = node.kw["axis"]
        if nd + 1 > len(_LETTERS):
            return Notation(lambda a, kw: f"\\operatorname{{cum}}{cmd}({a[0]})", ATOM)
        run = _LETTERS[nd]
        letters = _LETTERS[:ax] + run + _LETTERS[ax + 1:nd]
        out = _LETTERS[ax]
        plain = _plain(x)

        def render(a: list[str], kw: dict[str, Any]) -> str:
            return f"{cmd}_{{{run} \\leq {out}}} {_indexed(a[0], letters, plain)}"
        return Notation(render, MUL - 1, ATOM)
    return Notation(cmd + "({0})", ATOM, select=select)


def _axis_norm(op: str) -> Any:
    def norm(args: tuple[Expr, ...], attrs: dict[str, Any]) -> dict[str, Any]:
        return {"axis": normalize_axis(op, attrs.get("axis"), args[0].ndim),
                "keepdims": check_flag(op, "keepdims", attrs.get("keepdims", False))}
    return norm


def _reduce_shape(shapes: tuple[Shape, ...], *, axis: tuple[int, ...] | None,
                  keepdims: bool) -> Shape:
    return reduced(shapes[0], axis, keepdims)


def _one(x: Expr) -> Expr:
    """1 in ``x``'s dtype: the Python number 1.0 for float64 (printed ``1.0``), a float32
    constant for float32 (so float32 stays float32)."""
    if x.dtype == "float32":
        return const(np.array(1.0, dtype=np.float32))
    return as_expr(1.0)


def _spread(g: Expr, x: Expr, axis: tuple[int, ...] | None, keepdims: bool) -> Expr:
    """``unreduce(g)``; a uniform Python-number ȳ (the 1 of a plain gradient) is broadcast
    directly, so ``1 ⊙ w`` simplifies to ``w`` as the graph is built."""
    inner = g.args[0] if g.op is broadcast_to_op else g
    if inner.op is CONST and inner.weak:
        return broadcast_to_op(inner, shape=x.shape)
    return unreduce(g, x, axis, keepdims)


def _no_empty(op: str) -> Any:
    """NumPy's max/min of an empty axis has no identity: a ShapeError here, not at run time."""
    def norm(args: tuple[Expr, ...], attrs: dict[str, Any]) -> dict[str, Any]:
        out = _axis_norm(op)(args, attrs)
        x = args[0]
        for i in _red_axes(x, out["axis"]):
            if x.shape[i] == 0:
                raise ShapeError(f"{op}: zero-size axis {i} of shape {x.shape} has no {op} "
                                 "(NumPy raises too)", op=op)
        return out
    return norm


# ---------------------------------------------------------------- max / min


def _argmax_weights(out: Expr, x: Expr, axis: tuple[int, ...] | None, keepdims: bool) -> Expr:
    """w = 1[x = y] / (number of entries equal to y along axis): the gradient split evenly
    among tied maxima (w sums to 1 along the axis)."""
    hit = equal(x, unreduce(out, x, axis, keepdims))
    ones = where(hit, _one(x), 0.0)
    cnt = sum_(ones, axis=axis, keepdims=True)
    return div(ones, broadcast_to_op(cnt, shape=x.shape))


def _extreme(name: str, np_name: str, cmd: str, pair: Op) -> Op:
    def vjp(g: Expr, out: Expr, x: Expr, *, axis: tuple[int, ...] | None,
            keepdims: bool) -> tuple[Expr]:
        return (mul(_spread(g, x, axis, keepdims), _argmax_weights(out, x, axis, keepdims)),)

    def jvp(ts: tuple[Expr, ...], out: Expr, x: Expr, *, axis: tuple[int, ...] | None,
            keepdims: bool) -> Expr:
        (t,) = ts
        if x.ndim == 0:
            return t
        return _contract(_argmax_weights(out, x, axis, keepdims), t, x, axis, keepdims)

    word = "largest" if name == "max" else "smallest"
    return register(Op(
        name, 1, _reduce_shape,
        numpy=_np(f"np.{np_name}.reduce({{0}}, axis={{axis}}, keepdims={{keepdims}})"),
        numpy_out=_np(f"np.{np_name}.reduce({{0}}, axis={{axis}}, keepdims={{keepdims}}, "
                      "out={out})"),
        forms={"xp": _np(f"xp.{name}({{0}}, axis={{axis}}, keepdims={{keepdims}})")},
        normalize=_no_empty(name), vjp=vjp, jvp=jvp,
        # left to right through the elementwise maximum/minimum (NaN in, NaN out)
        scalarize=lambda a, kw: _scalar.fold_axes(a[0], kw["axis"], kw["keepdims"],
                                                  pair, None),
        dtype=lambda args, **kw: args[0].dtype
        if args[0].dtype in ("float32", "float64") else "float64",
        text=_fn_text(name), latex=_index_latex(cmd),
        sympy=None,
        doc=f"y = the {word} entry of x over axis (NaN if any entry is NaN, as NumPy);  "
            f"x̄ = ȳ where x = y, split evenly among ties (k tied entries get ȳ/k each)",
    ))


max_op = _extreme("max", "maximum", r"\max", maximum)
min_op = _extreme("min", "minimum", r"\min", minimum)


def max(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False) -> Expr:  # noqa: A001
    """``np.max(a, axis=None, keepdims=False)`` (``np.amax``): the largest entry over ``axis``.

    Derivative: ȳ goes to the entries equal to the maximum, split evenly among ties
    (k tied entries get ȳ/k each, as ``maximum`` gives ȳ/2 to each of two).

    >>> import symback as sb
    >>> sb.max(sb.tensor("X", (2, 3)), axis=1)
    max(X, axis=1)
    """
    _no_out("max", out)
    return max_op(a, axis=axis, keepdims=keepdims)


def min(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False) -> Expr:  # noqa: A001
    """``np.min(a, axis=None, keepdims=False)`` (``np.amin``); ties split evenly as ``max``.

    >>> import symback as sb
    >>> X = sb.tensor("X", (2, 3))
    >>> sb.min(X, axis=0, keepdims=True)
    min(X, axis=0, keepdims=True)
    """
    _no_out("min", out)
    return min_op(a, axis=axis, keepdims=keepdims)


amax = max
amin = min


def ptp(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False) -> Expr:
    """``np.ptp(a, axis=None, keepdims=False)`` = max - min over ``axis`` (composed of the
    ``max`` and ``min`` ops, so ties are split as there).

    >>> import symback as sb
    >>> X = sb.tensor("X", (2, 3))
    >>> sb.ptp(X, axis=1)
    max(X, axis=1) - min(X, axis=1)
    """
    _no_out("ptp", out)
    return sub(max_op(a, axis=axis, keepdims=keepdims), min_op(a, axis=axis, keepdims=keepdims))


# ---------------------------------------------------------------- helpers along one axis


def _one_axis(op: str, x: Expr, axis: Any) -> int:
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise SymbackError(f"{op}: axis must be an int, got {axis!r}")
    ax = int(axis)
    if not -x.ndim <= ax < x.ndim:
        raise ShapeError(f"{op}: axis {ax} is out of range for shape {x.shape}", op=op)
    return ax % x.ndim


def _int_len(op: str, x: Expr, ax: int) -> int:
    n = x.shape[ax]
    if not isinstance(n, int):
        raise SymbackError(f"{op}: the derivative along axis {ax} needs an int length, got the "
                           f"symbolic size {n!r} (the division-free form tabulates the axis)")
    return n


def _flip(x: Expr, ax: int) -> Expr:
    return x[(slice(None),) * ax + (slice(None, None, -1),)]


def _shift_in_one(c: Expr, ax: int) -> Expr:
    """[1, c_0, …, c_{n-2}] along ``ax``: the exclusive form of a running product."""
    from .shape import concatenate

    n = c.shape[ax]
    shape = tuple(1 if i == ax else d for i, d in enumerate(c.shape))
    one = broadcast_to_op(_one(c), shape=shape)
    if n == 1:
        return one
    return concatenate([one, c[(slice(None),) * ax + (slice(None, -1),)]], axis=ax)


def _axis_mask(n: int, ax: int, ndim: int, kind: str) -> Expr:
    """A constant (n, n) boolean table at axes (ax, ax + 1) of an (ndim + 1)-axis tensor:
    ``eq`` δ_jk, ``ge`` k ≥ j, ``le`` k ≤ j."""
    j = np.arange(n)[:, None]
    k = np.arange(n)[None, :]
    table = {"eq": j == k, "ge": k >= j, "le": k <= j}[kind]
    return const(table.reshape((n, n) + (1,) * (ndim - ax - 1)))


# ---------------------------------------------------------------- cumsum


def _cum_norm(op: str) -> Any:
    def norm(args: tuple[Expr, ...], attrs: dict[str, Any]) -> dict[str, Any]:
        x = args[0]
        if x.ndim == 0:
            raise SymbackError(f"{op}: a 0-d input needs axis=None (it is flattened)")
        return {"axis": _one_axis(op, x, attrs.get("axis"))}
    return norm


def _cum_text(name: str) -> Notation:
    return Notation(lambda a, kw: f"{name}({a[0]}, axis={kw['axis']})")


cumsum_op: Op = register(Op(
    "cumsum", 1, lambda shapes, *, axis: shapes[0],
    numpy="np.cumsum({0}, axis={axis})", normalize=_cum_norm("cumsum"),
    # the libraries' own calls: xp.cumulative_sum needs a recent array-api-compat / JAX
    forms={"xp": "xp.cumulative_sum({0}, axis={axis})",
           "torch": "torch.cumsum({0}, dim={axis})", "jax": "jnp.cumsum({0}, axis={axis})"},
    vjp=lambda g, out, x, *, axis: (_flip(cumsum_op(_flip(g, axis), axis=axis), axis),),
    jvp=lambda ts, out, x, *, axis: cumsum_op(ts[0], axis=axis),
    scalarize=lambda a, kw: _scalar.running(a[0], kw["axis"], None),  # left to right
    dtype=lambda args, **kw: args[0].dtype if args[0].dtype in ("float32", "float64")
    else "float64",
    text=_cum_text("cumsum"), latex=_running_latex(r"\sum"),
    doc="y_i = Σ_{k≤i} x_k along axis;  x̄_j = Σ_{i≥j} ȳ_i (a reversed cumsum of ȳ)",
))


def _flat(op: str, a: Any, axis: Any) -> tuple[Expr, Any]:
    x = as_expr(a)
    if axis is None:
        from .shape import reshape

        if not all(isinstance(d, int) for d in x.shape):
            raise SymbackError(f"{op}: axis=None flattens the input, which needs int sizes, "
                               f"got shape {x.shape}")
        return reshape(x, (int(np.prod(x.shape, dtype=int)),)), 0
    return x, axis


def cumsum(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> Expr:
    """``np.cumsum(a, axis=None)``: running sums along ``axis`` (None: of the flattened
    input). Derivative: x̄_j = Σ_{i≥j} ȳ_i.

    >>> import symback as sb
    >>> X = sb.tensor("X", (2, 3))
    >>> sb.cumsum(X, axis=1)
    cumsum(X, axis=1)
    """
    _no_out("cumsum", out)
    x, ax = _flat("cumsum", a, axis)
    _dtype_arg("cumsum", x, dtype)
    return cumsum_op(x, axis=ax)


# ---------------------------------------------------------------- cumprod


def _cumprod_table(x: Expr, ax: int) -> Expr:
    """D[…, j, i, …] = Π_{k≤i} (1 if k = j else x_k): the running product with x_j left out."""
    n = _int_len("cumprod", x, ax)
    t = where(_axis_mask(n, ax, x.ndim, "eq"), 1.0, expand_dims(x, axis=(ax,)))
    return cumprod_op(t, axis=ax + 1)


def _cumprod_vjp(g: Expr, out: Expr, x: Expr, *, axis: int) -> tuple[Expr]:
    """x̄_j = Σ_{i≥j} ȳ_i Π_{k≤i, k≠j} x_k (no division: zeros are fine)."""
    d = _cumprod_table(x, axis)
    n = x.shape[axis]
    g2 = expand_dims(g, axis=(axis,))
    return (sum_(where(_axis_mask(n, axis, x.ndim, "ge"), mul(d, g2), 0.0),
                 axis=(axis + 1,), keepdims=False),)


def _cumprod_jvp(ts: tuple[Expr, ...], out: Expr, x: Expr, *, axis: int) -> Expr:
    """ẏ_i = Σ_{j≤i} ẋ_j Π_{k≤i, k≠j} x_k."""
    (t,) = ts
    nb = t.ndim - x.ndim
    d = _cumprod_table(x, axis)
    n = x.shape[axis]
    t2 = expand_dims(t, axis=(axis + 1,))
    mask = _batch(_axis_mask(n, axis, x.ndim, "ge"), nb)
    return sum_(where(mask, mul(_batch(d, nb), t2), 0.0), axis=(axis,), keepdims=False)


cumprod_op: Op = register(Op(
    "cumprod", 1, lambda shapes, *, axis: shapes[0],
    numpy="np.cumprod({0}, axis={axis})", normalize=_cum_norm("cumprod"),
    # the libraries' own calls: xp.cumulative_prod needs a recent array-api-compat / JAX
    forms={"xp": "xp.cumulative_prod({0}, axis={axis})",
           "torch": "torch.cumprod({0}, dim={axis})", "jax": "jnp.cumprod({0}, axis={axis})"},
    vjp=_cumprod_vjp, jvp=_cumprod_jvp,
    scalarize=lambda a, kw: _scalar.running(a[0], kw["axis"], mul),
    dtype=lambda args, **kw: args[0].dtype if args[0].dtype in ("float32", "float64")
    else "float64",
    text=_cum_text("cumprod"), latex=_running_latex(r"\prod"),
    doc="y_i = Π_{k≤i} x_k along axis;  x̄_j = Σ_{i≥j} ȳ_i Π_{k≤i, k≠j} x_k "
        "(division-free, through an n × n table: zeros in x are fine)",
))


def cumprod(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> Expr:
    """``np.cumprod(a, axis=None)``: running products along ``axis`` (None: flattened).

    Derivative x̄_j = Σ_{i≥j} ȳ_i Π_{k≤i, k≠j} x_k, without division (zeros are fine);
    it tabulates the axis (O(n²) memory for an axis of length n).

    >>> import symback as sb
    >>> X = sb.tensor("X", (2, 3))
    >>> sb.cumprod(X, axis=0)
    cumprod(X, axis=0)
    """
    _no_out("cumprod", out)
    x, ax = _flat("cumprod", a, axis)
    _dtype_arg("cumprod", x, dtype)
    return cumprod_op(x, axis=ax)


# ---------------------------------------------------------------- prod


def _others(x: Expr, ax: int) -> Expr:
    """Π_{k≠j} x_k along ``ax`` = (exclusive running product from the left) ⊙ (from the
    right): no division, so a single zero gives the product of the others."""
    n = _int_len("prod", x, ax)
    if n == 1:
        return broadcast_to_op(_one(x), shape=x.shape)
    left = _shift_in_one(cumprod_op(x, axis=ax), ax)
    right = _flip(_shift_in_one(cumprod_op(_flip(x, ax), axis=ax), ax), ax)
    return mul(left, right)


def _prod_norm(args: tuple[Expr, ...], attrs: dict[str, Any]) -> dict[str, Any]:
    x = args[0]
    return {"axis": _one_axis("prod", x, attrs.get("axis")),
            "keepdims": check_flag("prod", "keepdims", attrs.get("keepdims", False))}


def _prod_vjp(g: Expr, out: Expr, x: Expr, *, axis: int, keepdims: bool) -> tuple[Expr]:
    """x̄_j = ȳ Π_{k≠j} x_k (exclusive running products: zeros handled, any order)."""
    return (mul(_spread(g, x, (axis,), keepdims), _others(x, axis)),)


def _prod_jvp(ts: tuple[Expr, ...], out: Expr, x: Expr, *, axis: int, keepdims: bool) -> Expr:
    """ẏ = Σ_j ẋ_j Π_{k≠j} x_k."""
    return _contract(_others(x, axis), ts[0], x, (axis,), keepdims)


prod_op: Op = register(Op(
    "prod", 1, lambda shapes, *, axis, keepdims: reduced(shapes[0], (axis,), keepdims),
    numpy=_np("np.multiply.reduce({0}, axis={axis}, keepdims={keepdims})"),
    forms={"xp": _np("xp.prod({0}, axis={axis}, keepdims={keepdims})")},
    normalize=_prod_norm, vjp=_prod_vjp, jvp=_prod_jvp,
    scalarize=lambda a, kw: _scalar.fold_axes(a[0], (kw["axis"],), kw["keepdims"], mul, 1.0),
    dtype=lambda args, **kw: args[0].dtype if args[0].dtype in ("float32", "float64")
    else "float64",
    text=Notation(lambda a, kw: f"prod({a[0]}, axis={kw['axis']}"
                  + (", keepdims=True)" if kw["keepdims"] else ")")),
    latex=_index_latex(r"\prod"),
    doc="y = Π_axis x (one axis);  x̄_j = ȳ Π_{k≠j} x_k, as the product of exclusive running "
        "products from both ends (no division: a zero gives the product of the others)",
))


def prod(a: Any, axis: Any = None, dtype: Any = None, out: Any = None,
         keepdims: bool = False) -> Expr:
    """``np.prod(a, axis=None, keepdims=False)``: the product over ``axis`` (None: all).

    One ``prod`` op per reduced axis. Derivative: x̄_j = ȳ Π_{k≠j} x_k, written without
    division (exclusive cumulative products), so a zero entry gets the product of the
    others and second derivatives are right at zeros too.

    >>> import symback as sb
    >>> sb.prod(sb.vector("x", 3))
    prod(x, axis=0)
    """
    _no_out("prod", out)
    x = as_expr(a)
    _dtype_arg("prod", x, dtype)
    axes = normalize_axis("prod", axis, x.ndim)
    axes = tuple(range(x.ndim)) if axes is None else axes
    keep = check_flag("prod", "keepdims", keepdims)
    for ax in sorted(axes, reverse=True):  # the last first: the lower axes keep their numbers
        x = prod_op(x, axis=ax, keepdims=keep)
    return x


# ---------------------------------------------------------------- var / std


def _moment_norm(op: str) -> Any:
    def norm(args: tuple[Expr, ...], attrs: dict[str, Any]) -> dict[str, Any]:
        ddof = attrs.get("ddof", 0)
        if isinstance(ddof, bool) or not isinstance(ddof, (int, float)):
            raise SymbackError(f"{op}: ddof must be a number, got {ddof!r}")
        return {**_axis_norm(op)(args, attrs), "ddof": ddof}
    return norm


def _centred(x: Expr, axis: tuple[int, ...] | None) -> tuple[Expr, Expr]:
    """(x - mean(x), N - ddof's N): the deviations and the number of entries reduced."""
    mu = mean(x, axis=axis, keepdims=True)
    return sub(x, broadcast_to_op(mu, shape=x.shape)), count_of(_reduced_axes(x, axis))


def _var_weights(x: Expr, axis: tuple[int, ...] | None, ddof: Any) -> Expr:
    """∂var/∂x = 2 (x - μ) / (N - ddof)."""
    d, n = _centred(x, axis)
    return div(mul(2.0, d), sub(n, ddof) if ddof else n)


def _std_weights(out: Expr, x: Expr, axis: tuple[int, ...] | None, keepdims: bool,
                 ddof: Any) -> Expr:
    """∂std/∂x = (x - μ) / ((N - ddof) σ), and 0 where σ = 0 (σ replaced by 1 there)."""
    d, n = _centred(x, axis)
    s = unreduce(out, x, axis, keepdims)
    safe = where(equal(s, 0.0), 1.0, s)
    return div(d, mul(sub(n, ddof) if ddof else n, safe))


def _moment_text(name: str) -> Notation:
    base = _fn_text(name)

    def render(a: list[str], kw: dict[str, Any]) -> str:
        text = base.render(a, kw)
        return text[:-1] + f", ddof={kw['ddof']!r})" if kw.get("ddof") else text
    return Notation(render)


def _ddof_sup(kw: dict[str, Any]) -> str:
    return f"^{{(\\text{{ddof}}={kw['ddof']})}}" if kw.get("ddof") else ""


def var_rows(x, axis, ddof, keepdims):
    """np.var(x, axis, ddof, keepdims). Over the trailing axes of a float array whose rows
    hold 2 to 256 entries (a layer norm's statistics) it is the same two passes with the row
    sums as BLAS products with a vector of ones: NumPy's reduction pays per row there, and
    np.var's Python wrapper more (about 2x faster at 16 x 32 x 48)."""
    if axis.__class__ is int:
        axis = (axis,)
    k = len(axis) if axis is not None else 0
    if (k and x.__class__ is np.ndarray and x.dtype.char in "fd" and x.flags.c_contiguous
            and axis == tuple(range(x.ndim - k, x.ndim))):
        n = 1
        for d in x.shape[x.ndim - k:]:
            n *= d
        if 1 < n <= 256 and n > ddof:
            v = row_moments(x.reshape(-1, n), n)[1]
            v *= 1.0 / (n - ddof)
            lead = x.shape[:x.ndim - k]
            return v.reshape(lead + (1,) * k if keepdims else lead)
    return np.var(x, axis=axis, ddof=ddof, keepdims=keepdims)


numeric.HELPERS["var_rows"] = var_rows
numeric.DEPENDS["var_rows"] = ("row_moments",)


def _var_scalarize(args: list[Any], kw: dict[str, Any]) -> Any:
    """Σ_axis (x − μ)² / max(N − ddof, 0), two passes (the mean first), sums left to right;
    NumPy's divisor (0 for N ≤ ddof: inf or NaN, as np.var)."""
    axis = kw["axis"]
    c, n = _scalar.centred(args[0], axis)
    d = float(np.maximum(n - kw["ddof"], 0))
    return _scalar.apply(lambda e: e / d, _scalar.sum_squares(c, axis, kw["keepdims"]))


def _std_scalarize(args: list[Any], kw: dict[str, Any]) -> Any:
    """√var, the variance as :func:`_var_scalarize` writes it."""
    from .elementwise import sqrt

    return _scalar.apply(sqrt, _var_scalarize(args, kw))


var_op: Op = register(Op(
    "var", 1, lambda shapes, *, axis, keepdims, ddof: reduced(shapes[0], axis, keepdims),
    numpy=_np("var_rows({0}, {axis}, {ddof}, {keepdims})"), helpers=("var_rows",),
    forms={"xp": _np("xp.var({0}, axis={axis}, correction={ddof}, keepdims={keepdims})")},
    normalize=_moment_norm("var"), scalarize=_var_scalarize,
    vjp=lambda g, out, x, *, axis, keepdims, ddof: (
        mul(_spread(g, x, axis, keepdims), _var_weights(x, axis, ddof)),),
    jvp=lambda ts, out, x, *, axis, keepdims, ddof: _contract(
        _var_weights(x, axis, ddof), ts[0], x, axis, keepdims),
    text=_moment_text("var"), latex=_index_latex(r"\operatorname{var}", _ddof_sup),
    doc="y = Σ_axis (x - μ)² / (N - ddof), μ the mean;  x̄ = ȳ ⊙ 2 (x - μ) / (N - ddof)",
))

std_op: Op = register(Op(
    "std", 1, lambda shapes, *, axis, keepdims, ddof: reduced(shapes[0], axis, keepdims),
    numpy=_np("np.std({0}, axis={axis}, ddof={ddof}, keepdims={keepdims})"),
    forms={"xp": _np("xp.std({0}, axis={axis}, correction={ddof}, keepdims={keepdims})")},
    normalize=_moment_norm("std"), scalarize=_std_scalarize,
    vjp=lambda g, out, x, *, axis, keepdims, ddof: (
        mul(_spread(g, x, axis, keepdims), _std_weights(out, x, axis, keepdims, ddof)),),
    jvp=lambda ts, out, x, *, axis, keepdims, ddof: _contract(
        _std_weights(out, x, axis, keepdims, ddof), ts[0], x, axis, keepdims),
    text=_moment_text("std"), latex=_index_latex(r"\operatorname{std}", _ddof_sup),
    doc="σ = √var(x);  x̄ = σ̄ ⊙ (x - μ) / ((N - ddof) σ), and 0 at zero variance (not NaN)",
))


def _no_out(op: str, out: Any) -> None:
    if out is not None:
        raise SymbackError(f"{op}: out= is not supported (expressions are immutable values; "
                           "use the result)")


def _dtype_arg(op: str, x: Expr, dtype: Any) -> None:
    if dtype is not None and str(np.dtype(dtype)) != x.dtype:
        raise SymbackError(f"{op}: dtype={dtype!r} differs from the input's {x.dtype}; "
                           "cast the input instead (symback computes in float32 or float64)")


def var(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, ddof: float = 0,
        keepdims: bool = False) -> Expr:
    """``np.var(a, axis=None, dtype=None, ddof=0, keepdims=False)``: Σ (x - μ)² / (N - ddof).

    Derivative: 2 (x - μ) / (N - ddof) (smooth; every order).

    >>> import symback as sb
    >>> sb.var(sb.vector("x", 4), ddof=1)
    var(x, ddof=1)
    """
    _no_out("var", out)
    x = as_expr(a)
    _dtype_arg("var", x, dtype)
    return var_op(x, axis=axis, keepdims=keepdims, ddof=ddof)


def std(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, ddof: float = 0,
        keepdims: bool = False) -> Expr:
    """``np.std(a, axis=None, dtype=None, ddof=0, keepdims=False)`` = √var.

    Derivative: (x - μ) / ((N - ddof) σ); at zero variance it is 0, not NaN (a
    convention: the minimum-norm subgradient, as for a norm at 0).

    >>> import symback as sb
    >>> X = sb.tensor("X", (2, 3))
    >>> sb.std(X, axis=1, ddof=1)
    std(X, axis=1, ddof=1)
    """
    _no_out("std", out)
    x = as_expr(a)
    _dtype_arg("std", x, dtype)
    return std_op(x, axis=axis, keepdims=keepdims, ddof=ddof)


# ---------------------------------------------------------------- average


def average(a: Any, axis: Any = None, weights: Any = None, returned: bool = False, *,
            keepdims: bool = False) -> Any:
    """``np.average(a, axis=None, weights=None, returned=False, keepdims=False)``.

    Composed: Σ_axis a ⊙ w / Σ_axis w (``mean`` without weights). As NumPy, 1-D weights
    with a single ``axis`` run along that axis; otherwise weights broadcast against ``a``.
    With ``returned=True`` the pair (average, Σ w) is returned.

    >>> import symback as sb
    >>> X = sb.tensor("X", (2, 3))
    >>> sb.average(X, axis=1, weights=[1.0, 2.0, 1.0]).shape
    (2,)
    """
    x = as_expr(a)
    if weights is None:
        avg = mean(x, axis=axis, keepdims=keepdims)
        if not returned:
            return avg
        n = count_of(_reduced_axes(x, normalize_axis("average", axis, x.ndim)))
        return avg, broadcast_to_op(n, shape=avg.shape)  # Σ w with every weight 1
    w = as_expr(weights)
    axes = normalize_axis("average", axis, x.ndim)
    if w.shape != x.shape:
        if w.ndim == 1 and axes is not None and len(axes) == 1 and x.ndim > 1:
            if w.shape[0] != x.shape[axes[0]]:
                raise ShapeError(f"average: weights of shape {w.shape} do not match axis "
                                 f"{axes[0]} of {x.shape}", op="average")
            w = expand_dims(w, axis=tuple(i for i in range(x.ndim) if i != axes[0]))
        elif w.ndim != x.ndim or any(d != e and d != 1 for d, e in zip(w.shape, x.shape)):
            raise ShapeError(f"average: weights of shape {w.shape} differ from the input's "
                             f"{x.shape} (1-D weights need a single axis)", op="average")
        w = broadcast_to_op(w, shape=x.shape)
    total = sum_(w, axis=axes, keepdims=keepdims)
    avg = div(sum_(mul(x, w), axis=axes, keepdims=keepdims), total)
    return (avg, total) if returned else avg


# ---------------------------------------------------------------- lists of expressions


def stack_list(op: str, xs: Sequence[Any]) -> Expr:
    """``np.sum([a, b, c])``: NumPy makes one array of the list (a new leading axis)."""
    from .shape import stack

    if not len(xs):
        raise SymbackError(f"{op}: an empty list has no shape to reduce")
    items = [as_expr(x) for x in xs]
    shapes = {e.shape for e in items}
    if len(shapes) > 1:
        raise ShapeError(f"{op}: the list's entries have different shapes "
                         f"{sorted(map(str, shapes))} (NumPy would make a ragged array)",
                         op=op)
    return stack(items, axis=0)


NAMES = ("max", "min", "amax", "amin", "ptp", "prod", "cumsum", "cumprod", "var", "std",
         "average")
