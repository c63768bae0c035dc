#!/usr/bin/python3
"""The spectrum of J J^T per setting and depth of a results folder with jacobian.csv: the mean m1
and the variance of the squared singular values (per Jacobian, then averaged), the 10 %/90 %
spread of s, the smallest s, the count of exact zeros, beside free probability's prediction on
the critical line (docs/references.md: dynamical_isometry). A CSV table on stdout.

  /usr/bin/python3 scripts/jacobian_moments.py results/dynamical_isometry [--step 0] \\
      [--plot FILE]

The computation and the figure live in the plot package (python/initbench/plot/
jacobian_moments.py, which says how the prediction is made); scripts/plot.py draws the figure
as plots/jacobian_moments.png. --plot FILE draws it to FILE too. Needs runs.csv and jacobian.csv
(curves.csv is not needed) and Debian's python3-numpy, -pandas and -matplotlib.
"""
import argparse
import csv
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)), os.pardir,
                                "python"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder")
    parser.add_argument("--step", type=int, default=0)
    parser.add_argument("--plot", metavar="FILE", help="also draw the figure to this PNG file")
    args = parser.parse_args()
    from initbench.plot import setup_matplotlib
    from initbench.plot import jacobian_moments as jm
    from initbench.plot.experiment import Experiment
    from initbench.tables import DataError, one_line_errors

    def work():
        setup_matplotlib()
        exp = Experiment(args.folder, required=("runs.csv", "summary.csv"))
        reason = jm.why_not(exp, args.step)
        if reason:
            raise DataError(f"{args.folder}: {reason}")
        out = csv.writer(sys.stdout)
        out.writerow(jm.COLUMNS)
        for r in jm.moments_table(exp, args.step).itertuples(index=False):
            out.writerow([r.activation, r.scheme, f"{r.sigma_w2:.6g}", f"{r.q_star:.4g}",
                          r.depth, r.jacobians, f"{r.m1:.4g}", f"{r.m1_theory:.4g}",
                          f"{r.variance:.4g}", f"{r.variance_theory:.4g}",
                          f"{r.spread_10_90:.4g}", f"{r.smallest:.3g}", r.zeros])
        if args.plot:
            exp.out, exp.written = os.path.dirname(os.path.abspath(args.plot)), []
            jm.draw(exp, os.path.basename(args.plot), args.step)

    return one_line_errors("jacobian_moments.py", "INITBENCH_PLOT_DEBUG", work)


if __name__ == "__main__":
    sys.exit(main())
