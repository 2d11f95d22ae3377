#!/usr/bin/python3
"""Time spread-VAE training steps of the paper's conv model in PyTorch.

The same model, objective and flags as tests/bench/vae_step.c (vae-step):
encoder = convs 5x5 / stride 2 / pad 2 (no bias) to W/8, W/4, W/2, W
channels (64x64; fewer stages for 32 and 28), batch norm + ReLU, dense heads
for the mean and the log sd; decoder = dense z -> W x 4 x 4 (7 x 7 for 28)
+ ReLU, transposed convs 5x5 / stride 2 / pad 2 / output pad 1 (no bias)
halving the channels, batch norm + ReLU, a final 5x5 stride-1 transposed
conv to --channels (3) channels, sigmoid. One step: y = x + sigma eps; (m, log s) =
Enc(y); z = m + s xi; loss = mean(log q(z|y) - log N(z; 0, I) -
log N(x; g(z), sigma^2 I)); Adam (lr 1e-4) on both networks.

Run with Debian's python3-torch: /usr/bin/python3 vae_step_torch.py
--width 128 --threads 1. Prints one line per timed step and, as its last
line, exactly `seconds_per_step <median>`.
"""
import argparse
import math
import statistics
import time

import torch
from torch import nn


def stages(size):
    return {28: 2, 32: 3, 64: 4}[size]


class Encoder(nn.Module):
    def __init__(self, channels, size, width, z_dim):
        super().__init__()
        k = stages(size)
        layers, cin = [], channels
        for i in range(k):
            cout = width >> (k - 1 - i)
            layers += [nn.Conv2d(cin, cout, 5, 2, 2, bias=False), nn.BatchNorm2d(cout),
                       nn.ReLU()]
            cin = cout
        self.body = nn.Sequential(*layers, nn.Flatten())
        flat = width * (size >> k) ** 2
        self.mean = nn.Linear(flat, z_dim)
        self.logsd = nn.Linear(flat, z_dim)

    def forward(self, y):
        h = self.body(y)
        return self.mean(h), self.logsd(h)


class Decoder(nn.Module):
    def __init__(self, channels, size, width, z_dim):
        super().__init__()
        self.start = 7 if size == 28 else 4
        nup = 2 if size == 28 else stages(size)
        self.width = width
        self.dense = nn.Linear(z_dim, width * self.start ** 2)
        layers, cin = [], width
        for _ in range(nup):
            layers += [nn.ConvTranspose2d(cin, cin // 2, 5, 2, 2, output_padding=1, bias=False),
                       nn.BatchNorm2d(cin // 2), nn.ReLU()]
            cin //= 2
        layers += [nn.ConvTranspose2d(cin, channels, 5, 1, 2), nn.Sigmoid()]
        self.body = nn.Sequential(*layers)

    def forward(self, z):
        h = torch.relu(self.dense(z)).view(-1, self.width, self.start, self.start)
        return self.body(h)


LOG2PI = math.log(2 * math.pi)


def gauss(x, mean, log_sd):
    """Row sums of the Gaussian log density."""
    d = ((x - mean) * torch.exp(-log_sd)) ** 2
    lp = -0.5 * d - log_sd - 0.5 * LOG2PI
    return lp.flatten(1).sum(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--width", type=int, default=128)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--image-size", type=int, default=64)
    ap.add_argument("--z-dim", type=int, default=100)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--channels", type=int, default=3)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    enc = Encoder(a.channels, a.image_size, a.width, a.z_dim)
    dec = Decoder(a.channels, a.image_size, a.width, a.z_dim)
    opt = torch.optim.Adam(list(enc.parameters()) + list(dec.parameters()), lr=1e-4)
    x = torch.rand(a.batch, a.channels, a.image_size, a.image_size)
    sigma = 0.5
    log_sigma = torch.tensor(math.log(sigma))

    def step():
        opt.zero_grad()
        y = x + sigma * torch.randn_like(x)
        m, ls = enc(y)
        z = m + torch.exp(ls) * torch.randn_like(m)
        xhat = dec(z)
        zero = torch.zeros(())
        loss = (gauss(z, m, ls) - gauss(z, zero, zero) - gauss(x, xhat, log_sigma)).mean()
        loss.backward()
        opt.step()
        return loss.item()

    print(f"vae_step_torch: width {a.width}, {a.image_size}x{a.image_size}x{a.channels}, z {a.z_dim}, "
          f"batch {a.batch}, {a.threads} threads, {a.steps} steps, torch {torch.__version__}")
    for _ in range(a.warmup):
        step()
    times = []
    for s in range(a.steps):
        t0 = time.perf_counter()
        loss = step()
        times.append(time.perf_counter() - t0)
        print(f"step {s}: {times[-1]:.4f} s, loss {loss:.2f}")
    print(f"seconds_per_step {statistics.median(times):.6f}")


if __name__ == "__main__":
    main()
