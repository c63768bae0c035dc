"""initbench's CSV reports as pandas DataFrames, each row with its run's settings.

    import initbench
    r = initbench.load("results/course_init")
    r.runs                       # one row per run (runs.csv)
    r.curves                     # curves.csv, with the run's settings joined on run_id
    r.curves.groupby("init.scheme").train_loss.min()

Every per-step table (curves, layers, symmetry, histograms, jacobian, timings, and any other CSV
file of the folder with a run_id column, as a probe added later writes) gets the columns
that say which run a row belongs to: experiment, scheme, activation, depth, width, layers, seed,
lr and one column per grid axis (named by its dotted key, as in runs.csv); a setting whose name
the table uses itself (symmetry.csv's per-layer width) joins as run.<name>. Files a run did not
write (no probes asked for, or not committed, as the bulky ones under results/) are None.
Column meanings: docs/csv.md. Numbers read as float64 (nan, inf as written).

Also in this package: `initbench.tables` (one CSV file read with every error located: file,
line, column), `initbench.plot` (the figures: `python3 -m initbench.plot DIR`, which is what
scripts/plot.py runs; only it imports matplotlib) and `initbench.report` (a folder as one
self-contained HTML page: `python3 -m initbench.report DIR`, which is what scripts/report.py
runs).

From the repository: PYTHONPATH=python /usr/bin/python3 ...; installed by `cmake --install`
into the directory Debian's python3 searches.
"""

import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional

__all__ = ["load", "Report", "SETTING_COLUMNS", "PER_STEP_FILES", "DIAGNOSIS_COLUMNS",
           "fixed_columns", "axis_columns"]

# runs.csv's columns that identify a run's setting (the rest are its outcome and its theory);
# grid-axis columns come after the fixed ones and are settings too.
SETTING_COLUMNS = ["experiment", "scheme", "activation", "depth", "width", "layers", "seed", "lr"]
# runs.csv's fixed columns, in order (docs/csv.md); anything after them is a grid axis.
RUN_COLUMNS = ["run_id"] + SETTING_COLUMNS + [
    "status", "steps_run", "steps_to_target", "stall_step", "final_train_loss", "final_train_acc",
    "final_test_loss", "final_test_acc", "init_grad_ratio", "sigma_w2", "sigma_b2", "q_star",
    "chi_1", "xi_c", "gain"]
# runs.csv's verdict columns (docs/diagnosis.md), fixed columns after RUN_COLUMNS; a folder
# written before they existed lacks them.
DIAGNOSIS_COLUMNS = ["symmetric", "vanishing", "exploding", "saturated", "dead", "phase",
                     "stalled", "diverged", "verdict"]
# Fixed columns that follow RUN_COLUMNS only with a validation split (data.validation > 0).
VALIDATION_COLUMNS = ["final_val_loss", "final_val_acc"]
PER_STEP_FILES = ["curves", "layers", "symmetry", "histograms", "jacobian", "timings"]


def fixed_columns(columns):
    """runs.csv's fixed columns as this header has them: RUN_COLUMNS, then DIAGNOSIS_COLUMNS
    when it has them, then VALIDATION_COLUMNS when it has them; the grid axes follow."""
    fixed = list(RUN_COLUMNS)
    for extra in (DIAGNOSIS_COLUMNS, VALIDATION_COLUMNS):
        if list(columns[len(fixed):len(fixed) + len(extra)]) == extra:
            fixed += extra
    return fixed


@dataclass
class Report:
    folder: str
    runs: "object"                      # pandas.DataFrame
    summary: Optional["object"] = None  # summary.csv, if present
    tables: Dict[str, Optional["object"]] = field(default_factory=dict)
    axes: List[str] = field(default_factory=list)

    def __getattr__(self, name):
        tables = self.__dict__.get("tables", {})
        if name in tables:
            return tables[name]
        raise AttributeError(name)

    def settings(self):
        """The setting columns of runs.csv (fixed ones and grid axes), with run_id."""
        return self.runs[["run_id"] + SETTING_COLUMNS + self.axes]


def axis_columns(columns):
    """The grid-axis columns of runs.csv's header: those after the fixed ones (fixed_columns)
    that are not setting columns already."""
    return [c for c in columns[len(fixed_columns(columns)):] if c not in SETTING_COLUMNS]


def _read(path):
    import pandas as pd
    # keep_default_na=False: only nan/inf/-inf are numbers' missing values, never "" or "NA"
    # in a text column (a scheme could be called "none").
    return pd.read_csv(path, keep_default_na=False, na_values=["nan"],
                       dtype={"experiment": str, "scheme": str, "activation": str,
                              "layers": str, "status": str,
                              **{c: str for c in DIAGNOSIS_COLUMNS}})


def load(folder: str) -> Report:
    """Reads an experiment folder written by `initbench run` (or merge)."""
    runs_path = os.path.join(folder, "runs.csv")
    if not os.path.isfile(runs_path):
        raise FileNotFoundError(f"{runs_path}: no runs.csv (is {folder} an experiment folder?)")
    runs = _read(runs_path)
    columns = list(runs.columns)
    if columns[:len(RUN_COLUMNS)] != RUN_COLUMNS:
        raise ValueError(f"{runs_path}: unexpected columns {columns[:len(RUN_COLUMNS)]}; "
                         f"this reader knows {RUN_COLUMNS}")
    axes = axis_columns(columns)
    for axis in axes:
        runs[axis] = runs[axis].astype(str)
    settings = runs[["run_id"] + SETTING_COLUMNS + axes]
    tables = {}
    # the known files (None when absent), then any other per-run file a newer probe wrote
    others = sorted(f[:-4] for f in os.listdir(folder)
                    if f.endswith(".csv") and f[:-4] not in PER_STEP_FILES + ["runs", "summary"])
    for name in PER_STEP_FILES + others:
        path = os.path.join(folder, name + ".csv")
        if not os.path.isfile(path):
            tables[name] = None
            continue
        table = _read(path)
        if name in others and "run_id" not in table.columns:
            continue  # not a per-run file
        # a setting whose name the table uses itself (symmetry.csv's per-layer width) joins as
        # run.<name>
        joined = settings.rename(columns={c: "run." + c for c in settings.columns
                                          if c != "run_id" and c in table.columns})
        tables[name] = table.merge(joined, on="run_id", how="left", validate="many_to_one")
    summary_path = os.path.join(folder, "summary.csv")
    summary = _read(summary_path) if os.path.isfile(summary_path) else None
    return Report(folder=folder, runs=runs, summary=summary, tables=tables, axes=axes)
