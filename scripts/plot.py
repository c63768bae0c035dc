#!/usr/bin/python3
"""Plot an initbench experiment folder: DIR/*.csv -> DIR/plots/*.png.

Usage: /usr/bin/python3 scripts/plot.py DIR     (or --help)

Reads the CSV reports `initbench run` writes (docs/csv.md) and draws the figures the course and
the papers show, whichever the data allows. One line is printed per figure written
("wrote DIR/plots/NAME.png") and one per figure skipped ("note: ..."). Figures:

  curves.png           train/test loss and accuracy over steps per setting: mean over seeds, band
                       min..max over seeds, log loss axis when the loss spans a decade or more,
                       diverged runs marked x at the step they stopped (the blown-up value of
                       that last evaluation is not averaged in), the target as a dotted line.
  layers.png           Glorot & Bengio (2010) style profiles across layers l = 1..L at step 0 and
                       up to three later probe steps: std of the pre-activation z_l with the
                       mean-field prediction sqrt(meanfield_preact_var) dashed beside it, std of
                       the activation a_l, and the back-propagated gradient norm ||dL/dz_l||.
  hist_activation.png  per-layer histograms of a_l (one panel per layer, one row per setting; the
  hist_delta.png       first run of the setting), step 0 and the last histogram step overlaid;
                       likewise for dL/dz_l (log count axis).
  saturated.png        saturated fraction (tanh |a| > 0.99, ...) of each hidden layer over steps.
  dead.png             dead-unit fraction of each ReLU hidden layer over steps.
  symmetry.png         distinct neurons, mean |cosine| between neurons and effective rank of the
                       activations per hidden layer over steps.
  jacobian.png         singular values of the input-output Jacobian dz_L/dx (Pennington et al.
                       2017): histogram on a log axis and the sorted spectrum s_k, at step 0 and
                       at the last Jacobian step.
  heatmap.png          two-axis grids: any two numeric grid axes besides seed (e.g. a sw2 axis x
                       model.depth), colour = mean final train / test accuracy over seeds (final
                       train loss for linear outputs). Other varying axes make one row each.
  steps_to_target.png  steps to the train target per setting: mean over the runs that reached it,
                       whiskers min..max, one dot per run, reached/total counts.

Settings are the rows of summary.csv: runs sharing every grid axis but seed, in grid order. Line
figures show at most 16 settings (evenly spaced in grid order); histograms at most 8 settings
and 8 layers; per-layer panels at most 4 hidden layers; saturation and dead panels at most 10
layers per panel.

The 6 xi_c curve (Schoenholz et al. 2017) is drawn on a heatmap when every run of the panel has
tanh hidden units, the y axis is model.depth and the x axis can be turned into sw2 (the variance
of a hidden weight times its fan-in; hidden layers of a depth/width network are square):
  * an init.scale axis: sw2 = scale^2 * sw2(scheme), the scheme being the runs' own;
  * a scheme axis whose strings differ only in one numeric parameter, e.g.
    variance_scaling(scale=SW2, mode=fan_in, distribution=untruncated_normal): sw2 of each value;
  sw2 of a scheme: variance_scaling(scale=s) -> s (any mode and distribution: they all keep the
  variance scale / n); lecun_* -> 1; he_*(slope=a) -> 2 / (1 + a^2); glorot_*(gain=g) -> g^2;
  glorot_standard, torch_default -> 1/3; orthogonal(gain=g) -> g^2; normal(stddev=s) -> s^2 *
  width; uniform(low=-a, high=a) -> a^2 / 3 * width. sb2 comes from init.bias (an axis or the
  spec): zeros / default -> 0 (torch_default: 1 / (3 width)); normal(stddev=s) -> s^2;
  uniform(low=-a, high=a) -> a^2 / 3; constant(value=0) -> 0. Anything else skips the overlay
  with a note. xi_c = -1 / ln(chi_c): q* from the variance map q = sw2 E[tanh(sqrt(q) z)^2] + sb2,
  chi_1 = sw2 E[tanh'(sqrt(q*) z)^2]; ordered side (chi_1 <= 1) chi_c = chi_1, chaotic side
  chi_c = sw2 E[tanh'(u1) tanh'(u2)] at the stable fixed point c* < 1 of the correlation map.
  Gaussian expectations use 81-node Gauss-Hermite quadrature (numpy.polynomial.hermite_e).

Every figure carries the experiment name and the initbench version (meta.json, else "unknown")
in its lower right corner (not the git commit: a rerun at a later commit that gives the same
CSV files gives the same PNGs, so `make reproduce` leaves committed figures unchanged).
Figures are deterministic: fixed dpi, matplotlib's default style (no user
matplotlibrc), no metadata in the PNG, so the same CSV files give byte-identical PNGs.

Required: runs.csv, summary.csv, curves.csv. Optional (the figure is skipped with a note when the
file is missing or has only its header): layers.csv, histograms.csv, symmetry.csv, jacobian.csv,
spec.toml, meta.json. A missing required file, a missing column, a row with the wrong number of
fields or a value that is not a number stops the script with one line naming the file (and the
line and column) before any figure is drawn. PNGs of ours that the data no longer allows are
removed from DIR/plots/.

Exit status: 0 figures written; 1 bad or missing data; 2 usage; 3 numpy or matplotlib missing.
Needs Debian's python3-numpy and python3-matplotlib (run with /usr/bin/python3).
"""

import argparse
import csv
import json
import math
import os
import re
import sys

USAGE = "Usage: /usr/bin/python3 scripts/plot.py DIR     (or --help)"
DPI = 100
MAX_SETTINGS = 16  # lines per panel
MAX_HIST_ROWS = 8
MAX_HIST_LAYERS = 8
MAX_LAYER_PANELS = 4
MAX_LAYER_LINES = 10
MAX_FACETS = 6
LOG_DECADES = 10  # a log axis of layers.png shows at most this many decades
FIGURES = ("curves.png", "layers.png", "hist_activation.png", "hist_delta.png", "saturated.png",
           "dead.png", "symmetry.png", "jacobian.png", "heatmap.png", "steps_to_target.png")

# Okabe & Ito (2008): distinguishable with every common colour-vision deficiency (their yellow,
# hard to see on white, is left out). Past 7 settings the colours repeat with another line style.
OKABE_ITO = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
LINESTYLES = ("-", "--", ":", "-.")


class DataError(Exception):
    """Bad or missing input: reported as one line, exit status 1."""


# ------------------------------------------------------------------------------------------------
# Reading


class Table:
    """A CSV file: header, rows as text, typed column accessors with located errors."""

    def __init__(self, path, header, rows, lines):
        self.path = path
        self.header = header
        self.rows = rows
        self.lines = lines  # the file line of each row, for messages
        self.index = {}
        for i, name in enumerate(header):
            self.index.setdefault(name, i)  # runs.csv repeats `seed` (field and axis): same value
        self._cache = {}

    @staticmethod
    def read(path):
        if not os.path.isfile(path):
            raise FileNotFoundError(path)
        try:
            with open(path, newline="", encoding="utf-8") as f:
                reader = csv.reader(f)
                header = next(reader, None)
                if header is None:
                    raise DataError(f"{path}: empty file (no header row)")
                rows, lines = [], []
                for row in reader:
                    if not row:
                        continue
                    if len(row) != len(header):
                        raise DataError(f"{path}:{reader.line_num}: {len(row)} fields, the header "
                                        f"has {len(header)}")
                    rows.append(row)
                    lines.append(reader.line_num)
        except (OSError, UnicodeDecodeError, csv.Error) as e:
            raise DataError(f"{path}: cannot read: {e}") from None
        if len(set(header)) == 1 and header[0] == "":
            raise DataError(f"{path}: empty header row")
        return Table(path, header, rows, lines)

    def __len__(self):
        return len(self.rows)

    def has(self, name):
        return name in self.index

    def require(self, *names):
        for name in names:
            if name not in self.index:
                raise DataError(f"{self.path}: missing column '{name}'")

    def text(self, name):
        self.require(name)
        i = self.index[name]
        return [r[i] for r in self.rows]

    def floats(self, name):
        import numpy as np
        if name in self._cache:
            return self._cache[name]
        values = self.text(name)
        try:
            out = np.array(values, dtype=float) if values else np.zeros(0)
        except ValueError:
            for line, v in zip(self.lines, values):
                try:
                    float(v)
                except ValueError:
                    raise DataError(f"{self.path}:{line}: column '{name}': '{v}' is not a "
                                    f"number") from None
            raise
        self._cache[name] = out
        return out

    def ints(self, name):
        import numpy as np
        x = self.floats(name)
        bad = ~np.isfinite(x) | (x != np.round(x))
        if bad.any():
            k = int(np.argmax(bad))
            raise DataError(f"{self.path}:{self.lines[k]}: column '{name}': "
                            f"'{self.rows[k][self.index[name]]}' is not an integer")
        return x.astype(np.int64)


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


# ------------------------------------------------------------------------------------------------
# Scheme strings and axes


SCHEME_RE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\((.*)\))?\s*$")


def parse_scheme(text):
    """'he_normal(mode=fan_out)' -> ('he_normal', {'mode': 'fan_out'}); None if not of that form."""
    m = SCHEME_RE.match(text)
    if not m:
        return None
    params = {}
    if m.group(2) is not None and m.group(2).strip():
        for part in m.group(2).split(","):
            if "=" not in part:
                return None
            k, v = part.split("=", 1)
            params[k.strip()] = v.strip()
    return m.group(1), params


def as_float(text):
    try:
        v = float(text)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


class Axis:
    """A grid axis (a column of summary.csv before `runs`) and its distinct values in grid order.

    numeric: the values as numbers; for a scheme axis whose strings differ only in one numeric
    parameter (`variance_scaling(scale=1.5, ...)`), that parameter (`param`)."""

    def __init__(self, name, values):
        self.name = name
        self.values = values
        self.numeric = None
        self.param = None
        self.scheme_name = None
        nums = [as_float(v) for v in values]
        if all(n is not None for n in nums):
            self.numeric = nums
            return
        parsed = [parse_scheme(v) for v in values]
        if len(values) < 2 or any(p is None for p in parsed):
            return
        names = {p[0] for p in parsed}
        keys = sorted({k for p in parsed for k in p[1]})
        if len(names) != 1:
            return
        varying = [k for k in keys if len({p[1].get(k) for p in parsed}) > 1]
        if len(varying) != 1:
            return
        vals = [as_float(p[1].get(varying[0])) for p in parsed]
        if any(v is None for v in vals):
            return
        self.numeric = vals
        self.param = varying[0]
        self.scheme_name = parsed[0][0]

    @property
    def varies(self):
        return len(self.values) > 1

    def label(self):
        if self.param:  # the first value with the varying parameter as a dot
            name, params = parse_scheme(self.values[0])
            inner = ", ".join(f"{k}=\u00b7" if k == self.param else f"{k}={v}"
                              for k, v in params.items())
            return f"{self.param} in {self.name} = {name}({inner})"
        return self.name

    def short(self, value):
        """How a value shows in a legend: schemes with one varying parameter keep just it."""
        if self.param:
            name, params = parse_scheme(value)
            rest = ", ..." if len(params) > 1 else ""
            return f"{name}({self.param}={params[self.param]}{rest})"
        if self.name in ("init.scheme", "init.bias", "model.activation") or \
                parse_scheme(value) is not None and "(" in value:
            return value
        return f"{self.name.split('.')[-1]}={value}"


# ------------------------------------------------------------------------------------------------
# The experiment


class Experiment:
    def __init__(self, folder):
        import numpy as np
        self.dir = folder
        self.notes = []
        self.tables = {}
        join = lambda name: os.path.join(folder, name)  # noqa: E731
        if not os.path.isdir(folder):
            raise DataError(f"{folder}: no such directory")
        for name in ("runs.csv", "summary.csv", "curves.csv"):
            try:
                self.tables[name] = Table.read(join(name))
            except FileNotFoundError:
                raise DataError(f"{join(name)}: missing (not an initbench experiment folder?)") \
                    from None
        for name in ("layers.csv", "histograms.csv", "symmetry.csv", "jacobian.csv"):
            try:
                self.tables[name] = Table.read(join(name))
            except FileNotFoundError:
                self.tables[name] = None
        self.spec = read_spec(join("spec.toml"), self.notes)
        self.version = read_meta(join("meta.json"))

        runs = self.tables["runs.csv"]
        runs.require("run_id", "experiment", "scheme", "activation", "width", "status",
                     "steps_run", "steps_to_target", "final_train_loss", "final_train_acc",
                     "final_test_loss", "final_test_acc")
        if len(runs) == 0:
            raise DataError(f"{runs.path}: no runs")
        summary = self.tables["summary.csv"]
        summary.require("runs")
        axis_names = summary.header[:summary.index["runs"]]
        runs.require(*axis_names)
        self.run_ids = runs.ints("run_id")
        if len(set(self.run_ids.tolist())) != len(self.run_ids):
            raise DataError(f"{runs.path}: column 'run_id': repeated run ids")
        self.name = runs.text("experiment")[0] or spec_get(self.spec, "name", "") or \
            os.path.basename(os.path.normpath(folder))
        self.stamp = f"{self.name} \u00b7 initbench {self.version}"
        self.description = spec_get(self.spec, "description", "")
        self.output = spec_get(self.spec, "model.output", "sigmoid")

        order = np.argsort(self.run_ids, kind="stable")
        axis_text = {a: runs.text(a) for a in axis_names}
        self.runs = {}  # run_id -> dict
        setting_of_key = {}
        self.setting_runs = []  # setting index -> [run_id] in grid order
        cols = {c: runs.text(c) for c in ("scheme", "activation", "status", "width")}
        nums = {c: runs.floats(c) for c in ("steps_run", "steps_to_target", "final_train_loss",
                                            "final_train_acc", "final_test_loss",
                                            "final_test_acc")}
        seed = runs.text("seed") if runs.has("seed") else [""] * len(runs)
        for i in order:
            key = tuple(axis_text[a][i] for a in axis_names)
            if key not in setting_of_key:
                setting_of_key[key] = len(self.setting_runs)
                self.setting_runs.append([])
            rid = int(self.run_ids[i])
            s = setting_of_key[key]
            self.setting_runs[s].append(rid)
            r = {c: cols[c][i] for c in cols}
            r.update({c: float(nums[c][i]) for c in nums})
            r.update(setting=s, key=key, seed=seed[i])
            self.runs[rid] = r
        self.setting_keys = list(setting_of_key)
        self.axes = []
        for j, a in enumerate(axis_names):
            values = []
            for key in self.setting_keys:
                if key[j] not in values:
                    values.append(key[j])
            self.axes.append(Axis(a, values))
        self.labels = self._labels()

        # Validate every optional table now, so bad data stops us before any figure is drawn.
        self.layers = self._load("layers.csv", ("run_id", "step", "layer", "preact_std",
                                                "act_std", "saturated_frac", "dead_frac",
                                                "delta_norm", "meanfield_preact_var"))
        self.histograms = self._load("histograms.csv", ("run_id", "step", "layer", "quantity",
                                                        "bin_lo", "bin_hi", "count"))
        self.symmetry = self._load("symmetry.csv", ("run_id", "step", "layer", "width",
                                                    "distinct_neurons", "mean_abs_cosine",
                                                    "act_effective_rank"))
        self.jacobian = self._load("jacobian.csv", ("run_id", "step", "sample", "k",
                                                    "singular_value"))
        self.curves = self._load("curves.csv", ("run_id", "step", "train_loss", "train_acc",
                                                "test_loss", "test_acc"))

    def _load(self, name, columns):
        t = self.tables[name]
        if t is None:
            return None
        t.require(*columns)
        for c in columns:
            if c == "quantity":
                continue
            if c in ("run_id", "step", "layer", "sample", "k", "width"):
                t.ints(c)
            else:
                t.floats(c)
        known = set(self.runs)
        for line, rid in zip(t.lines, t.ints("run_id").tolist()):
            if rid not in known:
                raise DataError(f"{t.path}:{line}: column 'run_id': run {rid} is not in runs.csv")
        if name == "histograms.csv":
            for line, q in zip(t.lines, t.text("quantity")):
                if q not in ("activation", "delta"):
                    raise DataError(f"{t.path}:{line}: column 'quantity': '{q}' is neither "
                                    f"'activation' nor 'delta'")
        return t

    def _labels(self):
        varying = [(j, a) for j, a in enumerate(self.axes) if a.varies and a.name != "seed"]
        labels = []
        for s, key in enumerate(self.setting_keys):
            if not varying:
                labels.append(self.runs[self.setting_runs[s][0]]["scheme"])
            elif len(varying) == 1:
                j, a = varying[0]
                labels.append(a.short(key[j]) if a.param else key[j])
            else:
                labels.append(", ".join(a.short(key[j]) for j, a in varying))
        return labels

    def style(self, s):
        """The same setting gets the same colour and line style in every figure: numbered among
        the settings line figures show."""
        if not hasattr(self, "_rank"):
            self._rank = {t: i for i, t in enumerate(self.shown_settings(MAX_SETTINGS))}
        return style(self._rank.get(s, s))

    def setting_of(self, run_ids):
        import numpy as np
        return np.array([self.runs[int(r)]["setting"] for r in run_ids], dtype=np.int64)

    def shown_settings(self, wanted=None):
        """Indices of the settings to draw as lines (at most MAX_SETTINGS, evenly spaced)."""
        n = len(self.setting_keys) if wanted is None else wanted
        idx = list(range(len(self.setting_keys)))
        if len(idx) <= n:
            return idx
        import numpy as np
        pick = sorted(set(np.round(np.linspace(0, len(idx) - 1, n)).astype(int).tolist()))
        return [idx[i] for i in pick]

    def loss_label(self):
        if self.output == "linear":
            return "loss (mean squared error)"
        return "loss (cross-entropy, nats)"


# ------------------------------------------------------------------------------------------------
# Drawing helpers


def style(i):
    """Colour and line style of the i-th setting drawn (see Experiment.style)."""
    return dict(color=OKABE_ITO[i % len(OKABE_ITO)], linestyle=LINESTYLES[(i // len(OKABE_ITO))
                                                                          % len(LINESTYLES)])


def layer_colors(n):
    from matplotlib import colormaps
    cmap = colormaps["viridis"]
    return [cmap(0.85 * i / max(1, n - 1)) for i in range(n)]


def pick_evenly(items, n):
    if len(items) <= n:
        return list(items)
    import numpy as np
    idx = sorted(set(np.round(np.linspace(0, len(items) - 1, n)).astype(int).tolist()))
    return [items[i] for i in idx]


def group_stats(keys, values):
    """keys: list of equal-length integer arrays; -> {key tuple: (mean, min, max)} over finite
    values (keys whose values are all non-finite are left out)."""
    import numpy as np
    groups = {}
    finite = np.isfinite(values)
    cols = [k.tolist() for k in keys]
    vals = values.tolist()
    for i, ok in enumerate(finite.tolist()):
        if ok:
            groups.setdefault(tuple(c[i] for c in cols), []).append(vals[i])
    return {k: (sum(v) / len(v), min(v), max(v)) for k, v in groups.items()}


def wants_log(values, ratio=10.0):
    import numpy as np
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    return v.size > 0 and v.max() / v.min() >= ratio


def log_y(ax, values):
    """A log y axis; under three decades of data, ticks at 1, 2 and 5 times powers of ten are
    labelled too (matplotlib would label only one or two powers of ten)."""
    import numpy as np
    from matplotlib.ticker import LogLocator, NullFormatter, StrMethodFormatter
    ax.set_yscale("log")
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    if v.size and np.log10(v.max() / v.min()) < 3:
        ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(StrMethodFormatter("{x:g}"))
        ax.yaxis.set_minor_formatter(NullFormatter())


def new_figure(width, height):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def finish(exp, fig, name, title, legend=None, legend_cols=1):
    """Title, legend below the panels, the stamp in the lower right corner, tight layout, save."""
    import warnings
    w, h = fig.get_size_inches()
    bottom_in = 0.25  # the stamp
    if legend:  # the figure grows by the legend's height: the panels keep theirs
        handles, labels = legend
        rows = math.ceil(len(handles) / legend_cols)
        legend_in = 0.2 * rows + 0.15
        h += legend_in
        fig.set_size_inches(w, h)
        fig.legend(handles, labels, loc="lower center", ncol=legend_cols, frameon=False,
                   fontsize=8, bbox_to_anchor=(0.5, bottom_in / h))
        bottom_in += legend_in
    fig.suptitle(title, fontsize=11, y=1 - 0.08 / h, va="top")
    fig.text(1 - 0.05 / w, 0.05 / h, exp.stamp, ha="right", va="bottom", fontsize=7,
             color="0.35")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # tight_layout leaves room for the suptitle itself
        fig.tight_layout(rect=(0, bottom_in / h, 1, 1 - 0.05 / h), h_pad=0.8, w_pad=0.8)
    os.makedirs(exp.out, exist_ok=True)
    path = os.path.join(exp.out, name)
    tmp = path + ".tmp"
    fig.savefig(tmp, dpi=DPI, format="png", metadata={"Software": None})
    os.replace(tmp, path)
    exp.written.append(name)
    print(f"wrote {path}", flush=True)


def legend_columns(labels, width_in):
    longest = max((len(s) for s in labels), default=10)
    per = max(1, int(width_in / (0.075 * longest + 0.6)))
    return max(1, min(per, len(labels)))


def setting_handles(exp, shown, extra=()):
    from matplotlib.lines import Line2D
    handles = [Line2D([], [], lw=2, **exp.style(s)) for s in shown]
    labels = [exp.labels[s] for s in shown]
    for h, lab in extra:
        handles.append(h)
        labels.append(lab)
    return handles, labels


def title_for(exp, what):
    t = f"{exp.name}: {what}"
    return t


def shown_note(exp, shown, fig_name):
    if len(shown) < len(exp.setting_keys):
        exp.notes.append(f"{fig_name}: showing {len(shown)} of {len(exp.setting_keys)} "
                         f"settings (evenly spaced in grid order)")


def step_axis(exp, ax, steps):
    ax.set_xlabel("step (parameter updates)")
    if spec_get(exp.spec, "probes.schedule") == "log" and len(steps) and max(steps) > 10:
        ax.set_xscale("symlog", linthresh=1)
        ax.set_xlim(left=0)  # symlog's default margin would show a negative step


# ------------------------------------------------------------------------------------------------
# Figures


def fig_curves(exp):
    import numpy as np
    from matplotlib.lines import Line2D
    t = exp.curves
    if len(t) == 0:
        return "curves.csv has no rows"
    rid = t.ints("run_id")
    step = t.ints("step")
    setting = exp.setting_of(rid)
    metrics = [m for m in ("train_loss", "test_loss", "train_acc", "test_acc")
               if np.isfinite(t.floats(m)).any()]
    if not metrics:
        return "curves.csv holds no finite loss or accuracy"
    shown = exp.shown_settings(MAX_SETTINGS)
    shown_note(exp, shown, "curves.png")
    rows = [r for r in ("loss", "acc") if any(m.endswith(r) for m in metrics)]
    cols = [c for c in ("train", "test") if any(m.startswith(c) for m in metrics)]
    fig = new_figure(5.2 * len(cols), 3.3 * len(rows) + 0.5)
    # last row of each run: where a diverged run stopped
    last = {}
    for i, r in enumerate(rid.tolist()):
        if r not in last or step[i] >= step[last[r]]:
            last[r] = i
    diverged = [r for r in sorted(last) if exp.runs[r]["status"] == "diverged"
                and exp.runs[r]["setting"] in shown]
    target_loss = spec_get(exp.spec, "train.target_loss")
    target_acc = spec_get(exp.spec, "train.target_accuracy")
    n_seeds = max(len(v) for v in exp.setting_runs)
    for ri, row in enumerate(rows):
        for ci, col in enumerate(cols):
            metric = f"{col}_{row}"
            ax = fig.add_subplot(len(rows), len(cols), ri * len(cols) + ci + 1)
            if metric not in metrics:
                ax.set_axis_off()
                continue
            y_all = t.floats(metric)
            # A diverged run's last row holds the blown-up value (inf, nan or 1e300): it is
            # marked with an x, not averaged in (it would stretch the axis past reading).
            y = y_all.copy()
            y[[last[r] for r in last if exp.runs[r]["status"] == "diverged"]] = np.nan
            y[np.abs(y) > 1e100] = np.nan
            stats = group_stats([setting, step], y)
            for s in shown:
                ks = sorted(k for k in stats if k[0] == s)
                if not ks:
                    continue
                xs = np.array([k[1] for k in ks])
                m = np.array([stats[k] for k in ks])
                st = exp.style(s)
                ax.plot(xs, m[:, 0], lw=1.6, marker="o" if len(xs) <= 2 else None, ms=4, **st)
                if len(exp.setting_runs[s]) > 1:
                    ax.fill_between(xs, m[:, 1], m[:, 2], color=st["color"], alpha=0.12, lw=0)
            for r in diverged:
                i = last[r]
                st = exp.style(exp.runs[r]["setting"])
                if row == "acc" and np.isfinite(y_all[i]):
                    ax.plot([step[i]], [y_all[i]], marker="x", ms=9, mew=2, color=st["color"],
                            ls="none", zorder=5)
                else:  # the loss blew up: mark the step at the top of the panel
                    ax.plot([step[i]], [0.96 if row == "loss" else 0.04], marker="x", ms=9,
                            mew=2, color=st["color"], ls="none", zorder=5,
                            transform=ax.get_xaxis_transform(), clip_on=False)
            if row == "loss":
                if wants_log(y[np.isin(setting, shown)]):
                    log_y(ax, y[np.isin(setting, shown)])
                ax.set_ylabel(f"{col} {exp.loss_label()}")
                if col == "train" and isinstance(target_loss, (int, float)):
                    ax.axhline(target_loss, color="0.3", ls=":", lw=1)
            else:
                ax.set_ylabel(f"{col} accuracy (fraction correct)")
                lo, hi = ax.get_ylim()
                ax.set_ylim(max(lo, -0.02), min(hi, 1.02))
                if col == "train" and isinstance(target_acc, (int, float)):
                    ax.axhline(target_acc, color="0.3", ls=":", lw=1)
            step_axis(exp, ax, step)
            ax.set_title(f"{col} {'loss' if row == 'loss' else 'accuracy'}", fontsize=10)
            ax.grid(True, alpha=0.3)
    extra = []
    if diverged:
        extra.append((Line2D([], [], marker="x", ms=8, mew=2, color="0.2", ls="none"),
                      "diverged run: x at the step it stopped"))
    if isinstance(target_loss, (int, float)) or isinstance(target_acc, (int, float)):
        extra.append((Line2D([], [], color="0.3", ls=":", lw=1), "target"))
    handles = setting_handles(exp, shown, extra)
    band = ", band: min..max over seeds" if n_seeds > 1 else ""
    title = title_for(exp, f"learning curves (mean over seeds{band})")
    finish(exp, fig, "curves.png", title, handles,
           legend_columns(handles[1], fig.get_size_inches()[0]))
    return None


def pick_steps(steps, n=4):
    steps = sorted(set(steps))
    if len(steps) <= n:
        return steps
    return pick_evenly(steps, n)


def fig_layers(exp):
    import numpy as np
    from matplotlib.lines import Line2D
    t = exp.layers
    if t is None:
        return "no layers.csv"
    if len(t) == 0:
        return "layers.csv has no rows (probes.every is 0)"
    rid, step, layer = t.ints("run_id"), t.ints("step"), t.ints("layer")
    setting = exp.setting_of(rid)
    shown = exp.shown_settings(MAX_SETTINGS)
    shown_note(exp, shown, "layers.png")
    sel = np.isin(setting, shown)
    steps = pick_steps(step[sel].tolist())
    quantities = [("preact_std", "std of pre-activation $z_l$"),
                  ("act_std", "std of activation $a_l$"),
                  ("delta_norm", "$\\|\\partial L/\\partial z_l\\|$ (Frobenius)")]
    mf = np.sqrt(np.where(t.floats("meanfield_preact_var") >= 0,
                          t.floats("meanfield_preact_var"), np.nan))
    have_mf = np.isfinite(mf[sel]).any()
    ncols = len(steps)
    fig = new_figure(3.5 * ncols + 0.4, 2.6 * len(quantities) + 0.7)
    axes = fig.subplots(len(quantities), ncols, squeeze=False, sharex=True, sharey="row")
    max_layer = int(layer[sel].max())
    below_any = False
    for qi, (q, qlabel) in enumerate(quantities):
        y = t.floats(q)
        stats = group_stats([setting, step, layer], y)
        mstats = group_stats([setting, step, layer], mf) if q == "preact_std" else {}
        row_vals = [y[sel & (step == s)] for s in steps]
        if q == "preact_std":
            row_vals += [mf[sel & (step == s)] for s in steps]
        row_vals = np.concatenate(row_vals)
        log = wants_log(row_vals)
        floor = None
        if log:  # at most LOG_DECADES decades: rounding noise (a std of 1e-30) would squash all
            pos = row_vals[np.isfinite(row_vals) & (row_vals > 0)]
            floor = max(pos.min(), pos.max() * 10.0 ** -LOG_DECADES)
        for ci, s_step in enumerate(steps):
            ax = axes[qi][ci]
            zeros = []
            for s in shown:
                ks = sorted(k for k in stats if k[0] == s and k[1] == s_step)
                if not ks:
                    continue
                xs = np.array([k[2] for k in ks])
                m = np.array([stats[k] for k in ks])
                st = exp.style(s)
                if log and np.all(m[:, 0] <= 0):
                    zeros.append(exp.labels[s])
                ys = np.where(m[:, 0] >= floor, m[:, 0], np.nan) if log else m[:, 0]
                ax.plot(xs, ys, marker="o" if max_layer <= 12 else None, ms=3.5, lw=1.5, **st)
                if log:
                    below = (m[:, 0] > 0) & (m[:, 0] < floor)
                    if below.any():
                        below_any = True
                        ax.plot(xs[below], np.full(below.sum(), floor / 2), ls="none",
                                marker="v", ms=5, color=st["color"], clip_on=False)
                mks = sorted(k for k in mstats if k[0] == s and k[1] == s_step)
                if mks:
                    ym = np.array([mstats[k][0] for k in mks])
                    ym = np.where(ym >= floor, ym, np.nan) if log else ym
                    # a wide translucent band under the measured line: no setting's line
                    # style (solid, dashed, dotted, dash-dot) can be mistaken for it
                    ax.plot([k[2] for k in mks], ym, lw=5, ls="-", color=st["color"],
                            alpha=0.25, solid_capstyle="round", zorder=1)
            if log:
                log_y(ax, row_vals[row_vals >= floor])
                ax.set_ylim(bottom=floor / 2)
            if zeros:
                ax.text(0.02, 0.02, "all 0 (not drawn): " + "; ".join(zeros), fontsize=6.5,
                        transform=ax.transAxes, va="bottom", wrap=True)
            ax.grid(True, alpha=0.3)
            if qi == 0:
                ax.set_title(f"step {s_step}", fontsize=10)
            if ci == 0:
                ax.set_ylabel(qlabel)
            if qi == len(quantities) - 1:
                ax.set_xlabel(f"layer $l$ (1 = first hidden, {max_layer} = output)")
            ax.xaxis.get_major_locator().set_params(integer=True)
    extra = [(Line2D([], [], color="0.2", marker="o", ms=3.5, lw=1.5),
              "measured (mean over seeds)")]
    if below_any:
        extra.append((Line2D([], [], color="0.2", marker="v", ms=5, ls="none"),
                      f"below the axis (< 1e-{LOG_DECADES} \u00d7 the largest value of the row)"))
    if have_mf:
        extra.append((Line2D([], [], color="0.2", ls="-", lw=5, alpha=0.25),
                      "mean-field prediction $\\sqrt{q_l}$ (meanfield_preact_var)"))
    handles = setting_handles(exp, shown, extra)
    title = title_for(exp, "signal across layers at initialization and during training\n"
                           "(Glorot & Bengio 2010, figs. 6-7; mean over seeds; log axes omit 0)")
    finish(exp, fig, "layers.png", title, handles,
           legend_columns(handles[1], fig.get_size_inches()[0]))
    return None


def fig_histograms(exp, quantity):
    import numpy as np
    name = f"hist_{quantity}.png"
    t = exp.histograms
    if t is None:
        return "no histograms.csv"
    if len(t) == 0:
        return "histograms.csv has no rows (probes.histograms is off)"
    qmask = np.array([q == quantity for q in t.text("quantity")])
    if not qmask.any():
        return f"histograms.csv has no '{quantity}' rows"
    rid, step, layer = t.ints("run_id"), t.ints("step"), t.ints("layer")
    lo, hi, count = t.floats("bin_lo"), t.floats("bin_hi"), t.floats("count")
    present = set(rid[qmask].tolist())
    settings = [s for s in range(len(exp.setting_keys))
                if any(r in present for r in exp.setting_runs[s])]
    shown = pick_evenly(settings, MAX_HIST_ROWS)
    if len(shown) < len(settings):
        exp.notes.append(f"{name}: showing {len(shown)} of {len(settings)} settings")
    # one run per setting: bins are chosen per run, so runs do not average
    run_of = {s: next(r for r in exp.setting_runs[s] if r in present) for s in shown}
    all_layers = sorted(set(layer[qmask].tolist()))
    layers = pick_evenly(all_layers, MAX_HIST_LAYERS)
    if len(layers) < len(all_layers):
        exp.notes.append(f"{name}: showing {len(layers)} of {len(all_layers)} layers")
    L = max(all_layers)
    fig = new_figure(2.6 * len(layers) + 0.8, 2.2 * len(shown) + 0.7)
    axes = fig.subplots(len(shown), len(layers), squeeze=False)
    from matplotlib.ticker import MaxNLocator
    colors = (OKABE_ITO[0], OKABE_ITO[1])
    steps_used = set()
    for ri, s in enumerate(shown):
        r = run_of[s]
        rmask = qmask & (rid == r)
        rsteps = sorted(set(step[rmask].tolist()))
        pair = [rsteps[0]] + ([rsteps[-1]] if len(rsteps) > 1 else [])
        steps_used.add(tuple(pair))
        for ci, l in enumerate(layers):
            ax = axes[ri][ci]
            outside = []
            for pi, st in enumerate(pair):
                m = rmask & (layer == l) & (step == st)
                if not m.any():
                    continue
                blo, bhi, c = lo[m], hi[m], count[m]
                order = np.argsort(blo, kind="stable")
                blo, bhi, c = blo[order], bhi[order], c[order]
                total = c.sum()
                inner = np.isfinite(blo) & np.isfinite(bhi)
                if total <= 0 or not inner.any():
                    continue
                frac = c[inner] / total
                edges = np.append(blo[inner], bhi[inner][-1])
                ax.stairs(frac, edges, color=colors[pi], lw=1.4,
                          label=f"step {st}", fill=(pi == 0), alpha=0.35 if pi == 0 else 1.0)
                if pi == 0:
                    ax.stairs(frac, edges, color=colors[pi], lw=1.2)
                out = c[~inner].sum() / total
                if out > 0:
                    outside.append(f"step {st}: {100 * out:.2g}% outside")
            if quantity == "delta":
                ax.set_yscale("log")
            if outside:
                ax.text(0.98, 0.97, "\n".join(outside), transform=ax.transAxes, ha="right",
                        va="top", fontsize=6.5,
                        bbox=dict(facecolor="white", alpha=0.7, lw=0, pad=1))
            ax.xaxis.set_major_locator(MaxNLocator(5))
            ax.ticklabel_format(axis="x", style="sci", scilimits=(-2, 3))
            ax.tick_params(labelsize=7)
            ax.xaxis.get_offset_text().set_fontsize(7)
            if ri == 0:
                ax.set_title(f"layer {l}" + (" (output)" if l == L else ""), fontsize=9)
            if ci == 0:
                seed = exp.runs[r]["seed"]
                ax.set_ylabel(f"{exp.labels[s]}\nseed {seed}\nfraction of entries", fontsize=7.5)
            if ri == len(shown) - 1:
                ax.set_xlabel("$a_l$ (output: $z_L$)" if quantity == "activation"
                              else "$\\partial L/\\partial z_l$", fontsize=8)
    from matplotlib.patches import Patch
    from matplotlib.lines import Line2D
    first = sorted({p[0] for p in steps_used})
    last = sorted({p[-1] for p in steps_used if len(p) > 1})
    handles = ([Patch(facecolor=colors[0], alpha=0.35, edgecolor=colors[0])],
               [f"first histogram step (step {first[0]})" if len(first) == 1
                else "first histogram step of the run"])
    if last:
        handles[0].append(Line2D([], [], color=colors[1], lw=1.4))
        handles[1].append(f"last histogram step (step {last[0]})" if len(last) == 1
                          else "last histogram step of the run")
    what = ("activations $a_l$" if quantity == "activation" else
            "back-propagated gradients $\\partial L/\\partial z_l$ (log axis)")
    title = title_for(exp, f"histograms of {what} per layer\n(Glorot & Bengio 2010 "
                           f"fig. {6 if quantity == 'activation' else 7}; one run per setting)")
    finish(exp, fig, name, title, handles, 2)
    return None


def fig_fraction(exp, column, name, what):
    import numpy as np
    t = exp.layers
    if t is None:
        return "no layers.csv"
    if len(t) == 0:
        return "layers.csv has no rows (probes.every is 0)"
    y = t.floats(column)
    ok = np.isfinite(y)
    if not ok.any():
        return f"layers.csv: '{column}' is nan everywhere ({what})"
    rid, step, layer = t.ints("run_id"), t.ints("step"), t.ints("layer")
    setting = exp.setting_of(rid)
    settings = [s for s in range(len(exp.setting_keys)) if (ok & (setting == s)).any()]
    shown = pick_evenly(settings, MAX_SETTINGS)
    if len(shown) < len(settings):
        exp.notes.append(f"{name}: showing {len(shown)} of {len(settings)} settings")
    stats = group_stats([setting, layer, step], y)
    ncols = min(4, math.ceil(math.sqrt(len(shown))))
    nrows = math.ceil(len(shown) / ncols)
    fig = new_figure(3.6 * ncols + 0.4, 2.6 * nrows + 0.7)
    axes = fig.subplots(nrows, ncols, squeeze=False, sharex=True, sharey=True)
    all_layers = sorted(set(layer[ok].tolist()))
    layers = pick_evenly(all_layers, MAX_LAYER_LINES)
    colors = dict(zip(layers, layer_colors(len(layers))))
    for i, s in enumerate(shown):
        ax = axes[i // ncols][i % ncols]
        for l in layers:
            ks = sorted(k for k in stats if k[0] == s and k[1] == l)
            if not ks:
                continue
            xs = np.array([k[2] for k in ks])
            m = np.array([stats[k] for k in ks])
            ax.plot(xs, m[:, 0], color=colors[l], lw=1.5, label=f"layer {l}")
            if len(exp.setting_runs[s]) > 1:
                ax.fill_between(xs, m[:, 1], m[:, 2], color=colors[l], alpha=0.12, lw=0)
        ax.set_title(exp.labels[s], fontsize=8.5)
        ax.set_ylim(-0.03, 1.03)
        ax.grid(True, alpha=0.3)
        if i % ncols == 0:
            ax.set_ylabel(f"{what} (fraction)")
        if i // ncols == nrows - 1 or i + ncols >= len(shown):
            step_axis(exp, ax, step)
            ax.xaxis.set_tick_params(labelbottom=True)
    for j in range(len(shown), nrows * ncols):
        axes[j // ncols][j % ncols].set_axis_off()
    from matplotlib.lines import Line2D
    handles = ([Line2D([], [], color=colors[l], lw=2) for l in layers],
               [f"layer {l}" for l in layers])
    if len(layers) < len(all_layers):
        exp.notes.append(f"{name}: showing {len(layers)} of {len(all_layers)} layers")
    title = title_for(exp, f"{what} per hidden layer over training\n(mean over seeds, band: "
                           f"min..max)")
    finish(exp, fig, name, title, handles, min(len(layers), 6))
    return None


def fig_symmetry(exp):
    import numpy as np
    t = exp.symmetry
    if t is None:
        return "no symmetry.csv"
    if len(t) == 0:
        return "symmetry.csv has no rows (probes.symmetry is off)"
    rid, step, layer = t.ints("run_id"), t.ints("step"), t.ints("layer")
    width = t.ints("width")
    setting = exp.setting_of(rid)
    shown = exp.shown_settings(MAX_SETTINGS)
    shown_note(exp, shown, "symmetry.png")
    all_layers = sorted(set(layer.tolist()))
    layers = pick_evenly(all_layers, MAX_LAYER_PANELS)
    if len(layers) < len(all_layers):
        exp.notes.append(f"symmetry.png: showing {len(layers)} of {len(all_layers)} hidden "
                         f"layers")
    quantities = [("distinct_neurons", "distinct neurons\n(count)"),
                  ("mean_abs_cosine", "mean |cosine|\nbetween neurons"),
                  ("act_effective_rank", "effective rank\nof $a_l$")]
    big = int(width.max()) >= 8
    fig = new_figure(3.6 * len(layers) + 0.4, 2.4 * len(quantities) + 0.7)
    axes = fig.subplots(len(quantities), len(layers), squeeze=False, sharex=True)
    for qi, (q, qlabel) in enumerate(quantities):
        y = t.floats(q)
        stats = group_stats([setting, layer, step], y)
        for ci, l in enumerate(layers):
            ax = axes[qi][ci]
            for s in shown:
                ks = sorted(k for k in stats if k[0] == s and k[1] == l)
                if not ks:
                    continue
                xs = np.array([k[2] for k in ks])
                m = np.array([stats[k] for k in ks])
                st = exp.style(s)
                ax.plot(xs, m[:, 0], lw=1.5, **st)
                if len(exp.setting_runs[s]) > 1:
                    ax.fill_between(xs, m[:, 1], m[:, 2], color=st["color"], alpha=0.12, lw=0)
            widths = sorted(set(width[layer == l].tolist()))
            if q in ("distinct_neurons", "act_effective_rank"):
                for w in widths:
                    ax.axhline(w, color="0.4", ls=":", lw=1)
                if q == "distinct_neurons" and big:  # 1 and the width both visible
                    ax.set_yscale("log")
                    ax.set_ylim(bottom=0.7)
                else:
                    ax.set_ylim(bottom=0)
            else:
                ax.set_ylim(-0.03, 1.03)
            if qi == 0:
                wtxt = ", ".join(str(w) for w in widths)
                ax.set_title(f"hidden layer {l} (width {wtxt})", fontsize=9.5)
            if ci == 0:
                ax.set_ylabel(qlabel)
            if qi == len(quantities) - 1:
                step_axis(exp, ax, step)
            ax.grid(True, alpha=0.3)
    from matplotlib.lines import Line2D
    handles = setting_handles(exp, shown, [(Line2D([], [], color="0.4", ls=":", lw=1),
                                            "layer width (all neurons distinct / full rank)")])
    title = title_for(exp, "symmetry breaking: are the neurons of a layer still identical?\n"
                           "(mean over seeds, band: min..max)")
    finish(exp, fig, "symmetry.png", title, handles,
           legend_columns(handles[1], fig.get_size_inches()[0]))
    return None


def fig_jacobian(exp):
    import numpy as np
    t = exp.jacobian
    if t is None:
        return "no jacobian.csv"
    if len(t) == 0:
        return "jacobian.csv has no rows (probes.jacobian is off)"
    rid, step, k = t.ints("run_id"), t.ints("step"), t.ints("k")
    sample = t.ints("sample")
    sv = t.floats("singular_value")
    setting = exp.setting_of(rid)
    shown = exp.shown_settings(MAX_SETTINGS)
    shown_note(exp, shown, "jacobian.png")
    sel = np.isin(setting, shown)
    all_steps = sorted(set(step[sel].tolist()))
    steps = [all_steps[0]] + ([all_steps[-1]] if len(all_steps) > 1 else [])
    pos = sv[sel & np.isfinite(sv) & (sv > 0) & np.isin(step, steps)]
    if pos.size == 0:
        return "jacobian.csv: every singular value is 0 or not finite"
    lo, hi = np.log10(pos.min()), np.log10(pos.max())
    if hi - lo < 0.2:
        lo, hi = lo - 0.1, hi + 0.1
    edges = np.logspace(lo, hi, int(np.clip(round(10 * (hi - lo)), 20, 80)) + 1)
    means = {}
    kmax = int(k.max())
    rows = 2 if kmax > 1 else 1
    fig = new_figure(4.8 * len(steps) + 0.4, 3.1 * rows + 0.7)
    axes = fig.subplots(rows, len(steps), squeeze=False)
    for ci, st in enumerate(steps):
        ax = axes[0][ci]
        zero_note = []
        for s in shown:
            m = sel & (setting == s) & (step == st)
            v = sv[m]
            if v.size == 0:
                continue
            good = v[np.isfinite(v) & (v > 0)]
            sty = exp.style(s)
            if good.size:
                h, _ = np.histogram(good, bins=edges)
                ax.stairs(h / v.size, edges, lw=1.6, **sty)
                ax.axvline(np.mean(v), lw=0.8, color=sty["color"], ls=":")
            means.setdefault(s, []).append(f"{np.mean(v):.3g}")
            if good.size < v.size:
                zero_note.append(f"{exp.labels[s]}: {v.size - good.size} of {v.size} are 0")
        ax.set_xscale("log")
        ax.set_xlabel("singular value $s$ of $\\partial z_L/\\partial x$")
        ax.set_ylabel("fraction of singular values per bin")
        ax.set_title(f"step {st}: distribution (dotted: mean)", fontsize=10)
        if zero_note:
            ax.text(0.02, 0.97, "\n".join(zero_note), transform=ax.transAxes, fontsize=6.5,
                    va="top")
        ax.grid(True, alpha=0.3)
        if rows == 2:
            ax = axes[1][ci]
            for s in shown:
                m = sel & (setting == s) & (step == st)
                if not m.any():
                    continue
                stats = group_stats([k[m]], sv[m])
                ks = sorted(stats)
                xs = np.array([kk[0] for kk in ks])
                mm = np.array([stats[kk] for kk in ks])
                sty = exp.style(s)
                ax.plot(xs, mm[:, 0], marker="o", ms=3, lw=1.4, **sty)
                if m.sum() > len(ks):
                    ax.fill_between(xs, mm[:, 1], mm[:, 2], color=sty["color"], alpha=0.12,
                                    lw=0)
            ax.axhline(1.0, color="0.4", ls=":", lw=1)
            if wants_log(sv[sel & (step == st)], 3):
                log_y(ax, sv[sel & (step == st)])
            ax.set_xlabel("rank $k$ (1 = largest)")
            ax.set_ylabel("singular value $s_k$")
            ax.set_title(f"step {st}: sorted spectrum", fontsize=10)
            ax.xaxis.get_major_locator().set_params(integer=True)
            ax.grid(True, alpha=0.3)
    n_samples = len(set(sample.tolist()))
    handles = setting_handles(exp, shown)
    arrow = " \u2192 ".join(f"step {st}" for st in steps)
    handles[1][:] = [f"{exp.labels[s]}: mean $s$ " + " \u2192 ".join(means.get(s, ["-"]))
                     for s in shown]
    title = title_for(exp, "input-output Jacobian singular values (Pennington et al. 2017)\n"
                           f"{n_samples} probe samples per run, all seeds pooled; spectrum: mean "
                           f"and min..max; legend: mean $s$ at {arrow}")
    finish(exp, fig, "jacobian.png", title, handles,
           legend_columns(handles[1], fig.get_size_inches()[0]))
    return None


# ------------------------------------------------------------------------------------------------
# Mean-field theory for the heatmap overlay (tanh)

GAINS = {"linear": 1.0, "identity": 1.0, "sigmoid": 1.0, "tanh": 5.0 / 3.0,
         "relu": math.sqrt(2.0), "selu": 0.75, "leaky_relu": math.sqrt(2.0 / (1 + 0.01 ** 2))}


def scheme_sw2(text, width):
    """sw2 = fan_in * Var(W) of a square hidden layer for a scheme string, or (None, reason)."""
    p = parse_scheme(text)
    if p is None:
        return None, f"cannot parse scheme '{text}'"
    name, params = p

    def num(key, default=None):
        v = params.get(key, default)
        if v is None:
            return None
        f = as_float(v)
        if f is None and key == "gain":
            f = GAINS.get(str(v))
        return f

    if name == "variance_scaling":
        return num("scale", 1.0), None
    if name in ("lecun_normal", "lecun_uniform"):
        return 1.0, None
    if name in ("he_normal", "he_uniform"):
        slope = num("slope", 0.0)
        return 2.0 / (1.0 + slope * slope), None
    if name in ("glorot_normal", "glorot_uniform", "orthogonal"):
        g = num("gain", 1.0)
        return (None, f"unknown gain in '{text}'") if g is None else (g * g, None)
    if name in ("glorot_standard", "torch_default"):
        return 1.0 / 3.0, None
    if name == "normal" and num("mean", 0.0) == 0.0 and num("stddev") is not None and width:
        return num("stddev") ** 2 * width, None
    if name == "uniform" and num("low") is not None and num("high") is not None and width \
            and num("low") == -num("high"):
        return num("high") ** 2 / 3.0 * width, None
    return None, f"no weight variance known for scheme '{text}'"


def bias_sb2(text, weights, width):
    if text in (None, "", "default", "zeros"):
        if weights == "torch_default" and text in (None, "", "default"):
            return 1.0 / (3.0 * width), None
        return 0.0, None
    p = parse_scheme(text)
    if p is None:
        return None, f"cannot parse init.bias '{text}'"
    name, params = p
    f = {k: as_float(v) for k, v in params.items()}
    if name == "normal" and f.get("mean", 0.0) == 0.0 and f.get("stddev") is not None:
        return f["stddev"] ** 2, None
    if name == "uniform" and f.get("low") is not None and f.get("low") == -f.get("high", 0):
        return f["high"] ** 2 / 3.0, None
    if name == "constant" and f.get("value") == 0.0:
        return 0.0, None
    return None, f"no bias variance known for init.bias '{text}'"


class TanhMeanField:
    """Schoenholz et al. (2017) mean-field quantities for tanh, by Gauss-Hermite quadrature."""

    def __init__(self, nodes=81):
        import numpy as np
        from numpy.polynomial.hermite_e import hermegauss
        z, w = hermegauss(nodes)
        self.z = z
        self.w = w / math.sqrt(2 * math.pi)  # weights of E over z ~ N(0, 1)
        self.z1, self.z2 = np.meshgrid(z, z, indexing="ij")
        self.w2 = np.outer(self.w, self.w)

    def q_star(self, sw2, sb2):
        import numpy as np

        def f(q):
            return sw2 * np.dot(self.w, np.tanh(math.sqrt(q) * self.z) ** 2) + sb2 - q
        if sb2 <= 0 and sw2 <= 1:
            return 0.0
        lo, hi = 1e-300 if sb2 <= 0 else 0.0, sw2 + sb2 + 1.0
        if sb2 <= 0:
            lo = 1e-12
            if f(lo) <= 0:
                return 0.0
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            if f(mid) > 0:
                lo = mid
            else:
                hi = mid
        return 0.5 * (lo + hi)

    def xi_c(self, sw2, sb2):
        import numpy as np
        q = self.q_star(sw2, sb2)
        sq = math.sqrt(q)
        chi1 = sw2 * np.dot(self.w, (1 - np.tanh(sq * self.z) ** 2) ** 2)
        chi_c = chi1
        if chi1 > 1 and q > 0:
            t1 = np.tanh(sq * self.z1)

            def corr(c):
                u2 = sq * (c * self.z1 + math.sqrt(max(0.0, 1 - c * c)) * self.z2)
                return (sw2 * np.sum(self.w2 * t1 * np.tanh(u2)) + sb2) / q - c
            lo, hi = 0.0, 1.0 - 1e-9
            c_star = 1.0
            if corr(hi) < 0:
                for _ in range(100):
                    mid = 0.5 * (lo + hi)
                    if corr(mid) >= 0:
                        lo = mid
                    else:
                        hi = mid
                c_star = 0.5 * (lo + hi)
            if c_star < 1.0:
                u2 = sq * (c_star * self.z1 + math.sqrt(1 - c_star ** 2) * self.z2)
                chi_c = sw2 * np.sum(self.w2 * (1 - t1 ** 2) * (1 - np.tanh(u2) ** 2))
        if chi_c <= 0:
            return 0.0
        if abs(chi_c - 1.0) < 1e-12:
            return math.inf
        return -1.0 / math.log(chi_c)


def to_position(values, points):
    """Map axis values to cell positions 0..n-1 (piecewise linear, extrapolated at the ends)."""
    import numpy as np
    v = np.asarray(values, dtype=float)
    order = np.argsort(v)
    v = v[order]
    pos = np.arange(len(v), dtype=float)[order]
    x = np.asarray(points, dtype=float)
    out = np.interp(x, v, pos)
    if len(v) >= 2:
        lo = x < v[0]
        hi = x > v[-1]
        out[lo] = pos[0] + (x[lo] - v[0]) * (pos[1] - pos[0]) / (v[1] - v[0])
        out[hi] = pos[-1] + (x[hi] - v[-1]) * (pos[-1] - pos[-2]) / (v[-1] - v[-2])
    return out


def from_position(values, positions):
    """Inverse of to_position: cell positions -> axis values."""
    import numpy as np
    v = np.sort(np.asarray(values, dtype=float))
    p = np.asarray(positions, dtype=float)
    out = np.interp(p, np.arange(len(v)), v)
    if len(v) >= 2:
        out[p < 0] = v[0] + p[p < 0] * (v[1] - v[0])
        top = p > len(v) - 1
        out[top] = v[-1] + (p[top] - (len(v) - 1)) * (v[-1] - v[-2])
    return out


def fig_heatmap(exp):
    import numpy as np
    axes = [(j, a) for j, a in enumerate(exp.axes) if a.varies and a.name != "seed"]
    numeric = [(j, a) for j, a in axes if a.numeric is not None]
    if len(numeric) < 2:
        return "needs two numeric grid axes besides seed"

    def is_depth(a):
        return a.name in ("model.depth", "depth")

    def is_sw2(a):
        return a.name == "init.scale" or a.param is not None
    ydim = next((d for d in numeric if is_depth(d[1])), numeric[1])
    rest = [d for d in numeric if d[0] != ydim[0]]
    xdim = next((d for d in rest if is_sw2(d[1])), rest[0])
    facet_dims = [d for d in axes if d[0] not in (xdim[0], ydim[0])]
    xj, xa = xdim
    yj, ya = ydim
    xvals = sorted(set(xa.numeric))
    yvals = sorted(set(ya.numeric))
    xnum = dict(zip(xa.values, xa.numeric))
    ynum = dict(zip(ya.values, ya.numeric))
    facets = []
    for s, key in enumerate(exp.setting_keys):
        fkey = tuple(key[j] for j, _ in facet_dims)
        if fkey not in facets:
            facets.append(fkey)
    shown_facets = pick_evenly(facets, MAX_FACETS)
    if len(shown_facets) < len(facets):
        exp.notes.append(f"heatmap.png: showing {len(shown_facets)} of {len(facets)} "
                         f"combinations of the other axes")
    runs = [exp.runs[r] for r in sorted(exp.runs)]
    metrics = [m for m in ("final_train_acc", "final_test_acc")
               if any(math.isfinite(r[m]) for r in runs)]
    loss_metric = not metrics
    if loss_metric:
        metrics = ["final_train_loss"]
    nx, ny = len(xvals), len(yvals)
    cell_w = max(0.45, min(0.9, 6.0 / nx))
    cell_h = max(0.35, min(0.6, 4.0 / ny))
    panel_w, panel_h = max(4.6, nx * cell_w + 1.8), max(3.2, ny * cell_h + 1.5)
    fig = new_figure(panel_w * len(metrics) + 0.3, panel_h * len(shown_facets) + 0.5)
    sub = fig.subplots(len(shown_facets), len(metrics), squeeze=False)
    overlay_notes = []
    drew_overlay = False
    from matplotlib import colormaps
    import matplotlib.colors as mcolors
    import matplotlib.patheffects as pe
    cmap = colormaps["viridis"].copy()
    cmap.set_bad("0.82")
    for fi, fkey in enumerate(shown_facets):
        fruns = [r for r in runs if tuple(r["key"][j] for j, _ in facet_dims) == fkey]
        grid_runs = {}
        for r in fruns:
            xi = xvals.index(xnum[r["key"][xj]])
            yi = yvals.index(ynum[r["key"][yj]])
            grid_runs.setdefault((yi, xi), []).append(r)
        # the overlay: xi_c from mean-field theory
        curve = None
        if not is_depth(ya):
            reason = "the y axis is not model.depth"
        elif any(r["activation"] != "tanh" for r in fruns):
            reason = "the hidden activation is not tanh"
        else:
            curve, reason = heatmap_curve(exp, xa, fruns, facet_dims, fkey, xvals)
        if curve is None:
            overlay_notes.append(reason)
        for mi, metric in enumerate(metrics):
            ax = sub[fi][mi]
            Z = np.full((ny, nx), np.nan)
            div = np.zeros((ny, nx), dtype=int)
            tot = np.zeros((ny, nx), dtype=int)
            for (yi, xi), rs in grid_runs.items():
                v = [r[metric] for r in rs if math.isfinite(r[metric])]
                Z[yi, xi] = sum(v) / len(v) if v else np.nan
                div[yi, xi] = sum(r["status"] == "diverged" for r in rs)
                tot[yi, xi] = len(rs)
            if loss_metric:
                finite = Z[np.isfinite(Z) & (Z > 0)]
                norm = mcolors.LogNorm(finite.min(), finite.max()) if finite.size and \
                    finite.max() > finite.min() else None
                im = ax.imshow(np.ma.masked_invalid(Z), origin="lower", aspect="auto",
                               cmap=cmap.reversed(), norm=norm, interpolation="nearest")
            else:
                im = ax.imshow(np.ma.masked_invalid(Z), origin="lower", aspect="auto",
                               cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
            cb = fig.colorbar(im, ax=ax, fraction=0.06, pad=0.03)
            cb.set_label(("mean " + metric.replace("final_", "final ").replace("_acc", " accuracy")
                          .replace("_", " ")) + (" (fraction)" if not loss_metric else ""),
                         fontsize=8)
            cb.ax.tick_params(labelsize=7)
            if nx <= 14 and ny <= 14:
                for yi in range(ny):
                    for xi in range(nx):
                        if tot[yi, xi] == 0:
                            continue
                        txt = "n/a" if not np.isfinite(Z[yi, xi]) else f"{Z[yi, xi]:.2f}"
                        if div[yi, xi]:
                            txt += f"\n{div[yi, xi]}/{tot[yi, xi]} div"
                        rgba = im.cmap(im.norm(Z[yi, xi])) if np.isfinite(Z[yi, xi]) else \
                            (0.82, 0.82, 0.82, 1)
                        lum = 0.299 * rgba[0] + 0.587 * rgba[1] + 0.114 * rgba[2]
                        ax.text(xi, yi, txt, ha="center", va="center", fontsize=6.5,
                                color="black" if lum > 0.5 else "white")
            ax.set_xticks(range(nx))
            ax.set_xticklabels([f"{v:g}" for v in xvals], fontsize=7.5,
                               rotation=45 if nx > 8 else 0)
            ax.set_yticks(range(ny))
            ax.set_yticklabels([f"{v:g}" for v in yvals], fontsize=7.5)
            ax.set_xlabel(xa.label(), fontsize=8)
            ax.set_ylabel(ya.label() + (" (hidden layers)" if is_depth(ya) else ""), fontsize=8)
            ftitle = ", ".join(exp.axes[j].short(v) for (j, _), v in zip(facet_dims, fkey))
            ax.set_title((ftitle + "\n" if ftitle else "") + metric.replace("final_", "final ")
                         .replace("_acc", " accuracy").replace("_", " "), fontsize=9)
            if curve is not None:
                px, cy, sb2, xlabel = curve
                ax.plot(px, to_position(yvals, cy), color="white", lw=2, ls="--",
                        path_effects=[pe.Stroke(linewidth=3.5, foreground="black"), pe.Normal()])
                ax.set_xlim(-0.5, nx - 0.5)
                ax.set_ylim(-0.5, ny - 0.5)
                ax.set_title(ax.get_title() + f"\ndashed: 6 $\\xi_c$ ($\\sigma_b^2$ = {sb2:.3g})",
                             fontsize=9)
                ax.set_xlabel(xlabel, fontsize=8)
                drew_overlay = True
    for reason in sorted(set(overlay_notes)):
        exp.notes.append(f"heatmap.png: no 6 xi_c overlay: {reason}")
    what = "final loss" if loss_metric else "final accuracy"
    extra = ";\ndashed: 6 $\\xi_c$, the trainable depth of Schoenholz et al. 2017)" \
        if drew_overlay else ")"
    title = title_for(exp, f"{what} over the grid\n(mean over seeds; grey: no finite value"
                           f"{extra}")
    finish(exp, fig, "heatmap.png", title)
    return None


def heatmap_curve(exp, xa, fruns, facet_dims, fkey, xvals):
    """(x values, 6 xi_c values, legend label) for the heatmap's x axis, or (None, reason)."""
    import numpy as np
    widths = sorted({as_float(r["width"]) for r in fruns})
    width = widths[0] if len(widths) == 1 else None
    fvals = dict(zip((a.name for _, a in facet_dims), fkey))
    bias = fvals.get("init.bias", spec_get(exp.spec, "init.bias"))
    if bias is not None and not isinstance(bias, str):
        return None, "init.bias in spec.toml is not a string"
    if xa.name == "init.scale":
        schemes = sorted({r["scheme"] for r in fruns})
        if len(schemes) != 1:
            return None, "the runs of an init.scale panel have several schemes"
        base, why = scheme_sw2(schemes[0], width)
        if base is None:
            return None, why

        def sw2_of(v):
            return v * v * base
        scheme = schemes[0]
        xlabel = f"init.scale ($\\sigma_w^2$ = scale$^2$ \u00d7 {base:.4g} for {scheme})"
    elif xa.param is not None:
        proto = xa.values[0]
        name, params = parse_scheme(proto)

        def sw2_of(v):
            p = dict(params)
            p[xa.param] = repr(float(v))
            text = f"{name}(" + ", ".join(f"{k}={val}" for k, val in p.items()) + ")"
            return scheme_sw2(text, width)[0]
        if sw2_of(xvals[0]) is None:
            return None, scheme_sw2(proto, width)[1]
        scheme = name
        if all(abs(sw2_of(v) - v) <= 1e-12 * abs(v) for v in xvals):
            xlabel = "$\\sigma_w^2$ = " + xa.label()
        else:
            xlabel = xa.label() + f" ($\\sigma_w^2$ {sw2_of(xvals[0]):.3g} .. " \
                f"{sw2_of(xvals[-1]):.3g})"
    else:
        return None, f"cannot derive sw2 from the x axis '{xa.name}'"
    sb2, why = bias_sb2(bias, scheme, width or 0)
    if sb2 is None:
        return None, why
    if exp.meanfield is None:
        exp.meanfield = TanhMeanField()
    # evenly in cell positions, from the left edge of the first cell to the right of the last
    px = np.linspace(-0.5, len(xvals) - 0.5, 60 * len(xvals) + 1)
    xs = from_position(xvals, px)
    keep = xs > 0
    px, xs = px[keep], xs[keep]
    ys = np.array([6 * exp.meanfield.xi_c(sw2_of(v), sb2) for v in xs])
    ys[~np.isfinite(ys)] = 1e9
    return (px, ys, sb2, xlabel), None


def fig_steps_to_target(exp):
    import numpy as np
    target_loss = spec_get(exp.spec, "train.target_loss")
    target_acc = spec_get(exp.spec, "train.target_accuracy")
    reached_any = any(r["steps_to_target"] >= 0 for r in exp.runs.values())
    if target_loss is None and target_acc is None and not reached_any:
        return "no train.target_loss or train.target_accuracy in the spec"
    n = len(exp.setting_keys)
    fig = new_figure(7.5, 0.38 * n + 1.9)
    ax = fig.add_subplot(1, 1, 1)
    all_vals = []
    for s in range(n):
        vals = [exp.runs[r]["steps_to_target"] for r in exp.setting_runs[s]]
        all_vals += [v for v in vals if v >= 0]
    xmax = max(all_vals) if all_vals else 1
    log = wants_log(all_vals, 30)
    for s in range(n):
        y = n - 1 - s
        vals = np.array([exp.runs[r]["steps_to_target"] for r in exp.setting_runs[s]])
        ok = vals[vals >= 0]
        st = exp.style(s)
        if ok.size:
            mean = ok.mean()
            ax.barh(y, mean, height=0.6, color=st["color"], alpha=0.55, edgecolor=st["color"])
            if ok.size > 1:
                ax.errorbar(mean, y, xerr=[[mean - ok.min()], [ok.max() - mean]], color="0.15",
                            capsize=3, lw=1)
            ax.plot(ok, np.full(ok.size, y), "o", color="0.1", ms=3, zorder=4)
            xt = ok.max()
        else:
            xt = 0
        ndiv = sum(exp.runs[r]["status"] == "diverged" for r in exp.setting_runs[s])
        ax.text(xt * (1.08 if log else 1.0) + (0 if log else 0.015 * xmax), y,
                f" {ok.size}/{vals.size} reached" + (f", {ndiv} diverged" if ndiv else ""),
                va="center", fontsize=8)
    ax.set_yticks(range(n))
    ax.set_yticklabels([exp.labels[s] for s in range(n - 1, -1, -1)], fontsize=8)
    if log:
        ax.set_xscale("log")
    else:
        ax.set_xlim(0, xmax * 1.25)
    ax.set_ylim(-0.7, n - 0.3)
    what = []
    if target_loss is not None:
        what.append(f"train loss \u2264 {target_loss:g}")
    if target_acc is not None:
        what.append(f"train accuracy \u2265 {target_acc:g}")
    ax.set_xlabel("steps to target (parameter updates)")
    ax.grid(True, axis="x", alpha=0.3)
    tgt = " or ".join(what) if what else "the target"
    title = title_for(exp, f"steps to reach {tgt}\n(bar: mean over the runs that reached it, "
                           f"whiskers min..max, dots: runs)")
    finish(exp, fig, "steps_to_target.png", title)
    return None


# ------------------------------------------------------------------------------------------------


def plot(folder):
    exp = Experiment(folder)
    exp.out = os.path.join(folder, "plots")
    exp.written = []
    exp.meanfield = None
    for note in exp.notes:
        print(f"note: {note}", flush=True)
    exp.notes = []
    jobs = [("curves.png", fig_curves, ()),
            ("layers.png", fig_layers, ()),
            ("hist_activation.png", fig_histograms, ("activation",)),
            ("hist_delta.png", fig_histograms, ("delta",)),
            ("saturated.png", fig_fraction, ("saturated_frac", "saturated.png",
                                             "saturated fraction")),
            ("dead.png", fig_fraction, ("dead_frac", "dead.png", "dead-unit fraction")),
            ("symmetry.png", fig_symmetry, ()),
            ("jacobian.png", fig_jacobian, ()),
            ("heatmap.png", fig_heatmap, ()),
            ("steps_to_target.png", fig_steps_to_target, ())]
    for name, fn, args in jobs:
        skipped = fn(exp, *args)
        for note in exp.notes:
            print(f"note: {note}", flush=True)
        exp.notes = []
        if skipped:
            print(f"note: skip {name}: {skipped}", flush=True)
            stale = os.path.join(exp.out, name)
            if os.path.isfile(stale):
                os.remove(stale)
                print(f"note: removed the stale {stale}", flush=True)
    return exp.written


def main(argv):
    ap = argparse.ArgumentParser(
        prog="plot.py", description=__doc__.replace(USAGE + "\n\n", ""),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir", metavar="DIR", help="an experiment folder written by initbench run")
    args = ap.parse_args(argv)
    try:
        import numpy  # noqa: F401
        import matplotlib
    except ImportError as e:
        print(f"plot.py: error: {e.name} is not installed for {sys.executable} (Debian: apt-get "
              f"install python3-numpy python3-matplotlib)", file=sys.stderr)
        return 3
    matplotlib.use("Agg", force=True)
    matplotlib.rcdefaults()  # ignore any matplotlibrc: the same figures everywhere
    matplotlib.rcParams["savefig.dpi"] = DPI
    matplotlib.rcParams["figure.dpi"] = DPI
    import numpy as np
    try:
        with np.errstate(all="ignore"):
            plot(args.dir)
    except DataError as e:
        print(f"plot.py: error: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"plot.py: error: {e}", file=sys.stderr)
        return 1
    except Exception as e:  # a bug of ours: one line, the traceback on request
        if os.environ.get("INITBENCH_PLOT_DEBUG"):
            raise
        print(f"plot.py: internal error: {type(e).__name__}: {e} (set INITBENCH_PLOT_DEBUG=1 "
              f"for the traceback)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
