"""Which figures a spec asks for: plot() notes a figure it could not draw only when it was asked.

A probe's figure is asked when spec.toml (the spec as run, after [quick] and --set) turns the
probe on in some run: `true`, a number above 0, or a grid axis holding such a value. The grid
figures are asked by the grid: steps_to_target.png by a target, scale.png by an init.scale axis,
heatmap.png by two numeric grid axes besides seed, lr_transfer.png by varying train.lr and
model.width. A figure that does not apply to the runs
(saturated.png for activations that do not saturate, dead.png without ReLU units,
jacobian_moments.png for a Jacobian that is not square, length_variance.png without ReLU) is not
asked. Without spec.toml every figure counts as asked (every skip is noted, as before).
"""

import numpy as np

from .experiment import spec_get


def _values(exp, dotted):
    """The spec's values of a key (an axis: its list), or None when the spec leaves it unset."""
    value = spec_get(exp.spec, dotted)
    if value is None:
        return None
    return value if isinstance(value, list) else [value]


def _on(exp, dotted):
    values = _values(exp, dotted) or []
    return any(v is True or (not isinstance(v, bool) and isinstance(v, (int, float)) and v > 0)
               for v in values)


def always(exp):
    return True


def layers(exp):
    """The per-layer statistics: probes.every > 0 or probes.schedule = "log"."""
    return not exp.spec or _on(exp, "probes.every") or \
        "log" in (_values(exp, "probes.schedule") or [])


def probe(name):
    """A probe's switch, probes.<name>."""
    return lambda exp: not exp.spec or _on(exp, "probes." + name)


def fraction(column):
    """saturated.png, dead.png: the per-layer statistics, and the fraction defined for some
    layer (nan for activations without saturation or dead units); asked when layers.csv is
    missing, since the figure could then not be drawn either way."""
    def asked(exp):
        if not layers(exp):
            return False
        return exp.layers is None or bool(np.isfinite(exp.layers[column]).any())
    return asked


def target(exp):
    return not exp.spec or _values(exp, "train.target_loss") is not None or \
        _values(exp, "train.target_accuracy") is not None


def axis(name):
    return lambda exp: not exp.spec or any(a.name == name for a in exp.axes)


def varying(*names):
    """Grid axes that all vary (lr_transfer.png: train.lr and model.width)."""
    return lambda exp: not exp.spec or set(names) <= {a.name for a in exp.axes if a.varies}


def two_numeric_axes(exp):
    varying = [a for a in exp.axes if a.varies and a.name != "seed" and a.numeric is not None]
    return not exp.spec or len(varying) >= 2


def relu_correlation(exp):
    return probe("correlation")(exp) and bool((exp.runs["activation"] == "relu").all())


def square_jacobian(exp):
    if not probe("jacobian")(exp):
        return False
    widths = exp.runs["layers"].str.split("-") if "layers" in exp.runs.columns else None
    return widths is None or bool((widths.str[0] == widths.str[-1]).all())
