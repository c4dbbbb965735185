"""Matrix functions: eye, trace, det, logdet, inv, solve, diag, reshape, stack, concatenate,
indexing (``x[i, 1:3, None]``) and tensordot.

Each op is one :class:`~symback.graph.Op` record: its shape rule (``ShapeError``
at build time, e.g. for the determinant of a non-square matrix), its NumPy form
(stable ones: ``slogdet`` for ``logdet``, ``np.linalg.solve`` rather than an
inverse), its VJP written in symback ops (so second derivatives come free), a
batched forward rule ``jvp`` (see :mod:`symback.higher`), text and LaTeX
notations, and a ``sympy`` constructor where SymPy has a counterpart.

Conventions: every input is an unstructured matrix (∂ log det Σ = Σ⁻ᵀ, not the
symmetric-matrix formula). The ``sympy`` field is a function of the SymPy forms of
the arguments (vectors as n×1 matrices) and the op's attributes as keywords.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Sequence

from ..errors import ShapeError, SymbackError
from ..graph import Expr, Op, as_expr, zeros
from ..printing.precedence import ATOM, MUL, POSTFIX, Notation
from ..shapes import Dim, Shape, check_flag, check_shape, fmt
from . import register
from .elementwise import mul, neg
from .linalg import matmul, outer, transpose
from .linalg import transpose as _transpose_op  # inv's attribute `transpose` shadows the name
from .reduce import sum_
from .structural import expand_dims


def _sp() -> Any:
    import sympy

    return sympy


def _sp_dim(d: Dim) -> Any:
    return _sp().Symbol(d, integer=True, positive=True) if isinstance(d, str) else d


def _dims_of(attrs: dict[str, Any]) -> Any:
    """The codegen's renderer of symbolic sizes (identity when folding constants)."""
    return attrs.get("_dims") or (lambda d: d)


def _dim_src(d: Dim, attrs: dict[str, Any]) -> str:
    return str(d) if isinstance(d, int) else _dims_of(attrs)(d)


def _shape_src(shape: Shape, attrs: dict[str, Any]) -> str:
    parts = [_dim_src(d, attrs) for d in shape]
    return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"


def _same_dtype(args: Sequence[Expr], **kw: Any) -> str:
    return args[0].dtype if not args[0].weak else "float64"


def _trailing(e: Expr, n: int) -> Expr:
    """``e`` with ``n`` axes of length 1 appended (to meet a tangent's batch axes)."""
    return expand_dims(e, axis=tuple(range(e.ndim, e.ndim + n))) if n else e


def _square(name: str, shapes: tuple[Shape, ...], what: str = "a square matrix") -> Dim:
    xs = shapes[0]
    if len(xs) != 2 or xs[0] != xs[1]:
        raise ShapeError(f"{name}: expects {what}, got shape {fmt(xs)}", op=name, shapes=shapes)
    return xs[0]


def _fn(name: str) -> Notation:
    """``\\operatorname{tr}(X)``: a function of the whole matrix (braces escaped for format)."""
    return Notation(name.replace("{", "{{").replace("}", "}}") + "({0})", ATOM)


# ---------------------------------------------------------------- eye


def _eye_norm(args: tuple[Expr, ...], attrs: dict[str, Any]) -> dict[str, Any]:
    (n,) = check_shape((attrs["n"],), what="eye")
    return {"n": n}


eye_op = register(Op(
    "eye", 0, lambda shapes, *, n: (n, n),
    numpy=lambda args, kw: f"np.eye({_dim_src(kw['n'], kw)})", fold=False,
    normalize=_eye_norm, dtype=lambda args, **kw: "float64",
    extra={"identity": True},  # A I = A: matmul's simplify reads this
    text=Notation("eye({n})"), latex=Notation("I", ATOM),
    sympy=lambda *, n: _sp().Identity(_sp_dim(n)),
    doc="I, the n×n identity matrix (float64). Iᵢⱼ = δᵢⱼ.",
))


def eye(n: Dim) -> Expr:
    """The ``n``×``n`` identity matrix; ``n`` an int or a symbolic size."""
    return eye_op(n=n)


# ---------------------------------------------------------------- trace


def _trace_shape(shapes: tuple[Shape, ...]) -> Shape:
    xs = shapes[0]
    if len(xs) < 2 or xs[0] != xs[1]:
        raise ShapeError(f"trace: expects a square matrix, got shape {fmt(xs)}",
                         op="trace", shapes=shapes)
    return xs[2:]


def _trace_vjp(g: Expr, out: Expr, x: Expr) -> tuple[Expr]:
    """y = tr X = Σᵢ Xᵢᵢ;  X̄ = ȳ I  (trailing axes, as np.trace has them, ride along)."""
    n = x.shape[0]
    if g.ndim == 0:
        return (mul(g, eye(n)),)
    return (mul(expand_dims(g, axis=(0, 1)), _trailing(eye(n), g.ndim)),)


trace_op = register(Op(
    "trace", 1, _trace_shape, numpy="np.trace({0})", vjp=_trace_vjp,
    jvp=lambda ts, out, x: trace_op(ts[0]),
    simplify=lambda x: trace_op(x.args[0]) if x.op is transpose and x.ndim == 2 else None,
    text=Notation("trace({0})"), latex=_fn(r"\operatorname{tr}"),
    sympy=lambda x: _sp().Trace(x),
    doc="y = tr X = Σᵢ Xᵢᵢ (X square; extra trailing axes are kept, as in np.trace);  "
        "X̄ = ȳ I;  ∂tr(AX)/∂X = Aᵀ.",
))


def trace(x: Any) -> Expr:
    """tr X, the sum of the diagonal of a square matrix (``ShapeError`` if not square)."""
    return trace_op(x)


# ---------------------------------------------------------------- inverse


def _inv_norm(args: tuple[Expr, ...], attrs: dict[str, Any]) -> dict[str, Any]:
    return {"transpose": check_flag("inv", "transpose", attrs.get("transpose", False))}


def _inv_shape(shapes: tuple[Shape, ...], *, transpose: bool) -> Shape:
    _square("inv", shapes)
    return shapes[0]


def _inv_simplify(x: Expr, *, transpose: bool) -> Expr | None:
    if x.op is inv_op:  # (X⁻¹)⁻¹ = X, (X⁻ᵀ)⁻¹ = Xᵀ, ((X⁻¹)⁻¹)ᵀ = Xᵀ, ((X⁻ᵀ)⁻¹)ᵀ = X
        flip = x.kw["transpose"] != transpose
        return transpose_2d(x.args[0]) if flip else x.args[0]
    if x.op is _transpose_op and x.ndim == 2:  # (Xᵀ)⁻¹ = X⁻ᵀ and (Xᵀ)⁻ᵀ = X⁻¹
        return inv_op(x.args[0], transpose=not transpose)
    return None


def transpose_2d(x: Expr) -> Expr:
    """Xᵀ of a matrix."""
    return transpose(x, axes=None)


def _inv_vjp(g: Expr, out: Expr, x: Expr, *, transpose: bool) -> tuple[Expr]:
    """Y = X⁻¹: X̄ = −X⁻ᵀ Ȳ X⁻ᵀ.   Y = X⁻ᵀ: X̄ = −Y Ȳᵀ Y."""
    if transpose:
        return (neg(matmul(matmul(out, transpose_2d(g)), out)),)
    it = inv_op(x, transpose=True)
    return (neg(matmul(matmul(it, g), it)),)


def _inv_jvp(ts: tuple[Expr | None, ...], out: Expr, x: Expr, *, transpose: bool) -> Expr:
    """Y = X⁻¹: Ẏ = −Y Ẋ Y.   Y = X⁻ᵀ: Ẏ = −Y Ẋᵀ Y (each batch slice of Ẋ)."""
    (t,) = ts
    nb = t.ndim - 2
    if transpose:
        t = transpose_fn_axes(t, (1, 0) + tuple(range(2, 2 + nb)))
    if nb == 0:
        return neg(matmul(matmul(out, t), out))
    left = tensordot_op(out, t, axes=((1,), (0,)))  # (n, n, B...)
    right = tensordot_op(left, out, axes=((1,), (0,)))  # (n, B..., n)
    return neg(transpose_fn_axes(right, (0, 2 + nb - 1) + tuple(range(1, 1 + nb))))


def transpose_fn_axes(x: Expr, axes: tuple[int, ...]) -> Expr:
    """x with its axes permuted."""
    return transpose(x, axes=axes)


def _inv_text(args: list[str], kw: dict[str, Any]) -> str:
    return f"inv(transpose({args[0]}))" if kw["transpose"] else f"inv({args[0]})"


def _inv_latex(args: list[str], kw: dict[str, Any]) -> str:
    return args[0] + ("^{-T}" if kw["transpose"] else "^{-1}")


def _inv_sympy(x: Any, *, transpose: bool) -> Any:
    inv = _sp().Inverse(x)
    return inv.T if transpose else inv


inv_op = register(Op(
    "inv", 1, _inv_shape,
    numpy=lambda args, kw: f"np.linalg.inv({args[0]}.T)" if kw["transpose"]
    else f"np.linalg.inv({args[0]})",
    normalize=_inv_norm, simplify=_inv_simplify, vjp=_inv_vjp, jvp=_inv_jvp,
    text=Notation(_inv_text),
    # below POSTFIX so that (X^{-1})^{T} gets its parentheses; X^{T} inside gets them too
    latex=Notation(_inv_latex, POSTFIX - 1, POSTFIX + 1),
    sympy=_inv_sympy,
    doc="Y = X⁻¹ (or X⁻ᵀ = (X⁻¹)ᵀ with transpose=True), X square;  dY = −Y dX Y;  "
        "X̄ = −X⁻ᵀ Ȳ X⁻ᵀ.",
))


def inv(x: Any) -> Expr:
    """X⁻¹ of a square matrix (``ShapeError`` if not square). ``inv(X).T`` prints as X^{-T}."""
    return inv_op(x)


# ---------------------------------------------------------------- det / logdet


def _frobenius(a: Expr, t: Expr) -> Expr:
    """Σᵢⱼ aᵢⱼ tᵢⱼ… = tr(aᵀ t) for each batch slice of a tangent t (shape a.shape + B)."""
    return tensordot_op(a, t, axes=((0, 1), (0, 1)))


def _det_vjp(g: Expr, out: Expr, x: Expr) -> tuple[Expr]:
    """y = det X;  X̄ = ȳ · det X · X⁻ᵀ (Jacobi's formula)."""
    return (mul(mul(g, out), inv_op(x, transpose=True)),)


def _scalar_of_square(name: str) -> Any:
    def rule(shapes: tuple[Shape, ...]) -> Shape:
        _square(name, shapes)
        return ()
    return rule


det_op = register(Op(
    "det", 1, _scalar_of_square("det"),
    numpy="np.linalg.det({0})", vjp=_det_vjp,
    jvp=lambda ts, out, x: mul(out, _frobenius(inv_op(x, transpose=True), ts[0])),
    simplify=lambda x: det_op(x.args[0]) if x.op is transpose else None,
    text=Notation("det({0})"), latex=_fn(r"\det"),
    sympy=lambda x: _sp().Determinant(x),
    doc="y = det X (X square);  dy = det X · tr(X⁻¹ dX);  X̄ = ȳ det X · X⁻ᵀ.",
))


def det(x: Any) -> Expr:
    """det X of a square matrix (``ShapeError`` if not square)."""
    return det_op(x)


logdet_op = register(Op(
    "logdet", 1, _scalar_of_square("logdet"),
    numpy="logdet({0})", helpers=("logdet",),
    vjp=lambda g, out, x: (mul(g, inv_op(x, transpose=True)),),
    jvp=lambda ts, out, x: _frobenius(inv_op(x, transpose=True), ts[0]),
    simplify=lambda x: logdet_op(x.args[0]) if x.op is transpose else None,
    text=Notation("logdet({0})"), latex=_fn(r"\log\det"),
    sympy=lambda x: _sp().log(_sp().Determinant(x)),
    doc="y = log det X, computed with slogdet (no overflow); NaN where det X < 0 and "
        "-inf where det X = 0;  dy = tr(X⁻¹ dX);  X̄ = ȳ X⁻ᵀ.",
))


def logdet(x: Any) -> Expr:
    """log det X, stable (``np.linalg.slogdet``); NaN where det X < 0."""
    return logdet_op(x)


# ---------------------------------------------------------------- solve


def _solve_shape(shapes: tuple[Shape, ...]) -> Shape:
    a, b = shapes
    n = _square("solve", (a, b), "a square matrix A in solve(A, b)")
    if not 1 <= len(b) <= 2 or b[0] != n:
        raise ShapeError(
            f"solve: A {fmt(a)} and b {fmt(b)} do not fit (b must be (n,) or (n, k) with "
            f"n = {n})", op="solve", shapes=shapes)
    return b


def _solve_vjp(g: Expr, out: Expr, a: Expr, b: Expr) -> tuple[Expr, Expr]:
    """x = A⁻¹ b;  b̄ = A⁻ᵀ x̄ (one more solve), Ā = −b̄ xᵀ."""
    gb = solve_op(transpose_2d(a), g)
    ga = neg(outer(gb, out)) if b.ndim == 1 else neg(matmul(gb, transpose_2d(out)))
    return ga, gb


def _solve_jvp(ts: tuple[Expr | None, ...], out: Expr, a: Expr, b: Expr) -> Expr:
    """ẋ = A⁻¹ (ḃ − Ȧ x), batch slice by batch slice."""
    ta, tb = ts
    nb = (ta.ndim - 2) if ta is not None else (tb.ndim - b.ndim)  # type: ignore[union-attr]
    rhs = tb
    if ta is not None:
        ax = tensordot_op(ta, out, axes=((1,), (0,)))  # (n, B..., k...)
        if b.ndim == 2:
            ax = transpose_fn_axes(ax, (0, ax.ndim - 1) + tuple(range(1, 1 + nb)))
        rhs = neg(ax) if rhs is None else rhs - ax
    if rhs is None:  # no tangent at all (the forward pass never asks for this)
        return zeros(out.shape)
    if rhs.ndim <= 2:
        return solve_op(a, rhs)
    return tensordot_op(inv_op(a), rhs, axes=((1,), (0,)))


solve_op = register(Op(
    "solve", 2, _solve_shape, numpy="np.linalg.solve({0}, {1})",
    vjp=_solve_vjp, jvp=_solve_jvp,
    text=Notation("solve({0}, {1})"),
    latex=Notation("{0}^{{-1}} {1}", MUL, (POSTFIX + 1, MUL + 1)),
    sympy=lambda a, b: _sp().MatMul(_sp().Inverse(a), b),
    doc="x = A⁻¹ b by np.linalg.solve (no explicit inverse), b (n,) or (n, k);  "
        "b̄ = A⁻ᵀ x̄, Ā = −b̄ xᵀ.",
))


def solve(a: Any, b: Any) -> Expr:
    """x = A⁻¹ b, solved (``np.linalg.solve``), never through an explicit inverse."""
    return solve_op(a, b)


# ---------------------------------------------------------------- diag


def _diag_shape(shapes: tuple[Shape, ...]) -> Shape:
    xs = shapes[0]
    if len(xs) == 1:
        return (xs[0], xs[0])
    if len(xs) == 2:
        n, m = xs
        if n == m:
            return (n,)
        if isinstance(n, int) and isinstance(m, int):
            return (min(n, m),)
        raise ShapeError(f"diag: the diagonal of a {fmt(xs)} matrix has an unknown length "
                         "(give int sizes or a square matrix)", op="diag", shapes=shapes)
    raise ShapeError(f"diag: expects a vector or a matrix, got shape {fmt(xs)}",
                     op="diag", shapes=shapes)


def _diag_vjp(g: Expr, out: Expr, x: Expr) -> tuple[Expr]:
    """v → diag(v): v̄ = diag(Ȳ).   X → diag(X): X̄ = diag(ȳ), padded with zeros if not square."""
    if x.ndim == 1:
        return (diag_op(g),)
    d = diag_op(g)
    if d.shape != x.shape:
        k = g.shape[0]
        return (index_scatter(d, shape=x.shape, index=((slice(0, k)), slice(0, k))),)
    return (d,)


def _diag_jvp(ts: tuple[Expr | None, ...], out: Expr, x: Expr) -> Expr:
    """Linear: the same op on each batch slice of the tangent (via I and broadcasting)."""
    (t,) = ts
    nb = t.ndim - x.ndim
    if nb == 0:
        return diag_op(t)
    if x.ndim == 1:  # Ẏ[i, j, …] = δᵢⱼ ṫ[i, …]
        return mul(_trailing(eye(x.shape[0]), nb), expand_dims(t, axis=(1,)))
    k = out.shape[0]
    if x.shape != (k, k):
        t = getitem(t, index=(slice(0, k), slice(0, k)))
    return sum_(mul(_trailing(eye(k), nb), t), axis=(1,))


diag_op = register(Op(
    "diag", 1, _diag_shape, numpy="np.diag({0})", vjp=_diag_vjp, jvp=_diag_jvp, view=True,
    dtype=_same_dtype,
    text=Notation("diag({0})"), latex=_fn(r"\operatorname{diag}"),
    sympy=lambda x: _sp().DiagMatrix(x) if x.shape[1] == 1 else _sp().DiagonalOf(x),
    doc="NumPy's diag: a vector v gives the matrix diag(v) (vᵢ on the diagonal); a matrix "
        "gives its diagonal.  Adjoint pair: v̄ = diag(Ȳ), X̄ = diag(ȳ).",
))


def diag(x: Any) -> Expr:
    """NumPy's ``diag``: vector → diagonal matrix, matrix → its diagonal."""
    return diag_op(x)


# ---------------------------------------------------------------- reshape


def _monomial(shape: Shape) -> tuple[int, Counter[str]]:
    coef = 1
    names: Counter[str] = Counter()
    for d in shape:
        if isinstance(d, int):
            coef *= d
        else:
            names[d] += 1
    return coef, names


def _reshape_norm(args: tuple[Expr, ...], attrs: dict[str, Any]) -> dict[str, Any]:
    raw = attrs["shape"]
    if isinstance(raw, (int, str)) and not isinstance(raw, bool):
        raw = (raw,)
    try:
        items = list(raw)
    except TypeError:
        raise ShapeError(f"reshape: shape={raw!r} is not a tuple of sizes", op="reshape")
    xs = args[0].shape
    holes = [i for i, d in enumerate(items) if isinstance(d, int) and d == -1]
    if len(holes) > 1:
        raise ShapeError(f"reshape: at most one -1 in shape {tuple(items)!r}", op="reshape")
    known = check_shape([d for d in items if not (isinstance(d, int) and d == -1)],
                        what="reshape")
    coef, names = _monomial(xs)
    kcoef, knames = _monomial(known)
    if holes:
        rest = names - knames
        if knames - names or kcoef == 0 or coef % kcoef:
            raise ShapeError(f"reshape: cannot reshape {fmt(xs)} into {tuple(items)!r}",
                             op="reshape", shapes=(xs,))
        q = coef // kcoef
        if not rest:
            fill: Dim = q
        elif q == 1 and sum(rest.values()) == 1:
            fill = next(iter(rest))
        else:
            raise ShapeError(f"reshape: the -1 in {tuple(items)!r} would stand for a product of "
                             f"sizes of {fmt(xs)}; spell the shape out", op="reshape",
                             shapes=(xs,))
        known = known[:holes[0]] + (fill,) + known[holes[0]:]
    elif (coef, names) != (kcoef, knames):
        raise ShapeError(f"reshape: cannot reshape {fmt(xs)} ({coef}·{dict(names) or ''} entries) "
                         f"into {fmt(known)}", op="reshape", shapes=(xs, known))
    return {"shape": known}


def _reshape_simplify(x: Expr, *, shape: Shape) -> Expr | None:
    if x.shape == shape:
        return x
    if x.op is reshape_op:  # reshape(reshape(x, s1), s2) = reshape(x, s2)
        return reshape_op(x.args[0], shape=shape)
    return None


reshape_op = register(Op(
    "reshape", 1, lambda shapes, *, shape: shape,
    numpy="np.reshape({0}, {shape})", normalize=_reshape_norm, simplify=_reshape_simplify,
    vjp=lambda g, out, x, *, shape: (reshape_op(g, shape=x.shape),),
    jvp=lambda ts, out, x, *, shape: reshape_op(ts[0], shape=shape + ts[0].shape[x.ndim:]),
    view=True, dtype=_same_dtype,
    text=Notation("reshape({0}, {shape})"),
    latex=Notation(lambda a, kw: r"\operatorname{reshape}_{" + fmt(kw["shape"]) + r"}\left("
                   + a[0] + r"\right)", ATOM),
    doc="y = x with its entries (C order) laid out in a new shape (-1: the one missing size);  "
        "x̄ = ȳ reshaped back.",
))


def reshape(x: Any, shape: Any) -> Expr:
    """NumPy's reshape with a constant target shape (one -1 allowed)."""
    return reshape_op(x, shape=shape)


# ---------------------------------------------------------------- stack / concatenate


def _axis_attr(name: str, attrs: dict[str, Any], ndim: int) -> int:
    axis = attrs.get("axis", 0)
    if isinstance(axis, bool) or not isinstance(axis, int):
        raise ShapeError(f"{name}: axis={axis!r} is not an int", op=name)
    a = axis + ndim if axis < 0 else axis
    if not 0 <= a < ndim:
        raise ShapeError(f"{name}: axis {axis} is out of range for a result with {ndim} "
                         "dimension(s)", op=name)
    return a


def _stack_norm(args: tuple[Expr, ...], attrs: dict[str, Any]) -> dict[str, Any]:
    if not args:
        raise SymbackError("stack: needs at least one expression")
    return {"axis": _axis_attr("stack", attrs, args[0].ndim + 1)}


def _stack_shape(shapes: tuple[Shape, ...], *, axis: int) -> Shape:
    if any(s != shapes[0] for s in shapes):
        raise ShapeError("stack: all shapes must be equal, got " +
                         ", ".join(fmt(s) for s in shapes), op="stack", shapes=shapes)
    s = shapes[0]
    return s[:axis] + (len(shapes),) + s[axis:]


def _seq_numpy(fn: str) -> Any:
    return lambda args, kw: f"np.{fn}([{', '.join(args)}], axis={kw['axis']})"


def _zero_tangents(ts: Sequence[Expr | None], args: Sequence[Expr]) -> list[Expr]:
    batch = next(t for t in ts if t is not None)
    b = batch.shape[next(a for t, a in zip(ts, args) if t is not None).ndim:]
    return [t if t is not None else zeros(a.shape + b) for t, a in zip(ts, args)]


stack_op = register(Op(
    "stack", None, _stack_shape, numpy=_seq_numpy("stack"), normalize=_stack_norm,
    vjp=lambda g, out, *xs, axis: tuple(
        getitem(g, index=(slice(None),) * axis + (i,)) for i in range(len(xs))),
    jvp=lambda ts, out, *xs, axis: stack_op(*_zero_tangents(ts, xs), axis=axis),
    text=Notation(lambda a, kw: f"stack([{', '.join(a)}], axis={kw['axis']})"),
    latex=Notation(lambda a, kw: r"\operatorname{stack}\left(" + ", ".join(a) + r"\right)",
                   ATOM),
    doc="y = the arguments (equal shapes) stacked along a new axis;  x̄ᵢ = ȳ[…, i, …].",
))


def stack(xs: Sequence[Any], axis: int = 0) -> Expr:
    """NumPy's stack: a list of equal-shaped expressions joined along a new ``axis``."""
    if isinstance(xs, Expr) or not isinstance(xs, (list, tuple)):
        raise SymbackError("stack: expects a list of expressions")
    return stack_op(*xs, axis=axis)


def _concat_norm(args: tuple[Expr, ...], attrs: dict[str, Any]) -> dict[str, Any]:
    if not args:
        raise SymbackError("concatenate: needs at least one expression")
    if args[0].ndim == 0:
        raise ShapeError("concatenate: zero-dimensional arguments cannot be concatenated",
                         op="concatenate")
    return {"axis": _axis_attr("concatenate", attrs, args[0].ndim)}


def _concat_shape(shapes: tuple[Shape, ...], *, axis: int) -> Shape:
    s0 = shapes[0]
    for s in shapes:
        if len(s) != len(s0) or any(d != e for i, (d, e) in enumerate(zip(s, s0)) if i != axis):
            raise ShapeError("concatenate: shapes must agree except on axis "
                             f"{axis}, got " + ", ".join(fmt(s) for s in shapes),
                             op="concatenate", shapes=shapes)
    sizes = [s[axis] for s in shapes]
    if not all(isinstance(d, int) for d in sizes):
        if len(sizes) == 1:
            return s0
        raise ShapeError(f"concatenate: the sizes along axis {axis} must be ints, got "
                         + ", ".join(fmt(s) for s in shapes), op="concatenate", shapes=shapes)
    return s0[:axis] + (sum(sizes),) + s0[axis + 1:]  # type: ignore[arg-type]


def _concat_vjp(g: Expr, out: Expr, *xs: Expr, axis: int) -> tuple[Expr, ...]:
    """y = [x₁ x₂ …] along axis;  x̄ᵢ = the slice of ȳ that xᵢ filled."""
    cots = []
    start = 0
    for x in xs:
        stop = start + x.shape[axis]
        cots.append(getitem(g, index=(slice(None),) * axis + (slice(start, stop),)))
        start = stop
    return tuple(cots)


def _concat_latex(args: list[str], kw: dict[str, Any]) -> str:
    if kw["axis"] in (0, 1):
        sep = r" \\ " if kw["axis"] == 0 else " & "
        return r"\begin{bmatrix} " + sep.join(args) + r" \end{bmatrix}"
    return r"\operatorname{concatenate}\left(" + ", ".join(args) + r"\right)"


def _concat_sympy(*xs: Any, axis: int) -> Any:
    sp = _sp()
    if axis == 0:
        return sp.BlockMatrix([[x] for x in xs])
    if axis == 1:
        return sp.BlockMatrix([list(xs)])
    return None


concatenate_op = register(Op(
    "concatenate", None, _concat_shape, numpy=_seq_numpy("concatenate"),
    normalize=_concat_norm, vjp=_concat_vjp,
    jvp=lambda ts, out, *xs, axis: concatenate_op(*_zero_tangents(ts, xs), axis=axis),
    text=Notation(lambda a, kw: f"concatenate([{', '.join(a)}], axis={kw['axis']})"),
    latex=Notation(_concat_latex, ATOM), sympy=_concat_sympy,
    doc="y = the arguments joined along an existing axis (block matrix for axis 0 or 1);  "
        "x̄ᵢ = the slice of ȳ that xᵢ filled.",
))


def concatenate(xs: Sequence[Any], axis: int = 0) -> Expr:
    """NumPy's concatenate: a list of expressions joined along an existing ``axis``."""
    if isinstance(xs, Expr) or not isinstance(xs, (list, tuple)):
        raise SymbackError("concatenate: expects a list of expressions")
    return concatenate_op(*xs, axis=axis)


# ---------------------------------------------------------------- indexing

# A normalised index is a tuple of entries: ("i", k) an int, ("s", start, stop, step) a
# slice (None parts as in Python), ("n",) a new axis. Ellipsis is expanded, trailing
# full slices dropped, so equal selections intern to one node.
Index = tuple[tuple[Any, ...], ...]
_FULL = ("s", None, None, None)


def _is_int(v: Any) -> bool:
    import numpy as np

    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def _canonical(index: Any) -> bool:
    return isinstance(index, tuple) and all(
        isinstance(e, tuple) and e and e[0] in ("i", "s", "n") for e in index)


def _raw_entries(index: Any) -> list[Any]:
    items = list(index) if isinstance(index, tuple) else [index]
    out: list[Any] = []
    for it in items:
        if it is None or it is Ellipsis:
            out.append(it)
        elif _is_int(it):
            out.append(("i", int(it)))
        elif isinstance(it, slice):
            parts = []
            for p in (it.start, it.stop, it.step):
                if p is not None and not _is_int(p):
                    raise SymbackError(f"index: slice bounds must be constant ints, got {it!r}")
                parts.append(None if p is None else int(p))
            if parts[2] == 0:
                raise SymbackError("index: slice step cannot be zero")
            out.append(("s", *parts))
        else:
            what = "an expression" if isinstance(it, Expr) else type(it).__name__
            raise SymbackError(
                f"index: only constant ints, slices, None and ... are supported, got {what}; "
                "use sb.where or a product with a constant mask for a data-dependent selection")
    return out


def _getitem_norm(args: tuple[Expr, ...], attrs: dict[str, Any]) -> dict[str, Any]:
    index = attrs["index"]
    xs = args[0].shape
    entries = list(index) if _canonical(index) else _raw_entries(index)
    entries = [("n",) if e is None else e for e in entries]
    ellipses = [i for i, e in enumerate(entries) if e is Ellipsis]
    if len(ellipses) > 1:
        raise SymbackError("index: an index can only have a single ellipsis ('...')")
    used = sum(1 for e in entries if e is not Ellipsis and e[0] != "n")
    if used > len(xs):
        raise ShapeError(f"index: too many indices ({used}) for shape {fmt(xs)}",
                         op="getitem", shapes=(xs,))
    if ellipses:
        i = ellipses[0]
        entries = entries[:i] + [_FULL] * (len(xs) - used) + entries[i + 1:]
    out: list[tuple[Any, ...]] = []
    axis = 0
    for e in entries:
        if e[0] == "n":
            out.append(e)
            continue
        d = xs[axis]
        if e[0] == "i":
            k = e[1]
            if isinstance(d, int):
                if not -d <= k < d:
                    raise ShapeError(f"index: {k} is out of bounds for axis {axis} with size {d}",
                                     op="getitem", shapes=(xs,))
                k = k % d
            out.append(("i", k))
        else:
            _, start, stop, step = e
            if step == 1:
                step = None
            if (step is None or step > 0) and start == 0:
                start = None
            if isinstance(d, int) and (step is None or step > 0) and stop is not None \
                    and stop >= d:
                stop = None
            out.append(("s", start, stop, step))
        axis += 1
    while out and out[-1] == _FULL:
        out.pop()
    return {"index": tuple(out)}


def _getitem_shape(shapes: tuple[Shape, ...], *, index: Index) -> Shape:
    xs = shapes[0]
    out: list[Dim] = []
    axis = 0
    for e in index:
        if e[0] == "n":
            out.append(1)
            continue
        d = xs[axis]
        axis += 1
        if e[0] == "i":
            continue
        _, start, stop, step = e
        if isinstance(d, int):
            out.append(len(range(*slice(start, stop, step).indices(d))))
        elif start is None and stop is None and step in (None, -1):
            out.append(d)
        else:
            raise ShapeError(f"index: slicing the symbolic dimension {d!r} of {fmt(xs)} with "
                             "bounds gives an unknown length (give int sizes)",
                             op="getitem", shapes=(xs,))
    return tuple(out) + xs[axis:]


def index_source(index: Index) -> str:
    """The index as Python source, e.g. ``0, 1:3, None`` (``()`` when empty)."""
    parts = []
    for e in index:
        if e[0] == "n":
            parts.append("None")
        elif e[0] == "i":
            parts.append(str(e[1]))
        else:
            _, a, b, c = e
            s = f"{'' if a is None else a}:{'' if b is None else b}"
            parts.append(s + (f":{c}" if c is not None else ""))
    if not parts:
        return "()"
    return ", ".join(parts) + ("," if len(parts) == 1 and index[0][0] == "n" else "")


def _index_latex(index: Index) -> str:
    return index_source(index).replace("None", r"\mathrm{new}").rstrip(",")


getitem_op = register(Op(
    "getitem", 1, _getitem_shape,
    numpy=lambda args, kw: f"{args[0]}[{index_source(kw['index'])}]",
    normalize=_getitem_norm,
    simplify=lambda x, *, index: x if not index else None,
    vjp=lambda g, out, x, *, index: (index_scatter(g, shape=x.shape, index=index),),
    jvp=lambda ts, out, x, *, index: getitem_op(ts[0], index=index),
    view=True, dtype=_same_dtype,
    text=Notation(lambda a, kw: f"{a[0]}[{index_source(kw['index'])}]", POSTFIX, POSTFIX),
    latex=Notation(lambda a, kw: f"{a[0]}_{{{_index_latex(kw['index'])}}}", POSTFIX, POSTFIX),
    sympy=lambda x, *, index: x[tuple(e[1] for e in index)]
    if len(index) == 2 and all(e[0] == "i" for e in index) else None,
    doc="y = x[index] with constant ints, slices and None (NumPy basic indexing);  "
        "x̄ = zeros of x's shape with ȳ written at index.",
))


def getitem(x: Any, index: Any) -> Expr:
    """``x[index]`` for constant ints, slices, ``None`` and ``...`` (what ``Expr[...]`` calls)."""
    return getitem_op(x, index=index)


def _scatter_norm(args: tuple[Expr, ...], attrs: dict[str, Any]) -> dict[str, Any]:
    shape = check_shape(attrs["shape"], what="index_scatter")
    probe = _getitem_norm((_ShapeOnly(shape),), {"index": attrs["index"]})  # type: ignore
    return {"shape": shape, "index": probe["index"]}


class _ShapeOnly:
    """Stands in for an argument when only its shape matters (index normalisation)."""

    def __init__(self, shape: Shape) -> None:
        self.shape = shape


def _scatter_shape(shapes: tuple[Shape, ...], *, shape: Shape, index: Index) -> Shape:
    want = _getitem_shape((shape,), index=index)
    if shapes[0] != want:
        raise ShapeError(f"index_scatter: the values have shape {fmt(shapes[0])} but "
                         f"index {index_source(index)} of {fmt(shape)} selects {fmt(want)}",
                         op="index_scatter", shapes=(shapes[0], want))
    return shape


index_scatter_op = register(Op(
    "index_scatter", 1, _scatter_shape,
    numpy=lambda args, kw: (f"index_scatter({args[0]}, {_shape_src(kw['shape'], kw)}, "
                            f"np.s_[{index_source(kw['index'])}])"),
    helpers=("index_scatter",), normalize=_scatter_norm,
    vjp=lambda g, out, x, *, shape, index: (getitem_op(g, index=index),),
    jvp=lambda ts, out, x, *, shape, index: index_scatter_op(
        ts[0], shape=shape + ts[0].shape[x.ndim:], index=index),
    dtype=_same_dtype,
    text=Notation(lambda a, kw: f"index_scatter({a[0]}, shape={kw['shape']!r}, "
                  f"index=np.s_[{index_source(kw['index'])}])"),
    latex=Notation(lambda a, kw: r"\operatorname{embed}_{" + _index_latex(kw["index"])
                   + r"}\left(" + a[0] + r"\right)", ATOM),
    doc="y = zeros(shape) with y[index] = x: the adjoint (transpose) of indexing;  "
        "x̄ = ȳ[index].",
))


def index_scatter(x: Any, shape: Shape, index: Any) -> Expr:
    """Zeros of ``shape`` with ``x`` written at ``index`` (the VJP of indexing)."""
    return index_scatter_op(x, shape=shape, index=index)


# ---------------------------------------------------------------- tensordot


def _td_norm(args: tuple[Expr, ...], attrs: dict[str, Any]) -> dict[str, Any]:
    a, b = args
    axes = attrs.get("axes", 2)
    if _is_int(axes):
        k = int(axes)
        if not 0 <= k <= min(a.ndim, b.ndim):
            raise ShapeError(f"tensordot: axes={k} does not fit shapes {fmt(a.shape)} and "
                             f"{fmt(b.shape)}", op="tensordot", shapes=(a.shape, b.shape))
        ia: tuple[int, ...] = tuple(range(a.ndim - k, a.ndim))
        ib: tuple[int, ...] = tuple(range(k))
    else:
        try:
            ra, rb = axes
            ra = (ra,) if _is_int(ra) else tuple(ra)
            rb = (rb,) if _is_int(rb) else tuple(rb)
            ia = tuple(int(i) % a.ndim if a.ndim else int(i) for i in ra)
            ib = tuple(int(i) % b.ndim if b.ndim else int(i) for i in rb)
        except (TypeError, ValueError, ZeroDivisionError):
            raise ShapeError(f"tensordot: axes={axes!r} is not an int or a pair of axis lists",
                             op="tensordot")
    return {"axes": (ia, ib)}


def _td_shape(shapes: tuple[Shape, ...], *, axes: tuple[tuple[int, ...], tuple[int, ...]]
              ) -> Shape:
    a, b = shapes
    ia, ib = axes
    bad = (len(ia) != len(ib) or len(set(ia)) != len(ia) or len(set(ib)) != len(ib)
           or any(not 0 <= i < len(a) for i in ia) or any(not 0 <= i < len(b) for i in ib)
           or any(a[i] != b[j] for i, j in zip(ia, ib)))
    if bad:
        raise ShapeError(f"tensordot: cannot contract axes {ia} of {fmt(a)} with axes {ib} of "
                         f"{fmt(b)}", op="tensordot", shapes=shapes)
    return (tuple(d for i, d in enumerate(a) if i not in ia)
            + tuple(d for i, d in enumerate(b) if i not in ib))


def _argsort(seq: Sequence[int]) -> tuple[int, ...]:
    return tuple(sorted(range(len(seq)), key=lambda i: seq[i]))


def _td_simplify(a: Expr, b: Expr, *, axes: tuple[tuple[int, ...], tuple[int, ...]]
                 ) -> Expr | None:
    ia, ib = axes
    if len(ia) == 1 and a.op is eye_op:  # Σₖ δᵢₖ Tₖ… = Tᵢ…
        return b if ib == (0,) else transpose(b, axes=(ib[0],) + tuple(
            i for i in range(b.ndim) if i != ib[0]))
    if len(ia) == 1 and b.op is eye_op:  # Σₖ T…ₖ… δₖⱼ: axis ia moves to the end
        return transpose(a, axes=tuple(i for i in range(a.ndim) if i != ia[0]) + ia)
    if 1 <= a.ndim <= 2 and 1 <= b.ndim <= 2 and len(ia) == 1:
        if ia == (a.ndim - 1,) and ib == (0,):
            return matmul(a, b)
        if a.ndim == 2 and ia == (0,) and ib == (0,):
            return matmul(transpose(a), b)
        if b.ndim == 2 and ia == (a.ndim - 1,) and ib == (1,):
            return matmul(a, transpose(b))
    if ia == tuple(range(a.ndim)) and ib == tuple(range(b.ndim)) and a.ndim:
        return sum_(mul(a, b), axis=None)  # ⟨A, B⟩ = Σ A ⊙ B
    return None


def _td_vjp(g: Expr, out: Expr, a: Expr, b: Expr, *,
            axes: tuple[tuple[int, ...], tuple[int, ...]]) -> tuple[Expr, Expr]:
    """C = Σ over paired axes of A ⊗ B (free axes of A, then of B);
    Ā = Ḡ contracted with B over B's free axes (then axes put back in A's order); B̄ likewise."""
    ia, ib = axes
    fa = [i for i in range(a.ndim) if i not in ia]
    fb = [i for i in range(b.ndim) if i not in ib]
    # B's contracted axes come out of tensordot in B's order (sorted ib), each standing for
    # its partner axis of A; likewise A's for B (the pairing need not be sorted: ((0, 1), (1, 0)))
    ga = tensordot_op(g, b, axes=(tuple(range(len(fa), len(fa) + len(fb))), tuple(fb)))
    a_of = [ia[ib.index(j)] for j in sorted(ib)]
    ga = transpose(ga, axes=_argsort(fa + a_of)) if ga.ndim else ga
    gb = tensordot_op(a, g, axes=(tuple(fa), tuple(range(len(fa)))))
    b_of = [ib[ia.index(i)] for i in sorted(ia)]
    gb = transpose(gb, axes=_argsort(b_of + fb)) if gb.ndim else gb
    return ga, gb


def _td_jvp(ts: tuple[Expr | None, ...], out: Expr, a: Expr, b: Expr, *,
            axes: tuple[tuple[int, ...], tuple[int, ...]]) -> Expr:
    """Bilinear: Ċ = tensordot(Ȧ, B) + tensordot(A, Ḃ), batch axes moved last."""
    ta, tb = ts
    ia, ib = axes
    terms = []
    if ta is not None:
        nb = ta.ndim - a.ndim
        r = tensordot_op(ta, b, axes=axes)  # free(A), B…, free(B)
        na = a.ndim - len(ia)
        nfb = b.ndim - len(ib)
        perm = tuple(range(na)) + tuple(range(na + nb, na + nb + nfb)) + tuple(
            range(na, na + nb))
        terms.append(transpose(r, axes=perm) if nb and nfb else r)
    if tb is not None:
        terms.append(tensordot_op(a, tb, axes=axes))
    return terms[0] if len(terms) == 1 else terms[0] + terms[1]


tensordot_op = register(Op(
    "tensordot", 2, _td_shape, numpy="np.tensordot({0}, {1}, axes={axes})",
    normalize=_td_norm, simplify=_td_simplify, vjp=_td_vjp, jvp=_td_jvp,
    text=Notation("tensordot({0}, {1}, axes={axes})"),
    latex=Notation(lambda a, kw: r"\operatorname{tensordot}_{" + str(kw["axes"][0]) + ","
                   + str(kw["axes"][1]) + r"}\left(" + a[0] + ", " + a[1] + r"\right)", ATOM),
    sympy=None,
    doc="C = Σ over the paired axes of A and B (NumPy's tensordot); free axes of A then B.  "
        "Used for Jacobians of matrix products; a plain matrix product simplifies to matmul.",
))


def tensordot(a: Any, b: Any, axes: Any = 2) -> Expr:
    """NumPy's tensordot: contract ``axes`` (an int, or a pair of axis lists) of a and b."""
    return tensordot_op(a, b, axes=axes)


# ---------------------------------------------------------------- dot (a plain function)


def dot(a: Any, b: Any) -> Expr:
    """NumPy's dot for scalars, vectors and matrices: a product for 0-D, else ``a @ b``.

    For 1-D and 2-D operands np.dot and np.matmul agree, so ``dot`` builds a matmul
    node (one op, one derivative).
    """
    ea, eb = as_expr(a), as_expr(b)
    if ea.ndim == 0 or eb.ndim == 0:
        return mul(ea, eb)
    if ea.ndim > 2 or eb.ndim > 2:
        raise ShapeError(f"dot: only 0-D, 1-D and 2-D operands are supported, got "
                         f"{fmt(ea.shape)} and {fmt(eb.shape)}", op="dot",
                         shapes=(ea.shape, eb.shape))
    return matmul(ea, eb)

