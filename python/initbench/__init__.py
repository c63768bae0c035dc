"""initbench's CSV reports as pandas DataFrames, each row with its run's settings.

    import initbench
    r = initbench.load("results/course_init")
    r.runs                       # one row per run (runs.csv)
    r.curves                     # curves.csv, with the run's settings joined on run_id
    r.curves.groupby("init.scheme").train_loss.min()

Every per-step table (curves, layers, symmetry, histograms, jacobian, timings, and any other CSV
file of the folder with a run_id column, as a probe added later writes) gets the columns
that say which run a row belongs to: experiment, depth, width, layers, seed and every setting
column of runs.csv (one per spec key, named by its dotted key: init.scheme, model.activation,
train.lr, data.kind, ...); a setting whose name the table uses itself (symmetry.csv's per-layer
width) joins as run.<name>. Files a run did not write (no probes asked for, or not committed, as
the bulky ones under results/) are None. A runs.csv written before it had a column per setting
(scheme, activation and lr as fixed columns, a grid axis's key only when it was an axis) reads
as the same columns: scheme as init.scheme, activation as model.activation, lr as train.lr.
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
           "fixed_columns", "axis_columns", "setting_columns", "is_old_layout"]

# runs.csv's fixed columns that identify a run's setting (the rest are its outcome and its
# theory); the setting columns, one per spec key, come after the fixed ones and are settings too.
SETTING_COLUMNS = ["experiment", "depth", "width", "layers", "seed"]
# runs.csv's fixed columns, in order (docs/csv.md); anything after them is a setting column.
RUN_COLUMNS = ["run_id"] + SETTING_COLUMNS + [
    "status", "steps_run", "steps_to_target", "stall_step", "final_train_loss", "final_train_acc",
    "final_test_loss", "final_test_acc", "init_grad_ratio", "sigma_w2", "sigma_b2", "q_star",
    "chi_1", "xi_c", "gain"]
# The fixed columns of a runs.csv written before the setting columns: three settings among them,
# read as the setting columns they are (OLD_NAMES); the grid axes followed the fixed columns.
OLD_RUN_COLUMNS = ["run_id", "experiment", "scheme", "activation", "depth", "width", "layers",
                   "seed", "lr"] + RUN_COLUMNS[len(SETTING_COLUMNS) + 1:]
OLD_NAMES = {"scheme": "init.scheme", "activation": "model.activation", "lr": "train.lr"}
# runs.csv's verdict columns (docs/diagnosis.md), fixed columns after RUN_COLUMNS; a folder
# written before they existed lacks them.
DIAGNOSIS_COLUMNS = ["symmetric", "vanishing", "exploding", "saturated", "dead", "phase",
                     "stalled", "diverged", "verdict"]
# Fixed columns that follow RUN_COLUMNS only with a validation split (data.validation > 0).
VALIDATION_COLUMNS = ["final_val_loss", "final_val_acc"]
PER_STEP_FILES = ["curves", "layers", "symmetry", "histograms", "jacobian", "timings"]


def is_old_layout(columns):
    """Whether a runs.csv header is of the layout before the setting columns (OLD_RUN_COLUMNS)."""
    return list(columns[:len(OLD_RUN_COLUMNS)]) == OLD_RUN_COLUMNS


def fixed_columns(columns):
    """runs.csv's fixed columns as this header has them: RUN_COLUMNS (OLD_RUN_COLUMNS in an older
    file), then DIAGNOSIS_COLUMNS when it has them, then VALIDATION_COLUMNS when it has them; the
    setting columns (an older file: the grid axes) follow."""
    fixed = list(OLD_RUN_COLUMNS if is_old_layout(columns) else RUN_COLUMNS)
    for extra in (DIAGNOSIS_COLUMNS, VALIDATION_COLUMNS):
        if list(columns[len(fixed):len(fixed) + len(extra)]) == extra:
            fixed += extra
    return fixed


def setting_columns(columns):
    """The setting columns of a runs.csv header as load() gives them: those after the fixed ones,
    and in an older file the three fixed settings renamed (OLD_NAMES) before its axis columns."""
    after = [c for c in columns[len(fixed_columns(columns)):] if c not in SETTING_COLUMNS]
    if not is_old_layout(columns):
        return after
    return [new for new in OLD_NAMES.values() if new not in after] + after


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
        """The setting columns of runs.csv (the fixed ones and one per spec key), with run_id."""
        return self.runs[["run_id"] + SETTING_COLUMNS + setting_columns(list(self.runs.columns))]


def axis_columns(columns, summary_columns=None):
    """The grid axes but seed: summary.csv's columns before `runs` when its header is given;
    else, for a runs.csv of the older layout, its columns after the fixed ones (its grid axes)."""
    if summary_columns is not None and "runs" in summary_columns:
        return list(summary_columns[:list(summary_columns).index("runs")])
    if is_old_layout(columns):
        return [c for c in columns[len(fixed_columns(columns)):] if c not in SETTING_COLUMNS]
    return []


def _read(path):
    import pandas as pd
    # keep_default_na=False: only nan/inf/-inf are numbers' missing values, never "" or "NA"
    # in a text column (a scheme could be called "none"); an empty setting is an unset key.
    return pd.read_csv(path, keep_default_na=False, na_values=["nan"],
                       dtype={"experiment": str, "scheme": str, "activation": str,
                              "layers": str, "status": str, "init.scheme": str,
                              "model.activation": str,
                              **{c: str for c in DIAGNOSIS_COLUMNS}})


def _normalize_runs(runs):
    """An older runs.csv's columns as the current layout names them: scheme, activation and lr
    become init.scheme, model.activation and train.lr (dropped where the file has that key's axis
    column already, which holds the same value), moved to the setting columns."""
    columns = list(runs.columns)
    if not is_old_layout(columns):
        return runs
    fixed = fixed_columns(columns)
    rest = [c for c in columns[len(fixed):]]
    renamed = runs.rename(columns={old: new for old, new in OLD_NAMES.items() if new not in rest})
    order = [c for c in fixed if c not in OLD_NAMES] + \
        [new for new in OLD_NAMES.values() if new not in rest] + rest
    return renamed[order]


def load(folder: str) -> Report:
    """Reads an experiment folder written by `initbench run` (or merge)."""
    runs_path = os.path.join(folder, "runs.csv")
    if not os.path.isfile(runs_path):
        raise FileNotFoundError(f"{runs_path}: no runs.csv (is {folder} an experiment folder?)")
    runs = _read(runs_path)
    columns = list(runs.columns)
    if columns[:len(RUN_COLUMNS)] != RUN_COLUMNS and not is_old_layout(columns):
        raise ValueError(f"{runs_path}: unexpected columns {columns[:len(RUN_COLUMNS)]}; "
                         f"this reader knows {RUN_COLUMNS}")
    runs = _normalize_runs(runs)
    summary_path = os.path.join(folder, "summary.csv")
    summary = _read(summary_path) if os.path.isfile(summary_path) else None
    axes = axis_columns(columns, None if summary is None else list(summary.columns))
    settings_names = setting_columns(columns)
    for name in settings_names:
        if name in axes:
            runs[name] = runs[name].astype(str)
    settings = runs[["run_id"] + SETTING_COLUMNS + settings_names]
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
    return Report(folder=folder, runs=runs, summary=summary, tables=tables, axes=axes)
