#!/usr/bin/python3
"""Exports the side-by-side's inference configurations to ONNX for the ONNX Runtime runner.

Reads configurations on stdin as `Recurrent.Benchmarks configs` prints them; writes DIR/<n>.onnx and DIR/manifest.tsv
(name, file, lengths). The models are PyTorch's own modules (seed 0) through torch.onnx.export, opset 14, fixed shapes,
time-major input `x`. A packed configuration is the padded model with each recurrent node's `sequence_lens` input
wired to a graph input `lengths` (ONNX's variable-length batch; torch.onnx cannot export a PackedSequence).
Training configurations are skipped (ONNX Runtime's training is a separate package).
    benchmarks/compare/export_onnx.py DIR < configs.tsv     (needs: apt-get install -y python3-torch python3-onnx)
"""
import os
import sys

import onnx
import torch
from onnx import TensorProto, helper
from torch import nn

from compare_torch import mixed_lengths  # the same directory: Python puts the script's folder on sys.path


def export(kind, layers, bi, b, t, i, h, path):
    torch.manual_seed(0)
    if kind == "lstmcell":
        m = nn.LSTMCell(i, h).eval()
        args = (torch.randn(b, i), (torch.randn(b, h), torch.randn(b, h)))
        names = ["x", "h0", "c0"]
    else:
        cls = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[kind]
        m = cls(i, h, num_layers=layers, bidirectional=bi).eval()
        args = (torch.randn(t, b, i),)
        names = ["x"]
    with torch.inference_mode():
        torch.onnx.export(m, args, path, opset_version=14, input_names=names, do_constant_folding=True)


def wire_lengths(path, b):
    model = onnx.load(path)
    graph = model.graph
    graph.input.append(helper.make_tensor_value_info("lengths", TensorProto.INT32, [b]))
    wired = 0
    for node in graph.node:
        if node.op_type in ("LSTM", "GRU", "RNN"):
            while len(node.input) < 5:
                node.input.append("")
            node.input[4] = "lengths"
            wired += 1
    if wired == 0:
        raise SystemExit(f"{path}: no recurrent node to give sequence lengths")
    onnx.checker.check_model(model)
    onnx.save(model, path)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "manifest.tsv"), "w") as manifest:
        for n, line in enumerate(sys.stdin):
            f = line.rstrip("\n").split("\t")
            if len(f) != 10:
                continue
            name, kind, layers, bi, packed, train = f[0], f[1], int(f[2]), f[3] == "1", f[4] == "1", f[5] == "1"
            b, t, i, h = map(int, f[6:10])
            if train:
                continue
            path = os.path.join(out, f"{n}.onnx")
            export(kind, layers, bi, b, t, i, h, path)
            lengths = ""
            if packed:
                wire_lengths(path, b)
                lengths = ",".join(map(str, mixed_lengths(b, t)))
            manifest.write(f"{name}\t{n}.onnx\t{lengths}\n")


if __name__ == "__main__":
    main()
