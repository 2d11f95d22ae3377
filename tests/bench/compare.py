#!/usr/bin/python3
"""Side-by-side layer timings: libspreaddiv (bench_layers) and PyTorch
(layers_torch.py), paired round by round in one session so that both see
the same machine load.

usage (with Debian's python3-torch):
  /usr/bin/python3 tests/bench/compare.py build/tests/bench/bench_layers \\
      --widths 128 1024 --threads 1 2 --reps 5

Per layer it alternates N rounds. A round is one bench_layers process,
which measures BLIS sgemm (2048^3, median of 3) and then, after 3 warm-up
steps, times --inner forward + backward steps of ours (their median),
followed by one untimed and --inner timed steps of PyTorch's in this
process (warmed up once more per layer). The sgemm of the same round, measured seconds before the
layer, is the reference for that round's fraction: on a shared VM the
machine's speed drifts over minutes, and one sgemm at the start of a long
table misjudged the layers measured in a slow spell. Three warm-ups, not
two: the third step of a process still ran 3-5 % slower than the steady
state (enc1 at width 128, 11 processes each).

Prints one Markdown table per configuration: the medians over rounds of
our time, PyTorch's, the per-round ratio PyTorch / ours (> 1: we are
faster) and the per-round fraction of sgemm, and our GFLOP/s.
BLIS_ARCH_TYPE in the environment selects BLIS's kernels (for our side,
and for PyTorch's BLAS calls: Debian's libblas.so.3 is BLIS); PyTorch's
convolutions run on oneDNN. --inner 1 --warmup 2 is the one-step rounds
of the figures before stop 31. The header's thread round trip
(bench_layers --round-trip) is how long a cache line takes between two
threads and back: on a VM, what the 2-thread figures depend on most.
"""

import argparse
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import layers_torch  # noqa: E402
import torch  # noqa: E402


def ours(a, width, threads, layer):
    """One round of ours: (median ms, GFLOP, sgemm GFLOP/s, BLIS config)."""
    out = subprocess.run([a.exe, "--width", str(width), "--batch", str(a.batch),
                          "--threads", str(threads), "--reps", str(a.inner),
                          "--warmup", str(a.warmup), "--only", layer,
                          "--sgemm-reps", "3", "--csv"],
                         check=True, capture_output=True, text=True).stdout
    row = out.strip().splitlines()[-1].split(",")
    return float(row[6]), float(row[7]), float(row[10]), row[11]


def round_trip(exe):
    """bench_layers --round-trip: ns for a cache line between two threads."""
    return int(subprocess.run([exe, "--round-trip"], check=True, capture_output=True,
                              text=True).stdout)


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
    ap.add_argument("--inner", type=int, default=5,
                    help="timed steps per side per round (default 5)")
    ap.add_argument("--warmup", type=int, default=3,
                    help="our warm-up steps per round (default 3)")
    a = ap.parse_args()
    torch.manual_seed(0)
    for threads in a.threads:
        torch.set_num_threads(threads)
        for width in a.widths:
            load0, trip0 = os.getloadavg()[0], round_trip(a.exe)
            rows, peaks, arch = [], [], "?"
            for spec in layers_torch.layers(width):
                if a.layers and spec[0] not in a.layers:
                    continue
                x, net = layers_torch.build(spec, a.batch)
                with torch.backends.mkldnn.flags(enabled=True):
                    for _ in range(2):  # warm-up, once per layer in this process
                        layers_torch.step(x, net)
                    mine, theirs, fracs = [], [], []
                    for _ in range(a.reps):
                        tot, gflop, peak, arch = ours(a, width, threads, spec[0])
                        mine.append(tot)
                        peaks.append(peak)
                        fracs.append(gflop / (tot * 1e-3) / peak)
                        layers_torch.step(x, net)  # its threads slept while ours ran
                        theirs.append(statistics.median(
                            layers_torch.step(x, net)[1] for _ in range(a.inner)))
                del x, net
                rows.append((spec[0], mine, theirs, fracs, gflop))
            load1, trip1 = os.getloadavg()[0], round_trip(a.exe)
            print(f"\n### width {width}, batch {a.batch}, {threads} thread(s), "
                  f"median of {a.reps} rounds of {a.inner} steps")
            print(f"BLIS config {arch}; sgemm 2048^3 per round {statistics.median(peaks):.1f} "
                  f"GFLOP/s (median; {min(peaks):.1f}-{max(peaks):.1f}); load average "
                  f"{load0:.2f} before, {load1:.2f} after; thread round trip {trip0} ns "
                  f"before, {trip1} after; torch {torch.__version__}\n")
            print("| layer | ours ms | torch ms | torch/ours | GFLOP | ours GFLOP/s | frac of sgemm |")
            print("|---|---:|---:|---:|---:|---:|---:|")
            for name, mine, theirs, fracs, gflop in rows:
                tot, ttot = statistics.median(mine), statistics.median(theirs)
                ratio = statistics.median(t / m for m, t in zip(mine, theirs))
                print(f"| {name} | {tot:.2f} | {ttot:.2f} | {ratio:.2f} | {gflop:.3f} | "
                      f"{gflop / (tot * 1e-3):.1f} | {statistics.median(fracs):.2f} |")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
