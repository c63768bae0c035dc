"""coord_check.png: microsoft/mup's coordinate check (coord_check.csv): the mean |.| of each
layer type's coordinates against the width on log-log axes, a line per step (0 .. k, the mean
over seeds), a panel per layer type (the first hidden layer's pre-activations, the last hidden
layer's, the output logits) and a row of panels per parametrization and optimizer (the grid
axes that vary besides seed and model.width)."""

import numpy as np

from .style import finish, layer_colors, new_figure, title_for

NAME = "coord_check.png"


def draw(exp):
    t = exp.coord_check
    if t is None:
        return "no coord_check.csv"
    if len(t) == 0:
        return "coord_check.csv has no rows (probes.coord_check is off)"
    if not any(a.name == "model.width" and a.varies for a in exp.axes):
        return "model.width is not a varying axis"
    others = [a.name for a in exp.axes if a.varies and a.name not in ("seed", "model.width")]
    runs = exp.runs
    keys = list(dict.fromkeys(tuple(runs.at[r, "axis:" + a] for a in others)
                              for r in sorted(t["run_id"].unique())))
    L = int(t["layer"].max())
    panels = [(1, "preact", "layer 1 pre-activations"),
              (L - 1, "preact", f"layer {L - 1} pre-activations"),
              (L, "preact", "output logits"),
              (L, "delta", "change of the logits since step 0")]
    panels = [p for p in panels if p[0] >= 1]
    steps = sorted(t["step"].unique())
    colors = layer_colors(len(steps))
    fig = new_figure(3.0 * len(panels) + 0.6, 2.5 * len(keys) + 0.9)
    axes = fig.subplots(len(keys), len(panels), squeeze=False)
    width = runs["axis:model.width"].astype(float)
    for i, key in enumerate(keys):
        ids = [r for r in t["run_id"].unique()
               if tuple(runs.at[r, "axis:" + a] for a in others) == key]
        sub = t[t["run_id"].isin(ids)].copy()
        sub["w"] = sub["run_id"].map(width)
        for j, (layer, column, label) in enumerate(panels):
            ax = axes[i][j]
            rows = sub[sub["layer"] == layer]
            for s, step in enumerate(steps):
                if column == "delta" and step == 0:
                    continue
                g = rows[rows["step"] == step].groupby("w")[column].mean()
                ok = np.isfinite(g.to_numpy()) & (g.to_numpy() > 0)
                ax.plot(g.index[ok], g.to_numpy()[ok], color=colors[s], marker="o", ms=3,
                        lw=1.2, label=f"step {step}")
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            name = ", ".join(f"{v}" for v in key)
            ax.set_title(f"{name}: {label}" if name else label, fontsize=8.5)
            ax.set_xlabel("width")
            if j == 0:
                ax.set_ylabel("mean |coordinate|")
            ax.grid(True, alpha=0.3, which="both")
    from matplotlib.lines import Line2D
    handles = [Line2D([], [], color=colors[s], marker="o", ms=3) for s in range(len(steps))]
    labels = [f"step {s}" for s in steps]
    finish(exp, fig, NAME, title_for(exp, "coordinate size against width (mean over seeds)"),
           (handles, labels))
    return None
