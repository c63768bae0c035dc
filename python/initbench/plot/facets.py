"""Small multiples: which grid axes lay out a figure's panels and which make the lines in a panel.

A figure whose settings fit in one panel (at most MAX_LINES, or fewer than two varying grid axes
besides seed) draws one line per setting, as exp.labels and exp.style name and colour them. Past
that, two grid axes become the rows and columns of a grid of panels and the other axes the lines
inside each panel: the axes whose values are not numbers first, in grid order (scheme,
activation, optimizer), then the numeric ones with the fewest values (depth before a sweep of 9
scales); the first chosen gives the rows, the second the columns (swapped when the second has
more than MAX_UNWRAPPED values and the first fewer), and at least one axis is left for the lines.
With two varying axes the chosen one lays out the panels alone, wrapped into rows past
MAX_UNWRAPPED values. glorot2010 (activation x depth x scheme, each with its own train.lr):
rows = activation, columns = scheme, lines = depth; an axis whose value follows from the others
(that train.lr) makes no lines of its own.

Lines keep their colour in every panel (a sequential colour map when they are the values of one
numeric axis, the setting colours otherwise); panels are titled with their row and column
values ("sigmoid, glorot_standard").
"""

import math

from matplotlib import colormaps

from .stats import MAX_SETTINGS, pick_evenly
from .style import style as setting_style

MAX_LINES = 8  # settings one panel shows before the figure becomes small multiples
MAX_PANEL_LINES = 12  # lines per small multiple
MAX_FACET_ROWS = 8
MAX_FACET_COLS = 8
MAX_UNWRAPPED = 4  # columns before the longer facet axis goes down the rows, or one axis wraps


def _sequential(n):
    cmap = colormaps["viridis"]
    return [cmap(0.85 * i / max(1, n - 1)) for i in range(n)]


def _short(axis, value):
    """A value as a title or legend shows it: numbers to 4 significant digits (scale=0.3536)."""
    if axis.numeric is not None and axis.param is None:
        return f"{axis.name.split('.')[-1]}={float(value):.4g}"
    return axis.short(value)


class Layout:
    """The panels and lines of a figure. shape: (rows, columns) of the panel grid; lines: the
    line keys shown (tuples of the line axes' values; without facets the settings);
    cell[s] = (row, column) of the panel and line[s] = the line index of every setting s shown;
    row_axis, col_axis: the (index, Axis) of the grid axes laying out the panels (None when
    absent; a single facet axis with more than MAX_UNWRAPPED values is wrapped into rows, and
    wrapped is True)."""

    def __init__(self, exp, settings=None, max_lines=MAX_LINES):
        self.exp = exp
        all_settings = list(range(len(exp.setting_keys))) if settings is None else list(settings)
        varying = [(j, a) for j, a in enumerate(exp.axes) if a.varies and a.name != "seed"]
        self.faceted = len(all_settings) > max_lines and len(varying) >= 2
        self.notes = []
        self.wrapped = False
        if not self.faceted:
            shown = pick_evenly(all_settings, MAX_SETTINGS)
            if len(shown) < len(all_settings):
                self.notes.append(f"showing {len(shown)} of {len(all_settings)} settings "
                                  f"(evenly spaced in grid order)")
            self.row_axis = self.col_axis = None
            self.line_axes = []
            self.shape = (1, 1)
            self._titles = {(0, 0): ""}
            self.lines = shown
            self.cell = {s: (0, 0) for s in shown}
            self.line = {s: i for i, s in enumerate(shown)}
            self.settings = shown
            return
        categorical = [d for d in varying if d[1].numeric is None]
        numeric = sorted((d for d in varying if d[1].numeric is not None),
                         key=lambda d: (len(d[1].values), d[0]))
        order = categorical + numeric
        facet = order[:min(2, len(varying) - 1)]
        facet_js = {j for j, _ in facet}
        self.line_axes = [d for d in varying if d[0] not in facet_js]
        keys = exp.setting_keys
        # An axis whose value follows from the other varying axes adds no line of its own (a
        # zipped partner: glorot2010's train.lr, one rate per setting): it is left out of the
        # line keys, last axis first, keeping at least one.
        def distinct(axes):
            return len({tuple(keys[s][j] for j, _ in axes) for s in all_settings})
        for d in reversed(list(self.line_axes)):
            rest = [x for x in varying if x[0] != d[0] and (x[0] in facet_js or x in
                                                             self.line_axes)]
            if len(self.line_axes) > 1 and distinct(rest) == distinct(varying):
                self.line_axes.remove(d)
        if len(facet) == 2:
            self.row_axis, self.col_axis = facet
            rows = self._values(self.row_axis, all_settings, MAX_FACET_ROWS, "rows")
            cols = self._values(self.col_axis, all_settings, MAX_FACET_COLS, "columns")
            if len(cols) > MAX_UNWRAPPED and len(rows) < len(cols):  # the longer one down
                self.row_axis, self.col_axis = self.col_axis, self.row_axis
                self.notes = []
                rows = self._values(self.row_axis, all_settings, MAX_FACET_ROWS, "rows")
                cols = self._values(self.col_axis, all_settings, MAX_FACET_COLS, "columns")
            place = {(r, c): (i, k) for i, r in enumerate(rows) for k, c in enumerate(cols)}
            self.shape = (len(rows), len(cols))
            facet_of = lambda s: (keys[s][self.row_axis[0]], keys[s][self.col_axis[0]])  # noqa
        else:  # one axis: a row of panels, wrapped past MAX_UNWRAPPED values
            self.row_axis, self.col_axis = None, facet[0]
            values = self._values(self.col_axis, all_settings, MAX_FACET_ROWS * MAX_FACET_COLS,
                                  "panels")
            nc = len(values) if len(values) <= MAX_UNWRAPPED else math.ceil(math.sqrt(
                len(values)))
            self.wrapped = nc < len(values)
            place = {(v,): divmod(i, nc) for i, v in enumerate(values)}
            self.shape = (math.ceil(len(values) / nc), nc)
            facet_of = lambda s: (keys[s][self.col_axis[0]],)  # noqa: E731
        line_keys = list(dict.fromkeys(self.line_key(s) for s in all_settings))
        self.lines = pick_evenly(line_keys, MAX_PANEL_LINES)
        if len(self.lines) < len(line_keys):
            self.notes.append(f"showing {len(self.lines)} of {len(line_keys)} lines per panel "
                              f"({self.line_axis_names()})")
        self._titles = {}
        for values, pos in place.items():
            axes = [d for d in (self.row_axis, self.col_axis) if d is not None]
            self._titles[pos] = ", ".join(_short(d[1], v) for d, v in zip(axes, values))
        self.cell, self.line = {}, {}
        for s in all_settings:
            pos = place.get(facet_of(s))
            lk = self.line_key(s)
            if pos is not None and lk in self.lines:
                self.cell[s] = pos
                self.line[s] = self.lines.index(lk)
        self.settings = [s for s in all_settings if s in self.cell]
        numeric_lines = len(self.line_axes) == 1 and self.line_axes[0][1].numeric is not None
        self._colors = _sequential(len(self.lines)) if numeric_lines else None

    def _values(self, axis, settings, cap, what):
        j, a = axis
        present = {self.exp.setting_keys[s][j] for s in settings}
        values = [v for v in a.values if v in present]
        shown = pick_evenly(values, cap)
        if len(shown) < len(values):
            self.notes.append(f"showing {len(shown)} of {len(values)} values of {a.name} as "
                              f"{what}")
        return shown

    def line_key(self, s):
        return tuple(self.exp.setting_keys[s][j] for j, _ in self.line_axes)

    def line_axis_names(self):
        return ", ".join(a.name for _, a in self.line_axes)

    def facet_axis_names(self):
        return ", ".join(d[1].name for d in (self.row_axis, self.col_axis) if d is not None)

    def note(self, fig_name):
        for n in self.notes:
            self.exp.notes.append(f"{fig_name}: {n}")

    def in_cell(self, ri, ci):
        """The settings shown in panel (ri, ci), in grid order (none: an empty place)."""
        return [s for s in self.settings if self.cell[s] == (ri, ci)]

    def style(self, s):
        """Colour and line style of setting s's line: the same in every panel."""
        if not self.faceted:
            return self.exp.style(s)
        return self.line_style(self.line[s])

    def line_style(self, i):
        if not self.faceted:
            return self.exp.style(self.lines[i])
        if self._colors is not None:
            return dict(color=self._colors[i], linestyle="-")
        return setting_style(i)

    def line_label(self, i):
        if not self.faceted:
            return self.exp.labels[self.lines[i]]
        key = self.lines[i]
        return ", ".join(_short(a, key[k]) for k, (_, a) in enumerate(self.line_axes))

    def panel_title(self, ri, ci):
        """"sigmoid, glorot_standard": the row and column values of panel (ri, ci)."""
        return self._titles.get((ri, ci), "")

    def setting_title(self, s):
        """"sigmoid, glorot_standard, depth=5": setting s's panel and line (faceted only)."""
        return f"{self.panel_title(*self.cell[s])}, {self.line_label(self.line[s])}"

    def describe(self):
        """"rows: model.activation, columns: init.scheme, lines: model.depth" (faceted only)."""
        if self.row_axis:
            parts = [f"rows: {self.row_axis[1].name}", f"columns: {self.col_axis[1].name}"]
        else:
            parts = [f"panels: {self.col_axis[1].name}"]
        parts.append(f"lines: {self.line_axis_names()}")
        return ", ".join(parts)

    def handles(self, extra=(), lw=2):
        """Legend entries: one per line shown, then the extra (handle, label) pairs."""
        from matplotlib.lines import Line2D
        handles = [Line2D([], [], lw=lw, **self.line_style(i)) for i in range(len(self.lines))]
        labels = [self.line_label(i) for i in range(len(self.lines))]
        for h, lab in extra:
            handles.append(h)
            labels.append(lab)
        return handles, labels
