"""Grouped statistics and choices of what to show, shared by the figures."""

import numpy as np
import pandas as pd

MAX_SETTINGS = 16  # lines per panel
MAX_HIST_ROWS = 8
MAX_HIST_LAYERS = 8
MAX_LAYER_PANELS = 4
MAX_LAYER_LINES = 10
MAX_FACETS = 6
LOG_DECADES = 10  # a log axis of layers.png shows at most this many decades


def _mean(values):
    # A left-to-right sum, as the figures have always averaged: pandas' own mean sums with
    # compensation and can differ in the last bit, which can move a pixel or a rounded label.
    return sum(values.tolist()) / len(values)


def group_stats(keys, values):
    """keys: equal-length integer arrays; values: a float array of the same length. A DataFrame
    with columns mean, min, max over the finite values of each key combination, indexed by the
    keys (sorted); combinations whose values are all non-finite are left out."""
    values = np.asarray(values, dtype=float)
    names = [f"k{i}" for i in range(len(keys))]
    frame = pd.DataFrame({n: np.asarray(k) for n, k in zip(names, keys)})
    frame["v"] = values
    frame = frame[np.isfinite(values)]
    return frame.groupby(names, sort=True)["v"].agg(mean=_mean, min="min", max="max")


def series(stats, *prefix):
    """The rows of group_stats() under the leading key values prefix: (last key values, an n x 3
    array of mean, min, max), or None when there are none."""
    if prefix:
        try:
            sub = stats.loc[prefix if len(prefix) > 1 else prefix[0]]
        except KeyError:
            return None
    else:
        sub = stats
    if not isinstance(sub, pd.DataFrame) or len(sub) == 0:
        return None
    return np.asarray(sub.index.get_level_values(-1)), sub[["mean", "min", "max"]].to_numpy()


def pick_evenly(items, n):
    """At most n of items, evenly spaced, the first and last included."""
    if len(items) <= n:
        return list(items)
    idx = sorted(set(np.round(np.linspace(0, len(items) - 1, n)).astype(int).tolist()))
    return [items[i] for i in idx]


def wants_log(values, ratio=10.0):
    """Whether the positive finite values span a factor of ratio or more."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    return v.size > 0 and v.max() / v.min() >= ratio
