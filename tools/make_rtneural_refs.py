#!/usr/bin/python3
"""Reference outputs and small test files for the RTNeural / AIDA-X reader.

Run from anywhere with Debian's python3-torch and python3-numpy:

    /usr/bin/python3 tools/make_rtneural_refs.py

1. For every RTNeural JSON in ../shared/models/rtneural-json/ it builds the
   equivalent PyTorch network (nn.LSTM / nn.GRU, nn.Linear, activations),
   converting the Keras weight layout with its own code, independently of the
   C reader:
     LSTM kernel [I x 4U], blocks i,f,c,o  -> weight_ih = kernel.T (same order)
     LSTM recurrent kernel [U x 4U]        -> weight_hh = recurrent.T
     LSTM bias [4U]                        -> bias_ih = bias, bias_hh = 0
     GRU blocks z,r,h                      -> PyTorch r,z,n (swap blocks 0, 1)
     GRU bias [2, 3U]                      -> bias_ih = row 0, bias_hh = row 1
     Dense kernel [I x O]                  -> Linear weight = kernel.T
   and writes tests/data/formats/<name>.in.csv / <name>.ref.csv exactly as
   tools/make_format_refs.py does (same input recipe and number format).

2. It writes tiny seeded RTNeural files to tests/data/formats/rtneural/ that
   cover what the shared files do not (missing activation keys, activations
   on dense and time-distributed-dense, standalone activation layers, in_skip,
   in_gain/out_gain, a string samplerate, a knob input, a GRU whose z and r
   blocks differ enough that reading them unswapped changes the output, a
   causal dilated conv1d front-end), each with <name>.in.csv / .ref.csv from
   PyTorch, and malformed files the reader must refuse (bad_*.json).

Everything is seeded, so reruns give identical files.
"""

import glob
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_format_refs import float_text, make_input  # noqa: E402

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS_DIR = os.path.join(REPO_ROOT, "..", "shared", "models", "rtneural-json")
OUT_DIR = os.path.join(REPO_ROOT, "tests", "data", "formats")
TINY_DIR = os.path.join(OUT_DIR, "rtneural")
TINY_FRAMES = 600

ACTIVATIONS = {
    "": lambda x: x,
    "linear": lambda x: x,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "sigmoid": torch.sigmoid,
    "elu": torch.nn.functional.elu,
}


def keras_lstm_to_torch(weights, inputs, units):
    kernel, recurrent, bias = (np.asarray(w, dtype=np.float32) for w in weights)
    assert kernel.shape == (inputs, 4 * units) and bias.shape == (4 * units,)
    lstm = torch.nn.LSTM(inputs, units, batch_first=True)
    with torch.no_grad():
        lstm.weight_ih_l0.copy_(torch.from_numpy(kernel.T.copy()))
        lstm.weight_hh_l0.copy_(torch.from_numpy(recurrent.T.copy()))
        lstm.bias_ih_l0.copy_(torch.from_numpy(bias))
        lstm.bias_hh_l0.zero_()
    return lstm


def swap_zr(matrix_rows, units):
    """Keras z,r,h blocks (rows after transposing) -> PyTorch r,z,n."""
    z, r, h = (matrix_rows[g * units:(g + 1) * units] for g in range(3))
    return np.concatenate([r, z, h], axis=0)


def keras_gru_to_torch(weights, inputs, units):
    kernel, recurrent, bias = (np.asarray(w, dtype=np.float32) for w in weights)
    assert kernel.shape == (inputs, 3 * units) and bias.shape == (2, 3 * units)
    gru = torch.nn.GRU(inputs, units, batch_first=True)
    with torch.no_grad():
        gru.weight_ih_l0.copy_(torch.from_numpy(swap_zr(kernel.T, units)))
        gru.weight_hh_l0.copy_(torch.from_numpy(swap_zr(recurrent.T, units)))
        gru.bias_ih_l0.copy_(torch.from_numpy(swap_zr(bias[0], units)))
        gru.bias_hh_l0.copy_(torch.from_numpy(swap_zr(bias[1], units)))
    return gru


class RTNeuralNet(torch.nn.Module):
    """The network an RTNeural JSON describes, as AIDA-X runs it."""

    def __init__(self, doc):
        super().__init__()
        width = doc["in_shape"][-1]
        self.steps = []  # (kind, module or None, activation name)
        self.mods = torch.nn.ModuleList()
        for layer in doc["layers"]:
            kind = layer["type"]
            units = layer["shape"][-1]
            act = layer.get("activation", "")
            w = layer["weights"]
            if kind == "lstm":
                mod = keras_lstm_to_torch(w, width, units)
                act = ""  # RTNeural's LSTM has tanh built in
            elif kind == "gru":
                mod = keras_gru_to_torch(w, width, units)
                act = ""
            elif kind in ("dense", "time-distributed-dense"):
                kernel = np.asarray(w[0], dtype=np.float32)
                mod = torch.nn.Linear(width, units, bias=len(w) > 1)
                with torch.no_grad():
                    mod.weight.copy_(torch.from_numpy(kernel.T.copy()))
                    if len(w) > 1:
                        mod.bias.copy_(torch.tensor(w[1], dtype=torch.float32))
            elif kind == "conv1d":
                kernel = np.asarray(w[0], dtype=np.float32)  # [K][I][O]
                taps = layer["kernel_size"][-1]
                dilation = layer["dilation"][-1]
                mod = torch.nn.Conv1d(width, units, taps, dilation=dilation)
                with torch.no_grad():
                    # torch weight [O][I][K]; cross-correlation, so tap K-1
                    # meets the newest frame after left padding: causal.
                    mod.weight.copy_(torch.from_numpy(
                        kernel.transpose(2, 1, 0).copy()))
                    mod.bias.copy_(torch.tensor(w[1], dtype=torch.float32))
                mod.left_pad = (taps - 1) * dilation
            elif kind == "activation":
                mod = None
            else:
                raise ValueError(f"no PyTorch equivalent for {kind}")
            if mod is not None:
                self.mods.append(mod)
            self.steps.append((kind, mod, act))
            width = units
        self.skip = int(doc.get("in_skip", 0))
        self.in_gain = 10.0 ** (doc.get("in_gain", 0.0) / 20.0)
        self.out_gain = 10.0 ** (doc.get("out_gain", 0.0) / 20.0)

    def forward(self, x):  # x [1, T, I]
        x = x.clone()
        x[:, :, 0] = x[:, :, 0] * np.float32(self.in_gain)
        y = x
        for kind, mod, act in self.steps:
            if kind in ("lstm", "gru"):
                y, _ = mod(y)
            elif kind == "conv1d":
                z = torch.nn.functional.pad(y.transpose(1, 2), (mod.left_pad, 0))
                y = mod(z).transpose(1, 2)
            elif mod is not None:
                y = mod(y)
            y = ACTIVATIONS[act](y)
        if self.skip:
            y = y.clone()
            y[:, :, 0] = y[:, :, 0] + x[:, :, 0]
        return y * np.float32(self.out_gain)


def write_pair(stem_path, x, y):
    with open(stem_path + ".in.csv", "w") as f:
        for row in x:
            f.write(",".join(float_text(v) for v in row) + "\n")
    with open(stem_path + ".ref.csv", "w") as f:
        for row in y:
            f.write(",".join("%.9g" % float(v) for v in row) + "\n")
    back = np.loadtxt(stem_path + ".in.csv", delimiter=",", dtype=np.float64,
                      ndmin=2)
    assert np.array_equal(back.astype(np.float32), x), stem_path


def run(doc, x):
    model = RTNeuralNet(doc)
    model.eval()
    with torch.no_grad():
        y = model(torch.from_numpy(x).unsqueeze(0)).squeeze(0).numpy()
    assert y.dtype == np.float32 and np.all(np.isfinite(y))
    return y


def shared_refs():
    if not os.path.isdir(MODELS_DIR):
        print(f"no model folder at {MODELS_DIR}; shared references skipped")
        return
    for index, path in enumerate(sorted(glob.glob(os.path.join(MODELS_DIR,
                                                                "*.json")))):
        stem = os.path.basename(path)[:-len(".json")]
        with open(path) as f:
            doc = json.load(f)
        x = make_input(doc["in_shape"][-1], seed=2000 + index)
        y = run(doc, x)
        write_pair(os.path.join(OUT_DIR, stem), x, y)
        note = ""
        if "input_batch" in doc:
            xb = np.asarray(doc["input_batch"], dtype=np.float32).reshape(-1, 1)
            yb = run(doc, xb).reshape(-1)
            ob = np.asarray(doc["output_batch"], dtype=np.float32).reshape(-1)
            note = f", own reference max error {np.abs(yb - ob).max():.3g}"
        print(f"{stem}: output range [{y.min():.4f}, {y.max():.4f}]{note}")


def rand(rng, *shape, scale=0.5):
    return (scale * rng.uniform(-1.0, 1.0, shape)).astype(np.float32)


def lstm_layer(rng, inputs, units, activation=None):
    layer = {"type": "lstm", "shape": [None, None, units],
             "weights": [rand(rng, inputs, 4 * units),
                         rand(rng, units, 4 * units),
                         rand(rng, 4 * units, scale=0.2)]}
    if activation is not None:
        layer["activation"] = activation
    return layer


def gru_layer(rng, inputs, units):
    return {"type": "gru", "shape": [None, None, units],
            "weights": [rand(rng, inputs, 3 * units, scale=0.9),
                        rand(rng, units, 3 * units, scale=0.9),
                        rand(rng, 2, 3 * units, scale=0.6)]}


def dense_layer(rng, inputs, units, activation=None, kind="dense"):
    layer = {"type": kind, "shape": [None, None, units],
             "weights": [rand(rng, inputs, units), rand(rng, units, scale=0.2)]}
    if activation is not None:
        layer["activation"] = activation
    return layer


def to_lists(doc):
    return json.loads(json.dumps(doc, default=lambda a: a.tolist()))


def tiny_files():
    os.makedirs(TINY_DIR, exist_ok=True)
    rng = np.random.RandomState(77)
    models = {}

    # Old RTNeural export: no activation keys anywhere (like KlonCentaur's);
    # the GRU's z and r blocks differ, so a reader without the swap fails.
    gru = gru_layer(rng, 1, 6)
    gru["weights"][0][:, 0:6] += 1.5   # strongly biased update gate
    gru["weights"][2][0, 0:6] += 1.0
    models["gru_no_activation_keys"] = {
        "in_shape": [None, None, 1],
        "layers": [gru, dense_layer(rng, 6, 1)]}

    # AIDA-X extras and every activation path: a knob input, in_skip, gains,
    # a string samplerate, activations on dense and time-distributed-dense,
    # a standalone activation after a non-linear dense (identity Dense) and
    # one after a linear dense (folded), a dense without bias.
    no_bias = dense_layer(rng, 2, 1, activation="")
    no_bias["weights"] = no_bias["weights"][:1]
    models["lstm_knob_skip_gains_acts"] = {
        "in_shape": [None, None, 2],
        "in_skip": 1,
        "in_gain": 3.5,
        "out_gain": -2.0,
        "layers": [
            lstm_layer(rng, 2, 5, activation="tanh"),
            dense_layer(rng, 5, 4, activation="relu",
                        kind="time-distributed-dense"),
            {"type": "activation", "activation": "tanh",
             "shape": [None, None, 4], "weights": []},
            dense_layer(rng, 4, 2, activation=""),
            {"type": "activation", "activation": "sigmoid",
             "shape": [None, None, 2], "weights": []},
            dense_layer(rng, 2, 2, activation="elu"),
            no_bias,
        ],
        "metadata": {"samplerate": "44100", "name": "tiny test model",
                     "esr": 0.25}}

    # A causal, dilated Conv1D front-end (RTNeural conv1d fields).
    conv = {"type": "conv1d", "activation": "tanh", "shape": [None, None, 3],
            "kernel_size": [3], "dilation": [2], "groups": 1,
            "weights": [rand(rng, 3, 1, 3, scale=0.9), rand(rng, 3, scale=0.2)]}
    models["conv1d_gru"] = {
        "in_shape": [None, None, 1],
        "layers": [conv, gru_layer(rng, 3, 4), dense_layer(rng, 4, 1)],
        "metadata": {"samplerate": 48000}}

    for index, (stem, doc) in enumerate(sorted(models.items())):
        doc = to_lists(doc)
        with open(os.path.join(TINY_DIR, stem + ".json"), "w") as f:
            json.dump(doc, f, indent=1)
        x = make_input(doc["in_shape"][-1], seed=3000 + index)[:TINY_FRAMES]
        y = run(doc, x)
        write_pair(os.path.join(TINY_DIR, stem), x, y)
        print(f"rtneural/{stem}: output range [{y.min():.4f}, {y.max():.4f}]")

    # The AIDA-X-style reference pair inside a file, nested [T][1].
    doc = to_lists(models["gru_no_activation_keys"])
    x = make_input(1, seed=3100)[:200]
    doc["input_batch"] = x.tolist()
    doc["output_batch"] = run(doc, x).tolist()
    with open(os.path.join(TINY_DIR, "gru_with_reference.json"), "w") as f:
        json.dump(doc, f)

    # Files the reader must refuse; the C test names the expected message.
    good = to_lists(models["gru_no_activation_keys"])

    def bad(stem, edit):
        doc = json.loads(json.dumps(good))
        edit(doc)
        with open(os.path.join(TINY_DIR, "bad_" + stem + ".json"), "w") as f:
            json.dump(doc, f)

    def wrong_kernel(doc):
        doc["layers"][0]["weights"][0] = doc["layers"][0]["weights"][0] * 2

    def wrong_shape(doc):
        doc["layers"][0]["shape"] = [None, None, 7]

    def unknown_type(doc):
        doc["layers"][1]["type"] = "lambda"

    def softmax(doc):
        doc["layers"][1]["activation"] = "softmax"

    def prelu(doc):
        doc["layers"].append({"type": "prelu", "shape": [None, None, 1],
                              "weights": [[[0.1]]]})

    def gru_bias(doc):
        doc["layers"][0]["weights"][2] = doc["layers"][0]["weights"][2][:1]

    def batch_mismatch(doc):
        doc["input_batch"] = [0.0, 0.1, 0.2]
        doc["output_batch"] = [0.0, 0.1]

    def no_layers(doc):
        doc["layers"] = []

    def in_shape(doc):
        doc["in_shape"] = [None, None, "one"]

    def samplerate(doc):
        doc["metadata"] = {"samplerate": "fast"}

    for stem, edit in [("wrong_kernel", wrong_kernel),
                       ("wrong_shape", wrong_shape),
                       ("unknown_type", unknown_type),
                       ("softmax", softmax), ("prelu", prelu),
                       ("gru_bias", gru_bias),
                       ("batch_mismatch", batch_mismatch),
                       ("no_layers", no_layers), ("in_shape", in_shape),
                       ("samplerate", samplerate)]:
        bad(stem, edit)


def main():
    torch.set_num_threads(1)
    os.makedirs(OUT_DIR, exist_ok=True)
    shared_refs()
    tiny_files()


if __name__ == "__main__":
    main()
