"""lr_transfer.png: learning-rate transfer (runs.csv): the final training loss against log2 of
train.lr, a line per width (the mean over seeds; a diverged run, nan or inf, is drawn at the top
of the panel with a cross), a panel per value of the other varying axes (the parametrization),
the best rate of each width marked with a dot. Drawn when train.lr and model.width both vary."""

import numpy as np

from .style import finish, layer_colors, new_figure, title_for

NAME = "lr_transfer.png"


def draw(exp):
    varying = {a.name for a in exp.axes if a.varies}
    if not {"train.lr", "model.width"} <= varying:
        return "train.lr and model.width do not both vary"
    others = [a for a in exp.axes
              if a.varies and a.name not in ("seed", "train.lr", "model.width")]
    runs = exp.runs.copy()
    runs["lr"] = runs["axis:train.lr"].astype(float)
    runs["w"] = runs["axis:model.width"].astype(int)
    loss = runs["final_train_loss"].astype(float)
    top = np.nanmax(np.where(np.isfinite(loss), loss, np.nan)) * 1.05
    runs["loss"] = np.where(np.isfinite(loss), loss, np.inf)
    keys = list(dict.fromkeys(tuple(row) for row in
                              runs[["axis:" + a.name for a in others]].itertuples(index=False)))
    widths = sorted(runs["w"].unique())
    colors = layer_colors(len(widths))
    fig = new_figure(3.8 * len(keys) + 0.6, 3.2)
    axes = fig.subplots(1, len(keys), squeeze=False)[0]
    for i, key in enumerate(keys):
        ax = axes[i]
        mask = np.ones(len(runs), dtype=bool)
        for a, v in zip(others, key):
            mask &= (runs["axis:" + a.name] == v).to_numpy()
        sub = runs[mask]
        for k, w in enumerate(widths):
            g = sub[sub["w"] == w].groupby("lr")["loss"].mean()
            x = np.log2(g.index.to_numpy())
            y = g.to_numpy()
            ok = np.isfinite(y)
            ax.plot(x[ok], y[ok], color=colors[k], marker="o", ms=2.5, lw=1.2)
            if (~ok).any():
                ax.plot(x[~ok], np.full((~ok).sum(), top), color=colors[k], marker="x",
                        ls="none", ms=5)
            if ok.any():
                best = int(np.argmin(np.where(ok, y, np.inf)))
                ax.plot([x[best]], [y[best]], color=colors[k], marker="o", ms=7, mfc="none")
        ax.set_yscale("log")
        ax.set_xlabel("log2 learning rate")
        if i == 0:
            ax.set_ylabel("final training loss (mean over seeds)")
        ax.set_title(", ".join(f"{a.name} = {v}" for a, v in zip(others, key)), fontsize=8.5)
        ax.grid(True, alpha=0.3, which="both")
    from matplotlib.lines import Line2D
    handles = [Line2D([], [], color=colors[k], lw=1.5) for k in range(len(widths))]
    labels = [f"width {w}" for w in widths]
    handles.append(Line2D([], [], color="0.2", marker="x", ls="none"))
    labels.append("diverged (nan or inf)")
    handles.append(Line2D([], [], color="0.2", marker="o", mfc="none", ls="none"))
    labels.append("best rate of the width")
    finish(exp, fig, NAME, title_for(exp, "final training loss against the learning rate"),
           (handles, labels))
    return None
