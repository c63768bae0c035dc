#!/usr/bin/python3
"""ctest: bench/compare.py's NumPy networks compute the gradients of their own loss.

Usage: /usr/bin/python3 tests/test_compare_models.py

compare.py times hand-written NumPy training steps against initbench; a wrong backward pass
would make that comparison meaningless (it could skip work). On small plain and residual
workloads, in float64, the update each step applies (old - new) / lr must equal central finite
differences of the loss the step reports, for every weight, bias and alpha_b; when PyTorch is
installed, the NumPy and PyTorch sides must also report the same losses over three steps from
the same parameters (the small nets and the residual workload in float32, the full-size normed
workloads in float64), and the same batch-norm running statistics. Exits 77 (ctest SKIP_RETURN_CODE) when NumPy is missing.
"""

import copy
import os
import sys

SKIP = 77
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "bench"))

try:
    import numpy as np
except ImportError:
    print("SKIP: python3-numpy is missing")
    sys.exit(SKIP)

import compare  # noqa: E402

FAILURES = []


def check(condition, message):
    if not condition:
        FAILURES.append(message)
        print(f"FAIL: {message}")


def to_double(net, rng, keep_values=False):
    """The net in float64; unless keep_values, with random biases, alpha_b, gamma and beta, so
    that every term of backward matters."""
    net.X = net.X.astype(np.float64)
    net.Y = net.Y.astype(np.float64)
    for p in net.params:
        p[0] = p[0].astype(np.float64)
        p[1] = p[1].astype(np.float64) if keep_values else rng.standard_normal(p[1].shape)
    if hasattr(net, "alpha"):
        net.alpha = rng.uniform(0.3, 1.0, net.alpha.shape)
    for q in getattr(net, "norms", []):
        q[:] = [a.astype(np.float64) for a in q]
        if not keep_values:
            q[0] = rng.uniform(0.5, 1.5, q[0].shape)
            q[1] = rng.standard_normal(q[1].shape)
    return net


def loss(net):
    return copy.deepcopy(net, {id(np): np}).step()


def check_gradients(net, name):
    before = copy.deepcopy(net, {id(np): np})
    net.step()
    arrays = [(f"W{l + 1}", p[0], q[0]) for l, (p, q) in enumerate(zip(before.params, net.params))]
    arrays += [(f"b{l + 1}", p[1], q[1]) for l, (p, q) in enumerate(zip(before.params, net.params))]
    if hasattr(net, "alpha"):
        arrays.append(("alpha", before.alpha, net.alpha))
    for l, (p, q) in enumerate(zip(getattr(before, "norms", []), getattr(net, "norms", []))):
        arrays += [(f"gamma{l + 1}", p[0], q[0]), (f"beta{l + 1}", p[1], q[1])]
    worst = 0.0
    h = 1e-6
    for label, old, new in arrays:
        applied = (old - new) / compare.LR
        for idx in np.ndindex(old.shape):
            saved = old[idx]
            old[idx] = saved + h
            up = loss(before)
            old[idx] = saved - h
            down = loss(before)
            old[idx] = saved
            numeric = (up - down) / (2 * h)
            err = abs(numeric - applied[idx]) / max(1e-4, abs(numeric))
            worst = max(worst, err)
            if err > 1e-5:
                check(False, f"{name}: {label}{list(idx)}: backward {applied[idx]:.9g}, "
                             f"finite difference {numeric:.9g}")
                return
    print(f"{name}: {sum(a[1].size for a in arrays)} parameters, worst relative error {worst:.2e}")


def main():
    rng = np.random.default_rng(7)
    compare.WORKLOADS["test_plain"] = ([4, 5, 6, 3], "relu", 7, "softmax")
    compare.WORKLOADS["test_tanh"] = ([3, 4, 2], "tanh", 5, "sigmoid")
    compare.WORKLOADS["test_residual"] = ([4] + [5] * 7 + [3], "relu", 6, "softmax")
    compare.RESIDUAL["test_residual"] = (3, 2)
    compare.WORKLOADS["test_residual1"] = ([4] + [5] * 4 + [3], "relu", 6, "softmax")
    compare.RESIDUAL["test_residual1"] = (3, 1)
    for kind in ["batch", "layer"]:
        for act in ["relu", "tanh"]:
            compare.WORKLOADS[f"test_{kind}_{act}"] = ([4, 5, 6, 3], act, 7, "softmax")
            compare.NORM[f"test_{kind}_{act}"] = kind
    normed = [n for n in compare.NORM if n.startswith("test_")]
    for name in ["test_plain", "test_tanh"] + normed:
        check_gradients(to_double(compare.NumpyNet(np, name), rng), name)
    for name in ["test_residual", "test_residual1"]:
        check_gradients(to_double(compare.NumpyResidualNet(np, name), rng), name)
    try:
        import torch
    except ImportError:
        torch = None
        print("note: PyTorch is missing: the NumPy-PyTorch agreement is not checked")
    if torch is not None:
        torch.set_num_threads(1)
        # the full-size workload with alpha_b near 1 / sqrt(1000), so that the stream stays finite
        for name, low, high in [("test_residual", 0.3, 1.0), ("residual", 0.01, 0.05)]:
            n = compare.NumpyResidualNet(np, name)
            t = compare.TorchResidualNet(torch, np, name)
            n.alpha[:] = rng.uniform(low, high, n.alpha.shape).astype(np.float32)
            with torch.no_grad():
                t.model.alpha.copy_(torch.from_numpy(n.alpha))
            losses = [(n.step(), t.step()) for _ in range(3)]
            for a, b in losses:
                check(np.isfinite(a) and abs(a - b) <= 1e-4 * abs(b), f"{name}: NumPy loss {a} vs PyTorch {b}")
            print(f"{name}: NumPy and PyTorch losses {losses}")
        # the full-size normed workloads in float64: in float32 the 30-layer batch-normed one
        # amplifies the two sides' different roundings of its statistics to 1e-4 of the loss (its
        # forward pass is chaotic, the effect the normalization experiment measures)
        for name in normed + [n for n in compare.NORM if not n.startswith("test_")]:
            n = compare.NumpyNet(np, name)
            t = compare.TorchNet(torch, np, name)
            if not name.startswith("test_"):
                to_double(n, rng, keep_values=True)
                t.model.double()
                t.X = t.X.double()
            losses = [(n.step(), t.step()) for _ in range(3)]
            tol = 1e-4 if name.startswith("test_") else 1e-8
            for a, b in losses:
                check(np.isfinite(a) and abs(a - b) <= tol * abs(b),
                      f"{name}: NumPy loss {a} vs PyTorch {b}")
            if compare.NORM[name] == "batch":
                mean = t.model[1].running_mean.numpy()
                check(np.allclose(n.norms[0][2][:, 0], mean, rtol=1e-4, atol=1e-6),
                      f"{name}: running means differ")
                var = t.model[1].running_var.numpy()
                check(np.allclose(n.norms[0][3][:, 0], var, rtol=1e-4, atol=1e-6),
                      f"{name}: running variances differ")
            print(f"{name}: NumPy and PyTorch losses {losses}")
    if FAILURES:
        print(f"{len(FAILURES)} failure(s)")
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
