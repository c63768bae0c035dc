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
