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

Only scalar float64 nodes compile. A graph with tensors of small *static* shapes is
first **scalarised** (:func:`scalarize`): one scalar symbol per entry of each tensor
argument, each tensor node rewritten as a NumPy object array of scalar expressions (an
elementwise op applied entry by entry, a structural op through its own ``Op.scalarize``
form), so W2 written on one vector symbol compiles to the same straight-line code as W2
on 1,000 scalar symbols. A symbolic size, more than :data:`MAX_ENTRIES` tensor entries, or
an op without a native (or scalar) form raises :class:`~symback.errors.SymbackError`
naming the reason at compile time.
"""

from __future__ import annotations

import ctypes
import struct
import threading
from typing import Any, Sequence

import numpy as np

from .errors import ShapeError, SymbackError
from .graph import CONST, SYMBOL, Expr, const, gc_paused, symbol, toposort
from .shapes import fmt

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
                        "backend compiles float64 graphs (use backend='numpy' for this one)")


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


# A tensor graph is compiled entry by entry: one scalar node (one instruction) per entry of
# every tensor node, more for products (counted by their scalar forms). Past this many in
# all, the NumPy backend (one vectorised call per node) is the better tool and the build
# would take many seconds (W2 at n = 10,000, ~190,000 entries: ~1.4 s).
MAX_ENTRIES = 200_000

# (offset, size, shape) of each argument's (or output's) entries in the flat vector of
# the kernel's arguments (outputs), C order
Layout = tuple[tuple[int, int, tuple[int, ...]], ...]


def _llvm_error(what: str) -> SymbackError:
    return SymbackError(f"lambdify(backend='llvm'): {what}")


def scalarize(args: Sequence[Expr], outs: Sequence[Expr], order: list[Expr] | None = None
              ) -> tuple[list[Expr], list[Expr], Layout, Layout]:
    """The graph of ``outs`` over ``args`` rewritten as a graph of scalar nodes.

    Each tensor argument of static shape becomes one scalar float64 symbol per entry
    (named ``x__0``, ``W__1_2``: its name, then the entry's index); each tensor node
    becomes a NumPy object array of scalar expressions: an elementwise op is applied to
    the entries of its broadcast arguments (the op itself, ``op(*entries, **attrs)``), a
    structural op (indexing, sums, matmul, ...) through its own ``Op.scalarize`` form.
    Returns the scalar arguments, the scalar outputs (every entry of every output, C
    order) and where each argument's and each output's entries sit in those lists.

    Sums (``sum``, ``matmul``, ...) are added left to right, so a compiled result may
    differ from the NumPy backend's (pairwise sums) in the last bits. A symbolic size,
    more than :data:`MAX_ENTRIES` tensor entries and product terms (a scalar form counts
    the terms it writes beyond its entries: ``_scalar.spend``), or a tensor op without a
    scalar form raises :class:`SymbackError` saying so.
    """
    from .ops import _scalar

    if order is None:
        order = toposort(outs)
    total = 0
    for n in order:
        shp = n.shape
        if not shp:
            continue
        size = 1
        for d in shp:
            if not isinstance(d, int):
                raise _llvm_error(
                    f"the {n.op.name} node has shape {fmt(shp)} with the symbolic size {d!r}; "
                    "the llvm backend compiles tensors of static shape only, entry by entry "
                    "(declare int sizes, or use backend='numpy' for symbolic sizes)")
            size *= d
        total += size
    if total > MAX_ENTRIES:
        raise _llvm_error(
            f"the graph's tensors have {total:,} entries in all, over the llvm backend's "
            f"limit of {MAX_ENTRIES:,} (it compiles tensors entry by entry, one instruction "
            "each); use backend='numpy' for tensors this large")
    for o in outs:
        if o.dtype != "float64":
            raise _unsupported(o, f"is an output of dtype {o.dtype} (the llvm backend "
                               "returns float64)")
    names = {n.name for n in order if n.op is SYMBOL} | {a.name for a in args}
    sep = "__"  # entry symbols may not be named like any symbol of the graph
    while any(nm.startswith(a.name + sep) for a in args if a.shape for nm in names):
        sep += "_"
    val: dict[Expr, Any] = {}  # node -> its scalar Expr (shape ()) or object array
    kargs: list[Expr] = []
    in_layout = []
    for a in args:
        if a.dtype != "float64":
            raise _llvm_error(f"argument {a.name} has shape {a.shape} and dtype {a.dtype}; the "
                              "llvm backend takes float64 symbols")
        start = len(kargs)
        if a.shape == ():
            kargs.append(a)
            val[a] = a
        else:
            ents = [symbol(a.name + sep + "_".join(map(str, idx))) for idx in np.ndindex(a.shape)]
            arr = np.empty(len(ents), dtype=object)
            for i, e in enumerate(ents):
                arr[i] = e
            val[a] = arr.reshape(a.shape)
            kargs.extend(ents)
        in_layout.append((start, len(kargs) - start, tuple(a.shape)))
    as_const = np.frompyfunc(const, 1, 1)
    allowance = [MAX_ENTRIES - total]  # what products may add (see _scalar.spend)
    for n in order:
        if n in val:
            continue
        op = n.op
        if op is SYMBOL:
            raise SymbackError(f"lambdify: the expressions depend on {n.name}, "
                               "which is not among args")
        if op is CONST:
            val[n] = n if n.shape == () else _scalar.obj(
                as_const(np.asarray(n.value).astype(object)))
            continue
        vals = [val[a] for a in n.args]
        scalars = all(v.__class__ is Expr for v in vals)
        if n.shape == () and scalars and (op.elementwise or op.scalarize is None):
            # a scalar node over scalars: itself, or the op on the new scalars
            same = all(v is a for v, a in zip(vals, n.args))
            val[n] = n if same else op(*vals, **n.kw)
            continue
        arrs = [_scalar.obj(v) for v in vals]
        if op.elementwise:
            kw = n.kw
            res = _scalar.apply((lambda *e, op=op, kw=kw: op(*e, **kw)) if kw else op, *arrs)
            if res.shape != n.shape:
                res = np.broadcast_to(res, n.shape)
        elif op.scalarize is not None:
            try:
                with _scalar.budget(allowance):
                    res = _scalar.obj(op.scalarize(arrs, {**n.kw, "_node": n}))
            except _scalar.NotScalar as e:
                raise _llvm_error(f"op {op.name}: {e}; use backend='numpy' for this "
                                  "graph") from None
            except _scalar.OverBudget as e:
                raise _llvm_error(
                    f"op {op.name}: {e}, written entry by entry; with the graph's {total:,} "
                    f"tensor entries that is over the llvm backend's limit of "
                    f"{MAX_ENTRIES:,} terms in all (MAX_ENTRIES); use backend='numpy' for "
                    "this graph") from None
        else:
            raise _llvm_error(
                f"op {op.name} has no scalar form (Op.scalarize), so its node over tensors "
                f"(shapes {', '.join(fmt(a.shape) for a in n.args)} -> {fmt(n.shape)}) cannot "
                "be compiled entry by entry; use backend='numpy' for this graph")
        if res.shape != n.shape:  # pragma: no cover - a scalar form's own mistake
            raise _llvm_error(f"op {op.name}'s scalar form gave shape {fmt(res.shape)}, "
                              f"not {fmt(n.shape)}")
        val[n] = res[()] if n.shape == () else res
    kouts: list[Expr] = []
    out_layout = []
    for o in outs:
        v = val[o]
        start = len(kouts)
        for e in ([v] if v.__class__ is Expr else v.flat):
            if e.op is CONST and e.dtype != "float64":  # an int 0 where the tensor is float
                e = const(float(np.asarray(e.value)))
            kouts.append(e)
        out_layout.append((start, len(kouts) - start, tuple(o.shape)))
    return kargs, kouts, tuple(in_layout), tuple(out_layout)


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


def _numbers(a: Expr, v: Any) -> np.ndarray:
    """Argument ``a``'s value as an array of numbers (bool, int or float), else a
    SymbackError naming the argument."""
    x = np.asarray(v)
    if x.dtype.kind not in "biuf":
        raise SymbackError(f"argument {a.name}: expected numbers, got an array of "
                           f"dtype {x.dtype}")
    return x


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
    several points per SIMD instruction). A tensor argument of shape ``s`` takes an
    array of shape ``s`` (one point) or ``s + points`` (points as trailing axes, as a
    scalar argument's array of points); a tensor output comes back of shape
    ``shape + points``. ``f.call_packed(X)`` takes all arguments as one float64 array of
    shape ``(entries, ...)`` (one row per scalar argument, or per entry of a tensor
    argument, C order, argument after argument) and returns one array of shape
    ``(output entries, ...)`` likewise: the fastest way in and out (no per-argument or
    per-output Python objects). ``.source`` holds the LLVM IR (one point per step),
    ``.vector_source`` the SIMD version (compiled on the first call with enough points).
    """

    backend = "llvm"

    def __init__(self, args: Sequence[Expr], outputs: Sequence[Expr], single: Any,
                 source: str, compiled: Sequence[Expr], check: bool, opt: int = 0,
                 kernel: tuple[list[Expr], list[Expr], Layout, Layout] | None = None) -> None:
        self.args = tuple(args)
        self.outputs = tuple(outputs)
        self.single = single
        self.source = source
        self.compiled = tuple(compiled)  # the outputs after the rule tables
        self.check = check
        self.opt = opt
        # a scalarised tensor graph: the scalar symbols and outputs the code is made of,
        # and where each argument's and output's entries sit among them
        self.kernel = kernel
        self._setup()

    @property
    def vector_source(self) -> str | None:
        """The SIMD kernel's IR (None where the host has no vector unit in use)."""
        width, vmath = _simd()
        if width == 1:
            return None
        kargs, kouts = (self.args, self.compiled) if self.kernel is None else self.kernel[:2]
        return generate_ir(kargs, kouts, None, width, "symback_vec", vmath)

    def _setup(self) -> None:
        self._native = _Native(self.source, "symback_fn", self.opt)
        self._cfunc = self._native.cfunc
        self._vnative: _Native | None = None
        self._lock = threading.Lock()
        self._tls = threading.local()
        self._ncall = len(self.args)
        if self.kernel is None:
            self._nargs = len(self.args)
            self._nouts = len(self.outputs)
            self._in_layout: Layout | None = None
            self._out_layout: Layout | None = None
        else:
            self._nargs = len(self.kernel[0])
            self._nouts = len(self.kernel[1])
            self._in_layout, self._out_layout = self.kernel[2], self.kernel[3]
            lay = self._in_layout
            # one tensor argument at one point: its own array is the kernel's input
            self._direct = lay[0][2] if len(lay) == 1 else None
            olay = self._out_layout
            # ... and one output returned as computed (its shape given to the buffer)
            self._whole = olay[0][2] if (self.single is True and len(olay) == 1
                                         and (olay[0][2] or self.check)) else None
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
        self.__dict__.setdefault("kernel", None)
        self._setup()

    def __repr__(self) -> str:
        names = ", ".join(a.name for a in self.args)
        return f"<symback native (llvm) function ({names}) -> {len(self.outputs)} output(s)>"

    def call_packed(self, x: Any) -> np.ndarray:
        """All arguments in one array of shape ``(entries, *points)`` (a row per scalar
        argument or per entry of a tensor argument, C order); returns the outputs' entries
        as one array of shape ``(output entries, *points)``."""
        a = x if (x.__class__ is np.ndarray and x.dtype == np.float64
                  and x.flags.c_contiguous) else np.ascontiguousarray(x, dtype=np.float64)
        if a.ndim == 0 or a.shape[0] != self._nargs:
            what = "argument" if self.kernel is None else "scalar argument or argument entry"
            raise SymbackError(f"call_packed: expected an array of shape ({self._nargs}, ...) "
                               f"(one row per {what}), got shape {a.shape}")
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
        if len(values) != self._ncall:
            names = ", ".join(a.name for a in self.args)
            raise SymbackError(f"compiled function takes {self._ncall} argument(s) ({names}), "
                               f"got {len(values)}")
        if self._in_layout is not None:
            return self._call_tensors(values)
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
        arrs = [_numbers(a, v) for a, v in zip(self.args, values)]
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

    def _call_tensors(self, values: Sequence[Any]) -> Any:
        """A scalarised graph: each argument's entries (and trailing point axes) laid out
        as the kernel's rows; each output's rows reshaped to its shape (+ point axes)."""
        x = values[0] if values else None
        if (x.__class__ is np.ndarray and x.shape == self._direct and x.dtype == np.float64
                and x.flags.c_contiguous):  # one tensor at one point: no copy in
            whole = self._whole
            if whole is not None:
                out = np.empty(whole)
                self._cfunc(_addr(x), _addr(out), 1, 1)
                return out
            out = np.empty(max(self._nouts, 1))
            self._cfunc(_addr(x), _addr(out), 1, 1)
            return self._results(out, ())
        arrs = []
        pts_list = []
        for a, v in zip(self.args, values):
            x = _numbers(a, v)
            nd = a.ndim
            if x.shape[:nd] != a.shape:
                raise ShapeError(
                    f"argument {a.name}: expected shape {fmt(a.shape)} (then any axes of "
                    f"points), got {fmt(x.shape)}", op="call", shapes=(a.shape, x.shape))
            arrs.append(x)
            pts_list.append(x.shape[nd:])
        try:
            pts = np.broadcast_shapes(*pts_list) if pts_list else ()
        except ValueError:
            raise SymbackError("the arguments' point axes do not broadcast together: "
                               + ", ".join(f"{a.name} {fmt(p)}" for a, p in
                                           zip(self.args, pts_list))) from None
        x = arrs[0] if len(arrs) == 1 else None
        if x is not None and x.dtype == np.float64 and x.flags.c_contiguous:
            buf = x  # one argument, laid out as the kernel reads it: no copy
        else:
            buf = np.empty((self._nargs,) + pts)
            for (start, size, _), x, p in zip(self._in_layout, arrs, pts_list):
                buf[start:start + size] = x.reshape((size,) + (1,) * (len(pts) - len(p)) + p)
        out = np.empty((self._nouts,) + pts)
        npts = int(np.prod(pts, dtype=np.int64))
        if npts:
            self._run(_addr(buf), _addr(out), npts)
        return self._results(out, pts)

    def _results(self, out: np.ndarray, shape: tuple[int, ...]) -> Any:
        """The outputs as the NumPy backend returns them: one array each (0-d at one
        point; Python floats at one point with ``check=False``)."""
        lay = self._out_layout
        if lay is not None:
            vals = [out[start:start + size].reshape(oshape + shape)
                    if oshape or shape or self.check else float(out[start])
                    for start, size, oshape in lay]
        elif shape == () and not self.check:
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
    if any(a.shape for a in args) or any(n.shape for n in order):
        # tensors of static shapes: compiled entry by entry (see scalarize)
        kernel = scalarize(args, compiled, order)
        ir = generate_ir(kernel[0], kernel[1])
        return NativeFunction(args, outs, single, ir, compiled, check, opt, kernel)
    ir = generate_ir(args, compiled, order)
    return NativeFunction(args, outs, single, ir, compiled, check, opt)
