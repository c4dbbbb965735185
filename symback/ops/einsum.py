"""Einstein summation: ``einsum`` (NumPy's subscripts, implicit and explicit, ellipsis).

One registered op, ``einsum``, holds its subscripts in explicit form (``"ij,jk->ik"``, the
ellipsis already written out as letters). Its derivative is an einsum again: the cotangent
of operand i is ``einsum`` of ȳ and the other operands onto operand i's subscripts (a
repeated index, a diagonal, goes through an identity matrix; an index summed only inside
operand i is broadcast back). Same-letter axes of length 1 broadcast, as in NumPy.
"""

from __future__ import annotations

import string
from typing import Any, Sequence

from ..errors import ShapeError, SymbackError
from ..graph import Expr, Op, as_expr, broadcast_to
from ..notation import ATOM, MUL, Notation
from ..shapes import Dim, Shape, fmt
from . import _scalar, register
from ._common import _is_int
from .creation import eye
from .elementwise import mul
from .structural import expand_dims

_LETTERS = string.ascii_lowercase + string.ascii_uppercase


def _parse(subscripts: str, nargs: int) -> tuple[list[str], str]:
    """Split explicit subscripts ``"ij,jk->ik"`` into input terms and the output term."""
    ins, out = subscripts.split("->")
    terms = ins.split(",")
    if len(terms) != nargs:
        raise SymbackError(f"einsum: subscripts {subscripts!r} name {len(terms)} operand(s), "
                           f"got {nargs}")
    return terms, out


def _sizes(terms: Sequence[str], shapes: Sequence[Shape], subscripts: str) -> dict[str, Dim]:
    """Each letter's size; equal sizes or 1 (broadcast), as NumPy allows."""
    size: dict[str, Dim] = {}
    for t, s in zip(terms, shapes):
        if len(t) != len(s):
            raise ShapeError(f"einsum: operand term {t!r} of {subscripts!r} has {len(t)} "
                             f"index(es) but the operand has shape {fmt(s)}",
                             op="einsum", shapes=tuple(shapes))
        for c, d in zip(t, s):
            old = size.get(c)
            if old is None or old == 1:
                size[c] = d
            elif d != 1 and d != old:
                raise ShapeError(f"einsum: index {c!r} of {subscripts!r} has sizes {old} and "
                                 f"{d}", op="einsum", shapes=tuple(shapes))
    return size


def _einsum_simplify(*xs: Expr, subscripts: str) -> Expr | None:
    """One operand whose indices are the output's, in order: the operand itself."""
    ins, out = subscripts.split("->")
    if len(xs) == 1 and ins == out:
        return xs[0]
    return None


def _einsum_norm(args: tuple[Expr, ...], attrs: dict[str, Any]) -> dict[str, Any]:
    subs = attrs["subscripts"]
    if not isinstance(subs, str) or "->" not in subs or "." in subs:
        raise SymbackError(f"einsum op: subscripts must be explicit ('ij,jk->ik'), got "
                           f"{subs!r} (sb.einsum accepts NumPy's other forms)")
    return {"subscripts": subs.replace(" ", "")}


def _einsum_shape(shapes: tuple[Shape, ...], *, subscripts: str) -> Shape:
    terms, out = _parse(subscripts, len(shapes))
    size = _sizes(terms, shapes, subscripts)
    for t in terms + [out]:
        if any(c not in _LETTERS for c in t):
            raise SymbackError(f"einsum: subscripts {subscripts!r} may use only letters")
    if len(set(out)) != len(out) or any(c not in size for c in out):
        raise SymbackError(f"einsum: output {out!r} of {subscripts!r} repeats an index or "
                           "names one no operand has")
    return tuple(size[c] for c in out)


def _einsum_numpy(args: list[str], kw: dict[str, Any]) -> str:
    opt = ", optimize=True" if len(args) > 2 else ""
    return f"np.einsum({kw['subscripts']!r}, {', '.join(args)}{opt})"


def _fresh(used: str, n: int) -> str:
    return "".join([c for c in _LETTERS if c not in used][:n])


def _einsum_vjp(g: Expr, out: Expr, *xs: Expr, subscripts: str) -> tuple[Expr, ...]:
    """ȳ → x̄ᵢ = einsum(ȳ, the other operands → xᵢ's indices); diagonals through I."""
    terms, o = _parse(subscripts, len(xs))
    size = _sizes(terms, [x.shape for x in xs], subscripts)
    grads: list[Expr] = []
    for i, x in enumerate(xs):
        ti = terms[i]
        others = [terms[j] for j in range(len(xs)) if j != i]
        scalar_g = g.ndim == 0  # a scalar cotangent multiplies the result instead
        ops: list[Expr] = ([] if scalar_g else [g]) + [xs[j] for j in range(len(xs)) if j != i]
        subs: list[str] = ([] if scalar_g else [o]) + others
        target = ""
        seen = ""
        used = subscripts
        for c in ti:
            if c in seen:  # a repeated index: a fresh letter tied to c by the identity
                f = _fresh(used, 1)
                used += f
                ops.append(eye(size[c], g.dtype))
                subs.append(c + f)
                target += f
            else:
                seen += c
                target += c
        avail = set("".join(subs))
        kept = "".join(c for c in target if c in avail)
        if ops:
            gi = einsum_op(*ops, subscripts=",".join(subs) + "->" + kept)
        else:  # nothing left to contract: ȳ itself (a scalar)
            gi = g
        if scalar_g and ops:
            gi = mul(g, gi)
        if kept != target:  # indices summed only inside xᵢ: broadcast back
            missing = tuple(k for k, c in enumerate(target) if c not in avail)
            gi = broadcast_to(expand_dims(gi, axis=missing) if gi.ndim else gi, x.shape)
        grads.append(gi)
    return tuple(grads)


def _einsum_jvp(ts: tuple[Expr | None, ...], out: Expr, *xs: Expr, subscripts: str) -> Expr:
    """ẏ = Σᵢ einsum(x₁, …, ẋᵢ, …); the tangents' trailing batch axes get fresh letters."""
    terms, o = _parse(subscripts, len(xs))
    total: Expr | None = None
    for i, t in enumerate(ts):
        if t is None:
            continue
        extra = _fresh(subscripts, t.ndim - xs[i].ndim)
        sub = list(terms)
        sub[i] = terms[i] + extra
        ops = list(xs)
        ops[i] = t
        term = einsum_op(*ops, subscripts=",".join(sub) + "->" + o + extra)
        total = term if total is None else total + term
    assert total is not None
    return total


def _einsum_sympy(*xs: Any, subscripts: str) -> Any:
    """Matrix-algebra einsums as SymPy matrix expressions (others have no counterpart)."""
    from sympy import Trace

    ins, out = subscripts.split("->")
    terms = ins.split(",")
    key = (tuple(terms), out)
    a = xs[0]
    if len(terms) == 1 and len(terms[0]) == 2:
        i, j = terms[0]
        if i == j and out == "":
            return Trace(a)
        if out == j + i and i != j:
            return a.T
    if len(terms) == 2 and all(len(t) == 2 for t in terms) and len(out) == 2:
        (i, j), (k, m) = terms
        b = xs[1]
        left = a if out[0] == i and j not in out else (a.T if out[0] == j and i not in out
                                                       else None)
        shared = j if left is a else i
        if left is not None and shared in (k, m) and len(set(key[0][0] + key[0][1])) == 3:
            right = b if k == shared else b.T
            other = m if k == shared else k
            if out[1] == other:
                return left * right
    raise SymbackError(f"to_sympy: einsum {subscripts!r} has no SymPy matrix-expression form")


def _sub_latex(arg: str, idx: str) -> str:
    if not idx:
        return arg
    if "_" in arg or "^" in arg:
        arg = "{" + arg + "}"
    return f"{arg}_{{{idx}}}"


def _einsum_latex(args: list[str], kw: dict[str, Any]) -> str:
    """``\\sum_{j} A_{ij} B_{jk}``: the summed indices under Σ, each operand subscripted."""
    terms, o = _parse(kw["subscripts"], len(args))
    summed = sorted({c for t in terms for c in t} - set(o), key=_LETTERS.index)
    body = " ".join(_sub_latex(a, t) for a, t in zip(args, terms))
    if summed:
        return r"\sum_{" + ",".join(summed) + "} " + body
    return body


def _einsum_text(args: list[str], kw: dict[str, Any]) -> str:
    """NumPy's sublist form, ``einsum(A, [0, 1], B, [1, 2], [0, 2])`` (no strings to parse)."""
    terms, o = _parse(kw["subscripts"], len(args))
    num = {c: i for i, c in enumerate(_LETTERS)}
    parts = []
    for a, t in zip(args, terms):
        parts += [a, "[" + ", ".join(str(num[c]) for c in t) + "]"]
    parts.append("[" + ", ".join(str(num[c]) for c in o) + "]")
    return "einsum(" + ", ".join(parts) + ")"


einsum_op = register(Op(
    "einsum", None, _einsum_shape, numpy=_einsum_numpy, normalize=_einsum_norm,
    forms={"torch": lambda a, kw: f"torch.einsum({kw['subscripts']!r}, {', '.join(a)})",
           "jax": lambda a, kw: f"jnp.einsum({kw['subscripts']!r}, {', '.join(a)})"},
    simplify=_einsum_simplify,
    # np.einsum returns a view of a single operand for a transpose or a diagonal ('ij->ji',
    # 'ii->i'): the code generator must keep that operand's buffer alive and copy outputs
    view=True,
    vjp=_einsum_vjp, jvp=_einsum_jvp,
    scalarize=lambda a, kw: _scalar.einsum(kw["subscripts"], a),  # sums left to right
    text=Notation(_einsum_text), latex=Notation(_einsum_latex, MUL, ATOM), sympy=_einsum_sympy,
    doc="Einstein summation y[out] = Σ over the indices not in the output of Π operands "
        "(NumPy's einsum);  x̄ᵢ = einsum(ȳ, the other operands → xᵢ's indices), a repeated "
        "index through an identity matrix.",
))


def _sublist_term(sub: Any, what: str) -> str:
    try:
        items = list(sub)
    except TypeError:
        raise SymbackError(f"einsum: {what} must be a list of ints or ..., got {sub!r}")
    out = ""
    for v in items:
        if v is Ellipsis:
            out += "..."
            continue
        if isinstance(v, Expr) and v.is_const and v.weak:
            v = v.value
        if not _is_int(v) or not 0 <= int(v) < len(_LETTERS):
            raise SymbackError(f"einsum: sublist entries must be ints in [0, 52), got {v!r}")
        out += _LETTERS[int(v)]
    return out


def einsum(subscripts: Any, *operands: Any, optimize: Any = None) -> Expr:
    """NumPy's ``einsum``: ``einsum("ij,jk->ik", A, B)`` (explicit), ``einsum("ij,jk", A, B)``
    (implicit: the indices seen once, in alphabetical order), ``"...ij,...jk->...ik"``
    (ellipsis: broadcast leading axes), or the sublist form ``einsum(A, [0, 1], B, [1, 2],
    [0, 2])``.

    y[out] = Σ over the indices absent from the output of the product of the operands.
    Derivative: x̄ᵢ = einsum(ȳ, the other operands → xᵢ's indices) (an einsum again).

    >>> import symback as sb
    >>> A, B = sb.tensor("A", (2, 3)), sb.tensor("B", (3, 4))
    >>> sb.einsum("ij,jk->ik", A, B).shape
    (2, 4)
    """
    if not isinstance(subscripts, str):  # sublist form: op, sub, op, sub, ..., [out]
        items = [subscripts, *operands]
        ops, terms = items[0::2], items[1::2]
        if len(ops) > len(terms):  # an output sublist at the end
            out = _sublist_term(ops[-1], "the output")
            ops = ops[:-1]
        else:
            out = None
        spec = ",".join(_sublist_term(t, f"sublist {i}") for i, t in enumerate(terms))
        subscripts = spec + ("->" + out if out is not None else "")
        operands = tuple(ops)
    xs = [as_expr(o) for o in operands]
    spec = subscripts.replace(" ", "")
    if "->" in spec:
        ins, out_t = spec.split("->", 1)
        explicit: str | None = out_t
    else:
        ins, explicit = spec, None
    terms = ins.split(",")
    if len(terms) != len(xs):
        raise SymbackError(f"einsum: subscripts {subscripts!r} name {len(terms)} operand(s), "
                           f"got {len(xs)}")
    bad = set(spec) - set(_LETTERS) - set(",.->")
    if bad:
        raise SymbackError(f"einsum: subscripts {subscripts!r} may hold letters, ',', '->' and "
                           f"'...' only (found {''.join(sorted(bad))!r})")
    # write out the ellipsis: fresh letters, right-aligned across the operands
    ranks = []
    for t, x in zip(terms, xs):
        n = len(t.replace("...", ""))
        if "..." in t:
            if t.count("...") > 1 or x.ndim < n:
                raise ShapeError(f"einsum: term {t!r} does not fit shape {fmt(x.shape)}",
                                 op="einsum", shapes=(x.shape,))
            ranks.append(x.ndim - n)
        elif x.ndim != n:
            raise ShapeError(f"einsum: term {t!r} has {n} index(es) but the operand has shape "
                             f"{fmt(x.shape)}", op="einsum", shapes=(x.shape,))
    nell = max(ranks, default=0)
    ell = _fresh(spec, nell)
    full = [t.replace("...", ell[nell - (x.ndim - len(t.replace('...', ''))):] if nell else "")
            if "..." in t else t for t, x in zip(terms, xs)]
    if explicit is None:
        counts: dict[str, int] = {}
        for t in full:
            for c in t:
                counts[c] = counts.get(c, 0) + 1
        singles = sorted((c for c, k in counts.items() if k == 1 and c not in ell),
                         key=_LETTERS.index)
        out = ell + "".join(singles)
    else:
        out = explicit.replace("...", ell) if "..." in explicit else explicit
    return einsum_op(*xs, subscripts=",".join(full) + "->" + out)
