"""How every figure looks: dpi, colours, line styles, fonts, legend and title placement, the
version stamp in the lower right corner, zeros at the floor of log axes, and deterministic PNG
files (no metadata).

matplotlib's default style is used (plot.main() resets rcParams, so no matplotlibrc applies); the
sizes below are in inches at DPI dots per inch.
"""

import math
import os
import warnings

from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import LogLocator, NullFormatter, StrMethodFormatter
import numpy as np

from .experiment import spec_get

DPI = 100
TITLE_FONTSIZE = 11
LEGEND_FONTSIZE = 8
STAMP_FONTSIZE = 7
STAMP_COLOR = "0.35"

# Okabe & Ito (2008): distinguishable with every common colour-vision deficiency (their yellow,
# hard to see on white, is left out). Past 7 settings the colours repeat with another line style.
OKABE_ITO = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
LINESTYLES = ("-", "--", ":", "-.")


def style(i):
    """Colour and line style of the i-th setting drawn (see Experiment.style)."""
    return dict(color=OKABE_ITO[i % len(OKABE_ITO)], linestyle=LINESTYLES[(i // len(OKABE_ITO))
                                                                          % len(LINESTYLES)])


def layer_colors(n):
    cmap = colormaps["viridis"]
    return [cmap(0.85 * i / max(1, n - 1)) for i in range(n)]


def log_y(ax, values):
    """A log y axis; under three decades of data, ticks at 1, 2 and 5 times powers of ten are
    labelled too (matplotlib would label only one or two powers of ten)."""
    ax.set_yscale("log")
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    if v.size and np.log10(v.max() / v.min()) < 3:
        ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(StrMethodFormatter("{x:g}"))
        ax.yaxis.set_minor_formatter(NullFormatter())


# Exact zeros on a log axis (a zero-initialised network's gradient norms, a ratio that
# underflows): drawn at the axis' floor with this marker, never dropped silently.
ZERO_MARKER = dict(marker="s", mfc="white", mew=1.3, ms=5, ls="none")
ZERO_LABEL = "0, drawn at the floor (log axis)"
ZERO_GID = "zero_at_floor"  # the marker lines' gid: tests find them by it


def zero_handle():
    """The legend entry of zeros_at_floor's markers."""
    return Line2D([], [], color="0.2", **ZERO_MARKER), ZERO_LABEL


def zeros_at_floor(ax, pos, values, color, axis="y"):
    """Marks the exact zeros of values at the floor of ax's log axis: axis "y", at the bottom
    edge above pos (x data values); axis "x", at the left edge beside pos (y data values).
    The marks follow the axis limits whatever they become. Returns how many were marked."""
    values = np.asarray(values, dtype=float)
    zero = values == 0
    n = int(zero.sum())
    if not n:
        return 0
    at = np.asarray(pos, dtype=float)[zero]
    if axis == "y":
        xy, trf = (at, np.zeros(n)), ax.get_xaxis_transform()
    else:
        xy, trf = (np.zeros(n), at), ax.get_yaxis_transform()
    ax.plot(*xy, transform=trf, clip_on=False, color=color, zorder=6, gid=ZERO_GID,
            **ZERO_MARKER)
    return n


def step_axis(exp, ax, steps):
    """The x axis of a quantity over training: symlog under the spec's log probe schedule."""
    ax.set_xlabel("step (parameter updates)")
    if spec_get(exp.spec, "probes.schedule") == "log" and len(steps) and max(steps) > 10:
        ax.set_xscale("symlog", linthresh=1)
        ax.set_xlim(left=0)  # symlog's default margin would show a negative step


def new_figure(width, height):
    fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def legend_columns(labels, width_in):
    longest = max((len(s) for s in labels), default=10)
    per = max(1, int(width_in / (0.075 * longest + 0.6)))
    return max(1, min(per, len(labels)))


def title_for(exp, what):
    return f"{exp.name}: {what}"


def finish(exp, fig, name, title, legend=None, legend_cols=None):
    """Title, legend below the panels, the stamp in the lower right corner, tight layout, save.

    legend_cols None: as many columns as the figure's width allows (legend_columns)."""
    w, h = fig.get_size_inches()
    bottom_in = 0.25  # the stamp
    if legend:  # the figure grows by the legend's height: the panels keep theirs
        handles, labels = legend
        if legend_cols is None:
            legend_cols = legend_columns(labels, w)
        rows = math.ceil(len(handles) / legend_cols)
        legend_in = 0.2 * rows + 0.15
        h += legend_in
        fig.set_size_inches(w, h)
        fig.legend(handles, labels, loc="lower center", ncol=legend_cols, frameon=False,
                   fontsize=LEGEND_FONTSIZE, bbox_to_anchor=(0.5, bottom_in / h))
        bottom_in += legend_in
    fig.suptitle(title, fontsize=TITLE_FONTSIZE, y=1 - 0.08 / h, va="top")
    fig.text(1 - 0.05 / w, 0.05 / h, exp.stamp, ha="right", va="bottom",
             fontsize=STAMP_FONTSIZE, color=STAMP_COLOR)
    for _ in range(3):  # widen until no text runs off the figure or past its panel
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # tight_layout leaves room for the suptitle itself
            fig.tight_layout(rect=(0, bottom_in / h, 1, 1 - 0.05 / h), h_pad=0.8, w_pad=0.8)
        wider = _needed_width(fig)
        if wider <= w:
            break
        w = wider
        fig.set_size_inches(w, h)
    save(exp, fig, name)


def text_width(text, fontsize):
    """The width of text in inches at fontsize points (matplotlib's default font), as drawn."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextToPath
    width, _, _ = TextToPath().get_text_width_height_descent(
        text, FontProperties(size=fontsize), ismath=False)
    return width / 72.0


def _needed_width(fig):
    """The figure width (inches) at which no text is cut off at the left or right edge and no
    panel title is wider than its panel (it would run into the next one): the current width
    when all fit."""
    w = fig.get_size_inches()[0]
    renderer = fig.canvas.get_renderer()
    drawn = fig.get_tightbbox(renderer)  # inches, around what is drawn
    over = max(0.0, -drawn.x0) + max(0.0, drawn.x1 - w)
    need = w + over + (0.1 if over else 0.0)
    for ax in fig.axes:
        if not ax.axison or not ax.get_title():
            continue
        title = ax.title.get_window_extent(renderer).width
        panel = ax.get_window_extent(renderer).width
        if title > panel > 0:  # the panels share the width: grow them all by this ratio
            need = max(need, w * (title + 0.15 * fig.dpi) / panel)
    return need


def save(exp, fig, name):
    """DIR/plots/NAME, written whole (a temporary file renamed), without PNG metadata: the same
    figure gives the same bytes."""
    os.makedirs(exp.out, exist_ok=True)
    path = os.path.join(exp.out, name)
    tmp = path + ".tmp"
    fig.savefig(tmp, dpi=DPI, format="png", metadata={"Software": None})
    os.replace(tmp, path)
    exp.written.append(name)
    if getattr(exp, "figures", None) is not None:
        exp.figures[name] = fig
    print(f"wrote {path}", flush=True)
