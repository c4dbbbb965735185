"""Array creation: constants of a given shape (``eye``, ``full``/``zeros``/``ones``, ``arange``,
``linspace``; NumPy's names and meanings).

These ops take no arguments; their values are known at build time but they are kept as
nodes (``fold=False``) so that printed gradients say ``I`` rather than a table of numbers.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..graph import Expr, Op
from ..notation import ATOM, Notation
from ..shapes import Dim, check_shape
from . import _scalar, register
from ._common import _dim_src, _sp, _sp_dim

# ---------------------------------------------------------------- eye


def _eye_norm(args: tuple[Expr, ...], attrs: dict[str, Any]) -> dict[str, Any]:
    (n,) = check_shape((attrs["n"],), what="eye")
    dtype = attrs.get("dtype", "float64")
    if dtype not in ("float64", "float32"):
        raise SymbackError(f"eye: dtype must be float64 or float32, not {dtype!r}")
    # float64 is the default and stays out of the key (the node every graph had before)
    return {"n": n} if dtype == "float64" else {"n": n, "dtype": dtype}


def _eye_dtype(kw: dict[str, Any]) -> str:
    return kw.get("dtype", "float64")


def _eye_text(args: list[str], kw: dict[str, Any]) -> str:
    d = kw["n"]
    extra = "" if _eye_dtype(kw) == "float64" else f", dtype={_eye_dtype(kw)}"
    return f"eye({d}{extra})"


eye_op = register(Op(
    "eye", 0, lambda shapes, *, n, dtype="float64": (n, n),
    numpy=lambda args, kw: (f"np.eye({_dim_src(kw['n'], kw)})" if _eye_dtype(kw) == "float64"
                            else f"np.eye({_dim_src(kw['n'], kw)}, dtype=np.{_eye_dtype(kw)})"),
    fold=False,
    forms={"xp": lambda args, kw: f"xp.eye({_dim_src(kw['n'], kw)}, "
                                  f"dtype=xp.{_eye_dtype(kw)}, device=_dev)"},
    normalize=_eye_norm, dtype=lambda args, **kw: kw.get("dtype", "float64"),
    extra={"identity": True},  # A I = A: matmul's simplify reads this
    scalarize=lambda a, kw: _scalar.eye(kw["n"]),
    text=Notation(_eye_text), latex=Notation("I", ATOM),
    sympy=lambda *, n: _sp().Identity(_sp_dim(n)),
    doc="I, the n×n identity matrix (float64, or float32 inside float32 graphs). Iᵢⱼ = δᵢⱼ.",
))


def eye(n: Dim, dtype: str = "float64") -> Expr:
    """The ``n``×``n`` identity matrix; ``n`` an int or a symbolic size; float64 or float32
    (derivative rules pass their graph's float dtype, so float32 stays float32)."""
    return eye_op(n=n) if dtype != "float32" else eye_op(n=n, dtype="float32")


# ---------------------------------------------------------------- full / zeros / ones

from ..errors import SymbackError  # noqa: E402
from ..graph import ConstValue  # noqa: E402
from ..notation import MUL, number_latex  # noqa: E402
from ..shapes import Shape, fmt  # noqa: E402
from ._common import _shape_src  # noqa: E402

_CREATE_DTYPES = ("float64", "float32", "int64", "bool")


def _dtype_arg(name: str, dtype: Any, default: str) -> str:
    """A dtype argument as a name: NumPy dtypes and types, strings, or (as the parser reads
    ``dtype=float32``) a scalar symbol of that name."""
    if dtype is None:
        return default
    if isinstance(dtype, Expr) and dtype.is_symbol and dtype.shape == ():
        dtype = dtype.name
    try:
        dt = str(np.dtype(dtype))
    except TypeError:
        raise SymbackError(f"{name}: dtype {dtype!r} is not a dtype") from None
    if dt not in _CREATE_DTYPES:
        raise SymbackError(f"{name}: dtype {dt} is not supported (float64, float32, int64, "
                           "bool; complex dtypes are not)")
    return dt


def _shape_arg(name: str, shape: Any) -> Shape:
    """A shape argument: an int, a size name, or a tuple of them; scalar symbols stand for
    their names (the parser reads ``zeros((2, n))`` with ``n`` a symbol)."""
    if isinstance(shape, (int, np.integer, str, Expr)) and not isinstance(shape, bool):
        shape = (shape,)
    try:
        items = list(shape)
    except TypeError:
        raise SymbackError(f"{name}: shape {shape!r} is not a tuple of sizes") from None
    dims = [d.name if isinstance(d, Expr) and d.is_symbol and d.shape == () else d
            for d in items]
    return check_shape(dims, what=name)


def _fill_norm(args: tuple[Expr, ...], attrs: dict[str, Any]) -> dict[str, Any]:
    dtype = attrs["dtype"]
    v = attrs["fill_value"]
    v = v.value if isinstance(v, ConstValue) else v
    if isinstance(v, (np.generic, np.ndarray)):
        if np.ndim(v):
            raise SymbackError("full: fill_value must be a scalar")
        v = v.item()
    if not isinstance(v, (bool, int, float)):
        raise SymbackError(f"full: fill_value {v!r} is not a real number (complex values are "
                           "not supported)")
    kind = np.dtype(dtype).kind
    v = bool(v) if kind == "b" else int(v) if kind == "i" else float(v)
    return {"shape": _shape_arg("full", attrs["shape"]), "fill_value": ConstValue(v),
            "dtype": dtype}


def _fill_of(kw: dict[str, Any]) -> Any:
    return kw["fill_value"].value


def _dtype_text(kw: dict[str, Any], default: str = "float64") -> str:
    return "" if kw["dtype"] == default else f", dtype={kw['dtype']}"


def _shape_text(shape: Shape) -> str:
    return str(shape[0]) if len(shape) == 1 else fmt(shape)


def _full_text(args: list[str], kw: dict[str, Any]) -> str:
    v = _fill_of(kw)
    shp = _shape_text(kw["shape"])
    if not isinstance(v, bool) and v == 0 and repr(v)[0] != "-":
        return f"zeros({shp}{_dtype_text(kw)})"
    if not isinstance(v, bool) and v == 1:
        return f"ones({shp}{_dtype_text(kw)})"
    default = {bool: "bool", int: "int64", float: "float64"}[type(v)]
    return f"full({shp}, {v!r}{_dtype_text(kw, default)})"


def _full_latex(node: Expr) -> Notation:
    v = _fill_of(node.kw)
    if not isinstance(v, bool) and v in (0, 1) and repr(v)[0] != "-":
        return Notation(r"\mathbf{{1}}" if v == 1 else r"\mathbf{{0}}", ATOM)
    return Notation(number_latex(v).replace("{", "{{").replace("}", "}}") + r" \mathbf{{1}}",
                    MUL)


def _full_numpy(args: list[str], kw: dict[str, Any]) -> str:
    v = _fill_of(kw)
    shp = _shape_src(kw["shape"], kw)
    if not isinstance(v, bool) and v == 0 and repr(v)[0] != "-":
        return f"np.zeros({shp}, {kw['dtype']!r})"
    return f"np.full({shp}, {v!r}, {kw['dtype']!r})"


def _full_xp(args: list[str], kw: dict[str, Any]) -> str:
    """The NumPy form with the dtype as the namespace's (torch takes no dtype string), on
    the arguments' device."""
    v = _fill_of(kw)
    shp = _shape_src(kw["shape"], kw)
    dt = f"dtype=xp.{kw['dtype']}, device=_dev"
    if not isinstance(v, bool) and v == 0 and repr(v)[0] != "-":
        return f"xp.zeros({shp}, {dt})"
    return f"xp.full({shp}, {v!r}, {dt})"


def _full_sympy(shape: Shape, v: Any) -> Any:
    """SymPy's ZeroMatrix / OneMatrix (times the value) for a matrix shape; else None."""
    if len(shape) != 2 or isinstance(v, bool):
        return None
    sp = _sp()
    dims = [_sp_dim(d) for d in shape]
    return sp.ZeroMatrix(*dims) if v == 0 else sp.OneMatrix(*dims) * sp.sympify(v)


full_op = register(Op(
    "full", 0, lambda shapes, *, shape, fill_value, dtype: shape,
    numpy=_full_numpy, forms={"xp": _full_xp}, fold=False, normalize=_fill_norm,
    dtype=lambda args, **kw: kw["dtype"],
    text=Notation(_full_text), latex=Notation(r"\mathbf{{1}}", ATOM, select=_full_latex),
    sympy=lambda *, shape, fill_value, dtype: _full_sympy(shape, fill_value.value),
    scalarize=lambda a, kw: _scalar.full(kw["shape"], kw["fill_value"].value),
    doc="y = an array of shape s with every entry c (NumPy's zeros, ones, full); a constant "
        "kept as a node so it prints as zeros(s), ones(s), full(s, c).",
))


def _filled(shape: Any, fill_value: Any, dtype: str, named: bool) -> Expr:
    """The constant array. Without a dtype named (``named`` False) a float one is a
    stretched Python float, ``broadcast_to(c, s)``: weakly typed like a Python number (as in
    JAX, ``x32 * sb.ones(3)`` stays float32) and the very node the reverse pass builds for
    ∂Σx/∂x, so ``ones(3)`` printed from a gradient parses back to it. With a dtype named,
    or for int/bool fills, it is a ``full`` node of exactly that dtype (NumPy's promotion)."""
    if not named and dtype == "float64" and isinstance(fill_value, (int, float)) \
            and not isinstance(fill_value, bool):
        from .structural import broadcast_to_op

        return broadcast_to_op(float(fill_value), shape=_shape_arg("full", shape))
    return full_op(shape=shape, fill_value=fill_value, dtype=dtype)


def full(shape: Any, fill_value: Any, dtype: Any = None) -> Expr:
    """NumPy's ``full(shape, fill_value, dtype=None)``: every entry ``fill_value``.

    ``shape`` may hold symbolic sizes (``("n", 3)``); the dtype defaults to the fill
    value's (int64 for an int, bool for a bool, else float64). A constant node (op
    ``full``, printed ``full((2, 3), 0.5)``); its derivative is zero.

    >>> import symback as sb
    >>> print(sb.full((2, "n"), 0.5))
    full((2, n), 0.5)
    """
    v = fill_value.item() if isinstance(fill_value, np.generic) else fill_value
    if isinstance(v, Expr) and v.is_const and v.weak:
        v = v.value
    default = ("bool" if isinstance(v, bool) else "int64" if isinstance(v, int)
               else "float64")
    return _filled(shape, v, _dtype_arg("full", dtype, default), dtype is not None)


def zeros(shape: Any, dtype: Any = None) -> Expr:
    """NumPy's ``zeros(shape, dtype=float64)``: a constant node printed ``zeros(shape)``
    (``shape`` may hold symbolic sizes: ``sb.zeros((2, "n"))``).

    >>> import symback as sb
    >>> print(sb.zeros(3)), print(sb.zeros((2, "n")))
    zeros(3)
    zeros((2, n))
    (None, None)
    """
    return _filled(shape, 0, _dtype_arg("zeros", dtype, "float64"), dtype is not None)


def ones(shape: Any, dtype: Any = None) -> Expr:
    """NumPy's ``ones(shape, dtype=float64)``: a constant node printed ``ones(shape)``.

    >>> import symback as sb
    >>> print(sb.ones(3), sb.ones((2, "n")))
    ones(3) ones((2, n))
    """
    return _filled(shape, 1, _dtype_arg("ones", dtype, "float64"), dtype is not None)


def _like(name: str, a: Any, dtype: Any, shape: Any) -> tuple[Shape, str]:
    from ..graph import as_expr

    x = as_expr(a)
    dt = x.dtype if not (x.weak and x.dtype != "bool") else (
        "int64" if x.dtype.startswith("int") else "float64")
    return (x.shape if shape is None else shape), _dtype_arg(name, dtype, dt)


def zeros_like(a: Any, dtype: Any = None, shape: Any = None) -> Expr:
    """NumPy's ``zeros_like(a, dtype=None, shape=None)``: zeros of ``a``'s shape and dtype
    (a constant: it does not depend on ``a``'s values).

    >>> import symback as sb
    >>> print(sb.zeros_like(sb.vector("x", 3)))
    zeros(3)
    """
    shp, dt = _like("zeros_like", a, dtype, shape)
    return _filled(shp, 0, dt, dtype is not None)


def ones_like(a: Any, dtype: Any = None, shape: Any = None) -> Expr:
    """NumPy's ``ones_like(a, dtype=None, shape=None)``: ones of ``a``'s shape and dtype.

    >>> import symback as sb
    >>> print(sb.ones_like(sb.vector("x", 3)))
    ones(3)
    """
    shp, dt = _like("ones_like", a, dtype, shape)
    return _filled(shp, 1, dt, dtype is not None)


def full_like(a: Any, fill_value: Any, dtype: Any = None, shape: Any = None) -> Expr:
    """NumPy's ``full_like(a, fill_value, dtype=None, shape=None)``: ``fill_value`` in
    ``a``'s shape and dtype.

    >>> import symback as sb
    >>> print(sb.full_like(sb.vector("x", 3), 0.5))
    full(3, 0.5)
    """
    shp, dt = _like("full_like", a, dtype, shape)
    return _filled(shp, fill_value, dt, dtype is not None)


def eye_fn(N: Any, M: Any = None, k: int = 0, dtype: Any = None) -> Expr:
    """NumPy's ``eye(N, M=None, k=0, dtype=float64)``: ones on the ``k``-th diagonal.

    The square float64 case is the ``eye`` op (printed ``eye(n)``, LaTeX ``I``; ``N`` may be
    a symbolic size); other cases (``M``, ``k``, dtype) are a constant array.

    >>> import symback as sb
    >>> print(sb.eye("n"))
    eye(n)
    """
    n = _shape_arg("eye", N)[0]
    m = n if M is None else _shape_arg("eye", M)[0]
    dt = _dtype_arg("eye", dtype, "float64")
    if m == n and k == 0 and dt in ("float64", "float32"):
        return eye(n, dt)
    if not (isinstance(n, int) and isinstance(m, int)):
        raise SymbackError("eye: a symbolic size needs the square case (M=None, k=0)")
    from ..graph import const

    return const(np.eye(n, m, k, dtype=dt))


# ---------------------------------------------------------------- arange / linspace


def _num(v: Any) -> Any:
    if isinstance(v, Expr) and v.is_const and v.weak:
        v = v.value
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise SymbackError(f"arange: {v!r} is not a real number")
    return v


def _arange_norm(args: tuple[Expr, ...], attrs: dict[str, Any]) -> dict[str, Any]:
    start, stop, step = attrs["start"], attrs["stop"], attrs["step"]
    dtype = attrs["dtype"]
    if isinstance(stop, Expr) and stop.is_symbol and stop.shape == ():
        stop = stop.name
    if isinstance(stop, str):
        if start != 0 or step != 1:
            raise SymbackError("arange: a symbolic stop needs start=0 and step=1 (arange(n))")
        check_shape((stop,), what="arange")
        return {"start": 0, "stop": stop, "step": 1, "dtype": dtype}
    start, stop, step = _num(start), _num(stop), _num(step)
    if step == 0:
        raise SymbackError("arange: step must not be zero")
    cast = int if dtype == "int64" else float
    return {"start": cast(start), "stop": cast(stop), "step": cast(step), "dtype": dtype}


def _arange_shape(shapes: tuple[Shape, ...], *, start: Any, stop: Any, step: Any,
                  dtype: str) -> Shape:
    if isinstance(stop, str):
        return (stop,)
    return (len(np.arange(start, stop, step)),)


def _arange_args(kw: dict[str, Any], stop: str) -> str:
    if kw["start"] == 0 and kw["step"] == 1:
        return stop
    if kw["step"] == 1:
        return f"{kw['start']!r}, {stop}"
    return f"{kw['start']!r}, {stop}, {kw['step']!r}"


def _stop_src(kw: dict[str, Any]) -> str:
    """arange's stop as source: a symbolic size read off an argument, else the number."""
    return _dim_src(kw["stop"], kw) if isinstance(kw["stop"], str) else repr(kw["stop"])


def _arange_default(kw: dict[str, Any]) -> str:
    return "int64" if all(isinstance(kw[k], int) for k in ("start", "stop", "step")) \
        or isinstance(kw["stop"], str) else "float64"


arange_op = register(Op(
    "arange", 0, _arange_shape,
    numpy=lambda a, kw: (f"np.arange({_arange_args(kw, _dim_src(kw['stop'], kw) if isinstance(kw['stop'], str) else repr(kw['stop']))}"  # noqa: E501
                         f", dtype={kw['dtype']!r})"),
    forms={"xp": lambda a, kw: (f"xp.arange({_arange_args(kw, _stop_src(kw))}, "
                                f"dtype=xp.{kw['dtype']}, device=_dev)")},
    fold=False, normalize=_arange_norm, dtype=lambda args, **kw: kw["dtype"],
    text=Notation(lambda a, kw: f"arange({_arange_args(kw, str(kw['stop']) if isinstance(kw['stop'], str) else repr(kw['stop']))}"  # noqa: E501
                  f"{_dtype_text(kw, _arange_default(kw))})"),
    latex=Notation(lambda a, kw: r"\operatorname{arange}(" + _arange_args(
        kw, str(kw["stop"])) + ")", ATOM),
    doc="y = start, start + step, … (before stop): NumPy's arange, a constant kept as a node.",
))


def arange(start: Any, stop: Any = None, step: Any = 1, dtype: Any = None) -> Expr:
    """NumPy's ``arange([start,] stop[, step], dtype=None)``: evenly spaced values in
    ``[start, stop)``. int64 when every argument is an int, else float64; ``arange("n")``
    (or ``arange(n)`` in parsed text) has the symbolic length ``n``. A constant node.

    >>> import symback as sb
    >>> print(sb.arange(5)), print(sb.arange(0.0, 1.0, 0.25).shape)
    arange(5)
    (4,)
    (None, None)
    """
    if stop is None:
        start, stop = 0, start
    if isinstance(stop, Expr) and stop.is_symbol:
        stop = stop.name
    vals = [v.value if isinstance(v, Expr) and v.is_const and v.weak else v
            for v in (start, stop, step)]
    default = "int64" if all(isinstance(v, (int, np.integer, str)) and not isinstance(v, bool)
                             for v in vals) else "float64"
    return arange_op(start=vals[0], stop=vals[1], step=vals[2],
                     dtype=_dtype_arg("arange", dtype, default))


def _linspace_norm(args: tuple[Expr, ...], attrs: dict[str, Any]) -> dict[str, Any]:
    num = attrs["num"]
    if isinstance(num, Expr) and num.is_symbol and num.shape == ():
        num = num.name
    (num,) = check_shape((num,), what="linspace")
    from ..shapes import check_flag

    return {"start": float(_num(attrs["start"])), "stop": float(_num(attrs["stop"])),
            "num": num, "endpoint": check_flag("linspace", "endpoint", attrs["endpoint"]),
            "dtype": attrs["dtype"]}


def _linspace_text(a: list[str], kw: dict[str, Any]) -> str:
    end = "" if kw["endpoint"] else ", endpoint=False"
    return (f"linspace({kw['start']!r}, {kw['stop']!r}, {kw['num']}{end}"
            f"{_dtype_text(kw)})")


linspace_op = register(Op(
    "linspace", 0, lambda shapes, *, start, stop, num, endpoint, dtype: (num,),
    numpy=lambda a, kw: (f"np.linspace({kw['start']!r}, {kw['stop']!r}, "
                         f"{_dim_src(kw['num'], kw)}, endpoint={kw['endpoint']}, "
                         f"dtype={kw['dtype']!r})"),
    forms={"xp": lambda a, kw: (f"xp.linspace({kw['start']!r}, {kw['stop']!r}, "
                                f"{_dim_src(kw['num'], kw)}, endpoint={kw['endpoint']}, "
                                f"dtype=xp.{kw['dtype']}, device=_dev)")},
    fold=False, normalize=_linspace_norm, dtype=lambda args, **kw: kw["dtype"],
    text=Notation(_linspace_text),
    latex=Notation(lambda a, kw: r"\operatorname{linspace}(" + number_latex(kw["start"])
                   + ", " + number_latex(kw["stop"]) + ", " + str(kw["num"]) + ")", ATOM),
    doc="y = num evenly spaced values from start to stop (stop included unless endpoint=False): "
        "NumPy's linspace, a constant kept as a node.",
))


def linspace(start: Any, stop: Any, num: Any = 50, endpoint: bool = True,
             dtype: Any = None) -> Expr:
    """NumPy's ``linspace(start, stop, num=50, endpoint=True, dtype=None)`` (float64 by
    default); ``num`` may be a symbolic size. A constant node printed ``linspace(0.0, 1.0, 5)``.

    >>> import symback as sb
    >>> sb.linspace(0.0, 1.0, 5).shape
    (5,)
    """
    return linspace_op(start=start, stop=stop, num=num, endpoint=endpoint,
                       dtype=_dtype_arg("linspace", dtype, "float64"))


def array(object: Any, dtype: Any = None) -> Expr:  # noqa: A002 - NumPy's name
    """NumPy's ``array(object, dtype=None)`` for numbers and nested lists of numbers: a
    constant node (how the text printer writes array constants, so ``sb.parse`` reads
    ``array([0, 2, 1])`` back).

    >>> import symback as sb
    >>> sb.array([1.0, 2.0]).shape
    (2,)
    """
    from ..graph import as_expr, const

    if isinstance(object, Expr):
        if not object.is_const:
            raise SymbackError("array: expects numbers or nested lists of numbers, not an "
                               "expression (use sb.stack)")
        object = object.value
    try:
        value = np.asarray(object, dtype=None if dtype is None
                           else _dtype_arg("array", dtype, "float64"))
    except (TypeError, ValueError) as e:
        raise SymbackError(f"array: {e}") from None
    if value.dtype.kind not in "biuf":
        raise SymbackError(f"array: expects numbers (or nested lists of numbers), got dtype "
                           f"{value.dtype}")
    return const(value) if value.ndim or dtype is not None else as_expr(value)
