"""The GuitarML "SimpleRNN" network in PyTorch and its JSON model file.

The structure is that of GuitarML / Automated-GuitarAmpModelling:

    h[t] = LSTM(x[t], h[t-1])          one layer, input size 1
    y[t] = lin(h[t]) + x[t]            Dense head plus a skip from the input

The JSON written here is what GuitarML's tools write ("model_data" and
"state_dict"), plus a "metadata" object that GuitarML loaders ignore and
Statewave reads (it takes the sample rate from "samplerate").
"""

import json

import torch
from torch import nn


class SimpleRNN(nn.Module):
    def __init__(self, hidden_size):
        super().__init__()
        self.rec = nn.LSTM(input_size=1, hidden_size=hidden_size, num_layers=1,
                           batch_first=True)
        self.lin = nn.Linear(hidden_size, 1)

    def forward(self, audio, state=None):
        """audio [batch, time, 1] -> (output [batch, time, 1], final state)."""
        hidden, state = self.rec(audio, state)
        return self.lin(hidden) + audio, state


def _exact_float32_list(tensor):
    """Nested lists of Python floats, each exactly a float32 value.

    A float32 widened to a Python float prints (json's repr) with enough
    digits to round-trip to the same double, hence to the same float32.
    """
    return tensor.detach().to(torch.float32).to(torch.float64).tolist()


def write_guitarml_json(model, path, metadata):
    hidden_size = model.rec.hidden_size
    document = {
        "model_data": {
            "model": "SimpleRNN",
            "input_size": 1,
            "skip": 1,
            "output_size": 1,
            "unit_type": "LSTM",
            "num_layers": 1,
            "hidden_size": hidden_size,
            "bias_fl": True,
        },
        "state_dict": {
            name: _exact_float32_list(tensor)
            for name, tensor in model.state_dict().items()
        },
        "metadata": metadata,
    }
    with open(path, "w", encoding="utf-8") as file:
        file.write(_format_document(document))


def _format_document(document):
    """JSON with one matrix row per line: readable, and diffs stay small."""
    def format_weights(values):
        if values and isinstance(values[0], list):
            rows = ",\n    ".join(json.dumps(row) for row in values)
            return f"[\n    {rows}\n  ]"
        return json.dumps(values)

    weights = ",\n".join(f"  {json.dumps(name)}: {format_weights(values)}"
                          for name, values in document["state_dict"].items())
    metadata = json.dumps(document["metadata"], indent=1).replace("\n", "\n ")
    return ("{\n"
            f' "model_data": {json.dumps(document["model_data"])},\n'
            f' "state_dict": {{\n{weights}\n }},\n'
            f' "metadata": {metadata}\n'
            "}\n")


def read_guitarml_json(path):
    """(SimpleRNN in float32, metadata dict) from a file write_guitarml_json made."""
    with open(path, encoding="utf-8") as file:
        document = json.load(file)
    model_data = document["model_data"]
    expected = {"model": "SimpleRNN", "input_size": 1, "skip": 1, "output_size": 1,
                "unit_type": "LSTM", "num_layers": 1}
    for key, value in expected.items():
        if model_data.get(key) != value:
            raise ValueError(f"{path}: model_data.{key} is {model_data.get(key)!r}, "
                             f"expected {value!r}")
    model = SimpleRNN(model_data["hidden_size"])
    state_dict = {name: torch.tensor(values, dtype=torch.float32)
                  for name, values in document["state_dict"].items()}
    model.load_state_dict(state_dict, strict=True)
    return model, document.get("metadata", {})
