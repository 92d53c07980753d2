#!/usr/bin/python3
"""Times PyTorch on the side-by-side configurations; prints `name<TAB>median ms` per line.

Run through benchmarks/compare/run.sh, which sets the thread count and tunes OpenBLAS/OpenMP as a user would.
The config list mirrors benchmarks/Recurrent.Benchmarks/Configs.cs (the names join the two outputs).
"""
import sys
import time

import torch
from torch import nn

CONFIGS = [
    ("lstm", 1, 100, 128, 256, 1, False),
    ("lstm", 1, 100, 512, 512, 1, False),
    ("lstm", 32, 100, 256, 512, 1, False),
    ("lstm", 64, 50, 512, 1024, 1, False),
    ("lstm", 32, 100, 256, 256, 2, True),
    ("gru", 1, 100, 128, 256, 1, False),
    ("gru", 1, 100, 512, 512, 1, False),
    ("gru", 32, 100, 256, 512, 1, False),
    ("gru", 64, 50, 512, 1024, 1, False),
    ("rnn", 1, 100, 128, 256, 1, False),
    ("rnn", 1, 100, 512, 512, 1, False),
    ("rnn", 32, 100, 256, 512, 1, False),
    ("rnn", 64, 50, 512, 1024, 1, False),
    ("lstmcell", 1, 1, 256, 256, 1, False),
    ("lstm", 32, 100, 256, 512, 1, False, True),
    ("lstm", 64, 50, 512, 1024, 1, False, True),
    ("lstm", 32, 100, 256, 256, 2, True, True),
    ("gru", 32, 100, 256, 512, 1, False, True),
    ("rnn", 32, 100, 256, 512, 1, False, True),
    ("lstm", 4, 100, 128, 256, 1, False, True),
    ("lstm", 4, 100, 128, 256, 1, False),
    ("lstm", 1, 100, 128, 256, 1, False, False, True),
    ("lstm", 32, 100, 256, 512, 1, False, False, True),
    ("gru", 32, 100, 256, 512, 1, False, False, True),
    ("gru", 1, 100, 128, 256, 1, False, False, True),
    ("rnn", 32, 100, 256, 512, 1, False, False, True),
    ("lstm", 32, 100, 256, 256, 2, True, False, True),
    ("lstm", 32, 100, 256, 512, 1, False, True, True),
]


def mixed_lengths(b, t):
    """Configs.cs MixedLengths: the first sequence full length, the others spread over 1..T."""
    return [t if i == 0 else 1 + (i * 37) % t for i in range(b)]


def name(kind, b, t, i, h, layers, bi, packed=False, train=False):
    return f"{kind}{f' {layers}-layer' if layers > 1 else ''}{' bi' if bi else ''}{' packed' if packed else ''}{' train' if train else ''} {b},{t},{i},{h}"


def median_ms(call, seconds):
    start = time.perf_counter()
    warm = 0
    while warm < 3 or (time.perf_counter() - start < seconds / 4 and warm < 50):
        call()
        warm += 1
    times = []
    total = time.perf_counter()
    while len(times) < 5 or (time.perf_counter() - total < seconds and len(times) < 2000):
        t0 = time.perf_counter()
        call()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return times[len(times) // 2]


def build(kind, b, t, i, h, layers, bi, packed=False, train=False):
    torch.manual_seed(0)
    if kind == "lstmcell":
        m = nn.LSTMCell(i, h).eval()
        x, hx, cx = torch.randn(b, i), torch.randn(b, h), torch.randn(b, h)
        return lambda: m(x, (hx, cx))
    cls = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[kind]
    m = cls(i, h, num_layers=layers, bidirectional=bi).eval()
    x = torch.randn(t, b, i)
    if train:
        m.train()
        if packed:
            p = nn.utils.rnn.pack_padded_sequence(x, torch.tensor(mixed_lengths(b, t)), enforce_sorted=False)
            grad = torch.randn(p.data.shape[0], h * (2 if bi else 1))

            def packed_step():
                out, _ = m(p)
                out.data.backward(grad)
            return packed_step
        grad = torch.randn(t, b, h * (2 if bi else 1))

        def step():
            out, _ = m(x)
            out.backward(grad)
        return step
    if packed:
        p = nn.utils.rnn.pack_padded_sequence(x, torch.tensor(mixed_lengths(b, t)), enforce_sorted=False)
        return lambda: m(p)
    return lambda: m(x)


def main():
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
    only = sys.argv[3] if len(sys.argv) > 3 else ""
    torch.set_num_threads(threads)
    for c in CONFIGS:
        if only not in name(*c):
            continue
        train = len(c) > 8 and c[8]
        with torch.enable_grad() if train else torch.inference_mode():
            print(f"{name(*c)}\t{median_ms(build(*c), seconds):.4f}", flush=True)


if __name__ == "__main__":
    main()
