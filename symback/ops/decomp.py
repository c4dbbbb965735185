"""Matrix decompositions and triangular solves: ``tril``/``triu``, ``solve_triangular``,
``cholesky``, and the tuple-valued ``slogdet``, ``eigh``, ``svd``, ``qr``.

All of them work on stacks of matrices (leading axes are batch axes, as in NumPy).

A tuple-valued NumPy function is one graph node whose value is its results *packed* into
one array (``slogdet``: sign and log|det| stacked; ``eigh``: the eigenvalues as a first row
above the eigenvectors; ``svd``: U, the singular values and V = vhᵀ one above the other;
``qr``: Q above Rᵀ), and ``part`` nodes that read one result out of it (a slice, a view).
So a graph that uses both ``w`` and ``v`` computes the decomposition once. Each ``part``
also holds the decomposed matrix (for printing only: ``\\lambda(X)``, ``V(X)``).

Forward rules (``jvp``) move a tangent's trailing batch axes to the front, apply the
batched formula, and move them back (:func:`~symback.ops.contract.lead_tangent`).

Conventions: ``cholesky`` and ``eigh`` treat their input as symmetric — the derivative is
taken with respect to the symmetric part (Ā is symmetrised, as JAX, PyTorch and autograd
do), although NumPy reads only the lower triangle. ``eigh`` assumes distinct eigenvalues,
``svd`` distinct nonzero singular values; at repeated ones the derivatives are infinite or
NaN. ``solve_triangular`` reads only the triangle it is told to (its gradient is zero
outside it).
"""

from __future__ import annotations

from typing import Any

from ..errors import ShapeError, SymbackError
from ..graph import Expr, Op, as_expr
from ..notation import ATOM, Notation
from ..shapes import Shape, fmt
from . import register
from .contract import lead_tangent, matmul, mT, trail_tangent
from .einsum import einsum_op
from .elementwise import div, mul, sub
from .index import _getitem_norm, _getitem_shape, getitem, index_scatter, index_source
from .shape import concatenate
from .structural import expand_dims
from .triangular import _sq, solve_triangular_op, tril_op

# ---------------------------------------------------------------- helpers


_B = "abcdefgh"


def _diag_part(x: Expr) -> Expr:
    """The diagonals of a stack of square matrices, (..., n, n) → (..., n)."""
    b = _B[:x.ndim - 2]
    return einsum_op(x, subscripts=f"{b}ii->{b}i")


def _scale_cols(x: Expr, s: Expr) -> Expr:
    """X S (S = diag(s)): column j times sⱼ."""
    return mul(x, expand_dims(s, axis=(s.ndim - 1,)))


def _scale_rows(s: Expr, x: Expr) -> Expr:
    """S X: row i times sᵢ."""
    return mul(expand_dims(s, axis=(s.ndim,)), x)


def _sym(x: Expr) -> Expr:
    """½ (X + Xᵀ) per matrix."""
    return mul(x + mT(x), 0.5)


def _gap_inverse(w: Expr) -> Expr:
    """F with Fᵢⱼ = 1 / (wⱼ − wᵢ) off the diagonal and 0 on it (distinct wᵢ assumed).

    Written as d / (d² + tiny), d = wⱼ − wᵢ: exactly 0 where d = 0, 1/d (to a relative
    1e-38/d²) elsewhere; no identity matrix, so float32 stays float32."""
    d = sub(expand_dims(w, axis=(w.ndim - 1,)), expand_dims(w, axis=(w.ndim,)))
    return div(d, mul(d, d) + _TINY)


_TINY = 1.1754943508222875e-38  # np.finfo(np.float32).tiny


# ---------------------------------------------------------------- cholesky


def _phi(x: Expr) -> Expr:
    """Φ(X): the lower triangle with the diagonal halved."""
    return mul(tril_op(x, k=0) + tril_op(x, k=-1), 0.5)


def _chol_shape(shapes: tuple[Shape, ...]) -> Shape:
    _sq("cholesky", shapes[0])
    return shapes[0]


def _chol_vjp(g: Expr, out: Expr, x: Expr) -> tuple[Expr]:
    """A = L Lᵀ:  Ā = sym(L⁻ᵀ Φ(Lᵀ L̄) L⁻¹), Φ = lower triangle with the diagonal halved."""
    p = _phi(matmul(mT(out), g))
    y = solve_triangular_op(out, p, trans=1, lower=True)  # L⁻ᵀ P
    s = mT(solve_triangular_op(out, mT(y), trans=1, lower=True))  # (L⁻ᵀ P) L⁻¹
    return (_sym(s),)


def _chol_jvp(ts: tuple[Expr | None, ...], out: Expr, x: Expr) -> Expr:
    """L̇ = L Φ(L⁻¹ sym(Ȧ) L⁻ᵀ)."""
    t = ts[0]
    nb = t.ndim - x.ndim
    a = _sym(lead_tangent(t, x, x.ndim))
    z = solve_triangular_op(out, a, lower=True)  # L⁻¹ Ȧ
    w = mT(solve_triangular_op(out, mT(z), lower=True))  # L⁻¹ Ȧ L⁻ᵀ
    return trail_tangent(matmul(out, _phi(w)), nb)


cholesky_op = register(Op(
    "cholesky", 1, _chol_shape, numpy="np.linalg.cholesky({0})",
    vjp=_chol_vjp, jvp=_chol_jvp,
    text=Notation("linalg.cholesky({0})"), latex=Notation(r"\operatorname{{chol}}({0})", ATOM),
    doc="L = chol(A), lower triangular with A = L Lᵀ (A symmetric positive definite; stacks "
        "too);  L̇ = L Φ(L⁻¹ Ȧ L⁻ᵀ), Ā = sym(L⁻ᵀ Φ(Lᵀ L̄) L⁻¹) (Φ: lower triangle, half "
        "diagonal; derivative with respect to the symmetric part of A).",
))


def cholesky(a: Any) -> Expr:
    """NumPy's ``linalg.cholesky``: the lower-triangular L with A = L Lᵀ, for a symmetric
    positive-definite A (or a stack). NumPy reads only the lower triangle of A; symback's
    derivative is with respect to the symmetric part of A (Ā is symmetric), as JAX's:
    L̇ = L Φ(L⁻¹ Ȧ L⁻ᵀ), Φ(X) = the lower triangle of X with its diagonal halved.

    >>> import symback as sb
    >>> sb.latex(sb.linalg.cholesky(sb.tensor("K", (3, 3))))
    '\\\\operatorname{chol}(K)'
    """
    return cholesky_op(a)


# ---------------------------------------------------------------- packed results + parts


def _part_norm(args: tuple[Expr, ...], attrs: dict[str, Any]) -> dict[str, Any]:
    idx = _getitem_norm(args[:1], {"index": attrs["index"]})["index"]
    return {"index": idx, "label": attrs["label"]}


def _part_shape(shapes: tuple[Shape, ...], *, index: Any, label: str) -> Shape:
    return _getitem_shape(shapes[:1], index=index)


_PART_TEXT = {"sign": "linalg.slogdet_sign({1})", "logabsdet": "linalg.logabsdet({1})",
              "w": "linalg.eigvalsh({1})", "v": "linalg.eigh_vectors({1})",
              "u": "linalg.svd_u({1})", "s": "linalg.svdvals({1})",
              "svd_v": "linalg.svd_vh({1}).T", "q": "linalg.qr_q({1})",
              "qr_rt": "linalg.qr_r({1}).T"}
_PART_LATEX = {"sign": r"\operatorname{{sign}} \det {1}",
               "logabsdet": r"\log \left|\det {1}\right|",
               "w": r"\lambda\left({1}\right)", "v": r"V\left({1}\right)",
               "u": r"U\left({1}\right)", "s": r"\sigma\left({1}\right)",
               "svd_v": r"V\left({1}\right)", "q": r"Q\left({1}\right)",
               "qr_rt": r"R\left({1}\right)^{{T}}"}


def _part_jvp(ts: tuple[Expr | None, ...], out: Expr, p: Expr, x: Expr, *, index: Any,
              label: str) -> Expr:
    return getitem(ts[0], index=index)


def _part_vjp(g: Expr, out: Expr, p: Expr, x: Expr, *, index: Any, label: str
              ) -> tuple[Expr, None]:
    if label == "sign":
        return None, None  # the sign of det X is piecewise constant
    return index_scatter(g, shape=p.shape, index=index), None


part_op = register(Op(
    "linalg_part", 2, _part_shape, numpy=lambda a, kw: f"{a[0]}[{index_source(kw['index'])}]",
    normalize=_part_norm, vjp=_part_vjp, jvp=_part_jvp, view=True,
    dtype=lambda args, **kw: args[0].dtype,
    text=Notation(lambda a, kw: _PART_TEXT[kw["label"]].format(*a)),
    latex=Notation(lambda a, kw: _PART_LATEX[kw["label"]].format(*a), ATOM),
    doc="One result of a tuple-valued decomposition (slogdet, eigh, svd, qr), read out of "
        "the node that holds them all packed (so the decomposition runs once);  the "
        "gradient goes to that slice (none for the sign of a determinant).",
))


def _part(packed: Expr, x: Expr, label: str, index: Any) -> Expr:
    return part_op(packed, x, index=index, label=label)


def _rows(nbatch: int, rows: Any) -> tuple[Any, ...]:
    return (Ellipsis, rows, slice(None))


# ---------------------------------------------------------------- slogdet


def _slogdet_shape(shapes: tuple[Shape, ...]) -> Shape:
    _sq("slogdet", shapes[0])
    return (2,) + shapes[0][:-2]


def _slogdet_vjp(g: Expr, out: Expr, x: Expr) -> tuple[Expr]:
    """(s, l) = slogdet X;  X̄ = l̄ X⁻ᵀ (the sign has no derivative)."""
    from .linalg import inv_nd

    gl = getitem(g, index=1)
    return (mul(expand_dims(gl, axis=(gl.ndim, gl.ndim + 1)), mT(inv_nd(x))),)


def _slogdet_jvp(ts: tuple[Expr | None, ...], out: Expr, x: Expr) -> Expr:
    """l̇ = tr(X⁻¹ Ẋ) per matrix; ṡ = 0."""
    from .linalg import inv_nd
    from .shape import stack

    t = ts[0]
    nb = t.ndim - x.ndim
    b = _B[:x.ndim - 2]
    e = "UVWXYZ"[:nb]
    dl = einsum_op(inv_nd(x), t, subscripts=f"{b}ij,{b}ji{e}->{b}{e}")
    return stack([mul(dl, 0.0), dl], axis=0)


slogdet_op = register(Op(
    "slogdet", 1, _slogdet_shape, numpy="np.stack(np.linalg.slogdet({0}))",
    vjp=_slogdet_vjp, jvp=_slogdet_jvp,
    text=Notation("linalg.slogdet_packed({0})"),
    latex=Notation(r"\operatorname{{slogdet}}({0})", ATOM),
    doc="(sign det X, log |det X|) stacked along a first axis of length 2 (one LU "
        "factorisation);  X̄ = l̄ X⁻ᵀ.",
))


def slogdet(a: Any) -> tuple[Expr, Expr]:
    """NumPy's ``linalg.slogdet``: ``(sign, logabsdet)`` with det A = sign · exp(logabsdet),
    right for negative determinants (``logdet`` is NaN there). Both come from one node.

    d logabsdet = tr(A⁻¹ dA), so Ā = l̄ A⁻ᵀ; the sign's derivative is zero.

    >>> import numpy as np, symback as sb
    >>> X = sb.tensor("X", (2, 2))
    >>> sign, logabs = sb.linalg.slogdet(X)
    >>> [float(v) for v in sb.lambdify([X], [sign, logabs])(np.diag([-2.0, 1.0]))]
    [-1.0, 0.6931471805599453]
    """
    x = as_expr(a)
    p = slogdet_op(x)
    return _part(p, x, "sign", 0), _part(p, x, "logabsdet", 1)


def slogdet_sign(a: Any) -> Expr:
    """The sign of det A (``slogdet(a)[0]``)."""
    return slogdet(a)[0]


def logabsdet(a: Any) -> Expr:
    """log |det A| (``slogdet(a)[1]``)."""
    return slogdet(a)[1]


# ---------------------------------------------------------------- eigh


def _eigh_shape(shapes: tuple[Shape, ...]) -> Shape:
    s = shapes[0]
    _sq("eigh", s)
    n = s[-1]
    if not isinstance(n, int):
        raise ShapeError(f"eigh: needs an int size, got shape {fmt(s)}", op="eigh", shapes=shapes)
    return s[:-2] + (n + 1, n)


def _unpack_eigh(p: Expr) -> tuple[Expr, Expr]:
    return getitem(p, index=(Ellipsis, 0, slice(None))), getitem(
        p, index=(Ellipsis, slice(1, None), slice(None)))


def _eigh_vjp(g: Expr, out: Expr, x: Expr) -> tuple[Expr]:
    """A = V diag(w) Vᵀ:  Ā = sym(V (diag(w̄) + F ⊙ Vᵀ V̄) Vᵀ), Fᵢⱼ = 1/(wⱼ − wᵢ)."""
    w, v = _unpack_eigh(out)
    gw, gv = _unpack_eigh(g)
    inner = mul(_gap_inverse(w), matmul(mT(v), gv))
    a = matmul(_scale_cols(v, gw) + matmul(v, inner), mT(v))  # V diag(w̄) Vᵀ + V (F ⊙ …) Vᵀ
    return (_sym(a),)


def _eigh_jvp(ts: tuple[Expr | None, ...], out: Expr, x: Expr) -> Expr:
    """ẇ = diag(Vᵀ Ȧ V), V̇ = V (F ⊙ Vᵀ Ȧ V) (Ȧ symmetrised)."""
    t = ts[0]
    nb = t.ndim - x.ndim
    w, v = _unpack_eigh(out)
    a = _sym(lead_tangent(t, x, x.ndim))
    p = matmul(matmul(mT(v), a), v)
    dw = _diag_part(p)
    dv = matmul(v, mul(_gap_inverse(w), p))
    packed = concatenate([expand_dims(dw, axis=(dw.ndim - 1,)), dv], axis=-2)
    return trail_tangent(packed, nb)


eigh_op = register(Op(
    "eigh", 1, _eigh_shape,
    numpy="(lambda w, v: np.concatenate((w[..., None, :], v), axis=-2))"
          "(*np.linalg.eigh({0}))",
    vjp=_eigh_vjp, jvp=_eigh_jvp,
    text=Notation("linalg.eigh_packed({0})"),
    latex=Notation(r"\operatorname{{eigh}}({0})", ATOM),
    doc="The eigenvalues (ascending; a first row) above the eigenvectors (columns) of a "
        "symmetric A;  ẇ = diag(Vᵀ Ȧ V), V̇ = V (F ⊙ Vᵀ Ȧ V), Fᵢⱼ = 1/(wⱼ − wᵢ) (distinct "
        "eigenvalues assumed; derivative with respect to the symmetric part of A).",
))


def eigh(a: Any, UPLO: str = "L") -> tuple[Expr, Expr]:
    """NumPy's ``linalg.eigh``: ``(w, v)``, the ascending eigenvalues and the orthonormal
    eigenvectors (columns of v) of a symmetric A (or a stack), with A = v diag(w) vᵀ.

    One node computes both. The derivative assumes distinct eigenvalues (it is infinite at
    a repeated one) and is taken with respect to the symmetric part of A:
    ẇ = diag(Vᵀ Ȧ V), V̇ = V (F ⊙ Vᵀ Ȧ V) with Fᵢⱼ = 1/(wⱼ − wᵢ), Fᵢᵢ = 0.
    ``UPLO='L'`` only (NumPy's default).

    >>> import numpy as np, symback as sb
    >>> A = sb.tensor("A", (2, 2))
    >>> w, v = sb.linalg.eigh(A)
    >>> sb.lambdify([A], sb.grad(sb.sum(w), A))(np.diag([1.0, 2.0]))  # d tr(A) / dA = I
    array([[1., 0.],
           [0., 1.]])
    """
    if UPLO != "L":
        raise SymbackError("eigh: only UPLO='L' is supported (the derivative treats A as "
                           "symmetric)")
    x = as_expr(a)
    p = eigh_op(x)
    return (_part(p, x, "w", (Ellipsis, 0, slice(None))),
            _part(p, x, "v", (Ellipsis, slice(1, None), slice(None))))


def eigvalsh(a: Any) -> Expr:
    """NumPy's ``linalg.eigvalsh``: the ascending eigenvalues of a symmetric A (``eigh``'s w)."""
    return eigh(a)[0]


def eigh_vectors(a: Any) -> Expr:
    """The eigenvectors of a symmetric A (``eigh(a)[1]``)."""
    return eigh(a)[1]


# ---------------------------------------------------------------- svd


def _svd_shape(shapes: tuple[Shape, ...]) -> Shape:
    s = shapes[0]
    if len(s) < 2 or not all(isinstance(d, int) for d in s[-2:]):
        raise ShapeError(f"svd: expects a matrix (or a stack) with int sizes, got shape "
                         f"{fmt(s)}", op="svd", shapes=shapes)
    m, n = s[-2:]
    return s[:-2] + (m + 1 + n, min(m, n))


def _unpack_svd(p: Expr, m: int) -> tuple[Expr, Expr, Expr]:
    """U (…, m, k), s (…, k), V (…, n, k) out of the packed array."""
    return (getitem(p, index=(Ellipsis, slice(0, m), slice(None))),
            getitem(p, index=(Ellipsis, m, slice(None))),
            getitem(p, index=(Ellipsis, slice(m + 1, None), slice(None))))


def _svd_vjp(g: Expr, out: Expr, x: Expr) -> tuple[Expr]:
    """A = U S Vᵀ (distinct nonzero sᵢ), Fᵢⱼ = 1/(sⱼ² − sᵢ²):
    Ā = U [(F ⊙ (UᵀŪ − ŪᵀU)) S + diag(s̄) + S (F ⊙ (VᵀV̄ − V̄ᵀV))] Vᵀ
        + (I − UUᵀ) Ū S⁻¹ Vᵀ + U S⁻¹ V̄ᵀ (I − VVᵀ)."""
    m = x.shape[-2]
    u, s, v = _unpack_svd(out, m)
    gu, gs, gv = _unpack_svd(g, m)
    f = _gap_inverse(mul(s, s))
    utgu = matmul(mT(u), gu)
    vtgv = matmul(mT(v), gv)
    core = (_scale_cols(mul(f, utgu - mT(utgu)), s)
            + _scale_rows(s, mul(f, vtgv - mT(vtgv))))
    ga = matmul(matmul(u, core) + _scale_cols(u, gs), mT(v))  # + U diag(s̄) Vᵀ
    pu = gu - matmul(u, utgu)  # (I − UUᵀ) Ū
    ga = ga + matmul(_scale_cols(pu, 1.0 / s), mT(v))
    pv = gv - matmul(v, vtgv)  # (I − VVᵀ) V̄
    ga = ga + matmul(_scale_cols(u, 1.0 / s), mT(pv))
    return (ga,)


def _svd_jvp(ts: tuple[Expr | None, ...], out: Expr, x: Expr) -> Expr:
    """dP = Uᵀ dA V;  ds = diag dP;  dU = U (F ⊙ (dP S + S dPᵀ)) + (I − UUᵀ) dA V S⁻¹;
    dV = V (F ⊙ (S dP + dPᵀ S)) + (I − VVᵀ) dAᵀ U S⁻¹."""
    t = ts[0]
    nb = t.ndim - x.ndim
    m = x.shape[-2]
    u, s, v = _unpack_svd(out, m)
    da = lead_tangent(t, x, x.ndim)
    f = _gap_inverse(mul(s, s))
    dav = matmul(da, v)
    dp = matmul(mT(u), dav)
    ds = _diag_part(dp)
    du = matmul(u, mul(f, _scale_cols(dp, s) + _scale_rows(s, mT(dp))))
    du = du + _scale_cols(dav - matmul(u, dp), 1.0 / s)
    datu = matmul(mT(da), u)
    dv = matmul(v, mul(f, _scale_rows(s, dp) + _scale_cols(mT(dp), s)))
    dv = dv + _scale_cols(datu - matmul(v, mT(dp)), 1.0 / s)
    packed = concatenate([du, expand_dims(ds, axis=(ds.ndim - 1,)), dv], axis=-2)
    return trail_tangent(packed, nb)


svd_op = register(Op(
    "svd", 1, _svd_shape,
    numpy="(lambda u, s, vh: np.concatenate((u, s[..., None, :], np.swapaxes(vh, -1, -2)), "
          "axis=-2))(*np.linalg.svd({0}, full_matrices=False))",
    forms={"xp": "(lambda u, s, vh: xp.concat((u, s[..., None, :], xp.matrix_transpose(vh)), "
                 "axis=-2))(*xp.linalg.svd({0}, full_matrices=False))"},
    vjp=_svd_vjp, jvp=_svd_jvp,
    text=Notation("linalg.svd_packed({0})"), latex=Notation(r"\operatorname{{svd}}({0})", ATOM),
    doc="U, the singular values (a row) and V = vhᵀ stacked (full_matrices=False);  "
        "derivatives for distinct nonzero singular values (Townsend's formulas).",
))


def svd(a: Any, full_matrices: bool = True, compute_uv: bool = True) -> Any:
    """NumPy's ``linalg.svd`` with ``full_matrices=False``: ``(u, s, vh)``, A = u diag(s) vh,
    s descending; ``compute_uv=False`` gives s alone. One node computes all three.

    The derivative assumes distinct nonzero singular values (it is infinite where two
    coincide; s alone is smooth there but symback's formula is not):
    ds = diag(Uᵀ dA V), and U̇, V̇ by Townsend's formulas with Fᵢⱼ = 1/(sⱼ² − sᵢ²).
    ``full_matrices=True`` (NumPy's default) is refused: the extra columns are not unique.

    >>> import symback as sb
    >>> u, s, vh = sb.linalg.svd(sb.tensor("A", (4, 3)), full_matrices=False)
    >>> u.shape, s.shape, vh.shape
    ((4, 3), (3,), (3, 3))
    """
    x = as_expr(a)
    if full_matrices and compute_uv and x.ndim >= 2 and x.shape[-1] != x.shape[-2]:
        raise SymbackError("svd: full_matrices=True is not supported for a non-square "
                           "matrix (the extra singular vectors are not unique); pass "
                           "full_matrices=False")
    p = svd_op(x)
    m = x.shape[-2]
    s = _part(p, x, "s", (Ellipsis, m, slice(None)))
    if not compute_uv:
        return s
    u = _part(p, x, "u", (Ellipsis, slice(0, m), slice(None)))
    v = _part(p, x, "svd_v", (Ellipsis, slice(m + 1, None), slice(None)))
    return u, s, mT(v)


def svdvals(a: Any) -> Expr:
    """NumPy's ``linalg.svdvals``: the singular values, descending (``svd``'s s)."""
    return svd(a, full_matrices=False, compute_uv=False)


def svd_u(a: Any) -> Expr:
    """U of ``svd(a, full_matrices=False)``."""
    return svd(a, full_matrices=False)[0]


def svd_vh(a: Any) -> Expr:
    """vh of ``svd(a, full_matrices=False)``."""
    return svd(a, full_matrices=False)[2]


# ---------------------------------------------------------------- qr


def _qr_shape(shapes: tuple[Shape, ...]) -> Shape:
    s = shapes[0]
    if len(s) < 2 or not all(isinstance(d, int) for d in s[-2:]) or s[-2] < s[-1]:
        raise ShapeError(f"qr: expects a matrix (or a stack) with at least as many rows as "
                         f"columns and int sizes, got shape {fmt(s)}", op="qr", shapes=shapes)
    m, n = s[-2:]
    return s[:-2] + (m + n, n)


def _unpack_qr(p: Expr, m: int) -> tuple[Expr, Expr]:
    return (getitem(p, index=(Ellipsis, slice(0, m), slice(None))),
            mT(getitem(p, index=(Ellipsis, slice(m, None), slice(None)))))


def _copyltu(x: Expr) -> Expr:
    """The lower triangle mirrored onto the upper: tril(X) + tril(X, −1)ᵀ."""
    return tril_op(x, k=0) + mT(tril_op(x, k=-1))


def _qr_vjp(g: Expr, out: Expr, x: Expr) -> tuple[Expr]:
    """A = QR (m ≥ n):  M = R R̄ᵀ − Q̄ᵀ Q;  Ā = (Q̄ + Q copyltu(M)) R⁻ᵀ."""
    m = x.shape[-2]
    q, r = _unpack_qr(out, m)
    gq, gr = _unpack_qr(g, m)
    mm = matmul(r, mT(gr)) - matmul(mT(gq), q)
    b = gq + matmul(q, _copyltu(mm))
    # B R⁻ᵀ = (R⁻¹ Bᵀ)ᵀ
    return (mT(solve_triangular_op(r, mT(b), lower=False)),)


def _qr_jvp(ts: tuple[Expr | None, ...], out: Expr, x: Expr) -> Expr:
    """C = Qᵀ Ȧ R⁻¹, Ω = tril(C, −1) − tril(C, −1)ᵀ;  Ṙ = (C − Ω) R,
    Q̇ = Ȧ R⁻¹ − Q (C − Ω)."""
    t = ts[0]
    nb = t.ndim - x.ndim
    m = x.shape[-2]
    q, r = _unpack_qr(out, m)
    da = lead_tangent(t, x, x.ndim)
    dar = mT(solve_triangular_op(r, mT(da), trans=1, lower=False))  # Ȧ R⁻¹
    c = matmul(mT(q), dar)
    low = tril_op(c, k=-1)
    k = c - (low - mT(low))
    dr = matmul(k, r)
    dq = dar - matmul(q, k)
    packed = concatenate([dq, mT(dr)], axis=-2)
    return trail_tangent(packed, nb)


qr_op = register(Op(
    "qr", 1, _qr_shape,
    numpy="(lambda q, r: np.concatenate((q, np.swapaxes(r, -1, -2)), axis=-2))"
          "(*np.linalg.qr({0}))",
    forms={"xp": "(lambda q, r: xp.concat((q, xp.matrix_transpose(r)), axis=-2))"
                 "(*xp.linalg.qr({0}))"},
    vjp=_qr_vjp, jvp=_qr_jvp,
    text=Notation("linalg.qr_packed({0})"), latex=Notation(r"\operatorname{{qr}}({0})", ATOM),
    doc="Q above Rᵀ (reduced QR, m ≥ n, full column rank);  Ṙ = (C − Ω) R, "
        "Q̇ = Ȧ R⁻¹ − Q (C − Ω), C = Qᵀ Ȧ R⁻¹, Ω = the antisymmetric part built from C's "
        "strict lower triangle.",
))


def qr(a: Any, mode: str = "reduced") -> tuple[Expr, Expr]:
    """NumPy's ``linalg.qr`` (``mode='reduced'``): ``(q, r)`` with A = q r, q (m, n) with
    orthonormal columns, r (n, n) upper triangular (NumPy's signs), for m ≥ n and full
    column rank. One node computes both; derivative by the standard reduced-QR formulas.

    >>> import symback as sb
    >>> q, r = sb.linalg.qr(sb.tensor("A", (4, 3)))
    >>> q.shape, r.shape
    ((4, 3), (3, 3))
    """
    if mode != "reduced":
        raise SymbackError(f"qr: only mode='reduced' is supported, got {mode!r}")
    x = as_expr(a)
    p = qr_op(x)
    m = x.shape[-2]
    q = _part(p, x, "q", (Ellipsis, slice(0, m), slice(None)))
    rt = _part(p, x, "qr_rt", (Ellipsis, slice(m, None), slice(None)))
    return q, mT(rt)


def qr_q(a: Any) -> Expr:
    """q of ``qr(a)``."""
    return qr(a)[0]


def qr_r(a: Any) -> Expr:
    """r of ``qr(a)``."""
    return qr(a)[1]


# ---------------------------------------------------------------- the packed nodes by name
# (the text forms of the packed nodes, so that sb.parse reads every printed graph back)


def slogdet_packed(a: Any) -> Expr:
    """The node holding ``slogdet``'s results, stacked: [sign, logabsdet]."""
    return slogdet_op(a)


def eigh_packed(a: Any) -> Expr:
    """The node holding ``eigh``'s results: the eigenvalues as a first row above V."""
    return eigh_op(a)


def svd_packed(a: Any) -> Expr:
    """The node holding ``svd``'s results: U, then s as a row, then V = vhᵀ."""
    return svd_op(a)


def qr_packed(a: Any) -> Expr:
    """The node holding ``qr``'s results: Q above Rᵀ."""
    return qr_op(a)
