"""Shape and structure: transpose, reshape, stack, concatenate (NumPy's meanings).

Each op is one :class:`~symback.graph.Op` record (shape rule, NumPy form, VJP in symback ops,
batched JVP, notations, SymPy form).
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Sequence

from ..errors import ShapeError, SymbackError
from ..graph import Expr, Op, zeros
from ..notation import ATOM, LOWEST, POSTFIX, Notation
from ..shapes import Dim, Shape, check_shape, dim_names, fmt
from . import _scalar, register
from ._common import _same_dtype, _sp
from .index import getitem

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
    forms={"xp": "xp.permute_dims({0}, {axes})"},  # (torch's .T warns beyond 2-D)
    vjp=_transpose_vjp, view=True, dtype=lambda args, **kw: args[0].dtype,
    scalarize=lambda a, kw: _scalar.obj(a[0].transpose(kw["axes"])),
    # a tangent's trailing batch axes (symback.higher) stay where they are
    jvp=lambda ts, out, x, *, axes: transpose(
        ts[0], axes=axes + tuple(range(len(axes), ts[0].ndim))),
    text=Notation(_transpose_text, POSTFIX, POSTFIX),
    latex=Notation(_transpose_latex, POSTFIX, POSTFIX),
    doc="y = xᵀ (axes permuted by p; all reversed by default, as NumPy's .T);  x̄ = ȳ permuted by p⁻¹",
))

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
    if isinstance(raw, (int, str, Expr)) and not isinstance(raw, bool):
        raw = (raw,)
    try:
        items = list(dim_names(raw))
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
    if x.op is reshape_op and x.args[0].op is not transpose:
        # reshape(reshape(x, s1), s2) = reshape(x, s2); not over a transpose, whose reshape
        # NumPy copies: the copy is made once and shared, and s2 is a view of it
        return reshape_op(x.args[0], shape=shape)
    return None


reshape_op = register(Op(
    "reshape", 1, lambda shapes, *, shape: shape,
    numpy="np.reshape({0}, {shape})", normalize=_reshape_norm, simplify=_reshape_simplify,
    vjp=lambda g, out, x, *, shape: (reshape_op(g, shape=x.shape),),
    jvp=lambda ts, out, x, *, shape: reshape_op(ts[0], shape=shape + ts[0].shape[x.ndim:]),
    view=True, dtype=_same_dtype, scalarize=lambda a, kw: a[0].reshape(kw["shape"]),
    text=Notation(lambda a, kw: f"reshape({a[0]}, {fmt(kw['shape'])})"),
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
    scalarize=lambda a, kw: _scalar.stack(a, kw["axis"]),
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
    forms={"xp": lambda args, kw: f"xp.concat([{', '.join(args)}], axis={kw['axis']})"},
    normalize=_concat_norm, vjp=_concat_vjp,
    jvp=lambda ts, out, *xs, axis: concatenate_op(*_zero_tangents(ts, xs), axis=axis),
    scalarize=lambda a, kw: _scalar.concatenate(a, kw["axis"]),
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



def transpose_fn(x: Any, axes: Any = None) -> Expr:
    """xᵀ, or the axes permuted by ``axes`` (NumPy's meaning)."""
    return transpose(x, axes=axes)

# ---------------------------------------------------------------- astype

_CASTS = ("float64", "float32", "int64", "bool")


def _astype_norm(args: tuple[Expr, ...], attrs: dict[str, Any]) -> dict[str, Any]:
    import numpy as np

    dtype = attrs["dtype"]
    if isinstance(dtype, Expr) and dtype.is_symbol and dtype.shape == ():
        dtype = dtype.name  # parsed text: astype(x, float32)
    try:
        dt = str(np.dtype(dtype))
    except TypeError:
        raise SymbackError(f"astype: {dtype!r} is not a dtype") from None
    if dt not in _CASTS:
        raise SymbackError(f"astype: dtype {dt} is not supported (float64, float32, int64, "
                           "bool; complex dtypes are not)")
    return {"dtype": dt}


def _astype_vjp(g: Expr, out: Expr, x: Expr, *, dtype: str) -> tuple[Expr | None]:
    """y = x as dtype;  x̄ = ȳ cast back to x's dtype (none through an int or bool cast)."""
    if dtype not in ("float64", "float32") or x.dtype not in ("float64", "float32"):
        return (None,)
    return (astype_op(g, dtype=x.dtype),)


astype_op = register(Op(
    "astype", 1, lambda shapes, *, dtype: shapes[0],
    numpy=lambda a, kw: f"np.asarray({a[0]}).astype({kw['dtype']!r})",
    forms={"xp": lambda a, kw: f"xp.astype(xp.asarray({a[0]}), xp.{kw['dtype']})"},
    normalize=_astype_norm,
    simplify=lambda x, *, dtype: x if x.dtype == dtype and not x.weak else None,
    vjp=_astype_vjp,
    jvp=lambda ts, out, x, *, dtype: None if ts[0] is None or dtype not in (
        "float64", "float32") or x.dtype not in ("float64", "float32")
    else astype_op(ts[0], dtype=dtype),
    dtype=lambda args, **kw: kw["dtype"],
    text=Notation("astype({0}, {dtype})"),
    latex=Notation("{0}", ATOM, LOWEST, transparent=True),
    doc="y = x with its entries converted to dtype (NumPy's astype);  x̄ = ȳ converted back "
        "(zero through a cast to int or bool).",
))


def astype(x: Any, dtype: Any) -> Expr:
    """``x.astype(dtype)``: a cast (float64, float32, int64, bool); a float-to-float cast
    passes its derivative back in ``x``'s dtype. Registered op ``astype``; LaTeX shows ``x``.

    >>> import symback as sb
    >>> sb.vector("x", 2).astype("float32").dtype
    'float32'
    """
    return astype_op(x, dtype=dtype)
