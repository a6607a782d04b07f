#!/usr/bin/python3
"""Reference outputs and test files for the NAM (.nam) reader, for the
`formats` tests.

Run from anywhere with Debian's python3-torch and python3-numpy:

    /usr/bin/python3 tools/make_nam_refs.py

The model is built the way neural-amp-modeler's Python trainer rebuilds a
.nam file (nam/models/recurrent.py, LSTM.import_weights and LSTM._forward):
per layer the flat weights give W [4H x (I+H)] row-major, split into
weight_ih = W[:, :I] and weight_hh = W[:, I:], then the bias (to bias_ih;
bias_hh is zeroed), then h0 and c0 (the initial state); then the head,
nn.Linear(H, out) weight and bias. The forward pass is one batch-first
nn.LSTM call from (h0, c0) followed by the head, in float32 on one thread.

It writes

    tests/data/formats/<stem>.in.csv   the input, one float32 a line (repr)
    tests/data/formats/<stem>.ref.csv  the output, "%.9g"

for ../shared/models/nam/lstm1x3.nam (when that folder is present; the model
itself is not copied) and for the synthesized models below, and the
synthesized .nam files in tests/data/formats/nam/:

    lstm2x4.nam          2 layers, hidden 4, random seeded weights, learned
                         h0/c0 far from zero, no sample_rate, small metadata
    wavenet.nam          architecture "WaveNet" (must be refused by name)
    wrong_count.nam      lstm2x4 with its last weight removed
    missing_hidden.nam   lstm2x4 without config.hidden_size

The input is the same audio-like recipe as tools/make_format_refs.py
(seeded, 4000 frames), so reruns give identical files.
"""

import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_format_refs import float_text, make_input  # noqa: E402

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED_NAM = os.path.join(REPO_ROOT, "..", "shared", "models", "nam",
                          "lstm1x3.nam")
OUT_DIR = os.path.join(REPO_ROOT, "tests", "data", "formats")
NAM_DIR = os.path.join(OUT_DIR, "nam")


class NamLSTM(torch.nn.Module):
    """neural-amp-modeler's LSTM model: core LSTM from (h0, c0), then head."""

    def __init__(self, config, weights):
        super().__init__()
        inputs = config["input_size"]
        hidden = config["hidden_size"]
        layers = config["num_layers"]
        outputs = config.get("out_channels", 1)
        self.core = torch.nn.LSTM(inputs, hidden, num_layers=layers,
                                  batch_first=True)
        self.head = torch.nn.Linear(hidden, outputs)
        self.h0 = torch.zeros(layers, hidden)
        self.c0 = torch.zeros(layers, hidden)
        w = np.asarray(weights, dtype=np.float32)
        at = 0

        def take(count):
            nonlocal at
            part = w[at:at + count]
            assert part.size == count, "too few weights"
            at += count
            return torch.from_numpy(part.copy())

        with torch.no_grad():
            for layer in range(layers):
                width = inputs if layer == 0 else hidden
                full = take(4 * hidden * (width + hidden)).reshape(
                    4 * hidden, width + hidden)
                getattr(self.core, f"weight_ih_l{layer}").copy_(full[:, :width])
                getattr(self.core, f"weight_hh_l{layer}").copy_(full[:, width:])
                getattr(self.core, f"bias_ih_l{layer}").copy_(take(4 * hidden))
                getattr(self.core, f"bias_hh_l{layer}").zero_()
                self.h0[layer] = take(hidden)
                self.c0[layer] = take(hidden)
            self.head.weight.copy_(take(outputs * hidden).reshape(outputs,
                                                                  hidden))
            self.head.bias.copy_(take(outputs))
        assert at == w.size, f"{w.size - at} weights left over"

    def forward(self, x):
        """x: [1, T, I] -> [1, T, out]"""
        state = (self.h0[:, None, :].contiguous(),
                 self.c0[:, None, :].contiguous())
        features, _ = self.core(x, state)
        return self.head(features)


def core_style_output(config, weights, x):
    """NeuralAmpModelerCore's LSTMCell and head, step by step in float64
    straight off the flat array: xh = [x, h]; ifgo = W xh + b; the
    cross-check that the PyTorch split above reads the weights right."""
    inputs = config["input_size"]
    hidden = config["hidden_size"]
    layers = config["num_layers"]
    outputs = config.get("out_channels", 1)
    w = np.asarray(weights, dtype=np.float64)
    at = 0
    cells = []
    for layer in range(layers):
        width = inputs if layer == 0 else hidden
        n = 4 * hidden * (width + hidden)
        mat = w[at:at + n].reshape(4 * hidden, width + hidden)
        at += n
        bias = w[at:at + 4 * hidden]
        at += 4 * hidden
        xh = np.zeros(width + hidden)
        xh[width:] = w[at:at + hidden]
        at += hidden
        c = w[at:at + hidden].copy()
        at += hidden
        cells.append((width, mat, bias, xh, c))
    head_w = w[at:at + outputs * hidden].reshape(outputs, hidden)
    head_b = w[at + outputs * hidden:at + outputs * hidden + outputs]

    def sigmoid(v):
        return 1.0 / (1.0 + np.exp(-v))

    y = np.zeros((x.shape[0], outputs))
    for t in range(x.shape[0]):
        signal = x[t].astype(np.float64)
        for width, mat, bias, xh, c in cells:
            xh[:width] = signal
            ifgo = mat @ xh + bias
            i, f, g, o = (ifgo[k * hidden:(k + 1) * hidden] for k in range(4))
            c[:] = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
            xh[width:] = sigmoid(o) * np.tanh(c)
            signal = xh[width:]
        y[t] = head_w @ signal + head_b
    return y


def weight_count(inputs, hidden, layers, outputs=1):
    total = 0
    for layer in range(layers):
        width = inputs if layer == 0 else hidden
        total += 4 * hidden * (width + hidden) + 4 * hidden + 2 * hidden
    return total + outputs * hidden + outputs


def synthesized_lstm2x4():
    """A 2-layer, hidden-4 model with seeded weights and a learned state."""
    rng = np.random.RandomState(4242)
    inputs, hidden, layers = 1, 4, 2
    weights = []
    for layer in range(layers):
        width = inputs if layer == 0 else hidden
        weights += list(rng.uniform(-0.6, 0.6, 4 * hidden * (width + hidden)))
        weights += list(rng.uniform(-0.4, 0.4, 4 * hidden))
        weights += list(rng.uniform(-0.8, 0.8, hidden))  # h0
        weights += list(rng.uniform(-1.5, 1.5, hidden))  # c0
    weights += list(rng.uniform(-0.7, 0.7, hidden)) + [0.05]
    weights = [float(np.float32(v)) for v in weights]
    assert len(weights) == weight_count(inputs, hidden, layers)
    return {
        "version": "0.5.4",
        "metadata": {"name": "Synthesized 2x4", "loudness": -20.5,
                     "date": {"year": 2025}, "validation_esr": None},
        "architecture": "LSTM",
        "config": {"input_size": inputs, "hidden_size": hidden,
                   "num_layers": layers},
        "weights": weights,
    }


def write_json(name, doc):
    with open(os.path.join(NAM_DIR, name), "w") as f:
        json.dump(doc, f)
        f.write("\n")


def write_refs(stem, doc, seed):
    model = NamLSTM(doc["config"], doc["weights"])
    model.eval()
    x = make_input(doc["config"]["input_size"], seed=seed)
    with torch.no_grad():
        y = model(torch.from_numpy(x).unsqueeze(0)).squeeze(0).numpy()
    assert y.dtype == np.float32 and np.all(np.isfinite(y)), stem
    check = core_style_output(doc["config"], doc["weights"], x)
    gap = float(np.max(np.abs(check - y)))
    assert gap < 1e-5, f"{stem}: PyTorch vs NAM-core-style loop differ by {gap}"
    with open(os.path.join(OUT_DIR, stem + ".in.csv"), "w") as f:
        for row in x:
            f.write(",".join(float_text(v) for v in row) + "\n")
    with open(os.path.join(OUT_DIR, stem + ".ref.csv"), "w") as f:
        for row in y:
            f.write(",".join("%.9g" % float(v) for v in row) + "\n")
    back = np.loadtxt(os.path.join(OUT_DIR, stem + ".in.csv"), delimiter=",",
                      dtype=np.float64, ndmin=2)
    assert np.array_equal(back.astype(np.float32), x), stem
    print(f"{stem}: h={doc['config']['hidden_size']} "
          f"layers={doc['config']['num_layers']} -> output range "
          f"[{y.min():.4f}, {y.max():.4f}], float64 core-style loop within "
          f"{gap:.2g}")


def main():
    os.makedirs(NAM_DIR, exist_ok=True)
    torch.set_num_threads(1)

    if os.path.isfile(SHARED_NAM):
        with open(SHARED_NAM) as f:
            write_refs("lstm1x3", json.load(f), seed=3000)
    else:
        print(f"no {SHARED_NAM}: its references are left as they are")

    lstm2x4 = synthesized_lstm2x4()
    write_json("lstm2x4.nam", lstm2x4)
    write_refs("lstm2x4", lstm2x4, seed=3001)

    wrong = json.loads(json.dumps(lstm2x4))
    wrong["weights"] = wrong["weights"][:-1]
    write_json("wrong_count.nam", wrong)

    missing = json.loads(json.dumps(lstm2x4))
    del missing["config"]["hidden_size"]
    write_json("missing_hidden.nam", missing)

    # A tiny WaveNet-shaped file: what matters is the architecture name.
    write_json("wavenet.nam", {
        "version": "0.5.4",
        "architecture": "WaveNet",
        "config": {"layers": [{"input_size": 1, "condition_size": 1,
                               "head_size": 1, "channels": 2,
                               "kernel_size": 3, "dilations": [1, 2],
                               "activation": "Tanh", "gated": False,
                               "head_bias": False}],
                   "head": None, "head_scale": 0.02},
        "weights": [0.1, -0.2, 0.3, 0.0],
        "sample_rate": 48000,
    })


if __name__ == "__main__":
    main()
