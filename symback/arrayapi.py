"""One graph, several array libraries: lowering through the Python array API standard.

``sb.lambdify(args, exprs, backend="torch" | "jax" | "cupy")`` compiles the same graph
(rewritten by the same rule tables) into one Python function over the library's own
arrays. Each node's source is, in this order:

1. ``op.forms[backend]``: the op's own form for that library (a fused kernel such as
   ``torch.log_softmax``, a call the standard lacks such as ``torch.diag``);
2. ``op.forms["xp"]``: a form over the array-API namespace ``xp`` (``xp.pow``,
   ``xp.permute_dims``, ``xp.concat``: where the standard renamed a NumPy function);
3. the op's NumPy form, read mechanically: every ``np.NAME`` becomes ``xp.NAME`` when
   NAME is a function of the array-API standard (2023.12; the names in
   :data:`STANDARD`), where NumPy and the standard agree on the meaning.

A form that names anything else (``np.add.reduce``, ``np.diag``, a helper the namespace
lacks) makes compiling raise :class:`SymbackError` naming the op and the backend: an
op without a form never silently computes something else. Forms are checked when
compiling: every ``xp.a.b`` a form calls must exist in the backend's namespace.

``xp`` is ``array_api_compat.torch`` / ``array_api_compat.cupy`` (the standard over the
library's arrays, no copies) or ``jax.numpy`` (JAX implements the standard itself).
Arguments are converted to the library's arrays on the device of the first array
argument (a CUDA tensor keeps everything on CUDA), cast to the dtype their symbol declares
(float32 stays float32), and shape-checked as for NumPy. ``jax`` functions are wrapped in
``jax.jit``; ``torch`` ones in ``torch.compile`` with ``compile=True`` (or a dict of its
keyword arguments).
"""

from __future__ import annotations

import itertools
import re
import threading
from typing import Any, Callable, Sequence

import numpy as np

from .errors import ShapeError, SymbackError
from .graph import Expr, Op, render_numpy, render_shape, toposort
from .shapes import fmt

# The functions of the array-API standard (2023.12) whose NumPy namesakes take the same
# arguments and mean the same thing; ``np.NAME`` in an op's NumPy form is read as
# ``xp.NAME`` only for these. (``std``/``var`` take ``correction``, not ``ddof``; ``round``
# has no ``decimals``: they need forms.)
STANDARD = frozenset("""
abs acos acosh add asin asinh atan atan2 atanh ceil clip conj copysign cos cosh divide equal
exp expm1 floor floor_divide greater greater_equal hypot imag isfinite isinf isnan less
less_equal log log1p log2 log10 logaddexp logical_and logical_not logical_or logical_xor
maximum minimum multiply negative not_equal positive pow real remainder sign signbit sin sinh
square sqrt subtract tan tanh trunc
arange asarray empty empty_like eye full full_like linspace meshgrid ones ones_like tril triu
zeros zeros_like
broadcast_arrays broadcast_to concat flip moveaxis permute_dims repeat reshape roll squeeze
stack tile
argmax argmin nonzero searchsorted where
cumulative_sum max mean min prod sum
matmul matrix_transpose tensordot vecdot
all any argsort sort astype
e inf nan pi
linalg.cholesky linalg.cross linalg.det linalg.diagonal linalg.eigh linalg.eigvalsh
linalg.inv linalg.matmul linalg.matrix_norm linalg.matrix_power linalg.matrix_rank
linalg.matrix_transpose linalg.outer linalg.pinv linalg.qr linalg.slogdet linalg.solve
linalg.svd linalg.svdvals linalg.tensordot linalg.trace linalg.vecdot linalg.vector_norm
""".split())

# NumPy names the standard spells differently, for the same function and arguments
# (``np.arcsin`` is ``xp.asin``): read under the standard's name.
RENAMED = {
    "arcsin": "asin", "arccos": "acos", "arctan": "atan", "arcsinh": "asinh",
    "arccosh": "acosh", "arctanh": "atanh", "arctan2": "atan2", "power": "pow",
    "concatenate": "concat",
}

_NP_NAME = re.compile(r"(?<![\w.])np\.([A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)*)")
_LIB_NAME = re.compile(r"(?<![\w.])(xp|torch|jnp|jax|cupy)\.([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)")
_HELPER_CALL = re.compile(r"(?<![\w.])([A-Za-z_]\w*)\(")


class _MissingForm(Exception):
    """An op has no form on a backend (turned into a SymbackError naming both)."""


# --------------------------------------------------------------------------- backends


class ArrayBackend:
    """One array library: its namespace, how to recognise and make its arrays, its names."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.lock = threading.Lock()
        if name == "torch":
            import array_api_compat.torch as xp
            import torch

            self.xp, self.lib = xp, torch
            self.names = {"xp": xp, "torch": torch}
            self.array_type: Any = torch.Tensor
        elif name == "jax":
            import jax
            import jax.numpy as jnp
            import jax.scipy.special  # noqa: F401 - forms call jax.scipy.special.*

            self.xp, self.lib = jnp, jnp
            self.names = {"xp": jnp, "jnp": jnp, "jax": jax}
            self.array_type = jax.Array
        elif name == "cupy":
            import array_api_compat.cupy as xp
            import cupy

            self.xp, self.lib = xp, cupy
            self.names = {"xp": xp, "cupy": cupy}
            self.array_type = cupy.ndarray
        else:  # pragma: no cover - registry guards this
            raise SymbackError(f"lambdify: unknown array backend {name!r}")
        from .numeric_xp import helpers

        self.helpers = helpers(self.xp, name)

    def has(self, root: str, path: str) -> bool:
        obj = self.names.get(root)
        if obj is None:
            return False
        for part in path.split("."):
            obj = getattr(obj, part, None)
            if obj is None:
                return False
        return True

    def dtype(self, name: str) -> Any:
        return getattr(self.xp, name)

    def device_of(self, a: Any) -> Any:
        if self.name == "jax":
            return None
        import array_api_compat

        return array_api_compat.device(a)

    def convert(self, x: Any, name: str, dtype: str, device: Any) -> Any:
        """``x`` as this library's array of ``dtype`` (floats of another width cast, ints
        and bools converted), on ``device`` when it is not already an array here."""
        xp = self.xp
        if not isinstance(x, self.array_type):
            a = np.asarray(x)
            if a.dtype.kind not in "biuf":
                raise SymbackError(
                    f"argument {name}: expected numbers, got an array of dtype {a.dtype}")
            kw = {} if device is None else {"device": device}
            return xp.asarray(a.astype(dtype, copy=False), **kw)
        want = self.dtype(dtype)
        if x.dtype == want:
            return x
        if not (xp.isdtype(x.dtype, "real floating") or xp.isdtype(x.dtype, "integral")
                or xp.isdtype(x.dtype, "bool")):
            raise SymbackError(
                f"argument {name}: expected numbers, got an array of dtype {x.dtype}")
        return xp.astype(x, want)


_BACKENDS: dict[str, ArrayBackend] = {}


def backend(name: str) -> ArrayBackend:
    """The (cached) backend object; importing the library on first use."""
    b = _BACKENDS.get(name)
    if b is None:
        try:
            b = ArrayBackend(name)
        except ImportError as exc:
            raise SymbackError(
                f"lambdify: backend {name!r} needs {name} and array-api-compat installed "
                f"(pip install \"symback[{name}]\"): {exc}") from None
        _BACKENDS[name] = b
    return b


# --------------------------------------------------------------------------- forms


def render_form(node: Expr, be: ArrayBackend, args: list[str],
                dims: Callable[[Any], str]) -> str:
    """Source for ``node`` on backend ``be`` (see the module docstring for the order)."""
    op = node.op
    attrs = node.kw if node.attrs else {}
    text = None
    for key in (be.name, "xp"):
        form = op.forms.get(key)
        if form is None:
            continue
        if callable(form):
            try:
                text = form(list(args), {**attrs, "_dims": dims, "_node": node})
            except NotImplementedError as exc:
                raise _MissingForm(f"{op.name}: {exc} ({_attrs_text(attrs)})") from None
        else:
            rendered = {k: (render_shape(v, dims) if k == "shape" else repr(v))
                        for k, v in attrs.items()}
            text = form.format(*args, **rendered)
        if text is not None:
            break
    if text is None:  # no form of its own: the NumPy form over the standard's names
        text = _translate(render_numpy(op, args, attrs, dims), op, be)
    elif _NP_NAME.search(text):
        raise _MissingForm(f"{op.name}: its {be.name} form calls NumPy")
    for root, path in _LIB_NAME.findall(text):
        if not be.has(root, path):
            raise _MissingForm(f"{op.name}: {root}.{path} does not exist on {be.name}")
    for name in _HELPER_CALL.findall(_strip_libs(text)):
        if name in op.helpers and name not in be.helpers:
            raise _MissingForm(f"{op.name}: helper {name} has no {be.name} version")
    return text


def _attrs_text(attrs: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in attrs.items() if not k.startswith("_")) or "none"


def _strip_libs(text: str) -> str:
    return _LIB_NAME.sub("", text)


def _translate(text: str, op: Op, be: ArrayBackend) -> str:
    """A NumPy form read over ``xp``: ``np.NAME`` -> ``xp.NAME`` for standard NAMEs only."""
    def sub(m: re.Match[str]) -> str:
        path = RENAMED.get(m.group(1), m.group(1))
        if path not in STANDARD:
            raise _MissingForm(
                f"{op.name}: its NumPy form calls np.{path}, which is not in the array-API "
                f"standard, and the op states no {be.name!r} or 'xp' form")
        return "xp." + path
    return _NP_NAME.sub(sub, text)


# --------------------------------------------------------------------------- generation

_RESERVED = {"xp", "torch", "jnp", "jax", "cupy", "np", "_dev", "_s", "_w", "float", "int"}
_COUNTER = itertools.count()


def generate(be: ArrayBackend, args: list[Expr], outs: list[Expr],
             order: list[Expr] | None = None) -> tuple[str, dict[str, Any]]:
    """Source of ``_symback_fn(*args)`` over backend ``be`` returning the list of ``outs``
    (arguments already converted and checked by the caller), and its array constants."""
    from .codegen import _Plan, _literal, _py_name

    taken: set[str] = set(_RESERVED) | set(be.helpers)
    var: dict[Expr, str] = {}
    for a in args:
        var[a] = _py_name(a.name, taken)
    body: list[str] = []
    dims: dict[str, str] = {}
    for a in args:
        for i, d in enumerate(a.shape):
            if isinstance(d, str) and d not in dims:
                dims[d] = f"_d{len(dims)}"
                body.append(f"{dims[d]} = {var[a]}.shape[{i}]")

    def dim_code(d: Any) -> str:
        if d not in dims:
            raise SymbackError(f"lambdify: the size {d!r} cannot be read off any argument's "
                               "shape; add an argument that has it")
        return dims[d]

    if order is None:
        order = toposort(outs)
    consts: dict[str, Any] = {}
    # nodes that are Python numbers at run time (number constants, count's float(n)): an
    # op with no float array among its arguments gets them as 0-d arrays (``_w``), since
    # the libraries' functions want arrays and default to float32 (NumPy's to float64)
    pyfloat: set[Expr] = set()
    for n in order:
        if n.is_const:
            lit = _literal(n)
            if lit is not None:
                pyfloat.add(n)
                var[n] = lit
            else:
                name = f"_k{len(consts)}"
                consts[name] = np.asarray(n.value)
                var[n] = name
    plan = _Plan(order, outs, check=False)
    errors: list[str] = []

    def form(n: Expr, exprs: list[str]) -> str:
        try:
            return render_form(n, be, exprs, dim_code)
        except _MissingForm as exc:
            errors.append(str(exc))
            return "None"

    for i, n in enumerate([n for n in order if not n.args and n not in var]):
        text = form(n, [])
        if n.weak:
            pyfloat.add(n)
        elif n.dtype in ("float64", "float32", "bool"):
            text = f"xp.asarray({text}, dtype=xp.{n.dtype}, device=_dev)"
        var[n] = f"_l{i}"
        body.append(f"_l{i} = {text}")
    last = plan.last
    dies_at: dict[int, list[Expr]] = {}
    for n, s in last.items():
        if n.args:
            dies_at.setdefault(s, []).append(n)
    free: list[str] = []
    counter = itertools.count()
    s = 0
    for n in order:
        if not n.args:
            continue
        if any(a in pyfloat for a in n.args) and not any(
                a not in pyfloat and a.dtype in _FLOATS for a in n.args):
            # no float array among the arguments (where(c, 1.0, 0.0), exp(1 / n)): the
            # numbers as 0-d float arrays, else the library's default float would decide
            text = form(n, [f"_w({var[a]})" if a in pyfloat else var[a] for a in n.args])
        else:
            text = form(n, [var[a] for a in n.args])
        if n in plan.inline:
            var[n] = f"({text})"
            continue
        for a in dies_at.get(s, ()):
            if a in var and a.args:
                free.append(var[a])
        target = free.pop() if free else f"t{next(counter)}"
        body.append(f"{target} = {text}")
        var[n] = target
        s += 1
    if errors:
        raise SymbackError(f"lambdify: backend {be.name!r} cannot compile this graph: "
                           + "; ".join(dict.fromkeys(errors)))
    body.append("return [" + ", ".join(var[o] for o in outs) + "]")
    params = ", ".join(var[a] for a in args)
    source = f"def _symback_fn({params}):\n" + "".join(f"    {line}\n" for line in body)
    return source, consts


# --------------------------------------------------------------------------- compiled


class ArrayFunction:
    """A graph compiled for one array library; called like :class:`CompiledFunction`.

    ``.source`` is the generated Python (over ``xp``); ``.backend`` the library's name.
    """

    def __init__(self, be: ArrayBackend, args: Sequence[Expr], outputs: Sequence[Expr],
                 single: Any, source: str, consts: dict[str, Any], check: bool,
                 compile: Any = False) -> None:
        self.backend = be.name
        self._be = be
        self.args = tuple(args)
        self.outputs = tuple(outputs)
        self.single = single
        self.source = source
        self.check = check
        self._consts = consts
        self._compile = compile
        self._fns: dict[Any, Callable[..., Any]] = {}
        with _LOCK:
            k = next(_COUNTER)
        self.filename = f"<symback-{be.name}-{k}>"
        self._first_array = next((i for i, a in enumerate(self.args) if a.shape != ()), None)
        # (dtype, shape[, device]) of every argument -> device, for calls whose arguments
        # were all this library's arrays of the declared dtype and passed the shape checks:
        # a call with the same signature skips the conversions and checks (they would
        # change nothing). Bounded: a new shape per call only refills it.
        self._checked: dict[tuple[Any, ...], Any] = {}
        from .codegen import _VALUE_AND_GRAD

        self._value_and_grad = single == _VALUE_AND_GRAD
        self._copy_out = tuple(be.name != "jax" and (o.is_leaf or o.op.view)
                               for o in self.outputs)

    @property
    def arg_names(self) -> tuple[str, ...]:
        """The argument names, in the order the function takes them."""
        return tuple(a.name for a in self.args)

    def _signature(self, values: tuple[Any, ...]) -> tuple[Any, ...] | None:
        """What the fast path keys on, or None when an argument is not this library's array."""
        t = self._be.array_type
        if self._be.name == "jax":
            return tuple([(v.dtype, v.shape) if isinstance(v, t) else None for v in values])
        return tuple([(v.dtype, v.shape, v.device) if isinstance(v, t) else None
                      for v in values])

    def _fn_for(self, device: Any) -> Callable[..., Any]:
        key = str(device)
        fn = self._fns.get(key)
        if fn is not None:
            return fn
        import linecache

        be = self._be
        kw = {} if device is None else {"device": device}
        ns: dict[str, Any] = dict(be.names)
        ns.update(be.helpers)
        ns["_dev"] = device
        if be.name == "jax":  # a weakly typed 0-d array: it does not decide the dtype
            ns["_w"] = be.xp.asarray
        else:  # a 0-d array never decides the dtype of a larger one in torch
            ns["_w"] = lambda v, _a=be.xp.asarray, _t=be.xp.float64: _a(v, dtype=_t, **kw)
        ns["_s"] = np.s_
        for name, value in self._consts.items():
            ns[name] = be.xp.asarray(np.array(value), **kw)  # (a writable copy)
        linecache.cache[self.filename] = (len(self.source), None,
                                          self.source.splitlines(True), self.filename)
        exec(compile(self.source, self.filename, "exec"), ns)  # noqa: S102 - generated
        fn = ns["_symback_fn"]
        if be.name == "jax":
            import jax

            fn = jax.jit(fn)
        elif be.name == "torch" and self._compile:
            import torch

            opts = self._compile if isinstance(self._compile, dict) else {}
            fn = torch.compile(fn, **opts)
        self._fns[key] = fn
        return fn

    def _convert(self, values: tuple[Any, ...]) -> tuple[list[Any], Any]:
        be = self._be
        device = None
        for v in values:
            if isinstance(v, be.array_type):
                device = be.device_of(v)
                break
        out = []
        bound: dict[str, int] = {}
        for a, v in zip(self.args, values):
            x = be.convert(v, a.name, a.dtype, device)
            if self.check:
                shape = tuple(x.shape)
                ok = len(shape) == len(a.shape)
                if ok:
                    for want, got in zip(a.shape, shape):
                        if isinstance(want, int):
                            ok = ok and want == got
                        elif want in bound:
                            ok = ok and bound[want] == got
                        else:
                            bound[want] = got
                if not ok:
                    extra = (" (with " + ", ".join(f"{k} = {v}" for k, v in bound.items())
                             + ")") if bound else ""
                    raise ShapeError(f"argument {a.name}: expected shape {fmt(a.shape)}"
                                     f"{extra}, got {fmt(shape)}", op="call",
                                     shapes=(a.shape, shape))
            out.append(x)
        return out, device

    def __call__(self, *values: Any, **named: Any) -> Any:
        if named or (len(values) == 1 and isinstance(values[0], dict)):
            values = bind_named(self, values, named)
        if len(values) != len(self.args):
            names = ", ".join(a.name for a in self.args)
            raise SymbackError(f"compiled function takes {len(self.args)} argument(s) "
                               f"({names}), got {len(values)}")
        sig = self._signature(values)
        device = self._checked.get(sig, _UNSEEN)
        if device is _UNSEEN:
            arrays, device = self._convert(values)
            if all(a is v for a, v in zip(arrays, values)) and None not in sig:
                if len(self._checked) >= 64:
                    self._checked.clear()
                self._checked[sig] = device
        else:  # seen and checked before: nothing to convert
            arrays = values
        results = self._fn_for(device)(*arrays)
        be = self._be
        if be.name == "jax":  # jit returns jax arrays, fresh ones
            outs = list(results)
        else:
            xp = be.xp
            kw = {} if device is None else {"device": device}
            outs = []
            for o, r, copy in zip(self.outputs, results, self._copy_out):
                if not isinstance(r, be.array_type):
                    r = xp.asarray(r, dtype=be.dtype(o.dtype if o.dtype in _FLOATS
                                                      else "float64"), **kw)
                elif copy:
                    r = xp.asarray(r, copy=True)  # a fresh array, never an argument or a view
                outs.append(r)
        if self._value_and_grad:
            return outs[0], outs[1:]
        return outs[0] if self.single else tuple(outs)

    def __repr__(self) -> str:
        names = ", ".join(a.name for a in self.args)
        return (f"<symback {self.backend} function ({names}) -> "
                f"{len(self.outputs)} output(s)>")


_FLOATS = ("float64", "float32")
_LOCK = threading.Lock()
_UNSEEN = object()


def bind_named(fn: Any, values: tuple[Any, ...], named: dict[str, Any]) -> tuple[Any, ...]:
    """The positional values of a call by name, ``f(X=..., W=...)``, or with one dict,
    ``f({"X": ..., "W": ...})``, exactly as the NumPy backend's compiled functions take them
    (same rules, same errors: ``fn`` needs ``.args`` and ``.arg_names``)."""
    from .codegen import CompiledFunction

    if named:
        return CompiledFunction._by_name(fn, values, named)
    if len(values) == 1 and isinstance(values[0], dict) and (
            len(fn.args) != 1 or set(values[0]) == set(fn.arg_names)):
        return CompiledFunction._by_name(fn, (), dict(values[0]))
    return values


def compile_array(name: str, args: list[Expr], outs: list[Expr], compiled_outs: list[Expr],
                  single: Any, *, check: bool = True, order: list[Expr] | None = None,
                  check_finite: bool = False, compile: Any = False,
                  **options: Any) -> ArrayFunction:
    """The registry's compile function for ``torch``, ``jax`` and ``cupy``."""
    if check_finite:
        raise SymbackError(f"lambdify: check_finite=True needs backend 'numpy', not {name!r}")
    if options:
        raise SymbackError(f"lambdify: backend {name!r} takes no option(s) "
                           f"{', '.join(sorted(options))}")
    if compile and name != "torch":
        raise SymbackError(f"lambdify: compile=True is for backend 'torch' (jax is always "
                           f"jitted), not {name!r}")
    be = backend(name)
    if name == "jax":
        import jax

        nodes = order if order is not None else toposort(compiled_outs)
        if not jax.config.jax_enable_x64 and any(n.dtype == "float64" and not n.weak
                                                  for n in nodes):
            raise SymbackError(
                "lambdify: backend 'jax' would compute this float64 graph in float32 (JAX's "
                "x64 mode is off); call jax.config.update('jax_enable_x64', True) first, "
                "or declare the symbols with dtype='float32'")
    source, consts = generate(be, args, compiled_outs, order)
    return ArrayFunction(be, args, outs, single, source, consts, check, compile=compile)


def compile_torch(*a: Any, **kw: Any) -> ArrayFunction:
    """``backend="torch"``: PyTorch tensors (CPU or CUDA), optional ``compile=True``."""
    return compile_array("torch", *a, **kw)


def compile_jax(*a: Any, **kw: Any) -> ArrayFunction:
    """``backend="jax"``: JAX arrays, the function wrapped in ``jax.jit``."""
    return compile_array("jax", *a, **kw)


def compile_cupy(*a: Any, **kw: Any) -> ArrayFunction:
    """``backend="cupy"``: CuPy arrays on the current GPU."""
    return compile_array("cupy", *a, **kw)
