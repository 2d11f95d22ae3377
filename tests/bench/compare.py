#!/usr/bin/python3
"""Side-by-side layer timings: libspreaddiv (bench_layers) and PyTorch
(layers_torch.py), paired repetition by repetition in one session so that
both see the same machine load.

usage (with Debian's python3-torch):
  /usr/bin/python3 tests/bench/compare.py build/tests/bench/bench_layers \\
      --widths 128 1024 --threads 1 2 --reps 5

For each width and thread count it measures BLIS sgemm (2048^3, median of
5) and then, per layer, alternates N times: one timed forward + backward of
ours (a bench_layers run with its two warm-up steps and one timed
repetition) and one of PyTorch's (after two warm-up steps in this
process). Prints one Markdown table per configuration: the medians, the median of the per-round ratios PyTorch /
ours (> 1: we are faster), our GFLOP/s and our fraction of the sgemm
throughput. BLIS_ARCH_TYPE in the environment selects BLIS's kernels (for
our side, and for PyTorch's BLAS calls: Debian's libblas.so.3 is BLIS);
PyTorch's convolutions run on oneDNN.
"""
import argparse
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import layers_torch  # noqa: E402
import torch  # noqa: E402


def ours(exe, width, batch, threads, layer):
    out = subprocess.run([exe, "--width", str(width), "--batch", str(batch),
                          "--threads", str(threads), "--reps", "1",
                          "--only", layer, "--sgemm-reps", "0", "--csv"],
                         check=True, capture_output=True, text=True).stdout
    row = out.strip().splitlines()[-1].split(",")
    return float(row[6]), float(row[7])  # total ms, GFLOP


def sgemm(exe, threads):
    out = subprocess.run([exe, "--threads", str(threads), "--sgemm-only"], check=True,
                         capture_output=True, text=True).stdout.split()
    return float(out[0]), out[1]


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("exe")
    ap.add_argument("--widths", type=int, nargs="+", default=[128, 1024])
    ap.add_argument("--threads", type=int, nargs="+", default=[1])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--layers", nargs="+", metavar="LAYER",
                    help="only these layers (default: all)")
    a = ap.parse_args()
    torch.manual_seed(0)
    for threads in a.threads:
        torch.set_num_threads(threads)
        for width in a.widths:
            peak, arch = sgemm(a.exe, threads)
            load0 = os.getloadavg()[0]
            rows = []
            for spec in layers_torch.layers(width):
                if a.layers and spec[0] not in a.layers:
                    continue
                x, net = layers_torch.build(spec, a.batch)
                with torch.backends.mkldnn.flags(enabled=True):
                    for _ in range(2):  # warm-up, as bench_layers does
                        layers_torch.step(x, net)
                    mine, theirs = [], []
                    for _ in range(a.reps):
                        tot, gflop = ours(a.exe, width, a.batch, threads, spec[0])
                        mine.append(tot)
                        theirs.append(layers_torch.step(x, net)[1])
                del x, net
                rows.append((spec[0], mine, theirs, gflop))
            peak2, _ = sgemm(a.exe, threads)
            load1 = os.getloadavg()[0]
            print(f"\n### width {width}, batch {a.batch}, {threads} thread(s), median of {a.reps}")
            print(f"BLIS config {arch}; sgemm 2048^3 {peak:.1f} GFLOP/s before, {peak2:.1f} after; "
                  f"load average {load0:.2f} before, {load1:.2f} after; torch {torch.__version__}\n")
            print("| layer | ours ms | torch ms | torch/ours | GFLOP | ours GFLOP/s | frac of sgemm |")
            print("|---|---:|---:|---:|---:|---:|---:|")
            ref = 0.5 * (peak + peak2)
            for name, mine, theirs, gflop in rows:
                tot, ttot = statistics.median(mine), statistics.median(theirs)
                ratio = statistics.median(t / m for m, t in zip(mine, theirs))
                rate = gflop / (tot * 1e-3)
                print(f"| {name} | {tot:.2f} | {ttot:.2f} | {ratio:.2f} | {gflop:.3f} | "
                      f"{rate:.1f} | {rate / ref:.2f} |")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
