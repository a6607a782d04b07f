#!/usr/bin/env python3
"""Write the Keras 2 HDF5 test files of tests/data/keras/ with real Keras.

Every file is made by tf-keras (the Keras 2 API of TensorFlow 2.x, selected
with TF_USE_LEGACY_KERAS=1) from a model whose weights are drawn from a seeded
numpy generator, saved with model.save() (or save_weights()), and paired with
Keras's own CPU output on a deterministic input:

  <name>.h5        the model file
  <name>.in.csv    the input, one frame per line (input_width columns)
  <name>.ref.csv   Keras's output for it, one frame per line
  MANIFEST.tsv     one row per file: name, what the reader must do, widths

The CuDNN classes (tf.compat.v1.keras.layers.CuDNNLSTM/CuDNNGRU) build and
save on a CPU-only machine but cannot run there, so their reference is the
output of the equivalent plain LSTM / GRU(reset_after=True) into which Keras
itself converts the saved weights (load_weights of the .h5 file into the plain
model: tf-keras's hdf5_format._convert_rnn_weights). Each CuDNN file also has
a "misread" twin: the same stored numbers under the plain class name, without
the layout conversion - what a reader that ignores the CuDNN layout computes.

Some files are rewritten after saving (with h5py, then reloaded by Keras to
prove Keras still reads them identically): one with Keras 2.2-style
fixed-length byte-string attributes instead of tf-keras's variable-length
ones, one with the layer_names / weight_names attributes split into numbered
chunks, as Keras does past 64512 bytes.

Usage: tools/.venv/bin/python tools/make_keras_refs.py [--out DIR]
(venv: /usr/bin/python3 -m venv tools/.venv &&
       tools/.venv/bin/pip install tensorflow-cpu tf-keras h5py)
Reruns give byte-identical files.
"""

import argparse
import os
import sys

os.environ["TF_USE_LEGACY_KERAS"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["CUDA_VISIBLE_DEVICES"] = ""

import h5py  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402

L = keras.layers
FRAMES = 96
TOLERANCE = 1e-6  # Keras reload / conversion agreement required here


def test_input(width, frames=FRAMES):
    """A deterministic multi-tone signal, different in every column."""
    t = np.arange(frames, dtype=np.float64)
    cols = []
    for c in range(width):
        cols.append(0.7 * np.sin(2 * np.pi * (0.013 + 0.021 * c) * t + c)
                    + 0.25 * np.sin(2 * np.pi * 0.173 * t + 0.5 * c)
                    + 0.05 * np.cos(2 * np.pi * 0.31 * t))
    return np.stack(cols, axis=1).astype(np.float32)


def seed_weights(model, seed, scale=0.6):
    """Uniform weights from numpy (stable across TF versions), non-zero
    biases so every bias path is exercised."""
    rng = np.random.RandomState(seed)
    model.set_weights([rng.uniform(-scale, scale, w.shape).astype(np.float32)
                       for w in model.get_weights()])


def run(model, x, stateful):
    """Keras's output for the whole input (batch 1). Stateful streaming
    models are fed one frame per call, as a host would."""
    if stateful:
        model.reset_states()
        frames = []
        for t in range(x.shape[0]):
            y = model(x[None, t:t + 1, :], training=False).numpy()
            frames.append(y.reshape(-1, y.shape[-1]))  # (1, U) or (1, 1, U)
        model.reset_states()
        return np.concatenate(frames, axis=0)
    return model(x[None], training=False).numpy()[0]


def write_csv(path, array):
    with open(path, "w") as f:
        for row in array:
            f.write(",".join("%.9g" % v for v in row) + "\n")


class Writer:
    def __init__(self, out):
        self.out = out
        self.rows = []
        os.makedirs(out, exist_ok=True)

    def path(self, name):
        return os.path.join(self.out, name + ".h5")

    def record(self, name, expect, x, y, note):
        write_csv(os.path.join(self.out, name + ".in.csv"), x)
        write_csv(os.path.join(self.out, name + ".ref.csv"), y)
        self.rows.append((name + ".h5", expect, x.shape[1], y.shape[1],
                          x.shape[0], note))

    def refuse(self, name, expect, note):
        self.rows.append((name + ".h5", expect, 0, 0, 0, note))

    def finish(self):
        with open(os.path.join(self.out, "MANIFEST.tsv"), "w") as f:
            f.write("# file\texpect\tinput_width\toutput_width\tframes\tnote\n")
            for r in self.rows:
                f.write("%s\t%s\t%d\t%d\t%d\t%s\n" % r)


def save_and_check(writer, name, model, width, stateful, note, seed):
    """Seed, save, reload with Keras, and record the reference."""
    seed_weights(model, seed)
    x = test_input(width)
    y = run(model, x, stateful)
    model.save(writer.path(name))
    reloaded = keras.models.load_model(writer.path(name), compile=False)
    err = np.max(np.abs(run(reloaded, x, stateful) - y))
    assert err <= TOLERANCE, (name, err)
    writer.record(name, "match", x, y, note)
    return model, x, y


def streaming_input(width, batch_frames=1):
    return L.InputLayer(batch_input_shape=(1, batch_frames, width))


# --------------------------------------------------------------------------
# Plain layer classes


def plain_models(w):
    keras.backend.clear_session()
    save_and_check(w, "lstm_sigmoid", keras.Sequential([
        L.InputLayer(input_shape=(None, 2)),
        L.LSTM(8, return_sequences=True),
        L.Dense(1),
    ]), 2, False, "Sequential LSTM(8, sigmoid/tanh) -> Dense(1), 2 inputs",
        seed=1)

    keras.backend.clear_session()
    save_and_check(w, "lstm_hard_sigmoid_relu_stateful", keras.Sequential([
        streaming_input(1),
        L.LSTM(6, activation="relu", recurrent_activation="hard_sigmoid",
               stateful=True, return_sequences=True),
        L.LSTM(5, recurrent_activation="hard_sigmoid", stateful=True,
               return_sequences=True),
        L.Dense(1, activation="tanh"),
    ]), 1, True, "stateful streaming export (batch_input_shape [1,1,1]): "
        "LSTM(6, relu, hard_sigmoid) -> LSTM(5, hard_sigmoid) -> Dense(tanh)",
        seed=2)

    keras.backend.clear_session()
    save_and_check(w, "lstm_last_only_stateful", keras.Sequential([
        streaming_input(1),
        L.LSTM(7, stateful=True, return_sequences=False),
        L.Dense(1),
    ]), 1, True, "stateful, return_sequences=False, one frame per call: "
        "the canonical streaming pattern", seed=3)

    keras.backend.clear_session()
    save_and_check(w, "gru_reset_after", keras.Sequential([
        L.InputLayer(input_shape=(None, 1)),
        L.GRU(8, reset_after=True, return_sequences=True),
        L.Dense(1),
    ]), 1, False, "GRU(8, reset_after=True: bias (2, 3U)) -> Dense", seed=4)

    keras.backend.clear_session()
    save_and_check(w, "gru_reset_before_hard_sigmoid", keras.Sequential([
        L.InputLayer(input_shape=(None, 3)),
        L.GRU(6, reset_after=False, recurrent_activation="hard_sigmoid",
              return_sequences=True),
        L.GRU(4, reset_after=False, activation="softsign",
              return_sequences=True),
        L.TimeDistributed(L.Dense(2)),
    ]), 3, False, "GRU(6, reset_after=False: bias (3U,), hard_sigmoid) -> "
        "GRU(4, softsign) -> TimeDistributed(Dense(2)), 3 inputs", seed=5)

    keras.backend.clear_session()
    inp = L.Input(shape=(None, 1), name="audio_in")
    h = L.SimpleRNN(6, return_sequences=True, name="rnn_tanh")(inp)
    h = L.SimpleRNN(4, activation="relu", return_sequences=True,
                    name="rnn_relu")(h)
    h = L.Dropout(0.3)(h)
    out = L.Dense(1, name="head")(h)
    save_and_check(w, "simple_rnn_functional", keras.Model(inp, out), 1,
                   False, "functional Input -> SimpleRNN(6, tanh) -> "
                   "SimpleRNN(4, relu) -> Dropout -> Dense", seed=6)

    keras.backend.clear_session()
    save_and_check(w, "dense_activations", keras.Sequential([
        L.InputLayer(input_shape=(None, 2)),
        L.LSTM(6, return_sequences=True),
        L.Dense(6, activation="elu"),
        L.Dense(6, activation="selu"),
        L.Dense(5, activation="softplus"),
        L.Dense(5, activation="swish"),
        L.Dense(4, activation="sigmoid"),
        L.Dense(4, activation="hard_sigmoid"),
        L.Activation("relu"),
        L.Dense(3),
        L.Activation("tanh"),
        L.Dense(1, activation="linear"),
    ]), 2, False, "Dense with elu, selu, softplus, swish, sigmoid, "
        "hard_sigmoid; Activation after an activated Dense (identity) and "
        "after a linear Dense (folded)", seed=7)

    keras.backend.clear_session()
    save_and_check(w, "conv1d_causal_dilated", keras.Sequential([
        L.InputLayer(input_shape=(None, 2)),
        L.Conv1D(4, 3, dilation_rate=2, padding="causal", activation="tanh"),
        L.LSTM(6, return_sequences=True),
        L.Dense(1),
    ]), 2, False, "Conv1D(4, kernel 3, dilation 2, causal, tanh) -> LSTM(6) "
        "-> Dense", seed=8)


# --------------------------------------------------------------------------
# CuDNN classes


def cudnn_models(w):
    specs = [
        ("cudnn_lstm", tf.compat.v1.keras.layers.CuDNNLSTM,
         lambda u: L.LSTM(u, return_sequences=True, stateful=True), 2, 9),
        ("cudnn_gru", tf.compat.v1.keras.layers.CuDNNGRU,
         lambda u: L.GRU(u, reset_after=True, recurrent_activation="sigmoid",
                         return_sequences=True, stateful=True), 2, 10),
    ]
    for name, cudnn_class, plain_class, width, seed in specs:
        keras.backend.clear_session()
        units = 5
        model = keras.Sequential([
            streaming_input(width),
            cudnn_class(units, return_sequences=True, stateful=True),
            L.Dense(1),
        ])
        seed_weights(model, seed)
        model.save(w.path(name))
        stored = model.get_weights()

        # Keras's own conversion: load the CuDNN file into the plain layer.
        keras.backend.clear_session()
        plain = keras.Sequential([streaming_input(width), plain_class(units),
                                  L.Dense(1)])
        plain.load_weights(w.path(name))
        x = test_input(width)
        y = run(plain, x, True)
        w.record(name, "match", x, y, "%s(%d) stateful -> Dense, written by "
                 "Keras; reference: Keras's conversion into the plain layer"
                 % (cudnn_class.__name__, units))

        # The misread twin: the stored arrays taken as plain-layer weights.
        kernel, recurrent, bias = stored[0], stored[1], stored[2]
        if "lstm" in name:
            naive_bias = bias[:4 * units] + bias[4 * units:]
        else:
            naive_bias = bias.reshape(2, 3 * units)
        keras.backend.clear_session()
        twin = keras.Sequential([streaming_input(width), plain_class(units),
                                 L.Dense(1)])
        twin.set_weights([kernel, recurrent, naive_bias] + stored[3:])
        twin_name = name + "_misread"
        twin.save(w.path(twin_name))
        y_twin = run(twin, x, True)
        difference = np.max(np.abs(y_twin - y))
        assert difference > 1e-2, (name, difference)
        w.record(twin_name, "match", x, y_twin, "the numbers of %s.h5 under "
                 "the plain class name, without the CuDNN layout conversion "
                 "(differs from it by %.3g)" % (name, difference))


# --------------------------------------------------------------------------
# Files rewritten after saving, and refused files


def attrs_to_fixed_length(path):
    """Keras 2.2-style attributes: fixed-length byte strings."""
    with h5py.File(path, "r+") as f:
        def convert(obj):
            for key in list(obj.attrs.keys()):
                value = obj.attrs[key]
                if isinstance(value, str):
                    obj.attrs[key] = np.bytes_(value.encode("utf8"))
                elif isinstance(value, np.ndarray) and value.dtype == object:
                    obj.attrs[key] = np.array(
                        [s.encode("utf8") if isinstance(s, str) else s
                         for s in value], dtype="S")
        convert(f)
        f.visititems(lambda _, obj: convert(obj))


def split_name_attrs(path):
    """layer_names / weight_names split into name0, name1, ... chunks, the
    way Keras stores attributes over 64512 bytes."""
    with h5py.File(path, "r+") as f:
        def split(obj):
            for key in ("layer_names", "weight_names"):
                if key not in obj.attrs:
                    continue
                value = obj.attrs[key]
                if len(value) < 2:
                    continue
                del obj.attrs[key]
                half = (len(value) + 1) // 2
                obj.attrs[key + "0"] = value[:half]
                obj.attrs[key + "1"] = value[half:]
        group = f["model_weights"]
        split(group)
        for child in group.values():
            split(child)


def rewritten_models(w):
    for source, name, rewrite, note in [
        ("gru_reset_after", "gru_fixed_length_strings", attrs_to_fixed_length,
         "gru_reset_after.h5 with Keras 2.2-style fixed-length byte-string "
         "attributes"),
        ("dense_activations", "dense_split_attributes", split_name_attrs,
         "dense_activations.h5 with layer_names and weight_names split into "
         "numbered chunks (name0, name1)"),
    ]:
        with open(w.path(source), "rb") as f:
            data = f.read()
        with open(w.path(name), "wb") as f:
            f.write(data)
        rewrite(w.path(name))
        keras.backend.clear_session()
        model = keras.models.load_model(w.path(name), compile=False)
        x = test_input(model.input_shape[-1])
        y = run(model, x, False)
        reference = np.loadtxt(os.path.join(w.out, source + ".ref.csv"),
                               delimiter=",", ndmin=2)
        assert np.max(np.abs(y - reference)) <= TOLERANCE, name
        w.record(name, "match", x, y, note + "; Keras reloads it")

    keras.backend.clear_session()
    model = keras.Sequential([L.InputLayer(input_shape=(None, 1)),
                              L.GRU(4, return_sequences=True), L.Dense(1)])
    seed_weights(model, 11)
    model.save_weights(w.path("weights_only"))
    w.refuse("weights_only", "needs-architecture",
             "save_weights(): layer groups, no model_config")

    keras.backend.clear_session()
    model = keras.Sequential([L.InputLayer(input_shape=(None, 1)),
                              L.LSTM(4, go_backwards=True,
                                     return_sequences=True), L.Dense(1)])
    seed_weights(model, 12)
    model.save(w.path("lstm_go_backwards"))
    w.refuse("lstm_go_backwards", "unsupported",
             "LSTM(go_backwards=True): not causal, cannot stream")

    keras.backend.clear_session()
    model = keras.Sequential([L.InputLayer(input_shape=(None, 1)),
                              L.Bidirectional(L.GRU(3,
                                                    return_sequences=True)),
                              L.Dense(1)])
    seed_weights(model, 13)
    model.save(w.path("bidirectional_gru"))
    w.refuse("bidirectional_gru", "unsupported",
             "Bidirectional(GRU): not causal, cannot stream")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    parser.add_argument("--out", default=os.path.join(here, "..", "tests",
                                                      "data", "keras"))
    args = parser.parse_args()
    tf.config.experimental.enable_op_determinism()
    keras.utils.set_random_seed(0)
    w = Writer(os.path.normpath(args.out))
    plain_models(w)
    cudnn_models(w)
    rewritten_models(w)
    w.finish()
    print("wrote %d files to %s (tensorflow %s, tf-keras %s, h5py %s)"
          % (len(w.rows), w.out, tf.__version__, keras.__version__,
             h5py.__version__))
    return 0


if __name__ == "__main__":
    sys.exit(main())
