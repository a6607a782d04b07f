#!/usr/bin/env python3
"""References for windowed models (SwModelSpec.window), from real Keras.

A windowed model's output frame t is one stateless Keras call on input
frames t-W+1 .. t, zeros before the first frame. This is GuitarLSTM's
inference (github.com/GuitarML/GuitarLSTM predict.py and train.py):

    indices = np.arange(input_size) + np.arange(len(X)-input_size+1)[:,np.newaxis]
    X_ordered = tf.gather(X, indices)
    prediction = model.predict(X_ordered, batch_size=...)

and training pairs window i (X[i .. i+W-1]) with y[i+W-1] (train.py:
y_ordered = y_all[input_size-1:]): the output belongs to the window's last,
newest sample. GuitarLSTM forms no window before sample W-1, so its
prediction i is our output frame i+W-1; we zero-pad the W-1 frames before
the signal so every input frame has an output. The script checks that the
unpadded GuitarLSTM windows give exactly our frames W-1.. too.

Writes into tests/data/formats/ (only inputs and outputs, never a model):

  conv_lstm36_windowed.in.csv / .ref.csv
      ../shared/models/keras-h5/conv_lstm36_windowed.h5 (GuitarLSTM's
      ts9_model.h5: Conv1D(16,k12,s12,same) x2 -> LSTM(36) -> Dense(1),
      W = 180) loaded with tf-keras's load_model, on 2000 frames.
  windowed_small.spec.json
      a small seeded spec model (window 24, input width 2: Conv1D same/s2,
      Conv1D valid/d2, Conv1D causal/s2, GRU, LSTM last-only, Dense tanh,
      Dense) in the canonical layout of statewave.h, its input and the
      output of the same model built with tf.keras layers, in "expected".

Usage: tools/.venv/bin/python tools/make_windowed_refs.py [--models DIR]
Reruns give identical files (seeded weights and input; Keras on one CPU
thread).
"""

import argparse
import json
import os
import sys

os.environ["TF_USE_LEGACY_KERAS"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["CUDA_VISIBLE_DEVICES"] = ""

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402

tf.config.threading.set_inter_op_parallelism_threads(1)
tf.config.threading.set_intra_op_parallelism_threads(1)

L = keras.layers
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "data", "formats")


def audio(frames, seed):
    """Partials under a swell plus seeded noise, peak about 0.9."""
    rng = np.random.default_rng(seed)
    t = np.arange(frames, dtype=np.float64) / 44100.0
    x = (0.5 * np.sin(2 * np.pi * 220.0 * t)
         + 0.25 * np.sin(2 * np.pi * 1375.0 * t + 0.3)
         + 0.1 * np.sin(2 * np.pi * 4100.0 * t + 1.1))
    x *= 0.6 + 0.4 * np.sin(2 * np.pi * 7.0 * t)
    x += 0.05 * rng.standard_normal(frames)
    return np.clip(x, -0.9, 0.9).astype(np.float32)


def windows(x, window):
    """[frames, W, I]: frame t's window, zeros before the signal."""
    padded = np.concatenate([np.zeros((window - 1, x.shape[1]), np.float32),
                             x])
    indices = np.arange(window) + np.arange(len(x))[:, np.newaxis]
    return padded[indices]


def guitarlstm_windows(x, window):
    """predict.py's windows: no padding, len(x) - W + 1 of them."""
    indices = np.arange(window) + np.arange(len(x) - window + 1)[:, np.newaxis]
    return x[indices]


def write_csv(path, rows, fmt):
    with open(path, "w") as f:
        for row in np.atleast_2d(rows):
            f.write(",".join(fmt(float(v)) for v in row) + "\n")


def shared_reference(models_dir):
    path = os.path.join(models_dir, "keras-h5", "conv_lstm36_windowed.h5")
    model = keras.models.load_model(path, compile=False)
    window = model.input_shape[1]
    assert window == 180, model.input_shape
    x = audio(2000, seed=180)[:, np.newaxis]
    y = model.predict(windows(x, window), batch_size=4096, verbose=0)
    theirs = model.predict(guitarlstm_windows(x, window), batch_size=4096,
                           verbose=0)
    gap = float(np.max(np.abs(theirs - y[window - 1:])))
    print(f"GuitarLSTM windows vs frames {window - 1}..: max diff {gap:.3g}")
    assert gap <= 1e-6, gap
    write_csv(os.path.join(OUT, "conv_lstm36_windowed.in.csv"), x, repr)
    write_csv(os.path.join(OUT, "conv_lstm36_windowed.ref.csv"), y,
              lambda v: "%.9g" % v)
    print(f"conv_lstm36_windowed: {len(x)} frames, window {window}, "
          f"output peak {float(np.max(np.abs(y))):.3f}")


def canonical_conv(kernel):
    """Keras kernel[k][c][u] -> row u, column k*I + c."""
    return np.transpose(kernel, (2, 0, 1)).reshape(-1)


def canonical_recurrent(kernel, recurrent, bias, keras_blocks, units):
    """Keras (I, G*U) column blocks in keras_blocks order -> canonical rows."""
    w = np.concatenate([kernel[:, b * units:(b + 1) * units].T
                        for b in keras_blocks])
    r = np.concatenate([recurrent[:, b * units:(b + 1) * units].T
                        for b in keras_blocks])
    bias = np.atleast_2d(bias)
    bw = np.concatenate([bias[0, b * units:(b + 1) * units]
                         for b in keras_blocks])
    br = (np.concatenate([bias[1, b * units:(b + 1) * units]
                          for b in keras_blocks])
          if bias.shape[0] == 2 else np.zeros_like(bw))
    return w, r, bw, br


def floats(a):
    return [float(v) for v in np.asarray(a, np.float32).reshape(-1)]


def small_reference():
    window, width, frames = 24, 2, 300
    rng = np.random.default_rng(2024)
    model = keras.Sequential([
        keras.Input(shape=(window, width)),
        L.Conv1D(5, 4, strides=2, padding="same"),
        L.Conv1D(6, 3, dilation_rate=2, padding="valid", activation="tanh"),
        L.Conv1D(4, 2, strides=2, padding="causal"),
        L.GRU(6, return_sequences=True),
        L.LSTM(5),
        L.Dense(3, activation="tanh"),
        L.Dense(1),
    ])
    model.set_weights([rng.uniform(-0.6, 0.6, w.shape).astype(np.float32)
                       for w in model.get_weights()])

    layers = []
    for layer in model.layers:
        weights = layer.get_weights()
        config = layer.get_config()
        act = config.get("activation", "linear")
        if isinstance(layer, L.Conv1D):
            layers.append({
                "type": "conv1d", "units": config["filters"],
                "kernel_size": config["kernel_size"][0],
                "dilation": config["dilation_rate"][0],
                "stride": config["strides"][0],
                "padding": config["padding"], "activation": act,
                "kernel": floats(canonical_conv(weights[0])),
                "bias": floats(weights[1])})
        elif isinstance(layer, (L.GRU, L.LSTM)):
            gru = isinstance(layer, L.GRU)
            units = config["units"]
            blocks = [1, 0, 2] if gru else [0, 1, 2, 3]  # r z n <- z r h
            w, r, bw, br = canonical_recurrent(*weights, blocks, units)
            layers.append({
                "type": "gru" if gru else "lstm", "units": units,
                "activation": act,
                "recurrent_activation": config["recurrent_activation"],
                "gru_reset": "after" if config.get("reset_after", True)
                             else "before",
                "kernel": floats(w), "recurrent_kernel": floats(r),
                "bias": floats(bw), "recurrent_bias": floats(br)})
        else:
            layers.append({
                "type": "dense", "units": config["units"], "activation": act,
                "kernel": floats(weights[0].T), "bias": floats(weights[1])})

    x = np.stack([audio(frames, seed=24),
                  np.linspace(0.0, 1.0, frames, dtype=np.float32)], axis=1)
    y = model.predict(windows(x, window), batch_size=4096, verbose=0)
    spec = {
        "comment": "tools/make_windowed_refs.py: a windowed model and "
                   "tf.keras's output, one stateless call per frame on the "
                   "last 24 frames (zeros before the first)",
        "input_width": width, "window": window, "layers": layers,
        "steps": frames, "input": floats(x), "expected": floats(y),
    }
    with open(os.path.join(OUT, "windowed_small.spec.json"), "w") as f:
        json.dump(spec, f, separators=(",", ":"))
        f.write("\n")
    print(f"windowed_small: {frames} frames, window {window}, output peak "
          f"{float(np.max(np.abs(y))):.3f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default=os.path.join(
        os.path.dirname(ROOT), "shared", "models"))
    args = parser.parse_args()
    small_reference()
    if os.path.isdir(args.models):
        shared_reference(args.models)
    else:
        print(f"{args.models} missing: shared reference not rebuilt",
              file=sys.stderr)


if __name__ == "__main__":
    main()
