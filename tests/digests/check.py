#!/usr/bin/python3
"""check.py: golden digests. The same specs must give the same bytes on every CPU, under every
instruction set, with any thread count and any cache blocking.

    check.py INITBENCH [--isa avx512|avx2|scalar] [--blocking KC,MC,NC[,DIRECT]] [--threads N]
    check.py INITBENCH --update      # after an intended change of the numbers: rewrite the table

Runs the specs of this folder (tests/digests/*.toml) with `initbench run`, computes the SHA-256
of every CSV file they write (timings.csv, which holds clock readings, excepted) and compares it
with the committed table digests.sha256. A mismatch names the file, the first differing line,
its run (with the run's settings from runs.csv) and both versions of the line, from the
reference copies in reference/ (gzipped). --isa sets INITBENCH_ISA (exit 77, "skipped", when the
CPU lacks it); --blocking sets INITBENCH_GEMM_BLOCKING. Standard library only.
"""

import argparse
import csv
import gzip
import hashlib
import io
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TABLE = os.path.join(HERE, "digests.sha256")
REFERENCE = os.path.join(HERE, "reference")
SKIP = 77


def specs():
    return sorted(os.path.join(HERE, f) for f in os.listdir(HERE) if f.endswith(".toml"))


def supported_isas(initbench):
    """The instruction sets this CPU supports, from `initbench --version`."""
    out = subprocess.run([initbench, "--version"], capture_output=True, text=True, check=True)
    for line in out.stdout.splitlines():
        if "this CPU supports:" in line:
            listed = line.split("this CPU supports:", 1)[1].split(";", 1)[0]
            return [s.strip() for s in listed.split(",")]
    sys.exit(f"check.py: cannot read the supported instruction sets from: {out.stdout!r}")


def run(initbench, out, isa, blocking, threads):
    env = dict(os.environ)
    env.pop("INITBENCH_ISA", None)
    env.pop("INITBENCH_GEMM_BLOCKING", None)
    if isa:
        env["INITBENCH_ISA"] = isa
    if blocking:
        env["INITBENCH_GEMM_BLOCKING"] = blocking
    cmd = [initbench, "run", *specs(), "--out", out, "--no-plot", "--threads", str(threads)]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"check.py: `{' '.join(cmd)}` failed ({result.returncode}):\n{result.stderr}")


def outputs(out):
    """{'experiment/file.csv': bytes} for every CSV but timings.csv."""
    files = {}
    for experiment in sorted(os.listdir(out)):
        folder = os.path.join(out, experiment)
        for name in sorted(os.listdir(folder)):
            if name.endswith(".csv") and name != "timings.csv":
                with open(os.path.join(folder, name), "rb") as f:
                    files[f"{experiment}/{name}"] = f.read()
    return files


def read_table():
    table = {}
    with open(TABLE) as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                digest, name = line.split()
                table[name] = digest
    return table


def run_settings(run_id, runs_csv):
    """'run 12 (model.layers=2-64-64-1, train.batch=7, ...)' from a runs.csv text."""
    rows = list(csv.DictReader(io.StringIO(runs_csv)))
    # the seed and the setting columns (one per spec key) that differ between the runs
    varying = [k for k in (rows[0] if rows else {})
               if (k == "seed" or "." in k) and len({r[k] for r in rows}) > 1]
    for row in rows:
        if row.get("run_id") == run_id:
            return f"run {run_id} ({', '.join(f'{k}={row[k]}' for k in varying)})"
    return f"run {run_id}"


def explain(name, actual, files):
    """The first line where a file differs from its reference copy."""
    path = os.path.join(REFERENCE, name + ".gz")
    if not os.path.exists(path):
        return f"{name}: no reference copy ({path})"
    with gzip.open(path, "rb") as f:
        expected = f.read()
    want, got = expected.decode().splitlines(), actual.decode().splitlines()
    header = got[0].split(",") if got else []
    for i in range(max(len(want), len(got))):
        a = want[i] if i < len(want) else "<end of file>"
        b = got[i] if i < len(got) else "<end of file>"
        if a != b:
            where = f"line {i + 1}"
            if i > 0 and header and header[0] == "run_id":
                run_id = (b if b != "<end of file>" else a).split(",", 1)[0]
                runs = files.get(name.split("/")[0] + "/runs.csv", b"").decode()
                where += f", {run_settings(run_id, runs)}"
            return f"{name}: first difference at {where}\n  expected: {a}\n  got:      {b}"
    return f"{name}: same lines, different bytes (line endings?)"


def update(files):
    os.makedirs(REFERENCE, exist_ok=True)
    with open(TABLE, "w") as f:
        f.write("# SHA-256 of every CSV the specs of tests/digests/ write (tests/digests/check.py)\n")
        for name, data in sorted(files.items()):
            f.write(f"{hashlib.sha256(data).hexdigest()}  {name}\n")
            target = os.path.join(REFERENCE, name + ".gz")
            os.makedirs(os.path.dirname(target), exist_ok=True)
            # mtime=0: the same bytes give the same .gz
            with open(target, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0,
                                                          filename="") as gz:
                gz.write(data)
    stale = [os.path.join(root, f) for root, _, names in os.walk(REFERENCE) for f in names
             if os.path.relpath(os.path.join(root, f), REFERENCE)[:-3] not in files]
    for path in stale:
        os.remove(path)
    print(f"check.py: wrote {TABLE} and {len(files)} reference files, removed {len(stale)} stale")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("initbench")
    parser.add_argument("--isa", choices=["avx512", "avx2", "scalar"])
    parser.add_argument("--blocking", help="INITBENCH_GEMM_BLOCKING for the run")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--update", action="store_true", help="rewrite the table and references")
    args = parser.parse_args()
    if args.isa and args.isa not in supported_isas(args.initbench):
        print(f"SKIP: this CPU does not support {args.isa}")
        return SKIP
    with tempfile.TemporaryDirectory() as out:
        run(args.initbench, out, args.isa, args.blocking, args.threads)
        files = outputs(out)
    if args.update:
        update(files)
        return 0
    table = read_table()
    problems = []
    for name in sorted(set(table) | set(files)):
        if name not in files:
            problems.append(f"{name}: in digests.sha256 but not written")
        elif name not in table:
            problems.append(f"{name}: written but not in digests.sha256 (run check.py --update?)")
        elif hashlib.sha256(files[name]).hexdigest() != table[name]:
            problems.append(explain(name, files[name], files))
    label = f"INITBENCH_ISA={args.isa or 'default'}" + (
        f", INITBENCH_GEMM_BLOCKING={args.blocking}" if args.blocking else "")
    if problems:
        print(f"check.py: {len(problems)} of {len(table)} files differ ({label}):")
        for p in problems:
            print(p)
        return 1
    print(f"check.py: all {len(files)} files match their digests ({label})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
