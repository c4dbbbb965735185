"""Linear-algebra ops: matmul (NumPy's meaning for 1-D and 2-D), transpose, outer, vdot.

Matrix-level VJPs keep every gradient at the shape of its argument
(Ḡ Bᵀ and Aᵀ Ḡ), so no 4th-order object ever appears.
"""

from __future__ import annotations

from typing import Any

from ..errors import ShapeError
from ..graph import Expr, Op
from ..printing.precedence import ATOM, JUXT, LOWEST, MUL, POSTFIX, Notation, infix
from ..shapes import Shape, fmt
from . import register
from .elementwise import mul
from .structural import expand_dims

# ---------------------------------------------------------------- transpose


def _transpose_norm(args: tuple[Expr, ...], attrs: dict[str, Any]) -> dict[str, Any]:
    nd = args[0].ndim
    axes = attrs.get("axes")
    if axes is None:
        return {"axes": tuple(range(nd))[::-1]}
    try:
        axes = tuple(int(a) + (nd if int(a) < 0 else 0) for a in axes)
    except TypeError:
        raise ShapeError(f"transpose: axes={attrs.get('axes')!r} is not a tuple of ints",
                         op="transpose")
    if sorted(axes) != list(range(nd)):
        raise ShapeError(
            f"transpose: axes {attrs.get('axes')!r} are not a permutation of the "
            f"{nd} axes of shape {fmt(args[0].shape)}", op="transpose", shapes=(args[0].shape,))
    return {"axes": axes}


def _transpose_simplify(x: Expr, *, axes: tuple[int, ...]) -> Expr | None:
    if axes == tuple(range(len(axes))):  # identity permutation (1-D .T)
        return x
    if x.op is transpose:  # (Aᵀ)ᵀ = A: compose the permutations
        inner = x.kw["axes"]
        return transpose(x.args[0], axes=tuple(inner[a] for a in axes))
    return None


def _transpose_vjp(g: Expr, out: Expr, x: Expr, *, axes: tuple[int, ...]) -> tuple[Expr]:
    """y = xᵀ (axes permuted by p);  x̄ = ȳ permuted by p⁻¹."""
    inv = [0] * len(axes)
    for i, a in enumerate(axes):
        inv[a] = i
    return (transpose(g, axes=tuple(inv)),)


def _transpose_numpy(args: list[str], kw: dict[str, Any]) -> str:
    axes = kw["axes"]
    if axes == tuple(range(len(axes)))[::-1]:
        return f"{args[0]}.T"
    return f"np.transpose({args[0]}, {axes!r})"


def _transpose_text(args: list[str], kw: dict[str, Any]) -> str:
    axes = kw["axes"]
    if axes == tuple(range(len(axes)))[::-1]:
        return f"{args[0]}.T"
    return f"transpose({args[0]}, axes={axes!r})"


def _transpose_latex(args: list[str], kw: dict[str, Any]) -> str:
    """``X^{T}`` (the mark is a printer option: ``\\top``); other permutations by name."""
    axes = kw["axes"]
    if axes == tuple(range(len(axes)))[::-1]:
        return f"{args[0]}^{{{kw.get('_T', 'T')}}}"
    return rf"\operatorname{{transpose}}_{{{axes!r}}}({args[0]})"


transpose = register(Op(
    "transpose", 1, lambda shapes, *, axes: tuple(shapes[0][a] for a in axes),
    numpy=_transpose_numpy, normalize=_transpose_norm, simplify=_transpose_simplify,
    vjp=_transpose_vjp, view=True, dtype=lambda args, **kw: args[0].dtype,
    # a tangent's trailing batch axes (symback.higher) stay where they are
    jvp=lambda ts, out, x, *, axes: transpose(
        ts[0], axes=axes + tuple(range(len(axes), ts[0].ndim))),
    text=Notation(_transpose_text, POSTFIX, POSTFIX),
    latex=Notation(_transpose_latex, POSTFIX, POSTFIX),
    doc="y = xᵀ (axes permuted by p; all reversed by default, as NumPy's .T);  x̄ = ȳ permuted by p⁻¹",
))

# ---------------------------------------------------------------- matmul


def _matmul_shape(shapes: tuple[Shape, ...]) -> Shape:
    a, b = shapes
    if not (1 <= len(a) <= 2 and 1 <= len(b) <= 2):
        raise ShapeError(
            f"matmul: {fmt(a)} @ {fmt(b)}: only 1-D and 2-D operands are supported "
            "(use sum over a product for higher ranks)", op="matmul", shapes=shapes)
    k1 = a[-1]
    k2 = b[0] if len(b) == 1 else b[-2]
    if k1 != k2:
        raise ShapeError(
            f"matmul: {fmt(a)} @ {fmt(b)}: inner dimensions {k1} and {k2} differ",
            op="matmul", shapes=shapes)
    return a[:-1] + b[1:] if len(b) == 2 else a[:-1]


def _matmul_vjp(g: Expr, out: Expr, a: Expr, b: Expr) -> tuple[Expr, Expr]:
    """y = a b.  2-D: ā = ȳ bᵀ, b̄ = aᵀ ȳ.  1-D cases: the same with outer products.

    a (n,) @ b (n, m): ā = b ȳ,  b̄ = a ȳᵀ (outer).
    a (m, n) @ b (n,): ā = ȳ bᵀ (outer),  b̄ = aᵀ ȳ.
    a (n,) @ b (n,):   ā = ȳ b,  b̄ = ȳ a.
    """
    if a.ndim == 2 and b.ndim == 2:
        return matmul(g, transpose(b)), matmul(transpose(a), g)
    if a.ndim == 1 and b.ndim == 2:
        return matmul(b, g), outer(a, g)
    if a.ndim == 2 and b.ndim == 1:
        return outer(g, b), matmul(transpose(a), g)
    return mul(g, b), mul(g, a)


# Matrix products by juxtaposition, which binds tighter than ⊙: ``X W \odot Y`` is
# (X W) ⊙ Y and ``(A \odot B) W^{T}`` keeps its parentheses. A vector on the left is a row.
# The matrix product is associative, so A (B C) prints as A B C.
_MATMUL_LATEX = Notation("{0} {1}", JUXT, (JUXT, JUXT))
_ROW_MATMUL_LATEX = Notation(lambda a, kw: f"{a[0]}^{{{kw.get('_T', 'T')}}} {a[1]}", JUXT,
                             (POSTFIX, JUXT))


def _matmul_latex(node: Expr) -> Notation:
    """``X W``; ``x^{T} W`` and ``x^{T} w`` when the left operand is a vector
    (``x^{T} A y`` when it is already a row, ``x^{T} A``)."""
    a = node.args[0]
    if a.ndim != 1 or (a.op is matmul and a.args[0].ndim == 1):
        return _MATMUL_LATEX
    return _ROW_MATMUL_LATEX


def _matmul_simplify(a: Expr, b: Expr) -> Expr | None:
    """A I = A and I A = A (an identity matrix is marked by its op: extra["identity"])."""
    if b.op.extra.get("identity"):
        return a
    if a.op.extra.get("identity"):
        return b
    return None


def _matmul_jvp(ts: tuple[Expr | None, ...], out: Expr, a: Expr, b: Expr) -> Expr:
    """ẏ = ȧ b + a ḃ.  Tangents may carry trailing batch axes B (symback.higher): a
    vector's tangent (k, N) is then a matrix and plain products do (bᵀ ȧ, a ḃ); other cases
    contract with tensordot and move B last."""
    from .matrix import tensordot_op

    ta, tb = ts
    terms = []
    if ta is not None:
        nb = ta.ndim - a.ndim
        if nb == 0:
            terms.append(matmul(ta, b))
        elif a.ndim == 1 and nb == 1:
            terms.append(matmul(transpose(b) if b.ndim == 2 else b, ta))
        else:
            r = tensordot_op(ta, b, axes=((a.ndim - 1,), (0,)))  # free(a), B, free(b)
            fa, fb = a.ndim - 1, b.ndim - 1
            perm = tuple(range(fa)) + tuple(range(fa + nb, fa + nb + fb)) + tuple(
                range(fa, fa + nb))
            terms.append(transpose(r, axes=perm))
    if tb is not None:
        nb = tb.ndim - b.ndim
        if nb == 0 or (b.ndim == 1 and nb == 1):
            terms.append(matmul(a, tb))
        else:
            terms.append(tensordot_op(a, tb, axes=((a.ndim - 1,), (0,))))
    return terms[0] if len(terms) == 1 else terms[0] + terms[1]


matmul = register(Op(
    "matmul", 2, _matmul_shape, numpy="{0} @ {1}", vjp=_matmul_vjp, jvp=_matmul_jvp,
    numpy_out="np.matmul({0}, {1}, {out})",
    simplify=_matmul_simplify,
    text=infix(" @ ", MUL), latex=Notation("{0} {1}", JUXT, (JUXT, JUXT + 1), _matmul_latex),
    doc="y = a @ b (NumPy's matmul, 1-D and 2-D);  ā = ȳ bᵀ, b̄ = aᵀ ȳ (outer products for the 1-D cases)",
))

# ---------------------------------------------------------------- outer


def _outer_shape(shapes: tuple[Shape, ...]) -> Shape:
    a, b = shapes
    if len(a) != 1 or len(b) != 1:
        raise ShapeError(f"outer: expects two vectors, got shapes {fmt(a)} and {fmt(b)}",
                         op="outer", shapes=shapes)
    return (a[0], b[0])


def _outer_jvp(ts: tuple[Expr | None, ...], a: Expr, b: Expr) -> Expr:
    """ẏ = ȧ bᵀ + a ḃᵀ (with trailing batch axes: ȧ[:, None, …] ⊙ b[None, :, None…] + …)."""
    ta, tb = ts
    terms = []
    if ta is not None:
        nb = ta.ndim - 1
        terms.append(outer(ta, b) if nb == 0 else mul(
            expand_dims(ta, axis=(1,)), expand_dims(b, axis=(0,) + tuple(range(2, 2 + nb)))))
    if tb is not None:
        nb = tb.ndim - 1
        terms.append(outer(a, tb) if nb == 0 else mul(
            expand_dims(a, axis=tuple(range(1, 2 + nb))), expand_dims(tb, axis=(0,))))
    return terms[0] if len(terms) == 1 else terms[0] + terms[1]


outer = register(Op(
    "outer", 2, _outer_shape, numpy="np.multiply.outer({0}, {1})",
    numpy_out="np.multiply.outer({0}, {1}, out={out})",
    vjp=lambda g, out, a, b: (matmul(g, b), matmul(a, g)),
    jvp=lambda ts, out, a, b: _outer_jvp(ts, a, b),
    latex=Notation(lambda a, kw: f"{a[0]} {a[1]}^{{{kw.get('_T', 'T')}}}", JUXT,
                   (JUXT, POSTFIX)),
    text=Notation("outer({0}, {1})"),
    doc="y = a bᵀ;  ā = ȳ b, b̄ = ȳᵀ a",
))


# ---------------------------------------------------------------- vdot


def _vdot_shape(shapes: tuple[Shape, ...]) -> Shape:
    a, b = shapes
    if a != b:
        raise ShapeError(f"vdot: expects two arrays of one shape, got {fmt(a)} and {fmt(b)}",
                         op="vdot", shapes=shapes)
    return ()


vdot = register(Op(
    "vdot", 2, _vdot_shape, numpy="np.vdot({0}, {1})",
    vjp=lambda g, out, a, b: (mul(g, b), mul(g, a)),
    jvp=lambda ts, out, a, b: _vdot_jvp(ts, a, b),
    text=Notation("vdot({0}, {1})"),
    latex=Notation("\\langle {0}, {1} \\rangle", ATOM, LOWEST),
    doc="y = Σ a ⊙ b over every entry (the flattened dot product; real arrays);  "
        "ā = ȳ b, b̄ = ȳ a.  What the LOWER rules compile Σ x² and Σ a⊙b into: "
        "one BLAS pass, no temporary and no reshape",
))


def _vdot_jvp(ts: tuple[Expr | None, ...], a: Expr, b: Expr) -> Expr:
    """ẏ = Σ ȧ⊙b + Σ a⊙ḃ, summed over a's axes (the leading ones; batch axes trail)."""
    from .reduce import sum_

    terms = []
    for t, other in ((ts[0], b), (ts[1], a)):
        if t is not None:
            nb = t.ndim - other.ndim
            o = other if nb == 0 else expand_dims(other, axis=tuple(range(other.ndim,
                                                                         other.ndim + nb)))
            terms.append(sum_(mul(t, o), axis=tuple(range(other.ndim))) if other.ndim
                         else mul(t, o))
    return terms[0] if len(terms) == 1 else terms[0] + terms[1]


def transpose_fn(x: Any, axes: Any = None) -> Expr:
    """xᵀ, or the axes permuted by ``axes`` (NumPy's meaning)."""
    return transpose(x, axes=axes)
