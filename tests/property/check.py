#!/usr/bin/env python3
"""Property test of `initbench run` over random valid specs (ctest: property.specs).

    check.py BINARY [--count N] [--seed S] [--keep DIR] [--regressions-only]

First replays every spec of tests/property/regressions/ (specs that once failed), then generates
N random specs from seed S, each valid by docs/spec.md and tiny (a few runs of a few dozen steps
on a few dozen samples). Together they cover every data kind (the synthetic ones, csv and idx
from small files written here), activation, output, optimizer, precision and initialization
scheme (the list comes from `BINARY schemes`, so a new scheme is covered without editing this
file), bias schemes, grids (list-valued keys, lists of lists), [quick] with and without --quick,
steps or epochs, full batch or mini-batches, eval_every, targets and stalls, and every [probes]
combination: every 0 or > 0, the log schedule, probe batch 0 / below the train batch / equal to it
/ equal to the data / larger, histograms, symmetry and jacobian with and without their own
*_every, dump_weights.

The specs run in batches (several specs per `initbench run --threads 2`; a failing batch is run
again spec by spec to name the culprit). Every spec must:
  1. exit with status 0: no signal, no timeout, no rejection of a valid spec;
  2. write CSV files that parse (tests/robust/common.py's check_csv_text);
  3. hold what docs/csv.md and docs/spec.md say, with the expected steps computed here from the
     spec (not read from the output): runs.csv one row per grid run in grid order, with its axis
     columns; curves.csv at the evaluation steps; layers.csv, histograms.csv, symmetry.csv,
     jacobian.csv, correlation.csv and layer_jacobian.csv at exactly their probe steps (a probe
     no run has on writes no file), with one row per layer (hidden layer; bin; sample and
     singular value; layer and sample pair; sample and hidden layer) and histogram counts adding up to units x probe samples; the
     dumped weights at their steps with their shapes; summary.csv, timings.csv, meta.json, and a
     resolved spec.toml that expands to the same grid. A run that ends early (its target, a
     stall, a divergence) has the planned steps up to where it ended and its curves.csv ends
     at that step; whether the probes also run at that step the docs leave open.
A failure prints the spec in full, the command, the exit status and stderr and which check
failed, and the exit status is 1. Exit status 77: the binary is missing (skipped). To keep a
failing spec as a regression, save its text as tests/property/regressions/<name>.toml (a csv or
idx spec with its data files beside it: regressions run with that folder as working folder, so
relative data paths resolve there).
INITBENCH_PROPERTY_COUNT, when set, overrides --count (ctest passes a count sized for the build).
Standard library only: it runs under Debian's /usr/bin/python3.
"""

import argparse
import ast
import collections
import gzip
import importlib.util
import itertools
import json
import math
import os
import random
import re
import shutil
import struct
import sys
import tempfile
import time
import tomllib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
REGRESSIONS = os.path.join(HERE, "regressions")


# runs.csv's yes/no verdict columns, in order (docs/diagnosis.md; phase sits between dead and
# stalled)
VERDICT_COLUMNS = ["symmetric", "vanishing", "exploding", "saturated", "dead", "stalled",
                   "diverged"]

def _load_common():
    path = os.path.join(ROOT, "tests", "robust", "common.py")
    spec = importlib.util.spec_from_file_location("initbench_robust_common", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


common = _load_common()
Failure = common.Failure
check = common.check

BATCH = 10         # specs per initbench invocation
TIMEOUT = 120      # seconds per invocation: generous, also for sanitizer builds
SHOWN_IN_FULL = 8  # failures printed with spec text and stderr; later ones in one line

# Names from docs/spec.md.
KINDS = ("circles", "moons", "spirals", "xor", "blobs", "teacher", "csv", "idx")
ACTIVATIONS = ("identity", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "softsign",
               "gelu", "leaky_relu(slope=0.2)", "elu(alpha=0.5)")
ACTIVATION_DEFAULT_PARAM = {"leaky_relu": ("slope", 0.01), "elu": ("alpha", 1.0)}
OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam")
PRECISIONS = ("float", "double")
STATUSES = ("converged", "not_converged", "diverged", "stalled")
# Keys that are lists by nature: an axis only as a list of lists.
LIST_KEYS = ("model.layers", "probes.dump_weights", "data.targets")
# Documented defaults of the keys the expectations depend on.
DEFAULTS = {
    "seed": 1, "data.kind": "circles", "data.train": 300, "data.test": 100, "data.classes": 0,
    "data.features": 2, "data.outputs": 1, "data.classify": False, "data.path": "",
    "data.test_path": "", "data.test_fraction": 0.2, "data.label": "", "data.targets": [],
    "data.limit_train": 0, "data.limit_test": 0, "model.activation": "relu",
    "model.output": "sigmoid", "model.precision": "float", "init.scheme": "he_normal",
    "train.batch": 0, "train.steps": 0, "train.epochs": 0, "train.eval_every": 0,
    "train.stop_at_target": False, "train.stall_window": 0, "train.stop_on_stall": False,
    "probes.every": 0, "probes.schedule": "every", "probes.batch": 1024,
    "probes.histograms": False, "probes.histogram_bins": 40, "probes.histogram_every": 0,
    "probes.symmetry": False, "probes.symmetry_every": 0, "probes.jacobian": False,
    "probes.jacobian_every": 0, "probes.jacobian_samples": 3, "probes.correlation": False,
    "probes.correlation_every": 0, "probes.correlation_pairs": 8, "probes.layer_jacobian": False,
    "probes.layer_jacobian_every": 0, "probes.layer_jacobian_samples": 1,
    "probes.dump_weights": [],
}
# Parameter values for generated scheme strings, by parameter name (and by scheme and name where
# a scheme allows more or needs fewer); a required parameter of an unknown name gets 0.5.
PARAM_VALUES = {
    "value": ["0", "0.1", "-0.5", "1"],
    "mean": ["0", "0.1", "-0.5"],
    "stddev": ["0.01", "0.1", "1"],
    "gain": ["1", "0.5", "2", "tanh", "relu", "sigmoid", "leaky_relu"],
    "mode": ["fan_in", "fan_out"],
    "slope": ["0", "0.2", "1"],
    "scale": ["1", "0.5", "2"],
    "distribution": ["truncated_normal", "untruncated_normal", "uniform", "normal"],
    "nonzero": ["1", "2", "15"],
    "sparsity": ["0", "0.5", "0.9"],
    "tol": ["0.1", "0.5"],
    "max_iter": ["1", "3", "10"],
}
SCHEME_PARAM_VALUES = {
    ("normal", "stddev"): ["0", "0.01", "0.1", "1", "10"],
    ("variance_scaling", "mode"): ["fan_in", "fan_out", "fan_avg"],
}
FILES = ("runs.csv", "summary.csv", "curves.csv", "timings.csv")  # a probe's file: when it has rows


# ---------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------

def shortest(x):
    """A number as initbench writes it: the shortest round-trip text, integers without '.0'."""
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, int):
        return str(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    text = repr(float(x))
    return text[:-2] if text.endswith(".0") else text


def axis_text(value):
    """A grid value as runs.csv's axis columns show it (docs/spec.md, The grid)."""
    if isinstance(value, list):
        if not value:
            return "none"
        return ("+" if isinstance(value[0], str) else "-").join(axis_text(v) for v in value)
    if isinstance(value, str):
        return value
    return shortest(value)


def toml_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = repr(value)
        return text if any(c in text for c in ".en") else text + ".0"
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string of ASCII text is a TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(value)


def number(cell):
    return float(cell)


def every_steps(k, total):
    """Steps 0, k, 2k, ... and the last (docs/csv.md)."""
    steps = set(range(0, total + 1, k))
    steps.add(total)
    return steps


def log_steps(total):
    """About ten log-spaced steps per decade, floor(10^(k/10)), plus 0 and the last."""
    steps = {0, total}
    k = 0
    while math.floor(10 ** (k / 10)) <= total:
        steps.add(math.floor(10 ** (k / 10)))
        k += 1
    return steps


# ---------------------------------------------------------------------------------------------
# Specs as the program reads them: entries in grid order, [quick], the grid
# ---------------------------------------------------------------------------------------------

def key_order(text):
    """Dotted names of the keys of a TOML text in the order they are written (the grid order is
    the position in the file). Handles [table] headers and dotted keys; values on one line."""
    order = []
    table = ""
    for line in text.splitlines():
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        header = re.match(r"^\[\s*([A-Za-z_][A-Za-z0-9_.\s]*?)\s*\]", s)
        if header:
            table = header.group(1).replace(" ", "")
            continue
        key = re.match(r"^([A-Za-z0-9_.\s-]+?)\s*=", s)
        if key:
            name = key.group(1).replace(" ", "")
            order.append(f"{table}.{name}" if table else name)
    return order


def leaves(tree, prefix=""):
    for key, value in tree.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict):
            yield from leaves(value, dotted + ".")
        else:
            yield dotted, value


def is_axis(dotted, value):
    if dotted in LIST_KEYS:
        return isinstance(value, list) and bool(value) and all(isinstance(v, list) for v in value)
    return isinstance(value, list)


class Grid:
    """A spec expanded as docs/spec.md says: [quick] applied (when asked), then the Cartesian
    product of the axes, the first in the file varying slowest."""

    def __init__(self, text, quick):
        tree = tomllib.loads(text)
        values = dict(leaves(tree))
        order = [k for k in key_order(text) if k in values]
        order += [k for k in values if k not in order]
        order = list(dict.fromkeys(order))
        base = [(k, values[k]) for k in order if not k.startswith("quick.")]
        overrides = [(k[len("quick."):], values[k]) for k in order if k.startswith("quick.")]
        if quick:
            keys = {k for k, _ in overrides}
            drop = set()
            if "model.layers" in keys:
                drop |= {"model.depth", "model.width"}
            if keys & {"model.depth", "model.width"}:
                drop.add("model.layers")
            if "train.steps" in keys:
                drop.add("train.epochs")
            if "train.epochs" in keys:
                drop.add("train.steps")
            base = [(k, v) for k, v in base if k not in drop]
            for key, value in overrides:
                for i, (k, _) in enumerate(base):
                    if k == key:
                        base[i] = (key, value)
                        break
                else:
                    base.append((key, value))
        self.entries = base
        self.name = dict(base).get("name")
        self.axes = [k for k, v in base if is_axis(k, v)]
        lists = [v if is_axis(k, v) else [v] for k, v in base]
        self.runs = []
        for combo in itertools.product(*lists):
            self.runs.append({k: v for (k, _), v in zip(base, combo)})

    def axis_values(self, run):
        return [(k, axis_text(run[k])) for k in self.axes]


# ---------------------------------------------------------------------------------------------
# Data shapes, from the spec (and the files of csv and idx data)
# ---------------------------------------------------------------------------------------------

def read_csv_file(path):
    header, rows = None, []
    with open(path, encoding="utf-8-sig") as f:
        for line in f:
            if not line.strip():
                continue
            cells = [c.strip() for c in line.rstrip("\r\n").split(",")]
            if header is None:
                header = [c[1:-1] if len(c) >= 2 and c[0] == c[-1] == '"' else c for c in cells]
            else:
                rows.append([float(c) for c in cells])
    return header, rows


def read_idx_dims(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return shape, data[4 + 4 * dims:]


def find_idx(folder, stem, suffix):
    for name in (f"{stem}-{suffix}.gz", f"{stem}-{suffix}", f"{stem}.{suffix}.gz",
                 f"{stem}.{suffix}"):
        if os.path.isfile(os.path.join(folder, name)):
            return os.path.join(folder, name)
    raise Failure(f"test setup: no {stem}-{suffix} in {folder}")


def limited(count, limit):
    return min(count, limit) if limit > 0 else count


def labels_shape(classes_key, largest):
    classes = classes_key if classes_key > 0 else max(2, largest + 1)
    return (1 if classes == 2 else classes), classes


def data_shape(cfg, cwd):
    """(inputs, outputs, classes (0: regression), training samples, test samples)."""
    g = lambda k: cfg.get(k, DEFAULTS.get(k))  # noqa: E731
    kind = g("data.kind")
    k = g("data.classes")
    if kind in ("circles", "moons", "xor"):
        return 2, 1, 2, g("data.train"), g("data.test")
    if kind in ("spirals", "blobs"):
        classes = k if k > 0 else (2 if kind == "spirals" else 3)
        inputs = 2 if kind == "spirals" else g("data.features")
        return inputs, (1 if classes == 2 else classes), classes, g("data.train"), g("data.test")
    if kind == "teacher":
        if g("data.classify"):
            classes = k if k > 0 else 2
            return (g("data.features"), 1 if classes == 2 else classes, classes,
                    g("data.train"), g("data.test"))
        return g("data.features"), g("data.outputs"), 0, g("data.train"), g("data.test")
    path = os.path.join(cwd, g("data.path"))
    if kind == "csv":
        header, rows = read_csv_file(path)
        label, targets = g("data.label"), g("data.targets")
        target_columns = [label] if label else targets
        features = [c for c in header if c not in target_columns]
        if g("data.test_path"):
            test_header, test_rows = read_csv_file(os.path.join(cwd, g("data.test_path")))
            label_rows = [(header, rows), (test_header, test_rows)]
            m, n_test = len(rows), len(test_rows)
        else:
            n_test = math.floor(len(rows) * g("data.test_fraction") + 0.5)  # llround
            m = len(rows) - n_test
            label_rows = [(header, rows)]
        m, n_test = limited(m, g("data.limit_train")), limited(n_test, g("data.limit_test"))
        if label:
            largest = max(int(r[h.index(label)]) for h, rs in label_rows for r in rs)
            outputs, classes = labels_shape(k, largest)
            return len(features), outputs, classes, m, n_test
        return len(features), len(targets), 0, m, n_test
    if kind == "idx":
        train_images, _ = read_idx_dims(find_idx(path, "train-images", "idx3-ubyte"))
        test_images, _ = read_idx_dims(find_idx(path, "t10k-images", "idx3-ubyte"))
        largest = 0
        for stem in ("train-labels", "t10k-labels"):
            _, labels = read_idx_dims(find_idx(path, stem, "idx1-ubyte"))
            largest = max([largest] + list(labels))
        outputs, classes = labels_shape(k, largest)
        return (train_images[1] * train_images[2], outputs, classes,
                limited(train_images[0], g("data.limit_train")),
                limited(test_images[0], g("data.limit_test")))
    raise Failure(f"test setup: data kind '{kind}' is not modelled by this test")


# ---------------------------------------------------------------------------------------------
# What one run must write, derived from its spec values
# ---------------------------------------------------------------------------------------------

class Plan:
    def __init__(self, cfg, cwd):
        g = lambda k: cfg.get(k, DEFAULTS.get(k))  # noqa: E731
        self.cfg = cfg
        self.n_in, self.n_out, self.classes, self.m, self.n_test = data_shape(cfg, cwd)
        if "model.layers" in cfg:
            self.sizes = list(cfg["model.layers"])
        else:
            self.sizes = [self.n_in] + [cfg["model.width"]] * cfg["model.depth"] + [self.n_out]
        self.L = len(self.sizes) - 1
        batch = g("train.batch")
        self.batch = batch if 0 < batch <= self.m else self.m
        self.batches_per_epoch = -(-self.m // self.batch)
        steps, epochs = g("train.steps"), g("train.epochs")
        self.total = steps if steps > 0 or epochs <= 0 else epochs * self.batches_per_epoch
        self.output = g("model.output")
        self.precision = g("model.precision")
        self.activation = g("model.activation")
        self.scheme = g("init.scheme")
        self.seed = g("seed")
        self.lr = cfg.get("train.lr", 0.01)
        self.has_target = "train.target_loss" in cfg or "train.target_accuracy" in cfg
        self.stop_at_target = g("train.stop_at_target")
        self.stall_window = g("train.stall_window")
        self.stop_on_stall = g("train.stop_on_stall")

        # Schedules (docs/csv.md): evaluations; layer statistics every K or log-spaced;
        # symmetry and correlation on their own *_every or with the layer statistics; the
        # histograms and the jacobians on their *_every or at the first and last step.
        eval_every = g("train.eval_every")
        self.eval_steps = every_steps(eval_every if eval_every > 0 else max(self.total, 1),
                                      self.total)
        if g("probes.schedule") == "log":
            layers = log_steps(self.total)
        elif g("probes.every") > 0:
            layers = every_steps(g("probes.every"), self.total)
        else:
            layers = set()

        def own_or_layers(on, every):
            if not on:
                return set()
            return every_steps(every, self.total) if every > 0 else set(layers)

        def first_last_or_every(on, every):
            if not on:
                return set()
            return every_steps(every if every > 0 else max(self.total, 1), self.total)

        jacobian_every = g("probes.jacobian_every")
        self.probe_steps = {
            "layers": layers,
            "histograms": first_last_or_every(g("probes.histograms"),
                                              g("probes.histogram_every")),
            "symmetry": own_or_layers(g("probes.symmetry"), g("probes.symmetry_every")),
            "jacobian": first_last_or_every(g("probes.jacobian"), jacobian_every),
            "correlation": own_or_layers(g("probes.correlation"), g("probes.correlation_every")),
            "layer_jacobian": first_last_or_every(g("probes.layer_jacobian"),
                                                  g("probes.layer_jacobian_every")),
        }
        self.dump_steps = set(g("probes.dump_weights"))
        self.bins = g("probes.histogram_bins")
        self.jacobian_samples = g("probes.jacobian_samples")
        self.correlation_pairs = g("probes.correlation_pairs")
        self.layer_jacobian_samples = g("probes.layer_jacobian_samples")
        # The probe batch: the first min(batch, m) samples, or the step's own mini-batch
        # (probes.batch = 0; the last batch of an epoch may be shorter).
        self.probe_batch = g("probes.batch")

    def probe_samples(self, t):
        if self.probe_batch == 0:
            return min(self.batch, self.m - (t % self.batches_per_epoch) * self.batch)
        return min(self.probe_batch, self.m)

    def tags(self):
        """Coverage labels of this run, for the summary line."""
        g = lambda k: self.cfg.get(k, DEFAULTS.get(k))  # noqa: E731
        tags = [f"kind:{g('data.kind')}", f"act:{self.activation}", f"out:{self.output}",
                f"opt:{self.cfg.get('train.optimizer', 'sgd')}", f"prec:{self.precision}",
                f"scheme:{self.scheme.split('(')[0]}"]
        if g("probes.schedule") == "log":
            tags.append("probe:log")
        elif g("probes.every") > 0:
            tags.append("probe:every>0")
        else:
            tags.append("probe:every=0")
        pb = self.probe_batch
        if pb == 0:
            tags.append("pbatch:0")
        elif pb < self.batch:
            tags.append("pbatch:<batch")
        elif pb == self.batch and self.batch < self.m:
            tags.append("pbatch:=batch")
        elif pb == self.m:
            tags.append("pbatch:=data")
        elif pb > self.m:
            tags.append("pbatch:>data")
        else:
            tags.append("pbatch:between")
        for name in ("histograms", "symmetry", "jacobian", "correlation", "layer_jacobian"):
            every_key = {"histograms": "histogram_every"}.get(name, name + "_every")
            if g(f"probes.{name}"):
                tags.append(f"probe:{name}" + ("+every" if g(f"probes.{every_key}") > 0 else ""))
        if self.dump_steps:
            tags.append("probe:dump_weights")
        tags.append("train:mini-batch" if self.batch < self.m else "train:full-batch")
        tags.append("train:epochs" if "train.epochs" in self.cfg else "train:steps")
        if g("train.eval_every") > 0:
            tags.append("train:eval_every")
        tags.append(f"status:{getattr(self, 'status', '?')}")
        return tags


# ---------------------------------------------------------------------------------------------
# Checks of one experiment folder
# ---------------------------------------------------------------------------------------------

def read_table(folder, name):
    path = os.path.join(folder, name)
    check(os.path.isfile(path), f"{name} is missing")
    with open(path, encoding="utf-8") as f:
        header, rows = common.check_csv_text(f.read(), path)
    return header, [dict(zip(header, row)) for row in rows]


def read_probe_rows(folder, name):
    """A probe's rows: none when its file is absent; a file holds rows (no run had the probe on
    writes no file), which the step checks then match against the plans."""
    if not os.path.isfile(os.path.join(folder, name)):
        return []
    _, rows = read_table(folder, name)
    check(rows, f"{name}: a probe file without rows (a probe no run had on writes no file)")
    return rows


def group_steps(rows, what, runs):
    """{run_id: {step: [rows]}}, checking run ids."""
    out = collections.defaultdict(lambda: collections.defaultdict(list))
    for row in rows:
        run_id = int(row["run_id"])
        check(0 <= run_id < runs,
              f"{what}: run_id {run_id} is not a run of the grid (0..{runs - 1})")
        out[run_id][int(row["step"])].append(row)
    return out


def expected_steps(planned, status, steps_run):
    """The probe steps a run that ran `steps_run` steps must have (required) and may have
    (optional): the planned ones up to where it stopped. A run that diverged in its last update
    did not reach steps_run; a run stopped early may or may not probe its last step."""
    required = {s for s in planned if s < steps_run}
    optional = set()
    if steps_run in planned:
        (optional if status == "diverged" else required).add(steps_run)
    elif steps_run < max(planned, default=-1):
        optional.add(steps_run)
    return required, optional


def check_step_set(got, required, optional, what):
    missing = sorted(required - got)
    extra = sorted(got - required - optional)
    check(not missing and not extra,
          f"{what}: steps {sorted(got)}; expected {sorted(required)}"
          + (f" (and possibly {sorted(optional)})" if optional else "")
          + (f"; missing {missing}" if missing else "")
          + (f"; unexpected {extra}" if extra else ""))


def read_npy(path):
    with open(path, "rb") as f:
        data = f.read()
    check(data[:6] == b"\x93NUMPY", f"{path}: not a .npy file")
    if data[6] == 1:
        length, start = struct.unpack("<H", data[8:10])[0], 10
    else:
        length, start = struct.unpack("<I", data[8:12])[0], 12
    header = ast.literal_eval(data[start:start + length].decode("latin1"))
    count = math.prod(header["shape"])
    size = int(header["descr"][2:])
    check(len(data) - start - length == count * size,
          f"{path}: {len(data) - start - length} data bytes for shape {header['shape']}")
    return header


def check_experiment(folder, grid, plans):
    """Every file of one experiment folder against the spec (docs/csv.md)."""
    R = len(plans)
    present = sorted(os.listdir(folder))
    for name in FILES + ("spec.toml", "meta.json"):
        check(name in present, f"{name} is missing (folder holds {present})")
    for name in present:
        if name.endswith(".csv"):
            read_table(folder, name)  # 2. every CSV parses

    # runs.csv: one row per run, in grid order, with the run's identity and a setting column per
    # spec key (docs/csv.md), the grid axes among them.
    header, runs = read_table(folder, "runs.csv")
    check(len(runs) == R, f"runs.csv: {len(runs)} rows for a grid of {R} runs")
    fixed = header.index("verdict") + 1  # the last fixed column (docs/csv.md)
    if header[fixed:fixed + 2] == ["final_val_loss", "final_val_acc"]:
        fixed += 2
    settings = header[fixed:]
    axes = [a for a in grid.axes if a != "seed"]
    check(all("." in c for c in settings) and len(set(settings)) == len(settings),
          f"runs.csv: setting columns {settings} (one per dotted key)")
    missing = [k for k in list(DEFAULTS) + axes if k != "seed" and k not in settings]
    check(not missing, f"runs.csv: no setting column for {missing}")
    _, curves = read_table(folder, "curves.csv")
    curves_by_run = group_steps(curves, "curves.csv", R)
    for i, (row, plan, run) in enumerate(zip(runs, plans, grid.runs)):
        where = f"runs.csv run {i}"
        check(row["run_id"] == str(i), f"{where}: run_id {row['run_id']} (rows in grid order)")
        check(row["experiment"] == grid.name, f"{where}: experiment {row['experiment']}")
        check(row["init.scheme"] == plan.scheme, f"{where}: init.scheme {row['init.scheme']!r}, "
              f"the spec has {plan.scheme!r}")
        base, _, arg = plan.activation.partition("(")
        activation = base
        if arg and base in ACTIVATION_DEFAULT_PARAM:
            param, default = ACTIVATION_DEFAULT_PARAM[base]
            value = float(arg.rstrip(")").split("=")[-1])
            if value != default:
                activation = f"{base}({param}={shortest(value)})"
        # as the spec wrote it, or (unset) the default's name
        check(row["model.activation"] in (plan.activation, activation),
              f"{where}: model.activation {row['model.activation']}, expected {activation}")
        check(row["layers"] == "-".join(map(str, plan.sizes)),
              f"{where}: layers {row['layers']}, expected {plan.sizes}")
        check(int(row["depth"]) == plan.L - 1, f"{where}: depth {row['depth']}")
        check(int(row["width"]) == max(plan.sizes[1:-1], default=0),
              f"{where}: width {row['width']}")
        check(int(row["seed"]) == plan.seed, f"{where}: seed {row['seed']}, expected {plan.seed}")
        check(number(row["train.lr"]) == plan.lr,
              f"{where}: train.lr {row['train.lr']}, expected {plan.lr}")
        for axis, text in grid.axis_values(run):
            if axis != "seed":
                check(row[axis] == text,
                      f"{where}: column {axis} = {row[axis]!r}, expected {text!r}")
        # Status and the steps it implies.
        status, steps_run = row["status"], int(row["steps_run"])
        to_target, stall = int(row["steps_to_target"]), int(row["stall_step"])
        check(status in STATUSES, f"{where}: status {status!r}")
        check(0 <= steps_run <= plan.total, f"{where}: steps_run {steps_run} of {plan.total}")
        if status == "not_converged":
            check(steps_run == plan.total and to_target == -1,
                  f"{where}: not_converged after {steps_run} of {plan.total} steps, "
                  f"steps_to_target {to_target}")
        if status == "converged":
            check(plan.has_target and 0 <= to_target <= steps_run,
                  f"{where}: converged with steps_to_target {to_target}")
            check(steps_run == (to_target if plan.stop_at_target else plan.total),
                  f"{where}: converged at {to_target}, stopped at {steps_run} of {plan.total} "
                  f"(stop_at_target {plan.stop_at_target})")
        if status == "stalled":
            check(plan.stop_on_stall and stall == steps_run,
                  f"{where}: stalled at {steps_run} with stall_step {stall}")
        if not plan.has_target:
            check(to_target == -1, f"{where}: steps_to_target {to_target} without a target")
        if plan.stall_window == 0:
            check(stall == -1, f"{where}: stall_step {stall} without a stall window")

        # curves.csv: step 0, every eval_every, the last step (where the run ended), and the
        # step of a divergence; final_* are its last row.
        got = curves_by_run.get(i, {})
        for step, rows in got.items():
            check(len(rows) == 1, f"curves.csv run {i}: {len(rows)} rows at step {step}")
        wanted = {s for s in plan.eval_steps if s <= steps_run} | {steps_run}
        check_step_set(set(got), wanted, set(), f"curves.csv run {i} ({status} at {steps_run} of "
                       f"{plan.total} steps)")
        last = got[max(got)][0]
        for column in ("train_loss", "train_acc", "test_loss", "test_acc"):
            check(row["final_" + column] == last[column],
                  f"{where}: final_{column} {row['final_' + column]} is not the last row of "
                  f"curves.csv ({last[column]} at step {last['step']})")
        for step, (c,) in got.items():
            if plan.n_test == 0:
                check(c["test_loss"] == "nan" and c["test_acc"] == "nan",
                      f"curves.csv run {i} step {step}: test set empty, test columns "
                      f"{c['test_loss']}, {c['test_acc']}")
            for column in ("train_acc", "test_acc"):
                if plan.output == "linear":
                    check(c[column] == "nan", f"curves.csv run {i} step {step}: {column} "
                          f"{c[column]} with a linear output")
                elif column == "train_acc" or plan.n_test > 0:
                    check(0 <= number(c[column]) <= 1,
                          f"curves.csv run {i} step {step}: {column} {c[column]}")
        plan.status, plan.steps_run = status, steps_run

        # The verdict columns (docs/diagnosis.md): legal values; a probe that was off gives
        # unknown; a diverged status is a diverged verdict; the summary names every yes.
        for column in VERDICT_COLUMNS:
            check(row[column] in ("yes", "no", "unknown", "n/a"),
                  f"{where}: {column} {row[column]!r}")
        check(row["phase"] in ("ordered", "critical", "chaotic", "n/a"),
              f"{where}: phase {row['phase']!r}")
        if not plan.probe_steps["symmetry"] or plan.L < 2:
            check(row["symmetric"] == "unknown", f"{where}: symmetric {row['symmetric']!r} "
                  f"without the symmetry probe")
        if not plan.probe_steps["layers"]:
            for column in ("saturated", "dead"):
                check(row[column] == "unknown",
                      f"{where}: {column} {row[column]!r} without the layers probe")
        if status == "diverged":
            check(row["diverged"] == "yes", f"{where}: status diverged, verdict {row['diverged']}")
        failures = ([c for c in VERDICT_COLUMNS[:5] if row[c] == "yes"]
                    + ([row["phase"]] if row["phase"] in ("ordered", "chaotic") else [])
                    + [c for c in VERDICT_COLUMNS[5:] if row[c] == "yes"])
        expected = "+".join(failures) if failures else "ok"
        check(row["verdict"] == expected or (not failures and row["verdict"].startswith("ok (")),
              f"{where}: verdict {row['verdict']!r}, the columns say {expected!r}")

    # summary.csv: one row per setting (every axis but seed), in grid order.
    _, summary = read_table(folder, "summary.csv")
    settings = collections.OrderedDict()
    for i, run in enumerate(grid.runs):
        key = tuple(t for a, t in grid.axis_values(run) if a != "seed")
        settings.setdefault(key, []).append(i)
    check(len(summary) == len(settings),
          f"summary.csv: {len(summary)} rows for {len(settings)} settings")
    for row, (key, ids) in zip(summary, settings.items()):
        check(tuple(row[a] for a in axes) == key, f"summary.csv: setting {row} is not {key}")
        check(int(row["runs"]) == len(ids), f"summary.csv {key}: runs {row['runs']}, expected "
              f"{len(ids)}")
        for status in STATUSES:
            count = sum(runs[i]["status"] == status for i in ids)
            check(int(row[status]) == count, f"summary.csv {key}: {status} {row[status]}, "
                  f"runs.csv has {count}")

    # timings.csv: one row per run.
    _, timings = read_table(folder, "timings.csv")
    check(sorted(int(r["run_id"]) for r in timings) == list(range(R)),
          f"timings.csv: run ids {[r['run_id'] for r in timings]}")

    # layers.csv: l = 1..L at each probe step, with the layer's fans.
    rows = read_probe_rows(folder, "layers.csv")
    by_run = group_steps(rows, "layers.csv", R)
    for i, plan in enumerate(plans):
        required, optional = expected_steps(plan.probe_steps["layers"], plan.status,
                                            plan.steps_run)
        got = by_run.get(i, {})
        check_step_set(set(got), required, optional, f"layers.csv run {i}")
        for step, rows_at in got.items():
            layers = sorted(int(r["layer"]) for r in rows_at)
            check(layers == list(range(1, plan.L + 1)),
                  f"layers.csv run {i} step {step}: layers {layers}, expected 1..{plan.L}")
            for r in rows_at:
                l = int(r["layer"])
                check((int(r["fan_in"]), int(r["fan_out"])) == (plan.sizes[l - 1], plan.sizes[l]),
                      f"layers.csv run {i} step {step} layer {l}: fans {r['fan_in']}, "
                      f"{r['fan_out']}; layers are {plan.sizes}")
            if step == 0:
                check(all(r["update_ratio"] == "nan" for r in rows_at),
                      f"layers.csv run {i}: update_ratio at step 0 is not nan")

    # symmetry.csv: hidden layers 1..L-1 at each symmetry step.
    rows = read_probe_rows(folder, "symmetry.csv")
    by_run = group_steps(rows, "symmetry.csv", R)
    for i, plan in enumerate(plans):
        planned = plan.probe_steps["symmetry"] if plan.L > 1 else set()
        required, optional = expected_steps(planned, plan.status, plan.steps_run)
        got = by_run.get(i, {})
        check_step_set(set(got), required, optional, f"symmetry.csv run {i}")
        for step, rows_at in got.items():
            layers = sorted(int(r["layer"]) for r in rows_at)
            check(layers == list(range(1, plan.L)),
                  f"symmetry.csv run {i} step {step}: layers {layers}, expected 1..{plan.L - 1}")
            for r in rows_at:
                l = int(r["layer"])
                check(int(r["width"]) == plan.sizes[l],
                      f"symmetry.csv run {i} step {step} layer {l}: width {r['width']}")
                check(1 <= int(r["distinct_neurons"]) <= plan.sizes[l],
                      f"symmetry.csv run {i} step {step} layer {l}: distinct_neurons "
                      f"{r['distinct_neurons']} of {plan.sizes[l]}")

    # histograms.csv: per step, layer and quantity one row: the counts of the bins plus under- and
    # overflow, adding up to units x probe samples, with a range fixed over the run.
    rows = read_probe_rows(folder, "histograms.csv")
    by_run = group_steps(rows, "histograms.csv", R)
    for i, plan in enumerate(plans):
        required, optional = expected_steps(plan.probe_steps["histograms"], plan.status,
                                            plan.steps_run)
        got = by_run.get(i, {})
        check_step_set(set(got), required, optional, f"histograms.csv run {i}")
        edges = {}
        for step, rows_at in got.items():
            hist = collections.defaultdict(list)
            for r in rows_at:
                hist[(int(r["layer"]), r["quantity"])].append(r)
            wanted = {(l, q) for l in range(1, plan.L + 1) for q in ("activation", "delta")}
            check(set(hist) == wanted, f"histograms.csv run {i} step {step}: (layer, quantity) "
                  f"{sorted(hist)}, expected layers 1..{plan.L} x activation, delta")
            n = plan.probe_samples(step)
            for (l, q), rows_lq in hist.items():
                where = f"histograms.csv run {i} step {step} layer {l} {q}"
                check(len(rows_lq) == 1, f"{where}: {len(rows_lq)} rows, expected one histogram")
                counts = [int(c) for c in rows_lq[0]["counts"].split(" ")]
                check(len(counts) == plan.bins + 2,
                      f"{where}: {len(counts)} counts, expected {plan.bins} + under- and overflow")
                total = sum(counts)
                check(total == plan.sizes[l] * n,
                      f"{where}: counts add up to {total}, expected {plan.sizes[l]} units x {n} "
                      f"probe samples")
                edge = (rows_lq[0]["lo"], rows_lq[0]["hi"])
                check(edges.setdefault((l, q), edge) == edge,
                      f"{where}: bin edges differ from the first histogram's (they are fixed)")

    # jacobian.csv: per step, min(jacobian_samples, probe samples) samples, each with
    # min(n_0, n_L) singular values in decreasing order.
    rows = read_probe_rows(folder, "jacobian.csv")
    by_run = group_steps(rows, "jacobian.csv", R)
    for i, plan in enumerate(plans):
        required, optional = expected_steps(plan.probe_steps["jacobian"], plan.status,
                                            plan.steps_run)
        got = by_run.get(i, {})
        check_step_set(set(got), required, optional, f"jacobian.csv run {i}")
        for step, rows_at in got.items():
            samples = min(plan.jacobian_samples, plan.probe_samples(step))
            k = min(plan.sizes[0], plan.sizes[-1])
            pairs = sorted((int(r["sample"]), int(r["k"])) for r in rows_at)
            wanted = [(s, j) for s in range(samples) for j in range(1, k + 1)]
            check(pairs == wanted, f"jacobian.csv run {i} step {step}: (sample, k) {pairs}, "
                  f"expected samples 0..{samples - 1} x k 1..{k}")
            for s in range(samples):
                values = [number(r["singular_value"]) for r in
                          sorted(rows_at, key=lambda r: int(r["k"])) if int(r["sample"]) == s]
                if all(math.isfinite(v) for v in values):
                    check(all(v >= 0 for v in values) and values == sorted(values, reverse=True),
                          f"jacobian.csv run {i} step {step} sample {s}: singular values "
                          f"{values} are not non-negative and decreasing")

    # correlation.csv: per step, layers 0..L x the first min(correlation_pairs, n // 2) pairs of
    # the probe batch (none when it holds one sample), q_a, q_b >= 0 and |correlation| <= 1.
    rows = read_probe_rows(folder, "correlation.csv")
    by_run = group_steps(rows, "correlation.csv", R)
    for i, plan in enumerate(plans):
        pairs_at = lambda t: min(plan.correlation_pairs, plan.probe_samples(t) // 2)
        planned = {t for t in plan.probe_steps["correlation"] if pairs_at(t) > 0}
        required, optional = expected_steps(planned, plan.status, plan.steps_run)
        got = by_run.get(i, {})
        check_step_set(set(got), required, optional, f"correlation.csv run {i}")
        for step, rows_at in got.items():
            where = f"correlation.csv run {i} step {step}"
            cells = sorted((int(r["layer"]), int(r["pair"])) for r in rows_at)
            wanted = [(l, p) for l in range(plan.L + 1) for p in range(pairs_at(step))]
            check(cells == wanted, f"{where}: (layer, pair) {cells}, expected layers "
                  f"0..{plan.L} x pairs 0..{pairs_at(step) - 1}")
            for r in rows_at:
                q_a, q_b, c = number(r["q_a"]), number(r["q_b"]), number(r["correlation"])
                check(not (q_a < 0 or q_b < 0 or abs(c) > 1 + 1e-9),
                      f"{where} layer {r['layer']}: q_a {q_a}, q_b {q_b}, correlation {c}")

    # layer_jacobian.csv: per step, hidden layers 1..L-1 x min(layer_jacobian_samples, probe
    # samples) samples, with 0 <= min <= mean <= max singular value.
    rows = read_probe_rows(folder, "layer_jacobian.csv")
    by_run = group_steps(rows, "layer_jacobian.csv", R)
    for i, plan in enumerate(plans):
        planned = plan.probe_steps["layer_jacobian"] if plan.L > 1 else set()
        required, optional = expected_steps(planned, plan.status, plan.steps_run)
        got = by_run.get(i, {})
        check_step_set(set(got), required, optional, f"layer_jacobian.csv run {i}")
        for step, rows_at in got.items():
            where = f"layer_jacobian.csv run {i} step {step}"
            samples = min(plan.layer_jacobian_samples, plan.probe_samples(step))
            cells = sorted((int(r["sample"]), int(r["layer"])) for r in rows_at)
            wanted = [(s, l) for s in range(samples) for l in range(1, plan.L)]
            check(cells == wanted, f"{where}: (sample, layer) {cells}, expected samples "
                  f"0..{samples - 1} x layers 1..{plan.L - 1}")
            for r in rows_at:
                lo, mean, hi = (number(r[c]) for c in ("min_singular_value",
                                                       "mean_singular_value",
                                                       "max_singular_value"))
                if all(math.isfinite(v) for v in (lo, mean, hi)):
                    check(0 <= lo <= mean * (1 + 1e-12) and mean <= hi * (1 + 1e-12),
                          f"{where} layer {r['layer']}: min {lo}, mean {mean}, max {hi}")

    # weights/<run_id>/step<N>/: W<l>.npy (fan_out, fan_in) and b<l>.npy (fan_out,).
    weights = os.path.join(folder, "weights")
    listed = sorted(os.listdir(weights)) if os.path.isdir(weights) else []
    for name in listed:
        check(name.isdigit() and int(name) < R and plans[int(name)].dump_steps,
              f"weights/{name}: not a run that dumps weights")
    for i, plan in enumerate(plans):
        required, optional = expected_steps(plan.dump_steps, plan.status, plan.steps_run)
        run_dir = os.path.join(weights, str(i))
        steps = sorted(os.listdir(run_dir)) if os.path.isdir(run_dir) else []
        check(all(re.fullmatch(r"step\d+", s) for s in steps), f"weights/{i}: entries {steps}")
        check_step_set({int(s[4:]) for s in steps}, required, optional, f"weights/{i}")
        dtype = "<f8" if plan.precision == "double" else "<f4"
        for s in steps:
            files = sorted(os.listdir(os.path.join(run_dir, s)))
            wanted = sorted([f"W{l}.npy" for l in range(1, plan.L + 1)]
                            + [f"b{l}.npy" for l in range(1, plan.L + 1)])
            check(files == wanted, f"weights/{i}/{s}: files {files}, expected {wanted}")
            for l in range(1, plan.L + 1):
                for prefix, shape in (("W", (plan.sizes[l], plan.sizes[l - 1])),
                                      ("b", (plan.sizes[l],))):
                    header = read_npy(os.path.join(run_dir, s, f"{prefix}{l}.npy"))
                    # Either memory order is a valid .npy; NumPy reads the same matrix.
                    check(header["descr"] == dtype and tuple(header["shape"]) == shape,
                          f"weights/{i}/{s}/{prefix}{l}.npy: {header}, expected {dtype} {shape}")

    # meta.json and the resolved spec.toml, which must give the same grid in the same order.
    with open(os.path.join(folder, "meta.json"), encoding="utf-8") as f:
        meta = json.load(f)
    check(meta.get("runs") == R and meta.get("experiment") == grid.name,
          f"meta.json: runs {meta.get('runs')}, experiment {meta.get('experiment')}")
    with open(os.path.join(folder, "spec.toml"), encoding="utf-8") as f:
        resolved_text = f.read()
    try:
        resolved = Grid(resolved_text, quick=False)
    except tomllib.TOMLDecodeError as e:
        raise Failure(f"spec.toml does not parse: {e}\n{resolved_text}")
    check("quick" not in tomllib.loads(resolved_text), "spec.toml still has [quick]")
    check(resolved.runs == grid.runs and resolved.axes == grid.axes,
          f"spec.toml does not expand to the same grid (axes {resolved.axes}, expected "
          f"{grid.axes}):\n{resolved_text}")


# ---------------------------------------------------------------------------------------------
# Random valid specs
# ---------------------------------------------------------------------------------------------

class Axis(list):
    """A grid axis: several values of one key."""


def scheme_catalog(binary):
    """[(name, [(param, default or None)])] from `BINARY schemes`, and the names it marks
    "weights only" (they cannot initialise a bias)."""
    result = common.run([binary, "schemes"], timeout=TIMEOUT)
    check(result.returncode == 0, f"`initbench schemes` failed\n{result.describe()}")
    schemes = []
    weights_only = set()
    residual_only = set()
    for line in result.stdout.splitlines():
        if line.startswith(" "):
            if line.strip().startswith("weights only") and schemes:
                weights_only.add(schemes[-1][0])
            if line.strip().startswith("residual nets only") and schemes:
                residual_only.add(schemes[-1][0])
            continue
        m = re.fullmatch(r"([a-z_][a-z0-9_]*)(?:\((.*)\))?", line.strip())
        if not m:
            continue
        params = []
        for item in (m.group(2) or "").split(","):
            if item.strip():
                name, _, default = item.strip().partition("=")
                params.append((name, default or None))
        schemes.append((m.group(1), params))
    check(len(schemes) >= 2, f"`initbench schemes` listed {schemes}")
    check(weights_only, "`initbench schemes` marked no scheme \"weights only\"")
    # the generator builds plain MLPs: the schemes of residual nets do not apply
    return [s for s in schemes if s[0] not in residual_only], weights_only


class Generator:
    def __init__(self, rng, catalog, workdir):
        self.rng = rng
        self.schemes, self.no_bias = catalog
        self.workdir = workdir

    def maybe(self, p=0.5):
        return self.rng.random() < p

    def scheme(self, square, m, for_bias=False):
        r = self.rng
        candidates = [s for s in self.schemes
                      if (square or s[0] != "identity")
                      and (m >= 2 or s[0] != "lsuv")  # lsuv needs 2 samples (not in the docs)
                      and s[0] != "npy"  # reads a folder of files: tests/test_check_init.py
                      and (not for_bias or s[0] not in self.no_bias)]
        name, params = r.choice(candidates)
        given = []
        for param, default in params:
            if default is not None and not self.maybe(0.35):
                continue
            values = SCHEME_PARAM_VALUES.get((name, param), PARAM_VALUES.get(param, ["0.5"]))
            given.append((param, r.choice(values)))
        if name == "uniform":
            low, high = r.choice([("-0.05", "0.05"), ("0", "1"), ("-1", "0.5")])
            given = [("low", low), ("high", high)]
        if name == "truncated_normal":
            d = dict(given)
            mean, sd = float(d.get("mean", 0)), float(d.get("stddev", 0.1))
            given = [(p, v) for p, v in given if p not in ("low", "high")]
            if self.maybe(0.4):
                given.append(("low", shortest(mean - sd)))
                if self.maybe():
                    given.append(("high", shortest(mean + 2 * sd)))
        if not given:
            return name
        return f"{name}({', '.join(f'{p}={v}' for p, v in given)})"

    def activation(self):
        return self.rng.choice(ACTIVATIONS)

    # -- data ---------------------------------------------------------------------------------

    def data(self, d, name):
        """Fills [data]; returns (inputs, outputs, classes, m)."""
        r = self.rng
        kind = r.choice(KINDS)
        if kind != "circles" or self.maybe(0.8):
            d["kind"] = kind
        square = self.maybe(0.25)  # data with as many outputs as inputs, for identity

        def samples(low):
            m = r.choice([r.randint(low, 40), r.randint(low, low + 3)])
            if self.maybe(0.04):
                return 300  # the default
            d["train"] = m
            return m

        def extras(*keys):
            # Keys this kind does not use are ignored, but checked: sprinkle a few.
            for key in keys:
                if self.maybe(0.1):
                    d[key] = {"factor": 0.5, "cluster_std": 0.5, "center_box": 3.0, "hidden": 2,
                              "test_fraction": 0.3, "limit_train": 5, "limit_test": 2}[key]

        if kind in ("circles", "moons", "xor", "spirals", "blobs", "teacher"):
            if self.maybe(0.7):
                d["test"] = r.choice([0, r.randint(1, 15)])
            if self.maybe(0.4):
                d["noise"] = r.choice([0, 0.05, 0.2, 1])
            if self.maybe(0.15):
                d["standardize"] = self.maybe()
        if kind in ("circles", "moons", "xor"):
            if self.maybe(0.2):
                d["classes"] = r.choice([0, 2])
            if kind == "circles" and self.maybe(0.4):
                d["factor"] = r.choice([0, 0.3, 0.9])
            if kind == "circles" and self.maybe(0.15):  # NumPy's legacy generator, as sklearn
                d["generator"] = "numpy"
                d["numpy_seed"] = r.choice([0, 1, 2, 4294967295])
                d["numpy_test_seed"] = r.choice([0, 2, 7])
            extras("cluster_std", "hidden", "limit_train")
            return 2, 1, 2, samples(1 if kind == "xor" else 2)
        if kind == "spirals":
            k = r.choice([0, 0, 2, 3, 4])
            if k:
                d["classes"] = k
            classes = k or 2
            extras("factor", "center_box")
            return 2, (1 if classes == 2 else classes), classes, samples(classes)
        if kind == "blobs":
            k = r.choice([0, 0, 2, 3, 4])
            features = r.choice([None, 1, 2, 3])
            if square:
                k = features = r.choice([3, 4])
            if k:
                d["classes"] = k
            if features:
                d["features"] = features
            if self.maybe(0.3):
                d["cluster_std"] = r.choice([0, 0.5, 2])
            if self.maybe(0.3):
                d["center_box"] = r.choice([1, 3.5, 10])
            classes = k or 3
            extras("factor", "hidden")
            return features or 2, (1 if classes == 2 else classes), classes, samples(classes)
        if kind == "teacher":
            features = r.choice([None, 1, 2, 3])
            if self.maybe(0.4):
                d["hidden"] = r.choice([0, 1, 5])
            if self.maybe(0.4):
                d["classify"] = True
                k = r.choice([0, 0, 2, 3])
                if square:
                    k = features = r.choice([3, 4])
                if k:
                    d["classes"] = k
                if features:
                    d["features"] = features
                classes = k or 2
                outputs = 1 if classes == 2 else classes
            else:
                if self.maybe(0.2):
                    d["classify"] = False
                outputs = r.choice([None, 1, 2, 3])
                if square:
                    outputs = features = r.choice([1, 2, 3])
                if outputs:
                    d["outputs"] = outputs
                if features:
                    d["features"] = features
                classes, outputs = 0, outputs or 1
            return features or 2, outputs, classes, samples(1)
        folder = os.path.join(self.workdir, "data", name)
        os.makedirs(folder)
        relative = self.maybe()  # relative paths resolve against the working folder
        place = (lambda p: os.path.relpath(p, self.workdir)) if relative else (lambda p: p)
        if kind == "csv":
            return self.csv_data(d, folder, place, square)
        return self.idx_data(d, folder, place)

    def csv_data(self, d, folder, place, square):
        r = self.rng
        features = r.randint(1, 3)
        regression = self.maybe(0.35) or square
        targets = features if square else r.randint(1, 2)
        classes = r.randint(2, 4)
        names = [f"x{j}" for j in range(features)]
        target_names = [f"t{j}" for j in range(targets)] if regression else ["y"]
        columns = names + target_names
        r.shuffle(columns)

        def write(path, count, force_largest):
            labels = [r.randrange(classes) for _ in range(count)]
            if force_largest:
                labels[r.randrange(count)] = classes - 1
            with open(path, "w", encoding="utf-8") as f:
                f.write(",".join(f'"{c}"' if self.maybe(0.1) else c for c in columns) + "\n")
                for j in range(count):
                    cells = []
                    for c in columns:
                        cells.append(str(labels[j]) if c == "y" else f"{r.uniform(-2, 2):.3f}")
                    f.write(",".join(cells) + "\n")
                    if self.maybe(0.03):
                        f.write("\n")  # blank lines are skipped
        rows = r.randint(3, 40)
        train_path = os.path.join(folder, "train.csv")
        write(train_path, rows, True)
        d["path"] = place(train_path)
        if regression:
            d["targets"] = target_names
        else:
            d["label"] = "y"
        if self.maybe(0.35):
            test_rows = r.randint(1, 10)
            test_path = os.path.join(folder, "test.csv")
            write(test_path, test_rows, False)
            d["test_path"] = place(test_path)
            m = rows
        else:
            fraction = r.choice([None, 0, 0.2, 0.5])
            if fraction is not None:
                d["test_fraction"] = fraction
            n_test = math.floor(rows * (0.2 if fraction is None else fraction) + 0.5)
            m = rows - n_test
        if self.maybe(0.2):
            d["limit_train"] = r.randint(0, 30)
            m = limited(m, d["limit_train"])
        if self.maybe(0.2):
            d["limit_test"] = r.randint(0, 5)
        if self.maybe(0.2):
            d["standardize"] = self.maybe()
        if regression:
            return features, targets, 0, m
        if self.maybe(0.25):
            classes += r.choice([0, 1])
            d["classes"] = classes
        return features, (1 if classes == 2 else classes), classes, m

    def idx_data(self, d, folder, place):
        r = self.rng
        rows, cols = r.choice([(2, 2), (3, 2), (1, 3)])
        classes = r.randint(2, 4)

        def write(stem, count, force_largest):
            labels = [r.randrange(classes) for _ in range(count)]
            if force_largest:
                labels[r.randrange(count)] = classes - 1
            pixels = bytes(r.randrange(256) for _ in range(count * rows * cols))
            for suffix, data in (
                    ("images-idx3-ubyte", struct.pack(">IIII", 0x803, count, rows, cols) + pixels),
                    ("labels-idx1-ubyte", struct.pack(">II", 0x801, count) + bytes(labels))):
                path = os.path.join(folder, f"{stem}-{suffix}")
                if self.maybe(0.3):
                    with gzip.open(path + ".gz", "wb") as f:
                        f.write(data)
                else:
                    with open(path, "wb") as f:
                        f.write(data)
        m = r.randint(2, 30)
        write("train", m, True)
        write("t10k", r.choice([0, r.randint(1, 8), r.randint(1, 8)]), False)
        d["path"] = place(folder)
        if self.maybe(0.2):
            d["limit_train"] = r.randint(0, 30)
            m = limited(m, d["limit_train"])
        if self.maybe(0.2):
            d["limit_test"] = r.randint(0, 5)
        if self.maybe(0.2):
            d["standardize"] = self.maybe()
        if self.maybe(0.25):
            classes += r.choice([0, 1])
            d["classes"] = classes
        return rows * cols, (1 if classes == 2 else classes), classes, m

    # -- a whole spec -------------------------------------------------------------------------

    def spec(self, index):
        r = self.rng
        s = {t: {} for t in ("", "data", "model", "init", "train", "probes")}
        name = f"p{index:04d}" + r.choice(["", "", "", ".b", "_c-d"])
        s[""]["name"] = name
        if self.maybe(0.15):
            s[""]["description"] = r.choice(["random spec, with a comma", 'a "quoted" word'])
        if self.maybe(0.5):
            s[""]["seed"] = r.randint(0, 5)
        n_in, n_out, classes, m = self.data(s["data"], name)

        # [model]: the output the data allow, layers or depth x width, square for identity.
        model = s["model"]
        outputs = ["linear"] if classes == 0 else ["sigmoid", "linear"] if classes == 2 else \
            ["softmax", "linear"]
        output = r.choice(outputs)
        if output != "sigmoid" or self.maybe(0.6):
            model["output"] = output
        square = n_in == n_out and self.maybe(0.6)
        depth = r.choice([0, 1, 1, 2, 3])
        if depth and self.maybe(0.3):
            width = n_in if square else r.randint(1, 6)
            model["depth"], model["width"] = depth, width
            hidden = [width] * depth
        else:
            hidden = [n_in if square else r.randint(1, 6) for _ in range(depth)]
            model["layers"] = [n_in] + hidden + [n_out]
        square = all(n == n_in for n in hidden + [n_out])
        if self.maybe(0.8):
            model["activation"] = self.activation()
        if self.maybe(0.6):
            model["precision"] = r.choice(PRECISIONS)

        # [init]
        init = s["init"]
        if self.maybe(0.9):
            init["scheme"] = self.scheme(square, m)
        if self.maybe(0.25):
            init["bias"] = "default" if self.maybe(0.3) else self.scheme(True, m, for_bias=True)
        if self.maybe(0.2):
            init["scale"] = r.choice([0.5, 1, 2.0])
        if self.maybe(0.1):  # NumPy's legacy generator: one stream, layer after layer
            init["generator"] = "numpy"
            init["numpy_seed"] = r.choice([0, 3, 4294967295])

        # [train]: batch absent (full batch), 0, or a mini-batch; steps or epochs.
        train = s["train"]
        choice = r.random()
        if choice < 0.35:
            batch = m
        elif choice < 0.45:
            train["batch"], batch = 0, m
        else:
            train["batch"] = batch = r.randint(1, m)
        per_epoch = -(-m // batch)
        if self.maybe(0.25):
            train["epochs"] = r.randint(0, max(0, 40 // per_epoch))
            total = train["epochs"] * per_epoch
        else:
            train["steps"] = total = r.choice([0, r.randint(1, 30), r.randint(1, 8)])
        optimizer = r.choice(OPTIMIZERS)
        if optimizer != "sgd" or self.maybe(0.5):
            train["optimizer"] = optimizer
        if self.maybe(0.8):
            train["lr"] = r.choice([0.001, 0.01, 0.05, 0.1, 0.5, 1])
        if optimizer in ("momentum", "nesterov") and self.maybe(0.4):
            train["momentum"] = r.choice([0, 0.5, 0.99])
        if optimizer == "adam" and self.maybe(0.4):
            train["beta1"] = r.choice([0, 0.5, 0.9])
            train["beta2"] = r.choice([0.9, 0.999])
            train["eps"] = r.choice([1e-8, 0.001])
        if self.maybe(0.15):
            train["weight_decay"] = r.choice([0, 0.0001, 0.01])
        if self.maybe(0.5):
            train["eval_every"] = r.choice([0, r.randint(1, 10)])
        if self.maybe(0.3):
            if output == "linear" or self.maybe():
                train["target_loss"] = r.choice([0, 0.3, 0.6, 1])
            else:
                train["target_accuracy"] = r.choice([0.5, 0.7, 1])
            if self.maybe(0.6):
                train["stop_at_target"] = self.maybe(0.8)
        if self.maybe(0.2):
            train["stall_window"] = r.randint(1, 10)
            if self.maybe():
                train["stall_tolerance"] = r.choice([0, 0.0001, 0.1])
            if self.maybe():
                train["stop_on_stall"] = self.maybe(0.8)

        # [probes]
        probes = s["probes"]
        if self.maybe(0.85):
            if self.maybe(0.7):
                probes["every"] = r.choice([0, r.randint(1, 10), 1])
            if self.maybe(0.3):
                probes["schedule"] = r.choice(["every", "log"])
            if self.maybe(0.7):
                probes["batch"] = self.probe_batch(batch, m)
            for kind, every_key in (("histograms", "histogram_every"),
                                    ("symmetry", "symmetry_every"),
                                    ("jacobian", "jacobian_every"),
                                    ("correlation", "correlation_every"),
                                    ("layer_jacobian", "layer_jacobian_every")):
                if self.maybe(0.45):
                    probes[kind] = self.maybe(0.85)
                    if self.maybe(0.6):
                        probes[every_key] = r.choice([0, r.randint(1, 8)])
            if self.maybe(0.3):
                probes["histogram_bins"] = r.choice([1, 2, 7, 40])
            if self.maybe(0.2):
                probes["symmetry_tolerance"] = r.choice([0, 1e-6, 0.1])
            if self.maybe(0.3):
                probes["jacobian_samples"] = r.choice([1, 2, 5, 100])
            if self.maybe(0.3):
                probes["correlation_pairs"] = r.choice([1, 2, 5, 100])
            if self.maybe(0.3):
                probes["layer_jacobian_samples"] = r.choice([1, 2, 5])
            if self.maybe(0.3):
                count = r.randint(0, min(3, total + 1))
                probes["dump_weights"] = sorted(r.sample(range(total + 1), count))

        self.axes(s, n_in, n_out, classes, m, batch, total, square, output)
        quick = self.quick(s, total) if self.maybe(0.15) else None
        return name, self.text(s, quick)

    def probe_batch(self, batch, m):
        r = self.rng
        choices = [0, batch, m, r.randint(m + 1, m + 50)]
        if batch > 1:
            choices.append(r.randint(1, batch - 1))
        return r.choice(choices)

    def axes(self, s, n_in, n_out, classes, m, batch, total, square, output):
        """Turns up to three keys into grid axes, every value valid with the rest of the spec."""
        r = self.rng
        dumps = s["probes"].get("dump_weights", [])
        candidates = {
            ("", "seed"): lambda: r.randint(0, 9),
            ("model", "activation"): self.activation,
            ("model", "precision"): lambda: r.choice(PRECISIONS),
            ("init", "scheme"): lambda: self.scheme(square, m),
            ("init", "scale"): lambda: r.choice([0.5, 1, 2.0, 3]),
            ("train", "optimizer"): lambda: r.choice(OPTIMIZERS),
            ("train", "lr"): lambda: r.choice([0.001, 0.01, 0.1, 1e-05, 0.3]),
            ("train", "eval_every"): lambda: r.randint(0, 6),
            ("probes", "every"): lambda: r.randint(0, 6),
            ("probes", "schedule"): lambda: r.choice(["every", "log"]),
            ("probes", "batch"): lambda: self.probe_batch(batch, m),
            ("probes", "histograms"): lambda: self.maybe(),
            ("probes", "symmetry"): lambda: self.maybe(),
            ("probes", "jacobian"): lambda: self.maybe(),
            ("probes", "correlation"): lambda: self.maybe(),
            ("probes", "layer_jacobian"): lambda: self.maybe(),
            ("probes", "symmetry_every"): lambda: r.randint(0, 5),
            ("probes", "histogram_every"): lambda: r.randint(0, 5),
            ("probes", "jacobian_every"): lambda: r.randint(0, 5),
            ("probes", "dump_weights"): lambda: sorted(r.sample(range(total + 1),
                                                                r.randint(0, min(2, total + 1)))),
        }
        if "target_accuracy" not in s["train"]:
            candidates[("model", "output")] = lambda: r.choice(
                ["linear"] if classes == 0 else ["sigmoid", "linear"] if classes == 2
                else ["softmax", "linear"])
        if "steps" in s["train"]:
            low = max(dumps, default=0)
            candidates[("train", "steps")] = lambda: r.randint(low, max(low, 20))
            candidates[("train", "batch")] = lambda: r.choice([0, r.randint(1, m)])
        if "layers" in s["model"]:
            def layers():
                depth = r.randint(0, 2)
                hidden = [n_in if square else r.randint(1, 5) for _ in range(depth)]
                return [n_in] + hidden + [n_out]
            candidates[("model", "layers")] = layers
        if s["data"].get("kind", "circles") not in ("csv", "idx"):
            candidates[("data", "noise")] = lambda: r.choice([0, 0.1, 0.5])
        keys = r.sample(sorted(candidates), r.choice([0, 0, 1, 1, 2, 3]))
        if ("train", "steps") in keys and ("probes", "dump_weights") in keys:
            keys.remove(("probes", "dump_weights"))
        runs = 1
        for section, key in keys:
            values = []
            for _ in range(r.randint(1, 3) if runs < 8 else 1):
                value = candidates[(section, key)]()
                if value not in values:
                    values.append(value)
            current = s[section].get(key)
            if current is not None and current not in values and self.maybe(0.7):
                values.insert(r.randrange(len(values) + 1), current)
            s[section][key] = Axis(values)
            runs *= len(values)

    def quick(self, s, total):
        """A [quick] table of valid overrides (checked always, applied with --quick)."""
        r = self.rng
        q = {}
        if self.maybe():
            q["seed"] = r.choice([[1], [1, 2], 7])
        if self.maybe(0.6):
            dumps = s["probes"].get("dump_weights", [])
            lists = dumps if isinstance(dumps, Axis) else [dumps]
            low = max(max(x, default=0) for x in lists)
            q["train.steps"] = r.randint(low, max(low, 12))
        if self.maybe(0.4):
            q["probes.every"] = r.randint(0, 4)
        if self.maybe(0.3) and s["data"].get("kind", "circles") not in ("csv", "idx"):
            q["data.test"] = r.randint(0, 5)
        return q

    def text(self, s, quick):
        r = self.rng
        lines = [f"{k} = {toml_value(v)}" for k, v in s[""].items()]
        tables = ["data", "model", "init", "train", "probes"]
        if self.maybe(0.3):
            r.shuffle(tables)
        for table in tables:
            items = list(s[table].items())
            if not items and self.maybe(0.7):
                continue
            if self.maybe(0.3):
                r.shuffle(items)
            lines += ["", f"[{table}]"] + [f"{k} = {toml_value(v)}" for k, v in items]
        if quick:
            lines += ["", "[quick]"]
            if "seed" in quick:
                lines.append(f"seed = {toml_value(quick['seed'])}")
            dotted = [(k, v) for k, v in quick.items() if k != "seed"]
            if self.maybe():
                lines += [f"{k} = {toml_value(v)}" for k, v in dotted]
            else:
                by_table = collections.defaultdict(list)
                for k, v in dotted:
                    table, _, key = k.partition(".")
                    by_table[table].append(f"{key} = {toml_value(v)}")
                for table, body in by_table.items():
                    lines += [f"[quick.{table}]"] + body
        return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# Running and reporting
# ---------------------------------------------------------------------------------------------

class Case:
    def __init__(self, label, path, text, cwd):
        self.label, self.path, self.text, self.cwd = label, path, text, cwd


class Reporter:
    def __init__(self):
        self.failures = 0

    def fail(self, case, what, result=None, command=None):
        """`result`: the failed invocation of this spec alone; `command`: how to rerun the spec
        alone, and its output folder, when the spec ran fine in a batch but its files did not."""
        self.failures += 1
        if self.failures > SHOWN_IN_FULL:
            print(f"FAIL {case.label} ({case.path}): {what.splitlines()[0]}")
            return
        print(f"FAIL {case.label}: {what}")
        print(f"--- spec {case.path} (working folder {case.cwd}):\n{case.text}---")
        if result is not None:
            print(result.describe())
        if command is not None:
            print(command)
        sys.stdout.flush()


def run_initbench(binary, cases, out, quick):
    args = [binary, "run", *[c.path for c in cases], "--out", out, "--no-plot", "--threads", "2"]
    if quick:
        args.append("--quick")
    return common.run(args, cwd=cases[0].cwd, timeout=TIMEOUT)


def outcome(result):
    """Why an invocation failed, or None."""
    if result.timed_out:
        return f"timed out after {TIMEOUT} s"
    if result.returncode is not None and result.returncode < 0:
        return f"killed by {common.signal_name(result.returncode)}"
    if result.returncode != 0:
        return f"exit status {result.returncode}" + (
            " (a signal, through a shell)" if result.returncode > 128 else "")
    return None


def check_case(binary, case, folder, quick, reporter, stats):
    name = None
    try:
        grid = Grid(case.text, quick)
        name = grid.name
        plans = [Plan(run, case.cwd) for run in grid.runs]
        check_experiment(os.path.join(folder, grid.name), grid, plans)
    except Exception as e:  # Failure, or an unreadable output (or a bug in this test)
        what = f"check failed: {e}" if isinstance(e, Failure) else \
            f"check raised {type(e).__name__}: {e}"
        command = (f"output: {os.path.join(folder, name or '?')}\n"
                   f"rerun alone (in {case.cwd}): {binary} run {case.path} --out OUT --no-plot "
                   f"--threads 2" + (" --quick" if quick else ""))
        reporter.fail(case, what, command=command)
        return
    stats["runs"] += len(plans)
    for plan in plans:
        stats["tags"].update(plan.tags())
    if quick and "quick" in tomllib.loads(case.text):
        stats["tags"]["spec:quick"] += 1
    if grid.axes:
        stats["tags"]["spec:grid"] += 1


def run_cases(binary, cases, out, quick, reporter, stats, label):
    """Runs a batch; on failure runs each spec alone to name the failing ones."""
    os.makedirs(out)
    result = run_initbench(binary, cases, out, quick)
    stats["invocations"] += 1
    if outcome(result) is None:
        for case in cases:
            check_case(binary, case, out, quick, reporter, stats)
        return
    if len(cases) == 1:
        reporter.fail(cases[0], f"initbench {outcome(result)}", result)
        return
    print(f"note: batch {label} failed ({outcome(result)}); running its specs one by one")
    for j, case in enumerate(cases):
        run_cases(binary, [case], f"{out}-{j}", quick, reporter, stats, f"{label}-{j}")


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("binary")
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", help="keep the specs, data and outputs in this (new or empty) "
                        "folder")
    parser.add_argument("--regressions-only", action="store_true")
    args = parser.parse_args(argv[1:])
    if os.environ.get("INITBENCH_PROPERTY_COUNT"):
        args.count = int(os.environ["INITBENCH_PROPERTY_COUNT"])
    binary = os.path.abspath(args.binary)
    if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
        print(f"SKIP: {binary} is missing or not executable")
        return 77
    start = time.monotonic()
    if args.keep:
        if os.path.exists(args.keep) and os.listdir(args.keep):
            print(f"{argv[0]}: --keep {args.keep}: the folder is not empty", file=sys.stderr)
            return 2
        os.makedirs(args.keep, exist_ok=True)
        work = os.path.abspath(args.keep)
    else:
        work = tempfile.mkdtemp(prefix="initbench_property_")
    reporter = Reporter()
    stats = {"runs": 0, "invocations": 0, "tags": collections.Counter()}

    regression_files, cases, catalog = [], [], ([], set())
    try:
        # Regressions first, one invocation each (their data paths are relative to their folder).
        if os.path.isdir(REGRESSIONS):
            regression_files = sorted(f for f in os.listdir(REGRESSIONS) if f.endswith(".toml"))
        for n, file in enumerate(regression_files):
            path = os.path.join(REGRESSIONS, file)
            with open(path, encoding="utf-8") as f:
                case = Case(f"regression {file}", path, f.read(), REGRESSIONS)
            run_cases(binary, [case], os.path.join(work, "out", f"r{n:03d}"), False, reporter,
                      stats, f"r{n:03d}")

        count = 0 if args.regressions_only else args.count
        if count:
            rng = random.Random(args.seed)
            try:
                catalog = scheme_catalog(binary)
                generator = Generator(rng, catalog, work)
            except Failure as e:
                print(f"FAIL {e}")
                return 1
            os.makedirs(os.path.join(work, "specs"))
            for index in range(count):
                name, text = generator.spec(index)
                path = os.path.join(work, "specs", name + ".toml")
                with open(path, "w", encoding="utf-8") as f:
                    f.write(text)
                cases.append(Case(f"spec {index} (seed {args.seed})", path, text, work))
            for b in range(0, count, BATCH):
                quick = rng.random() < 0.5
                label = f"b{b // BATCH:03d}"
                run_cases(binary, cases[b:b + BATCH], os.path.join(work, "out", label), quick,
                          reporter, stats, label)
    except OSError as e:  # the binary vanished or was being rebuilt while the test ran
        print(f"FAIL cannot run {binary}: {e}")
        return 1

    tags = stats["tags"]
    scheme_names = [s[0] for s in catalog[0]] if count else []
    wanted = ([f"kind:{k}" for k in KINDS] + [f"act:{a}" for a in ACTIVATIONS]
              + [f"out:{o}" for o in ("sigmoid", "softmax", "linear")]
              + [f"opt:{o}" for o in OPTIMIZERS] + [f"prec:{p}" for p in PRECISIONS]
              + [f"scheme:{s}" for s in scheme_names])
    missing = [w for w in wanted if not tags[w]] if count else []
    kinds = " ".join(f"{k} {tags['kind:' + k]}" for k in KINDS)
    probes = ", ".join(f"{t} {n}" for t, n in sorted(tags.items())
                       if t.startswith(("probe:", "pbatch:", "train:", "spec:", "status:")))
    covered = lambda prefix, names: sum(1 for n in names if tags[f"{prefix}:{n}"])  # noqa: E731
    print(f"property.specs: {len(regression_files)} regressions + {len(cases)} random specs "
          f"(seed {args.seed}), {stats['runs']} runs checked, {stats['invocations']} invocations, "
          f"{time.monotonic() - start:.1f} s, {reporter.failures} failed; "
          f"kinds: {kinds}; schemes {covered('scheme', scheme_names)}/{len(scheme_names)}, "
          f"activations {covered('act', ACTIVATIONS)}/{len(ACTIVATIONS)}, "
          f"optimizers {covered('opt', OPTIMIZERS)}/{len(OPTIMIZERS)}; "
          f"runs (spec: specs) per setting: {probes}"
          + (f"; not covered: {' '.join(missing)}" if missing else ""))
    if reporter.failures:
        print(f"(kept {work} for inspection)" if not args.keep else f"(kept in {work})")
        return 1
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
