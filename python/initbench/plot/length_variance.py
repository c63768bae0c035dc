"""length_variance.png: how much the length of a ReLU network's signal varies from one
initialisation to the next (Hanin & Rolnick 2018), from correlation.csv at step 0.

Per run and probe sample, ln(q_l / q_0) with q_l = ||z_l||^2 / n_l the mean square of the
pre-activations at layer l and q_0 that of the input. Per setting (runs sharing every grid axis
but seed, one network per seed) its variance over the seeds (n - 1), per layer and sample, then
the mean over the samples.

Theory (He-initialised ReLU layers, Gaussian weights, zero biases; results/finite_width/README.md
derives it): a hidden layer of n units multiplies the mean square by (2 / n) chi^2_K, K ~
Binomial(n, 1/2), independently of the other layers, adding v(n) = E trigamma(K / 2) +
Var digamma(K / 2) = 5 / n + O(1 / n^2) to the variance of the log; the pre-activation z_l of n_l
units adds trigamma(n_l / 2) on top. So Var ln(q_l / q_0) = sum over the hidden layers j < l of
v(n_j) + trigamma(n_l / 2), about 5 beta_l + trigamma(n_l / 2) with beta_l = sum 1 / n_j.

Panels: the output layer's variance against beta = sum over every hidden layer of 1 / n_j, one
point per setting (colour: depth, marker: width), with the least-squares line (its slope in the
legend), the first-order line 5 beta + trigamma(n_L / 2) and the exact finite-width values
(crosses); and every layer's variance minus its own trigamma(n_l / 2) against beta_l, one line per
setting: settings of equal beta_l fall on one curve whatever their depth.

Drawn when correlation.csv has step-0 rows, every run's hidden units are relu, and every setting
has at least MIN_SEEDS runs (a variance over fewer seeds is too noisy to compare).
"""

import math

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D

from .style import finish, new_figure, style, title_for

NAME = "length_variance.png"
MIN_SEEDS = 20
MARKERS = "osD^v<>ph*"


def digamma_half(k):
    """digamma(k / 2), k >= 1, by digamma(x + 1) = digamma(x) + 1 / x from 1/2 or 1."""
    euler = 0.57721566490153286
    x, value = (0.5, -euler - 2.0 * math.log(2.0)) if k % 2 else (1.0, -euler)
    while x < k / 2.0 - 0.25:
        value += 1.0 / x
        x += 1.0
    return value


def trigamma_half(k):
    """trigamma(k / 2), k >= 1, by trigamma(x + 1) = trigamma(x) - 1 / x^2 from 1/2 or 1."""
    x, value = (0.5, math.pi ** 2 / 2.0) if k % 2 else (1.0, math.pi ** 2 / 6.0)
    while x < k / 2.0 - 0.25:
        value -= 1.0 / (x * x)
        x += 1.0
    return value


def relu_layer_variance(n):
    """v(n) = Var ln((2 / n) chi^2_K), K ~ Binomial(n, 1/2) conditioned on K > 0."""
    k = np.arange(1, n + 1)
    log_p = np.array([math.lgamma(n + 1) - math.lgamma(j + 1) - math.lgamma(n - j + 1)
                      for j in k]) - n * math.log(2.0)
    p = np.exp(log_p)
    p /= p.sum()
    d = np.array([digamma_half(j) for j in k])
    t = np.array([trigamma_half(j) for j in k])
    return float(np.dot(p, t) + np.dot(p, d * d) - np.dot(p, d) ** 2)


def analyse(exp):
    """(points, curves, skipped): points[s] = (depth, width, beta, measured, first_order, exact)
    for the output layer; curves[s] = (beta_l, measured_l - trigamma(n_l / 2)) over the layers
    l = 1..L. skipped: the reason there is nothing to draw, else None."""
    t = exp.correlation
    if t is None:
        return None, None, "no correlation.csv"
    t = t[t["step"] == 0]
    if len(t) == 0:
        return None, None, "correlation.csv has no step-0 rows"
    runs = exp.runs
    if not (runs["activation"] == "relu").all():
        return None, None, "not every run has relu hidden units"
    table = exp.tables["runs.csv"]
    if not table.has("layers"):
        return None, None, "runs.csv has no layers column"
    sizes = dict(zip(table.ints("run_id").tolist(),
                     ([int(v) for v in s.split("-")] for s in table.text("layers"))))
    counts = runs.groupby("setting").size()
    if len(counts) < 2 or counts.min() < MIN_SEEDS:
        return None, None, f"fewer than 2 settings or fewer than {MIN_SEEDS} seeds per setting"
    # one row per (run, layer, sample): ln(q_l / q_0)
    q = np.concatenate([t["q_a"].to_numpy(), t["q_b"].to_numpy()])
    sample = np.concatenate([2 * t["pair"].to_numpy(), 2 * t["pair"].to_numpy() + 1])
    run = np.concatenate([t["run_id"].to_numpy()] * 2)
    layer = np.concatenate([t["layer"].to_numpy()] * 2)
    frame = pd.DataFrame({"run": run, "layer": layer, "sample": sample, "q": q})
    q0 = frame[frame["layer"] == 0].set_index(["run", "sample"])["q"]
    frame = frame[frame["layer"] > 0]
    base = q0.reindex(pd.MultiIndex.from_arrays([frame["run"], frame["sample"]])).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        frame = frame.assign(log=np.log(frame["q"].to_numpy() / base),
                             setting=runs["setting"].reindex(frame["run"]).to_numpy())
    var = (frame.groupby(["setting", "layer", "sample"])["log"].var(ddof=1)
           .groupby(level=["setting", "layer"]).mean())
    points, curves = {}, {}
    for s, ids in enumerate(exp.setting_runs):
        n = sizes[ids[0]]
        hidden = n[1:-1]
        v_of = {w: relu_layer_variance(w) for w in set(hidden)}
        beta_l = np.concatenate([[0.0], np.cumsum([1.0 / w for w in hidden])])
        exact_l = np.concatenate([[0.0], np.cumsum([v_of[w] for w in hidden])])
        layers = np.arange(1, len(n))
        measured = var.loc[s].reindex(layers).to_numpy()
        own = np.array([trigamma_half(w) for w in n[1:]])
        curves[s] = (beta_l, measured - own)
        beta = beta_l[-1]
        points[s] = (len(hidden), max(hidden, default=0), beta, measured[-1],
                     5.0 * beta + own[-1], exact_l[-1] + own[-1])
    return points, curves, None


def draw(exp):
    points, curves, skipped = analyse(exp)
    if skipped:
        return skipped
    depths = sorted({p[0] for p in points.values()})
    widths = sorted({p[1] for p in points.values()})
    color = {d: style(i)["color"] for i, d in enumerate(depths)}
    marker = {w: MARKERS[i % len(MARKERS)] for i, w in enumerate(widths)}
    fig = new_figure(11.0, 4.6)
    ax1, ax2 = fig.subplots(1, 2)
    beta = np.array([p[2] for p in points.values()])
    measured = np.array([p[3] for p in points.values()])
    slope, intercept = np.polyfit(beta, measured, 1)
    grid = np.linspace(0.0, beta.max() * 1.05, 50)
    out = {round(p[4] - 5.0 * p[2], 12) for p in points.values()}
    for p in points.values():
        ax1.plot(p[2], p[3], marker=marker[p[1]], color=color[p[0]], ls="none", ms=6)
        ax1.plot(p[2], p[5], marker="x", color="0.3", ls="none", ms=5)
    ax1.plot(grid, intercept + slope * grid, color="0.2", lw=1.2,
             label=f"fit: {intercept:.3f} + {slope:.2f} beta")
    for c in sorted(out):
        ax1.plot(grid, c + 5.0 * grid, color="0.5", lw=1, ls="--",
                 label=f"5 beta + {c:.3f} (first order)")
    ax1.set_xlabel("beta = sum of 1 / n_l over the hidden layers")
    ax1.set_ylabel("Var over seeds of ln(q_L / q_0)")
    ax1.set_title("output layer", fontsize=9)
    ax1.grid(True, alpha=0.3)
    ax1.legend(fontsize=7.5, loc="upper left", frameon=False)
    for s, (b, m) in curves.items():
        d, w = points[s][0], points[s][1]
        ax2.plot(b, m, color=color[d], lw=1, marker=marker[w], ms=2.5, alpha=0.85)
    top = max(float(b.max()) for b, _ in curves.values())
    ax2.plot([0, top], [0, 5.0 * top], color="0.5", lw=1, ls="--")
    ax2.set_xlabel("beta_l = sum of 1 / n_j over the hidden layers before l")
    ax2.set_ylabel("Var ln(q_l / q_0) - trigamma(n_l / 2)")
    ax2.set_title("every layer l (dashed: 5 beta_l)", fontsize=9)
    ax2.grid(True, alpha=0.3)
    handles = [Line2D([], [], color=color[d], lw=2) for d in depths]
    labels = [f"depth {d}" for d in depths]
    handles += [Line2D([], [], color="0.3", marker=marker[w], ls="none") for w in widths]
    labels += [f"width {w}" for w in widths]
    handles.append(Line2D([], [], color="0.3", marker="x", ls="none"))
    labels.append("exact finite-width prediction")
    what = ("variance over initialisations of the log squared length, at step 0\n"
            "(He-initialised ReLU: about 5 beta, Hanin & Rolnick 2018)")
    finish(exp, fig, NAME, title_for(exp, what), (handles, labels))
    return None
