#!/usr/bin/python3
"""PyTorch reference for bench_layers.c: the same CelebA encoder/decoder
layers, forward + backward, timed the same way (median of N after two
warm-ups, the loss is the sum of the layer's output, parameter gradients set
to None outside the timed region).

Run with Debian's python3-torch:
  /usr/bin/python3 tests/bench/layers_torch.py --width 1024 --threads 1 --reps 5
"""
import argparse
import statistics
import time

import torch


def layers(W, z=100):
    # name, kind, cin, cout, hin, stride, pad, opad, post, input_grad
    return [
        ("enc1", "conv", 3, W // 8, 64, 2, 2, 0, "bn_relu", False),
        ("enc2", "conv", W // 8, W // 4, 32, 2, 2, 0, "bn_relu", True),
        ("enc3", "conv", W // 4, W // 2, 16, 2, 2, 0, "bn_relu", True),
        ("enc4", "conv", W // 2, W, 8, 2, 2, 0, "bn_relu", True),
        ("enc_heads", "dense", 16 * W, 2 * z, 0, 0, 0, 0, "none", True),
        ("dec_dense", "dense", z, 16 * W, 0, 0, 0, 0, "relu", True),
        ("dec1", "tconv", W, W // 2, 4, 2, 2, 1, "bn_relu", True),
        ("dec2", "tconv", W // 2, W // 4, 8, 2, 2, 1, "bn_relu", True),
        ("dec3", "tconv", W // 4, W // 8, 16, 2, 2, 1, "bn_relu", True),
        ("dec4", "tconv", W // 8, W // 16, 32, 2, 2, 1, "bn_relu", True),
        ("dec_out", "tconv", W // 16, 3, 64, 1, 2, 0, "sigmoid", True),
    ]


def build(spec, batch):
    name, kind, cin, cout, hin, s, p, op, post, igrad = spec
    bn = post == "bn_relu"
    if kind == "dense":
        x = torch.randn(batch, cin, requires_grad=igrad)
        mod = torch.nn.Linear(cin, cout)
    elif kind == "conv":
        x = torch.randn(batch, cin, hin, hin, requires_grad=igrad)
        mod = torch.nn.Conv2d(cin, cout, 5, s, p, bias=not bn)
    else:
        x = torch.randn(batch, cin, hin, hin, requires_grad=igrad)
        mod = torch.nn.ConvTranspose2d(cin, cout, 5, s, p, output_padding=op, bias=not bn)
    mods = [mod]
    if bn:
        mods += [torch.nn.BatchNorm2d(cout), torch.nn.ReLU()]
    elif post == "relu":
        mods.append(torch.nn.ReLU())
    elif post == "sigmoid":
        mods.append(torch.nn.Sigmoid())
    net = torch.nn.Sequential(*mods).train()
    return x, net


def step(x, net):
    """One timed forward + backward; returns (forward ms, total ms)."""
    x.grad = None
    for q in net.parameters():
        q.grad = None
    t0 = time.perf_counter()
    loss = net(x).sum()
    t1 = time.perf_counter()
    loss.backward()
    t2 = time.perf_counter()
    return (t1 - t0) * 1e3, (t2 - t0) * 1e3


def run(spec, batch, reps):
    x, net = build(spec, batch)
    for _ in range(2):  # warm-up
        step(x, net)
    fwd, total = zip(*(step(x, net) for _ in range(reps)))
    return statistics.median(fwd), statistics.median(total)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--width", type=int, default=1024)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--csv", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    if a.csv:
        print("layer,width,batch,threads,reps,fwd_ms,total_ms")
    else:
        print(f"# torch {torch.__version__}, width {a.width}, batch {a.batch}, "
              f"threads {torch.get_num_threads()}, median of {a.reps}")
        print(f"{'layer':10s} {'fwd_ms':>9s} {'total_ms':>9s}")
    with torch.backends.mkldnn.flags(enabled=True):
        for spec in layers(a.width):
            f, t = run(spec, a.batch, a.reps)
            if a.csv:
                print(f"{spec[0]},{a.width},{a.batch},{a.threads},{a.reps},{f:.3f},{t:.3f}")
            else:
                print(f"{spec[0]:10s} {f:9.2f} {t:9.2f}", flush=True)


if __name__ == "__main__":
    main()
