#!/usr/bin/env python3
"""gemm_table.py: the ratio table of bench_gemm's JSON output (initbench / OpenBLAS, same shape).

    build/bench/bench_gemm --benchmark_format=json --benchmark_out=gemm.json [--benchmark_filter=...]
    python3 bench/gemm_table.py gemm.json [--markdown]

For every shape measured by both implementations: both rates (GFLOP/s; the median when the run
had --benchmark_repetitions) and their ratio; then, per type, the smallest ratio over the square
shapes 256-4096 and over every shape (square or layer) whose dimensions are all at most 128. Only
the standard library: runs on any Python 3.
"""
import argparse
import collections
import json
import re
import sys


def rates(path):
    with open(path) as f:
        data = json.load(f)
    runs = collections.defaultdict(list)
    for b in data["benchmarks"]:
        if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
            continue
        name = b.get("run_name", b["name"])
        if "flops" in b:
            runs[name].append(b["flops"])
    out = {}
    for name, values in runs.items():
        values.sort()
        out[name] = values[len(values) // 2]
    return data.get("context", {}), out


def dims(name):
    """(m, n, k) of a benchmark name."""
    m = re.search(r"size:(\d+)", name)
    if m:
        s = int(m.group(1))
        return s, s, s
    w = int(re.search(r"width:(\d+)", name).group(1))
    b = int(re.search(r"batch:(\d+)", name).group(1))
    ops = name.split("/")[3]
    return (w, w, b) if ops == "NT" else (w, b, w)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("json")
    parser.add_argument("--markdown", action="store_true", help="a Markdown table")
    args = parser.parse_args()
    context, r = rates(args.json)
    pairs = []
    for name, ours in sorted(r.items()):
        if not name.endswith("/initbench"):
            continue
        base = name[: -len("/initbench")]
        theirs = r.get(base + "/openblas")
        if theirs:
            pairs.append((base, ours / 1e9, theirs / 1e9, ours / theirs))
    if not pairs:
        sys.exit("gemm_table.py: no shape measured by both initbench and openblas")
    print(f"initbench ISA: {context.get('initbench_isa', '?')}; "
          f"OpenBLAS core: {context.get('openblas_core', '?')}; "
          f"CPU: {context.get('host_name', '?')}, {context.get('num_cpus', '?')} cpus, "
          f"{context.get('mhz_per_cpu', '?')} MHz")
    if args.markdown:
        print("| shape | initbench GFLOP/s | OpenBLAS GFLOP/s | ratio |\n| --- | ---: | ---: | ---: |")
        for base, ours, theirs, ratio in pairs:
            print(f"| {base} | {ours:.1f} | {theirs:.1f} | {ratio:.2f} |")
    else:
        for base, ours, theirs, ratio in pairs:
            print(f"{base:55s} {ours:8.1f} {theirs:8.1f} {ratio:6.2f}")
    for t in ("float", "double"):
        big = [p for p in pairs if f"/{t}/" in p[0] and "/square/" in p[0]
               and 256 <= dims(p[0])[0] <= 4096]
        small = [p for p in pairs if f"/{t}/" in p[0] and max(dims(p[0])) <= 128]
        for label, group in (("square 256-4096", big), ("all dimensions <= 128", small)):
            if group:
                worst = min(group, key=lambda p: p[3])
                print(f"{t} {label}: smallest ratio {worst[3]:.2f} ({worst[0]}), "
                      f"median {sorted(p[3] for p in group)[len(group) // 2]:.2f}, {len(group)} shapes")


if __name__ == "__main__":
    main()
