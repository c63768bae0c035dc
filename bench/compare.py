#!/usr/bin/python3
"""compare.py: initbench against NumPy and PyTorch on the same training workloads, one thread each.

Trains the same networks (same shapes, same batch, plain SGD, no probes, float32) three ways:
  - NumPy, in the course's style: explicit forward and backward with arrays, samples as columns;
  - PyTorch CPU: nn.Sequential of nn.Linear, its loss, torch.optim.SGD (skipped when absent);
  - initbench: the bench_compare binary (bench/bench_compare.cpp), Mlp<float> + train_step;
and prints steps per second for each and initbench's ratio over each. Also measures the machine's
single-core SGEMM rate with the best BLAS available (NumPy's and PyTorch's 2048^3 products) and
the FLOP rate each side reaches on the large workloads as a fraction of it.

Every side runs on one thread: OPENBLAS_NUM_THREADS / OMP_NUM_THREADS / MKL_NUM_THREADS = 1 and
torch.set_num_threads(1). The NumPy and PyTorch workers run with OPENBLAS_CORETYPE and
OPENBLAS_L2_SIZE removed from their environment, so that OpenBLAS picks its best kernels for this
CPU (the parent's environment, tests and CI are untouched). The machine is shared and noisy:
sides are measured in interleaved rounds and the median of the rounds is reported.

  /usr/bin/python3 bench/compare.py [--binary build-bench/bench/bench_compare] [--rounds 5]
                                    [--seconds 0.5] [--workloads course,deep,glorot,wide]
                                    [--json out.json]
"""

import argparse
import json
import os
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
}
TARGETS = {  # minimum initbench / other ratios from issue 7
    "course": {"pytorch": 8.0, "numpy": 5.0},
    "deep": {"pytorch": 4.0, "numpy": 3.0},
    "glorot": {"best": 1.0, "peak": 0.75},
    "wide": {"best": 1.0, "peak": 0.75},
}
LR = 0.01
SEED = 1
REMOVED_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
ONE_THREAD = {
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "GOTO_NUM_THREADS": "1",
}


def flops_per_step(sizes, batch):
    """Multiply-adds x 2 of the three products per layer (forward, dW, dA), none for dA of the
    input layer."""
    total = 0
    for l in range(1, len(sizes)):
        products = 3 if l > 1 else 2
        total += products * 2 * sizes[l] * sizes[l - 1] * batch
    return total


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
    """The course's style: explicit arrays, a cache per layer, forward then backward."""

    def __init__(self, np, name):
        sizes, self.activation, batch, self.output = WORKLOADS[name]
        self.np = np
        self.X, self.Y = make_data(np, sizes, batch, self.output)
        self.params = [[W, b] for W, b in init_params(np, sizes, self.activation)]

    def step(self):
        np = self.np
        L = len(self.params)
        m = self.X.shape[1]
        A = self.X
        caches = []
        for l, (W, b) in enumerate(self.params, start=1):
            Z = W @ A + b
            caches.append((A, Z))
            if l < L:
                A = np.maximum(Z, 0) if self.activation == "relu" else np.tanh(Z)
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
        grads = [None] * L
        for l in range(L, 0, -1):
            A_prev, Z = caches[l - 1]
            W, b = self.params[l - 1]
            dW = dZ @ A_prev.T
            db = np.sum(dZ, axis=1, keepdims=True)
            grads[l - 1] = (dW, db)
            if l > 1:
                dA = W.T @ dZ
                Z_prev = caches[l - 2][1]
                if self.activation == "relu":
                    dZ = dA * (Z_prev > 0)
                else:
                    A_act = caches[l - 1][0]  # tanh(Z_prev)
                    dZ = dA * (1 - A_act * A_act)
        for p, (dW, db) in zip(self.params, grads):
            p[0] -= LR * dW
            p[1] -= LR * db
        return float(cost)


class TorchNet:
    def __init__(self, torch, np, name):
        sizes, activation, batch, output = WORKLOADS[name]
        layers = []
        inits = init_params(np, sizes, activation)
        for l in range(1, len(sizes)):
            lin = torch.nn.Linear(sizes[l - 1], sizes[l])
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(inits[l - 1][0]))
                lin.bias.zero_()
            layers.append(lin)
            if l < len(sizes) - 1:
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
        best_wall = max(best_wall, flops / (time.perf_counter() - start))
        best_cpu = max(best_cpu, flops / (time.thread_time() - cpu_start))
    return best_wall, best_cpu


def worker(side):
    """Line protocol on stdin/stdout: 'time WORKLOAD SECONDS' -> 'STEPS WALL_S CPU_S';
    'sgemm' -> 'WALL_GFLOPS CPU_GFLOPS'; 'info' -> one line of JSON."""
    import numpy as np

    torch = None
    if side == "pytorch":
        import torch

        torch.set_num_threads(1)
        torch.set_grad_enabled(True)
    nets = {}
    for line in sys.stdin:
        cmd = line.split()
        if not cmd:
            continue
        if cmd[0] == "info":
            info = {"numpy": np.__version__}
            if torch is not None:
                info["torch"] = torch.__version__
                info["torch_threads"] = torch.get_num_threads()
            print(json.dumps(info), flush=True)
        elif cmd[0] == "sgemm":
            n = 2048
            if torch is not None:
                a, b = torch.rand(n, n), torch.rand(n, n)
                c = torch.empty(n, n)
                rate = sgemm_rate(lambda: torch.mm(a, b, out=c), n)
            else:
                a = np.random.rand(n, n).astype(np.float32)
                b = np.random.rand(n, n).astype(np.float32)
                c = np.empty((n, n), np.float32)
                rate = sgemm_rate(lambda: np.dot(a, b, out=c), n)
            print(*rate, flush=True)
        elif cmd[0] == "time":
            name, seconds = cmd[1], float(cmd[2])
            if name not in nets:
                nets[name] = TorchNet(torch, np, name) if torch is not None else NumpyNet(np, name)
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
    def __init__(self, side):
        env = {k: v for k, v in os.environ.items() if k not in REMOVED_VARS}
        env.update(ONE_THREAD)
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


def time_initbench(binary, name, seconds):
    """(steps per wall second, steps per CPU second) of bench_compare's benchmark for one
    workload, from Google Benchmark's JSON."""
    env = dict(os.environ)
    env.update(ONE_THREAD)
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
        check=True,
    )
    result = json.loads(out.stdout)["benchmarks"][0]
    unit = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[result["time_unit"]]
    return 1.0 / (result["real_time"] * unit), 1.0 / (result["cpu_time"] * unit)


def torch_available():
    try:
        import torch  # noqa: F401

        return True
    except ImportError:
        return False


def print_load(when):
    try:
        load = os.getloadavg()
        print(f"compare.py: load average {when}: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    except OSError:
        pass


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    parser.add_argument(
        "--binary", default=os.path.join(here, "..", "build-bench", "bench", "bench_compare")
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=0.5, help="per measurement")
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument(
        "--clock",
        choices=["cpu", "wall"],
        default="cpu",
        help="rates per CPU second of the measuring thread (default: robust when other processes "
        "share the cores) or per wall-clock second",
    )
    parser.add_argument("--json", help="also write every measurement here")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker)
        return 0

    names = args.workloads.split(",")
    for name in names:
        if name not in WORKLOADS:
            parser.error(f"unknown workload '{name}'; allowed: {', '.join(WORKLOADS)}")
    if not os.access(args.binary, os.X_OK):
        parser.error(f"{args.binary} not found: build it (cmake --build build-bench -j2)")

    print("compare.py: one thread per side (OPENBLAS/OMP/MKL_NUM_THREADS=1, torch.set_num_threads(1))")
    were = ", ".join(f"{v}={os.environ.get(v, '<unset>')}" for v in REMOVED_VARS)
    print(
        "compare.py: NumPy and PyTorch run with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset "
        f"(here: {were}), so OpenBLAS uses its best kernels for this CPU"
    )
    sides = {"numpy": Worker("numpy")}
    if torch_available():
        sides["pytorch"] = Worker("pytorch")
    else:
        print("compare.py: PyTorch not installed (apt-get install python3-torch): skipping it")
    info = {side: json.loads(w.ask("info")) for side, w in sides.items()}
    print(f"compare.py: versions {info}")
    print(f"compare.py: clock: {args.clock} time")
    print_load("before")

    clock = 1 if args.clock == "cpu" else 0
    rates = {name: {side: [] for side in ["initbench", *sides]} for name in names}
    sgemm = {side: [] for side in sides}
    for r in range(args.rounds):
        for side, w in sides.items():
            sgemm[side].append(float(w.ask("sgemm").split()[clock]))
        for name in names:
            rates[name]["initbench"].append(time_initbench(args.binary, name, args.seconds)[clock])
            for side, w in sides.items():
                steps, wall, cpu = w.ask(f"time {name} {args.seconds}").split()
                rates[name][side].append(int(steps) / float(cpu if clock else wall))
        print(f"compare.py: round {r + 1}/{args.rounds} done", file=sys.stderr)
    for w in sides.values():
        w.close()

    med = {name: {side: statistics.median(v) for side, v in d.items()} for name, d in rates.items()}
    sgemm_med = {side: statistics.median(v) for side, v in sgemm.items()}
    peak_side = max(sgemm_med, key=sgemm_med.get)
    peak = sgemm_med[peak_side]
    print(
        "\nsingle-core SGEMM 2048^3: "
        + ", ".join(f"{s} {v:.1f} GFLOP/s" for s, v in sgemm_med.items())
        + f" -> peak {peak:.1f} GFLOP/s ({peak_side})"
    )
    print(f"medians of {args.rounds} interleaved rounds of {args.seconds} s per side and workload\n")
    header = (
        f"{'workload':8} {'side':10} {'steps/s':>10} {'ms/step':>9} {'GFLOP/s':>8} "
        f"{'of peak':>8} {'initbench x':>12}"
    )
    print(header)
    print("-" * len(header))
    verdicts = []
    for name in names:
        sizes, _, batch, _ = WORKLOADS[name]
        flops = flops_per_step(sizes, batch)
        ours = med[name]["initbench"]
        for side, rate in med[name].items():
            gflops = rate * flops / 1e9
            ratio = "" if side == "initbench" else f"{ours / rate:.2f}"
            print(
                f"{name:8} {side:10} {rate:10.1f} {1e3 / rate:9.3f} {gflops:8.2f} "
                f"{gflops / peak:8.1%} {ratio:>12}"
            )
        for side, need in TARGETS[name].items():
            if side == "best":
                others = [v for s, v in med[name].items() if s != "initbench"]
                got = ours / max(others)
                what = "x the faster of NumPy/PyTorch"
            elif side == "peak":
                got = ours * flops / 1e9 / peak
                what = "of single-core SGEMM peak"
            elif side in med[name]:
                got = ours / med[name][side]
                what = f"x {side}"
            else:
                verdicts.append(f"{name}: {side} not measured")
                continue
            verdicts.append(f"{name}: {got:.2f} {what} (target {need}): {'met' if got >= need else 'NOT met'}")
    print("\ntargets (issue 7):")
    for v in verdicts:
        print(f"  {v}")
    print()
    print_load("after")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {"clock": args.clock, "rates": rates, "medians": med, "sgemm": sgemm, "peak": peak},
                f,
                indent=1,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
