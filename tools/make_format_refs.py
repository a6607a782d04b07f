#!/usr/bin/python3
"""Reference outputs for the GuitarML model files, for the `formats` tests.

Run from anywhere with Debian's python3-torch (the PATH python3 may lack it):

    /usr/bin/python3 tools/make_format_refs.py

For every GuitarML / Automated-GuitarAmpModelling JSON in
../shared/models/guitarml-json/ (except the deliberately broken one) this
builds the PyTorch model the file describes (nn.LSTM or nn.GRU with the
sizes in model_data, then nn.Linear; y = lin(rnn(x)) + x[:, :, 0:1] when
skip is set, as in the project's SimpleRNN class), runs one deterministic
4000-frame input through it from zero state in float32, and writes

    tests/data/formats/<name>.in.csv   the input, input_size numbers a line,
                                       each float32 printed as the repr of
                                       the Python float (exact round trip)
    tests/data/formats/<name>.ref.csv  the output, "%.9g" (exact for float32)

Only these generated vectors are committed, never the model files. The
input is column 0 an audio-like signal (partials under a swelling envelope
plus seeded noise, peaks near 0.9), columns 1.. knobs turning slowly in
[0, 1]. Everything is seeded, so reruns give identical files.
"""

import glob
import json
import math
import os
import sys

import numpy as np
import torch

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS_DIR = os.path.join(REPO_ROOT, "..", "shared", "models", "guitarml-json")
OUT_DIR = os.path.join(REPO_ROOT, "tests", "data", "formats")
FRAMES = 4000
SAMPLE_RATE = 44100.0
BROKEN = {"broken_no_state_dict.json"}


def make_input(input_size, seed):
    """Audio in column 0, slow knob turns in the others; float32 [T, I]."""
    rng = np.random.RandomState(seed)
    t = np.arange(FRAMES, dtype=np.float64) / SAMPLE_RATE
    swell = 0.55 + 0.45 * np.sin(2.0 * math.pi * 3.0 * t - 1.2)
    audio = np.zeros(FRAMES)
    for k, (freq, amp) in enumerate([(196.0, 1.0), (392.5, 0.5), (1175.0, 0.3),
                                     (2637.0, 0.15)]):
        audio += amp * np.sin(2.0 * math.pi * freq * t + 0.7 * k)
    audio = swell * audio / 1.95 + 0.03 * rng.uniform(-1.0, 1.0, FRAMES)
    audio = np.clip(audio, -0.9, 0.9)
    columns = [audio]
    for knob in range(1, input_size):
        phase = rng.uniform(0.0, 2.0 * math.pi)
        period = FRAMES * (1.3 + 0.4 * knob)
        columns.append(0.5 + 0.5 * np.sin(2.0 * math.pi * np.arange(FRAMES) /
                                          period + phase))
    return np.stack(columns, axis=1).astype(np.float32)


class GuitarMLModel(torch.nn.Module):
    """Automated-GuitarAmpModelling's SimpleRNN: rec -> lin (+ skip)."""

    def __init__(self, model_data):
        super().__init__()
        unit_type = model_data["unit_type"]
        rnn_class = {"LSTM": torch.nn.LSTM, "GRU": torch.nn.GRU}[unit_type]
        self.rec = rnn_class(input_size=model_data["input_size"],
                             hidden_size=model_data["hidden_size"],
                             num_layers=model_data.get("num_layers", 1),
                             batch_first=True,
                             bias=model_data.get("bias_fl", True))
        self.lin = torch.nn.Linear(model_data["hidden_size"],
                                   model_data["output_size"],
                                   bias=model_data.get("bias_fl", True))
        self.skip = int(model_data.get("skip", 0))

    def forward(self, x):
        y, _ = self.rec(x)  # no state given: zeros
        y = self.lin(y)
        if self.skip:
            y = y + x[:, :, 0:1]
        return y


def load_model(path):
    with open(path) as f:
        doc = json.load(f)
    model = GuitarMLModel(doc["model_data"])
    state = {key: torch.tensor(value, dtype=torch.float32)
             for key, value in doc["state_dict"].items()}
    model.load_state_dict(state, strict=True)
    model.eval()
    return model, doc["model_data"]


def float_text(value):
    """The shortest text that reads back as exactly this float32."""
    return repr(float(np.float32(value)))


def main():
    if not os.path.isdir(MODELS_DIR):
        sys.exit(f"no model folder at {MODELS_DIR}")
    os.makedirs(OUT_DIR, exist_ok=True)
    torch.set_num_threads(1)
    paths = sorted(glob.glob(os.path.join(MODELS_DIR, "*.json")))
    for index, path in enumerate(paths):
        name = os.path.basename(path)
        if name in BROKEN:
            continue
        stem = name[:-len(".json")]
        model, model_data = load_model(path)
        x = make_input(model_data["input_size"], seed=1000 + index)
        with torch.no_grad():
            y = model(torch.from_numpy(x).unsqueeze(0)).squeeze(0).numpy()
        assert y.dtype == np.float32 and y.shape[0] == FRAMES
        assert np.all(np.isfinite(y)), f"{name}: non-finite output"

        with open(os.path.join(OUT_DIR, stem + ".in.csv"), "w") as f:
            for row in x:
                f.write(",".join(float_text(v) for v in row) + "\n")
        with open(os.path.join(OUT_DIR, stem + ".ref.csv"), "w") as f:
            for row in y:
                f.write(",".join("%.9g" % float(v) for v in row) + "\n")

        # The text must read back to exactly the arrays that were used.
        back = np.loadtxt(os.path.join(OUT_DIR, stem + ".in.csv"),
                          delimiter=",", dtype=np.float64, ndmin=2)
        assert np.array_equal(back.astype(np.float32), x), name
        print(f"{stem}: {model_data['unit_type']} h={model_data['hidden_size']}"
              f" in={model_data['input_size']} skip={model_data.get('skip')}"
              f" -> output range [{y.min():.4f}, {y.max():.4f}]")


if __name__ == "__main__":
    main()
