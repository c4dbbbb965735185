"""Time sb.parse on 1 MB hostile and legitimate texts: outcome and seconds per case.

Run: python benchmarks/parse_large.py [substring ...]  (one case per line; no asserts)
"""
import random, sys, time
import symback as sb
MB = 1 << 20
def cases():
    rng = random.Random(0)
    yield "nested100k", "(" * 100_000 + "x" + ")" * 100_000
    yield "plus1M", "+" * MB
    yield "minus1M_x", "-" * (MB - 1) + "x"
    yield "parens512k", "(" * (MB // 2) + ")" * (MB // 2)
    yield "open1M", "(" * MB
    yield "close1M", ")" * MB
    yield "brackets512k", "[" * (MB // 2) + "]" * (MB // 2)
    yield "nested512k_x", "(" * (MB // 2 - 1) + "x" + ")" * (MB // 2 - 1)
    s = []; n = 0; k = 0
    while n < MB:
        t = f"x{k} + "; s.append(t); n += len(t); k += 1
    yield f"sum_x0..x{k}", "".join(s) + "x"
    yield "sum_x+x", "x+" * (MB // 2) + "x"
    yield "prod_x*x", "x*" * (MB // 2) + "x"
    yield "sub_x-x", "x-" * (MB // 2) + "x"
    yield "mixed_a+b*c", "a+b*c-" * (MB // 6) + "a"
    yield "pow_x**x", "x**" * (MB // 3) + "x"
    yield "sin_deep", "sin(" * (MB // 5) + "x" + ")" * (MB // 5)
    yield "commas", "x," * (MB // 2)
    yield "ident", "a" * MB
    yield "digits", "1" * MB
    yield "spaces", " " * MB
    yield "garbage", "@#$" * (MB // 3)
    yield "unicode", "∑" * (MB // 3)
    yield "soup", "".join(rng.choices("ab+-*/() .,=", k=MB))
    yield "ops_soup", "".join(rng.choices("+-*/@", k=MB))
    yield "sum_args", "maximum(" + "x," * (MB // 2) + "x)"
    yield "list", "stack([" + "x," * (MB // 2) + "x])"
    yield "sum_num", "1+" * (MB // 2) + "1"
    yield "sum_float", "1.5+" * (MB // 4) + "1"
    yield "x_plus_paren", "(x+" * (MB // 3) + "x" + ")" * (MB // 3)
only = sys.argv[1:]
for name, text in cases():
    if only and not any(o in name for o in only):
        continue
    t = time.perf_counter()
    try:
        out = sb.parse(text); res = f"Expr {out.op.name}"
    except sb.ParseError as e:
        res = "ParseError: " + e.message[:60]
    except Exception as e:
        res = f"!! {type(e).__name__}: {str(e)[:60]}"
    dt = time.perf_counter() - t
    print(f"{name:22s} {len(text):8d} {dt:7.3f}s  {res}", flush=True)
