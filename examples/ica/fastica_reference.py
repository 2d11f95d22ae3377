#!/usr/bin/python3
"""FastICA on the data spread-ica writes with --dump-data: the reference point
for the example's README.

    spread-ica --dump-data ica-data.bin ...
    /usr/bin/python3 fastica_reference.py ica-data.bin [--all] [--mle]

Prints the Amari distance between FastICA's mixing matrix and the true A,
with the same formula as amari.c, and the time of the fit. With --mle, also
the noiseless maximum-likelihood estimate under the true source prior
(natural-gradient ascent, Amari et al. 1996): the statistically efficient
target spread EM approaches as gamma_s -> 0. Uses Debian's python3-sklearn
(and numpy); run it with /usr/bin/python3.
"""
import argparse
import struct
import sys
import time
import warnings

import numpy as np
from sklearn.decomposition import FastICA
from sklearn.exceptions import ConvergenceWarning


def read_dump(path):
    """The format ica_problem_dump() writes (data.h)."""
    with open(path, "rb") as f:
        blob = f.read()
    if blob[:8] != b"SPDICA01":
        sys.exit(f"{path}: not a spread-ica data file")
    x_dim, z_dim, n = struct.unpack_from("<3Q", blob, 8)
    off = 32
    a_true = np.frombuffer(blob, "<f8", x_dim * z_dim, off).reshape(x_dim, z_dim)
    off += 8 * x_dim * z_dim
    x = np.frombuffer(blob, "<f4", n * x_dim, off).reshape(n, x_dim)
    if off + 4 * n * x_dim != len(blob):
        sys.exit(f"{path}: truncated or trailing bytes")
    return a_true, x


def amari(a_est, a_true):
    """amari.c's formula: P = pinv(A_est) A_true,
    d = (sum_i (sum_j |p_ij| / max_j |p_ij| - 1)
         + sum_j (sum_i |p_ij| / max_i |p_ij| - 1)) / (2 Z (Z - 1))."""
    p = np.abs(np.linalg.solve(a_est.T @ a_est, a_est.T @ a_true))
    z = p.shape[0]
    if z == 1:
        return 0.0
    rows = (p.sum(axis=1) / p.max(axis=1) - 1.0).sum()
    cols = (p.sum(axis=0) / p.max(axis=0) - 1.0).sum()
    return (rows + cols) / (2.0 * z * (z - 1))


def run(x, z, fun, algorithm, seed):
    ica = FastICA(n_components=z, algorithm=algorithm, whiten="unit-variance",
                  fun=fun, max_iter=10000, tol=1e-8, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        t0 = time.perf_counter()
        ica.fit(x)
        seconds = time.perf_counter() - t0
    return ica.mixing_, seconds, ica.n_iter_


# The source prior of data.h / em.c (ica_prior_default): weights 1/2,
# variances 0.2 and 1.8.
PRIOR_WEIGHTS = np.array([0.5, 0.5])
PRIOR_VARS = np.array([0.2, 1.8])


def noiseless_mle(x, z):
    """Maximise sum_n log p(W v_n) + N log|det W| by natural gradient, where
    v = the data whitened in its top-Z principal subspace (all of it: the
    data lie on a Z-dimensional subspace); return the mixing matrix."""
    n = x.shape[0]
    evals, evecs = np.linalg.eigh(x.T @ x / n)
    top = np.argsort(evals)[::-1][:z]
    scale = np.sqrt(evals[top])
    v = x @ evecs[:, top] / scale
    w = np.eye(z)
    for _ in range(5000):
        y = v @ w.T
        comp = PRIOR_WEIGHTS / np.sqrt(PRIOR_VARS) * np.exp(-y[..., None] ** 2 / (2 * PRIOR_VARS))
        resp = comp / comp.sum(-1, keepdims=True)
        score = (resp * (y[..., None] / PRIOR_VARS)).sum(-1)  # -d/ds log p(s)
        grad = np.eye(z) - score.T @ y / n
        w += 0.2 * grad @ w
        if np.abs(grad).max() < 1e-9:
            break
    return (evecs[:, top] * scale) @ np.linalg.inv(w)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("data", help="file written by spread-ica --dump-data")
    ap.add_argument("--fun", default="logcosh", choices=["logcosh", "exp", "cube"],
                    help="FastICA contrast (default logcosh, sklearn's default)")
    ap.add_argument("--algorithm", default="parallel", choices=["parallel", "deflation"])
    ap.add_argument("--all", action="store_true",
                    help="try every contrast and algorithm, one line each")
    ap.add_argument("--seed", type=int, default=0, help="FastICA's random_state")
    ap.add_argument("--mle", action="store_true",
                    help="also the noiseless maximum-likelihood estimate")
    args = ap.parse_args()

    a_true, x = read_dump(args.data)
    x = x.astype(np.float64)
    z = a_true.shape[1]
    combos = ([(f, a) for a in ("parallel", "deflation") for f in ("logcosh", "exp", "cube")]
              if args.all else [(args.fun, args.algorithm)])
    for fun, algorithm in combos:
        try:
            mixing, seconds, iters = run(x, z, fun, algorithm, args.seed)
        except ConvergenceWarning:
            print(f"fastica fun={fun} algorithm={algorithm} did not converge")
            continue
        print(f"fastica fun={fun} algorithm={algorithm} amari={amari(mixing, a_true):.5f} "
              f"seconds={seconds:.3f} iterations={iters}")
    if args.mle:
        t0 = time.perf_counter()
        mixing = noiseless_mle(x, z)
        print(f"noiseless_mle amari={amari(mixing, a_true):.5f} "
              f"seconds={time.perf_counter() - t0:.3f}")


if __name__ == "__main__":
    main()
