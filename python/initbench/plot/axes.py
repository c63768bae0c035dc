"""Grid axes as the figures label them: scheme strings, numeric values, legend texts."""

import math
import re

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

    def __init__(self, name, values, members=None):
        self.name = name
        self.values = values
        self.members = members  # a zip group's keys (zip_axis), else None
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
        if self.members:  # a zip group's values are their labels already
            return value
        if self.param:
            name, params = parse_scheme(value)
            rest = ", ..." if len(params) > 1 else ""
            return f"{name}({self.param}={params[self.param]}{rest})"
        if self.name in ("init.scheme", "init.bias", "model.activation") or \
                parse_scheme(value) is not None and "(" in value:
            return value
        return f"{self.name.split('.')[-1]}={value}"


# ---- zip groups --------------------------------------------------------------------------------
# A spec's zip group (docs/spec.md) is one axis of the grid: its i-th run takes the i-th value of
# every key in it. The figures show it as one axis whose values are short labels of the tuples.

# The keys a zip label always names when they vary, in this order: the unit and the weights (a
# reader tells the settings of an init benchmark apart by them). The other keys follow, text
# before numbers (most often implied by the rest), each only when it tells more tuples apart.
LABEL_ORDER = ("model.activation", "init.scheme")
LONG_SCHEME = 28  # characters past which a scheme alone in the group keeps only its first parameter


def _label_rank(name, column):
    if name in LABEL_ORDER:
        return LABEL_ORDER.index(name)
    return len(LABEL_ORDER) + (all(as_float(v) is not None for v in column))


def _scheme_shortener(column):
    """value -> its short form, for the scheme strings of one key of a zip group: the parameters
    that differ between the group's values of the same scheme are kept, the others become "...";
    a scheme alone under its name past LONG_SCHEME characters keeps its first parameter."""
    parsed = {v: parse_scheme(v) for v in column}
    by_name = {}
    for v, p in parsed.items():
        if p is not None and p[1]:
            by_name.setdefault(p[0], []).append(p[1])
    short = {}
    for v, p in parsed.items():
        if p is None or not p[1]:
            short[v] = v
            continue
        name, params = p
        others = by_name[name]
        keep = [k for k in params if len({str(o.get(k)) for o in others}) > 1]
        if not keep:
            if len(v) <= LONG_SCHEME:
                short[v] = v
                continue
            keep = list(params)[:1]
        rest = ", ..." if len(keep) < len(params) else ""
        short[v] = f"{name}({', '.join(f'{k}={params[k]}' for k in keep)}{rest})"
    return short


def zip_labels(names, tuples):
    """The labels of a zip group's value tuples (distinct, in grid order) and the keys they name.

    Keys constant over the group are left out, and so are keys implied by the ones already named:
    the varying keys of LABEL_ORDER are named, then the other text keys and then the numeric
    ones, each only when it tells more tuples apart, until every tuple is told apart. Long scheme
    strings are shortened (_scheme_shortener); numbers are written name=value. Falls back to
    every key's full value when the short labels would not be distinct.
    ("tanh, orthogonal(gain=1.015164)" for (orthogonal(gain=1.015164), normal(stddev=0.002157),
    tanh, 0.123115) among dynamical_isometry's six.)"""
    columns = [[t[i] for t in tuples] for i in range(len(names))]
    order = sorted(range(len(names)), key=lambda i: (_label_rank(names[i], columns[i]), i))
    kept = []
    for i in order:
        told = len({tuple(t[k] for k in kept) for t in tuples})
        if names[i] in LABEL_ORDER and len(set(columns[i])) > 1:
            kept.append(i)
        elif told == len(tuples):
            break
        elif len({tuple(t[k] for k in kept + [i]) for t in tuples}) > told:
            kept.append(i)
    if not kept:  # one tuple: name it by its first key
        kept = [order[0]]

    def part(i):
        if all(as_float(v) is not None for v in columns[i]):
            return lambda v: f"{names[i].split('.')[-1]}={float(v):.4g}"
        short = _scheme_shortener(columns[i])
        return short.__getitem__

    parts = [part(i) for i in kept]
    labels = [", ".join(f(t[i]) for f, i in zip(parts, kept)) for t in tuples]
    if len(set(labels)) < len(labels):
        kept = list(range(len(names)))
        labels = [", ".join(t) for t in tuples]
    return labels, [names[i] for i in kept]
