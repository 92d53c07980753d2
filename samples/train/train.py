#!/usr/bin/python3
"""Trains a small sequence classifier in PyTorch and saves it for the C# sample (samples/Recurrent.PackageSample).

The task: read a sequence of 3 to 12 digits and tell which group they mostly fall in: low (0-3), middle (4-6) or
high (7-9); a tie goes to the lower group. The model is an
Embedding, an LSTM run on a PackedSequence (the sequences have different lengths) and a linear head on h_n.
Writes model.pt (torch.save of the state_dict) and expected.json (a few test sequences with PyTorch's logits)
into samples/Recurrent.PackageSample. Run with Debian's PyTorch 1.13: /usr/bin/python3 samples/train/train.py
"""
import json
import os
import time

import torch
from torch import nn
from torch.nn.utils.rnn import pack_sequence

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Recurrent.PackageSample")


class DigitSumClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(10, 16)
        self.rnn = nn.LSTM(16, 32)
        self.head = nn.Linear(32, 3)

    def forward(self, sequences):
        packed = pack_sequence([self.embed(s) for s in sequences], enforce_sorted=False)
        _, (h_n, _) = self.rnn(packed)
        return self.head(h_n[-1])


def batch(generator, size):
    lengths = torch.randint(3, 13, (size,), generator=generator)
    sequences = [torch.randint(0, 10, (int(n),), generator=generator) for n in lengths]
    labels = torch.tensor([label(s) for s in sequences])
    return sequences, labels


def label(sequence):
    counts = [int(((sequence >= lo) & (sequence <= hi)).sum()) for lo, hi in ((0, 3), (4, 6), (7, 9))]
    return counts.index(max(counts))


def main():
    torch.manual_seed(0)
    torch.set_num_threads(2)
    g = torch.Generator().manual_seed(1)
    model = DigitSumClassifier()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    start = time.time()
    for step in range(1, 1501):
        sequences, labels = batch(g, 64)
        loss = nn.functional.cross_entropy(model(sequences), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % 250 == 0:
            print(f"step {step}: loss {loss.item():.4f} ({time.time() - start:.0f} s)")
    model.eval()
    with torch.no_grad():
        sequences, labels = batch(torch.Generator().manual_seed(2), 2000)
        accuracy = (model(sequences).argmax(1) == labels).float().mean().item()
        print(f"held-out accuracy: {accuracy:.3f}")
        tests = [torch.tensor(s) for s in ([3, 1, 4], [1, 5, 9, 2, 6], [5, 3, 5, 8, 9, 7, 9], [3, 2, 3, 8, 4, 6, 2, 6, 4, 3, 3, 8],
                                           [0, 0, 0], [9, 9, 9, 9], [2, 7, 1, 8, 2, 8], [1, 1, 2, 3, 5, 8, 13 % 10, 21 % 10, 34 % 10])]
        logits = model(tests)
    torch.save(model.state_dict(), os.path.join(OUT, "model.pt"))
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump({"note": "written by samples/train/train.py with PyTorch " + torch.__version__,
                   "heldOutAccuracy": accuracy,
                   "sequences": [t.tolist() for t in tests],
                   "labels": [label(t) for t in tests],
                   "logits": logits.tolist()}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
