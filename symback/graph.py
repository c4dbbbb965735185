"""The expression DAG: frozen, hash-consed :class:`Expr` nodes built by :class:`Op` specs.

Building the same subexpression twice returns the same node (interning through
a weak table keyed on ``(op, args, attrs)``), so common subexpressions are
shared by construction and equality is identity. Every walk here is iterative:
graphs of millions of nodes never hit Python's recursion limit.
"""

from __future__ import annotations

import contextlib
import gc
import math
import threading
import weakref
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

import numpy as np

from .errors import ShapeError, SymbackError
from .notation import Notation
from .shapes import Shape, broadcast, check_shape, fmt

# --------------------------------------------------------------------------- constants


class ConstValue:
    """A constant's value with an interning key that keeps types and signs apart.

    Python says ``1 == 1.0 == True`` and ``0.0 == -0.0``; symback does not:
    the key holds the value's type (or dtype) and its exact text or bytes.
    Python scalars are *weak* (as in NumPy 2 and JAX): ``x * 2.0`` keeps
    ``x``'s float32.
    """

    __slots__ = ("value", "key", "weak", "dtype", "shape", "uniform")

    def __init__(self, value: Any) -> None:
        if isinstance(value, (bool, int, float)) and not isinstance(value, np.generic):
            if isinstance(value, bool):
                dtype = "bool"
            elif isinstance(value, int):
                dtype = "int64"
            else:
                dtype = "float64"
            self.value: Any = value
            self.key: tuple[Any, ...] = (type(value).__name__, repr(value))
            self.weak = True
            self.dtype = dtype
            self.shape: Shape = ()
            # the number every entry equals (None for bools and non-uniform arrays):
            # the build-time identities (x * 1, x + 0, ...) ask this of every constant
            self.uniform: float | None = None if dtype == "bool" else value
        else:
            arr = np.array(value)
            if arr.dtype.kind not in "biuf":
                raise SymbackError(
                    f"constant {value!r}: dtype {arr.dtype} is not supported "
                    "(use bool, int or float)"
                )
            if arr.dtype.kind == "u" or (arr.dtype.kind == "i" and arr.dtype != np.int64):
                arr = arr.astype(np.int64)
            arr.setflags(write=False)
            self.value = arr
            self.key = (arr.dtype.str, arr.shape, arr.tobytes())
            self.weak = False
            self.dtype = str(arr.dtype)
            self.shape = tuple(int(d) for d in arr.shape)
            self.uniform = None
            if arr.dtype.kind == "f" and arr.size > 0:
                first = arr.flat[0]
                if first == first and bool(np.all(arr == first)):
                    self.uniform = float(first)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ConstValue) and self.key == other.key

    def __hash__(self) -> int:
        return hash(self.key)

    def __repr__(self) -> str:
        if self.weak:
            return repr(self.value)
        return np.array2string(self.value, separator=", ", threshold=20)


# --------------------------------------------------------------------------- ops


@dataclass(frozen=True, eq=False)
class Op:
    """Everything symback knows about one operation, in one place.

    Attributes:
        name: registry key; also the parser's function name and the label in errors.
        arity: number of arguments (``None``: any number, as for ``stack``).
        shape: ``shape(arg_shapes, **attrs) -> Shape``; raises ``ShapeError``.
        numpy: NumPy source template over argument names (``"np.exp({0})"``),
            attributes by name, or a function ``(args, attrs) -> str``.
        vjp: ``vjp(g, out, *args, **attrs) -> tuple[Expr | None, ...]``, one
            cotangent per argument written in symback ops (``None``: structural zero).
        text, latex: :class:`Notation` for the printers.
        normalize: ``normalize(args, attrs) -> attrs``: canonical, hashable attributes.
        simplify: ``simplify(*args, **attrs) -> Expr | None``: identities applied at build time.
        dtype: ``dtype(args, **attrs) -> str``; default: float promotion of the arguments.
        elementwise: broadcasting op (autodiff sums cotangents back to each argument's shape).
        view: the NumPy form may return a read-only view (codegen copies such outputs).
        fold: constant arguments may be folded at build time.
        nondifferentiable: the op has no derivative; asking for one is an error.
        helpers: names of functions from :mod:`symback.numeric` that ``numpy`` uses.
        jvp: optional forward rule ``jvp(tangents, out, *args, **attrs) -> Expr | None``:
            one tangent per argument (``None``: zero), each of shape ``arg.shape + B``
            with B trailing batch axes (B = x.shape for Jacobians), returning the tangent
            of ``out`` (shape ``out.shape + B``). Elementwise ops need none (see
            :mod:`symback.higher`).
        sympy: optional SymPy counterpart (used by the SymPy bridge).
        doc: the maths, for docs and ``explain``.
        weak: the node is a Python scalar at run time (as ``count``'s ``float(n)``), so,
            like a Python-number constant, it does not decide the result dtype.
        numpy_out: optional NumPy source that writes the result into the array ``{out}``
            (of the node's shape and dtype), e.g. ``"np.add({0}, {1}, out={out})"``; the
            code generator then reuses buffers instead of allocating (a string template or
            a function ``(args, attrs) -> str`` with ``attrs["_out"]`` the buffer's name).
        scalar: optional source for Python-float arguments (``"_m.sin({0})"``, ``_m`` the
            ``math`` module): small all-scalar float64 functions try this form first (4x
            faster than NumPy's ufuncs on floats) and fall back to ``numpy`` when it raises
            (``math.log(0.0)``, ``math.exp(1000.0)``), so the results are NumPy's.
        forms: the op's source on the other array libraries (:mod:`symback.arrayapi`), keyed by
            backend name (``"torch"``, ``"jax"``, ``"cupy"``) or ``"xp"`` (any array-API
            namespace): a template like ``numpy`` over ``xp.`` (the array-API standard
            namespace) or the library's own module (``torch.``, ``jnp.``, ``jax.``,
            ``cupy.``), or a function ``(args, attrs) -> str | None`` (``None``: no form for
            these attributes; ``attrs["_node"]`` is the node). Without an entry, the ``numpy``
            form is used with ``np.NAME`` read as ``xp.NAME`` when NAME is in the array-API
            standard, and compiling raises ``SymbackError`` naming the op and the backend
            when it is not.
        llvm: optional native scalar form for ``lambdify(..., backend="llvm")`` (float64
            in, float64 or an ``i1`` boolean out): an LLVM instruction name (``"fadd"``),
            a function (``"@llvm.sin.f64"`` an intrinsic, ``"@tanh"`` the C library's), or
            a callable ``(emitter, *args) -> value`` over :class:`symback.native.Emitter`.
            Ops without one make that backend refuse the graph, naming the op.
        scalarize: optional scalar form of a structural (non-elementwise) tensor op, for
            ``backend="llvm"`` on graphs of small static shapes: ``scalarize(args, attrs)
            -> np.ndarray`` over NumPy *object* arrays of scalar :class:`Expr` (one per
            argument, of the argument's shape; 0-d for a scalar) and the node's attributes
            (``attrs["_node"]`` the node itself), returning the object array of the node's
            shape whose entries are the scalar expressions of its entries (``x[1:]`` picks
            entries; ``sum`` adds them, left to right). The native backend rewrites a tensor
            graph entry by entry this way (elementwise ops need none: each entry is the op on
            the broadcast arguments' entries); ops without one make it refuse the graph,
            naming the op.
    """

    name: str
    arity: int | None
    shape: Callable[..., Shape]
    numpy: str | Callable[[list[str], dict[str, Any]], str]
    vjp: Callable[..., tuple[Any, ...]] | None = None
    text: Notation | None = None
    latex: Notation | None = None
    normalize: Callable[[tuple["Expr", ...], dict[str, Any]], dict[str, Any]] | None = None
    simplify: Callable[..., "Expr | None"] | None = None
    dtype: Callable[..., str] | None = None
    elementwise: bool = False
    view: bool = False
    fold: bool = True
    nondifferentiable: bool = False
    helpers: tuple[str, ...] = ()
    jvp: Callable[..., Any] | None = None
    sympy: Any = None
    doc: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    weak: bool = False
    numpy_out: str | Callable[[list[str], dict[str, Any]], str] | None = None
    scalar: str | None = None
    forms: dict[str, Any] = field(default_factory=dict)
    llvm: str | Callable[..., str] | None = None
    scalarize: Callable[[list[np.ndarray], dict[str, Any]], np.ndarray] | None = None

    def __post_init__(self) -> None:
        # This op's interning table, args (or (args, attrs)) -> _NodeRef: keyed per op, a
        # node without attributes is found under its own args tuple (no key of its own to
        # store: 80 bytes less per node than one table keyed on (op, args, attrs)).
        table: dict[Any, _NodeRef] = {}

        def forget(ref: _NodeRef, table: dict[Any, _NodeRef] = table,
                   remove: Callable[..., None] = _remove_dead_weakref) -> None:
            remove(table, ref.key)  # (bound now: module globals are gone at shutdown)

        object.__setattr__(self, "_table", table)
        object.__setattr__(self, "_forget", forget)

    def __repr__(self) -> str:
        return f"Op({self.name})"

    def __reduce__(self) -> tuple[Any, ...]:
        """Ops pickle by registry name (their fields hold functions)."""
        return (_op_by_name, (self.name,))

    def __call__(self, *args: Any, **attrs: Any) -> "Expr":
        """Build (or find) the node ``self(*args, **attrs)``."""
        # This runs for every node ever built: plain loops, no generators, and the
        # common case (Expr arguments, no attributes) takes the shortest path.
        arity = self.arity
        if arity is not None and len(args) != arity:
            raise SymbackError(
                f"{self.name}: takes {arity} argument(s), got {len(args)}"
            )
        eargs = args
        all_const = True
        for a in args:
            if a.__class__ is not Expr:
                if len(args) == 2:  # x * 2.0, 1 - x: no comprehension frames
                    a0, a1 = args
                    if a0.__class__ is not Expr:
                        a0 = as_expr(a0)
                    if a1.__class__ is not Expr:
                        a1 = as_expr(a1)
                    eargs = (a0, a1)
                    all_const = a0.op is CONST and a1.op is CONST
                else:
                    eargs = tuple([a if a.__class__ is Expr else as_expr(a) for a in args])
                    all_const = all([a.op is CONST for a in eargs])
                break
            if a.op is not CONST:
                all_const = False
        if self.normalize is not None:
            attrs = self.normalize(eargs, attrs)
        key_attrs = tuple(sorted(attrs.items())) if attrs else ()
        # Built before? The node under this key went through the identities below
        # when it was made (they are deterministic), so it is the answer again.
        try:
            ref = self._table.get((eargs, key_attrs) if key_attrs else eargs)
        except TypeError:  # an unhashable attribute: the op's own checks will name it
            ref = None
        if ref is not None:
            node = ref()
            if node is not None:
                return node
        if all_const and eargs and self.fold:
            # Constant arguments: the same small constants recur thousands of times in a
            # gradient (W2's x**2 gives 2 - 1 once per term), so the outcome is cached.
            fkey = (self, eargs, key_attrs)
            try:
                node = _FOLDED.get(fkey, _MISSING)
            except TypeError:
                node = _MISSING
            if node is _MISSING:
                node = self._build(eargs, attrs, key_attrs, True)
                if len(_FOLDED) >= _FOLD_CACHE_SIZE:  # bounded: forget everything at once
                    _FOLDED.clear()
                _FOLDED[fkey] = node
            return node
        return self._build(eargs, attrs, key_attrs, False)

    def _build(self, eargs: tuple["Expr", ...], attrs: dict[str, Any],
               key_attrs: tuple[tuple[str, Any], ...], fold: bool) -> "Expr":
        """Shape rule, constant folding (``fold``), the op's identities, then interning."""
        if self.elementwise and (len(eargs) == 1 or (
                len(eargs) == 2 and eargs[0].shape == eargs[1].shape)):
            shape = eargs[0].shape  # one shape, or equal shapes: nothing to broadcast
        else:
            shape = self.shape(tuple([a.shape for a in eargs]), **attrs)
        folded = _fold(self, eargs, attrs, shape) if fold else None
        if self.simplify is not None:
            simpler = self.simplify(*eargs, **attrs) if attrs else self.simplify(*eargs)
            if simpler is not None:
                if simpler.shape != shape:
                    simpler = broadcast_to(simpler, shape)
                # On constants an identity must agree with exact (IEEE) folding:
                # 0 / x → 0 is right for a symbol x, wrong for 0 / 0 = NaN.
                if folded is None or _agrees(simpler, folded):
                    return simpler
        if folded is not None:
            return folded
        dtype = self.dtype(eargs, **attrs) if self.dtype is not None else float_dtype(eargs)
        return _make(self, eargs, key_attrs, shape, dtype)


def _agrees(simpler: "Expr", folded: "Expr") -> bool:
    """True if a build-time identity's result has the value of the exactly folded constant."""
    inner = simpler.args[0] if simpler.op is _OPS.get("broadcast_to") else simpler
    if inner.op is not CONST:
        return True  # not a constant: nothing to compare, keep the identity's node
    if inner is folded:  # interning: the same type and value (the usual case, and cheap)
        return True
    if inner.weak and folded.weak and simpler is inner:  # two Python numbers
        a, b = inner.value, folded.value
        return bool(a == b or (a != a and b != b))
    with np.errstate(all="ignore"):
        return bool(np.array_equal(np.broadcast_to(inner.value, simpler.shape), folded.value,
                                   equal_nan=True))


def float_dtype(args: Sequence["Expr"]) -> str:
    """Result dtype of a floating-point op: promote the strong arguments, at least float32.

    Weak Python scalars do not take part (``float32 * 2.0`` stays float32).
    """
    first = None
    for a in args:  # fast path: the strong arguments share one float dtype (the usual case)
        op = a.op  # (Expr.weak, inlined: this runs for every node built)
        if (op.weak if op is not CONST else a.attrs[0][1].weak):
            continue
        if first is None:
            first = a.dtype
        elif a.dtype != first:
            break
    else:
        if first is None:
            return "float64"
        if first in _FLOAT_NAMES:
            return first
    strong = [a.dtype for a in args if not a.weak]
    dt = np.result_type(*strong)
    if dt.kind != "f":
        return "float64"
    return str(dt)


# --------------------------------------------------------------------------- nodes

class _NodeRef(weakref.ref):
    """A weak reference to an interned node that remembers its table key.

    The table is a plain dict ``key -> _NodeRef``: creating one of these costs a fifth of
    a ``WeakValueDictionary`` entry (whose ``KeyedRef`` runs Python-level ``__new__`` and
    ``__init__``), and node construction is symback's hottest path.
    """

    __slots__ = ("key",)


try:
    from _weakref import _remove_dead_weakref  # CPython: atomic "delete if still dead"
except ImportError:  # pragma: no cover - other implementations
    def _remove_dead_weakref(table: dict[Any, Any], key: Any) -> None:
        r = table.get(key)
        if r is not None and r() is None:
            table.pop(key, None)


# Each op's table (Op._table) maps args, or (args, attrs) for a node with attributes, to a
# _NodeRef. A node's entry goes when the node dies (the callback removes it only if it
# still holds a dead reference, so a rebuilt node's entry survives).
_LOCK = threading.Lock()
_acquire, _release = _LOCK.acquire, _LOCK.release


@dataclass(frozen=True, slots=True, eq=False, weakref_slot=True)
class Expr:
    """One node of the DAG: an op applied to argument nodes, with attributes.

    Nodes are immutable and interned: equal structure means the same object,
    so ``==`` is identity and nodes are cheap dict keys. ``shape`` holds ints
    or symbolic ``str`` sizes; ``dtype`` is a NumPy dtype name.
    """

    op: Op
    args: tuple["Expr", ...]
    attrs: tuple[tuple[str, Any], ...]
    shape: Shape
    dtype: str

    # NumPy must hand arithmetic with arrays over to Expr's reflected operators.
    __array_ufunc__ = None

    @property
    def kw(self) -> dict[str, Any]:
        """The attributes as a dict."""
        return dict(self.attrs)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def weak(self) -> bool:
        """True for a Python-scalar constant, which does not decide the dtype."""
        if self.op is CONST:
            return bool(self.attrs[0][1].weak)
        return self.op.weak

    @property
    def is_leaf(self) -> bool:
        return not self.args

    @property
    def is_symbol(self) -> bool:
        return self.op is SYMBOL

    @property
    def is_const(self) -> bool:
        return self.op is CONST

    @property
    def name(self) -> str:
        """A symbol's name (``SymbackError`` for other nodes)."""
        if self.op is not SYMBOL:
            raise SymbackError(f"only symbols have names; this is a {self.op.name} node")
        return str(self.attrs[0][1]) if self.attrs[0][0] == "name" else str(self.kw["name"])

    @property
    def value(self) -> Any:
        """A constant's value (``SymbackError`` for other nodes)."""
        if self.op is not CONST:
            raise SymbackError(f"only constants have values; this is a {self.op.name} node")
        return self.attrs[0][1].value

    def __bool__(self) -> bool:
        raise SymbackError(
            "the truth value of a symbolic expression is undefined; "
            "use sb.where(cond, a, b) for a choice that depends on values"
        )

    def __float__(self) -> float:
        """The value of a constant expression (``float(sb.const(2.0) * 3)``); a ``TypeError``
        naming the free symbols otherwise."""
        return float(self._constant_value("float"))

    def __int__(self) -> int:
        """The value of a constant expression as an int (truncated, as ``int(2.5)``)."""
        return int(self._constant_value("int"))

    def _constant_value(self, what: str) -> Any:
        if self.op is CONST and self.shape == ():
            v = self.value
            return v if self.weak else np.asarray(v)[()]
        if self.shape != ():
            raise TypeError(f"{what}() needs a scalar, but this expression has shape "
                            f"{self.shape}")
        names = sorted({n.name for n in _toposort([self]) if n.is_symbol})
        if names:
            raise TypeError(
                f"{what}() of a symbolic expression that depends on {', '.join(names)}: "
                f"compile it with sb.lambdify([{', '.join(names)}], expr) and call that")
        raise TypeError(f"{what}() of an expression with no constant value "
                        f"({self.op.name}); compile it with sb.lambdify([], expr)")

    def __array__(self, dtype: Any = None, copy: Any = None) -> Any:
        """Refused: an expression is not an array of numbers (``np.asarray(expr)`` would
        build an object array that no NumPy function can compute with)."""
        raise TypeError(
            "np.asarray/np.array of a symbolic expression: it has no numbers yet; compile "
            "it with sb.lambdify(args, expr) and call the result with arrays")

    def __repr__(self) -> str:
        from .printing.text import to_text

        return to_text(self, limit=2000)

    def __str__(self) -> str:
        from .printing.text import to_text

        return to_text(self)

    def _repr_latex_(self) -> str:
        try:
            from .printing.latex import latex
        except ImportError:  # pragma: no cover
            return f"$\\mathtt{{{self!s}}}$"
        try:
            return f"$\\displaystyle {latex(self)}$"
        except NotImplementedError:
            return f"$\\mathtt{{{self!s}}}$"

    # Python operators, NumPy semantics. The functions live in ops/ and are
    # bound in ops/__init__.py, so this file knows no op by name.
    def __add__(self, o: Any) -> Expr: return _OPS["add"](self, o)  # noqa: E704
    def __radd__(self, o: Any) -> Expr: return _OPS["add"](o, self)  # noqa: E704
    def __sub__(self, o: Any) -> Expr: return _OPS["sub"](self, o)  # noqa: E704
    def __rsub__(self, o: Any) -> Expr: return _OPS["sub"](o, self)  # noqa: E704
    def __mul__(self, o: Any) -> Expr: return _OPS["mul"](self, o)  # noqa: E704
    def __rmul__(self, o: Any) -> Expr: return _OPS["mul"](o, self)  # noqa: E704
    def __truediv__(self, o: Any) -> Expr: return _OPS["div"](self, o)  # noqa: E704
    def __rtruediv__(self, o: Any) -> Expr: return _OPS["div"](o, self)  # noqa: E704
    def __mod__(self, o: Any) -> Expr: return _OPS["mod"](self, o)  # noqa: E704
    def __rmod__(self, o: Any) -> Expr: return _OPS["mod"](o, self)  # noqa: E704
    def __pow__(self, o: Any) -> Expr: return _OPS["pow"](self, o)  # noqa: E704
    def __rpow__(self, o: Any) -> Expr: return _OPS["pow"](o, self)  # noqa: E704
    def __matmul__(self, o: Any) -> Expr: return _OPS["matmul"](self, o)  # noqa: E704
    def __rmatmul__(self, o: Any) -> Expr: return _OPS["matmul"](o, self)  # noqa: E704
    def __neg__(self) -> Expr: return _OPS["neg"](self)  # noqa: E704
    def __pos__(self) -> Expr: return self  # noqa: E704
    def __abs__(self) -> Expr: return _OPS["abs"](self)  # noqa: E704
    def __gt__(self, o: Any) -> Expr: return _OPS["greater"](self, o)  # noqa: E704
    def __ge__(self, o: Any) -> Expr: return _OPS["greater_equal"](self, o)  # noqa: E704
    def __lt__(self, o: Any) -> Expr: return _OPS["less"](self, o)  # noqa: E704
    def __le__(self, o: Any) -> Expr: return _OPS["less_equal"](self, o)  # noqa: E704

    def __getitem__(self, index: Any) -> Expr:
        """``x[i, 1:3, None, ...]``: constant ints, slices, ``None`` and ``...`` (basic
        indexing, a view); integer arrays, int-typed expressions and constant boolean masks
        (NumPy's advanced indexing: a gather whose derivative scatter-adds back)."""
        op = _OPS["getitem"]
        try:
            return op(self, index=index)
        except op.extra["signal"]:
            return op.extra["advanced"](self, index)  # type: ignore[no-any-return]

    def __iter__(self) -> Iterator[Expr]:
        """Iterate over the first axis (an int length); 0-d and symbolic lengths refuse."""
        if not self.shape or not isinstance(self.shape[0], int):
            raise TypeError(f"iteration over an expression of shape {fmt(self.shape)} "
                            "(needs an int first dimension)")
        return (self[i] for i in range(self.shape[0]))

    @property
    def T(self) -> Expr:
        """Transpose (all axes reversed, as NumPy's ``.T``)."""
        return _OPS["transpose"](self)

    def sum(self, axis: Any = None, keepdims: bool = False) -> Expr:
        return _OPS["sum"](self, axis=axis, keepdims=keepdims)

    def mean(self, axis: Any = None, keepdims: bool = False) -> Expr:
        return _OPS["mean"](self, axis=axis, keepdims=keepdims)

    # ndarray's methods, as NumPy's: each calls the public function of the same name
    # (looked up when called, so a function added by another family is found).
    def __len__(self) -> int:
        """The length of the first axis (an int; 0-d and symbolic lengths refuse)."""
        if not self.shape:
            raise TypeError("len() of a 0-d expression")
        if not isinstance(self.shape[0], int):
            raise TypeError(f"len() of an expression whose first dimension is the symbolic "
                            f"size {self.shape[0]!r}")
        return self.shape[0]

    def reshape(self, *shape: Any, order: str = "C") -> Expr:
        """``x.reshape(2, 3)`` or ``x.reshape((2, 3))`` (C order; one -1 allowed)."""
        if order != "C":
            raise SymbackError(f"reshape: only order='C' is supported, not {order!r}")
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return _OPS["reshape"](self, shape=shape)

    def ravel(self) -> Expr:
        """The entries as a 1-d array (C order)."""
        return _np("ravel")(self)

    def flatten(self) -> Expr:
        """The entries as a 1-d array (C order): ``ravel`` (nodes are immutable, no copy)."""
        return _np("ravel")(self)

    def squeeze(self, axis: Any = None) -> Expr:
        return _np("squeeze")(self, axis)

    def transpose(self, *axes: Any) -> Expr:
        """``x.transpose()``, ``x.transpose(1, 0, 2)`` or ``x.transpose((1, 0, 2))``."""
        if len(axes) == 1 and (axes[0] is None or isinstance(axes[0], (tuple, list))):
            axes = axes[0]
        return _OPS["transpose"](self, axes=axes or None)

    def swapaxes(self, axis1: Any, axis2: Any) -> Expr:
        return _np("swapaxes")(self, axis1, axis2)

    def astype(self, dtype: Any) -> Expr:
        """The entries as ``dtype`` (``float64``/``float32``; a cast whose derivative casts
        back). The same dtype gives ``self``."""
        return _np("astype")(self, dtype)

    def dot(self, b: Any) -> Expr:
        return _np("dot")(self, b)

    def clip(self, a_min: Any = None, a_max: Any = None) -> Expr:
        return _np("clip")(self, a_min, a_max)

    def max(self, axis: Any = None, keepdims: bool = False) -> Expr:
        return _np("max")(self, axis=axis, keepdims=keepdims)

    def min(self, axis: Any = None, keepdims: bool = False) -> Expr:
        return _np("min")(self, axis=axis, keepdims=keepdims)

    def prod(self, axis: Any = None, keepdims: bool = False) -> Expr:
        return _np("prod")(self, axis=axis, keepdims=keepdims)

    def var(self, axis: Any = None, ddof: int = 0, keepdims: bool = False) -> Expr:
        return _np("var")(self, axis=axis, ddof=ddof, keepdims=keepdims)

    def std(self, axis: Any = None, ddof: int = 0, keepdims: bool = False) -> Expr:
        return _np("std")(self, axis=axis, ddof=ddof, keepdims=keepdims)

    def cumsum(self, axis: Any = None) -> Expr:
        return _np("cumsum")(self, axis=axis)

    def take(self, indices: Any, axis: Any = None) -> Expr:
        return _np("take")(self, indices, axis)

    def repeat(self, repeats: Any, axis: Any = None) -> Expr:
        return _np("repeat")(self, repeats, axis)

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle as a flat list of nodes (any depth, no recursion); loading re-interns,
        so in one process ``pickle.loads(pickle.dumps(e)) is e`` (and ``copy.deepcopy(e) is e``).
        """
        return (_unflatten, (_flatten(self),))


def _np(name: str) -> Callable[..., Expr]:
    """symback's public function ``name`` (for ndarray-style methods), or a clear error."""
    import symback

    fn = getattr(symback, name, None)
    if fn is None:
        raise SymbackError(f"Expr.{name}(): symback has no function {name!r} in this version")
    return fn  # type: ignore[no-any-return]


# Expr is frozen and hashed by identity.
Expr.__hash__ = object.__hash__  # type: ignore[method-assign]
Expr.__eq__ = object.__eq__  # type: ignore[method-assign]

# name -> Op, filled by symback.ops (the registry); graph.py only reads it.
_OPS: dict[str, Op] = {}


def _flatten(root: Expr) -> tuple[tuple[Any, ...], ...]:
    """The graph under ``root`` as ``(kind, ...)`` records in topological order, arguments
    as indices into the list: 0 symbol (name, shape, dtype); 1 constant (value);
    2 op node (op name, argument indices, attributes, shape, dtype)."""
    nodes = toposort([root])
    index = {n: i for i, n in enumerate(nodes)}
    flat: list[tuple[Any, ...]] = []
    for n in nodes:
        if n.op is SYMBOL:
            flat.append((0, n.name, n.shape, n.dtype))
        elif n.op is CONST:
            flat.append((1, n.value))
        else:
            flat.append((2, n.op.name, tuple(index[a] for a in n.args), n.attrs, n.shape,
                         n.dtype))
    return tuple(flat)


def _unflatten(flat: Sequence[tuple[Any, ...]]) -> Expr:
    """Rebuild a pickled graph through the builders (shape rules run again), re-interned."""
    built: list[Expr] = []
    for rec in flat:
        if rec[0] == 0:
            built.append(symbol(rec[1], rec[2], rec[3]))
        elif rec[0] == 1:
            built.append(const(rec[1]))
        else:
            _, name, idx, attrs, shape, dtype = rec
            op = _OPS.get(name)
            if op is None:
                raise SymbackError(f"unpickling an expression: unknown op {name!r}")
            args = tuple(built[i] for i in idx)
            node = op(*args, **dict(attrs))
            if node.op is not op or node.attrs != attrs or any(
                    x is not y for x, y in zip(node.args, args)) or len(node.args) != len(args):
                # the builder simplified differently (another version's rules): keep the
                # pickled structure exactly, as the node it was
                node = _intern(op, args, attrs, shape, dtype)
            built.append(node)
    return built[-1]


def _op_by_name(name: str) -> Op:
    op = _OPS.get(name)
    if op is None:
        raise SymbackError(f"unpickling: unknown op {name!r}")
    return op


def _intern(op: Op, args: tuple[Expr, ...], attrs: tuple[tuple[str, Any], ...],
            shape: Shape, dtype: str) -> Expr:
    ref = op._table.get((args, attrs) if attrs else args)  # type: ignore[attr-defined]
    if ref is not None:
        node = ref()
        if node is not None:
            return node
    return _make(op, args, attrs, shape, dtype)


# Nodes are made by setting their slots directly (a frozen dataclass's __init__ goes
# through object.__setattr__ field by field: 0.6 µs a node, this 0.35 µs).
_new_object = object.__new__
_set_op = Expr.op.__set__  # type: ignore[attr-defined]
_set_args = Expr.args.__set__  # type: ignore[attr-defined]
_set_attrs = Expr.attrs.__set__  # type: ignore[attr-defined]
_set_shape = Expr.shape.__set__  # type: ignore[attr-defined]
_set_dtype = Expr.dtype.__set__  # type: ignore[attr-defined]


def _make(op: Op, args: tuple[Expr, ...], attrs: tuple[tuple[str, Any], ...],
          shape: Shape, dtype: str) -> Expr:
    """A new node, unless another thread has just built it (the caller found none)."""
    key = (args, attrs) if attrs else args
    table = op._table  # type: ignore[attr-defined]
    _acquire()  # (acquire/release: half the cost of a with statement on the lock)
    try:
        ref = table.get(key)
        node = ref() if ref is not None else None
        if node is None:
            node = _new_object(Expr)
            _set_op(node, op)
            _set_args(node, args)
            _set_attrs(node, attrs)
            _set_shape(node, shape)
            _set_dtype(node, dtype)
            ref = _NodeRef(node, op._forget)  # type: ignore[attr-defined]
            ref.key = key
            table[key] = ref
    finally:
        _release()
    return node


_FLOAT_NAMES = frozenset({"float64", "float32"})
# Folding caches: (op, const args, attrs) -> the node that call gives, and the
# compiled NumPy form per (op, arity, attrs). Building a gradient folds the same small
# constants thousands of times (W2's x**2 gives 2 - 1 once per term); both are bounded.
_FOLDED: dict[tuple[Any, ...], Any] = {}
_FOLD_CODE: dict[tuple[Any, ...], Any] = {}
_FOLD_CACHE_SIZE = 4096
_MISSING = object()


def _fold(op: Op, args: tuple[Expr, ...], attrs: dict[str, Any], shape: Shape) -> Expr | None:
    """Evaluate ``op`` on constant arguments with its own NumPy form (no second implementation)."""
    from . import numeric

    if op.view:
        return None
    names = [f"_c{i}" for i in range(len(args))]
    ns: dict[str, Any] = {"np": np, **{n: a.value for n, a in zip(names, args)}}
    for h in op.helpers:
        ns[h] = numeric.HELPERS[h]
    try:
        ckey = (op, len(args), tuple(sorted(attrs.items())))
        code = _FOLD_CODE.get(ckey)
        if code is None:
            if len(_FOLD_CODE) >= _FOLD_CACHE_SIZE:
                _FOLD_CODE.clear()
            code = _FOLD_CODE[ckey] = compile(render_numpy(op, names, attrs), "<fold>", "eval")
        with np.errstate(all="ignore"):
            if any(a.weak and type(a.value) is int for a in args):
                # Python ints are exact and unbounded: 10 ** 10**10 would never finish. Fold
                # in float64 first; keep exact int arithmetic only when the result is small.
                fns = dict(ns)
                for n, a in zip(names, args):
                    if a.weak and type(a.value) is int:
                        fns[n] = np.float64(a.value)
                fvalue = eval(code, fns)  # noqa: S307 - self-generated text over constants
                if np.ndim(fvalue) == 0 and not (np.isfinite(fvalue) and abs(fvalue) < 2.0**53):
                    return const(float(fvalue)) if all(a.weak for a in args) else None
            try:
                value = eval(code, ns)  # noqa: S307 - self-generated text over constants only
                if np.iscomplexobj(value):  # Python's (-8) ** (1/3) is complex
                    raise ValueError("complex")
            except (ArithmeticError, ValueError):
                # Python numbers raise (1 / 0, 0 ** -1) or go complex where NumPy gives the
                # IEEE answer (inf, nan), which generated code would compute: fold as floats.
                for n, a in zip(names, args):
                    if a.weak:
                        ns[n] = np.float64(a.value)
                value = eval(code, ns)  # noqa: S307
    except Exception:  # the op cannot fold these: keep the node
        return None
    if all(a.weak for a in args) and np.ndim(value) == 0:
        v = np.asarray(value)
        if v.dtype.kind == "b":
            return const(bool(v))
        if v.dtype.kind in "iu":
            return const(int(v))
        return const(float(v))
    arr = np.asarray(value)
    if arr.size > 100_000:
        return None
    return const(arr)


def render_numpy(op: Op, args: list[str], attrs: Mapping[str, Any],
                 dims: Callable[[Any], str] | None = None) -> str:
    """NumPy source for ``op`` over argument names; shapes rendered through ``dims``."""
    if callable(op.numpy):
        return op.numpy(list(args), dict(attrs) if dims is None else {**attrs, "_dims": dims})
    rendered = {}
    for k, v in attrs.items():
        if k == "shape":
            rendered[k] = render_shape(v, dims)
        else:
            rendered[k] = repr(v)
    return op.numpy.format(*args, **rendered)


def render_shape(shape: Shape, dims: Callable[[Any], str] | None = None) -> str:
    """A shape as Python source, symbolic dimensions through ``dims``."""
    parts = [str(d) if isinstance(d, int) else (dims(d) if dims else d) for d in shape]
    return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"


# --------------------------------------------------------------------------- leaves


def _leaf_shape(shapes: tuple[Shape, ...], **attrs: Any) -> Shape:
    return attrs["shape"]


SYMBOL = Op(
    "symbol", 0, _leaf_shape, numpy="{name}", fold=False,
    dtype=lambda args, **kw: kw["dtype"],
    doc="A free variable of the given shape and dtype.",
)
CONST = Op(
    "const", 0, lambda shapes, **kw: kw["value"].shape, numpy="{value}", fold=False,
    dtype=lambda args, **kw: kw["value"].dtype,
    doc="A constant (a Python scalar, or a NumPy array).",
)

_DTYPES = {"float64", "float32", "int64"}  # int64: index inputs (x[i], sb.take)


def symbol(name: str, shape: Iterable[Any] = (), dtype: str = "float64", *,
           sympy_assumptions: tuple[tuple[str, Any], ...] = ()) -> Expr:
    """A free variable. Same name, shape and dtype give the same node.

    ``sympy_assumptions`` marks a scalar symbol that came from a SymPy symbol other than
    symback's own real one (``sympy.Symbol("x")`` has no ``real=True``): as in SymPy, it is
    a different variable from ``sb.symbols("x")``, and ``to_sympy`` gives the user's symbol
    back. Symbols made by symback carry none (they are real).
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise SymbackError(f"symbol name {name!r} is not a valid identifier")
    if name.startswith("_"):
        raise SymbackError(f"symbol name {name!r} may not start with '_' (reserved)")
    if dtype not in _DTYPES:
        try:
            dtype = str(np.dtype(dtype))
        except TypeError:
            raise SymbackError(f"symbol {name}: dtype {dtype!r} is not float64, float32 or "
                               "int64 (int64 for index inputs)")
    if dtype not in _DTYPES:
        raise SymbackError(f"symbol {name}: dtype {dtype} is not float64, float32 or int64 "
                           "(int64 for index inputs)")
    shp = check_shape(shape, what=f"symbol {name}")
    attrs: tuple[tuple[str, Any], ...] = (("dtype", dtype), ("name", name), ("shape", shp))
    if sympy_assumptions:
        attrs += (("sympy", tuple(sorted(sympy_assumptions))),)
    return _intern(SYMBOL, (), attrs, shp, dtype)


def const(value: Any) -> Expr:
    """A constant node; ``const(1)``, ``const(1.0)``, ``const(True)`` and ``const(-0.0)`` differ.

    Constants keep their type: an int stays an int, a NumPy array keeps its dtype.

    >>> import symback as sb
    >>> sb.const(1) is sb.const(1.0)
    False
    >>> sb.const([[1.0, 2.0], [3.0, 4.0]]).shape
    (2, 2)
    """
    cv = ConstValue(value)
    return _intern(CONST, (), (("value", cv),), cv.shape, cv.dtype)


_NUMBERS: dict[tuple[Any, Any], Expr] = {}


def as_expr(x: Any) -> Expr:
    """An ``Expr`` as is; Python numbers and NumPy arrays as constants.

    >>> import symback as sb
    >>> x = sb.symbols("x")
    >>> sb.as_expr(x) is x, sb.as_expr(2.5) is sb.const(2.5)
    (True, True)
    """
    if isinstance(x, Expr):
        return x
    cls = x.__class__
    if cls is int or cls is float:  # the numbers in user formulas: a bounded cache
        key = (cls, x) if x else (cls, repr(x))  # 0.0 and -0.0 are equal: keyed by text
        e = _NUMBERS.get(key)
        if e is None:
            e = const(x)
            if len(_NUMBERS) < 4096:
                _NUMBERS[key] = e
        return e
    if isinstance(x, (bool, int, float)) and not isinstance(x, np.generic):
        if isinstance(x, float) and math.isnan(x):
            return const(x)
        return const(x)
    if isinstance(x, (np.ndarray, np.generic, list, tuple)):
        return const(np.asarray(x))
    raise SymbackError(f"cannot use {type(x).__name__} {x!r:.60} in a symbolic expression")


def broadcast_to(x: Any, shape: Shape) -> Expr:
    """``x`` stretched to ``shape`` (a view; used for gradients of reductions)."""
    return _OPS["broadcast_to"](x, shape=tuple(shape))


def zeros(shape: Shape) -> Expr:
    """Zeros of ``shape`` (a weak ``0.0`` broadcast)."""
    return const(0.0) if shape == () else broadcast_to(const(0.0), shape)


def ones(shape: Shape) -> Expr:
    return const(1.0) if shape == () else broadcast_to(const(1.0), shape)


# --------------------------------------------------------------------------- walks


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a large graph is built or walked.

    Nodes never form cycles, so the collector finds nothing; but each of its full
    passes visits every live object, which made a 10^5-node gradient 30% slower (and
    the build time grow faster than linearly). Reference counting still frees
    everything as usual. A collector the caller disabled stays disabled.
    """
    was = gc.isenabled()
    if was:
        gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()



def toposort(roots: Iterable[Expr]) -> list[Expr]:
    """Every node reachable from ``roots``, arguments before users (iterative DFS).

    >>> import symback as sb
    >>> a, b = sb.symbols("a b")
    >>> [str(n) for n in sb.toposort([sb.sin(a) * b + a])]
    ['a', 'sin(a)', 'b', 'b * sin(a)', 'b * sin(a) + a']
    """
    with gc_paused():  # a deep walk keeps one live tuple per level: no collector passes
        return _toposort(roots)


def _toposort(roots: Iterable[Expr]) -> list[Expr]:
    order: list[Expr] = []
    seen: set[Expr] = set()  # nodes hash by identity
    add, append = seen.add, order.append
    for root in roots:
        if root in seen:
            continue
        add(root)
        # the path from the root: its nodes, and an iterator over each one's remaining
        # arguments (two lists, not a list of pairs: a deep chain keeps one entry per level)
        nodes: list[Expr] = [root]
        iters: list[Iterator[Expr]] = [iter(root.args)]
        push_node, push_iter, pop_node, pop_iter = nodes.append, iters.append, nodes.pop, iters.pop
        while iters:
            for child in iters[-1]:
                if child not in seen:
                    add(child)
                    push_node(child)
                    push_iter(iter(child.args))
                    break
            else:
                pop_iter()
                append(pop_node())
    return order


def free_symbols(*roots: Expr) -> list[Expr]:
    """The symbols the roots depend on, sorted by name.

    >>> import symback as sb
    >>> b, a = sb.symbols("b a")
    >>> sb.free_symbols(sb.sin(b) * a)
    [a, b]
    """
    syms = {n for n in toposort(roots) if n.op is SYMBOL}
    return sorted(syms, key=lambda s: (s.name, s.shape.__repr__()))


def count_nodes(*roots: Expr) -> int:
    return len(toposort(roots))


def rebuild(node: Expr, args: Sequence[Expr]) -> Expr:
    """The node's op applied to new arguments (same attributes), through the builder."""
    if not node.args:
        return node
    if all(a is b for a, b in zip(args, node.args)):
        return node
    return node.op(*args, **node.kw)


def substitute(roots: Sequence[Expr] | Expr, mapping: Mapping[Expr, Any]) -> Any:
    """Replace nodes by others (iteratively, sharing preserved); shapes must agree.

    ``roots`` one expression (gives one) or a list (gives a list); ``mapping`` node ->
    replacement (an expression or a number).

    >>> import symback as sb
    >>> x, y = sb.symbols("x y")
    >>> sb.substitute(sb.sin(x) * x, {x: y}) is sb.sin(y) * y
    True
    """
    single = isinstance(roots, Expr)
    rlist = [roots] if single else list(roots)  # type: ignore[list-item]
    repl: dict[Expr, Expr] = {}
    for k, v in mapping.items():
        ve = as_expr(v)
        if ve.shape != k.shape:
            if broadcast("substitute", k.shape, ve.shape) != k.shape:
                raise ShapeError(
                    f"substitute: {k} has shape {fmt(k.shape)} but its replacement has "
                    f"shape {fmt(ve.shape)}"
                )
            ve = broadcast_to(ve, k.shape)
        repl[k] = ve
    memo: dict[Expr, Expr] = {}
    for n in toposort(rlist):
        if n in repl:
            memo[n] = repl[n]
        else:
            memo[n] = rebuild(n, [memo[a] for a in n.args])
    out = [memo[r] for r in rlist]
    return out[0] if single else out


def users(roots: Iterable[Expr]) -> dict[Expr, list[Expr]]:
    """For each node below ``roots``, the nodes that take it as an argument."""
    out: dict[Expr, list[Expr]] = {}
    for n in toposort(roots):
        out.setdefault(n, [])
        for a in n.args:
            out.setdefault(a, []).append(n)
    return out


def iter_ops() -> Iterator[Op]:
    """Every registered op."""
    return iter(_OPS.values())


# --------------------------------------------------------------------------- user constructors


def symbols(names: str | Sequence[str], dtype: str = "float64") -> Any:
    """Scalar symbols: ``symbols("a b c")`` (spaces or commas); one name gives one ``Expr``.

    Symbols are interned by name, shape and dtype: asking twice gives the same node.

    >>> import symback as sb
    >>> a, b = sb.symbols("a b")
    >>> a * b + 1
    a * b + 1
    >>> sb.symbols("a") is a
    True
    """
    if isinstance(names, str):
        parts = [p for p in names.replace(",", " ").split() if p]
    elif isinstance(names, (list, tuple)):
        parts = list(names)
    else:
        raise SymbackError(f"symbols: expected names as a str ('a b c') or a list of str, "
                           f"not {type(names).__name__}")
    if not parts:
        raise SymbackError("symbols: no names given")
    out = tuple(symbol(p, (), dtype) for p in parts)
    return out[0] if len(out) == 1 else out


def tensor(name: str, shape: Iterable[Any] = (), dtype: str = "float64") -> Expr:
    """A symbol of ``shape``; each dimension an int or a symbolic size such as ``"n"``.

    >>> import symback as sb
    >>> X = sb.tensor("X", ("n", 3))
    >>> X.shape, (X @ sb.vector("w", 3)).shape
    (('n', 3), ('n',))
    """
    if isinstance(shape, (int, str)):
        shape = (shape,)
    return symbol(name, shape, dtype)


def matrix(name: str, rows: Any, cols: Any, dtype: str = "float64") -> Expr:
    """A 2-D symbol of shape ``(rows, cols)``.

    >>> import symback as sb
    >>> sb.matrix("W", 3, "k").shape
    (3, 'k')
    """
    return symbol(name, (rows, cols), dtype)


def vector(name: str, n: Any, dtype: str = "float64") -> Expr:
    """A 1-D symbol of shape ``(n,)``.

    >>> import symback as sb
    >>> sb.vector("w", "n").shape
    ('n',)
    """
    return symbol(name, (n,), dtype)
