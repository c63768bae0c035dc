#!/usr/bin/python3
"""ctest: scripts/plot.py on real experiment folders.

Usage: /usr/bin/python3 tests/test_plot.py INITBENCH SOURCE_DIR

Runs the initbench binary on experiments/course_init.toml (--quick, fewer steps; every probe and a
target switched on with --set, so the figures do not depend on what the spec turns on) and on a
small tanh init.scale x depth grid written here (three scales: a scale sweep's figure too), plots
both, and checks: the expected PNG files and only those are written, one stdout line per figure;
each is a valid PNG (signature, IHDR, CRCs, IEND) of a sensible size; plotting again (with another
hash seed) gives byte-identical files; the heatmap gets its 6 xi_c overlay; malformed or missing
CSV files give one clear line naming the file and column (exit 1, no traceback) and a missing
optional file only skips its figure, with a note only for the figures the spec asked for (none
for course_init, whose skipped figures do not apply; one when jacobian.csv, asked, is missing); `python3 -m initbench.plot` is the same command and `import
initbench` does not import matplotlib. Exits 77 (ctest SKIP_RETURN_CODE) when numpy, pandas or
matplotlib is missing.
"""

import os
import shutil
import struct
import sys
import tempfile
import zlib

from plot_support import (SKIP, Failure, check, check_replots_identically,
                          missing_plot_dependency, plot_script, run)

COURSE_FIGURES = {"curves.png", "layers.png", "hist_activation.png", "hist_delta.png", "dead.png",
                  "symmetry.png", "jacobian.png", "layer_jacobian.png", "steps_to_target.png"}
GRID_FIGURES = {"curves.png", "layers.png", "saturated.png", "heatmap.png", "scale.png"}

GRID_SPEC = """\
name = "plot_grid"
description = "init.scale x depth, tanh: heatmap with the 6 xi_c curve"
seed = [1, 2]

[data]
kind = "circles"
train = 100
test = 50

[model]
depth = [2, 4]
width = 16
activation = "tanh"
output = "sigmoid"
precision = "double"

[init]
scheme = "lecun_normal"
scale = [0.8, 1.2, 1.5]

[train]
lr = 0.05
steps = 60
eval_every = 20

[probes]
every = 30
"""


def plot(folder, env=None):
    return plot_script(SOURCE, folder, env)


def check_png(path):
    with open(path, "rb") as f:
        data = f.read()
    check(data[:8] == b"\x89PNG\r\n\x1a\n", f"{path}: not a PNG signature")
    pos, chunks = 8, []
    while pos < len(data):
        check(pos + 12 <= len(data), f"{path}: truncated chunk at byte {pos}")
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        check(zlib.crc32(kind + body) & 0xFFFFFFFF == crc, f"{path}: bad CRC in {kind!r}")
        chunks.append((kind, body))
        pos += 12 + length
    check(chunks and chunks[0][0] == b"IHDR" and len(chunks[0][1]) == 13,
          f"{path}: first chunk is not IHDR")
    check(chunks[-1][0] == b"IEND", f"{path}: does not end with IEND")
    check(any(k == b"IDAT" for k, _ in chunks), f"{path}: no image data")
    width, height = struct.unpack(">II", chunks[0][1][:8])
    check(300 <= width <= 6000 and 200 <= height <= 6000,
          f"{path}: {width}x{height} pixels is not a sensible figure size")
    texts = [k for k, _ in chunks if k in (b"tEXt", b"iTXt", b"zTXt", b"tIME")]
    check(not texts, f"{path}: metadata chunks {texts} (could hold a timestamp or version)")
    return width, height


def plot_and_check(folder, expected):
    """Plot twice; the expected figures, valid, identical. Returns the first run's stdout."""
    shutil.rmtree(os.path.join(folder, "plots"), ignore_errors=True)
    env = dict(os.environ, PYTHONHASHSEED="1")
    r = plot(folder, env)
    check(r.returncode == 0, f"plot.py {folder}: exit {r.returncode}\n{r.stdout}{r.stderr}")
    lines = r.stdout.splitlines()
    check(all(l.startswith(("wrote ", "note: ")) for l in lines),
          f"plot.py {folder}: unexpected output:\n{r.stdout}")
    wrote = [l[len("wrote "):] for l in lines if l.startswith("wrote ")]
    names = {os.path.basename(w) for w in wrote}
    check(len(wrote) == len(names), f"plot.py {folder}: a figure was reported twice")
    check(names == expected, f"plot.py {folder}: wrote {sorted(names)}, expected "
                             f"{sorted(expected)}\n{r.stdout}")
    plots = os.path.join(folder, "plots")
    check(set(os.listdir(plots)) == expected, f"{plots}: holds {sorted(os.listdir(plots))}")
    for name in sorted(expected):
        w, h = check_png(os.path.join(plots, name))
        print(f"  {name}: {w}x{h}")
    check_replots_identically(SOURCE, folder, "12345")
    return r.stdout


def expect_error(folder, *needles):
    r = plot(folder)
    err = r.stderr.strip()
    check(r.returncode == 1, f"plot.py {folder}: exit {r.returncode}, expected 1\n{r.stderr}")
    check("Traceback" not in r.stderr, f"plot.py {folder}: printed a traceback\n{r.stderr}")
    check(len(err.splitlines()) == 1, f"plot.py {folder}: error is not one line:\n{r.stderr}")
    for n in needles:
        check(n in err, f"plot.py {folder}: error does not name {n!r}: {err}")
    check(not os.path.exists(os.path.join(folder, "plots")),
          f"plot.py {folder}: wrote figures before failing")
    print(f"  error as expected: {err}")


def rewrite_csv(path, edit):
    import csv
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    rows = edit(rows)
    with open(path, "w", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)


def drop_column(name):
    def edit(rows):
        i = rows[0].index(name)
        return [r[:i] + r[i + 1:] for r in rows]
    return edit


def set_cell(row, name, value):
    def edit(rows):
        rows[row][rows[0].index(name)] = value
        return rows
    return edit


def copy_experiment(src, dst):
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("plots", ".runs", "weights"))
    return dst


def main():
    global SOURCE
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    skip = missing_plot_dependency()
    if skip:
        print(skip)
        return SKIP
    initbench, SOURCE = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    work = tempfile.mkdtemp(prefix="initbench-plot-test-")
    try:
        out = os.path.join(work, "out")
        spec = os.path.join(SOURCE, "experiments", "course_init.toml")
        r = run([initbench, "run", spec, "--quick", "--out", out, "--threads", "2",
                 "--set", "train.steps=300", "--set", "train.eval_every=50",
                 "--set", "model.activation=relu", "--set", "probes.every=100",
                 "--set", "probes.histograms=true", "--set", "probes.symmetry=true",
                 "--set", "probes.jacobian=true", "--set", "probes.layer_jacobian=true",
                 "--set", "train.target_accuracy=0.6"])
        check(r.returncode == 0, f"initbench run course_init: exit {r.returncode}\n{r.stderr}")
        course = os.path.join(out, "course_init")
        print("course_init:")
        stdout = plot_and_check(course, COURSE_FIGURES)
        # every figure the spec asks for is drawn; the others (heatmap.png: one axis;
        # saturated.png: relu; correlation.png ...: probes off) are skipped without a note
        check("note: skip" not in stdout,
              f"course_init: a figure the spec did not ask for is noted:\n{stdout}")

        grid_spec = os.path.join(work, "grid.toml")
        with open(grid_spec, "w") as f:
            f.write(GRID_SPEC)
        r = run([initbench, "run", grid_spec, "--out", out, "--threads", "2"])
        check(r.returncode == 0, f"initbench run grid: exit {r.returncode}\n{r.stderr}")
        print("plot_grid:")
        stdout = plot_and_check(os.path.join(out, "plot_grid"), GRID_FIGURES)
        check("xi_c" not in stdout, f"plot_grid: the 6 xi_c overlay was not drawn:\n{stdout}")

        print("malformed folders:")
        bad = copy_experiment(course, os.path.join(work, "no_column"))
        rewrite_csv(os.path.join(bad, "layers.csv"), drop_column("delta_norm"))
        expect_error(bad, "layers.csv", "delta_norm")

        bad = copy_experiment(course, os.path.join(work, "bad_number"))
        rewrite_csv(os.path.join(bad, "curves.csv"), set_cell(3, "train_loss", "fast"))
        expect_error(bad, "curves.csv:4", "train_loss", "fast")

        bad = copy_experiment(course, os.path.join(work, "short_row"))
        rewrite_csv(os.path.join(bad, "symmetry.csv"), lambda rows: rows[:5] + [rows[5][:-1]])
        expect_error(bad, "symmetry.csv:6")

        bad = copy_experiment(course, os.path.join(work, "no_runs"))
        os.remove(os.path.join(bad, "runs.csv"))
        expect_error(bad, "runs.csv")

        part = copy_experiment(course, os.path.join(work, "no_jacobian"))
        os.remove(os.path.join(part, "jacobian.csv"))
        r = plot(part)
        check(r.returncode == 0, f"plot.py without jacobian.csv: exit {r.returncode}\n{r.stderr}")
        # the spec asked for jacobian.png (probes.jacobian = true): its skip is noted, and only
        # it (jacobian_moments.png does not apply: J is 1 x 2)
        skips = [l for l in r.stdout.splitlines() if l.startswith("note: skip")]
        check(skips == ["note: skip jacobian.png: no jacobian.csv"],
              f"plot.py without jacobian.csv: expected one note, for jacobian.png\n{r.stdout}")
        check(not os.path.exists(os.path.join(part, "plots", "jacobian.png")),
              "plot.py without jacobian.csv: wrote jacobian.png")
        print("  a missing jacobian.csv skips jacobian.png")

        r = run([sys.executable, os.path.join(SOURCE, "scripts", "plot.py"), "--help"])
        check(r.returncode == 0 and "heatmap.png" in r.stdout, "plot.py --help")

        env = dict(os.environ, PYTHONPATH=os.path.join(SOURCE, "python"))
        shutil.rmtree(os.path.join(part, "plots"))
        r = run([sys.executable, "-m", "initbench.plot", part], env=env)
        check(r.returncode == 0 and "skip jacobian.png" in r.stdout,
              f"python3 -m initbench.plot: exit {r.returncode}\n{r.stdout}{r.stderr}")
        r = run([sys.executable, "-c", "import sys, initbench; "
                 "print('matplotlib' in sys.modules)"], env=env)
        check(r.returncode == 0 and r.stdout.strip() == "False",
              f"import initbench imports matplotlib (or fails):\n{r.stdout}{r.stderr}")
        print("  python3 -m initbench.plot plots; import initbench leaves matplotlib alone")
    except Failure as e:
        print(f"FAIL: {e}")
        print(f"(work folder kept: {work})")
        return 1
    shutil.rmtree(work, ignore_errors=True)
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
