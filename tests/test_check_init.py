#!/usr/bin/python3
"""ctest: weights written by NumPy, read by `initbench check-init` and by the npy(path) scheme.

Usage: /usr/bin/python3 tests/test_check_init.py INITBENCH

check-init on folders that mimic known cases: PyTorch's nn.Linear default (glorot_standard, a
uniform), a normal truncated at 2 sd without Keras' 0.8796 correction (variance ratio 0.774,
truncated at 2.0), Keras' corrected one (ratio 1), orthogonal matrices in float32 (error near
1e-7, and the gain), a Gaussian (error near 1, normal), a sparse one, a Laplace (heavy-tailed);
C and Fortran order, float32 and float64; --csv's columns. Unreadable input: one line on stderr,
a non-zero exit, no CSV file. The npy scheme: a spec whose relative path is relative to the spec
file, run from another folder, starts from exactly these weights (dump_weights at step 0), with
zero biases without b<l>.npy, init.bias without them, and `describe` refusing a wrong count,
shape, dtype, a NaN and init.bias beside b<l>.npy before anything runs.
Exits 77 (ctest SKIP_RETURN_CODE) when NumPy is missing.
"""

import csv
import math
import os
import subprocess
import sys
import tempfile

SKIP = 77
FAILURES = []


def check(condition, message):
    if not condition:
        FAILURES.append(message)
        print(f"FAIL: {message}")


def run(args, cwd=None):
    return subprocess.run(args, capture_output=True, text=True, timeout=300, cwd=cwd)


def save(folder, arrays, fortran=False):
    import numpy as np
    os.makedirs(folder, exist_ok=True)
    for name, a in arrays.items():
        np.save(os.path.join(folder, name + ".npy"), np.asfortranarray(a) if fortran else a)
    return folder


def check_init(binary, folder, *extra):
    """Rows of --csv, as dicts, after checking the table's exit status."""
    out = folder.rstrip("/") + ".csv"
    r = run([binary, "check-init", folder, "--csv", out, *extra])
    check(r.returncode == 0, f"check-init {folder} {extra}: exit {r.returncode}: {r.stderr}")
    if r.returncode != 0:
        return []
    print(r.stdout)
    with open(out, newline="") as f:
        return list(csv.DictReader(f))


def near(x, target, tol):
    return abs(float(x) - target) <= tol


def refused(binary, args, words, what, csv_path=None):
    r = run([binary, *args])
    lines = r.stderr.strip().splitlines()
    check(r.returncode != 0, f"{what}: exit status 0\n{r.stdout}")
    check(len(lines) == 1, f"{what}: expected one line on stderr, got {lines}")
    for w in words:
        check(w in r.stderr, f"{what}: '{w}' not in: {r.stderr.strip()}")
    if csv_path:
        check(not os.path.exists(csv_path), f"{what}: {csv_path} was written")


def truncated(rng, shape, sd, cut):
    """N(0, sd^2) redrawn outside +-cut sd, as Keras' TruncatedNormal and trunc_normal_."""
    import numpy as np
    out = rng.normal(0.0, sd, size=shape)
    bad = np.abs(out) > cut * sd
    while bad.any():
        out[bad] = rng.normal(0.0, sd, size=int(bad.sum()))
        bad = np.abs(out) > cut * sd
    return out


def test_known_cases(binary, tmp):
    import numpy as np
    rng = np.random.default_rng(7)

    # PyTorch's nn.Linear: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases, float32.
    sizes = [300, 256, 128, 10]
    torch = {}
    for l in range(1, len(sizes)):
        a = 1 / math.sqrt(sizes[l - 1])
        torch[f"W{l}"] = rng.uniform(-a, a, (sizes[l], sizes[l - 1])).astype(np.float32)
        torch[f"b{l}"] = rng.uniform(-a, a, sizes[l]).astype(np.float32)
    rows = check_init(binary, save(os.path.join(tmp, "torch"), torch))
    check(len(rows) == 3, f"torch: {len(rows)} rows")
    for r in rows:
        check(r["best_scheme"] == "glorot_standard", f"torch layer {r['layer']}: {r['best_scheme']}")
        check("torch_default" in r["same_variance"].split("+"), f"torch: ties {r['same_variance']}")
        n = int(r["fan_in"]) * int(r["fan_out"])
        check(near(r["best_ratio"], 1.0, 5 * math.sqrt(0.8 / n)), f"torch ratio {r['best_ratio']}")
        check(r["shape"] == "uniform", f"torch layer {r['layer']} shape {r['shape']}")
        check(near(r["excess_kurtosis"], -1.2, 5 * float(r["kurtosis_se"])), "torch kurtosis")
        # a random matrix: ||G / g^2 - I|| / sqrt(k) is about sqrt((k - 1) / n), k <= n the fans
        k, n = sorted((int(r["fan_in"]), int(r["fan_out"])))
        check(near(r["orthogonality_error"], math.sqrt((k - 1) / n), 0.1),
              f"torch orth {r['orthogonality_error']}")
    check(rows[0]["fan_in"] == "300" and rows[0]["fan_out"] == "256", f"fans {rows[0]}")

    # A normal truncated at +-2 sd without the 0.8796 correction, Fortran order: 0.774 of the
    # variance of lecun_normal's N(0, 1/fan_in).
    trunc = {f"W{l}": truncated(rng, (256, 256), 1 / 16, 2.0).astype(np.float32) for l in (1, 2)}
    rows = check_init(binary, save(os.path.join(tmp, "trunc"), trunc, fortran=True),
                      "--scheme", "lecun_normal")
    for r in rows:
        check(r["scheme"] == "lecun_normal", f"trunc scheme {r['scheme']}")
        check(near(r["scheme_ratio"], 0.7737, 0.02), f"trunc ratio {r['scheme_ratio']}")
        check(r["shape"] == "truncated_normal", f"trunc shape {r['shape']}")
        check(near(r["cut"], 2.0, 0.05), f"trunc cut {r['cut']}")
    # Keras' corrected one (variance_scaling, truncated_normal): the ratio is 1, the cut still 2.
    keras = {"W1": truncated(rng, (256, 512), math.sqrt(1 / 512) / 0.87962566103423978, 2.0)}
    rows = check_init(binary, save(os.path.join(tmp, "keras"), keras), "--scheme",
                      "variance_scaling")
    check(near(rows[0]["scheme_ratio"], 1.0, 0.03), f"keras ratio {rows[0]['scheme_ratio']}")
    check(rows[0]["shape"] == "truncated_normal" and near(rows[0]["cut"], 2.0, 0.05),
          f"keras shape {rows[0]['shape']} {rows[0]['cut']}")

    # Orthogonal: Q of a QR (PyTorch's orthogonal_), float32; a wide one with gain 2 (orthonormal
    # rows); and a Gaussian of the same shape, far from orthogonal.
    q, r_ = np.linalg.qr(rng.normal(size=(256, 256)))
    q *= np.sign(np.diag(r_))
    wide, _ = np.linalg.qr(rng.normal(size=(256, 128)))
    ortho = {"W1": q.astype(np.float32), "W2": (2 * wide.T).astype(np.float32),
             "W3": rng.normal(0, 1 / 8, (64, 128))}
    rows = check_init(binary, save(os.path.join(tmp, "ortho"), ortho))
    for r in rows[:2]:
        err = float(r["orthogonality_error"])
        check(1e-8 < err < 1e-6, f"orthogonal layer {r['layer']}: error {err}, expected ~1e-7")
    check(near(rows[0]["gain"], 1.0, 1e-6) and near(rows[1]["gain"], 2.0, 1e-6),
          f"gains {rows[0]['gain']} {rows[1]['gain']}")
    check(rows[0]["best_scheme"] in ("lecun_uniform", "orthogonal") or
          "orthogonal" in rows[0]["same_variance"], f"ortho best {rows[0]['best_scheme']}")
    check(near(rows[2]["orthogonality_error"], math.sqrt(63 / 128), 0.1),
          f"gaussian orth error {rows[2]['orthogonality_error']}")
    check(rows[2]["shape"] == "normal", f"gaussian shape {rows[2]['shape']}")

    # he_normal in float64: normal, he's variance; torch_sparse(0.9)-like zeros; a Laplace.
    he = {"W1": rng.normal(0, math.sqrt(2 / 400), (300, 400))}
    rows = check_init(binary, save(os.path.join(tmp, "he"), he))
    check(rows[0]["best_scheme"] == "he_uniform" and "he_normal" in rows[0]["same_variance"],
          f"he best {rows[0]['best_scheme']} {rows[0]['same_variance']}")
    check(rows[0]["shape"] == "normal", f"he shape {rows[0]['shape']}")
    check(math.isnan(float(rows[0]["cut"])), f"he cut {rows[0]['cut']}")
    sparse = rng.normal(0, 0.01, (200, 300))
    sparse[rng.random((200, 300)) < 0.9] = 0
    laplace = {"W1": sparse, "W2": rng.laplace(0, 0.05, (100, 200))}
    rows = check_init(binary, save(os.path.join(tmp, "other"), laplace))
    check(near(rows[0]["sparsity"], 0.9, 0.01), f"sparsity {rows[0]['sparsity']}")
    check(rows[0]["shape"] == "normal", f"sparse shape {rows[0]['shape']}")
    check(rows[1]["shape"] == "heavy_tailed", f"laplace shape {rows[1]['shape']}")

    # --scheme with parameters, and the table's columns.
    r = run([binary, "check-init", os.path.join(tmp, "he"), "--scheme", "normal(stddev=0.1)"])
    check(r.returncode == 0 and "normal(stddev=0.1)" in r.stdout, f"--scheme table: {r.stdout}")


def test_bad_input(binary, tmp):
    import numpy as np
    rng = np.random.default_rng(3)
    out = os.path.join(tmp, "bad.csv")

    def bad(name, arrays, words, raw=None):
        folder = save(os.path.join(tmp, "bad_" + name), arrays)
        for file, content in (raw or {}).items():
            with open(os.path.join(folder, file), "wb") as f:
                f.write(content)
        refused(binary, ["check-init", folder, "--csv", out], words, f"check-init {name}", out)
        return folder

    refused(binary, ["check-init", os.path.join(tmp, "nowhere"), "--csv", out],
            ["nowhere", "no such folder"], "missing folder", out)
    bad("empty", {}, ["W1.npy"])
    bad("gap", {"W1": np.ones((3, 2)), "W3": np.ones((2, 3))}, ["W3.npy", "W2.npy is missing"])
    bad("stray_bias", {"W1": np.ones((3, 2)), "b2": np.ones(3)}, ["b2.npy", "W2.npy is missing"])
    bad("dtype", {"W1": np.ones((3, 2), dtype=np.int64)}, ["W1.npy", "'<i8'", "float32"])
    bad("half", {"W1": np.ones((3, 2), dtype=np.float16)}, ["W1.npy", "'<f2'"])
    bad("rank", {"W1": np.ones((3, 2, 2))}, ["W1.npy", "(3, 2, 2)", "2-D"])
    bad("chain", {"W1": np.ones((3, 2)), "W2": np.ones((4, 5))}, ["W2.npy", "fan_in 5", "3"])
    w = rng.normal(size=(4, 3))
    w[2, 1] = np.nan
    bad("nan", {"W1": w}, ["W1.npy", "NaN at [2, 1]"])
    bad("inf", {"W1": np.array([[1.0, -np.inf]])}, ["W1.npy", "-inf at [0, 1]"])
    bad("bias_shape", {"W1": np.ones((3, 2)), "b1": np.ones((3, 1))}, ["b1.npy", "(3, 1)", "(3,)"])
    bad("bias_some", {"W1": np.ones((3, 2)), "W2": np.ones((1, 3)), "b1": np.ones(3)},
        ["b2.npy", "every layer's bias or none"])
    bad("garbage", {}, ["W1.npy", "not a readable .npy"], raw={"W1.npy": b"PK\x03\x04 not numpy"})
    bad("short", {}, ["W1.npy", "data size"], raw={"W1.npy": _truncated_npy()})
    fifo = os.path.join(tmp, "bad_fifo")
    os.makedirs(fifo)
    os.mkfifo(os.path.join(fifo, "W1.npy"))  # reading it would block
    refused(binary, ["check-init", fifo, "--csv", out], ["W1.npy", "not a regular file"],
            "check-init fifo", out)
    refused(binary, ["check-init", os.path.join(tmp, "he"), "--scheme", "he_norml"],
            ["he_norml", "he_normal"], "unknown --scheme")


def _truncated_npy():
    import io
    import numpy as np
    buf = io.BytesIO()
    np.save(buf, np.ones((3, 3)))
    return buf.getvalue()[:-8]


SPEC = """\
name = "own_weights"
[data]
kind = "circles"
train = 40
test = 10
[model]
layers = [2, 6, 1]
precision = "double"
[init]
scheme = "npy({path})"
{extra}
[train]
steps = 0
[probes]
dump_weights = [0]
"""


def test_npy_scheme(binary, tmp):
    import numpy as np
    rng = np.random.default_rng(11)
    w1, b1, w2, b2 = (rng.normal(size=s) for s in [(6, 2), (6,), (1, 6), (1,)])
    save(os.path.join(tmp, "own", "full"), {"W1": w1, "b1": b1, "W2": w2, "b2": b2},
         fortran=True)
    save(os.path.join(tmp, "own", "nobias"), {"W1": w1, "W2": w2.astype(np.float32)})
    specs = os.path.join(tmp, "own", "specs")
    os.makedirs(specs)
    outdir = os.path.join(tmp, "own", "out")

    def spec(name, path, extra=""):
        p = os.path.join(specs, name + ".toml")
        with open(p, "w") as f:
            f.write(SPEC.format(path=path, extra=extra).replace("own_weights", name))
        return p

    def dumped(name, what):
        return np.load(os.path.join(outdir, name, "weights", "0", "step0", what + ".npy"))

    # Relative to the spec file (specs/../full), run from the filesystem's root.
    r = run([binary, "run", spec("full", "../full"), "--out", outdir, "--no-plot"], cwd="/")
    check(r.returncode == 0, f"npy run: {r.stderr}")
    if r.returncode == 0:
        for name, a in (("W1", w1), ("b1", b1), ("W2", w2), ("b2", b2)):
            check(np.array_equal(dumped("full", name), a), f"npy run: {name} differs")
        with open(os.path.join(outdir, "full", "runs.csv"), newline="") as f:
            row = next(csv.DictReader(f))
        check(row["init.scheme"] == "npy(../full)", f"runs.csv init.scheme {row['init.scheme']}")
    # No b<l>.npy: zeros, or init.bias; float32 W2 read into a double network.
    r = run([binary, "run", spec("nobias", "../nobias"), "--out", outdir, "--no-plot"])
    check(r.returncode == 0, f"npy nobias run: {r.stderr}")
    if r.returncode == 0:
        check(not dumped("nobias", "b1").any(), "no b1.npy: biases are not zero")
        check(np.array_equal(dumped("nobias", "W2"), w2.astype(np.float32).astype(np.float64)),
              "float32 W2 differs")
    r = run([binary, "run", spec("biased", "../nobias", 'bias = "normal(stddev=1)"'), "--out",
             outdir, "--no-plot"])
    check(r.returncode == 0 and dumped("biased", "b1").any(), f"init.bias: {r.stderr}")

    # Refused by describe, before any run: the message names the spec, the key and the file.
    bad = os.path.join(tmp, "own", "bad")
    save(bad + "_count", {"W1": w1})
    save(bad + "_shape", {"W1": w1.T, "W2": np.ones((1, 2))})
    save(bad + "_dtype", {"W1": w1.astype(np.int32), "W2": w2})
    nan = w1.copy()
    nan[0, 0] = np.nan
    save(bad + "_nan", {"W1": nan, "W2": w2})
    cases = [
        ("count", "../bad_count", "", ["1 layers", "the network has 2"]),
        ("shape", "../bad_shape", "", ["W1.npy", "(2, 6)", "expected (6, 2)"]),
        ("dtype", "../bad_dtype", "", ["W1.npy", "'<i4'"]),
        ("nan", "../bad_nan", "", ["W1.npy", "NaN at [0, 0]"]),
        ("missing", "../nothing", "", ["nothing", "no such folder"]),
        ("bias", "../full", 'bias = "zeros"', ["init.bias = 'zeros'", "b1.npy"]),
    ]
    for name, path, extra, words in cases:
        p = spec("bad_" + name, path, extra)
        refused(binary, ["describe", p], [p, "init.scheme", *words], f"describe npy {name}")
        refused(binary, ["run", p, "--out", outdir, "--no-plot"], [p], f"run npy {name}")
        check(not os.path.exists(os.path.join(outdir, "bad_" + name)),
              f"run npy {name}: an output folder was made")


def main():
    if len(sys.argv) != 2:
        print("usage: test_check_init.py INITBENCH")
        return 2
    try:
        import numpy  # noqa: F401
    except ImportError:
        print("SKIP: NumPy is missing (python3-numpy)")
        return SKIP
    binary = os.path.abspath(sys.argv[1])
    with tempfile.TemporaryDirectory() as tmp:
        test_known_cases(binary, tmp)
        test_bad_input(binary, tmp)
        test_npy_scheme(binary, tmp)
    if FAILURES:
        print(f"{len(FAILURES)} failure(s)")
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
