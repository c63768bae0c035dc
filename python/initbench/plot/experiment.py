"""An experiment folder read and validated for the figures: runs, settings, axes, per-step tables.

Every file is read (initbench.tables: pandas, one located line per error) and every column a
figure uses is checked before any figure is drawn. Runs are grouped into settings with pandas
(runs sharing every grid axis but seed, numbered in grid order); the per-step tables are
DataFrames of typed columns with the run's setting joined as the column `setting`.
"""

import json
import math
import os

import numpy as np
import pandas as pd

from ..tables import DataError, Table
from .axes import Axis, zip_labels
from .stats import MAX_SETTINGS

REQUIRED_FILES = ("runs.csv", "summary.csv", "curves.csv")
OPTIONAL_FILES = ("layers.csv", "histograms.csv", "symmetry.csv", "jacobian.csv",
                  "correlation.csv", "layer_jacobian.csv", "modes.csv", "stream.csv",
                  "coord_check.csv")
RUN_TEXT = ("status", "width")
# Setting columns of runs.csv the figures read under a short name (Experiment.runs["scheme"]); a
# runs.csv written before the setting columns has them as the fixed columns of that short name.
RUN_SETTINGS = {"scheme": "init.scheme", "activation": "model.activation"}
RUN_NUMBERS = ("steps_run", "steps_to_target", "final_train_loss", "final_train_acc",
               "final_test_loss", "final_test_acc")
# The C++ side's mean-field theory and gain per run (docs/csv.md); read when runs.csv has them.
RUN_THEORY = ("sigma_w2", "sigma_b2", "q_star", "chi_1", "xi_c", "gain")
INT_COLUMNS = ("run_id", "step", "layer", "sample", "k", "width", "pair", "mode", "block")
# The columns each per-step table must have, in the order they are checked.
STEP_COLUMNS = {
    "layers.csv": ("run_id", "step", "layer", "preact_std", "act_std", "saturated_frac",
                   "dead_frac", "delta_norm", "meanfield_preact_var"),
    "histograms.csv": ("run_id", "step", "layer", "quantity", "lo", "hi", "counts"),
    "symmetry.csv": ("run_id", "step", "layer", "width", "distinct_neurons", "mean_abs_cosine",
                     "act_effective_rank"),
    "jacobian.csv": ("run_id", "step", "sample", "k", "singular_value"),
    "correlation.csv": ("run_id", "step", "layer", "pair", "q_a", "q_b", "correlation"),
    "layer_jacobian.csv": ("run_id", "step", "layer", "sample", "mean_singular_value"),
    "modes.csv": ("run_id", "step", "mode", "singular_value", "strength"),
    "stream.csv": ("run_id", "step", "block", "stream_rms"),
    "coord_check.csv": ("run_id", "step", "layer", "width", "preact", "act", "delta"),
    "curves.csv": ("run_id", "step", "train_loss", "train_acc", "test_loss", "test_acc"),
}


# histograms.csv as initbench wrote it before one row per histogram: one row per bin.
OLD_HISTOGRAM_COLUMNS = ("run_id", "step", "layer", "quantity", "bin_lo", "bin_hi", "count")


def _histogram_bins(frame, t):
    """histograms.csv's rows (one per histogram: lo, hi and the counts of B + 2 slots) as one row
    per bin, bin_lo, bin_hi and count, as the figure reads them: [-inf, lo), B equal bins over
    [lo, hi], (hi, inf]."""
    parts = []
    for i, row in enumerate(frame.itertuples(index=False)):
        try:
            counts = [int(c) for c in row.counts.split()]
        except ValueError:
            raise DataError(f"{t.path}:{t.line(i)}: column 'counts': {row.counts!r} is not "
                            f"integers separated by spaces") from None
        if len(counts) < 3:
            raise DataError(f"{t.path}:{t.line(i)}: column 'counts': {len(counts)} counts, "
                            f"expected at least 3 (underflow, the bins, overflow)")
        b = len(counts) - 2
        edges = row.lo + (row.hi - row.lo) / b * np.arange(b + 1)  # as initbench bins them
        edges[-1] = row.hi
        parts.append(pd.DataFrame({
            "run_id": row.run_id, "step": row.step, "layer": row.layer,
            "quantity": row.quantity,
            "bin_lo": np.concatenate([[-np.inf], edges]),
            "bin_hi": np.concatenate([edges, [np.inf]]),
            "count": np.asarray(counts, dtype=float)}))
    if not parts:
        return pd.DataFrame({c: [] for c in OLD_HISTOGRAM_COLUMNS})
    return pd.concat(parts, ignore_index=True)


def read_spec(path, notes):
    if not os.path.isfile(path):
        notes.append("spec.toml not found: targets, bias and probe schedule unknown")
        return {}
    try:
        import tomllib
    except ImportError:
        notes.append("spec.toml not read (Python 3.11's tomllib is missing)")
        return {}
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except (OSError, ValueError) as e:
        notes.append(f"spec.toml not read ({str(e).splitlines()[0]}): targets, bias and probe "
                     f"schedule unknown")
        return {}


def spec_get(spec, dotted, default=None):
    node = spec
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


def read_meta(path):
    try:
        with open(path, encoding="utf-8") as f:
            meta = json.load(f)
        version = meta.get("initbench_version") if isinstance(meta, dict) else None
        return str(version) if version else "unknown"
    except (OSError, ValueError):
        return "unknown"


def _crossed(tuples):
    """Whether a zip group's tuples are the full product of some of its keys' values, the other
    keys following from those (glorot2010: activation x depth x scheme, each with its own rate):
    then the group is better drawn as crossed axes than as one axis of every tuple."""
    free = list(range(len(tuples[0])))
    for i in reversed(range(len(free))):
        others = [j for j in free if j != i]
        if others and len({tuple(t[j] for j in others) for t in tuples}) == len(tuples):
            free = others
    if len(free) < 2:
        return False
    return math.prod(len({t[j] for t in tuples}) for j in free) == len(tuples)


class Experiment:
    """runs: a DataFrame indexed by run_id (ascending) with RUN_TEXT, RUN_SETTINGS (by their short
    names), RUN_NUMBERS, the RUN_THEORY
    columns runs.csv has, seed (text), setting, key (the tuple of grid axis values) and the axis
    columns. setting_keys[s], setting_runs[s] (run ids), labels[s]: setting s. curves, layers,
    histograms, symmetry, jacobian, correlation, layer_jacobian: typed DataFrames with
    `setting`, or None without the file."""

    def __init__(self, folder, required=REQUIRED_FILES):
        """required: the files that must be there (scripts/jacobian_moments.py reads a folder
        without curves.csv, which results/ does not keep); the others of REQUIRED_FILES are
        then optional like OPTIONAL_FILES."""
        self.dir = folder
        self.notes = []
        self.tables = {}
        join = lambda name: os.path.join(folder, name)  # noqa: E731
        if not os.path.isdir(folder):
            raise DataError(f"{folder}: no such directory")
        for name in required:
            try:
                self.tables[name] = Table.read(join(name))
            except FileNotFoundError:
                raise DataError(f"{join(name)}: missing (not an initbench experiment folder?)") \
                    from None
        for name in [n for n in REQUIRED_FILES if n not in required] + list(OPTIONAL_FILES):
            try:
                self.tables[name] = Table.read(join(name))
            except FileNotFoundError:
                self.tables[name] = None
        self.spec = read_spec(join("spec.toml"), self.notes)
        self.version = read_meta(join("meta.json"))
        self._read_runs()
        self.name = self.tables["runs.csv"].text("experiment")[0] or \
            spec_get(self.spec, "name", "") or os.path.basename(os.path.normpath(folder))
        self.stamp = f"{self.name} \u00b7 initbench {self.version}"
        self.description = spec_get(self.spec, "description", "")
        self.output = spec_get(self.spec, "model.output", "sigmoid")
        self.labels = self._labels()
        # Validate every optional table now, so bad data stops us before any figure is drawn.
        for name in ("layers.csv", "histograms.csv", "symmetry.csv", "jacobian.csv",
                     "correlation.csv", "layer_jacobian.csv", "modes.csv", "stream.csv",
                     "coord_check.csv", "curves.csv"):
            setattr(self, name[:-len(".csv")], self._load(name))
        self._rank = None

    def _read_runs(self):
        runs = self.tables["runs.csv"]
        runs.require("run_id", "experiment", *RUN_TEXT, *RUN_NUMBERS)
        for short, key in RUN_SETTINGS.items():
            if not runs.has(short):
                runs.require(key)
        if len(runs) == 0:
            raise DataError(f"{runs.path}: no runs")
        summary = self.tables["summary.csv"]
        summary.require("runs")
        axis_names = summary.header[:summary.header.index("runs")]
        runs.require(*axis_names)
        run_ids = runs.ints("run_id")
        if len(set(run_ids.tolist())) != len(run_ids):
            raise DataError(f"{runs.path}: column 'run_id': repeated run ids")
        frame = pd.DataFrame({"run_id": run_ids})
        for c in RUN_TEXT:
            frame[c] = runs.text(c)
        for short, key in RUN_SETTINGS.items():
            frame[short] = runs.text(key if runs.has(key) else short)
        for c in RUN_NUMBERS:
            frame[c] = runs.floats(c)
        for c in RUN_THEORY:
            if runs.has(c):
                frame[c] = runs.floats(c)
        frame["seed"] = runs.text("seed") if runs.has("seed") else ""
        if runs.has("depth"):
            frame["depth"] = runs.ints("depth")
        if runs.has("layers"):
            frame["layers"] = runs.text("layers")
        for a in axis_names:
            frame["axis:" + a] = runs.text(a)
        frame = frame.sort_values("run_id", kind="stable").set_index("run_id")
        axis_names, members = self._zip_axes(frame, axis_names)
        axis_cols = ["axis:" + a for a in axis_names]
        if axis_cols:  # settings numbered in the order their first run appears
            frame["setting"] = frame.groupby(axis_cols, sort=False).ngroup()
            frame["key"] = list(frame[axis_cols].itertuples(index=False, name=None))
        else:
            frame["setting"] = 0
            frame["key"] = [()] * len(frame)
        self.runs = frame
        self.setting_keys = frame.drop_duplicates("setting")["key"].tolist()
        self.setting_runs = [ids.tolist() for _, ids in
                             frame.index.to_series().groupby(frame["setting"], sort=True)]
        self.axes = []
        for j, a in enumerate(axis_names):
            values = list(dict.fromkeys(key[j] for key in self.setting_keys))
            self.axes.append(Axis(a, values, members.get(a)))

    def _zip_axes(self, frame, axis_names):
        """The spec's zip groups (docs/spec.md) made one axis each: its column axis:NAME holds
        the label of each run's tuple (axes.zip_labels), NAME joins the keys the labels name
        ("model.activation + init.scheme"), in the place of the group's first key. Returns the
        axis names and {NAME: the group's keys}. Without spec.toml the keys stay crossed axes."""
        groups = spec_get(self.spec, "zip", [])
        if groups and all(isinstance(g, str) for g in groups):
            groups = [groups]  # zip = ["a", "b"]: one group
        members = {}
        for group in groups:
            keys = [k for k in axis_names if isinstance(group, list) and k in group]
            if len(keys) < 2:
                continue
            cols = ["axis:" + k for k in keys]
            tuples = list(dict.fromkeys(frame[cols].itertuples(index=False, name=None)))
            if _crossed(tuples):
                continue  # glorot2010: its keys stay crossed axes (facets drop the dependent one)
            labels, named = zip_labels(keys, tuples)
            name = " + ".join(named)
            label_of = dict(zip(tuples, labels))
            frame["axis:" + name] = [label_of[t] for t in
                                     frame[cols].itertuples(index=False, name=None)]
            at = axis_names.index(keys[0])
            axis_names = [a for a in axis_names if a not in keys]
            axis_names.insert(at, name)
            members[name] = keys
        return axis_names, members

    def _load(self, name):
        t = self.tables[name]
        if t is None:
            return None
        columns = STEP_COLUMNS[name]
        if name == "histograms.csv" and t.has("bin_lo") and not t.has("counts"):
            columns = OLD_HISTOGRAM_COLUMNS  # one row per bin, as initbench wrote it before
        t.require(*columns)
        frame = pd.DataFrame(index=pd.RangeIndex(len(t)))
        for c in columns:
            if c in ("quantity", "counts"):
                frame[c] = t.text(c)
            elif c in INT_COLUMNS:
                frame[c] = t.ints(c)
            else:
                frame[c] = t.floats(c)
        unknown = ~frame["run_id"].isin(self.runs.index)
        if unknown.any():
            i = int(np.argmax(unknown.to_numpy()))
            raise DataError(f"{t.path}:{t.line(i)}: column 'run_id': run "
                            f"{frame['run_id'].iloc[i]} is not in runs.csv")
        if name == "histograms.csv":
            bad = ~frame["quantity"].isin(("activation", "delta"))
            if bad.any():
                i = int(np.argmax(bad.to_numpy()))
                raise DataError(f"{t.path}:{t.line(i)}: column 'quantity': "
                                f"'{frame['quantity'].iloc[i]}' is neither 'activation' nor "
                                f"'delta'")
        if "counts" in frame.columns:
            frame = _histogram_bins(frame, t)
        frame["setting"] = self.runs["setting"].reindex(frame["run_id"]).to_numpy()
        return frame

    def _labels(self):
        varying = [(j, a) for j, a in enumerate(self.axes) if a.varies and a.name != "seed"]
        labels = []
        for s, key in enumerate(self.setting_keys):
            if not varying:
                labels.append(self.runs.at[self.setting_runs[s][0], "scheme"])
            elif len(varying) == 1:
                j, a = varying[0]
                labels.append(a.short(key[j]) if a.param else key[j])
            else:
                labels.append(", ".join(a.short(key[j]) for j, a in varying))
        return labels

    def style(self, s):
        """The same setting gets the same colour and line style in every figure: numbered among
        the settings line figures show."""
        from .style import style
        if self._rank is None:
            self._rank = {t: i for i, t in enumerate(self.shown_settings(MAX_SETTINGS))}
        return style(self._rank.get(s, s))

    def shown_settings(self, wanted=None):
        """Indices of the settings to draw as lines (at most `wanted`, evenly spaced)."""
        n = len(self.setting_keys) if wanted is None else wanted
        idx = list(range(len(self.setting_keys)))
        if len(idx) <= n:
            return idx
        pick = sorted(set(np.round(np.linspace(0, len(idx) - 1, n)).astype(int).tolist()))
        return [idx[i] for i in pick]

    def loss_label(self):
        if self.output == "linear":
            return "loss (mean squared error)"
        return "loss (cross-entropy, nats)"
