"""backend="dask": chunked data evaluated chunk by chunk equals the NumPy backend on the same
data in memory, on the threaded scheduler and on a dask.distributed cluster, also when a
worker dies during a gradient evaluation."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import symback as sb

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

ROOT = Path(__file__).resolve().parent.parent


def logistic(d: int = 5):
    w, b = sb.vector("w", d), sb.symbols("b")
    X, y = sb.matrix("X", "n", d), sb.vector("y", "n")
    z = X @ w + b
    return w, b, X, y, z


def data(n=4000, d=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = (rng.uniform(size=n) < 0.5).astype(float)
    return X, y


def close(a, b, rtol=1e-12):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=rtol, atol=1e-14)


@pytest.mark.parametrize("kind", ["mean", "sum"])
def test_chunked_loss_and_gradients_equal_numpy_in_memory(kind):
    w, b, X, y, z = logistic()
    per_row = sb.softplus(z) - y * z
    # a mean may carry terms free of the rows (a regulariser); a sum may not
    loss = sb.mean(per_row) + 1e-3 * sb.sum(w * w) if kind == "mean" else sb.sum(per_row)
    Xn, yn = data()
    args = [w, b, X, y]
    want = sb.value_and_grad(loss, [w, b], args=args)(np.ones(5) * 0.1, 0.2, Xn, yn)
    f = sb.value_and_grad(loss, [w, b], args=args, backend="dask")
    got = f(np.ones(5) * 0.1, 0.2, da.from_array(Xn, chunks=(700, 5)),
            da.from_array(yn, chunks=500))  # (y's chunks differ: rechunked to X's)
    assert f.modes == [kind] * 3
    close(got[0], want[0])
    for g, w_ in zip(got[1], want[1]):
        assert isinstance(g, np.ndarray) and g.shape == w_.shape
        close(g, w_)


def test_row_by_row_outputs_come_back_whole():
    w, b, X, y, z = logistic()
    Xn, yn = data(1000)
    f = sb.lambdify([w, b, X, y], [sb.mean(y * z), sb.sigmoid(z)], backend="dask")
    assert f.modes == ["mean", "rows"]
    m, p = f(np.ones(5), 0.0, da.from_array(Xn, chunks=(300, 5)), yn)
    close(p, 1 / (1 + np.exp(-(Xn @ np.ones(5)))))
    close(m, np.mean(yn * (Xn @ np.ones(5))))


def test_numpy_arguments_run_the_numpy_function():
    w, b, X, y, z = logistic()
    Xn, yn = data(50)
    f = sb.value_and_grad(sb.sum(z * z), [w], args=[w, b, X, y], backend="dask")
    value, (g,) = f(np.ones(5), 0.0, Xn, yn)
    close(value, np.sum((Xn @ np.ones(5)) ** 2))
    close(g, 2 * Xn.T @ (Xn @ np.ones(5)))


def test_a_loss_not_separable_over_rows_is_refused_when_compiling():
    w, b, X, y, z = logistic()
    with pytest.raises(sb.SymbackError, match=r"output 0 .* neither a sum nor a mean over the "
                                              r"rows of 'n'"):
        sb.lambdify([w, b, X, y], sb.log(sb.sum(sb.exp(z))), backend="dask")
    with pytest.raises(sb.SymbackError, match="neither a sum nor a mean"):  # Σ + regulariser
        sb.lambdify([w, b, X, y], sb.sum(z) + sb.sum(w * w), backend="dask")


def test_only_row_arguments_may_be_dask_arrays():
    w, b, X, y, z = logistic()
    f = sb.lambdify([w, b, X, y], sb.mean(z), backend="dask")
    with pytest.raises(sb.SymbackError, match=r"argument\(s\) w are dask arrays"):
        f(da.ones(5, chunks=2), 0.0, np.ones((4, 5)), np.ones(4))


def test_by_name_and_dict_calls_as_the_numpy_backend():
    w, b, X, y, z = logistic()
    loss = sb.mean(sb.softplus(z) - y * z)
    Xn, yn = data(900)
    ref = sb.value_and_grad(loss, [w, b], args=[w, b, X, y])
    f = sb.value_and_grad(loss, [w, b], args=[w, b, X, y], backend="dask")
    Xd, yd = da.from_array(Xn, chunks=(300, 5)), da.from_array(yn, chunks=300)
    want = ref(np.ones(5), 0.1, Xn, yn)
    for got in (f(X=Xd, y=yd, w=np.ones(5), b=0.1),
                f({"w": np.ones(5), "b": 0.1, "X": Xd, "y": yd})):
        close(got[0], want[0])
        close(got[1][0], want[1][0])
    for bad_a, bad_k in [((np.ones(5),), {"b": 0.1}), ((), {"w": np.ones(5)}),
                         ((), {"w": 1, "b": 1, "X": Xn, "y": yn, "q": 2})]:
        with pytest.raises(sb.SymbackError) as e1:
            f(*bad_a, **bad_k)
        with pytest.raises(sb.SymbackError) as e2:
            ref(*bad_a, **bad_k)
        assert str(e1.value) == str(e2.value)


def test_many_chunks_a_deep_reduction_tree_and_rows_in_the_same_task():
    """300 chunks: three levels of 16-way sums; the row-by-row output comes back whole and in
    order from the same per-chunk tasks (the function runs once per chunk)."""
    w, b, X, y, z = logistic()
    Xn, yn = data(3000)
    f = sb.lambdify([w, b, X, y], [sb.sum(sb.softplus(z) - y * z), sb.sigmoid(z),
                                   sb.mean(z * z)], backend="dask")
    assert f.modes == ["sum", "rows", "mean"]
    s, p, m = f(np.ones(5) * 0.3, 0.1, da.from_array(Xn, chunks=(10, 5)), yn)
    zn = Xn @ (np.ones(5) * 0.3) + 0.1
    close(s, np.sum(np.logaddexp(0, zn) - yn * zn), rtol=1e-11)
    close(p, 1 / (1 + np.exp(-zn)))
    close(m, np.mean(zn * zn), rtol=1e-11)
    graph = _graph(f, np.ones(5) * 0.3, 0.1, da.from_array(Xn, chunks=(10, 5)), yn)
    levels = {k[0].rsplit("-", 1)[0] for k in graph
              if isinstance(k, tuple) and str(k[0]).startswith("symback-sum-")}
    assert levels == {"symback-sum-0", "symback-sum-1", "symback-sum-2"}  # 300 -> 19 -> 2 -> 1


def test_a_large_numpy_argument_is_one_key_not_copied_into_every_task():
    d = 9000  # w: 72 kB, above the size copied into each chunk's task
    w, X = sb.vector("w", d), sb.matrix("X", "n", d)
    f = sb.value_and_grad(sb.sum(sb.tanh(X @ w)), [w], args=[w, X], backend="dask")
    rng = np.random.default_rng(3)
    Xn, wn = rng.standard_normal((40, d)) / 100, rng.standard_normal(d)
    value, (g,) = f(wn, da.from_array(Xn, chunks=(10, d)))
    want = sb.value_and_grad(sb.sum(sb.tanh(X @ w)), [w], args=[w, X])(wn, Xn)
    close(value, want[0], rtol=1e-11)
    close(g, want[1][0], rtol=1e-11)
    graph = _graph(f, wn, da.from_array(Xn, chunks=(10, d)))
    assert sum(str(k).startswith("symback-arg-0-") for k in graph) == 1


def test_float32_data_keeps_float32():
    d = 3
    w = sb.vector("w", d, dtype="float32")
    X = sb.matrix("X", "n", d, dtype="float32")
    loss = sb.mean(sb.tanh(X @ w))
    Xn = np.random.default_rng(1).standard_normal((600, d)).astype(np.float32)
    f = sb.value_and_grad(loss, [w], args=[w, X], backend="dask")
    value, (g,) = f(np.ones(d, np.float32), da.from_array(Xn, chunks=(100, d)))
    assert value.dtype == np.float32 and g.dtype == np.float32
    want = sb.value_and_grad(loss, [w], args=[w, X])(np.ones(d, np.float32), Xn)
    close(value, want[0], rtol=1e-5)
    close(g, want[1][0], rtol=1e-5)



@pytest.mark.parametrize("kind", ["mean", "sum"])
def test_chunks_of_no_rows_change_nothing(kind):
    """Chunks with 0 rows (dask makes them, e.g. after a filter): a mean over such a chunk
    is 0/0 and must not reach the total; a NumPy row argument is chunked as the dask one.
    Reference: NumPy's own mean/sum of the per-row loss, computed by hand."""
    w, b, X, y, z = logistic()
    per_row = sb.softplus(z) - y * z
    loss = sb.mean(per_row) if kind == "mean" else sb.sum(per_row)
    Xn, yn = data(1000)
    ref_rows = np.logaddexp(0, Xn @ np.full(5, 0.1) + 0.2) - yn * (Xn @ np.full(5, 0.1) + 0.2)
    want = np.mean(ref_rows) if kind == "mean" else np.sum(ref_rows)
    f = sb.lambdify([w, b, X, y], [loss, per_row], backend="dask")
    chunks = (0, 400, 0, 600, 0)
    for yv in (yn, da.from_array(yn, chunks=(chunks,))):
        value, rows = f(np.full(5, 0.1), 0.2, da.from_array(Xn, chunks=(chunks, 5)), yv)
        close(value, want)
        close(rows, ref_rows)


def test_a_row_argument_with_other_rows_is_a_shape_error():
    w, b, X, y, z = logistic()
    f = sb.lambdify([w, b, X, y], sb.mean(y * z), backend="dask")
    Xd = da.from_array(np.ones((100, 5)), chunks=(30, 5))
    for bad in (np.ones(99), da.from_array(np.ones(99), chunks=50)):
        with pytest.raises(sb.ShapeError, match=r"argument y: expected shape \(n, ...\) "
                                                r"\(with n = 100\), got \(99,\)"):
            f(np.ones(5), 0.0, Xd, bad)


def test_an_output_whose_other_axes_grow_with_the_rows_is_refused_clearly():
    X = sb.matrix("X", "n", 3)
    with pytest.raises(sb.SymbackError, match=r"output 0 .* neither a sum nor a mean"):
        sb.lambdify([X], X @ X.T, backend="dask")



def test_chunks_of_unknown_size_are_refused_naming_the_argument():
    w, b, X, y, z = logistic()
    f = sb.lambdify([w, b, X, y], sb.sum(y * z), backend="dask")
    Xn, yn = data(200)
    keep = da.from_array(Xn[:, 0] > 0, chunks=50)
    Xd = da.from_array(Xn, chunks=(50, 5))[keep]
    with pytest.raises(sb.SymbackError, match=r"argument X has chunks of unknown size along "
                                              r"'n' .* X\.compute_chunk_sizes\(\)"):
        f(np.ones(5), 0.0, Xd, yn[Xn[:, 0] > 0])
    Xd.compute_chunk_sizes()  # then it runs: Σ y ⊙ (X w + b) on the kept rows
    m = Xn[:, 0] > 0
    close(f(np.ones(5), 0.0, Xd, yn[m]), np.sum(yn[m] * (Xn[m] @ np.ones(5))))


# --------------------------------------------------------------------------- distributed


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           host="127.0.0.1", dashboard_address=None, memory_limit="1GB")
    c = Client(cluster)
    yield c
    c.close()
    cluster.close()


def test_on_a_local_cluster_the_function_is_shipped_once(client):
    w, b, X, y, z = logistic()
    loss = sb.mean(sb.softplus(z) - y * z)
    Xn, yn = data(3000)
    f = sb.flat_value_and_grad(loss, [w, b], data=[X, y], backend="dask")
    ref = sb.flat_value_and_grad(loss, [w, b], data=[X, y])
    theta = ref.pack([np.linspace(-1, 1, 5), 0.3])
    Xd, yd = da.from_array(Xn, chunks=(500, 5)), da.from_array(yn, chunks=500)
    v, g = f(theta, Xd, yd)
    v0, g0 = ref(theta, Xn, yn)
    close(v, v0)
    close(g, g0)
    # the function went to the workers once (scattered); the calls' graphs hold no copy of it
    shipped = dict(f.compiled._shipped)
    assert len(shipped) == 1
    graph = _graph(f, theta, Xd, yd)
    assert f.compiled._shipped == shipped  # not scattered again
    from symback.codegen import CompiledFunction

    assert not any(isinstance(getattr(t, "value", t), CompiledFunction) for t in graph.values())
    chunk_tasks = [k for k in graph if isinstance(k, tuple) and str(k[0]).startswith("symback-chunk")]
    assert len(chunk_tasks) == 6


def _graph(f, *args):
    """The task graph one call builds (computed by dask.compute; captured here)."""
    import dask

    captured = {}
    real = dask.compute

    def spy(*colls, **kw):
        for c in colls:
            captured.update(dict(c.__dask_graph__()))
        return real(*colls, **kw)

    dask.compute = spy
    try:
        f(*args)
    finally:
        dask.compute = real
    return captured


def _slow_rows(block):
    time.sleep(0.15)  # a chunk that takes a while, so that a worker can die mid-evaluation
    return block


def test_a_worker_killed_during_a_gradient_evaluation_changes_nothing(client):
    w, b, X, y, z = logistic()
    loss = sb.mean(sb.softplus(z) - y * z) + 1e-3 * sb.sum(w * w)
    Xn, yn = data(6000)
    f = sb.value_and_grad(loss, [w, b], args=[w, b, X, y], backend="dask")
    want = sb.value_and_grad(loss, [w, b], args=[w, b, X, y])(np.ones(5), 0.1, Xn, yn)
    Xd = da.from_array(Xn, chunks=(250, 5)).map_blocks(_slow_rows, dtype=float)
    yd = da.from_array(yn, chunks=250)
    pids = client.run(os.getpid)  # worker address -> pid
    victim = sorted(pids.values())[0]
    result = {}
    th = threading.Thread(target=lambda: result.setdefault("v", f(np.ones(5), 0.1, Xd, yd)))
    th.start()
    time.sleep(1.0)  # 24 chunks of 0.15 s on 2 workers: ~1.8 s; kill one in the middle
    assert th.is_alive()
    os.kill(victim, signal.SIGKILL)
    th.join(timeout=120)
    assert not th.is_alive()
    value, grads = result["v"]
    close(value, want[0])
    for g, w_ in zip(grads, want[1]):
        close(g, w_)
    assert victim not in client.run(os.getpid).values()  # it was gone: Dask recomputed


def test_a_function_the_scheduler_forgot_is_scattered_again(client, caplog):
    """The fault behind 'FutureCancelledError ... already forgotten' / 'lost dependencies'
    (workers restarted for memory lose the scattered function while this process still
    holds a finished future of it): the call is run again with the function scattered
    afresh, and gives the NumPy backend's numbers."""
    from distributed.client import FutureCancelledError

    w, b, X, y, z = logistic()
    loss = sb.mean(sb.softplus(z) - y * z)
    Xn, yn = data(2000)
    f = sb.value_and_grad(loss, [w, b], args=[w, b, X, y], backend="dask")
    Xd, yd = da.from_array(Xn, chunks=(400, 5)), da.from_array(yn, chunks=400)
    f(np.ones(5), 0.1, Xd, yd)
    (old,) = f._shipped.values()

    def forget(dask_scheduler, key=old.key, who=client.id):
        dask_scheduler.client_releases_keys(keys=[key], client=who, stimulus_id="test")

    client.run_on_scheduler(forget)
    deadline = time.monotonic() + 30
    while client.run_on_scheduler(lambda dask_scheduler, k=old.key: k in dask_scheduler.tasks):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert old.status == "finished"  # this process cannot tell that it is gone
    with pytest.raises(FutureCancelledError):  # what one run without the retry meets
        f._run((np.ones(5), 0.1, Xd, yd), [2, 3])
    assert f._shipped[client.id] is old  # (the failed run changed nothing)
    with caplog.at_level("WARNING", logger="symback.dask"):
        value, grads = f(np.ones(5), 0.1, Xd, yd)
    assert "running it again with the function scattered afresh (attempt 2 of 3)" in caplog.text
    want = sb.value_and_grad(loss, [w, b], args=[w, b, X, y])(np.ones(5), 0.1, Xn, yn)
    close(value, want[0])
    for g, w_ in zip(grads, want[1]):
        close(g, w_)
    assert f._shipped[client.id].key != old.key  # scattered again


def test_example_fits_data_larger_than_a_worker_to_the_numpy_optimum():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    # 218 MB of data, 200 MB per worker: above a worker's limit, with headroom over a worker
    # process's own ~110 MB so that a loaded machine does not pause the workers for memory
    out = subprocess.run([sys.executable, str(ROOT / "examples" / "dask_logistic_regression.py"),
                          "--workers", "2", "--n", "1600000", "--memory-limit", "200MB"],
                         capture_output=True, text=True, timeout=900, env=env, cwd=ROOT)
    assert out.returncode == 0, out.stdout + out.stderr[-3000:]
    assert "same optimum to 1e-8" in out.stdout
    assert "2 workers, memory limit 200 MB each" in out.stdout and "data 218 MB" in out.stdout
