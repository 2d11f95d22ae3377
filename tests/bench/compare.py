#!/usr/bin/python3
"""Side-by-side layer timings: libspreaddiv (bench_layers) and PyTorch
(layers_torch.py), interleaved layer by layer in one session so that both
see the same machine load.

usage (from the build directory's parent, with Debian's python3-torch):
  /usr/bin/python3 tests/bench/compare.py build/tests/bench/bench_layers \\
      --widths 128 1024 --threads 1 2 --reps 5

For each width and thread count it measures BLIS sgemm (2048^3, median of
5) and then, per layer, runs our median-of-N and PyTorch's median-of-N back
to back. Prints one Markdown table per configuration: our ms, PyTorch's
ms, their ratio (> 1: we are faster), our GFLOP/s and our fraction of the
sgemm throughput. BLIS_ARCH_TYPE in the environment selects BLIS's kernels
for our side (see BUILD-FACTS B5); PyTorch's convolutions run on oneDNN.
"""
import argparse
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import layers_torch  # noqa: E402
import torch  # noqa: E402


def ours(exe, width, threads, reps, layer):
    out = subprocess.run([exe, "--width", str(width), "--threads", str(threads), "--reps",
                          str(reps), "--only", layer, "--sgemm-reps", "1", "--csv"],
                         check=True, capture_output=True, text=True).stdout
    row = out.strip().splitlines()[-1].split(",")
    return float(row[5]), float(row[6]), float(row[7])  # fwd, total, GFLOP


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
    a = ap.parse_args()
    torch.manual_seed(0)
    for threads in a.threads:
        torch.set_num_threads(threads)
        for width in a.widths:
            peak, arch = sgemm(a.exe, threads)
            load0 = os.getloadavg()[0]
            rows = []
            for spec in layers_torch.layers(width):
                name = spec[0]
                fwd, tot, gflop = ours(a.exe, width, threads, a.reps, name)
                with torch.backends.mkldnn.flags(enabled=True):
                    tfwd, ttot = layers_torch.run(spec, a.batch, a.reps)
                rows.append((name, tot, ttot, gflop))
            peak2, _ = sgemm(a.exe, threads)
            load1 = os.getloadavg()[0]
            print(f"\n### width {width}, batch {a.batch}, {threads} thread(s), median of {a.reps}")
            print(f"BLIS config {arch}; sgemm 2048^3 {peak:.1f} GFLOP/s before, {peak2:.1f} after; "
                  f"load average {load0:.2f} before, {load1:.2f} after; torch {torch.__version__}\n")
            print("| layer | ours ms | torch ms | torch/ours | GFLOP | ours GFLOP/s | frac of sgemm |")
            print("|---|---:|---:|---:|---:|---:|---:|")
            ref = 0.5 * (peak + peak2)
            for name, tot, ttot, gflop in rows:
                rate = gflop / (tot * 1e-3)
                print(f"| {name} | {tot:.2f} | {ttot:.2f} | {ttot / tot:.2f} | {gflop:.3f} | "
                      f"{rate:.1f} | {rate / ref:.2f} |")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
