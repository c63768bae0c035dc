#!/usr/bin/python3
"""compare.py: initbench against NumPy and PyTorch on the same training workloads, one thread each.

Trains the same networks (same shapes, same batch, plain SGD, no probes, float32) three ways:
  - NumPy, in the course's style: explicit forward and backward with arrays, samples as columns;
  - PyTorch CPU: nn.Sequential of nn.Linear, its loss, torch.optim.SGD (skipped when absent);
  - initbench: the bench_compare binary (bench/bench_compare.cpp), Mlp<float> + train_step;
and prints steps per second for each and initbench's ratio over each, against per-workload
targets. Also measures the machine's single-core SGEMM rate with the best BLAS available (NumPy's
and PyTorch's 2048^3 products) and the FLOP rate each side reaches as a fraction of it.

--sweep measures plain MLPs instead of the named workloads: every combination of hidden width
(16, 64, 256, 1024, 4096; the input has the same width), number of hidden relu layers (1, 4, 16,
32) and batch (16, 128, 1024), softmax over 10 classes. It prints, per shape, initbench's steps
per second, the faster of NumPy and PyTorch and the ratio, then the smallest ratio and the shapes
below 1.0x. Shapes whose training step exceeds 20 GFLOP, or whose parameters take more than 2 GB
in float32 counting the three sides' copies, are skipped and listed. --sweep-widths,
--sweep-depths and --sweep-batches replace the lists (e.g. for a quick check).

Every side runs on one thread: OPENBLAS_NUM_THREADS / OMP_NUM_THREADS / MKL_NUM_THREADS = 1 and
torch.set_num_threads(1). BLAS kernels: the NumPy and PyTorch workers start from the environment
with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed; a short probe process per side (with
OPENBLAS_VERBOSE=2) shows which OpenBLAS core the library then loads ("Core: X"). When that core
is weaker than the CPU supports (by /proc/cpuinfo: AVX-512 -> SkylakeX, or Cooperlake with
avx512_bf16; AVX2+FMA -> Haswell; AVX -> Sandybridge), the worker gets OPENBLAS_CORETYPE set to
the candidate with the fastest 1024^3 SGEMM in a probe (results checked against a non-BLAS
product). A library that uses another BLAS (PyTorch's bundled MKL) is reported as unknown and left
alone. Only the workers' environments change; the parent's, tests and CI are untouched. The
machine is shared and noisy: sides are measured in interleaved rounds and the median of the rounds
is reported.

The JSON (--json) holds every measurement, the medians, the cores chosen, the targets, the CPU
model and initbench's version; values that could not be measured are null.

  /usr/bin/python3 bench/compare.py [--binary build/bench/bench_compare] [--rounds 5]
                                    [--seconds 0.5] [--workloads course,deep,glorot,wide,residual,
                                    deep_batchnorm,deep_layernorm]
                                    [--clock cpu|wall] [--json out.json]
  /usr/bin/python3 bench/compare.py --sweep [--sweep-widths 16,64] [--sweep-depths 1,4]
                                    [--sweep-batches 16] [--rounds 3] [--seconds 0.2] ...

The default binary is the one `make bench` builds (build/bench/bench_compare in the repository).
"""

import argparse
import collections
import json
import math
import os
import re
import statistics
import subprocess
import sys
import time

# name: (layer sizes, hidden activation, batch, output)
WORKLOADS = {
    "course": ([2, 10, 5, 1], "relu", 300, "sigmoid"),
    "deep": ([64] + [64] * 30 + [10], "relu", 64, "softmax"),
    "glorot": ([784, 1000, 1000, 1000, 1000, 1000, 10], "tanh", 128, "softmax"),
    "wide": ([784, 2048, 2048, 10], "relu", 256, "softmax"),
    "residual": ([64] + [64] * 2001 + [10], "relu", 64, "softmax"),
    "deep_batchnorm": ([64] + [64] * 30 + [10], "relu", 64, "softmax"),
    "deep_layernorm": ([64] + [64] * 30 + [10], "relu", 64, "softmax"),
}
# residual workloads: name -> (blocks, layers per branch). sizes are the input, the input layer,
# blocks x layers-per-branch branch layers and the output (mlp.hpp's residual MLP): x_0 = W_1 x +
# b_1, x_b = x_{b-1} + alpha_b F_b(x_{b-1}) with F_b = W relu(W relu(.) + b) + b, logits W_L
# relu(x_B) + b_L; He weights and alpha_b = 0, learnable (ReZero)
RESIDUAL = {"residual": (1000, 2)}
# workloads whose hidden layers normalize z before the activation: name -> "batch" | "layer"
NORM = {"deep_batchnorm": "batch", "deep_layernorm": "layer"}
NORM_EPS = 1e-5
NORM_MOMENTUM = 0.1  # BatchNorm's running statistics (PyTorch's default)
TARGETS = {  # minimum ratios of initbench's steps/s over the other side's ('best': the faster one)
    "course": {"pytorch": 8.0, "numpy": 5.0},
    "deep": {"numpy": 2.2, "pytorch": 3.5},
    "glorot": {"best": 1.0},
    "wide": {"best": 1.0},
    "residual": {"best": 1.0, "pytorch": 2.0},
    "deep_batchnorm": {"best": 1.0},
    "deep_layernorm": {"best": 1.0},
}
SWEEP_WIDTHS = (16, 64, 256, 1024, 4096)
SWEEP_DEPTHS = (1, 4, 16, 32)  # hidden layers
SWEEP_BATCHES = (16, 128, 1024)
SWEEP_CLASSES = 10
SWEEP_MAX_FLOP = 20e9  # per training step
SWEEP_MAX_PARAM_BYTES = 2e9  # float32 parameters, three sides' copies together
SWEEP_COPIES = 3
SWEEP_RE = re.compile(r"^sweep/width:(\d+)/depth:(\d+)/batch:(\d+)$")
WORKER_CACHE_BYTES = 1 << 30  # a worker keeps built networks up to this many parameter bytes

LR = 0.01
SEED = 1
REMOVED_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
ONE_THREAD = {
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "GOTO_NUM_THREADS": "1",
}
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
DEFAULT_BINARY = os.path.join(REPO, "build", "bench", "bench_compare")

# OpenBLAS core names (as its Core: line and openblas_get_corename print them, lower-cased) by the
# widest vector instructions their single-precision kernels use: 0 SSE, 1 AVX, 2 AVX2+FMA,
# 3 AVX-512.
CORE_LEVELS = {
    **dict.fromkeys(
        "unknown katmai coppermine northwood prescott banias atom core2 penryn dunnington "
        "nehalem athlon opteron opteron_sse3 opteron(sse3) barcelona nano bobcat".split(),
        0,
    ),
    **dict.fromkeys("sandybridge bulldozer piledriver steamroller".split(), 1),
    **dict.fromkeys("haswell excavator zen".split(), 2),
    **dict.fromkeys("skylakex cooperlake sapphirerapids".split(), 3),
}
LEVEL_NAMES = {0: "SSE only", 1: "AVX", 2: "AVX2+FMA", 3: "AVX-512"}
PROBE_N = 1024  # the candidate cores race on this n x n x n float32 product
PROBE_SECONDS = 0.3  # per candidate
PROBE_MARK = "compare.py-probe: numpy loaded"


def flops_per_step(sizes, batch):
    """Multiply-adds x 2 of the three products per layer (forward, dW, dA), none for dA of the
    input layer."""
    total = 0
    for l in range(1, len(sizes)):
        products = 3 if l > 1 else 2
        total += products * 2 * sizes[l] * sizes[l - 1] * batch
    return total


def param_count(sizes):
    return sum(sizes[l] * sizes[l - 1] + sizes[l] for l in range(1, len(sizes)))


def sweep_name(width, depth, batch):
    return f"sweep/width:{width}/depth:{depth}/batch:{batch}"


def workload_spec(name):
    """(layer sizes, hidden activation, batch, output) of a named workload or a sweep shape."""
    if name in WORKLOADS:
        return WORKLOADS[name]
    m = SWEEP_RE.match(name)
    if not m:
        raise KeyError(f"unknown workload '{name}'")
    width, depth, batch = (int(g) for g in m.groups())
    return [width] + [width] * depth + [SWEEP_CLASSES], "relu", batch, "softmax"


def finite(value):
    """The value with every NaN or infinity replaced by None (JSON null), recursively."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def rate(count, seconds):
    return count / seconds if seconds > 0 else float("nan")


# ------------------------------------------------------------------------------------------------
# Workers: persistent processes that build each workload once and time steps on request.
# ------------------------------------------------------------------------------------------------


def make_data(np, sizes, batch, output):
    rng = np.random.default_rng(SEED)
    X = rng.standard_normal((sizes[0], batch)).astype(np.float32)
    k = sizes[-1]
    if output == "sigmoid":
        Y = (rng.random((k, batch)) < 0.5).astype(np.float32)
    else:
        Y = np.zeros((k, batch), np.float32)
        Y[rng.integers(0, k, batch), np.arange(batch)] = 1.0
    return X, Y


def init_params(np, sizes, activation):
    """He normal for relu, Glorot normal for tanh, zero biases (the values do not change speed)."""
    rng = np.random.default_rng(SEED + 1)
    params = []
    for l in range(1, len(sizes)):
        fan_in, fan_out = sizes[l - 1], sizes[l]
        std = (2.0 / fan_in) ** 0.5 if activation == "relu" else (2.0 / (fan_in + fan_out)) ** 0.5
        W = (rng.standard_normal((fan_out, fan_in)) * std).astype(np.float32)
        b = np.zeros((fan_out, 1), np.float32)
        params.append((W, b))
    return params


class NumpyNet:
    """The course's style: explicit arrays, a cache per layer, forward then backward. A workload
    in NORM normalizes every hidden layer's z before its activation (BatchNorm: over the batch,
    running statistics updated as PyTorch does; LayerNorm: over the units), with gamma and beta."""

    def __init__(self, np, name):
        sizes, self.activation, batch, self.output = workload_spec(name)
        self.np = np
        self.X, self.Y = make_data(np, sizes, batch, self.output)
        self.params = [[W, b] for W, b in init_params(np, sizes, self.activation)]
        self.norm = NORM.get(name)
        # per hidden layer: gamma, beta (and BatchNorm's running mean and variance)
        self.norms = [
            [np.ones((n, 1), np.float32), np.zeros((n, 1), np.float32),
             np.zeros((n, 1), np.float32), np.ones((n, 1), np.float32)]
            for n in sizes[1:-1]
        ] if self.norm else []

    def normalize(self, l, Z):
        """Forward of hidden layer l's norm: (output, what backward needs)."""
        np = self.np
        axis = 1 if self.norm == "batch" else 0
        mu = Z.mean(axis=axis, keepdims=True)
        C = Z - mu
        var = (C * C).mean(axis=axis, keepdims=True)
        inv = 1.0 / np.sqrt(var + NORM_EPS)
        H = C * inv
        gamma, beta, run_mean, run_var = self.norms[l - 1]
        if self.norm == "batch":
            k = Z.shape[1]
            run_mean *= 1 - NORM_MOMENTUM
            run_mean += NORM_MOMENTUM * mu
            run_var *= 1 - NORM_MOMENTUM
            run_var += NORM_MOMENTUM * var * (k / (k - 1))
        return gamma * H + beta, (H, inv)

    def normalize_backward(self, l, dN, cache):
        """dL/dZ from dL/d(norm output); gamma's and beta's gradients."""
        H, inv = cache
        gamma = self.norms[l - 1][0]
        axis = 1 if self.norm == "batch" else 0
        dgamma = (dN * H).sum(axis=1, keepdims=True)
        dbeta = dN.sum(axis=1, keepdims=True)
        dH = dN * gamma
        dZ = inv * (dH - dH.mean(axis=axis, keepdims=True)
                    - H * (dH * H).mean(axis=axis, keepdims=True))
        return dZ, dgamma, dbeta

    def step(self):
        np = self.np
        L = len(self.params)
        m = self.X.shape[1]
        A = self.X
        caches = []
        for l, (W, b) in enumerate(self.params, start=1):
            Z = W @ A + b
            N, ncache = self.normalize(l, Z) if self.norm and l < L else (Z, None)
            caches.append((A, N, ncache))
            if l < L:
                A = np.maximum(N, 0) if self.activation == "relu" else np.tanh(N)
        Y = self.Y
        if self.output == "sigmoid":
            P = 1.0 / (1.0 + np.exp(-Z))
            cost = -np.mean(Y * np.log(P) + (1 - Y) * np.log(1 - P))
            dZ = (P - Y) / (Y.shape[0] * m)
        else:
            E = np.exp(Z - Z.max(axis=0, keepdims=True))
            P = E / E.sum(axis=0, keepdims=True)
            cost = -np.sum(Y * np.log(P)) / m
            dZ = (P - Y) / m
        grads, norm_grads = [None] * L, [None] * (L - 1)
        for l in range(L, 0, -1):
            A_prev = caches[l - 1][0]
            W, b = self.params[l - 1]
            dW = dZ @ A_prev.T
            db = np.sum(dZ, axis=1, keepdims=True)
            grads[l - 1] = (dW, db)
            if l > 1:
                dA = W.T @ dZ
                _, N_prev, ncache = caches[l - 2]
                if self.activation == "relu":
                    dZ = dA * (N_prev > 0)
                else:
                    dZ = dA * (1 - A_prev * A_prev)  # A_prev = tanh(N_prev)
                if ncache is not None:
                    dZ, dgamma, dbeta = self.normalize_backward(l - 1, dZ, ncache)
                    norm_grads[l - 2] = (dgamma, dbeta)
        for p, (dW, db) in zip(self.params, grads):
            p[0] -= LR * dW
            p[1] -= LR * db
        for q, g in zip(self.norms, norm_grads):
            q[0] -= LR * g[0]
            q[1] -= LR * g[1]
        return float(cost)


class NumpyResidualNet:
    """A residual workload in the same style: the stream, each branch's cache, alpha_b."""

    def __init__(self, np, name):
        sizes, _, batch, _ = workload_spec(name)
        self.blocks, self.m = RESIDUAL[name]
        self.np = np
        self.X, self.Y = make_data(np, sizes, batch, "softmax")
        self.params = [[W, b] for W, b in init_params(np, sizes, "relu")]
        self.alpha = np.zeros(self.blocks, np.float32)

    def step(self):
        np = self.np
        P, m, B = self.params, self.X.shape[1], self.blocks
        x = P[0][0] @ self.X + P[0][1]
        streams, branches = [x], []
        for blk in range(B):
            a, cache = x, []
            for k in range(self.m):
                W, b = P[1 + blk * self.m + k]
                a_in = np.maximum(a, 0)
                a = W @ a_in + b
                cache.append((a_in, a))
            x = x + self.alpha[blk] * a
            streams.append(x)
            branches.append(cache)
        top = np.maximum(x, 0)
        Z = P[-1][0] @ top + P[-1][1]
        E = np.exp(Z - Z.max(axis=0, keepdims=True))
        Pr = E / E.sum(axis=0, keepdims=True)
        cost = -np.sum(self.Y * np.log(Pr)) / m
        dZ = (Pr - self.Y) / m
        grads = [None] * len(P)
        grads[-1] = (dZ @ top.T, dZ.sum(axis=1, keepdims=True))
        G = (P[-1][0].T @ dZ) * (x > 0)
        dalpha = np.zeros_like(self.alpha)
        for blk in range(B - 1, -1, -1):
            cache = branches[blk]
            dalpha[blk] = np.sum(G * cache[-1][1])
            D = self.alpha[blk] * G
            for k in range(self.m - 1, -1, -1):
                l = 1 + blk * self.m + k
                a_in, _ = cache[k]
                grads[l] = (D @ a_in.T, D.sum(axis=1, keepdims=True))
                g = P[l][0].T @ D
                D = g * (cache[k - 1][1] > 0) if k > 0 else g
            G = G + D * (streams[blk] > 0)
        grads[0] = (G @ self.X.T, G.sum(axis=1, keepdims=True))
        for p, (dW, db) in zip(P, grads):
            p[0] -= LR * dW
            p[1] -= LR * db
        self.alpha -= LR * dalpha
        return float(cost)


def torch_linears(torch, np, sizes, activation):
    """One nn.Linear per layer, with init_params' weights and zero biases."""
    linears = []
    for l, (W, _) in enumerate(init_params(np, sizes, activation), start=1):
        lin = torch.nn.Linear(sizes[l - 1], sizes[l])
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(W))
            lin.bias.zero_()
        linears.append(lin)
    return linears


class TorchNet:
    def __init__(self, torch, np, name):
        sizes, activation, batch, output = workload_spec(name)
        layers = []
        for l, lin in enumerate(torch_linears(torch, np, sizes, activation), start=1):
            layers.append(lin)
            if l < len(sizes) - 1:
                if NORM.get(name) == "batch":
                    layers.append(torch.nn.BatchNorm1d(sizes[l], eps=NORM_EPS,
                                                       momentum=NORM_MOMENTUM))
                elif NORM.get(name) == "layer":
                    layers.append(torch.nn.LayerNorm(sizes[l], eps=NORM_EPS))
                layers.append(torch.nn.ReLU() if activation == "relu" else torch.nn.Tanh())
        self.model = torch.nn.Sequential(*layers)
        X, Y = make_data(np, sizes, batch, output)
        self.X = torch.from_numpy(X.T.copy())  # PyTorch: samples are rows
        if output == "sigmoid":
            self.Y = torch.from_numpy(Y.T.copy())
            self.loss = torch.nn.BCEWithLogitsLoss()
        else:
            self.Y = torch.from_numpy(Y.argmax(axis=0))
            self.loss = torch.nn.CrossEntropyLoss()
        self.opt = torch.optim.SGD(self.model.parameters(), lr=LR)

    def step(self):
        self.opt.zero_grad(set_to_none=True)
        loss = self.loss(self.model(self.X), self.Y)
        loss.backward()
        self.opt.step()
        return loss.item()


class TorchResidualNet(TorchNet):
    """A residual workload as a PyTorch module: nn.Linear layers, alpha an nn.Parameter of B
    zeros, the forward a Python loop over the blocks (as the ReZero and Fixup code write it)."""

    def __init__(self, torch, np, name):
        sizes, _, batch, _ = workload_spec(name)
        blocks, m = RESIDUAL[name]
        linears = torch_linears(torch, np, sizes, "relu")

        class Residual(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.layers = torch.nn.ModuleList(linears)
                self.alpha = torch.nn.Parameter(torch.zeros(blocks))

            def forward(self, x):
                relu = torch.nn.functional.relu
                x = self.layers[0](x)
                for blk in range(blocks):
                    h = x
                    for k in range(m):
                        h = self.layers[1 + blk * m + k](relu(h))
                    x = x + self.alpha[blk] * h
                return self.layers[-1](relu(x))

        self.model = Residual()
        X, Y = make_data(np, sizes, batch, "softmax")
        self.X = torch.from_numpy(X.T.copy())
        self.Y = torch.from_numpy(Y.argmax(axis=0))
        self.loss = torch.nn.CrossEntropyLoss()
        self.opt = torch.optim.SGD(self.model.parameters(), lr=LR)


def sgemm_rate(fn, n=2048, seconds=1.0):
    """GFLOP/s (per wall second, per CPU second) of n x n x n single-precision products, best of
    three timings."""
    best_wall, best_cpu = 0.0, 0.0
    fn()
    for _ in range(3):
        start = time.perf_counter()
        cpu_start = time.thread_time()
        count = 0
        while time.perf_counter() - start < seconds / 3:
            fn()
            count += 1
        flops = 2.0 * n**3 * count / 1e9
        best_wall = max(best_wall, rate(flops, time.perf_counter() - start))
        best_cpu = max(best_cpu, rate(flops, time.thread_time() - cpu_start))
    return best_wall, best_cpu


def worker(side):
    """Line protocol on stdin/stdout: 'time WORKLOAD SECONDS' -> 'STEPS WALL_S CPU_S';
    'sgemm' -> 'WALL_GFLOPS CPU_GFLOPS'; 'info' -> one line of JSON."""
    import gc

    import numpy as np

    torch = None
    if side == "pytorch":
        import torch

        torch.set_num_threads(1)
        torch.set_grad_enabled(True)
    nets = collections.OrderedDict()  # least recently used first
    net_bytes = {}
    for line in sys.stdin:
        cmd = line.split()
        if not cmd:
            continue
        if cmd[0] == "info":
            info = {
                "numpy": np.__version__,
                "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
            }
            if torch is not None:
                info["torch"] = torch.__version__
                info["torch_threads"] = torch.get_num_threads()
            print(json.dumps(info), flush=True)
        elif cmd[0] == "sgemm":
            n = 2048
            if torch is not None:
                a, b = torch.rand(n, n), torch.rand(n, n)
                c = torch.empty(n, n)
                result = sgemm_rate(lambda: torch.mm(a, b, out=c), n)
            else:
                a = np.random.rand(n, n).astype(np.float32)
                b = np.random.rand(n, n).astype(np.float32)
                c = np.empty((n, n), np.float32)
                result = sgemm_rate(lambda: np.dot(a, b, out=c), n)
            print(*result, flush=True)
        elif cmd[0] == "time":
            name, seconds = cmd[1], float(cmd[2])
            if name in nets:
                nets.move_to_end(name)
            else:
                sizes, _, batch, _ = workload_spec(name)
                need = 4 * (param_count(sizes) + 4 * max(sizes) * batch)
                while nets and sum(net_bytes.values()) + need > WORKER_CACHE_BYTES:
                    old, _ = nets.popitem(last=False)  # the sweep's shapes do not all fit
                    del net_bytes[old]
                    gc.collect()
                residual = name in RESIDUAL
                if torch is not None:
                    nets[name] = (TorchResidualNet if residual else TorchNet)(torch, np, name)
                else:
                    nets[name] = (NumpyResidualNet if residual else NumpyNet)(np, name)
                net_bytes[name] = need
                for _ in range(3):
                    nets[name].step()  # warm up: allocations, caches
            net = nets[name]
            steps = 0
            start = time.perf_counter()
            cpu_start = time.thread_time()
            while True:
                net.step()
                steps += 1
                elapsed = time.perf_counter() - start
                if elapsed >= seconds:
                    break
            print(steps, elapsed, time.thread_time() - cpu_start, flush=True)


class Worker:
    def __init__(self, side, env):
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--worker", side],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )

    def ask(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        reply = self.proc.stdout.readline()
        if not reply:
            raise RuntimeError(f"worker died answering '{line}'")
        return reply.strip()

    def close(self):
        self.proc.stdin.close()
        self.proc.wait()


# ------------------------------------------------------------------------------------------------
# BLAS kernels: which OpenBLAS core each library loads, and which one it should run.
# ------------------------------------------------------------------------------------------------


def worker_env():
    """The environment the NumPy and PyTorch workers start from: OPENBLAS_CORETYPE and
    OPENBLAS_L2_SIZE removed, one thread."""
    env = {k: v for k, v in os.environ.items() if k not in REMOVED_VARS}
    env.update(ONE_THREAD)
    return env


def cpu_info():
    """(model name, set of flags) of the first processor in /proc/cpuinfo; lscpu for the model
    when cpuinfo has none."""
    model, flags = None, set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "model name" and model is None:
                    model = value.strip()
                elif key == "flags" and not flags:
                    flags = set(value.split())
                if model is not None and flags:
                    break
    except OSError:
        pass
    if model is None:
        try:
            out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
            m = re.search(r"^Model name:\s*(.+)$", out, re.M)
            model = m.group(1).strip() if m else None
        except (OSError, subprocess.SubprocessError):
            pass
    return model, flags


def cpu_level(flags):
    if {"avx512f", "avx512bw", "avx512dq", "avx512vl"} <= flags:
        return 3
    if {"avx2", "fma"} <= flags:
        return 2
    return 1 if "avx" in flags else 0


def core_candidates(flags):
    """The OpenBLAS cores that use the widest kernels this CPU runs."""
    level = cpu_level(flags)
    if level == 3:
        return ["SkylakeX", "Cooperlake"] if "avx512_bf16" in flags else ["SkylakeX"]
    return {2: ["Haswell"], 1: ["Sandybridge"]}.get(level, [])


def check_products(np, mm):
    """Whether mm (a float32 matrix product) agrees with a product that uses no BLAS (einsum in
    float64), on small odd shapes and the three layouts training uses; (ok, worst error over its
    bound)."""
    rng = np.random.default_rng(3)
    worst = 0.0
    eps = float(np.finfo(np.float32).eps)
    for m, k, n in [(1, 1, 1), (3, 5, 7), (17, 33, 9), (64, 64, 64), (100, 257, 31), (300, 2, 10),
                    (10, 300, 5), (129, 130, 131)]:
        a = rng.standard_normal((m, k), dtype=np.float32)
        b = rng.standard_normal((k, n), dtype=np.float32)
        a64, b64 = a.astype(np.float64), b.astype(np.float64)
        ref = np.einsum("ik,kj->ij", a64, b64)
        bound = 4 * (k + 2) * eps * np.einsum("ik,kj->ij", np.abs(a64), np.abs(b64)) + 1e-30
        at, bt = np.ascontiguousarray(a.T).T, np.ascontiguousarray(b.T).T  # column-major
        for got in (mm(a, b), mm(at, b), mm(a, bt)):
            err = np.abs(np.asarray(got, np.float64) - ref) / bound
            worst = max(worst, float(np.nan_to_num(err, nan=np.inf).max()))
    return worst <= 1.0, worst


def threadpool_libs():
    """threadpoolctl's view of the BLAS libraries loaded, when it is installed."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    return [
        {k: lib.get(k) for k in ("internal_api", "architecture", "version", "filepath")}
        for lib in threadpool_info()
        if lib.get("user_api") == "blas"
    ]


def probe(side, n, seconds, clock):
    """Runs in a subprocess (OPENBLAS_VERBOSE=2): loads NumPy (and PyTorch), checks its products
    and times n^3 float32 products; one line of JSON on stdout. OpenBLAS's Core: lines go to
    stderr, NumPy's before PROBE_MARK and PyTorch's own after it."""
    import numpy as np

    sys.stderr.write(PROBE_MARK + "\n")
    sys.stderr.flush()
    out = {"numpy": np.__version__}
    if side == "pytorch":
        import torch

        torch.set_num_threads(1)
        out["torch"] = torch.__version__
        config = torch.__config__.show()
        m = re.search(r"BLAS_INFO=([\w.-]+)", config)
        out["torch_blas_info"] = m.group(1) if m else None
        out["torch_mkl"] = bool(torch.backends.mkl.is_available())

        def mm(a, b):
            return torch.mm(torch.from_numpy(a), torch.from_numpy(b)).numpy()

        a, b, c = torch.rand(n, n), torch.rand(n, n), torch.empty(n, n)
        product = lambda: torch.mm(a, b, out=c)  # noqa: E731
    else:
        mm = np.matmul
        a = np.random.rand(n, n).astype(np.float32)
        b = np.random.rand(n, n).astype(np.float32)
        c = np.empty((n, n), np.float32)
        product = lambda: np.dot(a, b, out=c)  # noqa: E731
    out["threadpoolctl"] = threadpool_libs()
    out["correct"], out["worst_error_over_bound"] = check_products(np, mm)
    out["gflops"] = sgemm_rate(product, n, seconds)[1 if clock == "cpu" else 0]
    print(json.dumps(finite(out)), flush=True)


def run_probe(side, env, clock, coretype=None):
    """The probe's JSON with 'cores_numpy' / 'cores_after' (the Core: lines before and after
    NumPy was loaded) added, or {'failed': reason}."""
    env = dict(env, OPENBLAS_VERBOSE="2")
    if coretype is not None:
        env["OPENBLAS_CORETYPE"] = coretype
    try:
        proc = subprocess.run(
            [sys.executable, os.path.abspath(__file__), "--probe", side, "--clock", clock],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
    except subprocess.TimeoutExpired:
        return {"failed": "probe timed out"}
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["no message"])[-1]
        return {"failed": f"probe exited with {proc.returncode}: {tail}"}
    try:
        result = json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return {"failed": "probe printed no result"}
    before, after, seen = [], [], False
    for line in proc.stderr.splitlines():
        if line.strip() == PROBE_MARK:
            seen = True
            continue
        m = re.match(r"\s*Core:\s*(\S+)", line)
        if m:
            (after if seen else before).append(m.group(1))
        elif re.match(r"\s*Core not found:", line):
            result["coretype_refused"] = True  # OpenBLAS ignored OPENBLAS_CORETYPE and detected
    result["cores_numpy"], result["cores_after"] = before, after
    return result


def attribute_core(side, p):
    """(the OpenBLAS core the side's products run on or None, how that was found)."""
    tpc = [lib for lib in p.get("threadpoolctl") or [] if lib.get("internal_api") == "openblas"]
    if side == "numpy":
        if p["cores_numpy"]:
            return p["cores_numpy"][0], "OpenBLAS's Core: line when NumPy loads"
        if len(tpc) == 1 and tpc[0].get("architecture"):
            return tpc[0]["architecture"], "threadpoolctl"
        return None, "no OpenBLAS Core: line (not OpenBLAS, or one built without DYNAMIC_ARCH)"
    blas = (p.get("torch_blas_info") or "").lower()
    if p["cores_after"]:
        return p["cores_after"][0], "the Core: line of the OpenBLAS that PyTorch loads"
    if "mkl" in blas:
        return None, f"PyTorch uses MKL (BLAS_INFO={p['torch_blas_info']}), no OpenBLAS core"
    if p["cores_numpy"] and blas in ("open", "openblas", "generic", "blas"):
        return p["cores_numpy"][0], (
            f"the OpenBLAS NumPy loaded, which PyTorch shares (BLAS_INFO={p['torch_blas_info']})"
        )
    if blas not in ("", "mkl") and len(tpc) == 1 and tpc[0].get("architecture"):
        return tpc[0]["architecture"], "threadpoolctl"
    return None, (
        f"no Core: line for PyTorch's BLAS (BLAS_INFO={p.get('torch_blas_info') or 'not shown'})"
    )


def choose_core(side, flags, clock):
    """(worker environment, record) for one side: the environment with OPENBLAS_CORETYPE set
    when the core the library loads by itself is weaker than the CPU supports."""
    env = worker_env()
    record = {"core": None, "how": "unknown", "detected": None, "detected_by": None, "gflops": {},
              "forced": None, "reason": ""}
    first = run_probe(side, env, clock)
    if "failed" in first:
        record["reason"] = f"no probe ({first['failed']}); not forcing anything"
        return env, record
    detected, by = attribute_core(side, first)
    record.update(detected=detected, detected_by=by)
    if detected is None:
        record["reason"] = f"{by}; not forcing anything"
        return env, record
    record["gflops"][detected] = first["gflops"]
    level, want = CORE_LEVELS.get(detected.lower()), cpu_level(flags)
    record.update(core=detected, how="detected")
    if not first["correct"]:
        record["wrong_products"] = [detected]
    if level is None:
        record["reason"] = f"{by}; {detected} is a core name this script does not rank: kept"
        return env, record
    if level >= want and first["correct"]:
        gflops = first["gflops"] or float("nan")
        record["reason"] = (
            f"{by}; as good as this CPU's best ({LEVEL_NAMES[want]}); "
            f"{PROBE_N}^3 SGEMM {gflops:.1f} GFLOP/s per {clock} second"
        )
        return env, record

    why = (f"{detected} computes wrong products" if not first["correct"] else
           f"{detected} ({LEVEL_NAMES[level]}) is weaker than this CPU's {LEVEL_NAMES[want]}")
    usable = {}
    for cand in core_candidates(flags):
        if cand.lower() == detected.lower():
            continue
        p = run_probe(side, env, clock, cand)
        if "failed" in p:
            record.setdefault("rejected", {})[cand] = p["failed"]
            continue
        got, _ = attribute_core(side, p)
        if p.get("coretype_refused"):
            record.setdefault("rejected", {})[cand] = "this OpenBLAS does not know the name"
            continue
        if got is None or got.lower() != cand.lower():
            record.setdefault("rejected", {})[cand] = f"this OpenBLAS ran {got} instead"
            continue
        record["gflops"][cand] = p["gflops"]
        if not p["correct"]:
            record.setdefault("wrong_products", []).append(cand)
            continue
        usable[cand] = p["gflops"]
    if first["correct"]:
        usable[detected] = first["gflops"]
    measured = ", ".join(f"{c} {g:.1f}" for c, g in record["gflops"].items() if g is not None)
    rates = f"{PROBE_N}^3 SGEMM GFLOP/s per {clock} second: {measured}" + "".join(
        f"; {c} rejected: {reason}" for c, reason in record.get("rejected", {}).items()
    )
    if not usable:
        original = {k: os.environ[k] for k in REMOVED_VARS if k in os.environ}
        env.update(original)
        record.update(core=original.get("OPENBLAS_CORETYPE"), how="environment")
        record["reason"] = (f"{why}, and no candidate computes right products: the workers keep "
                            f"this environment's {original or 'defaults'} ({rates})")
        return env, record
    best = max(usable, key=lambda c: usable[c] or 0.0)
    if best.lower() == detected.lower():
        record["reason"] = f"{why}, but it is faster than the candidates: kept ({rates})"
        return env, record
    env["OPENBLAS_CORETYPE"] = best
    record.update(core=best, how="forced", forced=best)
    record["reason"] = f"{why}: OPENBLAS_CORETYPE={best} ({rates})"
    return env, record


# ------------------------------------------------------------------------------------------------
# initbench's side and the report.
# ------------------------------------------------------------------------------------------------


def time_initbench(binary, name, seconds):
    """(steps per wall second, steps per CPU second) of bench_compare's benchmark for one
    workload, from Google Benchmark's JSON."""
    env = dict(os.environ)
    env.update(ONE_THREAD)
    m = SWEEP_RE.match(name)
    if m:
        env["INITBENCH_COMPARE_SWEEP"] = ":".join(m.groups())
    out = subprocess.run(
        [
            binary,
            f"--benchmark_filter=^compare/{name}$",
            f"--benchmark_min_time={seconds}",
            "--benchmark_format=json",
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    if out.returncode != 0:
        tail = (out.stderr.strip().splitlines() or ["no message"])[-1]
        raise RuntimeError(f"{binary} exited with {out.returncode} on compare/{name}: {tail}")
    try:
        benchmarks = json.loads(out.stdout).get("benchmarks", [])
    except ValueError:  # Google Benchmark prints no JSON when the filter matches nothing
        benchmarks = []
    if not benchmarks:
        raise RuntimeError(
            f"{binary} has no benchmark compare/{name} "
            "(an older build? rebuild it with `make bench`)"
        )
    result = benchmarks[0]
    if result.get("error_occurred"):
        raise RuntimeError(f"compare/{name}: {result.get('error_message')}")
    unit = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[result["time_unit"]]
    return rate(1.0, result["real_time"] * unit), rate(1.0, result["cpu_time"] * unit)


def torch_available():
    try:
        import torch  # noqa: F401

        return True
    except ImportError:
        return False


def initbench_version(binary):
    """(version, where it was read): the first line of initbench --version (the repository's
    build/, then the build the binary is in), else CMakeLists.txt's project VERSION."""
    build_bin = os.path.normpath(os.path.join(os.path.dirname(binary), "..", "src", "initbench"))
    for exe in dict.fromkeys([os.path.join(REPO, "build", "src", "initbench"), build_bin]):
        if not os.access(exe, os.X_OK):
            continue
        try:
            out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            continue
        lines = out.stdout.strip().splitlines()
        if out.returncode == 0 and lines:
            m = re.search(r"\d+\.\d+[0-9A-Za-z.+-]*", lines[0])  # 'initbench 0.1.0' -> 0.1.0
            where = f"first line of {os.path.relpath(exe, REPO)} --version: '{lines[0].strip()}'"
            return (m.group(0) if m else lines[0].strip()), where
    try:
        with open(os.path.join(REPO, "CMakeLists.txt")) as f:
            m = re.search(r"project\(\s*initbench\s+VERSION\s+([0-9][0-9A-Za-z.]*)", f.read())
        if m:
            return m.group(1), "CMakeLists.txt project VERSION (no initbench binary built)"
    except OSError:
        pass
    return None, "unknown (no initbench binary, no VERSION in CMakeLists.txt)"


def print_load(when):
    try:
        load = os.getloadavg()
        print(f"compare.py: load average {when}: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    except OSError:
        pass


def int_list(text):
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a comma-separated list of integers")
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"'{text}': want positive integers")
    return values


def sweep_shapes(widths, depths, batches):
    """(names to measure, skipped [(name, reason)])."""
    names, skipped = [], []
    for width in widths:
        for depth in depths:
            for batch in batches:
                name = sweep_name(width, depth, batch)
                sizes, _, _, _ = workload_spec(name)
                flops = flops_per_step(sizes, batch)
                param_bytes = SWEEP_COPIES * 4 * param_count(sizes)
                why = []
                if flops > SWEEP_MAX_FLOP:
                    why.append(f"{flops / 1e9:.1f} GFLOP per step > {SWEEP_MAX_FLOP / 1e9:.0f}")
                if param_bytes > SWEEP_MAX_PARAM_BYTES:
                    why.append(f"parameters {param_bytes / 1e9:.2f} GB for {SWEEP_COPIES} copies "
                               f"> {SWEEP_MAX_PARAM_BYTES / 1e9:.0f} GB")
                if why:
                    skipped.append((name, "; ".join(why)))
                else:
                    names.append(name)
    return names, skipped


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--binary",
        default=DEFAULT_BINARY,
        help="bench_compare (default: build/bench/bench_compare in the repository, as `make bench` "
        "builds it)",
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=0.5, help="per measurement")
    parser.add_argument("--workloads", help=f"comma-separated, default {','.join(WORKLOADS)}")
    parser.add_argument("--sweep", action="store_true", help="measure the MLP shape sweep instead")
    parser.add_argument("--sweep-widths", type=int_list, default=list(SWEEP_WIDTHS))
    parser.add_argument("--sweep-depths", type=int_list, default=list(SWEEP_DEPTHS),
                        help="hidden layers")
    parser.add_argument("--sweep-batches", type=int_list, default=list(SWEEP_BATCHES))
    parser.add_argument(
        "--clock",
        choices=["cpu", "wall"],
        default="cpu",
        help="rates per CPU second of the measuring thread (default: robust when other processes "
        "share the cores) or per wall-clock second",
    )
    parser.add_argument("--json", help="also write every measurement here")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--probe", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker)
        return 0
    if args.probe:
        probe(args.probe, PROBE_N, PROBE_SECONDS, args.clock)
        return 0
    if args.rounds < 1 or args.seconds <= 0:
        parser.error("--rounds must be at least 1 and --seconds positive")

    if args.sweep:
        if args.workloads:
            parser.error("--workloads and --sweep measure different things: give one")
        names, skipped = sweep_shapes(args.sweep_widths, args.sweep_depths, args.sweep_batches)
    else:
        names, skipped = (args.workloads or ",".join(WORKLOADS)).split(","), []
        for name in names:
            if name not in WORKLOADS:
                parser.error(f"unknown workload '{name}'; allowed: {', '.join(WORKLOADS)}")
    binary = os.path.abspath(args.binary)
    if not os.access(binary, os.X_OK):
        sys.exit(f"compare.py: {binary} not found: build it with `make bench`")

    model, flags = cpu_info()
    version, version_from = initbench_version(binary)
    print(f"compare.py: CPU {model or 'unknown'} ({LEVEL_NAMES[cpu_level(flags)]}); "
          f"initbench {version or 'unknown'} (from {version_from})")
    print(
        "compare.py: one thread per side "
        "(OPENBLAS/OMP/MKL_NUM_THREADS=1, torch.set_num_threads(1))"
    )
    were = ", ".join(f"{v}={os.environ.get(v, '<unset>')}" for v in REMOVED_VARS)
    print(
        "compare.py: NumPy and PyTorch start with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset "
        f"(here: {were}); a core weaker than this CPU supports is replaced"
    )
    side_names = ["numpy"] + (["pytorch"] if torch_available() else [])
    if "pytorch" not in side_names:
        print("compare.py: PyTorch not installed (apt-get install python3-torch): skipping it")
    blas, sides = {}, {}
    for side in side_names:
        env, blas[side] = choose_core(side, flags, args.clock)
        rec = blas[side]
        core = rec["core"] or "unknown"
        print(f"compare.py: {side} BLAS core: {core} ({rec['how']}: {rec['reason']})")
        sides[side] = Worker(side, env)
    info = {side: json.loads(w.ask("info")) for side, w in sides.items()}
    print(f"compare.py: versions {info}")
    print(f"compare.py: clock: {args.clock} time")
    if skipped:
        print(
            f"compare.py: skipping {len(skipped)} sweep shape(s) whose step exceeds "
            f"{SWEEP_MAX_FLOP / 1e9:.0f} GFLOP or whose float32 parameters exceed "
            f"{SWEEP_MAX_PARAM_BYTES / 1e9:.0f} GB across the {SWEEP_COPIES} sides' copies "
            "(listed at the end)"
        )
    print_load("before")

    clock = 1 if args.clock == "cpu" else 0
    rates = {name: {side: [] for side in ["initbench", *sides]} for name in names}
    sgemm = {side: [] for side in sides}
    try:
        for r in range(args.rounds):
            if not args.sweep:
                for side, w in sides.items():
                    sgemm[side].append(float(w.ask("sgemm").split()[clock]))
            for name in names:
                rates[name]["initbench"].append(time_initbench(binary, name, args.seconds)[clock])
                for side, w in sides.items():
                    steps, wall, cpu = w.ask(f"time {name} {args.seconds}").split()
                    rates[name][side].append(rate(int(steps), float(cpu if clock else wall)))
            print(f"compare.py: round {r + 1}/{args.rounds} done", file=sys.stderr)
    except RuntimeError as e:
        sys.exit(f"compare.py: {e}")
    finally:
        for w in sides.values():
            w.close()

    med = {name: {side: statistics.median(v) for side, v in d.items()} for name, d in rates.items()}
    result = {
        "mode": "sweep" if args.sweep else "workloads",
        "clock": args.clock,
        "rounds": args.rounds,
        "seconds": args.seconds,
        "initbench_version": version,
        "initbench_version_from": version_from,
        "cpu_model": model,
        "cpu_class": LEVEL_NAMES[cpu_level(flags)],
        "blas": blas,
        "versions": info,
        "rates": rates,
        "medians": med,
    }
    print(f"\nmedians of {args.rounds} interleaved round(s) of {args.seconds} s per side and shape")
    print(
        "BLAS cores: "
        + ", ".join(f"{s} {r['core'] or 'unknown'} ({r['how']})" for s, r in blas.items())
    )
    if args.sweep:
        report_sweep(names, skipped, med, result)
    else:
        report_workloads(names, med, sgemm, result)
    print()
    print_load("after")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(finite(result), f, indent=1, allow_nan=False)
    return 0


def report_workloads(names, med, sgemm, result):
    sgemm_med = {side: statistics.median(v) for side, v in sgemm.items()}
    peak_side = max(sgemm_med, key=lambda s: sgemm_med[s] if math.isfinite(sgemm_med[s]) else 0)
    peak = sgemm_med[peak_side]
    print(
        "single-core SGEMM 2048^3: "
        + ", ".join(f"{s} {v:.1f} GFLOP/s" for s, v in sgemm_med.items())
        + f" -> peak {peak:.1f} GFLOP/s ({peak_side})\n"
    )
    width = max(8, *(len(n) for n in names))
    header = (
        f"{'workload':{width}} {'side':10} {'steps/s':>10} {'ms/step':>9} {'GFLOP/s':>8} "
        f"{'of peak':>8} {'initbench x':>12}"
    )
    print(header)
    print("-" * len(header))
    verdicts, targets = [], []
    for name in names:
        sizes, _, batch, _ = WORKLOADS[name]
        flops = flops_per_step(sizes, batch)
        ours = med[name]["initbench"]
        for side, r in med[name].items():
            gflops = r * flops / 1e9
            ratio = "" if side == "initbench" else f"{ours / r:.2f}"
            print(
                f"{name:{width}} {side:10} {r:10.1f} {1e3 / r:9.3f} {gflops:8.2f} "
                f"{gflops / peak:8.1%} {ratio:>12}"
            )
        for side, need in TARGETS[name].items():
            if side == "best":
                others = [v for s, v in med[name].items() if s != "initbench"]
                got = ours / max(others)
                what = "x the faster of NumPy/PyTorch" if len(others) > 1 else "x NumPy (only peer)"
            elif side in med[name]:
                got = ours / med[name][side]
                what = f"x {side}"
            else:
                verdicts.append(f"{name}: {side} not measured")
                targets.append(
                    {"workload": name, "versus": side, "target": need, "got": None, "met": None}
                )
                continue
            met = got >= need
            verdicts.append(
                f"{name}: {got:.2f} {what} (target {need}): {'met' if met else 'NOT met'}"
            )
            targets.append(
                {"workload": name, "versus": side, "target": need, "got": got, "met": met}
            )
    print("\ntargets:")
    for v in verdicts:
        print(f"  {v}")
    result.update(
        sgemm=sgemm, sgemm_medians=sgemm_med, peak=peak, peak_side=peak_side, targets=targets
    )


def report_sweep(names, skipped, med, result):
    print()
    header = (
        f"{'width':>6} {'depth':>5} {'batch':>5} {'GFLOP/step':>10} {'initbench':>11} {'peer':>8} "
        f"{'peer steps/s':>12} {'ratio':>7}"
    )
    print(header)
    print("-" * len(header))
    rows = []
    for name in names:
        width, depth, batch = (int(g) for g in SWEEP_RE.match(name).groups())
        sizes, _, _, _ = workload_spec(name)
        peers = {s: v for s, v in med[name].items() if s != "initbench" and math.isfinite(v)}
        peer = max(peers, key=peers.get) if peers else None
        ours = med[name]["initbench"]
        ratio = ours / peers[peer] if peer else float("nan")
        rows.append({"name": name, "width": width, "depth": depth, "batch": batch,
                     "gflop": flops_per_step(sizes, batch) / 1e9, "initbench": ours, "peer": peer,
                     "peer_steps_per_s": peers.get(peer), "ratio": ratio})
        print(
            f"{width:6} {depth:5} {batch:5} {rows[-1]['gflop']:10.3g} {ours:11.1f} "
            f"{peer or '-':>8} "
            f"{peers.get(peer, float('nan')):12.1f} {ratio:7.2f}"
        )
    measured = [r for r in rows if math.isfinite(r["ratio"])]
    below = [r for r in measured if r["ratio"] < 1.0]
    if measured:
        low = min(measured, key=lambda r: r["ratio"])
        print(f"\nminimum ratio: {low['ratio']:.2f} ({low['name']}, against {low['peer']})")
    else:
        low = None
        print("\nminimum ratio: none measured")
    print(f"shapes below 1.0x: {len(below)} of {len(measured)}")
    for r in below:
        print(f"  {r['name']}: {r['ratio']:.2f} against {r['peer']}")
    if skipped:
        print(
            f"skipped {len(skipped)} shape(s) (step > {SWEEP_MAX_FLOP / 1e9:.0f} GFLOP, or "
            f"float32 parameters > {SWEEP_MAX_PARAM_BYTES / 1e9:.0f} GB across the "
            f"{SWEEP_COPIES} sides' copies):"
        )
        for name, why in skipped:
            print(f"  {name}: {why}")
    result["sweep"] = {
        "shapes": rows,
        "min_ratio": low["ratio"] if low else None,
        "min_ratio_shape": low["name"] if low else None,
        "below_1": [r["name"] for r in below],
        "skipped": [{"name": n, "reason": why} for n, why in skipped],
        "limits": {"max_gflop_per_step": SWEEP_MAX_FLOP / 1e9,
                   "max_param_bytes_all_copies": SWEEP_MAX_PARAM_BYTES, "copies": SWEEP_COPIES},
    }


if __name__ == "__main__":
    sys.exit(main())
