#!/usr/bin/python3
"""ctest: the Python package python/initbench (initbench.load) on a real experiment folder.

Usage: /usr/bin/python3 tests/test_python.py INITBENCH SOURCE_DIR

Runs a small grid (2 seeds x 2 schemes x 2 depths, every probe on) and checks that load() gives
every table with exactly the file's rows, each joined with its own run's settings (fixed columns
and the grid axes, compared with runs.csv row by row), numbers as float64 with nan and inf kept,
None for a file that is not there, and a clear error for a folder without runs.csv. Exits 77
(ctest SKIP_RETURN_CODE) when pandas is missing.
"""

import csv
import math
import os
import subprocess
import sys
import tempfile

SKIP = 77

SPEC = """\
name = "python_load"
seed = [1, 2]
[data]
kind = "circles"
train = 60
test = 20
[model]
depth = [1, 2]
width = 6
[init]
scheme = ["zeros", "normal(stddev=10)"]
[train]
lr = 0.1
steps = 12
eval_every = 4
[probes]
every = 6
histograms = true
symmetry = true
jacobian = true
"""


def fail(message):
    print(f"FAIL: {message}")
    sys.exit(1)


def main():
    if len(sys.argv) != 3:
        fail("usage: test_python.py INITBENCH SOURCE_DIR")
    binary, source = sys.argv[1], sys.argv[2]
    try:
        import pandas  # noqa: F401
    except ImportError:
        print("SKIP: pandas is missing (python3-pandas)")
        return SKIP
    sys.path.insert(0, os.path.join(source, "python"))
    import initbench

    with tempfile.TemporaryDirectory() as tmp:
        spec = os.path.join(tmp, "spec.toml")
        with open(spec, "w") as f:
            f.write(SPEC)
        r = subprocess.run([binary, "run", spec, "--out", tmp, "--no-plot"],
                           capture_output=True, text=True)
        if r.returncode != 0:
            fail(f"initbench run failed:\n{r.stderr}")
        folder = os.path.join(tmp, "python_load")
        report = initbench.load(folder)

        with open(os.path.join(folder, "runs.csv"), newline="") as f:
            runs = list(csv.DictReader(f))
        if len(report.runs) != len(runs) or len(runs) != 8:
            fail(f"runs: {len(report.runs)} rows, runs.csv has {len(runs)} (8 expected)")
        if report.axes != ["model.depth", "init.scheme"]:
            fail(f"axes {report.axes}, expected ['model.depth', 'init.scheme']")
        by_id = {int(row["run_id"]): row for row in runs}
        header = list(runs[0].keys())
        settings = initbench.setting_columns(header)
        # one setting column per spec key, after the fixed ones; one scheme column
        for c in ("init.scheme", "model.activation", "train.lr", "train.optimizer", "data.kind",
                  "train.batch", "probes.histograms"):
            if c not in settings:
                fail(f"runs.csv has no setting column {c}: {header}")
        if "scheme" in header or "lr" in header or "activation" in header:
            fail(f"runs.csv repeats a setting as a fixed column: {header}")
        columns = initbench.SETTING_COLUMNS + settings
        for name in initbench.PER_STEP_FILES:
            table = getattr(report, name)
            path = os.path.join(folder, name + ".csv")
            with open(path, newline="") as f:
                rows = list(csv.DictReader(f))
            if table is None or len(table) != len(rows) or len(rows) == 0:
                fail(f"{name}: {None if table is None else len(table)} rows, the file has "
                     f"{len(rows)}")
            for k, row in enumerate(table.to_dict("records")):
                expected = by_id[int(row["run_id"])]
                for c in columns:
                    got = row["run." + c] if name == "symmetry" and c == "width" else row[c]
                    if str(got).lower() != expected[c] and not (
                            expected[c] == "" and got != got) and not (
                            isinstance(got, float) and float(expected[c]) == got):
                        fail(f"{name} row {k}: {c} = {got!r}, runs.csv says {expected[c]!r}")
        # numbers: float64 with nan and inf as written
        if str(report.runs["final_train_loss"].dtype) != "float64":
            fail(f"final_train_loss is {report.runs['final_train_loss'].dtype}, not float64")
        zeros = report.runs[report.runs["init.scheme"] == "zeros"]
        if not zeros["init_grad_ratio"].map(math.isnan).all():
            fail("zeros: init_grad_ratio should read as nan")
        if not (report.runs["xi_c"] == math.inf).any():
            fail("no xi_c read as inf")
        # a missing file is None, the rest still loads
        os.remove(os.path.join(folder, "histograms.csv"))
        again = initbench.load(folder)
        if again.histograms is not None or again.curves is None:
            fail("a missing histograms.csv should give None, and curves should still load")
        try:
            initbench.load(tmp)
            fail("load() of a folder without runs.csv should raise")
        except FileNotFoundError as e:
            if "runs.csv" not in str(e):
                fail(f"unclear error: {e}")
    # a committed folder of the older layout (scheme, activation and lr as fixed columns, a key's
    # column only for a grid axis) reads as the current one
    old = initbench.load(os.path.join(source, "results", "he2015"))
    if not initbench.is_old_layout(_header(old.folder)):
        fail("results/he2015/runs.csv is no longer of the older layout: pick another folder")
    for c in ("init.scheme", "model.activation", "train.lr", "model.depth"):
        if c not in old.runs.columns:
            fail(f"results/he2015: no column {c} after load: {list(old.runs.columns)}")
    if "scheme" in old.runs.columns or "lr" in old.runs.columns:
        fail(f"results/he2015: the older columns are kept: {list(old.runs.columns)}")
    if old.axes != ["model.depth", "init.scheme", "train.weight_decay"]:
        fail(f"results/he2015: axes {old.axes}")
    if sorted(set(old.runs["model.activation"])) != ["relu"]:
        fail(f"results/he2015: model.activation {set(old.runs['model.activation'])}")
    print("initbench.load: 8 runs, every table joined with its run's settings; an older "
          "runs.csv reads with the same columns")
    return 0


def _header(folder):
    with open(os.path.join(folder, "runs.csv"), newline="") as f:
        return next(csv.reader(f))


if __name__ == "__main__":
    sys.exit(main())
