"""Triangles and triangular solves: ``tril``/``triu`` (NumPy) and ``solve_triangular``,
``cho_solve`` (scipy.linalg's names, computed with NumPy: scipy is not needed).

All work on stacks of matrices (leading axes are batch axes). Forward rules move a
tangent's trailing batch axes to the front and back (:func:`~symback.ops.contract.lead_tangent`).
"""

from __future__ import annotations

from typing import Any

from ..errors import ShapeError, SymbackError
from ..graph import Expr, Op
from ..notation import ATOM, POSTFIX, Notation
from ..shapes import Shape, broadcast, check_flag, fmt
from . import register
from ._common import _is_int
from .contract import lead_tangent, matmul, mT, solve_tangent, trail_tangent
from .elementwise import mul
from .structural import expand_dims, squeeze


def _sq(name: str, s: Shape) -> None:
    if len(s) < 2 or s[-1] != s[-2]:
        raise ShapeError(f"{name}: expects a square matrix (or a stack of them), got shape "
                         f"{fmt(s)}", op=name, shapes=(s,))


# ---------------------------------------------------------------- tril / triu


def _k_norm(name: str) -> Any:
    def norm(args: tuple[Expr, ...], attrs: dict[str, Any]) -> dict[str, Any]:
        k = attrs.get("k", 0)
        if not _is_int(k):
            raise SymbackError(f"{name}: k must be an int, got {k!r}")
        if args[0].ndim < 2:
            raise ShapeError(f"{name}: expects a matrix (or a stack of them), got shape "
                             f"{fmt(args[0].shape)}", op=name, shapes=(args[0].shape,))
        return {"k": int(k)}
    return norm


def _tri_op(name: str, what: str) -> Op:
    ref: list[Op] = []

    def jvp(ts: tuple[Expr | None, ...], out: Expr, x: Expr, *, k: int) -> Expr:
        t = ts[0]
        nb = t.ndim - x.ndim
        return trail_tangent(ref[0](lead_tangent(t, x, x.ndim), k=k), nb)

    def latex(args: list[str], kw: dict[str, Any]) -> str:
        sub_ = f"_{{{kw['k']}}}" if kw["k"] else ""
        return rf"\operatorname{{{name}}}{sub_}\left({args[0]}\right)"

    op = register(Op(
        name, 1, lambda shapes, *, k: shapes[0], numpy=f"np.{name}({{0}}, k={{k}})",
        normalize=_k_norm(name), dtype=lambda args, **kw: args[0].dtype,
        vjp=lambda g, out, x, *, k: (ref[0](g, k=k),), jvp=jvp,
        text=Notation(name + "({0}, k={k})"), latex=Notation(latex, ATOM),
        doc=f"Y = X with the entries {what} the k-th diagonal set to 0 (NumPy's {name}, on "
            f"the last two axes); linear: X̄ = {name}(Ȳ, k).",
    ))
    ref.append(op)
    return op


tril_op = _tri_op("tril", "above")
triu_op = _tri_op("triu", "below")


def tril(m: Any, k: int = 0) -> Expr:
    """NumPy's ``tril``: the lower triangle of ``m`` (entries above diagonal ``k`` zeroed),
    for a matrix or a stack of matrices. Linear: the gradient is ``tril(ḡ, k)``.

    >>> import symback as sb
    >>> print(sb.latex(sb.tril(sb.tensor("X", (3, 3)), -1)))
    \\operatorname{tril}_{-1}\\left(X\\right)
    """
    return tril_op(m, k=k)


def triu(m: Any, k: int = 0) -> Expr:
    """NumPy's ``triu``: the upper triangle of ``m`` (entries below diagonal ``k`` zeroed),
    for a matrix or a stack of matrices. Linear: the gradient is ``triu(ḡ, k)``.

    >>> import numpy as np, symback as sb
    >>> X = sb.matrix("X", 2, 2)
    >>> sb.lambdify([X], sb.grad(sb.sum(sb.triu(X)), X))(np.zeros((2, 2)))
    array([[1., 1.],
           [0., 1.]])
    """
    return triu_op(m, k=k)


# ---------------------------------------------------------------- solve_triangular


def _st_norm(args: tuple[Expr, ...], attrs: dict[str, Any]) -> dict[str, Any]:
    trans = attrs.get("trans", 0)
    table = {0: 0, 1: 1, 2: 1, "N": 0, "T": 1, "C": 1}
    if isinstance(trans, bool) or trans not in table:
        raise SymbackError(f"solve_triangular: trans must be 0, 1, 2, 'N', 'T' or 'C', got "
                           f"{trans!r}")
    return {"trans": table[trans],
            "lower": check_flag("solve_triangular", "lower", attrs.get("lower", False)),
            "unit_diagonal": check_flag("solve_triangular", "unit_diagonal",
                                        attrs.get("unit_diagonal", False))}


def _st_shape(shapes: tuple[Shape, ...], *, trans: int, lower: bool, unit_diagonal: bool
              ) -> Shape:
    a, b = shapes
    _sq("solve_triangular", a)
    n = a[-1]
    if len(b) == 1:
        if b[0] != n:
            raise ShapeError(f"solve_triangular: a {fmt(a)} and b {fmt(b)} do not fit",
                             op="solve_triangular", shapes=shapes)
        return a[:-1]
    if b[-2] != n:
        raise ShapeError(f"solve_triangular: a {fmt(a)} and b {fmt(b)} do not fit (b must be "
                         f"(..., {n}, k) or ({n},))", op="solve_triangular", shapes=shapes)
    return broadcast("solve_triangular", a[:-2], b[:-2]) + b[-2:]


def _st_xp(args: list[str], kw: dict[str, Any]) -> str:
    """The NumPy form over the standard's names (matrix_transpose for swapaxes)."""
    a, b = args
    fn = "xp.tril" if kw["lower"] else "xp.triu"
    if kw["unit_diagonal"]:
        off = -1 if kw["lower"] else 1
        m = (f"({fn}({a}, k={off}) + xp.eye(({a}).shape[-1], dtype=({a}).dtype, "
             "device=_dev))")
    else:
        m = f"{fn}({a})"
    if kw["trans"]:
        m = f"xp.matrix_transpose({m})"
    return f"xp.linalg.solve({m}, {b})"


def _st_numpy(args: list[str], kw: dict[str, Any]) -> str:
    a, b = args
    fn = "np.tril" if kw["lower"] else "np.triu"
    if kw["unit_diagonal"]:
        off = -1 if kw["lower"] else 1
        m = f"({fn}({a}, {off}) + np.eye(({a}).shape[-1], dtype=({a}).dtype))"
    else:
        m = f"{fn}({a})"
    if kw["trans"]:
        m = f"np.swapaxes({m}, -1, -2)"
    return f"np.linalg.solve({m}, {b})"


def _mask(x: Expr, lower: bool, unit: bool) -> Expr:
    """The part of a gradient that falls on the entries solve_triangular reads."""
    if lower:
        return tril_op(x, k=-1 if unit else 0)
    return triu_op(x, k=1 if unit else 0)


def _st_vjp(g: Expr, out: Expr, a: Expr, b: Expr, *, trans: int, lower: bool,
            unit_diagonal: bool) -> tuple[Expr, Expr]:
    """x = op(T)⁻¹ b (T the triangle of a, op(T) = T or Tᵀ);  b̄ = op(T)⁻ᵀ x̄,
    ā = the triangle of −b̄ xᵀ (of −x b̄ᵀ when transposed)."""
    if b.ndim == 1 and g.ndim > 1:  # one vector per matrix of a stack: as columns
        gb = squeeze(solve_triangular_op(a, expand_dims(g, axis=(g.ndim,)), trans=1 - trans,
                                         lower=lower, unit_diagonal=unit_diagonal),
                     axis=(g.ndim,))
    else:
        gb = solve_triangular_op(a, g, trans=1 - trans, lower=lower,
                                 unit_diagonal=unit_diagonal)
    if b.ndim == 1:
        outer_ = mul(expand_dims(gb, axis=(gb.ndim,)), expand_dims(out, axis=(out.ndim - 1,)))
    else:
        outer_ = matmul(gb, mT(out))
    ga = -_mask(mT(outer_) if trans else outer_, lower, unit_diagonal)
    return ga, gb


def _st_jvp(ts: tuple[Expr | None, ...], out: Expr, a: Expr, b: Expr, *, trans: int,
            lower: bool, unit_diagonal: bool) -> Expr:
    """ẋ = op(T)⁻¹ (ḃ − op(Ṫ) x), batch axes moved to the front and back."""
    def matrix(m: Expr) -> Expr:
        m = _mask(m, lower, unit_diagonal)
        return mT(m) if trans else m

    return solve_tangent(ts[0], ts[1], out, a, b, matrix,
                         lambda r: solve_triangular_op(a, r, trans=trans, lower=lower,
                                                       unit_diagonal=unit_diagonal))


def _st_latex(args: list[str], kw: dict[str, Any]) -> str:
    t = args[0]
    return f"{t}^{{{'-T' if kw['trans'] else '-1'}}} {args[1]}"


solve_triangular_op = register(Op(
    "solve_triangular", 2, _st_shape, numpy=_st_numpy, normalize=_st_norm,
    forms={"xp": _st_xp},
    vjp=_st_vjp, jvp=_st_jvp,
    text=Notation("linalg.solve_triangular({0}, {1}, trans={trans}, lower={lower}, "
                  "unit_diagonal={unit_diagonal})"),
    latex=Notation(_st_latex, 30, (POSTFIX + 1, 31)),
    doc="x = T⁻¹ b (or T⁻ᵀ b with trans), T the lower or upper triangle of a (unit "
        "diagonal if asked), as scipy.linalg.solve_triangular; stacks broadcast;  "
        "b̄ = T⁻ᵀ x̄, ā = triangle of −b̄ xᵀ.",
))


def solve_triangular(a: Any, b: Any, trans: Any = 0, lower: bool = False,
                     unit_diagonal: bool = False) -> Expr:
    """scipy.linalg's ``solve_triangular``: x with op(T) x = b, T the ``lower`` (else upper)
    triangle of ``a`` (ones on its diagonal if ``unit_diagonal``), op(T) = T (``trans=0``
    or ``'N'``) or Tᵀ (``1``/``'T'``; ``2``/``'C'`` is the same for real input).

    ``a`` may be a stack (..., n, n); ``b`` is (n,) or (..., n, k). The generated code uses
    NumPy only (scipy is not needed). Derivative: b̄ = op(T)⁻ᵀ x̄ and ā = the triangle of
    −b̄ xᵀ (entries outside the triangle get zero gradient, as they are never read).

    >>> import symback as sb
    >>> L, b = sb.tensor("L", (3, 3)), sb.tensor("b", (3,))
    >>> sb.linalg.solve_triangular(L, b, lower=True).shape
    (3,)
    """
    return solve_triangular_op(a, b, trans=trans, lower=lower, unit_diagonal=unit_diagonal)


def cho_solve(c_and_lower: Any, b: Any) -> Expr:
    """scipy.linalg's ``cho_solve((c, lower), b)``: x = A⁻¹ b where A = c cᵀ (``lower``) or
    cᵀ c (upper), c a Cholesky factor. A plain function: two ``solve_triangular`` nodes, so
    the derivative is theirs (with respect to both c and b).

    >>> import numpy as np, symback as sb
    >>> c, b = sb.tensor("c", (2, 2)), sb.tensor("b", (2,))
    >>> f = sb.lambdify([c, b], sb.linalg.cho_solve((c, True), b))
    >>> f(np.array([[2.0, 0.0], [1.0, 1.0]]), np.array([4.0, 3.0]))  # A = c cᵀ = [[4, 2], [2, 2]]
    array([0.5, 1. ])
    """
    try:
        c, lower = c_and_lower
    except (TypeError, ValueError):
        raise SymbackError("cho_solve: the first argument must be a pair (c, lower)")
    lower = check_flag("cho_solve", "lower", lower)
    if lower:
        y = solve_triangular(c, b, trans=0, lower=True)
        return solve_triangular(c, y, trans=1, lower=True)
    y = solve_triangular(c, b, trans=1, lower=False)
    return solve_triangular(c, y, trans=0, lower=False)
