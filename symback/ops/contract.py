"""Contractions: matmul (``@``, stacks of matrices with broadcast batch axes), outer, vdot,
tensordot, cross (ops); dot, inner, outer (NumPy's flattening form), kron (plain functions
over these ops and ``einsum``, which lives in :mod:`symback.ops.einsum`).

``lead_tangent``/``trail_tangent`` move a tangent's trailing batch axes (symback.higher) to
the front and back, so that an op batched over leading axes can push a tangent through
itself; the linear-algebra modules use them for their forward rules.

Each op is one :class:`~symback.graph.Op` record (shape rule, NumPy form, VJP in symback ops,
batched JVP, notations, SymPy form).
"""

from __future__ import annotations

from typing import Any, Sequence

from ..errors import ShapeError
from ..graph import Expr, Op, as_expr
from ..notation import ATOM, JUXT, LOWEST, MUL, POSTFIX, Notation, infix
from ..shapes import Shape, broadcast, fmt
from . import _scalar, register
from ._common import _is_int
from .creation import eye_op
from .elementwise import mul
from .reduce import sum_
from .shape import transpose
from .structural import expand_dims, squeeze

# ---------------------------------------------------------------- matmul


def _matmul_shape(shapes: tuple[Shape, ...]) -> Shape:
    a, b = shapes
    if not a or not b:
        raise ShapeError(
            f"matmul: {fmt(a)} @ {fmt(b)}: operands must have at least one dimension "
            "(use * for scalars)", op="matmul", shapes=shapes)
    k1 = a[-1]
    k2 = b[0] if len(b) == 1 else b[-2]
    if k1 != k2:
        raise ShapeError(
            f"matmul: {fmt(a)} @ {fmt(b)}: inner dimensions {k1} and {k2} differ",
            op="matmul", shapes=shapes)
    if len(a) <= 2 and len(b) <= 2:
        return a[:-1] + b[1:] if len(b) == 2 else a[:-1]
    # stacks of matrices: the leading (batch) dimensions broadcast, as in NumPy
    batch = broadcast("matmul", a[:-2], b[:-2])
    return batch + a[-2:-1] + b[-1:] if len(b) >= 2 else batch + a[-2:-1]


def mT(x: Expr) -> Expr:
    """The matrix transpose of a stack of matrices (the last two axes swapped); Xᵀ for 2-D."""
    if x.ndim == 2:
        return transpose(x)
    n = x.ndim
    return transpose(x, axes=tuple(range(n - 2)) + (n - 1, n - 2))


def _batched_matmul_vjp(g: Expr, a: Expr, b: Expr) -> tuple[Expr, Expr]:
    """Stacks: ā = Ḡ Bᵀ, b̄ = Aᵀ Ḡ per matrix (a vector operand as a row / a column); the
    reverse pass sums the broadcast batch axes back to each operand's shape."""
    G = g
    if b.ndim == 1:
        G = expand_dims(G, axis=(G.ndim,))
    if a.ndim == 1:
        G = expand_dims(G, axis=(G.ndim - 1,))
    A = a if a.ndim >= 2 else expand_dims(a, axis=(0,))
    B = b if b.ndim >= 2 else expand_dims(b, axis=(1,))
    ga = matmul(G, mT(B))
    gb = matmul(mT(A), G)
    if a.ndim == 1:
        ga = squeeze(ga, axis=(ga.ndim - 2,))
    if b.ndim == 1:
        gb = squeeze(gb, axis=(gb.ndim - 1,))
    return ga, gb


def _matmul_letters(a: Expr, b: Expr, out_nd: int) -> tuple[str, str, str]:
    """Einsum subscripts of a @ b (batch letters right-aligned; size-1 axes broadcast)."""
    nbatch = out_nd - (a.ndim >= 2) - (b.ndim >= 2)
    batch = "abcdefgh"[:nbatch]
    sa = batch[nbatch - (a.ndim - 2):] + "mk" if a.ndim >= 2 else "k"
    sb_ = batch[nbatch - (b.ndim - 2):] + "kn" if b.ndim >= 2 else "k"
    so = batch + ("m" if a.ndim >= 2 else "") + ("n" if b.ndim >= 2 else "")
    return sa, sb_, so


def _batched_matmul_jvp(ts: tuple[Expr | None, ...], out: Expr, a: Expr, b: Expr) -> Expr:
    """ẏ = ȧ b + a ḃ as einsums, the tangents' trailing batch axes carried along."""
    from .einsum import einsum_op

    sa, sb_, so = _matmul_letters(a, b, out.ndim)
    terms = []
    for i, t in enumerate(ts):
        if t is None:
            continue
        extra = "UVWXYZ"[:t.ndim - (a, b)[i].ndim]
        if i == 0:
            subs = f"{sa + extra},{sb_}->{so + extra}"
        else:
            subs = f"{sa},{sb_ + extra}->{so + extra}"
        terms.append(einsum_op(t, b, subscripts=subs) if i == 0
                     else einsum_op(a, t, subscripts=subs))
    return terms[0] if len(terms) == 1 else terms[0] + terms[1]


def _matmul_vjp(g: Expr, out: Expr, a: Expr, b: Expr) -> tuple[Expr, Expr]:
    """y = a b.  2-D: ā = ȳ bᵀ, b̄ = aᵀ ȳ.  1-D cases: the same with outer products.

    a (n,) @ b (n, m): ā = b ȳ,  b̄ = a ȳᵀ (outer).
    a (m, n) @ b (n,): ā = ȳ bᵀ (outer),  b̄ = aᵀ ȳ.
    a (n,) @ b (n,):   ā = ȳ b,  b̄ = ȳ a.
    Stacks of matrices (3-D and more): the same per matrix, batch axes summed back.
    """
    if a.ndim > 2 or b.ndim > 2:
        return _batched_matmul_vjp(g, a, b)
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

    if a.ndim > 2 or b.ndim > 2:
        return _batched_matmul_jvp(ts, out, a, b)
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
    numpy_out="matmul_into({0}, {1}, {out})", helpers=("matmul_into",),
    simplify=_matmul_simplify,
    scalarize=lambda a, kw: _scalar.matmul(a[0], a[1]),  # sums left to right
    text=infix(" @ ", MUL), latex=Notation("{0} {1}", JUXT, (JUXT, JUXT + 1), _matmul_latex),
    doc="y = a @ b (NumPy's matmul: vectors, matrices, and stacks of matrices with the "
        "batch axes broadcast);  ā = ȳ bᵀ, b̄ = aᵀ ȳ (outer products for the 1-D cases)",
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
    forms={"xp": "xp.linalg.outer({0}, {1})"},
    numpy_out="np.multiply.outer({0}, {1}, out={out})",
    vjp=lambda g, out, a, b: (matmul(g, b), matmul(a, g)),
    jvp=lambda ts, out, a, b: _outer_jvp(ts, a, b),
    scalarize=lambda a, kw: _scalar.apply(lambda u, v: u * v, a[0][:, None], a[1][None, :]),
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
    forms={"xp": "xp.vecdot(xp.reshape({0}, (-1,)), xp.reshape({1}, (-1,)))",
           "torch": "torch.dot({0}.reshape(-1), {1}.reshape(-1))"},  # (compat's vecdot: slow)
    vjp=lambda g, out, a, b: (mul(g, b), mul(g, a)),
    jvp=lambda ts, out, a, b: _vdot_jvp(ts, a, b),
    scalarize=lambda a, kw: _scalar.sum_axes(_scalar.apply(lambda u, v: u * v, a[0], a[1]),
                                             None),
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
    scalarize=lambda a, kw: _scalar.tensordot(a[0], a[1], kw["axes"]),
    text=Notation("tensordot({0}, {1}, axes={axes})"),
    latex=Notation(lambda a, kw: r"\operatorname{tensordot}_{" + str(kw["axes"][0]) + ","
                   + str(kw["axes"][1]) + r"}\left(" + a[0] + ", " + a[1] + r"\right)", ATOM),
    sympy=None,
    doc="C = Σ over the paired axes of A and B (NumPy's tensordot); free axes of A then B.  "
        "Used for Jacobians of matrix products; a plain matrix product simplifies to matmul.",
))


def tensordot(a: Any, b: Any, axes: Any = 2) -> Expr:
    """NumPy's ``tensordot``: C = Σ over the paired axes of a ⊗ b, the free axes of a then
    of b. ``axes`` is an int k (the last k axes of a with the first k of b) or a pair of
    axis lists ``([i, …], [j, …])``.

    Derivative: ā = ȳ contracted with b over b's free axes (axes put back in a's order);
    b̄ likewise. A plain matrix product simplifies to ``@``.

    >>> import symback as sb
    >>> sb.tensordot(sb.tensor("A", (2, 3, 4)), sb.tensor("B", (3, 4, 5))).shape
    (2, 5)
    >>> sb.tensordot(sb.tensor("A", (3, 2)), sb.tensor("B", (3, 4)), axes=([0], [0])).shape
    (2, 4)
    """
    return tensordot_op(a, b, axes=axes)


# ---------------------------------------------------------------- dot, inner, outer, kron
# (plain functions: each builds one of the ops above or an einsum)


def dot(a: Any, b: Any) -> Expr:
    """NumPy's ``dot``: a product for 0-D operands; ``a @ b`` for vectors and matrices; for
    N-D operands the sum over the last axis of ``a`` and the second-to-last of ``b``
    (``dot(a, b)[i, j, k, m] = Σₗ a[i, j, l] b[k, l, m]``, a ``tensordot``).

    >>> import symback as sb
    >>> sb.dot(sb.tensor("A", (2, 3, 4)), sb.tensor("B", (5, 4, 6))).shape
    (2, 3, 5, 6)
    """
    ea, eb = as_expr(a), as_expr(b)
    if ea.ndim == 0 or eb.ndim == 0:
        return mul(ea, eb)
    if ea.ndim <= 2 and eb.ndim <= 2:
        return matmul(ea, eb)
    return tensordot_op(ea, eb, axes=((ea.ndim - 1,), (max(eb.ndim - 2, 0),)))


def inner(a: Any, b: Any) -> Expr:
    """NumPy's ``inner``: Σ over the last axis of both, ``inner(a, b)[i…, j…] = Σₖ a[i…, k]
    b[j…, k]`` (a product for 0-D operands). Built as a ``tensordot`` (or ``@``).

    >>> import symback as sb
    >>> sb.inner(sb.tensor("a", (2, 3)), sb.tensor("b", (4, 3))).shape
    (2, 4)
    """
    ea, eb = as_expr(a), as_expr(b)
    if ea.ndim == 0 or eb.ndim == 0:
        return mul(ea, eb)
    if ea.ndim <= 2 and eb.ndim == 1:
        return matmul(ea, eb)
    return tensordot_op(ea, eb, axes=((ea.ndim - 1,), (eb.ndim - 1,)))


def outer_fn(a: Any, b: Any) -> Expr:
    """NumPy's ``outer``: ``outer(a, b)[i, j] = a.ravel()[i] b.ravel()[j]`` (a bᵀ; N-D
    operands are flattened first, as NumPy does).

    Derivative: ā = ȳ b, b̄ = ȳᵀ a (reshaped back to the operands' shapes).

    >>> import symback as sb
    >>> print(sb.latex(sb.outer(sb.vector("a", 3), sb.vector("b", 2))))
    a b^{T}
    >>> sb.outer(sb.matrix("A", 2, 2), sb.vector("b", 3)).shape
    (4, 3)
    """
    from .shape import reshape

    ea, eb = as_expr(a), as_expr(b)
    if ea.ndim != 1:
        ea = reshape(ea, (-1,))
    if eb.ndim != 1:
        eb = reshape(eb, (-1,))
    return outer(ea, eb)


def kron(a: Any, b: Any) -> Expr:
    """NumPy's ``kron``, the Kronecker product: blocks a[i, j] · B;
    ``kron(a, b)[i·p + k, j·q + l] = a[i, j] b[k, l]`` (N-D: leading 1s pad the shorter).

    Built as an einsum (an outer product with interleaved axes) and a reshape, so its
    derivative is the einsum's: ā[i, j] = Σₖₗ ȳ-block(i, j)[k, l] b[k, l].

    >>> import symback as sb
    >>> sb.kron(sb.tensor("A", (2, 3)), sb.tensor("B", (4, 5))).shape
    (8, 15)
    """
    from .einsum import einsum_op
    from .shape import reshape

    ea, eb = as_expr(a), as_expr(b)
    nd = max(ea.ndim, eb.ndim)
    if ea.ndim < nd:
        ea = reshape(ea, (1,) * (nd - ea.ndim) + ea.shape)
    if eb.ndim < nd:
        eb = reshape(eb, (1,) * (nd - eb.ndim) + eb.shape)
    if nd == 0:
        return mul(ea, eb)
    la, lb = "abcdefghijklm"[:nd], "nopqrstuvwxyz"[:nd]
    inter = "".join(x + y for x, y in zip(la, lb))
    r = einsum_op(ea, eb, subscripts=f"{la},{lb}->{inter}")
    shape = []
    for d1, d2 in zip(ea.shape, eb.shape):
        if not (isinstance(d1, int) and isinstance(d2, int)):
            raise ShapeError(f"kron: needs int sizes, got shapes {fmt(ea.shape)} and "
                             f"{fmt(eb.shape)}", op="kron", shapes=(ea.shape, eb.shape))
        shape.append(d1 * d2)
    return reshape(r, tuple(shape))


# ---------------------------------------------------------------- cross


def _cross_shape(shapes: tuple[Shape, ...]) -> Shape:
    a, b = shapes
    if not a or not b or a[-1] != 3 or b[-1] != 3:
        raise ShapeError(f"cross: expects 3-vectors along the last axis, got shapes {fmt(a)} "
                         f"and {fmt(b)} (2-vectors are not supported)", op="cross",
                         shapes=shapes)
    return broadcast("cross", a[:-1], b[:-1]) + (3,)


def lead_tangent(t: Expr, x: Expr, out_nd: int) -> Expr:
    """A tangent ``t`` (shape x.shape + B) with its batch axes B moved to the front and
    axes of length 1 added so that it lines up with an output of ``out_nd`` axes:
    (B…, 1…, x.shape…). An op batched over leading axes then works on it as is."""
    nb = t.ndim - x.ndim
    r = t
    if nb:
        r = transpose(t, axes=tuple(range(x.ndim, t.ndim)) + tuple(range(x.ndim)))
    pad = out_nd - x.ndim
    if pad > 0:
        r = expand_dims(r, axis=tuple(range(nb, nb + pad)))
    return r


def trail_tangent(r: Expr, nb: int) -> Expr:
    """The inverse move: the first ``nb`` axes (a tangent's batch axes) go last."""
    if nb == 0:
        return r
    return transpose(r, axes=tuple(range(nb, r.ndim)) + tuple(range(nb)))


def solve_tangent(ta: Expr | None, tb: Expr | None, out: Expr, a: Expr, b: Expr,
                  matrix: Any, solve: Any) -> Expr:
    """The tangent of x = solve(M(A), b) for a batched solve with tangents ȧ, ḃ:
    ẋ = solve(ḃ − M(ȧ) x), batch axes moved to the front and back. ``matrix`` maps A's
    (leading) tangent to the matrix that multiplies x (the identity for ``solve``, the masked
    triangle for ``solve_triangular``); ``solve`` solves with A's own op."""
    from .elementwise import neg

    vec = b.ndim == 1
    x = expand_dims(out, axis=(out.ndim,)) if vec else out
    nd = x.ndim
    nb = (ta.ndim - a.ndim) if ta is not None else (tb.ndim - b.ndim)  # type: ignore
    rhs: Expr | None = None
    if tb is not None:
        lb = lead_tangent(tb, b, nd - 1 if vec else nd)
        rhs = expand_dims(lb, axis=(lb.ndim,)) if vec else lb
    if ta is not None:
        term = matmul(matrix(lead_tangent(ta, a, nd)), x)
        rhs = neg(term) if rhs is None else rhs - term
    assert rhs is not None
    sol = solve(rhs)
    if vec:
        sol = squeeze(sol, axis=(sol.ndim - 1,))
    return trail_tangent(sol, nb)


def _cross_jvp(ts: tuple[Expr | None, ...], out: Expr, a: Expr, b: Expr) -> Expr:
    """ẏ = ȧ × b + a × ḃ (the batch axes moved to the front and back)."""
    terms = []
    for i, t in enumerate(ts):
        if t is None:
            continue
        x = (a, b)[i]
        nb = t.ndim - x.ndim
        lt = lead_tangent(t, x, out.ndim)
        r = cross_op(lt, b) if i == 0 else cross_op(a, lt)
        terms.append(trail_tangent(r, nb))
    return terms[0] if len(terms) == 1 else terms[0] + terms[1]


cross_op = register(Op(
    "cross", 2, _cross_shape, numpy="np.cross({0}, {1})",
    forms={"xp": "xp.linalg.cross({0}, {1})"},
    vjp=lambda g, out, a, b: (cross_op(b, g), cross_op(g, a)),
    jvp=_cross_jvp,
    text=Notation("cross({0}, {1})"), latex=infix(r" \times ", MUL),
    sympy=None,
    doc="y = a × b for 3-vectors along the last axis (leading axes broadcast);  "
        "ā = b × ȳ, b̄ = ȳ × a.",
))


def cross(a: Any, b: Any, axisa: int = -1, axisb: int = -1, axisc: int = -1,
          axis: int | None = None) -> Expr:
    """NumPy's ``cross`` for 3-vectors: y = a × b = (a₂b₃ − a₃b₂, a₃b₁ − a₁b₃, a₁b₂ − a₂b₁).

    The vectors lie along ``axisa`` / ``axisb`` (``axis`` sets all three); the result's
    along ``axisc``; other axes broadcast. Derivative: ā = b × ȳ, b̄ = ȳ × a.

    >>> import symback as sb
    >>> print(sb.latex(sb.cross(sb.tensor("a", (3,)), sb.tensor("b", (3,)))))
    a \\times b
    """
    from .shape import transpose_fn

    if axis is not None:
        axisa = axisb = axisc = axis
    ea, eb = as_expr(a), as_expr(b)

    def last(e: Expr, ax: int) -> Expr:
        ax = ax % e.ndim if e.ndim else 0
        if ax == e.ndim - 1:
            return e
        perm = tuple(i for i in range(e.ndim) if i != ax) + (ax,)
        return transpose_fn(e, perm)
    y = cross_op(last(ea, axisa), last(eb, axisb))
    c = axisc % y.ndim
    if c != y.ndim - 1:
        perm = list(range(y.ndim - 1))
        perm.insert(c, y.ndim - 1)
        y = transpose_fn(y, tuple(perm))
    return y


# ---------------------------------------------------------------- NumPy 2's linalg extras


def matrix_transpose(x: Any) -> Expr:
    """NumPy 2's ``matrix_transpose``: the last two axes swapped (Xᵀ for a matrix)."""
    e = as_expr(x)
    if e.ndim < 2:
        raise ShapeError(f"matrix_transpose: needs at least 2 dimensions, got shape "
                         f"{fmt(e.shape)}", op="matrix_transpose", shapes=(e.shape,))
    return mT(e)


def vecdot(x1: Any, x2: Any, axis: int = -1) -> Expr:
    """NumPy 2's ``vecdot``: Σ over ``axis`` of x1 ⊙ x2, the other axes broadcast (real
    input). A plain function (a product and a sum)."""
    from .reduce import sum_

    a, b = as_expr(x1), as_expr(x2)
    p = mul(a, b)
    if p.ndim == 0:
        raise ShapeError("vecdot: needs at least 1 dimension", op="vecdot",
                         shapes=(a.shape, b.shape))
    return sum_(p, axis=(axis % p.ndim,))


def multi_dot(arrays: Sequence[Any]) -> Expr:
    """NumPy's ``linalg.multi_dot``: A B C … as matmuls (the first and last may be vectors),
    multiplied left to right."""
    xs = [as_expr(a) for a in arrays]
    if len(xs) < 2:
        raise ShapeError("multi_dot: needs at least two arrays", op="multi_dot")
    out = xs[0]
    for x in xs[1:]:
        out = matmul(out, x)
    return out
