#!/usr/bin/python3
"""The Monte Carlo spread-KL estimator of libspreaddiv (fdiv.h), vectorised
in NumPy, for the side-by-side benchmark (tests/bench/run-estimator-bench).

Same algorithm as spd_estimate() with an isotropic Gaussian spread and
S = 1 draw per point: one draw around every point of both sets, exact
log-densities of both spread sets by log-sum-exp over all points, the
mixture-weighted psi of the log-ratio, the estimate and its standard error.
Pairwise terms come from one matrix product per block of draws (BLOCK rows
at a time, so memory stays O(BLOCK * n), not O(n^2)), as a NumPy user
would write it.

usage: estimator_numpy.py DIM N [--dtype float32|float64] [--reps R]
Prints one line: dim, n, dtype, median seconds, value, std error, peak RSS.
"""
import argparse
import resource
import time

import numpy as np

BLOCK = 1024


def log_kde(y, x, sigma, dtype):
    """log sum_j exp(-|y_i - x_j|^2 / (2 sigma^2)) + |y_i|^2 / (2 sigma^2),
    i.e. the log-density up to a term that is the same for every point set."""
    xs = (x / sigma).astype(dtype)
    hx = 0.5 * np.einsum("ij,ij->i", xs, xs)
    out = np.empty(len(y))
    for r0 in range(0, len(y), BLOCK):
        a = (y[r0:r0 + BLOCK] / sigma).astype(dtype)
        logits = a @ xs.T
        logits -= hx
        m = logits.max(axis=1, keepdims=True)
        out[r0:r0 + BLOCK] = m[:, 0] + np.log(np.exp(logits - m).sum(axis=1))
    return out


def psi_kl(t):
    """2 f~(e^t) / (1 + e^t) for f~(u) = u log u - u + 1, stable for all t."""
    t = np.asarray(t, dtype=np.float64)
    out = np.empty_like(t)
    pos = t > 0
    e = np.exp(-t[pos])
    out[pos] = 2 * (t[pos] - 1 + e) / (1 + e)
    tn = t[~pos]
    out[~pos] = 2 * (tn * np.exp(tn) - np.expm1(tn)) / (1 + np.exp(tn))
    return out


def estimate(xp, xq, sigma, seed, dtype):
    rng = np.random.default_rng(seed)
    yp = xp + sigma * rng.standard_normal(xp.shape).astype(xp.dtype)
    yq = xq + sigma * rng.standard_normal(xq.shape).astype(xq.dtype)
    centre = np.concatenate([xp, xq]).mean(axis=0)  # as the C code: float logits lose less
    xp, xq, yp, yq = xp - centre, xq - centre, yp - centre, yq - centre
    shift = np.log(len(xq)) - np.log(len(xp))
    psi = []
    for y in (yp, yq):
        t = log_kde(y, xp, sigma, dtype) - log_kde(y, xq, sigma, dtype) + shift
        psi.append(psi_kl(t))
    value = 0.5 * (psi[0].mean() + psi[1].mean())
    se = np.sqrt(0.25 * psi[0].var(ddof=1) / len(psi[0]) + 0.25 * psi[1].var(ddof=1) / len(psi[1]))
    return value, se


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dim", type=int)
    ap.add_argument("n", type=int)
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    ap.add_argument("--reps", type=int, default=1)
    ap.add_argument("--sigma", type=float, default=0.5)
    args = ap.parse_args()
    dtype = np.dtype(args.dtype)
    # The same data as estimator_bench.c: N(0, I) and N(0.5, I) clouds.
    rng = np.random.default_rng(1)
    xp = rng.standard_normal((args.n, args.dim)).astype(np.float32)
    xq = (rng.standard_normal((args.n, args.dim)) + 0.5).astype(np.float32)
    times = []
    for rep in range(args.reps):
        t0 = time.perf_counter()
        value, se = estimate(xp, xq, args.sigma, seed=7 + rep, dtype=dtype)
        times.append(time.perf_counter() - t0)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"numpy dim {args.dim} n {args.n} {args.dtype}: median {np.median(times):.3f} s "
          f"value {value:.6f} se {se:.6f} peak_rss {peak_mib:.0f} MiB")


if __name__ == "__main__":
    main()
