#!/usr/bin/python3
"""course_notebook.py: the course notebook's initialization exercise, replicated in NumPy.

    scripts/reference/course_notebook.py [--sklearn] [--csv FOLDER]

Runs the deeplearning.ai "Initialization" notebook's protocol (course 2, week 1) as the notebook
writes it: data from np.random.seed(1) / seed(2) and make_circles(300 / 100, noise=.05); weights
from np.random.seed(3), W_l = randn(n_l, n_{l-1}) * scale, b_l = 0; LINEAR->RELU->LINEAR->RELU->
LINEAR->SIGMOID with layers [2, 10, 5, 1]; full-batch gradient descent, lr 0.01, 15000
iterations; the cost printed every 1000 iterations; predict a3 > 0.5.

make_circles is transcribed from scikit-learn (linspace angles without the end point, outer
circle then inner, RandomState.shuffle of the indices, then normal(scale=noise) noise); with
--sklearn the script checks the transcription against scikit-learn's own, bit for bit.

With --csv FOLDER (an `initbench run experiments/course_notebook.toml` output) it compares the
costs and accuracies with initbench's curves.csv and prints the number of agreeing significant
digits. Standard library and NumPy only (scikit-learn only with --sklearn).
"""

import argparse
import csv
import math
import os
import sys

import numpy as np


def make_circles(n_samples, noise, factor=0.8):
    """sklearn.datasets.make_circles(n_samples, noise=noise, factor=factor), random_state=None
    (NumPy's global RandomState), as scikit-learn 0.20-1.2 write it."""
    n_out = n_samples // 2
    n_in = n_samples - n_out
    linspace_out = np.linspace(0, 2 * np.pi, n_out, endpoint=False)
    linspace_in = np.linspace(0, 2 * np.pi, n_in, endpoint=False)
    outer_x, outer_y = np.cos(linspace_out), np.sin(linspace_out)
    inner_x, inner_y = np.cos(linspace_in) * factor, np.sin(linspace_in) * factor
    X = np.vstack([np.append(outer_x, inner_x), np.append(outer_y, inner_y)]).T
    y = np.hstack([np.zeros(n_out, dtype=np.intp), np.ones(n_in, dtype=np.intp)])
    indices = np.arange(n_samples)
    np.random.shuffle(indices)  # sklearn.utils.shuffle -> resample(replace=False)
    X, y = X[indices], y[indices]
    X += np.random.normal(scale=noise, size=X.shape)
    return X, y


def load_dataset(circles):
    np.random.seed(1)
    train_X, train_Y = circles(n_samples=300, noise=0.05)
    np.random.seed(2)
    test_X, test_Y = circles(n_samples=100, noise=0.05)
    return train_X.T, train_Y.reshape((1, -1)), test_X.T, test_Y.reshape((1, -1))


def initialize(layers_dims, kind):
    np.random.seed(3)
    params = {}
    for l in range(1, len(layers_dims)):
        shape = (layers_dims[l], layers_dims[l - 1])
        if kind == "zeros":
            params["W" + str(l)] = np.zeros(shape)
        elif kind == "random":
            params["W" + str(l)] = np.random.randn(*shape) * 10
        else:  # he
            params["W" + str(l)] = np.random.randn(*shape) * np.sqrt(2.0 / layers_dims[l - 1])
        params["b" + str(l)] = np.zeros((layers_dims[l], 1))
    return params


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def relu(x):
    return np.maximum(0, x)


def forward(X, p):
    z1 = np.dot(p["W1"], X) + p["b1"]
    a1 = relu(z1)
    z2 = np.dot(p["W2"], a1) + p["b2"]
    a2 = relu(z2)
    z3 = np.dot(p["W3"], a2) + p["b3"]
    a3 = sigmoid(z3)
    return a3, (z1, a1, p["W1"], p["b1"], z2, a2, p["W2"], p["b2"], z3, a3, p["W3"], p["b3"])


def compute_loss(a3, Y):
    m = Y.shape[1]
    with np.errstate(divide="ignore", invalid="ignore"):
        logprobs = np.multiply(-np.log(a3), Y) + np.multiply(-np.log(1 - a3), 1 - Y)
    return 1.0 / m * np.nansum(logprobs)


def backward(X, Y, cache):
    m = X.shape[1]
    (z1, a1, W1, b1, z2, a2, W2, b2, z3, a3, W3, b3) = cache
    dz3 = 1.0 / m * (a3 - Y)
    dW3 = np.dot(dz3, a2.T)
    db3 = np.sum(dz3, axis=1, keepdims=True)
    da2 = np.dot(W3.T, dz3)
    dz2 = np.multiply(da2, np.int64(a2 > 0))
    dW2 = np.dot(dz2, a1.T)
    db2 = np.sum(dz2, axis=1, keepdims=True)
    da1 = np.dot(W2.T, dz2)
    dz1 = np.multiply(da1, np.int64(a1 > 0))
    dW1 = np.dot(dz1, X.T)
    db1 = np.sum(dz1, axis=1, keepdims=True)
    return {"dW1": dW1, "db1": db1, "dW2": dW2, "db2": db2, "dW3": dW3, "db3": db3}


def accuracy(X, Y, p):
    a3, _ = forward(X, p)
    return float(np.mean((a3 > 0.5) == Y))


def model(X, Y, kind, lr=0.01, iterations=15000):
    p = initialize([X.shape[0], 10, 5, 1], kind)
    costs = {}
    for i in range(iterations):
        a3, cache = forward(X, p)
        if i % 1000 == 0:
            costs[i] = compute_loss(a3, Y)
        grads = backward(X, Y, cache)
        for l in (1, 2, 3):
            p["W" + str(l)] = p["W" + str(l)] - lr * grads["dW" + str(l)]
            p["b" + str(l)] = p["b" + str(l)] - lr * grads["db" + str(l)]
    return p, costs


def digits(a, b):
    """Significant digits on which a and b agree (17 when equal)."""
    if a == b:
        return 17
    if not (math.isfinite(a) and math.isfinite(b)):
        return 0
    return max(0, int(-math.log10(abs(a - b) / max(abs(a), abs(b)))))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sklearn", action="store_true", help="check make_circles against sklearn")
    parser.add_argument("--csv", help="an initbench output folder of course_notebook to compare")
    args = parser.parse_args()

    if args.sklearn:
        import sklearn.datasets  # pylint: disable=import-outside-toplevel

        ours = load_dataset(make_circles)
        theirs = load_dataset(sklearn.datasets.make_circles)
        same = all(np.array_equal(a, b) for a, b in zip(ours, theirs))
        print(f"make_circles transcription vs scikit-learn {sklearn.__version__}: "
              f"{'identical' if same else 'DIFFERENT'}")
        if not same:
            sys.exit(1)

    train_X, train_Y, test_X, test_Y = load_dataset(make_circles)
    ours = {}
    if args.csv:
        with open(os.path.join(args.csv, "runs.csv"), newline="") as f:
            # init.scheme: the setting column ("scheme" in a runs.csv of the older layout)
            schemes = {row["run_id"]: row.get("init.scheme") or row["scheme"]
                       for row in csv.DictReader(f)}
        with open(os.path.join(args.csv, "curves.csv"), newline="") as f:
            for row in csv.DictReader(f):
                ours.setdefault(schemes[row["run_id"]], {})[int(row["step"])] = row
    names = {"zeros": "zeros", "random": "normal(stddev=10)", "he": "he_normal"}
    for kind in ("zeros", "random", "he"):
        p, costs = model(train_X, train_Y, kind)
        acc = (accuracy(train_X, train_Y, p), accuracy(test_X, test_Y, p))
        print(f"{kind}: accuracy train {acc[0]:.4f} test {acc[1]:.4f}")
        mine = ours.get(names[kind], {})
        for i, cost in costs.items():
            line = f"  cost after iteration {i}: {cost!r}"
            if i in mine:
                value = float(mine[i]["train_loss"])
                line += f"   initbench {value!r} ({digits(cost, value)} digits)"
            print(line)
        if 15000 in mine:
            print(f"  initbench accuracy train {float(mine[15000]['train_acc']):.4f} "
                  f"test {float(mine[15000]['test_acc']):.4f}")


if __name__ == "__main__":
    main()
