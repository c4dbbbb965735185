"""``backend="llvm"``: straight-line scalar graphs compiled to machine code with llvmlite.

The graph (after the same rule tables as the NumPy backend) is written as LLVM IR
text, one instruction per node, inside a loop over points::

    void f(const double *in, double *out, int64 n)
        for p in 0 .. n-1:   in[k n + p] is argument k at point p
                             out[j n + p] is output j at point p

Each op says how it is computed on one float64 in its own ``Op.llvm`` field (an
instruction name such as ``"fadd"``, a function such as ``"@llvm.sin.f64"`` or
``"@tanh"`` (libm), or a callable over an :class:`Emitter`); the generator never
names an op. Math functions are LLVM intrinsics or the C library's functions, so
results agree with NumPy's to a few ulps (not bit for bit: NumPy's own SIMD sin,
cos, exp and log round differently in the last place).

Why llvmlite and not Numba: llvmlite ships LLVM in a ~40 MB wheel with no other
dependency and takes IR *text*, which is built as fast as a Python string is
joined (a 100,000-node gradient is written in ~0.1 s); Numba would need Python
source for the whole graph first and then type-infers it, which for 10^5
statements takes longer than the NumPy backend's whole build.

Only scalar float64 nodes compile: a tensor node, or an op without a native form,
raises :class:`~symback.errors.SymbackError` naming the op at compile time.
"""

from __future__ import annotations

import ctypes
import struct
import threading
from typing import Any, Sequence

import numpy as np

from .errors import SymbackError
from .graph import CONST, SYMBOL, Expr, gc_paused, toposort

_INIT_LOCK = threading.Lock()
_STATE: dict[str, Any] = {}

# Straight-line code is cut into basic blocks of this many instructions: LLVM's
# instruction selection works one block at a time and grows faster than linearly with
# a block's size (one 100,000-instruction block compiles several times slower).
_BLOCK = 2_000


def _llvm() -> Any:
    """llvmlite's binding, initialised once (SymbackError naming the extra if missing)."""
    with _INIT_LOCK:
        if "llvm" not in _STATE:
            try:
                import llvmlite.binding as llvm
            except ImportError as e:  # pragma: no cover - depends on the install
                raise SymbackError(
                    "lambdify(backend='llvm') needs llvmlite: pip install 'symback[native]'"
                ) from e
            try:  # llvmlite < 0.45 needed this call; newer ones initialise themselves
                llvm.initialize()
            except RuntimeError:
                pass
            llvm.initialize_native_target()
            llvm.initialize_native_asmprinter()
            _STATE["target"] = llvm.Target.from_default_triple()
            _STATE["cpu"] = llvm.get_host_cpu_name()
            _STATE["features"] = llvm.get_host_cpu_features().flatten()
            _STATE["llvm"] = llvm
        return _STATE["llvm"]


def _hex(value: float) -> str:
    """An exact LLVM double literal (the IEEE bits in hex)."""
    return f"0x{struct.unpack('<Q', struct.pack('<d', float(value)))[0]:016X}"


class Emitter:
    """Writes the LLVM IR of one function, an instruction at a time, over float64 values
    one point at a time (``width`` 1) or ``width`` points at once (SIMD vectors).

    Values are strings (``"%v12"`` or a literal); each has a type, float (``double`` or
    ``<W x double>``) or boolean (``i1`` or ``<W x i1>``, from comparisons). Ops'
    ``llvm`` forms call these methods and never see the width.
    """

    def __init__(self, width: int = 1, vector_calls: dict[str, str] | None = None) -> None:
        self.width = width
        self.f = "double" if width == 1 else f"<{width} x double>"
        self.b = "i1" if width == 1 else f"<{width} x i1>"
        self.lines: list[str] = []
        self.types: dict[str, str] = {}
        self.numbers: dict[str, float] = {}  # literal values (pow's exponent, ...)
        self.declared: dict[str, str] = {}
        self.vector_calls = vector_calls or {}
        self._k = 0

    # ---- values
    def _new(self, typ: str, text: str) -> str:
        name = f"%v{self._k}"
        self._k += 1
        self.lines.append(f"  {name} = {text}")
        self.types[name] = typ
        return name

    def _splat(self, scalar_type: str, lit: str) -> str:
        if self.width == 1:
            return lit
        return "<" + ", ".join([f"{scalar_type} {lit}"] * self.width) + ">"

    def const(self, value: float) -> str:
        """A float64 literal (exact: its IEEE bits)."""
        lit = self._splat("double", _hex(value))
        self.types[lit] = self.f
        self.numbers[lit] = float(value)
        return lit

    def boolean(self, value: bool) -> str:
        lit = self._splat("i1", "true" if value else "false")
        self.types[lit] = self.b
        return lit

    def number(self, v: str) -> float | None:
        """The value of ``v`` if it is a literal (else None)."""
        return self.numbers.get(v)

    # ---- instructions
    def binary(self, inst: str, a: str, b: str) -> str:
        """``fadd``, ``fsub``, ``fmul``, ``fdiv``, ``frem`` on two floats."""
        return self._new(self.f, f"{inst} {self.f} {a}, {b}")

    def fadd(self, a: str, b: str) -> str:
        return self.binary("fadd", a, b)

    def fsub(self, a: str, b: str) -> str:
        return self.binary("fsub", a, b)

    def fmul(self, a: str, b: str) -> str:
        return self.binary("fmul", a, b)

    def fdiv(self, a: str, b: str) -> str:
        return self.binary("fdiv", a, b)

    def fneg(self, a: str) -> str:
        return self._new(self.f, f"fneg {self.f} {a}")

    def fcmp(self, pred: str, a: str, b: str) -> str:
        """A boolean comparison (``oeq``, ``ogt``, ``oge``, ``olt``, ``ole``, ``une``, ...)."""
        return self._new(self.b, f"fcmp {pred} {self.f} {a}, {b}")

    def select(self, c: str, a: str, b: str) -> str:
        t = self.types.get(a, self.f)
        return self._new(t, f"select {self.b} {c}, {t} {a}, {t} {b}")

    def _declare(self, name: str, typ: str, arity: int) -> None:
        if name not in self.declared:
            self.declared[name] = f"declare {typ} @{name}({', '.join([typ] * arity)})"

    def call(self, fn: str, *args: str) -> str:
        """``fn(args)``: an LLVM intrinsic (``llvm.sin.f64``) or a C library function
        (``tanh``) of doubles. With vectors: the vector math library's version when there
        is one (glibc's libmvec), else the intrinsic's vector form, else one call per lane."""
        name = fn.lstrip("@")
        if self.width == 1:
            self._declare(name, "double", len(args))
            return self._new("double", f"call double @{name}(" +
                             ", ".join(f"double {a}" for a in args) + ")")
        f = self.f
        base = name[5:-4] if name.startswith("llvm.") and name.endswith(".f64") else name
        vec = self.vector_calls.get(f"{base}/{len(args)}")
        if vec is None and name.startswith("llvm."):
            # fabs, sqrt, maximum: SIMD instructions; sin without libmvec: LLVM calls the
            # C library once per lane
            vec = f"llvm.{base}.v{self.width}f64"
        if vec is not None:
            self._declare(vec, f, len(args))
            return self._new(f, f"call {f} @{vec}(" + ", ".join(f"{f} {a}" for a in args) + ")")
        self._declare(name, "double", len(args))  # one call per lane
        acc = "poison"
        for i in range(self.width):
            lanes = [self._new("double", f"extractelement {f} {a}, i32 {i}") for a in args]
            r = self._new("double", f"call double @{name}(" +
                          ", ".join(f"double {x}" for x in lanes) + ")")
            acc = self._new(f, f"insertelement {f} {acc}, double {r}, i32 {i}")
        return acc

    def apply(self, form: Any, args: list[str]) -> str:
        """An op's ``llvm`` form on argument values: an instruction name (``"fadd"``),
        a function (``"@llvm.exp.f64"``, ``"@log1p"``) or a callable ``(emitter, *args)``."""
        if callable(form):
            return form(self, *args)
        if form.startswith("@"):
            return self.call(form, *args)
        if len(args) == 1:
            return self._new(self.f, f"{form} {self.f} {args[0]}")
        return self.binary(form, *args)

    def block_break(self, label: str) -> None:
        """End the current basic block and start ``label`` (keeps blocks small)."""
        self.lines.append(f"  br label %{label}\n{label}:")


def _unsupported(node: Expr, why: str) -> SymbackError:
    return SymbackError(f"lambdify(backend='llvm'): the {node.op.name} node {why}; the llvm "
                        "backend compiles scalar float64 graphs (use backend='numpy' for this one)")


def generate_ir(args: Sequence[Expr], outs: Sequence[Expr],
                order: list[Expr] | None = None, width: int = 1,
                name: str = "symback_fn", vector_calls: dict[str, str] | None = None) -> str:
    """The LLVM IR of ``name(in, out, stride, count)``: ``outs`` at points ``0 .. count-1``,
    argument k of point p at ``in[k stride + p]``, output j at ``out[j stride + p]``;
    ``width`` points per step (``count`` then a multiple of it)."""
    if order is None:
        order = toposort(outs)
    em = Emitter(width, vector_calls)
    f = em.f
    val: dict[Expr, str] = {}
    for a in args:
        if a.shape != () or a.dtype != "float64":
            raise SymbackError(
                f"lambdify(backend='llvm'): argument {a.name} has shape {a.shape} and dtype "
                f"{a.dtype}; the llvm backend takes scalar float64 symbols")
    index = {a: k for k, a in enumerate(args)}
    out_at: dict[Expr, list[int]] = {}
    for j, o in enumerate(outs):
        if o.dtype != "float64":
            raise _unsupported(o, f"is an output of dtype {o.dtype} (the llvm backend "
                               "returns float64)")
        out_at.setdefault(o, []).append(j)
    # Arguments are loaded where the order first meets them (just before their first
    # user) and outputs stored as soon as they are computed: short live ranges, so the
    # register allocator spills little
    count = 0
    for n in order:
        op = n.op
        if op is SYMBOL:
            k = index.get(n)
            if k is None:
                raise SymbackError(f"lambdify: the expressions depend on {n.name}, "
                                   "which is not among args")
            off = em._new("i64", f"add i64 %base{k}, %p") if k else "%p"
            ptr = em._new("ptr", f"getelementptr inbounds double, ptr %in, i64 {off}")
            val[n] = em._new(f, f"load {f}, ptr {ptr}, align 8")
        elif op is CONST:
            v = n.value
            if n.shape != ():
                raise _unsupported(n, f"has shape {n.shape}")
            val[n] = em.boolean(bool(v)) if n.dtype == "bool" else em.const(float(v))
        else:
            if n.shape != ():
                raise _unsupported(n, f"has shape {n.shape} (tensors are not supported)")
            form = op.llvm
            if form is None:
                raise SymbackError(
                    f"lambdify(backend='llvm'): op {op.name} has no native (llvm) form; "
                    "use backend='numpy' for this graph")
            if n.dtype not in ("float64", "bool"):
                raise _unsupported(n, f"has dtype {n.dtype}")
            val[n] = em.apply(form, [val[a] for a in n.args])
            count += 1
            if count % _BLOCK == 0:
                em.block_break(f"b{count}")
        for j in out_at.get(n, ()):
            off = em._new("i64", f"add i64 %obase{j}, %p") if j else "%p"
            ptr = em._new("ptr", f"getelementptr inbounds double, ptr %out, i64 {off}")
            em.lines.append(f"  store {f} {val[n]}, ptr {ptr}, align 8")
    head = [(f"define void @{name}(ptr noalias nocapture readonly %in, "
             "ptr noalias nocapture %out, i64 %stride, i64 %count) nounwind {"),
            "entry:"]
    for k in range(1, len(args)):
        head.append(f"  %base{k} = mul i64 %stride, {k}")
    for j in range(1, len(outs)):
        head.append(f"  %obase{j} = mul i64 %stride, {j}")
    head += ["  %empty = icmp sle i64 %count, 0",
             "  br i1 %empty, label %exit, label %loop",
             "loop:",
             "  %p = phi i64 [ 0, %entry ], [ %p.next, %last ]"]
    tail = ["  br label %last", "last:",
            f"  %p.next = add nuw nsw i64 %p, {width}",
            "  %done = icmp sge i64 %p.next, %count",
            "  br i1 %done, label %exit, label %loop",
            "exit:", "  ret void", "}"]
    decls = sorted(em.declared.values())
    return "\n".join(decls + head + em.lines + tail) + "\n"


_PROTO = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64,
                          ctypes.c_int64)


class _Native:
    """A compiled module: the engine (kept alive) and the function's address."""

    def __init__(self, ir: str, name: str = "symback_fn", opt: int = 0) -> None:
        llvm = _llvm()
        mod = llvm.parse_assembly(ir)
        mod.verify()
        # a target machine per engine (the engine owns it). Code generation at -O0 by
        # default: ~7x faster to compile than -O2 on 10^4-node gradients; -O2 runs
        # arithmetic-bound code (W2's gradient) ~2x faster, libm-bound code (W3) as fast
        tm = _STATE["target"].create_target_machine(
            cpu=_STATE["cpu"], features=_STATE["features"], opt=opt, jit=True)
        engine = llvm.create_mcjit_compiler(mod, tm)
        engine.finalize_object()
        self.engine = engine
        self.address = engine.get_function_address(name)
        self.cfunc = _PROTO(self.address)


class _VectorMath:
    """Which functions glibc's vector math library (libmvec) has at the SIMD width in use:
    ``get("sin/1")`` is ``"_ZGVdN4v_sin"`` (AVX2, 4 lanes) when the symbol exists."""

    def __init__(self, isa: str | None, width: int) -> None:
        self.isa, self.width = isa, width
        self.found: dict[str, str | None] = {}

    def get(self, key: str) -> str | None:
        if self.isa is None:
            return None
        if key not in self.found:
            base, arity = key.split("/")
            sym = f"_ZGV{self.isa}N{self.width}{'v' * int(arity)}_{base}"
            self.found[key] = sym if _STATE["llvm"].address_of_symbol(sym) else None
        return self.found[key]


def _simd() -> tuple[int, _VectorMath]:
    """The SIMD width (points per step) for the host and its vector math functions:
    8 with AVX-512, 4 with AVX2, else 1 (no vector kernel)."""
    if "simd" not in _STATE:
        llvm = _llvm()
        feats = _STATE["features"]
        if "+avx512f" in feats:
            width, isa = 8, "e"
        elif "+avx2" in feats:
            width, isa = 4, "d"
        else:
            width, isa = 1, None
        if isa is not None:
            import ctypes.util

            lib = ctypes.util.find_library("mvec")
            try:
                llvm.load_library_permanently(lib or "libmvec.so.1")
            except Exception:  # noqa: BLE001 - no libmvec: one libm call per lane
                isa = None
        _STATE["simd"] = (width, _VectorMath(isa, width))
    return _STATE["simd"]


_from_buffer = ctypes.c_char.from_buffer
_addressof = ctypes.addressof


def _addr(a: np.ndarray) -> int:
    """The address of a C-contiguous array's data: through ctypes' buffer view (0.5 µs)
    rather than ``a.ctypes.data`` (2 µs); read-only arrays take the slow way."""
    try:
        return _addressof(_from_buffer(a))
    except (TypeError, ValueError):
        return a.ctypes.data


class NativeFunction:
    """A graph compiled to machine code (``lambdify(..., backend="llvm")``).

    Call it like the NumPy backend's functions: ``f(x, y)`` with numbers (one point)
    or arrays (every point of their broadcast shape, looped over in native code,
    several points per SIMD instruction). ``f.call_packed(X)`` takes all arguments as
    one float64 array of shape ``(len(args), ...)`` and returns one array of shape
    ``(len(outputs), ...)``: the fastest way in and out (no per-argument or per-output
    Python objects). ``.source`` holds the LLVM IR (one point per step),
    ``.vector_source`` the SIMD version (compiled on the first call with enough points).
    """

    backend = "llvm"

    def __init__(self, args: Sequence[Expr], outputs: Sequence[Expr], single: Any,
                 source: str, compiled: Sequence[Expr], check: bool, opt: int = 0) -> None:
        self.args = tuple(args)
        self.outputs = tuple(outputs)
        self.single = single
        self.source = source
        self.compiled = tuple(compiled)  # the outputs after the rule tables
        self.check = check
        self.opt = opt
        self._setup()

    @property
    def vector_source(self) -> str | None:
        """The SIMD kernel's IR (None where the host has no vector unit in use)."""
        width, vmath = _simd()
        if width == 1:
            return None
        return generate_ir(self.args, self.compiled, None, width, "symback_vec", vmath)

    def _setup(self) -> None:
        self._native = _Native(self.source, "symback_fn", self.opt)
        self._cfunc = self._native.cfunc
        self._vnative: _Native | None = None
        self._lock = threading.Lock()
        self._tls = threading.local()
        self._nargs = len(self.args)
        self._nouts = len(self.outputs)
        self.width = _simd()[0]
        self._idx = tuple((j, ...) for j in range(self._nouts))  # 0-d views of one array

    def _run(self, src: int, dst: int, npts: int) -> None:
        """Every point: the SIMD kernel on whole vectors of points, the scalar one on the rest."""
        w = self.width
        m = npts - npts % w if w > 1 else 0
        if m:
            vec = self._vnative
            if vec is None:
                with self._lock:
                    if self._vnative is None:
                        with gc_paused():
                            self._vnative = _Native(self.vector_source, "symback_vec",
                                                    self.opt)
                    vec = self._vnative
            vec.cfunc(src, dst, npts, m)
        if m < npts:
            self._cfunc(src + 8 * m, dst + 8 * m, npts, npts - m)

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._setup()

    def __repr__(self) -> str:
        names = ", ".join(a.name for a in self.args)
        return f"<symback native (llvm) function ({names}) -> {len(self.outputs)} output(s)>"

    def call_packed(self, x: Any) -> np.ndarray:
        """All arguments in one array of shape ``(len(args), *points)``; returns the
        outputs as one array of shape ``(len(outputs), *points)``."""
        a = x if (x.__class__ is np.ndarray and x.dtype == np.float64
                  and x.flags.c_contiguous) else np.ascontiguousarray(x, dtype=np.float64)
        if a.ndim == 0 or a.shape[0] != self._nargs:
            raise SymbackError(f"call_packed: expected an array of shape ({self._nargs}, ...) "
                               f"(one row per argument), got shape {a.shape}")
        pts = a.shape[1:]
        if not pts:  # one point: through this thread's buffers (their addresses known)
            b = self._buffers()
            b[0][...] = a
            self._cfunc(b[2], b[3], 1, 1)
            return b[1].copy()
        npts = a.size // self._nargs if self._nargs else int(np.prod(pts, dtype=np.int64))
        out = np.empty((self._nouts,) + pts)
        self._run(_addr(a), _addr(out), npts)
        return out

    def _buffers(self) -> tuple[np.ndarray, np.ndarray, int, int]:
        """This thread's one-point input and output buffers and their addresses."""
        b = getattr(self._tls, "b", None)
        if b is None:
            i, o = np.empty(max(self._nargs, 1)), np.empty(max(self._nouts, 1))
            b = self._tls.b = (i[:self._nargs], o[:self._nouts], i.ctypes.data, o.ctypes.data)
        return b

    def __call__(self, *values: Any) -> Any:
        if len(values) != self._nargs:
            names = ", ".join(a.name for a in self.args)
            raise SymbackError(f"compiled function takes {self._nargs} argument(s) ({names}), "
                               f"got {len(values)}")
        floats = True
        for v in values:
            if v.__class__ is not float:
                floats = False
                break
        if floats:
            b = self._buffers()
            b[0][...] = values
            self._cfunc(b[2], b[3], 1, 1)
            return self._results(b[1].copy(), ())
        arrs = []
        for a, v in zip(self.args, values):
            x = np.asarray(v)
            if x.dtype.kind not in "biuf":
                raise SymbackError(f"argument {a.name}: expected numbers, got an array of "
                                   f"dtype {x.dtype}")
            arrs.append(x)
        try:
            shape = np.broadcast_shapes(*[x.shape for x in arrs]) if arrs else ()
        except ValueError:
            raise SymbackError("the arguments' shapes do not broadcast together: "
                               + ", ".join(f"{a.name} {x.shape}" for a, x in
                                           zip(self.args, arrs))) from None
        buf = np.empty((self._nargs,) + shape)
        for k, x in enumerate(arrs):
            buf[k] = x
        out = np.empty((self._nouts,) + shape)
        self._run(_addr(buf), _addr(out), int(np.prod(shape, dtype=np.int64)))
        return self._results(out, shape)

    def _results(self, out: np.ndarray, shape: tuple[int, ...]) -> Any:
        """The outputs as the NumPy backend returns them: one array each (0-d at one
        point; Python floats at one point with ``check=False``)."""
        if shape == () and not self.check:
            vals = out.tolist()
        else:
            vals = list(map(out.__getitem__, self._idx))  # views of one array
        if self.single == "value_and_grad":
            return vals[0], vals[1:]
        if self.single:
            return vals[0]
        return tuple(vals)


def compile_llvm(args: list[Expr], outs: list[Expr], compiled: list[Expr], single: Any, *,
                 order: list[Expr] | None = None, check: bool = True,
                 check_finite: bool = False, opt: int = 0) -> NativeFunction:
    """The ``"llvm"`` entry of :data:`symback.codegen.BACKENDS` (``outs`` as given,
    ``compiled`` the same after the rule tables, ``order`` its toposort if known).

    ``opt`` (``backend_options={"opt": 2}``): LLVM's code generation level, 0 to 3. The
    default 0 compiles a 10^4-node gradient in ~0.2 s; 2 takes ~1.2 s there and runs
    arithmetic-heavy code about twice as fast (libm-bound code gains nothing)."""
    if opt not in (0, 1, 2, 3):
        raise SymbackError(f"lambdify(backend='llvm'): opt must be 0, 1, 2 or 3, got {opt!r}")
    if check_finite:
        raise SymbackError("lambdify(backend='llvm'): check_finite=True is a debug mode of "
                           "the NumPy backend; use backend='numpy' for it")
    _llvm()
    if order is None:
        order = toposort(compiled)
    ir = generate_ir(args, compiled, order)
    return NativeFunction(args, outs, single, ir, compiled, check, opt)
