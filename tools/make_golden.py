#!/usr/bin/python3
"""Generate the golden reference data in tests/data/golden/.

Run from the repository root with Debian's python3-torch:

    /usr/bin/python3 tools/make_golden.py

Three kinds of data come out, all deterministic (fixed seeds):

  PyTorch cases   <case>.json (GuitarML model file) + <case>.out.f32: the
                  float32 output of nn.LSTM / nn.GRU + nn.Linear over one
                  free-running 20000-step call from zero state, on the shared
                  input.f32 (20000 x 3 float32).
  Keras cases     <case>.spec.json: canonical weights, input and the expected
                  output of the Keras formulas (hard_sigmoid of Keras 2 and 3,
                  GRU reset_after=False, SimpleRNN, Dense activations, ...),
                  computed here in numpy, float64, in Keras's own layout.
  Sequence cases  seq_<case>.spec.json: a small stack run as one Keras call on
                  a batch, once per combination of the sequence flags.

manifest.json lists every case for the C tests; README.md describes the files.

With Keras 3 installed in tools/.venv (optional, gitignored), the script then
re-runs every spec case through real Keras layers and compares:

    /usr/bin/python3 -m venv tools/.venv
    tools/.venv/bin/pip install keras scipy jax

The committed data never depends on Keras; `--keras-check` runs only that
comparison (it is what the venv interpreter is started with).
"""

import argparse
import json
import math
import os
import subprocess
import sys
import zlib

import numpy as np

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GOLDEN_DIR = os.path.join(REPO_ROOT, "tests", "data", "golden")
VENV_PYTHON = os.path.join(REPO_ROOT, "tools", ".venv", "bin", "python")

STEPS = 20000
INPUT_COLUMNS = 3
SAMPLE_RATE = 48000.0
TOLERANCE = 1e-5
# A reference is only useful at TOLERANCE if float32 and float64 runs of the
# same net stay this close: otherwise rounding alone could fail a correct engine.
CONDITIONING_LIMIT = 2.5e-6

# Every property a case must have to be a useful reference; all are checked
# and reported together, and any failure makes the script exit non-zero.
FAILURES = []


def require(condition, *what):
    if not condition:
        FAILURES.append(" ".join(str(w) for w in what))


# ---------------------------------------------------------------------------
# Compact, exact float32 JSON
# ---------------------------------------------------------------------------


def exact_f32(value):
    """The shortest decimal that a C reader (strtod, then a cast to float)
    turns back into exactly this float32."""
    f = np.float32(value)
    short = float(str(f))
    if np.float32(short) == f:
        return short
    return float(f)  # the exact double of the float32: always round-trips


def json_floats(array):
    """A float array as (nested) lists of exact float32 values."""
    array = np.asarray(array, dtype=np.float32)
    if array.ndim == 0:
        return exact_f32(array)
    return [json_floats(row) for row in array] if array.ndim > 1 else [
        exact_f32(v) for v in array]


def write_json(path, obj):
    with open(path, "w", encoding="utf-8") as out:
        json.dump(obj, out, separators=(",", ":"))
        out.write("\n")


# ---------------------------------------------------------------------------
# The shared input signal
# ---------------------------------------------------------------------------


def make_input_signal(rng):
    """20000 x 3 float32: column 0 audio-like, columns 1-2 knob-like."""
    t = np.arange(STEPS, dtype=np.float64)
    envelope = 0.65 + 0.15 * np.sin(2 * np.pi * t / 7000.0)
    tone = (0.6 * np.sin(2 * np.pi * 110.0 * t / SAMPLE_RATE)
            + 0.3 * np.sin(2 * np.pi * 347.0 * t / SAMPLE_RATE + 0.3)
            + 0.1 * np.sin(2 * np.pi * 2113.0 * t / SAMPLE_RATE + 1.1))
    audio = envelope * tone + 0.02 * rng.standard_normal(STEPS)

    knob_sweep = 0.5 + 0.45 * np.sin(2 * np.pi * t / 13000.0 + 0.5)

    # Knob turned to a new position every 2500 steps, smoothed as a host would.
    targets = np.repeat(rng.uniform(0.05, 0.95, STEPS // 2500 + 1), 2500)[:STEPS]
    knob_steps = np.empty(STEPS)
    value = targets[0]
    for i in range(STEPS):
        value += 0.002 * (targets[i] - value)
        knob_steps[i] = value

    signal = np.stack([audio, knob_sweep, knob_steps], axis=1).astype(np.float32)
    assert 0.5 <= np.abs(signal[:, 0]).max() <= 0.9
    assert signal[:, 1:].min() >= 0.0 and signal[:, 1:].max() <= 1.0
    return signal


# ---------------------------------------------------------------------------
# PyTorch cases
# ---------------------------------------------------------------------------

# (unit, hidden, layers, input width, skip): a covering set, not the product.
# For each unit type every hidden size, layer count and input width appears.
TORCH_CASES = [
    ("LSTM", 1, 1, 1, True),
    ("LSTM", 8, 2, 2, False),
    ("LSTM", 8, 3, 3, True),
    ("LSTM", 40, 2, 1, False),
    ("LSTM", 64, 1, 3, False),
    ("LSTM", 1, 2, 2, False),
    ("GRU", 1, 2, 3, False),
    ("GRU", 8, 1, 1, True),
    ("GRU", 8, 3, 2, False),
    ("GRU", 40, 2, 1, True),
    ("GRU", 64, 1, 2, True),
    ("GRU", 40, 1, 3, False),
]

# Torch's default init (uniform +-1/sqrt(H)) leaves the nets nearly linear,
# and wide ones barely driven by the input: layer-0 input weights are scaled
# by INPUT_GAIN * sqrt(H) (to uniform +-INPUT_GAIN), the other weights by
# WEIGHT_GAIN and the biases by BIAS_GAIN, which puts the gates in a nonlinear
# but not saturated regime (checked by gate_regime()).
INPUT_GAIN = 3.0
WEIGHT_GAIN = 2.0
BIAS_GAIN = 2.0


def torch_case_name(unit, hidden, layers, inputs, skip):
    return "{}_h{}_l{}_i{}{}".format(unit.lower(), hidden, layers, inputs,
                                     "_skip" if skip else "")


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def torch_reference_float64(unit, state_dict, layers, x, skip):
    """The PyTorch formulas in float64 numpy (rnn-semantics.md 7.3); also
    returns every gate pre-activation to judge the regime."""
    seq = np.asarray(x, dtype=np.float64)
    preacts = []
    for layer in range(layers):
        w_ih = state_dict["rec.weight_ih_l%d" % layer].astype(np.float64)
        w_hh = state_dict["rec.weight_hh_l%d" % layer].astype(np.float64)
        b_ih = state_dict["rec.bias_ih_l%d" % layer].astype(np.float64)
        b_hh = state_dict["rec.bias_hh_l%d" % layer].astype(np.float64)
        hidden = w_hh.shape[1]
        from_input = seq @ w_ih.T + b_ih
        h = np.zeros(hidden)
        c = np.zeros(hidden)
        out = np.empty((seq.shape[0], hidden))
        gate_log = np.empty_like(from_input)
        for t in range(seq.shape[0]):
            rec = w_hh @ h + b_hh
            if unit == "LSTM":
                a = from_input[t] + rec
                gate_log[t] = a
                i, f, g, o = np.split(a, 4)
                c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
                h = sigmoid(o) * np.tanh(c)
            else:
                xr, xz, xn = np.split(from_input[t], 3)
                hr, hz, hn = np.split(rec, 3)
                r = sigmoid(xr + hr)
                z = sigmoid(xz + hz)
                n_pre = xn + r * hn
                gate_log[t] = np.concatenate([xr + hr, xz + hz, n_pre])
                h = (1.0 - z) * np.tanh(n_pre) + z * h
            out[t] = h
        preacts.append(gate_log)
        seq = out
    y = seq @ state_dict["lin.weight"].astype(np.float64).T + \
        state_dict["lin.bias"].astype(np.float64)
    if skip:
        y[:, 0] += x[:, 0]
    return y[:, 0], preacts


def gate_regime(preacts):
    """(rms of gate pre-activations, fraction beyond |4|) over all layers."""
    all_values = np.concatenate([p.ravel() for p in preacts])
    return (float(np.sqrt(np.mean(all_values ** 2))),
            float(np.mean(np.abs(all_values) > 4.0)))


def run_torch_case(torch, unit, hidden, layers, inputs, skip, seed, signal):
    """Build one seeded torch model and run it. Returns (expected float32
    output, float32 state_dict as numpy, usability statistics)."""
    torch.manual_seed(seed)
    rnn_class = torch.nn.LSTM if unit == "LSTM" else torch.nn.GRU
    rnn = rnn_class(input_size=inputs, hidden_size=hidden,
                    num_layers=layers, batch_first=True)
    lin = torch.nn.Linear(hidden, 1)
    with torch.no_grad():
        for param_name, param in rnn.named_parameters():
            if param_name.startswith("weight_ih_l0"):
                param.mul_(INPUT_GAIN * math.sqrt(hidden))
            elif param_name.startswith("weight"):
                param.mul_(WEIGHT_GAIN)
            else:
                param.mul_(BIAS_GAIN)

    x = torch.from_numpy(signal[:, :inputs].copy()).unsqueeze(0)
    with torch.no_grad():
        hidden_seq, _ = rnn(x)
        y = lin(hidden_seq)
        if skip:
            y = y + x[:, :, 0:1]
    expected = y[0, :, 0].numpy().astype(np.float32)

    state_dict = {"rec." + k: v.detach().numpy().astype(np.float32)
                  for k, v in rnn.state_dict().items()}
    state_dict["lin.weight"] = lin.weight.detach().numpy().astype(np.float32)
    state_dict["lin.bias"] = lin.bias.detach().numpy().astype(np.float32)

    # The float64 numpy model checks both torch and our reading of it, and
    # tells how much float32 rounding alone moves the output.
    reference64, preacts = torch_reference_float64(
        unit, state_dict, layers, signal[:, :inputs].astype(np.float64), skip)
    rms, saturated = gate_regime(preacts)
    stats = {
        "conditioning": float(np.max(np.abs(reference64 - expected))),
        "rms": rms, "saturated": saturated,
        "peak": float(np.max(np.abs(expected))),
        # how much the network itself (not the skip) moves the output
        "spread": float(np.std(expected - (signal[:, 0] if skip else 0.0))),
    }
    return expected, state_dict, stats


def torch_case_problems(stats):
    problems = []
    if stats["conditioning"] >= CONDITIONING_LIMIT:
        problems.append("ill-conditioned (f32 vs f64 %.2e)" % stats["conditioning"])
    if not (0.5 < stats["rms"] < 3.0 and stats["saturated"] < 0.25):
        problems.append("gates too linear or saturated (rms %.2f, |a|>4 %.1f%%)"
                        % (stats["rms"], 100 * stats["saturated"]))
    if stats["spread"] <= 0.02:
        problems.append("output nearly constant (std %.4f)" % stats["spread"])
    return problems


def make_torch_cases(signal, report):
    import torch  # only the generator needs torch; --keras-check does not

    torch.set_num_threads(1)
    manifest = []
    coverage = {}
    for index, (unit, hidden, layers, inputs, skip) in enumerate(TORCH_CASES):
        name = torch_case_name(unit, hidden, layers, inputs, skip)
        # The first of a fixed list of seeds whose net is a useful reference.
        for attempt in range(10):
            seed = 1000 + 100 * index + attempt
            expected, state_dict, stats = run_torch_case(
                torch, unit, hidden, layers, inputs, skip, seed, signal)
            problems = torch_case_problems(stats)
            if not problems:
                break
        report.append("{:<22} seed {}  torch f32 vs numpy f64 {:.2e}  gate rms {:.2f}  "
                      "|a|>4 {:4.1%}  out peak {:.3f}  net std {:.3f}".format(
                          name, seed, stats["conditioning"], stats["rms"],
                          stats["saturated"], stats["peak"], stats["spread"]))
        require(not problems, name, "; ".join(problems))

        model = {
            "model_data": {
                "model": "SimpleRNN", "input_size": inputs,
                "skip": 1 if skip else 0, "output_size": 1,
                "unit_type": unit, "num_layers": layers,
                "hidden_size": hidden, "bias_fl": True,
            },
            "state_dict": {k: json_floats(v) for k, v in state_dict.items()},
        }
        write_json(os.path.join(GOLDEN_DIR, name + ".json"), model)
        expected.astype("<f4").tofile(os.path.join(GOLDEN_DIR, name + ".out.f32"))

        manifest.append({"name": name, "unit_type": unit, "hidden_size": hidden,
                         "num_layers": layers, "input_width": inputs,
                         "skip": skip})
        for key, value in (("hidden", hidden), ("layers", layers),
                           ("inputs", inputs)):
            coverage.setdefault((unit, key), set()).add(value)

    for unit in ("LSTM", "GRU"):
        assert coverage[(unit, "hidden")] == {1, 8, 40, 64}, unit
        assert coverage[(unit, "layers")] == {1, 2, 3}, unit
        assert coverage[(unit, "inputs")] == {1, 2, 3}, unit
    return manifest


# ---------------------------------------------------------------------------
# Keras semantics in numpy, in Keras's own layout
# ---------------------------------------------------------------------------

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946

ACTIVATIONS = {
    "linear": lambda x: x,
    "tanh": np.tanh,
    "relu": lambda x: np.maximum(x, 0),
    "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
    "hard_sigmoid": lambda x: np.clip(0.2 * x + 0.5, 0, 1),     # Keras 2
    "hard_sigmoid_k3": lambda x: np.clip(x / 6 + 0.5, 0, 1),    # Keras 3
    "elu": lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0))),
    "selu": lambda x: SELU_SCALE * np.where(
        x > 0, x, SELU_ALPHA * np.expm1(np.minimum(x, 0))),
    "softsign": lambda x: x / (1 + np.abs(x)),
    "softplus": lambda x: np.logaddexp(0, x).astype(x.dtype),
    "swish": lambda x: x / (1 + np.exp(-x)),
}

GATES = {"lstm": 4, "gru": 3, "simple_rnn": 1, "dense": 1, "conv1d": 1}


def state_size(layer, width=0):
    """State floats per stream; a Conv1D keeps its last (K-1)*d input frames
    of `width` channels."""
    units = layer["units"]
    if layer["type"] == "conv1d":
        return (layer["kernel_size"] - 1) * layer["dilation"] * width
    return {"lstm": 2 * units, "gru": units, "simple_rnn": units,
            "dense": 0}[layer["type"]]


def keras_conv1d_causal(layer, weights, x):
    """keras.layers.Conv1D(padding="causal", strides=1) on x [B, T, I]:
    left-pad (K-1)*d zero frames, y[t] = b + sum_k x_pad[t + k*d] @ K[k]."""
    taps, dilation = layer["kernel_size"], layer["dilation"]
    pad = (taps - 1) * dilation
    padded = np.concatenate(
        [np.zeros((x.shape[0], pad, x.shape[2]), dtype=x.dtype), x], axis=1)
    y = np.zeros((x.shape[0], x.shape[1], layer["units"]), dtype=x.dtype)
    for k in range(taps):
        y = y + padded[:, k * dilation:k * dilation + x.shape[1], :] @ weights["kernel"][k]
    return ACTIVATIONS[layer.get("activation") or "linear"](y + weights["bias"])


def gate_blocks(matrix, gates):
    """Split canonical rows [G*U, ...] into the G gate blocks."""
    return np.split(matrix, gates, axis=0)


def keras_weights(layer, dtype):
    """Canonical (cuDNN order, rows = units) -> Keras layout: per gate
    K_g = W_g^T, RK_g = R_g^T, GRU blocks r,z,n -> z,r,h."""
    kind, units = layer["type"], layer["units"]
    gates = GATES[kind]
    width = len(layer["kernel"]) // (gates * units)
    w = np.array(layer["kernel"], dtype=np.float64).reshape(gates * units, width)
    # use_bias=false: Keras has no bias weights at all, i.e. zero biases.
    with_bias = layer.get("use_bias", True)
    b_w = np.array(layer["bias"] if with_bias else np.zeros(gates * units),
                   dtype=np.float64)
    if kind == "dense":
        return {"kernel": w.T.astype(dtype), "bias": b_w.astype(dtype)}
    if kind == "conv1d":
        # Canonical [U, K*I], column k*I + c  ->  Keras kernel [K, I, U].
        taps = layer["kernel_size"]
        channels = width // taps
        kernel = w.reshape(units, taps, channels).transpose(1, 2, 0)
        return {"kernel": kernel.astype(dtype), "bias": b_w.astype(dtype)}
    r = np.array(layer["recurrent_kernel"], dtype=np.float64).reshape(
        gates * units, units)
    b_r = np.array(layer["recurrent_bias"] if with_bias else np.zeros(gates * units),
                   dtype=np.float64)
    order = [1, 0, 2] if kind == "gru" else list(range(gates))
    w_blocks = [gate_blocks(w, gates)[g] for g in order]
    r_blocks = [gate_blocks(r, gates)[g] for g in order]
    bw_blocks = [np.split(b_w, gates)[g] for g in order]
    br_blocks = [np.split(b_r, gates)[g] for g in order]
    kernel = np.concatenate([blk.T for blk in w_blocks], axis=1)
    recurrent = np.concatenate([blk.T for blk in r_blocks], axis=1)
    if kind == "gru" and layer["gru_reset"] == "after":
        bias = np.stack([np.concatenate(bw_blocks), np.concatenate(br_blocks)])
    elif kind == "gru":
        # Keras reset_after=False has one bias; the spec's bR must be zero.
        assert not np.any(b_r), "reset_before GRU spec with a recurrent bias"
        bias = np.concatenate(bw_blocks)
    else:
        # LSTM and SimpleRNN: Keras has one bias, the sum of both halves.
        bias = np.concatenate(bw_blocks) + np.concatenate(br_blocks)
    return {"kernel": kernel.astype(dtype), "recurrent_kernel":
            recurrent.astype(dtype), "bias": bias.astype(dtype)}


def keras_cell_step(layer, weights, x, states):
    """One step of the Keras cell (LSTMCell / GRUCell / SimpleRNNCell.call)
    on a batch: x [B, I], states a list of [B, U]. Returns (output, states)."""
    kind = layer["type"]
    act = ACTIVATIONS[layer.get("activation") or "tanh"]
    rec_act = ACTIVATIONS[layer.get("recurrent_activation") or "sigmoid"]
    k, rk, b = weights["kernel"], weights["recurrent_kernel"], weights["bias"]
    if kind == "simple_rnn":
        h = act(x @ k + b + states[0] @ rk)
        return h, [h]
    if kind == "lstm":
        h, c = states
        z = x @ k + h @ rk + b
        z_i, z_f, z_c, z_o = np.split(z, 4, axis=-1)
        i = rec_act(z_i)
        f = rec_act(z_f)
        c = f * c + i * act(z_c)
        o = rec_act(z_o)
        h = o * act(c)
        return h, [h, c]
    h = states[0]
    if layer["gru_reset"] == "after":
        matrix_x = x @ k + b[0]
        matrix_inner = h @ rk + b[1]
        x_z, x_r, x_h = np.split(matrix_x, 3, axis=-1)
        rec_z, rec_r, rec_h = np.split(matrix_inner, 3, axis=-1)
        z = rec_act(x_z + rec_z)
        r = rec_act(x_r + rec_r)
        hh = act(x_h + r * rec_h)
    else:
        x_z, x_r, x_h = np.split(x @ k + b, 3, axis=-1)
        rk_z, rk_r, rk_h = np.split(rk, 3, axis=-1)
        z = rec_act(x_z + h @ rk_z)
        r = rec_act(x_r + h @ rk_r)
        hh = act(x_h + (r * h) @ rk_h)
    h = z * h + (1 - z) * hh
    return h, [h]


def keras_rnn_call(layer, weights, inputs, initial_states, go_backwards,
                   return_sequences):
    """keras.layers.RNN.call, literally: reverse the time axis when
    go_backwards, step through it, return every output (in processing order)
    or the last one, and the final states."""
    if go_backwards:
        inputs = inputs[:, ::-1, :]
    states = initial_states
    outputs = []
    for t in range(inputs.shape[1]):
        output, states = keras_cell_step(layer, weights, inputs[:, t, :], states)
        outputs.append(output)
    result = np.stack(outputs, axis=1) if return_sequences else outputs[-1]
    return result, states


def keras_model_call(spec, inputs, dtype, initial_state=None,
                     go_backwards=False, return_sequences=True):
    """A Sequential model of the spec's layers on inputs [B, T, I]: the first
    recurrent layer has go_backwards, the last recurrent one the model's
    return_sequences (inner ones return sequences so the next can run),
    Dense layers apply per step. Returns (outputs [B, T or 1, O], final
    states [B, state_size])."""
    layers = spec["layers"]
    recurrent_indices = [i for i, l in enumerate(layers)
                         if l["type"] not in ("dense", "conv1d")]
    x = np.asarray(inputs, dtype=dtype)
    batch = x.shape[0]
    offset = 0
    final_states = []
    for index, layer in enumerate(layers):
        weights = keras_weights(layer, dtype)
        if layer["type"] == "dense":
            x = ACTIVATIONS[layer.get("activation") or "linear"](
                x @ weights["kernel"] + weights["bias"])
            continue
        if layer["type"] == "conv1d":
            # Only whole-sequence calls from a zero history use Conv1D here.
            assert initial_state is None and not go_backwards
            x = keras_conv1d_causal(layer, weights, x)
            continue
        units = layer["units"]
        width = state_size(layer)
        if initial_state is None:
            flat = np.zeros((batch, width), dtype=dtype)
        else:
            flat = np.asarray(initial_state, dtype=dtype)[:, offset:offset + width]
        offset += width
        states = [flat[:, s * units:(s + 1) * units]
                  for s in range(width // units)]
        x, states = keras_rnn_call(
            layer, weights, x, states,
            go_backwards=go_backwards and index == recurrent_indices[0],
            return_sequences=return_sequences or index != recurrent_indices[-1])
        final_states.append(np.concatenate(states, axis=1))
    if x.ndim == 2:
        x = x[:, np.newaxis, :]
    out = x.copy()
    if spec["skip"]:
        # The engine adds input column 0 of the same frame to output 0.
        out[:, :, 0] += np.asarray(inputs, dtype=dtype)[:, :, 0]
    return out, np.concatenate(final_states, axis=1)


def orthogonal(rng, size):
    q, r = np.linalg.qr(rng.standard_normal((size, size)))
    return q * np.sign(np.diag(r))


def make_layer(rng, kind, units, width, activation=None,
               recurrent_activation=None, gru_reset="after", kernel_scale=1.0,
               recurrent_scale=0.8, bias_scale=0.3, kernel_size=1, dilation=1):
    """A spec layer with random canonical weights: kernel rows of norm about
    kernel_scale per unit of input rms, orthogonal recurrent blocks."""
    gates = GATES[kind]
    layer = {"type": kind, "units": units, "use_bias": True}
    if kind == "conv1d":
        layer["kernel_size"] = kernel_size
        layer["dilation"] = dilation
        width *= kernel_size
    if activation:
        layer["activation"] = activation
    if recurrent_activation:
        layer["recurrent_activation"] = recurrent_activation
    if kind == "gru":
        layer["gru_reset"] = gru_reset
    kernel = rng.standard_normal((gates * units, width)) * kernel_scale / math.sqrt(width)
    layer["kernel"] = json_floats(kernel.ravel())
    layer["bias"] = json_floats(rng.standard_normal(gates * units) * bias_scale)
    if kind not in ("dense", "conv1d"):
        recurrent = np.concatenate(
            [orthogonal(rng, units) * recurrent_scale for _ in range(gates)])
        layer["recurrent_kernel"] = json_floats(recurrent.ravel())
        recurrent_bias = rng.standard_normal(gates * units) * bias_scale
        if kind == "gru" and gru_reset == "before":
            recurrent_bias[:] = 0.0
        layer["recurrent_bias"] = json_floats(recurrent_bias)
    return layer


def make_spec(layers, input_width, skip=False):
    return {"input_width": input_width, "skip": skip, "input_gain_db": 0,
            "output_gain_db": 0, "layers": layers}


def keras_input(signal, steps, width, start, gain):
    """A stretch of the shared signal; gain > 1 drives gates hard."""
    x = signal[start:start + steps, :width].astype(np.float64).copy()
    x[:, 0] *= gain
    return x.astype(np.float32)


def evaluate_spec(spec, x, name, report):
    """float64 reference of one stream, checked against a float32 run."""
    out64, _ = keras_model_call(spec, x[np.newaxis], np.float64)
    out32, _ = keras_model_call(spec, x[np.newaxis], np.float32)
    conditioning = float(np.max(np.abs(out64 - out32)))
    peak = float(np.max(np.abs(out64)))
    spread = float(np.std(out64[0, :, 0] - (x[:, 0] if spec["skip"] else 0.0)))
    report.append("{:<30} numpy f32 vs f64 {:.2e}  out peak {:.3f}  "
                  "net std {:.3f}".format(name, conditioning, peak, spread))
    require(conditioning < CONDITIONING_LIMIT, name, "conditioning", conditioning)
    require(spread > 0.02, name, "output spread", spread)
    return out64[0]


def preactivation(spec, x, layer_index):
    """Pre-activations of Dense layer `layer_index` (for the regime check)."""
    head = dict(spec, layers=spec["layers"][:layer_index], skip=False)
    hidden, _ = keras_model_call(head, x[np.newaxis], np.float64)
    weights = keras_weights(spec["layers"][layer_index], np.float64)
    return hidden[0] @ weights["kernel"] + weights["bias"]


def save_spec(name, spec, x, expected):
    data = dict(spec)
    data["steps"] = int(x.shape[0])
    data["input"] = json_floats(x.ravel())
    data["expected"] = json_floats(expected.ravel())
    write_json(os.path.join(GOLDEN_DIR, name + ".spec.json"), data)


def max_difference(a, b):
    return float(np.max(np.abs(a - b)))


def group_rng(label):
    """A generator seeded by a group of cases' label."""
    return np.random.default_rng(zlib.crc32(label.encode("ascii")))


def make_keras_cases(signal, report):
    names = []
    steps = 600

    def emit(name, spec, x):
        expected = evaluate_spec(spec, x, name, report)
        save_spec(name, spec, x, expected)
        names.append(name)
        return expected

    # Each group draws from its own generator, so adding a group changes no
    # other file.
    rng = group_rng("lstm hard_sigmoid")
    # LSTM, Keras 2 vs Keras 3 hard_sigmoid: same weights and input, driven
    # hard enough that gates leave the +-2.5 linear range of the Keras 2 one.
    x = keras_input(signal, steps, 2, 0, 3.0)
    lstm = make_layer(rng, "lstm", 8, 2, recurrent_activation="hard_sigmoid",
                      kernel_scale=2.5, recurrent_scale=0.9, bias_scale=0.8)
    head = make_layer(rng, "dense", 1, 8, kernel_scale=1.5)
    lstm_k2 = emit("keras_lstm_hard_sigmoid", make_spec([lstm, head], 2), x)
    lstm_k3_layer = dict(lstm, recurrent_activation="hard_sigmoid_k3")
    lstm_k3 = emit("keras_lstm_hard_sigmoid_k3",
                   make_spec([lstm_k3_layer, head], 2), x)
    k2_vs_k3 = max_difference(lstm_k2, lstm_k3)
    report.append("  Keras 2 vs Keras 3 hard_sigmoid LSTM differ by {:.3f}".format(k2_vs_k3))
    require(k2_vs_k3 > 1e-2, "Keras 2 vs 3 hard_sigmoid differ", k2_vs_k3)

    rng = group_rng("gru reset")
    # GRU reset_after=False (Keras 2 default) with sigmoid and hard_sigmoid,
    # and the same weights as reset_after=True to show the two differ.
    x = keras_input(signal, steps, 3, 3000, 2.0)
    gru_before = make_layer(rng, "gru", 8, 3, gru_reset="before",
                            kernel_scale=2.0, recurrent_scale=1.2, bias_scale=0.5)
    head = make_layer(rng, "dense", 1, 8, kernel_scale=1.5)
    before_sigmoid = emit("keras_gru_reset_before_sigmoid",
                          make_spec([gru_before, head], 3), x)
    gru_after = dict(gru_before, gru_reset="after")
    after_sigmoid, _ = keras_model_call(make_spec([gru_after, head], 3),
                                        x[np.newaxis], np.float64)
    difference = max_difference(before_sigmoid, after_sigmoid[0])
    report.append("  GRU reset_before vs reset_after differ by {:.3f}".format(difference))
    require(difference > 1e-2, "GRU reset before vs after differ", difference)

    gru_before_hard = dict(gru_before, recurrent_activation="hard_sigmoid")
    before_hard = emit("keras_gru_reset_before_hard_sigmoid",
                       make_spec([gru_before_hard, head], 3), x)
    # reset_after with hard_sigmoid, here with a real recurrent bias.
    gru_after_hard = make_layer(rng, "gru", 8, 3, gru_reset="after",
                                recurrent_activation="hard_sigmoid",
                                kernel_scale=2.0, recurrent_scale=1.2,
                                bias_scale=0.5)
    gru_after_hard["kernel"] = gru_before["kernel"]
    gru_after_hard["recurrent_kernel"] = gru_before["recurrent_kernel"]
    gru_after_hard["bias"] = gru_before["bias"]
    after_hard = emit("keras_gru_reset_after_hard_sigmoid",
                      make_spec([gru_after_hard, head], 3), x)
    require(max_difference(before_hard, after_hard) > 1e-2,
            "hard_sigmoid GRU reset before vs after differ")

    rng = group_rng("simple_rnn")
    # SimpleRNN tanh and relu.
    x = keras_input(signal, steps, 2, 6000, 1.0)
    rnn_tanh = make_layer(rng, "simple_rnn", 8, 2, activation="tanh",
                          kernel_scale=1.5, recurrent_scale=0.9)
    head = make_layer(rng, "dense", 1, 8, kernel_scale=1.0)
    emit("keras_simple_rnn_tanh", make_spec([rnn_tanh, head], 2), x)
    rnn_relu = make_layer(rng, "simple_rnn", 8, 2, activation="relu",
                          kernel_scale=1.5, recurrent_scale=0.6)
    emit("keras_simple_rnn_relu", make_spec([rnn_relu, head], 2), x)

    rng = group_rng("lstm relu")
    # Plain Keras LSTM with a non-tanh activation (candidate and output).
    x = keras_input(signal, steps, 1, 9000, 1.0)
    # An unbounded cell: modest weights keep it stable (and well-conditioned).
    lstm_relu = make_layer(rng, "lstm", 6, 1, activation="relu",
                           kernel_scale=1.0, recurrent_scale=0.3)
    head = make_layer(rng, "dense", 1, 6, kernel_scale=0.4)
    emit("keras_lstm_relu", make_spec([lstm_relu, head], 1), x)

    rng = group_rng("no bias")
    # use_bias=false and no bias arrays: the library's defaults (zeros plus
    # unit_forget_bias for the LSTM) must not apply, as Keras has no biases.
    x = keras_input(signal, steps, 2, 10000, 1.5)
    no_bias = [make_layer(rng, "lstm", 6, 2, kernel_scale=2.0),
               make_layer(rng, "dense", 1, 6, kernel_scale=1.5)]
    for layer in no_bias:
        layer["use_bias"] = False
        for key in ("bias", "recurrent_bias"):
            layer.pop(key, None)
    emit("keras_lstm_no_bias", make_spec(no_bias, 2), x)

    rng = group_rng("stack")
    # A mixed stack with skip: every layer kind and both hard sigmoids.
    x = keras_input(signal, steps, 3, 12000, 1.5)
    stack = [
        make_layer(rng, "gru", 6, 3, gru_reset="before",
                   recurrent_activation="hard_sigmoid_k3", kernel_scale=2.0),
        make_layer(rng, "simple_rnn", 5, 6, activation="tanh", kernel_scale=1.5),
        make_layer(rng, "lstm", 4, 5, recurrent_activation="hard_sigmoid",
                   kernel_scale=2.0),
        make_layer(rng, "dense", 3, 4, activation="tanh", kernel_scale=2.0),
        make_layer(rng, "dense", 1, 3, kernel_scale=3.0),
    ]
    emit("keras_stack_skip", make_spec(stack, 3, skip=True), x)

    rng = group_rng("dense")
    # Dense heads, one case per activation: GRU(6) -> Dense(8, act) ->
    # Dense(2). The Dense kernel is scaled to the GRU output so its
    # pre-activations reach both sides of every kink and saturation.
    x = keras_input(signal, 400, 2, 17000, 1.5)
    base = make_layer(rng, "gru", 6, 2, kernel_scale=2.0)
    for activation in ACTIVATIONS:
        dense = make_layer(rng, "dense", 8, 6, activation=activation)
        out = make_layer(rng, "dense", 2, 8, kernel_scale=0.7)
        spec = make_spec([base, dense, out], 2)
        # Per unit: pre-activations centred (bias about -mean) with std 2.5;
        # the cap keeps the kernel from magnifying float32 rounding.
        pre = preactivation(spec, x, 1)
        bias = np.array(dense["bias"])
        kernel = np.array(dense["kernel"]).reshape(8, 6)
        unit_scale = np.minimum(2.5 / np.std(pre, axis=0), 8.0)
        kernel *= unit_scale[:, np.newaxis]
        bias = -(np.mean(pre, axis=0) - bias) * unit_scale + 0.3 * rng.standard_normal(8)
        dense["kernel"] = json_floats(kernel.ravel())
        dense["bias"] = json_floats(bias)
        pre = preactivation(spec, x, 1)
        # Both sides of every kink; beyond +-3 where hard sigmoids saturate.
        reach = 3.2 if activation.startswith("hard_sigmoid") else 2.0
        require(pre.min() < -reach and pre.max() > reach, activation,
                "pre-activation range", pre.min(), pre.max())
        require(0.2 < np.mean(pre > 0) < 0.8, activation, "pre-activation sign balance")
        emit("keras_dense_" + activation, spec, x)

    rng = group_rng("conv1d")
    # Causal Conv1D front-end and a Conv1D after the recurrence: dilation,
    # several taps, in Keras's own (K, I, U) kernel layout.
    x = keras_input(signal, steps, 2, 18000, 1.5)
    conv_stack = [
        make_layer(rng, "conv1d", 6, 2, activation="tanh", kernel_size=3,
                   dilation=2, kernel_scale=1.5),
        make_layer(rng, "lstm", 6, 6, kernel_scale=2.0),
        make_layer(rng, "conv1d", 4, 6, kernel_size=2, dilation=1,
                   kernel_scale=1.5),
        make_layer(rng, "dense", 1, 4, kernel_scale=1.0),
    ]
    emit("keras_conv1d_causal", make_spec(conv_stack, 2, skip=True), x)
    return names


# ---------------------------------------------------------------------------
# Sequence cases (Keras call flags on a batch)
# ---------------------------------------------------------------------------

SEQUENCE_RUNS = [
    # name, return_sequences, return_state, go_backwards, initial state given
    ("sequences", True, False, False, False),
    ("last_with_state", False, True, False, False),
    ("backwards_sequences_state", True, True, True, False),
    ("backwards_last_initial", False, True, True, True),
    ("sequences_initial_state", True, True, False, True),
    ("last_initial_no_state", False, False, False, True),
]


def make_sequence_cases(report):
    rng = group_rng("sequence")
    batch, steps = 3, 50
    stacks = {
        "seq_lstm": (2, [
            make_layer(rng, "lstm", 5, 2, kernel_scale=2.0),
            make_layer(rng, "lstm", 3, 5, kernel_scale=1.5),
            make_layer(rng, "dense", 2, 3, activation="tanh", kernel_scale=1.5),
        ]),
        "seq_gru": (3, [
            make_layer(rng, "gru", 4, 3, kernel_scale=2.0),
            make_layer(rng, "gru", 3, 4, gru_reset="before", kernel_scale=1.5),
            make_layer(rng, "dense", 1, 3, kernel_scale=1.5),
        ]),
    }
    names = []
    for name, (width, layers) in stacks.items():
        spec = make_spec(layers, width)
        total_state = sum(state_size(l) for l in layers)
        x = rng.uniform(-1.0, 1.0, (batch, steps, width)).astype(np.float32)
        x[:, :, 1:] = (x[:, :, 1:] + 1) / 2  # knob columns in [0, 1]
        initial = (rng.standard_normal((batch, total_state)) * 0.5).astype(np.float32)
        runs = []
        outputs = {}
        for run_name, sequences, with_state, backwards, given in SEQUENCE_RUNS:
            init = initial if given else None
            out64, state64 = keras_model_call(spec, x, np.float64, init,
                                              backwards, sequences)
            out32, _ = keras_model_call(spec, x, np.float32, init, backwards,
                                        sequences)
            require(max_difference(out64, out32) < CONDITIONING_LIMIT, name,
                    run_name, "conditioning")
            outputs[run_name] = out64
            runs.append({
                "name": run_name, "return_sequences": sequences,
                "return_state": with_state, "go_backwards": backwards,
                "initial_state": json_floats(initial.ravel()) if given else None,
                "expected": json_floats(out64.ravel()),
                "expected_state": json_floats(state64.ravel()) if with_state else None,
            })
        # The flags must change the answer, or the test could not tell them apart.
        forward_last = outputs["sequences"][:, -1, :]
        backward_all = outputs["backwards_sequences_state"]
        require(max_difference(forward_last, backward_all[:, -1, :]) > 1e-2,
                name, "go_backwards changes the last output")
        require(max_difference(outputs["sequences"][:, 0, :],
                               outputs["sequences_initial_state"][:, 0, :]) > 1e-2,
                name, "initial_state changes the first output")
        report.append("{:<30} B={} T={} state_size={} runs={}".format(
            name, batch, steps, total_state, len(runs)))
        data = dict(spec)
        data.update({"batch": batch, "steps": steps,
                     "input": json_floats(x.ravel()), "runs": runs})
        write_json(os.path.join(GOLDEN_DIR, name + ".spec.json"), data)
        names.append(name)
    return names


# ---------------------------------------------------------------------------
# Optional cross-check against real Keras 3 (run under tools/.venv)
# ---------------------------------------------------------------------------


def keras_check():
    """Rebuild every spec case with keras.layers and compare. Keras 3's
    'hard_sigmoid' is our hard_sigmoid_k3; the Keras 2 one is a lambda."""
    os.environ.setdefault("KERAS_BACKEND", "numpy")
    import keras

    # Our hard_sigmoid_k3 is Keras 3's own hard_sigmoid: relu6(x + 3) / 6.
    probe = np.asarray(keras.activations.hard_sigmoid(np.array([-4.0, 1.0, 2.7])))
    if max_difference(probe, np.array([0.0, 4.0 / 6.0, 0.95])) > 1e-6:
        print("keras hard_sigmoid is not x/6 + 0.5:", probe)
        return 1

    def activation(name, default):
        name = name or default
        if name == "hard_sigmoid":
            return lambda v: keras.ops.clip(0.2 * v + 0.5, 0.0, 1.0)
        return {"hard_sigmoid_k3": "hard_sigmoid"}.get(name, name)

    def build(spec, go_backwards=False, return_sequences=True, stateful_in=False):
        batch_inputs = keras.Input(shape=(None, spec["input_width"]))
        layers = spec["layers"]
        recurrent = [i for i, l in enumerate(layers) if l["type"] != "dense"]
        x = batch_inputs
        state_inputs, state_outputs = [], []
        for index, layer in enumerate(layers):
            weights = keras_weights(layer, np.float32)
            units = layer["units"]
            with_bias = layer.get("use_bias", True)
            if layer["type"] == "dense":
                keras_layer = keras.layers.Dense(
                    units, activation=activation(layer.get("activation"), "linear"),
                    use_bias=with_bias)
                x = keras_layer(x)
                keras_layer.set_weights([weights["kernel"], weights["bias"]][
                    :2 if with_bias else 1])
                continue
            options = dict(
                use_bias=with_bias,
                return_sequences=return_sequences or index != recurrent[-1],
                return_state=True,
                go_backwards=go_backwards and index == recurrent[0],
                activation=activation(layer.get("activation"), "tanh"))
            if layer["type"] == "lstm":
                keras_layer = keras.layers.LSTM(units, recurrent_activation=activation(
                    layer.get("recurrent_activation"), "sigmoid"), **options)
                count = 2
            elif layer["type"] == "gru":
                keras_layer = keras.layers.GRU(
                    units, reset_after=layer["gru_reset"] == "after",
                    recurrent_activation=activation(
                        layer.get("recurrent_activation"), "sigmoid"), **options)
                count = 1
            else:
                keras_layer = keras.layers.SimpleRNN(units, **options)
                count = 1
            init = [keras.Input(shape=(units,)) for _ in range(count)]
            state_inputs += init
            results = keras_layer(x, initial_state=init if stateful_in else None)
            x = results[0]
            state_outputs += list(results[1:])
            keras_layer.set_weights([weights["kernel"], weights["recurrent_kernel"],
                                     weights["bias"]][:3 if with_bias else 2])
        inputs = [batch_inputs] + (state_inputs if stateful_in else [])
        return keras.Model(inputs, [x] + state_outputs), state_inputs

    worst = 0.0
    names = sorted(f for f in os.listdir(GOLDEN_DIR) if f.endswith(".spec.json"))
    for file_name in names:
        with open(os.path.join(GOLDEN_DIR, file_name), encoding="utf-8") as f:
            spec = json.load(f)
        runs = spec.get("runs")
        if runs is None:
            x = np.array(spec["input"], np.float32).reshape(1, spec["steps"], -1)
            runs = [{"name": "stream", "return_sequences": True,
                     "return_state": False, "go_backwards": False,
                     "initial_state": None, "expected": spec["expected"],
                     "expected_state": None}]
        else:
            x = np.array(spec["input"], np.float32).reshape(
                spec["batch"], spec["steps"], -1)
        for run in runs:
            given = run["initial_state"] is not None
            model, state_inputs = build(spec, run["go_backwards"],
                                        run["return_sequences"], given)
            feeds = [x]
            if given:
                flat = np.array(run["initial_state"], np.float32).reshape(x.shape[0], -1)
                offset = 0
                for state_input in state_inputs:
                    width = state_input.shape[-1]
                    feeds.append(flat[:, offset:offset + width])
                    offset += width
            results = model.predict(feeds if given else x, verbose=0)
            out = np.asarray(results[0])
            if out.ndim == 2:
                out = out[:, np.newaxis, :]
            if spec["skip"]:
                out[:, :, 0] += x[:, :, 0]
            error = max_difference(out.ravel(), np.array(run["expected"]))
            if run["return_state"]:
                state = np.concatenate([np.asarray(s) for s in results[1:]], axis=1)
                error = max(error, max_difference(
                    state.ravel(), np.array(run["expected_state"])))
            worst = max(worst, error)
            print("keras {} check {:<45} max abs diff {:.2e}".format(
                keras.__version__, file_name + ":" + run["name"], error))
    print("keras check worst {:.2e}".format(worst))
    return 0 if worst < 1e-4 else 1


# ---------------------------------------------------------------------------


def write_readme(torch_manifest, keras_names, sequence_names, report):
    lines = [
        "# Golden reference data",
        "",
        "Generated by `tools/make_golden.py`; do not edit by hand. Regenerate from the",
        "repository root with Debian's python3-torch (torch 1.13, numpy):",
        "",
        "    /usr/bin/python3 tools/make_golden.py",
        "",
        "The generator is seeded, so a rerun gives the same files. With Keras 3 in",
        "`tools/.venv` (optional) it also rebuilds every spec case with real",
        "`keras.layers` and compares; the data never depends on it.",
        "Read by the `golden` test suite (`tests/golden/`).",
        "",
        "## Files",
        "",
        "- `input.f32`: {} frames x {} columns, raw little-endian float32, row-major".format(
            STEPS, INPUT_COLUMNS),
        "  `[t][column]`. Column 0 is audio-like (three sines under a slow envelope,",
        "  plus noise, peak about 0.8); columns 1-2 are knob-like values in [0, 1]",
        "  (a slow sweep; steps every 2500 frames, smoothed). A case with input width",
        "  I uses the first I columns.",
        "- `<torch case>.json`: a GuitarML model file (`model_data` + PyTorch",
        "  `state_dict` of `rec` = nn.LSTM/nn.GRU(batch_first=True) and `lin` =",
        "  nn.Linear(H, 1)); y = lin(rec(x)) (+ x[:, :, 0] when `skip`). Torch's",
        "  default init scaled: layer-0 input weights to uniform +-{}, other".format(
            INPUT_GAIN),
        "  weights x{}, biases x{}.".format(WEIGHT_GAIN, BIAS_GAIN),
        "- `<torch case>.out.f32`: {} float32, torch's output of one free-running".format(STEPS),
        "  {}-step call from zero state. Tests compare at max abs error {:g}.".format(
            STEPS, TOLERANCE),
        "- `keras_*.spec.json`: a model spec (canonical cuDNN/PyTorch layout: rows",
        "  = output units, gate blocks LSTM i,f,g,o and GRU r,z,n, row-major; a",
        "  reset_before GRU has a zero `recurrent_bias`), `steps`, `input`",
        "  [T x I] and `expected` [T x O]: the Keras formulas in numpy float64 on",
        "  Keras-layout weights (K_g = W_g^T, GRU blocks z,r,h). One stream from",
        "  zero state; `skip` adds input column 0 to output 0.",
        "- `seq_*.spec.json`: a model spec, `batch`, `steps`, `input` [B x T x I]",
        "  and `runs`: one Keras call each with `return_sequences`, `return_state`,",
        "  `go_backwards`, `initial_state` ([B x state_size] or null), `expected`",
        "  [B x (T or 1) x O] and `expected_state` ([B x state_size], each layer's",
        "  [h] or [h, c] concatenated, or null).",
        "- `manifest.json`: the case lists the tests iterate over.",
        "",
        "## Cases",
        "",
        "PyTorch (unit, hidden H, layers L, input width I, skip):",
        "",
    ]
    for case in torch_manifest:
        lines.append("- `{name}`: {unit_type} H={hidden_size} L={num_layers} "
                     "I={input_width} skip={skip}".format(**case))
    lines += ["", "Keras semantics: " + ", ".join("`%s`" % n for n in keras_names) + ".",
              "", "Sequence API: " + ", ".join("`%s`" % n for n in sequence_names) +
              " (runs: " + ", ".join(r[0] for r in SEQUENCE_RUNS) + ").",
              "", "## Generator report", "", "```"] + report + ["```", ""]
    with open(os.path.join(GOLDEN_DIR, "README.md"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines))


def run_keras_check():
    if not os.path.exists(VENV_PYTHON):
        print("note: no tools/.venv; skipped the optional real-Keras check")
        return 0
    env = dict(os.environ, KERAS_BACKEND="numpy")
    result = subprocess.run([VENV_PYTHON, os.path.abspath(__file__), "--keras-check"],
                            env=env, check=False)
    if result.returncode != 0:
        print("real-Keras check FAILED (or Keras unusable in tools/.venv)")
    return result.returncode


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--keras-check", action="store_true",
                        help="only compare the spec cases with real Keras 3")
    parser.add_argument("--no-keras-check", action="store_true",
                        help="skip the optional real-Keras comparison")
    args = parser.parse_args()
    if args.keras_check:
        return keras_check()

    os.makedirs(GOLDEN_DIR, exist_ok=True)
    # Start clean so a renamed or dropped case leaves no stale file behind.
    for file_name in os.listdir(GOLDEN_DIR):
        if file_name.endswith((".json", ".f32", ".md")):
            os.remove(os.path.join(GOLDEN_DIR, file_name))
    rng = np.random.default_rng(12345)
    signal = make_input_signal(rng)
    signal.astype("<f4").tofile(os.path.join(GOLDEN_DIR, "input.f32"))

    report = []
    torch_manifest = make_torch_cases(signal, report)
    keras_names = make_keras_cases(signal, report)
    sequence_names = make_sequence_cases(report)
    manifest = {"steps": STEPS, "input_file": "input.f32",
                "input_columns": INPUT_COLUMNS, "tolerance": TOLERANCE,
                "torch_cases": torch_manifest, "keras_cases": keras_names,
                "sequence_cases": sequence_names}
    with open(os.path.join(GOLDEN_DIR, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    write_readme(torch_manifest, keras_names, sequence_names, report)
    print("\n".join(report))

    total = sum(os.path.getsize(os.path.join(GOLDEN_DIR, n))
                for n in os.listdir(GOLDEN_DIR))
    print("wrote {} ({:.2f} MB)".format(GOLDEN_DIR, total / 1e6))
    if FAILURES:
        print("UNUSABLE REFERENCES:\n  " + "\n  ".join(FAILURES))
        return 1
    if args.no_keras_check:
        return 0
    return run_keras_check()


if __name__ == "__main__":
    sys.exit(main())
