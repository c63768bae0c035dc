"""jacobian_moments.png: the mean and the variance of the spectrum of J J^T (J = dz_L/dx, the
input-output Jacobian of jacobian.csv) against depth, a line per setting, beside free
probability's prediction on the critical line (Pennington et al. 2017; docs/references.md and
results/dynamical_isometry/README.md derive it). Also the table scripts/jacobian_moments.py
prints (moments_table).

Per Jacobian (a run's probe sample at one step) with singular values s_1 >= ... >= s_n: the mean
m1 = mean s^2 and the variance mean s^4 - m1^2 of J J^T's eigenvalues, the 10 %/90 % spread
s_(ceil 0.1 n) / s_(ceil 0.9 n), the smallest s and the count of exact zeros; then per setting
and depth the mean over the Jacobians (the spread: geometric mean).

Prediction (mu_k = E[phi'(h)^(2k)], h ~ N(0, q*), v_D = mu2 / mu1^2 - 1, d hidden layers,
m1 = sw2 (sw2 mu1)^d): orthogonal weights m1^2 d v_D; Gaussian weights m1^2 ((d + 1) + d v_D).

Drawn when jacobian.csv has rows at step 0, runs.csv has sigma_w2, q_star and depth, and J is
square (the first and last widths of runs.csv's layers are equal): the prediction is for square
layers.
"""

import math

from matplotlib.lines import Line2D
from matplotlib.ticker import NullFormatter
import numpy as np
import pandas as pd

from .style import (finish, log_y, new_figure, style, title_for, zero_handle,
                    zeros_at_floor)

NAME = "jacobian_moments.png"
COLUMNS = ("activation", "scheme", "sigma_w2", "q_star", "depth", "jacobians", "m1", "m1_theory",
           "variance", "variance_theory", "spread_10_90", "smallest", "zeros")
NEEDED = ("sigma_w2", "q_star", "depth", "layers")  # runs.csv columns beyond the usual ones


# ---- theory ------------------------------------------------------------------------------------

def moments_of_sech(q, power, points=20000):
    """E[sech(sqrt(q) z)^power], z ~ N(0, 1), by the midpoint rule over +-10 sd."""
    total = 0.0
    for i in range(points):
        z = -10.0 + 20.0 * (i + 0.5) / points
        total += math.exp(-0.5 * z * z) * math.cosh(math.sqrt(q) * z) ** (-power)
    return total * (20.0 / points) / math.sqrt(2.0 * math.pi)


def prediction(activation, sw2, q_star, depth, orthogonal):
    """(m1, variance) of J J^T's spectrum at infinite width (nan, nan for other units)."""
    if activation == "tanh":
        mu1, mu2 = moments_of_sech(q_star, 4), moments_of_sech(q_star, 8)
        v_d = mu2 / mu1**2 - 1.0
        m1 = sw2 * (sw2 * mu1) ** depth
    elif activation == "relu":
        v_d, m1 = 1.0, sw2 * (sw2 / 2.0) ** depth
    else:
        return float("nan"), float("nan")
    variance = m1**2 * (depth * v_d if orthogonal else (depth + 1) + depth * v_d)
    return m1, variance


# ---- measurement -------------------------------------------------------------------------------

def why_not(exp, step=0):
    """None when the table and figure can be made from exp at step, else why not."""
    t = exp.jacobian
    if t is None:
        return "no jacobian.csv"
    missing = [c for c in NEEDED if c not in exp.runs.columns]
    if missing:
        return f"runs.csv has no {', '.join(missing)} column"
    if not (t["step"] == step).any():
        return f"jacobian.csv has no rows at step {step}"
    widths = exp.runs["layers"].str.split("-")
    if not (widths.str[0] == widths.str[-1]).all():
        return "J is not square (inputs and outputs differ): the prediction is for square layers"
    return None


def _per_jacobian(s):
    """m1, variance, 10/90 spread, smallest s and zeros of one Jacobian's singular values."""
    s = sorted(s, reverse=True)
    n = len(s)
    sq = [v * v for v in s]
    m1 = sum(sq) / n
    var = sum(v * v for v in sq) / n - m1 * m1
    p10, p90 = s[math.ceil(0.1 * n) - 1], s[math.ceil(0.9 * n) - 1]
    return m1, var, p10 / p90 if p90 > 0 else math.inf, s[-1], sum(v == 0.0 for v in s)


def moments_table(exp, step=0):
    """A DataFrame of COLUMNS and `setting` (the first setting of the row's runs), a row per
    (activation, scheme, sigma_w2, q_star, depth), sorted by activation, q*, scheme, depth."""
    t = exp.jacobian[exp.jacobian["step"] == step]
    runs = exp.runs
    groups = {}
    for (run_id, _), s in t.groupby(["run_id", "sample"], sort=False)["singular_value"]:
        run = runs.loc[run_id]
        q_star = float(run["q_star"])  # nan (ReLU has no q*): one nan object, a dict key
        key = (run["activation"], run["scheme"], float(run["sigma_w2"]),
               q_star if math.isfinite(q_star) else math.nan, int(run["depth"]))
        rows, first = groups.setdefault(key, ([], run["setting"]))
        rows.append(_per_jacobian(s.tolist()))
    table = []
    for key, (rows, setting) in groups.items():
        activation, scheme, sw2, q_star, depth = key
        k = len(rows)
        m1_theory, var_theory = prediction(activation, sw2, q_star, depth,
                                           scheme.startswith("orthogonal"))
        spread = math.exp(sum(math.log(r[2]) for r in rows) / k) if all(
            math.isfinite(r[2]) for r in rows) else math.inf
        table.append(key + (k, sum(r[0] for r in rows) / k, m1_theory,
                            sum(r[1] for r in rows) / k, var_theory, spread,
                            min(r[3] for r in rows), sum(r[4] for r in rows), setting))
    frame = pd.DataFrame(table, columns=COLUMNS + ("setting",))
    order = frame["q_star"].where(np.isfinite(frame["q_star"]), 0.0)
    return frame.assign(_q=order).sort_values(["activation", "_q", "scheme", "depth"],
                                              kind="stable").drop(columns="_q")


def _line_label(exp, setting, activation, q_star):
    """The setting's grid values but depth and seed ("tanh, orthogonal(gain=1.015164)"), and
    q* for tanh."""
    key = exp.setting_keys[setting]
    parts = [a.short(key[j]) for j, a in enumerate(exp.axes)
             if a.varies and a.name not in ("seed", "model.depth")]
    if activation == "tanh" and math.isfinite(q_star):
        parts.append(f"q* = {q_star:.3g}")
    return ", ".join(parts) or activation


# ---- figure ------------------------------------------------------------------------------------

def draw(exp, name=NAME, step=0):
    """Variance (left) and mean (right) of J J^T's spectrum against depth, log-log: markers and
    solid lines measured, dashed the prediction in the same colour. Returns None, or why the
    figure is skipped."""
    reason = why_not(exp, step)
    if reason:
        return reason
    table = moments_table(exp, step)
    lines = table.groupby(["activation", "scheme", "sigma_w2", "q_star"], sort=False,
                          dropna=False)
    lines = sorted(lines, key=lambda kv: kv[1]["setting"].min())  # grid order
    fig = new_figure(11.0, 4.4)
    left, right = fig.subplots(1, 2)
    handles, labels = [], []
    zeros = 0
    for i, ((activation, _, _, q_star), rows) in enumerate(lines):
        rows = rows.sort_values("depth")
        st = style(i)
        depth = rows["depth"].to_numpy()
        for ax, measured, theory in ((left, "variance", "variance_theory"),
                                     (right, "m1", "m1_theory")):
            y = rows[measured].to_numpy()
            zeros += zeros_at_floor(ax, depth, y, st["color"])
            ax.plot(depth, np.where(y > 0, y, np.nan), marker="o", ms=5, lw=1.5, **st)
            ax.plot(depth, rows[theory].to_numpy(), color=st["color"], ls="--", lw=1.2,
                    alpha=0.8)
        handles.append(Line2D([], [], marker="o", ms=5, lw=1.5, **st))
        labels.append(_line_label(exp, int(rows["setting"].min()), activation, q_star))
    left.set_title("variance of the eigenvalues of J J$^T$ (the spread)", fontsize=10)
    left.set_ylabel("variance of the eigenvalues $s^2$")
    right.set_title("mean of the eigenvalues of J J$^T$ (dashed: sw2 (sw2 mu1)$^d$)",
                    fontsize=10)
    right.set_ylabel("mean of the eigenvalues $s^2$")
    depths = sorted(set(table["depth"].tolist()))
    for ax, column in ((left, "variance"), (right, "m1")):
        ax.set_xscale("log")
        log_y(ax, table[[column, column + "_theory"]].to_numpy().ravel())
        ax.set_xticks(depths, [str(d) for d in depths])  # the depths of the grid
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("hidden layers $d$")
        ax.grid(True, which="both", alpha=0.3)
    handles.append(Line2D([], [], color="0.3", ls="--", lw=1.2))
    labels.append("free probability's prediction (infinite width)")
    if zeros:
        h, lab = zero_handle()
        handles.append(h)
        labels.append(lab)
    n = int(table["jacobians"].min())
    title = title_for(exp, f"spectrum of J J$^T$, J = $\\partial z_L/\\partial x$ at step {step}, "
                           f"against depth\n(mean over {n} or more Jacobians per point: seeds x "
                           f"probe samples; dashed: Pennington et al. 2017's prediction)")
    finish(exp, fig, name, title, (handles, labels))
    return None
