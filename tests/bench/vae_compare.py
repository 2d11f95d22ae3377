#!/usr/bin/python3
"""Spread-VAE training speed, ours against PyTorch, side by side.

Runs build's vae-step and vae_step_torch.py (same model, objective, flags)
alternately for --rounds rounds and prints each side's median seconds per
step, images per second, and the ratio (PyTorch time / ours: above 1 means
we are faster). Every extra argument goes to both programs, e.g.

  /usr/bin/python3 tests/bench/vae_compare.py --vae-step build/tests/bench/vae-step \\
      --rounds 3 -- --width 128 --threads 2 --steps 5

The machine should be otherwise idle: on a 2-core machine a concurrent build
changes the figures by factors, not percent.
"""
import argparse
import os
import statistics
import subprocess
import sys


def seconds_per_step(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    last = out.strip().splitlines()[-1].split()
    if len(last) != 2 or last[0] != "seconds_per_step":
        sys.exit(f"vae_compare: unexpected last line from {cmd[0]}: {last}")
    return float(last[1])


def flag(args, name, default):
    return int(args[args.index(name) + 1]) if name in args else default


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vae-step", required=True)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("rest", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    rest = [x for x in a.rest if x != "--"]
    torch_script = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "vae_step_torch.py")
    ours, theirs = [], []
    for _ in range(a.rounds):
        ours.append(seconds_per_step([a.vae_step] + rest))
        theirs.append(seconds_per_step(["/usr/bin/python3", torch_script] + rest))
    batch = flag(rest, "--batch", 100)
    o, t = statistics.median(ours), statistics.median(theirs)
    print(f"config: {' '.join(rest)}")
    print(f"ours    s/step {o:.4f}  images/s {batch / o:8.1f}  runs {ours}")
    print(f"pytorch s/step {t:.4f}  images/s {batch / t:8.1f}  runs {theirs}")
    print(f"ratio pytorch/ours {t / o:.2f}")


if __name__ == "__main__":
    main()
