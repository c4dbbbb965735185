"""From graph to one generated NumPy function: ``lambdify`` and ``value_and_grad``.

Every requested output is linearised in one topological order, so every node
is evaluated once per call (interning already made that a CSE). Before that,
the graph goes through the rule tables of :mod:`symback.rules` (``CANONICAL``
then ``STABILIZE``). The generated code respects the machine:

* a node used once is written inside its user's expression (as SymPy's
  ``cse`` output reads), so temporaries die as soon as they are used;
* other values get names from a free list: a name is reused once its value is
  dead (rebinding releases it), so huge graphs compile fast (no ``del`` per
  line) and few values are alive at once;
* with ``check=True`` (shapes known at call time) every array a node with an
  ``Op.numpy_out`` form computes is written with ``out=`` into a buffer from a
  per-thread pool reused across calls; a buffer goes back to the pool when its
  value (and every view of it) is dead, and an elementwise op may write over a
  dying argument (``np.add(a, b, out=a)``). Outputs are always fresh arrays.
  Calls from several threads at once are safe: each thread has its own pool.

Arguments are checked at call time (count, rank, dimensions, symbolic sizes
agreeing across arguments) and cast to the dtype their symbol declares. The
source is compiled under a unique file name registered with ``linecache``, so
tracebacks show real generated lines. The only ``exec`` is of this
self-generated text; names are validated identifiers, never user text.
"""

from __future__ import annotations

import ast
import builtins
import inspect
import itertools
import keyword
import linecache
import re
import threading
import unicodedata
from collections import Counter as _Counter
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from . import numeric
from .autodiff import grad
from .errors import ShapeError, SymbackError
from .graph import (CONST, SYMBOL, Expr, Op, as_expr, free_symbols, gc_paused, render_numpy,
                    render_shape, toposort)
from .shapes import fmt

_COUNTER = itertools.count()
_COUNTER_LOCK = threading.Lock()
_RESERVED = {"np", "math"} | set(numeric.HELPERS) | set(dir(builtins))

# Nesting depth of the expressions written inline (keeps lines readable and far from
# the parser's limits however deep the graph).
_INLINE_DEPTH = 8
_POOL_DTYPES = {"float64", "float32", "bool"}


def _py_name(name: str, taken: set[str]) -> str:
    """A safe Python identifier for a symbol name (mangled if it would clash).

    Python reads identifiers in NFKC form (``ｎｐ`` and ``𝑥`` are ``np`` and ``x``), so
    clashes are checked, and the name written, after that normalisation.
    """
    base = unicodedata.normalize("NFKC", name)
    base = base if base.isidentifier() else "_bad"
    if keyword.iskeyword(base) or base in _RESERVED or base.startswith("_") or base in taken:
        base = f"{base}_"
        while base in taken or base in _RESERVED:
            base += "_"
    taken.add(base)
    return base


def _dim_name(d: str, dims: dict[str, str]) -> str:
    """The variable holding symbolic size ``d``: distinct after NFKC (``n`` vs ``ｎ``)."""
    base = "_d_" + unicodedata.normalize("NFKC", d)
    while base in dims.values():
        base += "_"
    return base


def _as_array(x: Any, name: str, dtype: str | None = None,
              shape: tuple[int, ...] | None = None) -> np.ndarray:
    """Call-time conversion of one argument: floats kept (or cast to ``dtype``), ints to
    float64; with ``shape``, a ``ShapeError`` unless the array has it."""
    a = np.asarray(x)
    kind = a.dtype.kind
    if kind == "f":
        a = a if dtype is None or a.dtype == dtype else a.astype(dtype)
    elif kind in "biu":
        a = a.astype(dtype or np.float64)
    else:
        raise SymbackError(
            f"argument {name}: expected numbers, got an array of dtype {a.dtype}"
        )
    if shape is not None and a.shape != shape:
        _shape_error(name, fmt(shape), a.shape, {})
    return a


def _shape_error(name: str, expected: str, got: tuple[int, ...], bound: dict[str, int]) -> None:
    extra = ""
    if bound:
        extra = " (with " + ", ".join(f"{k} = {v}" for k, v in bound.items()) + ")"
    hint = ""
    if expected == "()" and len(got):
        hint = (f"; {name} is a scalar symbol: to evaluate at many points at once, compile "
                "with sb.lambdify(args, expr, check=False) (vectorised over arrays of points, "
                "as SymPy's lambdify), or declare it as a tensor, sb.vector(name, 'n')")
    raise ShapeError(
        f"argument {name}: expected shape {expected}{extra}, got {fmt(tuple(got))}{hint}",
        op="call", shapes=(expected, tuple(got)),
    )


def _scalar(x, name, dtype):
    """A scalar argument that is not a Python float: a NumPy scalar of ``dtype``."""
    a = np.asarray(x)
    if a.shape != ():
        _shape_error(name, "()", a.shape, {})
    if a.dtype.kind not in "biuf":
        _as_array(a, name)  # raises the dtype error
    return a.astype(dtype)[()]


def _scalars(values, specs):
    """Scalar arguments, some not Python floats: each through ``_scalar`` (``specs``: name, dtype)."""
    return tuple(v if v.__class__ is float else _scalar(v, n, d)
                 for v, (n, d) in zip(values, specs))


def _finite_label(what: Any) -> str:
    """How ``check_finite`` names what it checked: an argument, or a node's variable, op and
    (truncated) formula. Built only when a check fails."""
    from .printing.text import to_text

    if isinstance(what, str):
        return f"argument {what} contains"
    target, node = what
    return f"the {node.op.name} node {target} = {to_text(node, limit=160, exact=True)} produced"


def _check_finite(value: Any, what: Any) -> None:
    """Raise ``SymbackError`` if ``value`` holds a NaN or an infinity (``check_finite=True``)."""
    v = np.asarray(value)
    if v.dtype.kind not in "fc" or bool(np.isfinite(v).all()):
        return
    label = _finite_label(what)
    bad = ~np.isfinite(v)
    first = tuple(int(i) for i in np.argwhere(bad)[0]) if v.ndim else ()
    what = "NaN" if np.isnan(v[first]) else ("+inf" if v[first] > 0 else "-inf")
    where = f" at index {first}" if v.ndim else ""
    raise SymbackError(
        f"check_finite: {label} {what}{where} "
        f"({int(bad.sum())} of {v.size} entries are not finite)")


class CompiledFunction:
    """A generated NumPy function. Call it with arrays or numbers, positionally in the
    order of ``.args``, by name (``f(X=..., W=...)``), or with one dict of values by name
    (``f({"X": ..., "W": ...})``).

    ``.source`` holds the generated Python, self-contained (``exec(f.source)``
    defines ``_symback_fn``, with its imports and helpers); ``.args`` the symbols it
    takes and ``.outputs`` the expressions it returns.
    """

    def __init__(self, args: Sequence[Expr], outputs: Sequence[Expr], single: bool,
                 source: str, consts: dict[str, Any], filename: str) -> None:
        self.args = tuple(args)
        self.outputs = tuple(outputs)
        self.single = single
        self._code = source
        self._consts = consts
        self.filename = filename
        self._fn = _compile(source, consts, filename)

    @property
    def arg_names(self) -> tuple[str, ...]:
        """The argument names, in the order the function takes them."""
        return tuple(a.name for a in self.args)

    @property
    def source(self) -> str:
        """The generated Python as one module that runs on its own: the imports, the
        runtime helpers (argument checks, the buffer pool), constants, then the function."""
        return _prelude(self._code, self._consts) + self._code

    def _by_name(self, values: tuple[Any, ...], named: dict[str, Any]) -> tuple[Any, ...]:
        """Positional values from keyword arguments (or one dict of them)."""
        if values:
            raise SymbackError("compiled function: pass the arguments either positionally "
                               "or by name, not both")
        names = self.arg_names
        unknown = [k for k in named if k not in names]
        if unknown:
            raise SymbackError(f"compiled function: unknown argument(s) {', '.join(unknown)}; "
                               f"it takes ({', '.join(names)})")
        missing = [n for n in names if n not in named]
        if missing:
            raise SymbackError(f"compiled function: no value for {', '.join(missing)}; "
                               f"it takes ({', '.join(names)})")
        return tuple(named[n] for n in names)

    def __call__(self, *values: Any, **named: Any) -> Any:
        if named:
            values = self._by_name(values, named)
        elif len(values) == 1 and isinstance(values[0], dict) and (
                len(self.args) != 1 or set(values[0]) == set(self.arg_names)):
            values = self._by_name((), dict(values[0]))  # f({"X": ..., "W": ...})
        if len(values) != len(self.args):
            names = ", ".join(a.name for a in self.args)
            raise SymbackError(
                f"compiled function takes {len(self.args)} argument(s) ({names}), "
                f"got {len(values)}"
            )
        try:
            return self._fn(*values)
        except (ZeroDivisionError, OverflowError):
            # Python numbers are computed with Python's arithmetic (3-5x faster than NumPy
            # scalars), which raises where IEEE arithmetic gives ±inf or NaN (1.0 / 0.0,
            # 1e200 ** 2.0). Then the call is repeated with NumPy scalars: IEEE results, with
            # NumPy's usual warnings, as for arrays.
            retry = tuple(np.float64(v) if v.__class__ is float or v.__class__ is int else v
                          for v in values)
            if all(a is b for a, b in zip(retry, values)):
                raise
            return self._fn(*retry)

    def __repr__(self) -> str:
        names = ", ".join(a.name for a in self.args)
        return f"<symback compiled function ({names}) -> {len(self.outputs)} output(s)>"

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        del state["_fn"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._fn = _compile(self._code, self._consts, self.filename)


_NONFINITE_RE = re.compile(r"\b(inf|nan)\b")


def _const_source(name: str, v: Any) -> str:
    """Source binding a constant array in ``.source`` (run on its own by ``exec``):
    ``repr`` writes ±inf and NaN as the bare names ``inf``/``nan``, spelled ``np.inf``/``np.nan``
    here."""
    a = np.asarray(v)
    if a.ndim == 0:
        text = _NONFINITE_RE.sub(r"np.\1", repr(a.item()))
        return f"{name} = np.{a.dtype.name}({text})\n"
    text = _NONFINITE_RE.sub(r"np.\1", repr(a.tolist()))
    return f"{name} = np.array({text}, dtype={a.dtype.name!r})\n"


def _scalar_specs_source(scalars: Sequence[Expr]) -> str:
    """Source binding ``_SCALAR_SPECS`` (each scalar argument's name and dtype, as
    :func:`_scalars` takes them) and ``_FLOAT_ONLY``. The names and dtypes are written as
    two strings split at run time: a literal of 10,000 pairs took 27 MB to compile."""
    return ("_SCALAR_SPECS = tuple(zip(" + repr(" ".join(a.name for a in scalars))
            + ".split(), " + repr(" ".join(a.dtype for a in scalars))
            + ".split()))\n_FLOAT_ONLY = {float}\n")


def _prelude(code: str, consts: dict[str, Any]) -> str:
    """What ``code`` needs besides itself: imports, the call-time helpers it uses, and its
    constants as literals (``.source`` is then a module that runs on its own)."""
    out = ["# generated by symback: run with exec(source); defines _symback_fn\n",
           "import numpy as np\n"]
    runtime = [f for f in (_as_array, _shape_error, _scalar, _check_finite)
               if re.search(rf"\b{f.__name__}\(", code) and f"def {f.__name__}(" not in code]
    if _scalar in runtime or _as_array in runtime:  # they call _shape_error (and _as_array)
        runtime = list(dict.fromkeys([_as_array, _shape_error, *runtime]))
    if runtime:
        out.append("from typing import Any\n"
                   "from symback.errors import ShapeError, SymbackError\n"
                   "from symback.shapes import fmt\n")
        if _check_finite in runtime:
            out.append("from symback.codegen import _finite_label\n")
        out.append("\n")
        out.extend(_source_of(f) + "\n" for f in runtime)
    for name, v in consts.items():
        if name == "_finite_info":  # graph nodes: only the compiled function has them
            out.append("_finite_info = None  # check_finite=True: the labels are graph nodes\n")
        else:
            out.append(_const_source(name, v))
    return "".join(out) + "\n"


class _SourceLines(Sequence[str]):
    """The generated source's lines for ``linecache``, split only when a traceback (or
    ``inspect``) first reads one: holding them as a list cost 4.5 MB per 10^5-node graph."""

    def __init__(self, source: str) -> None:
        self._source: str | None = source
        self._lines: list[str] | None = None
        self._n = source.count("\n") + (not source.endswith("\n") and bool(source))

    def _split(self) -> list[str]:
        if self._lines is None:
            self._lines = self._source.splitlines(True)  # type: ignore[union-attr]
            self._source = None
        return self._lines

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, i: Any) -> Any:
        return self._split()[i]

    def __iter__(self) -> Any:
        return iter(self._split())


def _compile(source: str, consts: dict[str, Any], filename: str) -> Callable[..., Any]:
    ns: dict[str, Any] = {"np": np, "_as_array": _as_array, "_shape_error": _shape_error,
                          "_check_finite": _check_finite}
    ns.update(consts)
    linecache.cache[filename] = (len(source), None, _SourceLines(source), filename)
    for piece, first_line in _pieces(source):
        code = compile("\n" * first_line + piece, filename, "exec")
        exec(code, ns)  # noqa: S102 - self-generated source over validated identifiers
    return ns.get("_symback_call") or ns["_symback_fn"]  # (the dispatcher, if there is one)


# --------------------------------------------------------------------------- huge graphs
#
# CPython's compile() needs about 80 bytes of memory per character of source held in one
# function (W3 at d = 10,000: 1.9 MB of source, 160 MB to compile; a 10^6-node graph would
# need gigabytes). Above _CHUNK_LINES statements the body is cut into chunk functions of
# _CHUNK_LINES statements, each compiled on its own, so the compiler's peak is one chunk's.
# A value that crosses from one chunk to a later one is a global of a namespace made
# afresh for each call (so concurrent calls stay apart): the chunk that computes it
# declares it ``global``, a chunk that reads it does too, and nothing is passed through
# the chunks in between. (Passing such values as arguments and return values made W3's
# source 70% longer: its reverse sweep reads every forward value.)

_CHUNK_LINES = 5_000
_CHUNK_CHARS = 50_000  # (about 4 MB for the compiler: at 100,000, W3 at 10^4 peaked 5 MB higher)
_CHUNK_SOURCE = 400_000  # sources longer than this are chunked too
_GROUP_SCALARS = 16  # more scalar arguments than this are checked in one statement
_FREE_INLINE_NODES = 20_000  # larger graphs drop each inline text once it is written
_IDENT_RE = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")


def _chunked(params: str, prologue: list[str], lines: list[str],
             targets: list[str | None], bound: set[str], after: Sequence[str] = ()) -> str:
    """``def _symback_fn(params)`` as the prologue (argument checks, buffers) followed by
    calls of chunk functions of ``_CHUNK_LINES`` lines each.

    ``after`` are lines run once ``_g`` exists (before the chunks). ``lines`` is emptied
    as the chunks are written (W3 at 10^4: its 4 MB of lines are not held beside the
    chunks' text).
    ``bound`` holds the local names the prologue binds; every other local is the target
    of one of ``lines`` (``targets``: the name each line assigns, or None; the last line
    is the ``return``). A name is read
    by a line if it appears in its right-hand side (a name inside an attribute or a
    string only makes a chunk declare one global more than it needs).
    """
    local_names = bound | {t for t in targets if t is not None}
    # chunks of at most _CHUNK_LINES lines and about _CHUNK_CHARS characters (the
    # compiler's memory follows the characters: W2's inlined lines are twice W3's)
    bounds = [0]
    size = 0
    for i, line in enumerate(lines):
        if i - bounds[-1] >= _CHUNK_LINES or size >= _CHUNK_CHARS:
            bounds.append(i)
            size = 0
        size += len(line) + 5
    ends = bounds[1:] + [len(lines)]
    # Liveness, one chunk at a time from the last: ``needed`` holds the names read after
    # the chunk (before being written again); a chunk shares (declares global) the names
    # it reads before writing them and those it writes that are needed after it. Only the
    # running set and the shared lists are kept (sets per chunk cost 27 MB on W3 at 10^4).
    shared: list[list[str]] = [[] for _ in bounds]
    needed: set[str] = set()
    for k in range(len(bounds) - 1, -1, -1):
        b, e = bounds[k], ends[k]
        live_in: set[str] = set()
        done: set[str] = set()
        for line, wr in zip(lines[b:e], targets[b:e]):
            rhs = line[len(wr) + 3:] if wr is not None else line
            for name in _IDENT_RE.findall(rhs):
                if name in local_names and name not in done:
                    live_in.add(name)
            if wr is not None:
                done.add(wr)
        shared[k] = sorted(live_in | (done & needed))
        needed -= done
        needed |= live_in
    del local_names
    out: list[str] = ["from types import FunctionType as _FunctionType\n\n"]
    # this call's values that cross chunks, starting with the prologue's locals (one
    # dict display of 10,000 arguments took 44 MB to compile)
    calls: list[str] = ["_g = {**globals(), **locals()}" if needed else "_g = globals().copy()",
                        *after]
    for k, b in enumerate(bounds):
        text = f"def _symback_chunk_{k}():\n"
        if shared[k]:
            text += f"    global {', '.join(shared[k])}\n"
        text += "".join([f"    {line}\n" for line in lines[b:ends[k]]])
        call = f"_FunctionType(_symback_chunk_{k}.__code__, _g)()"
        calls.append(f"return {call}" if k == len(bounds) - 1 else call)
        out.append(text)
        shared[k] = []
    del lines[:]
    out.append(f"def _symback_fn({params}):\n" + "".join(f"    {line}\n" for line in prologue + calls))
    return "".join(out)


def _pieces(source: str) -> Iterator[tuple[str, int]]:
    """The source cut before each chunk function and the main one (with their first lines),
    when it has chunks; otherwise the whole source. One piece at a time (all at once were
    a second copy of the source, 1.9 MB on W3 at 10^4, beside the compiler's peak)."""
    marks = [0] if "\ndef _symback_chunk_" not in source else \
        [0] + [m.start() + 1 for m in re.finditer(r"\ndef _symback_(?:chunk_\d+|fn)\(", source)]
    line = 0
    for a, b in zip(marks, marks[1:] + [len(source)]):
        piece = source[a:b]
        yield piece, line
        line += piece.count("\n")


def _helper_sources(names: set[str]) -> str:
    todo = list(names)
    seen: set[str] = set()
    while todo:
        n = todo.pop()
        if n in seen:
            continue
        seen.add(n)
        todo.extend(numeric.DEPENDS.get(n, ()))
    return "".join(_source_of(numeric.HELPERS[n]) + "\n\n" for n in sorted(seen))


_SOURCES: dict[Any, str] = {}


def _source_of(fn: Any) -> str:
    """A helper's source, read once per process (reading it again at every compile would
    pick up a file edited since the import, with line numbers that no longer match)."""
    src = _SOURCES.get(fn)
    if src is None:
        src = _SOURCES[fn] = inspect.getsource(fn)
    return src


# --------------------------------------------------------------------------- backends
#
# backend name -> compile function, or "module:function" imported on first use (so an
# optional library is imported only when its backend is asked for). A compile function
# is called as fn(args, outputs, compiled, single, order=..., check=..., check_finite=...)
# with the symbols, the expressions as given, the same after the rule tables (what to
# compile), ``single`` (True: one output; False: a tuple; "value_and_grad": (value,
# [gradients])) and ``order`` the toposort of ``compiled`` (or None); it returns the
# callable; ``backend_options`` given to lambdify arrive as keyword arguments too.
# "numpy" is this module's generator.

BACKENDS: dict[str, Callable[..., Any] | str] = {
    "llvm": "symback.native:compile_llvm",
    "torch": "symback.arrayapi:compile_torch",
    "jax": "symback.arrayapi:compile_jax",
    "cupy": "symback.arrayapi:compile_cupy",
    "dask": "symback.dask_backend:compile_dask",
}


def register_backend(name: str, compile_fn: Callable[..., Any] | str) -> None:
    """Add (or replace) a backend: ``lambdify(..., backend=name)`` then calls ``compile_fn``
    (or imports it from ``"module:function"`` on first use). See :data:`BACKENDS`."""
    if name == "numpy":
        raise SymbackError("register_backend: 'numpy' is the built-in backend")
    BACKENDS[name] = compile_fn


def _backend(name: str) -> Callable[..., Any]:
    fn = BACKENDS.get(name)
    if fn is None:
        known = ", ".join(repr(k) for k in ["numpy", *BACKENDS])
        raise SymbackError(f"lambdify: unknown backend {name!r} (known: {known})")
    if isinstance(fn, str):
        import importlib

        module, attr = fn.split(":")
        fn = BACKENDS[name] = getattr(importlib.import_module(module), attr)
    return fn


def lambdify(args: Sequence[Expr] | Expr, exprs: Sequence[Any] | Any, *,
             check: bool = True, rewrite: bool = True,
             check_finite: bool = False, backend: str = "numpy",
             backend_options: dict[str, Any] | None = None, _shape: Any = None,
             **options: Any) -> Any:
    """Compile ``exprs`` into one NumPy function of ``args`` (symbols), like ``sympy.lambdify``.

    Returns one ``np.ndarray`` for a single expression, a tuple for a list (an output
    of shape ``()`` is a 0-d array). Each graph node is evaluated once per call.

    ``check=True`` checks every argument's shape at call time, casts arrays to
    the dtype their symbol declares, and lets the generated code reuse
    buffers across calls. ``check=False`` skips all that: arguments are used
    as given, so scalar symbols may be fed arrays of points (vectorised
    evaluation, as with SymPy's lambdify), and an output of shape ``()`` is returned
    as computed (a float for float arguments, the array of points for arrays of
    points), as SymPy's lambdify returns it. ``rewrite=True`` first applies the rule tables ``CANONICAL``,
    ``STABILIZE`` and ``LOWER`` (:mod:`symback.rules`).
    The result takes its arguments positionally (in the order of ``args``), by name
    (``f(X=..., W=...)``) or as one dict of them.

    **Many points at once.** With the default checks a scalar symbol takes one number
    (an array is a ``ShapeError`` that says so). To evaluate a formula of scalars at
    many points, compile with ``check=False`` and pass arrays of points (NumPy
    broadcasting, as with SymPy's lambdify), or declare the symbol as a tensor with a
    symbolic size (``sb.vector("x", "n")``) and write the formula elementwise.

    ``check_finite=True`` is a debug mode: every argument and every node's value
    is checked as soon as it is computed, and the first NaN or infinity raises a
    ``SymbackError`` naming that node and its formula (slower; no inlining).
    ``backend`` picks the code generator: ``"numpy"`` (this module), ``"llvm"``
    (scalar float64 graphs as machine code, :mod:`symback.native`; the ``native``
    extra), or any name added with :func:`register_backend`; ``backend_options`` are
    that backend's own settings (``{"opt": 2}``: the llvm backend's optimisation level;
    ``{"vectorize": False}``: the numpy backend writes one statement per node even where
    :mod:`symback.vectorize` would group repeated scalar formulas);
    other keyword arguments join them (``compile=True``). ``"torch"``, ``"jax"``,
    ``"cupy"`` (:mod:`symback.arrayapi`): arguments and results are that library's arrays
    on their device; ``compile=True`` wraps a torch function in ``torch.compile``; jax
    functions are always ``jax.jit``-ed. ``"dask"`` (:mod:`symback.dask_backend`): chunked
    data evaluated chunk by chunk.

    >>> import symback as sb
    >>> x = sb.vector("x", 3)
    >>> f = sb.lambdify([x], sb.sum(x * x))
    >>> float(f([1.0, 2.0, 3.0]))
    14.0
    >>> import numpy as np
    >>> t = sb.symbols("t")
    >>> sb.lambdify([t], t ** 2, check=False)(np.array([1.0, 2.0, 3.0]))
    array([1., 4., 9.])
    """
    compile_other = None if backend == "numpy" else _backend(backend)
    if options:
        if compile_other is None:
            raise SymbackError(f"lambdify: unexpected keyword argument(s) "
                               f"{', '.join(sorted(options))} (backend 'numpy' takes none)")
        backend_options = {**(backend_options or {}), **options}
    vectorize = True  # the numpy backend's one option (symback.vectorize; off for tests)
    if backend_options and compile_other is None:
        backend_options = dict(backend_options)
        vectorize = bool(backend_options.pop("vectorize", True))
        if backend_options:
            raise SymbackError(f"lambdify: the numpy backend takes no backend_options but "
                               f"'vectorize' (got {', '.join(map(str, backend_options))})")
    arg_list = [args] if isinstance(args, Expr) else list(args)
    single = not isinstance(exprs, (list, tuple)) if _shape is None else _shape
    outs = [as_expr(e) for e in ([exprs] if single is True else exprs)]
    for i, a in enumerate(arg_list):
        if not isinstance(a, Expr) or not a.is_symbol:
            raise SymbackError(f"lambdify: args[{i}] is not a symbol: {a!r:.80}")
    names_seen: dict[str, Expr] = {}
    for a in arg_list:
        if a.name in names_seen:
            raise SymbackError(f"lambdify: the symbol name {a.name!r} appears twice in args")
        names_seen[a.name] = a
    arg_set = set(arg_list)
    order = toposort(outs)
    missing = [n.name for n in order if n.op is SYMBOL and n not in arg_set]
    if missing:
        raise SymbackError(
            f"lambdify: the expressions depend on {', '.join(sorted(set(missing)))}, "
            "which are not among args"
        )
    compiled_outs = outs
    if rewrite:
        from .rules import optimize

        compiled_outs = optimize(outs, order)
        if any(c is not o for c, o in zip(compiled_outs, outs)):
            order = None  # rewritten: _generate sorts the new graph
    if compile_other is not None:
        with gc_paused():
            return compile_other(arg_list, outs, compiled_outs, single, order=order,
                                 check=check, check_finite=check_finite,
                                 **(backend_options or {}))
    with _COUNTER_LOCK:
        k = next(_COUNTER)
    filename = f"<symback-{k}>"
    with gc_paused():  # no cycles are built; see graph.gc_paused
        if vectorize:  # many copies of one scalar formula: grouped NumPy operations
            from . import vectorize as vec

            order = order if order is not None else toposort(compiled_outs)
            plan = vec.plan(arg_list, compiled_outs, order, check, check_finite,
                            _scalar_math_pays(arg_list, compiled_outs, order, check_finite))
            fn = plan and vec.compile_vectorized(plan, arg_list, outs, compiled_outs, single,
                                                 check, filename)
            if fn is not None:
                return fn
        source, consts = _generate(arg_list, compiled_outs, single, check, check_finite,
                                   order)
        if _scalar_math_pays(arg_list, compiled_outs, order, check_finite):
            source = _with_scalar_math(source, arg_list, compiled_outs, single, check, order)
        return CompiledFunction(arg_list, outs, single, source, consts, filename)


# --------------------------------------------------------------------------- generation

_SCALAR_MATH_NODES = 4_000  # larger scalar graphs compile one version only (compile time)


def _scalar_math_pays(args: list[Expr], outs: list[Expr], order: list[Expr] | None,
                      check_finite: bool) -> bool:
    """Small functions of float64 scalars with an op that has a ``scalar`` (math) form."""
    if check_finite or not args or any(a.shape != () or a.dtype != "float64" for a in args):
        return False
    nodes = order if order is not None else toposort(outs)
    return (len(nodes) <= _SCALAR_MATH_NODES and len(nodes) < _CHUNK_LINES
            and all(o.shape == () for o in outs)
            and any(n.op.scalar is not None for n in nodes))


def _with_scalar_math(source: str, args: list[Expr], outs: list[Expr], single: Any,
                      check: bool, order: list[Expr] | None) -> str:
    """Two versions of the function: one with the ops' ``scalar`` (math module) forms,
    tried first, and the NumPy one, run when the first raises (math.log(0.0), an array of
    points) — so every result is the NumPy version's, only faster on floats."""
    msrc, _ = _generate(args, outs, single, check, False, order, scalar_math=True)
    head = "def _symback_fn("
    math_fn = msrc[msrc.index(head):].replace(head, "def _symback_math(", 1)
    params = source[source.index(head) + len(head):].split(")", 1)[0]
    return (source + "\nimport math as _m\n\n" + math_fn
            + f"\ndef _symback_call({params}):\n"
            f"    try:\n        return _symback_math({params})\n"
            f"    except (ArithmeticError, ValueError, TypeError):\n"
            f"        pass  # (NumPy's version below, outside the handler: no chained errors)\n"
            f"    return _symback_fn({params})\n")


def _literal(n: Expr) -> str | None:
    """Source for a finite Python-number constant (negative ones in parentheses).

    An int is written as a float (``400.0``) when the float is exact (|n| ≤ 2**53): the
    values it meets are floats, and CPython multiplies two floats a third faster than a
    float and an int (W2's gradient at one point: 206 µs -> 150 µs); with NumPy the weak
    float gives the same dtype and values, and ``np.broadcast_to(2.0, s)`` gets the float64
    its node declares.
    """
    val = n.value
    if n.weak and isinstance(val, (int, float)) and np.isfinite(val):
        if val.__class__ is int and -2**53 <= val <= 2**53:
            val = float(val)
        text = repr(val)
        return f"({text})" if text.startswith("-") else text
    return None


_CALL_RE = re.compile(r"^[A-Za-z_][\w.]*\(")
_NO_ATTRS: dict[str, Any] = {}


def _is_call(template: Any) -> bool:
    """True if a NumPy template is one function call ``name(...)`` spanning the whole text.

    Such an expression needs no parentheses when written inside another one.
    """
    if not isinstance(template, str) or not _CALL_RE.match(template):
        return False
    depth = 0
    for i, ch in enumerate(template):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i == len(template) - 1
    return False


def _render_out(op: Op, args: list[str], attrs: dict[str, Any], out: str,
                dims: Callable[[Any], str]) -> str:
    """``op.numpy_out`` rendered with the buffer ``out``."""
    form = op.numpy_out
    if callable(form):
        return form(list(args), {**attrs, "_out": out, "_dims": dims})
    rendered = {k: (render_shape(v, dims) if k == "shape" else repr(v)) for k, v in attrs.items()}
    return str(form).format(*args, out=out, **rendered)


# --------------------------------------------------------------------------- parentheses
#
# An inline expression is written inside its user's with parentheses only where Python's
# grammar needs them (``t0 * x + t1 * y``, not ``(t0 * x) + (t1 * y)``): the text reads as
# a person writes it, and CPython's parser backtracks on every redundant group (W3 at
# d = 1,000 compiled in 41 ms with them, 22 ms without). Nothing here knows an op: each
# form is parsed once with marker names in its slots, which gives the precedence of the
# form's own text and the least precedence each slot accepts unparenthesised. Inserting a
# text of at least that precedence gives the same syntax tree as parenthesising it.

_ATOM = 16  # names, literals, calls, subscripts, attributes: never need parentheses
_UNARY = 13  # -x (and a negative number, which Python reads as one)
_BINOP_PREC: dict[type, int] = {
    ast.BitOr: 7, ast.BitXor: 8, ast.BitAnd: 9, ast.LShift: 10, ast.RShift: 10,
    ast.Add: 11, ast.Sub: 11, ast.Mult: 12, ast.MatMult: 12, ast.Div: 12, ast.FloorDiv: 12,
    ast.Mod: 12, ast.Pow: 14,
}
_ATOMIC_NODES = (ast.Call, ast.Attribute, ast.Subscript, ast.Name, ast.Constant, ast.List,
                 ast.Dict, ast.Set, ast.ListComp, ast.SetComp, ast.DictComp,
                 ast.GeneratorExp, ast.JoinedStr)
_MARK = "_symback_slot_{}_"
_ALL_ATOMS = itertools.repeat(_ATOM)
_FORM_SHAPES: dict[Any, tuple[int, tuple[int, ...]]] = {}
_MINIMAL_PARENS = True  # False: every inline expression parenthesised (the older output)


def _expr_prec(e: ast.AST) -> int:
    """Python precedence of an expression node (higher binds tighter; 0: always group)."""
    if isinstance(e, ast.BinOp):
        return _BINOP_PREC.get(type(e.op), 0)
    if isinstance(e, ast.UnaryOp):
        return 5 if isinstance(e.op, ast.Not) else 13
    if isinstance(e, ast.Compare):
        return 6
    if isinstance(e, ast.BoolOp):
        return 4 if isinstance(e.op, ast.And) else 3
    if isinstance(e, ast.IfExp):
        return 2
    if isinstance(e, ast.Lambda):
        return 1
    if isinstance(e, _ATOMIC_NODES):
        return _ATOM
    return 0  # tuples, starred, named expressions, ...: grouped wherever they go


def _slot_need(parent: ast.AST, field: str) -> int:
    """The least precedence an expression in ``parent``'s ``field`` has unparenthesised."""
    if isinstance(parent, ast.BinOp):
        p = _BINOP_PREC.get(type(parent.op))
        if p is None:
            return _ATOM
        if isinstance(parent.op, ast.Pow):  # right-associative; its exponent is a u_expr
            return p + 1 if field == "left" else 13
        return p if field == "left" else p + 1
    if isinstance(parent, ast.UnaryOp):
        return 5 if isinstance(parent.op, ast.Not) else 13
    if isinstance(parent, ast.Compare):
        return 7  # (a comparison operand is grouped: chains mean something else)
    if isinstance(parent, ast.BoolOp):
        return 5 if isinstance(parent.op, ast.And) else 4
    if isinstance(parent, ast.IfExp):
        return 2 if field == "orelse" else 3
    if isinstance(parent, ast.Call):
        return _ATOM if field == "func" else 2
    if isinstance(parent, (ast.keyword, ast.Tuple, ast.List, ast.Set, ast.Dict, ast.Slice)):
        return 2
    if isinstance(parent, ast.Subscript):
        return 2 if field == "slice" else _ATOM
    return _ATOM  # attributes, starred, anything else: grouped


def _form_shape(text: str, nargs: int) -> tuple[int, tuple[int, ...]]:
    """(precedence of ``text``, least precedence per slot) for a form rendered with
    :data:`_MARK` names in its ``nargs`` slots; everything grouped if it does not parse."""
    try:
        tree = ast.parse(text, mode="eval").body
    except SyntaxError:
        return _ATOM if _is_call(text) else 0, (_ATOM,) * nargs
    marks = {_MARK.format(i): i for i in range(nargs)}
    need = [2] * nargs
    if isinstance(tree, ast.Name) and tree.id in marks:  # the form is its argument
        need[marks[tree.id]] = _ATOM
    for parent in ast.walk(tree):
        for field, value in ast.iter_fields(parent):
            for child in (value if isinstance(value, list) else (value,)):
                if isinstance(child, ast.Name) and child.id in marks:
                    i = marks[child.id]
                    need[i] = max(need[i], _slot_need(parent, field))
    return _expr_prec(tree), tuple(need)


def _shape_of_form(op: Op, kind: str, attrs: tuple[tuple[str, Any], ...], nargs: int,
                   render: Callable[[list[str]], str]) -> tuple[int, tuple[int, ...]]:
    """:func:`_form_shape` of one op's ``kind`` of form ("numpy" or "scalar") over
    ``nargs`` arguments, cached per (op, kind, nargs, attributes)."""
    key: Any = (op, kind, nargs, attrs)
    try:
        got = _FORM_SHAPES.get(key)
    except TypeError:  # unhashable attributes: analysed every time
        key, got = None, None
    if got is None:
        marks = [_MARK.format(i) for i in range(nargs)]
        try:
            got = _form_shape(render(marks), nargs)
        except Exception:  # (the real rendering below raises what it raises)
            got = (0, (_ATOM,) * nargs)
        if key is not None:
            if len(_FORM_SHAPES) > 4096:
                _FORM_SHAPES.clear()
            _FORM_SHAPES[key] = got
    return got


class _Plan:
    """How each node is emitted: inline, named, or written into a pooled buffer.

    ``stmts`` lists the nodes that get a statement, in order; ``inline`` the
    nodes written inside their only user's expression; ``pooled`` the nodes
    written with ``out=`` into a buffer slot; ``last`` the statement index at
    which each value is read for the last time (len(stmts) for outputs);
    ``slot_end`` when each pooled node's buffer may be reused (after every
    view of it is dead).
    """

    def __init__(self, order: list[Expr], outs: list[Expr], check: bool,
                 allow_inline: bool = True) -> None:
        out_set = set(outs)
        # how many times each node is read (a node that reads one argument twice, x * x,
        # counts it twice), counted in C
        uses = _Counter(itertools.chain.from_iterable([n.args for n in order]))
        pooled: set[Expr] = set()
        inline: dict[Expr, int] = {}  # inline node -> its nesting depth (a set, for readers)
        views: list[Expr] = []
        pooled_order: list[Expr] = []  # (a list: the buffers' order must not depend on ids)
        for n in order:
            args = n.args
            if not args:
                continue
            op = n.op
            if op.view:
                views.append(n)
            if (check and op.numpy_out is not None and n.shape != () and n not in out_set
                    and n.dtype in _POOL_DTYPES):
                pooled.add(n)
                pooled_order.append(n)
                continue
            if allow_inline and uses.get(n) == 1 and n not in out_set:
                d = 1
                for a in args:
                    da = inline.get(a)
                    if da is not None and da >= d:
                        d = da + 1
                if d <= _INLINE_DEPTH:
                    inline[n] = d
        del uses
        stmts = [n for n in order if n.args and n not in inline]
        emit_at: dict[Expr, int] = {n: i for i, n in enumerate(stmts)}
        end = len(stmts)
        # an inline node is evaluated where its only reader is (readers come later)
        for n in reversed(order):
            if n.args:
                e = emit_at[n]
                for a in n.args:
                    if a in inline:
                        emit_at[a] = e
        # every other value is last read at the latest emit position of a reader
        last: dict[Expr, int] = {}
        get = last.get
        for n in order:
            args = n.args
            if args:
                e = emit_at[n]
                for a in args:
                    if get(a, -1) < e and a not in inline:
                        last[a] = e
        for n in order:
            if n not in last and n not in inline:
                last[n] = -1  # never read (an output, or a leaf nobody uses)
        for o in out_set:
            last[o] = end
        # a view keeps its base's buffer busy: extend the base's lifetime over every view
        root: dict[Expr, Expr] = {}
        slot_end = {p: last[p] for p in pooled_order}
        for n in views:
            base = root.get(n.args[0], n.args[0])
            root[n] = base
            if base in slot_end:
                seen_at = last[n] if n in last else emit_at[n]
                slot_end[base] = max(slot_end[base], seen_at)
        self.stmts, self.inline, self.pooled = stmts, inline, pooled
        self.last, self.slot_end, self.out_set = last, slot_end, out_set


def _generate(args: list[Expr], outs: list[Expr], single: bool,
              check: bool, check_finite: bool = False,
              order: list[Expr] | None = None,
              scalar_math: bool = False) -> tuple[str, dict[str, Any]]:
    """The source of ``_symback_fn(*args)`` returning ``outs`` (``order``: their toposort,
    if the caller has it) and the constants its namespace needs; with ``scalar_math``, ops
    with a ``scalar`` form use it (Python floats in)."""
    taken: set[str] = set()
    var: dict[Expr, str] = {}
    for a in args:
        var[a] = _py_name(a.name, taken)
    body: list[str] = []
    preamble: list[str] = []
    dims: dict[str, str] = {}
    bound_names: list[str] = []
    scalar_args = False
    # call-time argument checks and bindings of symbolic dimensions
    scalars = [a for a in args if a.shape == ()] if check else []
    group_at = -1  # where the one check of many scalar arguments is (see _chunked)
    group_vars: list[str] = []
    if len(scalars) > _GROUP_SCALARS:
        # many scalar arguments (W2 takes 10,000): one test over all of them, not one
        # statement each (statements dominate compile time; the test runs in C)
        scalar_args = True
        names = ", ".join(var[a] for a in scalars)
        preamble.append(_scalar_specs_source(scalars))
        group_at = len(body)
        group_vars = [var[a] for a in scalars]
        body.append(f"_s = ({names},)")
        body.append(f"if set(map(type, _s)) != _FLOAT_ONLY: {names}, = _scalars(_s, _SCALAR_SPECS)")
        scalars = []
    for a in args:
        v = var[a]
        if a.shape == ():
            if scalars:
                scalar_args = True
                body.append(f"if {v}.__class__ is not float: {v} = _scalar({v}, {a.name!r}, "
                            f"{a.dtype!r})")
            continue
        if check and all(isinstance(d, int) for d in a.shape):
            # a fixed shape: the class, dtype and shape tested in one statement (one tuple
            # comparison), converted and checked in _as_array only when something differs
            body.append(f"if {v}.__class__ is not _ndarray or {v}.dtype is not _dt_{a.dtype} "
                        f"or {v}.shape != {a.shape!r}: "
                        f"{v} = _as_array({v}, {a.name!r}, {a.dtype!r}, {a.shape!r})")
            continue
        if check:
            body.append(f"if {v}.__class__ is not _ndarray or {v}.dtype is not _dt_{a.dtype}: "
                        f"{v} = _as_array({v}, {a.name!r}, {a.dtype!r})")
        else:
            body.append(f"if {v}.__class__ is not _ndarray: {v} = _as_array({v}, {a.name!r})")
        if not check:
            for i, d in enumerate(a.shape):
                if isinstance(d, str) and d not in dims:
                    dims[d] = _dim_name(d, dims)
                    body.append(f"{dims[d]} = {v}.shape[{i}]")
            continue
        conds = [f"{v}.ndim != {len(a.shape)}"]
        for i, d in enumerate(a.shape):
            if isinstance(d, int):
                conds.append(f"{v}.shape[{i}] != {d}")
            elif d in dims:
                conds.append(f"{v}.shape[{i}] != {dims[d]}")
        bound = "{" + ", ".join(f"{d!r}: {dims[d]}" for d in bound_names) + "}"
        body.append(f"if {' or '.join(conds)}: "
                    f"_shape_error({a.name!r}, {fmt(a.shape)!r}, {v}.shape, {bound})")
        for i, d in enumerate(a.shape):
            if isinstance(d, str) and d not in dims:
                dims[d] = _dim_name(d, dims)
                bound_names.append(d)
                body.append(f"{dims[d]} = {v}.shape[{i}]")

    def dim_code(d: Any) -> str:
        if d not in dims:
            raise SymbackError(
                f"lambdify: the size {d!r} cannot be read off any argument's shape; "
                "add an argument that has it"
            )
        return dims[d]

    if order is None:
        order = toposort(outs)
    plan = _Plan(order, outs, check, allow_inline=not check_finite)
    finite_info: list[Any] = []  # check_finite: what each check names (built lazily)
    if check_finite:
        for a in args:
            finite_info.append(a.name)
            body.append(f"_check_finite({var[a]}, _finite_info[{len(finite_info) - 1}])")
    consts: dict[str, Any] = {}
    helpers: set[str] = set()
    prec: dict[Expr, int] = {}  # texts that are not atoms (inline nodes, -2.0): precedence
    for n in order:
        if n.op is CONST:
            lit = _literal(n)
            if lit is not None:
                if lit[0] == "(" and _MINIMAL_PARENS:  # a negative number: grouped only
                    lit = lit[1:-1]  # where a negation would be (x ** (-2.0), not -2.0 * x)
                    prec[n] = _UNARY
                var[n] = lit
            else:
                name = f"_k{len(consts)}"
                consts[name] = n.value
                var[n] = name

    # names: a free list (values die at their last read; the name is then reused)
    counter = itertools.count()
    free_names: list[str] = []

    def new_name() -> str:
        if free_names:
            return free_names.pop()
        while True:
            name = f"t{next(counter)}"
            if name not in taken:
                return name

    # buffer slots of the per-thread pool, reused by (shape, dtype) when free
    slots: list[tuple[Any, str]] = []
    free_slots: dict[tuple[Any, str], list[int]] = {}
    slot_of: dict[Expr, int] = {}
    dies_at: dict[int, list[Expr]] = {}
    for n, s in plan.last.items():
        if n.args and n not in plan.pooled:
            dies_at.setdefault(s, []).append(n)
    frees_at: dict[int, list[Expr]] = {}
    for p, s in plan.slot_end.items():
        frees_at.setdefault(s, []).append(p)

    def release_slots(s: int) -> None:
        for p in frees_at.get(s, ()):
            key = (p.shape, p.dtype)
            free_slots.setdefault(key, []).append(slot_of[p])

    computed_leaves = [n for n in order if not n.args and n not in var]
    for i, n in enumerate(computed_leaves):  # count's float(n), eye(n): once, after dims are bound
        helpers.update(n.op.helpers)
        var[n] = f"_l{i}"
        body.append(f"_l{i} = {render_numpy(n.op, [], n.kw, dim_code)}")

    dim_read = dim_code  # (chunks find the names a line reads in its text: see _chunked)

    lines: list[str] = []
    line_targets: list[str | None] = []  # the name each line assigns (for _chunked)
    is_call: dict[Op, bool] = {}
    minimal = _MINIMAL_PARENS
    plain_forms: dict[Op, Any] = {}  # (own, slot) precedences of attribute-less nodes' forms
    var_of, plan_inline, plan_pooled = var.__getitem__, plan.inline, plan.pooled
    free_inline = len(order) > _FREE_INLINE_NODES
    s = 0
    for n in order:
        nargs = n.args
        if not nargs:
            continue
        op = n.op
        nattrs = n.attrs
        if op.helpers:
            helpers.update(op.helpers)
        exprs = list(map(var_of, nargs))
        scalar_form = op.scalar if scalar_math else None
        inline = n in plan_inline
        if minimal:
            own = _ATOM
            grouped = False
            for a in nargs:
                if a in prec:
                    grouped = True
                    break
            if n in plan_pooled:  # (the out= form is not analysed: inline arguments grouped)
                if grouped:
                    exprs = [f"({e})" if a in prec else e for a, e in zip(nargs, exprs)]
            elif inline or grouped:
                info = None if nattrs else plain_forms.get(op)
                if info is None:
                    kw = n.kw if nattrs else _NO_ATTRS
                    if scalar_form is not None:
                        info = _shape_of_form(op, "scalar", nattrs, len(exprs),
                                              lambda m: scalar_form.format(*m))
                    elif op.numpy.__class__ is str:
                        info = _shape_of_form(
                            op, "numpy", nattrs, len(exprs),
                            lambda m: render_numpy(op, m, kw, dim_code))  # noqa: B023
                    else:  # a function may choose its text by its arguments' (pow: x * x
                        info = (-1, _ALL_ATOMS)  # for a name): atoms in, judged by its output
                    if not nattrs:
                        plain_forms[op] = info
                own, needs = info
                if grouped:
                    exprs = [f"({e})" if a in prec and prec[a] < k else e
                             for a, e, k in zip(nargs, exprs, needs)]
        if free_inline:  # an inline text is read once: it lives on in its reader's
            for a in nargs:
                if a in plan_inline:
                    del var[a]
                    prec.pop(a, None)
        if inline:
            if scalar_form is not None:
                var[n] = scalar_form.format(*exprs)  # a call: no parentheses needed
                continue
            text = (op.numpy.format(*exprs) if not nattrs and op.numpy.__class__ is str
                    else render_numpy(op, exprs, n.kw if nattrs else _NO_ATTRS, dim_read))
            if minimal:
                var[n] = text
                if own < 0:
                    own = _ATOM if _is_call(text) else 0
                if own < _ATOM:
                    prec[n] = own
            else:
                call = is_call.get(op)
                if call is None:
                    call = is_call[op] = _is_call(op.numpy)
                var[n] = text if call else f"({text})"
            continue
        if n in plan_pooled:
            key = (n.shape, n.dtype)
            if n.op.elementwise:  # a ufunc may write over an argument that dies here
                release_slots(s)
            pool = free_slots.get(key)
            if pool:
                k = pool.pop()
            else:
                k = len(slots)
                slots.append(key)
            slot_of[n] = k
            if not n.op.elementwise:
                release_slots(s)
            target = f"_b{k}"
            rhs = _render_out(n.op, exprs, n.kw, target, dim_read)
        else:
            if frees_at:
                release_slots(s)
            if scalar_form is not None:
                rhs = scalar_form.format(*exprs)
            elif not nattrs and op.numpy.__class__ is str:
                rhs = op.numpy.format(*exprs)  # (render_numpy's result, one call less)
            else:
                rhs = render_numpy(op, exprs, n.kw if nattrs else _NO_ATTRS, dim_read)
            dying = dies_at.get(s)
            if dying is not None:
                for a in dying:
                    if a.args and a in var:
                        free_names.append(var[a])
            target = free_names.pop() if free_names else new_name()
        lines.append(f"{target} = {rhs}")
        line_targets.append(target)
        if check_finite:
            finite_info.append((target, n))
            lines.append(f"_check_finite({target}, _finite_info[{len(finite_info) - 1}])")
            line_targets.append(None)
        var[n] = target
        s += 1
    rets = []
    zero_d: set[str] = set()  # dtypes of 0-d outputs (their _dt_ names go in the preamble)
    for o in outs:
        if o not in var:  # an inline node cannot be an output; consts and leaves are in var
            raise SymbackError(f"lambdify: internal error, output {o!r:.60} has no name")
        v = var[o]
        if check and o.shape == () and o.dtype in ("float64", "float32"):
            # api.md: every output is an ndarray, so a 0-d array of the declared dtype (a
            # dtype object positionally is asarray's fastest form); a leaf's is a copy
            zero_d.add(o.dtype)
            rets.append(f"np.{'array' if o.is_leaf or o.op.view else 'asarray'}"
                        f"({v}, _dt_{o.dtype})")
        elif o.is_const and o.dtype not in ("float64", "float32"):
            rets.append(f"np.array({v}, dtype=np.float64)")
        elif o.is_leaf or o.op.view:
            rets.append(f"np.array({v})")  # a fresh, writable array of the full shape
        elif not check and o.shape == ():
            # unchecked (SymPy's lambdify's contract, beyond api.md's default): as computed,
            # a float for float arguments, an array for arrays of points. Wrapping 1,000
            # floats as 0-d arrays costs ~150 µs, as much as W2's whole gradient
            rets.append(v)
        elif check and o.dtype == "float32":
            rets.append(f"np.asarray({v}, dtype=np.float32)")
        else:
            rets.append(f"np.asarray({v})")
    if single == _VALUE_AND_GRAD:
        ret = f"({rets[0]}, [{', '.join(rets[1:])}])"
    else:
        ret = rets[0] if single else "(" + ", ".join(rets) + ("," if len(rets) == 1 else "") + ")"
    dts = {o.dtype for o in outs}
    if (check and (not single or single == _VALUE_AND_GRAD) and len(outs) > 8
            and all(o.shape == () for o in outs) and len(dts) == 1
            and dts <= {"float64", "float32"}):
        # many scalars (W2's gradient): one array, split in C into 0-d views of it (one
        # allocation for the data, ~0.1 µs per output for the view objects)
        split = "t[0], list(t[1:])" if single == _VALUE_AND_GRAD else "t"
        preamble.append(f"_IDX_0D = tuple((i, ...) for i in range({len(outs)}))\n")
        ret = (f"_split_0d(np.array([{', '.join(var[o] for o in outs)}], "
               f"_dt_{next(iter(dts))}))")
        preamble.append("def _split_0d(a):\n"
                        "    t = tuple(map(a.__getitem__, _IDX_0D))\n"
                        f"    return {split}\n")
        zero_d |= dts
    for dt in sorted(zero_d):
        if not any(a.shape != () and a.dtype == dt for a in args):  # else defined below
            preamble.append(f"_dt_{dt} = np.dtype({dt!r})\n")
    if slots:
        key_dims = sorted({d for shp, _ in slots for d in shp if isinstance(d, str)})
        # The pool lives in a helper beside the function, so that the function itself reads
        # as the formula: one line fetches this thread's buffers (allocated on the first
        # call, and again when a symbolic size changes).
        local = {d: f"_d{i}" for i, d in enumerate(key_dims)}
        key = "(" + "".join(f"{local[d]}, " for d in key_dims) + ")"
        allocs = ", ".join(f"np.empty({render_shape(shp, local.__getitem__)}, {dt!r})"
                           for shp, dt in slots)
        body.append(", ".join(f"_b{k}" for k in range(len(slots))) + ", = _buffers("
                    + ", ".join(dim_code(d) for d in key_dims) + ")")
        preamble.append(
            "import threading as _threading\n_tls = _threading.local()\n"
            f"def _buffers({', '.join(local[d] for d in key_dims)}):\n"
            "    \"\"\"This thread's buffers for the function below, reused across calls.\"\"\"\n"
            "    p = getattr(_tls, 'pool', None)\n"
            f"    if p is None or p[0] != {key}:\n"
            f"        p = _tls.pool = ({key}, ({allocs},))\n"
            "    return p[1]\n\n")
    params = ", ".join(var[a] for a in args)
    lines.append(f"return {ret}")
    line_targets.append(None)
    chunked = ""
    if (len(body) + len(lines) > _CHUNK_LINES  # huge graphs: several functions
            or sum(map(len, lines)) > _CHUNK_SOURCE):
        bound = {var[a] for a in args} | set(dims.values()) | {
            f"_l{i}" for i in range(len(computed_leaves))} | {f"_b{k}" for k in range(len(slots))}
        # what the loop needed goes before the chunks are written (13 MB on W3 at 10^4)
        del plan, dies_at, frees_at, slot_of, prec, plain_forms, plan_inline, plan_pooled
        var.clear()
        after: list[str] = []
        if group_at >= 0:
            # the many scalar arguments reach the chunks through _g: checked and converted as
            # one tuple read off locals() (a tuple display and an unpacking of 10,000 names
            # took 16 MB to compile)
            preamble.append(f"_SCALAR_VARS = {' '.join(group_vars)!r}.split()\n")
            body[group_at] = "_s = tuple(map(locals().__getitem__, _SCALAR_VARS))"
            body[group_at + 1] = "if set(map(type, _s)) != _FLOAT_ONLY: _s = _scalars(_s, _SCALAR_SPECS)"
            after.append("_g.update(zip(_SCALAR_VARS, _s))")
        chunked = _chunked(params, body, lines, line_targets, bound, after)  # (empties lines)
    else:
        body += lines
    source = _helper_sources(helpers)
    if any(not a.shape == () for a in args):
        preamble.append("_ndarray = np.ndarray\n")
        for dt in sorted({a.dtype for a in args if a.shape != ()}):
            preamble.append(f"_dt_{dt} = np.dtype({dt!r})\n")
    if scalar_args:
        preamble.append(_source_of(_scalar) + "\n")
        if "_SCALAR_SPECS" in "".join(preamble):
            preamble.append(_source_of(_scalars) + "\n")
    source += "".join(preamble)
    if chunked:  # huge graphs: several functions, compiled one by one
        source += chunked
    else:
        source += f"def _symback_fn({params}):\n" + "".join(f"    {line}\n" for line in body)
    if check_finite:
        consts["_finite_info"] = tuple(finite_info)
    return source, consts



def value_and_grad(y: Any, wrt: Any, args: Sequence[Expr] | None = None, *,
                   check: bool = True, rewrite: bool = True,
                   check_finite: bool = False, backend: str = "numpy",
                   backend_options: dict[str, Any] | None = None, **options: Any) -> Any:
    """Compile ``y`` and its gradients: the callable returns ``(value, [gradients])``.

    ``wrt`` is one symbol or a list; ``args`` (a list of symbols, or a dict whose
    values are the symbols) fixes the order of the arguments; it defaults to every
    free symbol of ``y`` (and of ``wrt``) in **name order** (``W1, W2, X, Y``). The
    order is ``f.arg_names`` and ``repr(f)`` shows it; the function also takes its
    arguments by name, ``f(X=..., W1=...)``, or as one dict, ``f({"X": ..., ...})``.
    With ``rewrite=True`` the loss is stabilised (``STABILIZE``: log σ(x) →
    −softplus(−x), ...) *before* it is differentiated, so the gradients come from
    the stable forms too.

    >>> import symback as sb
    >>> w, x = sb.symbols("w x")
    >>> step = sb.value_and_grad((w * x - 1.0) ** 2, [w])
    >>> step
    <symback value_and_grad (w, x) -> (value, [d/dw])>
    >>> value, (gw,) = step(x=2.0, w=1.0)
    >>> float(value), float(gw)
    (1.0, 4.0)
    """
    y = as_expr(y)
    wrt_list = [wrt] if isinstance(wrt, Expr) else list(wrt)
    if isinstance(args, dict):
        args = list(args.values())
    if args is None:
        args = free_symbols(y, *wrt_list)
    if rewrite and all(w.is_symbol for w in wrt_list):  # (an inner wrt node could be rewritten)
        from .rules import stabilize

        y = stabilize(y)
    grads = grad(y, wrt_list)
    inner = lambdify(args, [y] + list(grads), check=check, rewrite=rewrite,
                     check_finite=check_finite, backend=backend,
                     backend_options=backend_options, _shape=_VALUE_AND_GRAD, **options)
    if backend != "numpy":
        return inner
    out = _ValueAndGrad(inner)
    out._wrt_labels = [f"d/d{w.name}" if w.is_symbol else "d/d(...)" for w in wrt_list]
    return out


_VALUE_AND_GRAD = "value_and_grad"  # the generated code returns (value, [gradients]) itself


class _ValueAndGrad(CompiledFunction):
    """A compiled ``[y, g1, g2, ...]`` whose generated code returns ``(value, [g1, g2, ...])``."""

    def __init__(self, inner: CompiledFunction) -> None:  # noqa: D107 - no super().__init__
        self.__dict__.update(inner.__dict__)

    def __repr__(self) -> str:
        names = ", ".join(self.arg_names)
        return f"<symback value_and_grad ({names}) -> (value, [{', '.join(self._wrt_labels)}])>"


for _helper in (*numeric.HELPERS.values(), _scalar, _scalars, _as_array, _shape_error,
                _check_finite):  # read at import (see _source_of)
    _source_of(_helper)
