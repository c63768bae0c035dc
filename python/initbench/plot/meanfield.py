"""The 6 xi_c curve of the heatmap (Schoenholz et al. 2017), from the C++ side's theory.

At every x value of the heatmap that has runs, the curve goes through 6 * xi_c of those runs as
runs.csv gives it (the C++ mean-field code, docs/csv.md), and sigma_w2 and sigma_b2 are the
runs' sigma_w2 and sigma_b2: nothing is derived from scheme strings here. Between and half a
cell beyond those points the curve needs xi_c where no run was made; there, and only there,
TanhMeanField computes it numerically:
  * sigma_w2 between points: an init.scale axis multiplies the weights, so sigma_w2 = scale^2 *
    base with base = sigma_w2 / scale^2 of the runs (the same for every run); a scheme axis with
    one varying parameter (variance_scaling(scale=SW2), glorot_normal(gain=G), normal(stddev=S))
    interpolates the runs' sigma_w2 as a power of the parameter between neighbouring values
    (exact for every parameter that scales the variance as a power; he_*(slope) is approximated);
  * sigma_b2: the runs' (one value for the whole panel);
  * xi_c = -1 / ln(chi_c): q* from the variance map q = sw2 E[tanh(sqrt(q) z)^2] + sb2, chi_1 =
    sw2 E[tanh'(sqrt(q*) z)^2]; ordered side (chi_1 <= 1) chi_c = chi_1, chaotic side chi_c =
    sw2 E[tanh'(u1) tanh'(u2)] at the stable fixed point c* < 1 of the correlation map; Gaussian
    expectations by 81-node Gauss-Hermite quadrature (numpy.polynomial.hermite_e). A run whose
    xi_c is nan (not computed by the C++ side) gets this value at its point too.
Where xi_c is infinite (criticality) the curve leaves the top of the panel.
"""

import math

import numpy as np
from numpy.polynomial.hermite_e import hermegauss

SAME = 1e-9  # relative tolerance for "the runs agree"
_MEANFIELD = []


class TanhMeanField:
    """Schoenholz et al. (2017) mean-field quantities for tanh, by Gauss-Hermite quadrature."""

    def __init__(self, nodes=81):
        z, w = hermegauss(nodes)
        self.z = z
        self.w = w / math.sqrt(2 * math.pi)  # weights of E over z ~ N(0, 1)
        self.z1, self.z2 = np.meshgrid(z, z, indexing="ij")
        self.w2 = np.outer(self.w, self.w)

    @staticmethod
    def shared():
        if not _MEANFIELD:
            _MEANFIELD.append(TanhMeanField())
        return _MEANFIELD[0]

    def q_star(self, sw2, sb2):
        def f(q):
            return sw2 * np.dot(self.w, np.tanh(math.sqrt(q) * self.z) ** 2) + sb2 - q
        if sb2 <= 0 and sw2 <= 1:
            return 0.0
        lo, hi = 1e-300 if sb2 <= 0 else 0.0, sw2 + sb2 + 1.0
        if sb2 <= 0:
            lo = 1e-12
            if f(lo) <= 0:
                return 0.0
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            if f(mid) > 0:
                lo = mid
            else:
                hi = mid
        return 0.5 * (lo + hi)

    def xi_c(self, sw2, sb2):
        q = self.q_star(sw2, sb2)
        sq = math.sqrt(q)
        chi1 = sw2 * np.dot(self.w, (1 - np.tanh(sq * self.z) ** 2) ** 2)
        chi_c = chi1
        if chi1 > 1 and q > 0:
            t1 = np.tanh(sq * self.z1)

            def corr(c):
                u2 = sq * (c * self.z1 + math.sqrt(max(0.0, 1 - c * c)) * self.z2)
                return (sw2 * np.sum(self.w2 * t1 * np.tanh(u2)) + sb2) / q - c
            lo, hi = 0.0, 1.0 - 1e-9
            c_star = 1.0
            if corr(hi) < 0:
                for _ in range(100):
                    mid = 0.5 * (lo + hi)
                    if corr(mid) >= 0:
                        lo = mid
                    else:
                        hi = mid
                c_star = 0.5 * (lo + hi)
            if c_star < 1.0:
                u2 = sq * (c_star * self.z1 + math.sqrt(1 - c_star ** 2) * self.z2)
                chi_c = sw2 * np.sum(self.w2 * (1 - t1 ** 2) * (1 - np.tanh(u2) ** 2))
        if chi_c <= 0:
            return 0.0
        if abs(chi_c - 1.0) < 1e-12:
            return math.inf
        return -1.0 / math.log(chi_c)


def to_position(values, points):
    """Map axis values to cell positions 0..n-1 (piecewise linear, extrapolated at the ends)."""
    v = np.asarray(values, dtype=float)
    order = np.argsort(v)
    v = v[order]
    pos = np.arange(len(v), dtype=float)[order]
    x = np.asarray(points, dtype=float)
    out = np.interp(x, v, pos)
    if len(v) >= 2:
        lo = x < v[0]
        hi = x > v[-1]
        out[lo] = pos[0] + (x[lo] - v[0]) * (pos[1] - pos[0]) / (v[1] - v[0])
        out[hi] = pos[-1] + (x[hi] - v[-1]) * (pos[-1] - pos[-2]) / (v[-1] - v[-2])
    return out


def from_position(values, positions):
    """Inverse of to_position: cell positions -> axis values."""
    v = np.sort(np.asarray(values, dtype=float))
    p = np.asarray(positions, dtype=float)
    out = np.interp(p, np.arange(len(v)), v)
    if len(v) >= 2:
        out[p < 0] = v[0] + p[p < 0] * (v[1] - v[0])
        top = p > len(v) - 1
        out[top] = v[-1] + (p[top] - (len(v) - 1)) * (v[-1] - v[-2])
    return out


def _agree(values):
    v = np.asarray(values, dtype=float)
    if np.all(v == v[0]) or not np.all(np.isfinite(v)):
        return bool(np.all(v == v[0]))
    return bool(np.all(np.abs(v - v[0]) <= SAME * np.abs(v[0])))


def run_theory(fruns, xa, xvals):
    """sigma_w2, sigma_b2 and xi_c at each x value from the panel's runs (columns xv: the run's x
    value, yv: its depth): ((sw2, sb2, xi) arrays, None) or (None, reason). Runs with two or more
    hidden layers are preferred: their sigma_w2 is that of a square hidden-to-hidden layer."""
    missing = [c for c in ("sigma_w2", "sigma_b2", "xi_c") if c not in fruns.columns]
    if missing:
        return None, f"runs.csv has no column '{missing[0]}' (the C++ side's theory)"
    out = {"sigma_w2": [], "sigma_b2": [], "xi_c": []}
    for v in xvals:
        rows = fruns[fruns["xv"] == v]
        if rows.empty:  # a zipped axis: not every value meets every other
            return None, f"no runs at {xa.name} = {v:g} in this panel"
        deep = rows[rows["yv"] >= 2]
        rows = deep if len(deep) else rows
        for c in out:
            if not _agree(rows[c].to_numpy()):
                return None, f"the runs at {xa.name} = {v:g} have different {c}"
            out[c].append(float(rows[c].iloc[0]))
    sw2, sb2, xi = (np.array(out[c]) for c in ("sigma_w2", "sigma_b2", "xi_c"))
    if not np.all(np.isfinite(sw2)) or not np.all(np.isfinite(sb2)):
        return None, "runs.csv has no finite sigma_w2 and sigma_b2 for the runs (lsuv?)"
    if not _agree(sb2):
        return None, f"sigma_b2 changes along {xa.name}"
    return (sw2, sb2[0], xi), None


def power_interpolation(xvals, sw2):
    """sigma_w2 as a function of the axis value: through every (xvals, sw2) point, a power of the
    value between neighbours (linear where a value or sigma_w2 is not positive), the end
    segments extended."""
    x = np.asarray(xvals, dtype=float)
    y = np.asarray(sw2, dtype=float)
    loglog = bool(np.all(x > 0) and np.all(y > 0))

    def f(v):
        i = int(np.clip(np.searchsorted(x, v) - 1, 0, len(x) - 2))
        if loglog and v > 0:
            p = math.log(y[i + 1] / y[i]) / math.log(x[i + 1] / x[i])
            return y[i] * (v / x[i]) ** p
        return y[i] + (v - x[i]) * (y[i + 1] - y[i]) / (x[i + 1] - x[i])
    return f


def overlay_curve(fruns, xa, xvals, schemes):
    """(cell positions, 6 xi_c, sigma_b2, x label) of the panel's 6 xi_c curve, or (None,
    reason). fruns: the panel's runs with columns xv and yv; schemes: their scheme strings."""
    theory, why = run_theory(fruns, xa, xvals)
    if theory is None:
        return None, why
    sw2, sb2, xi = theory
    if xa.name == "init.scale":
        if len(schemes) != 1:
            return None, "the runs of an init.scale panel have several schemes"
        x = np.asarray(xvals, dtype=float)
        if np.any(x <= 0):
            return None, "an init.scale value is not positive"
        bases = sw2 / (x * x)
        if not _agree(bases):
            return None, "sigma_w2 / init.scale^2 differs between the runs"
        base = float(bases[0])

        def sw2_of(v):
            return v * v * base
        xlabel = f"init.scale ($\\sigma_w^2$ = scale$^2$ \u00d7 {base:.4g} for {schemes[0]})"
    elif xa.param is not None:
        sw2_of = power_interpolation(xvals, sw2)
        if all(abs(s - v) <= 1e-12 * abs(v) for s, v in zip(sw2, xvals)):
            xlabel = "$\\sigma_w^2$ = " + xa.label()
        else:
            xlabel = xa.label() + f" ($\\sigma_w^2$ {sw2[0]:.3g} .. {sw2[-1]:.3g})"
    else:
        return None, f"cannot derive sw2 from the x axis '{xa.name}'"
    # evenly in cell positions, from the left edge of the first cell to the right of the last
    px = np.linspace(-0.5, len(xvals) - 0.5, 60 * len(xvals) + 1)
    xs = from_position(xvals, px)
    keep = xs > 0
    px, xs = px[keep], xs[keep]
    mf = TanhMeanField.shared()
    ys = np.empty(len(px))
    for i, (p, v) in enumerate(zip(px, xs)):
        j = int(round(p))
        if abs(p - j) < 1e-9 and 0 <= j < len(xvals) and not math.isnan(xi[j]):
            ys[i] = 6 * xi[j]  # a point with runs: the C++ side's xi_c
        else:
            ys[i] = 6 * mf.xi_c(sw2_of(v), sb2)
    ys[~np.isfinite(ys)] = 1e9
    return (px, ys, sb2, xlabel), None
