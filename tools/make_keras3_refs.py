#!/usr/bin/env python3
"""Write the Keras 3 .keras test files of tests/data/keras3/ with real Keras.

Every file is made by Keras 3 (the `keras` package TensorFlow 2.16+ ships;
TF_USE_LEGACY_KERAS unset) from a model whose weights are drawn from a seeded
numpy generator, saved with model.save("x.keras"), and paired with Keras's
own CPU output on a deterministic input (the conventions of
tools/make_keras_refs.py):

  <name>.keras     the model file (zip: metadata.json, config.json,
                   model.weights.h5)
  <name>.in.csv    the input, one frame per line (input_width columns)
  <name>.ref.csv   Keras's output for it, one frame per line
  MANIFEST.tsv     one row per file: name, what the reader must do, widths

So that reruns give byte-identical files, each saved zip is normalised after
saving: zip timestamps and metadata.json's date_saved are fixed, and
config.json's shared_object_id values (Python object addresses) are
renumbered 1, 2, ... in order of appearance (same ids stay equal). Keras then
reloads the normalised file and must reproduce its reference exactly.

hard_sigmoid: in Keras 3 it is clip(x/6 + 0.5, 0, 1), in Keras 2 / tf.keras
clip(0.2 x + 0.5, 0, 1). lstm_hard_sigmoid_as_keras2.keras is
lstm_hard_sigmoid_stateful.keras with metadata.json's keras_version set to
"2.15.0" (what tf.keras 2.15's .keras files say); its reference is the same
network computed by Keras with the 0.2 slope, so a reader must switch
semantics on the version, and the two references differ.

tf_keras_hard_sigmoid.keras is written by tf.keras 2.x (tf-keras, in a
subprocess with TF_USE_LEGACY_KERAS=1), whose .keras files say keras_version
2.x and whose hard_sigmoid is 0.2x + 0.5: a real file of the Keras 2 kind.

Refused files: go_backwards (not causal), a zip without model.weights.h5,
one whose config.json is not JSON.

Usage: tools/.venv/bin/python tools/make_keras3_refs.py [--out DIR]
(venv: tools/.venv with tensorflow-cpu >= 2.16, which installs keras 3)
"""

import argparse
import io
import subprocess
import json
import os
import sys
import zipfile

os.environ.pop("TF_USE_LEGACY_KERAS", None)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["CUDA_VISIBLE_DEVICES"] = ""
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402

L = keras.layers
FRAMES = 96
DATE = (2024, 1, 1, 0, 0, 0)


def test_input(width, frames=FRAMES):
    """A deterministic multi-tone signal, different in every column (the
    same as tools/make_keras_refs.py)."""
    t = np.arange(frames, dtype=np.float64)
    cols = []
    for c in range(width):
        cols.append(0.7 * np.sin(2 * np.pi * (0.013 + 0.021 * c) * t + c)
                    + 0.25 * np.sin(2 * np.pi * 0.173 * t + 0.5 * c)
                    + 0.05 * np.cos(2 * np.pi * 0.31 * t))
    return np.stack(cols, axis=1).astype(np.float32)


def seed_weights(model, seed, scale=0.6):
    rng = np.random.RandomState(seed)
    model.set_weights([rng.uniform(-scale, scale, w.shape).astype(np.float32)
                       for w in model.get_weights()])


def reset(model):
    for layer in model.layers:
        if getattr(layer, "stateful", False):
            layer.reset_states()


def run(model, x, stateful):
    """Keras's output for the whole input (batch 1). Stateful streaming
    models are fed one frame per call, as a host would."""
    if stateful:
        reset(model)
        frames = []
        for t in range(x.shape[0]):
            y = np.asarray(model(x[None, t:t + 1, :], training=False))
            frames.append(y.reshape(-1, y.shape[-1]))
        reset(model)
        return np.concatenate(frames, axis=0)
    return np.asarray(model(x[None], training=False))[0]


def write_csv(path, array):
    with open(path, "w") as f:
        for row in array:
            f.write(",".join("%.9g" % v for v in row) + "\n")


def renumber_ids(node, ids):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "shared_object_id" and isinstance(value, int):
                node[key] = ids.setdefault(value, len(ids) + 1)
            else:
                renumber_ids(value, ids)
    elif isinstance(node, list):
        for value in node:
            renumber_ids(value, ids)


def rewrite_zip(path, edit):
    """Rewrite the zip at `path`: edit(members) changes the dict of member
    name -> bytes; written in the original order with fixed timestamps."""
    with zipfile.ZipFile(path) as z:
        order = [i.filename for i in z.infolist()]
        members = {n: z.read(n) for n in order}
    edit(members)
    order = [n for n in order if n in members] + \
        [n for n in members if n not in order]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for name in order:
            info = zipfile.ZipInfo(name, date_time=DATE)
            info.compress_type = zipfile.ZIP_STORED
            info.external_attr = 0o644 << 16
            z.writestr(info, members[name])
    with open(path, "wb") as f:
        f.write(buffer.getvalue())


def normalise(members, version=None):
    meta = json.loads(members["metadata.json"])
    meta["date_saved"] = "2024-01-01@00:00:00"
    if version:
        meta["keras_version"] = version
    members["metadata.json"] = json.dumps(meta).encode()
    config = json.loads(members["config.json"])
    renumber_ids(config, {})
    members["config.json"] = json.dumps(config).encode()


class Writer:
    def __init__(self, out):
        self.out = out
        self.rows = []
        os.makedirs(out, exist_ok=True)

    def path(self, name):
        return os.path.join(self.out, name + ".keras")

    def record(self, name, expect, x, y, note):
        write_csv(os.path.join(self.out, name + ".in.csv"), x)
        write_csv(os.path.join(self.out, name + ".ref.csv"), y)
        self.rows.append((name + ".keras", expect, x.shape[1], y.shape[1],
                          x.shape[0], note))

    def refuse(self, name, expect, note):
        self.rows.append((name + ".keras", expect, 0, 0, 0, note))

    def finish(self):
        with open(os.path.join(self.out, "MANIFEST.tsv"), "w") as f:
            f.write("# file\texpect\tinput_width\toutput_width\tframes\tnote\n")
            for r in self.rows:
                f.write("%s\t%s\t%d\t%d\t%d\t%s\n" % r)


def save_and_check(w, name, model, width, stateful, note, seed):
    """Seed, save, normalise, reload with Keras, record the reference."""
    seed_weights(model, seed)
    x = test_input(width)
    y = run(model, x, stateful)
    model.save(w.path(name))
    rewrite_zip(w.path(name), normalise)
    reloaded = keras.saving.load_model(w.path(name), compile=False)
    err = np.max(np.abs(run(reloaded, x, stateful) - y))
    assert err == 0.0, (name, err)
    w.record(name, "match", x, y, note)
    return model, x, y


def keras2_hard_sigmoid(x):
    return keras.ops.clip(0.2 * x + 0.5, 0.0, 1.0)


TF_KERAS_SCRIPT = r"""
import os, sys
import numpy as np
import tf_keras as keras
L = keras.layers
sys.path.insert(0, os.path.dirname(sys.argv[1]))
from make_keras3_refs import seed_weights, test_input
keras.utils.set_random_seed(0)
model = keras.Sequential([
    L.InputLayer(input_shape=(None, 1)),
    L.LSTM(6, recurrent_activation="hard_sigmoid", return_sequences=True),
    L.LSTM(4, recurrent_activation="hard_sigmoid", return_sequences=True),
    L.TimeDistributed(L.Dense(2)),
    L.Dense(1, activation="hard_sigmoid"),
])
seed_weights(model, 9)
x = test_input(1)
np.save(sys.argv[3], model(x[None], training=False).numpy()[0])
model.save(sys.argv[2])
print(keras.__version__)
"""


def tf_keras_model(w):
    """A .keras file written by tf.keras 2.x (hard_sigmoid = 0.2x + 0.5)."""
    name = "tf_keras_hard_sigmoid"
    env = dict(os.environ, TF_USE_LEGACY_KERAS="1")
    reference = os.path.join(w.out, name + ".npy")
    out = subprocess.run([sys.executable, "-c", TF_KERAS_SCRIPT,
                          os.path.abspath(__file__), w.path(name), reference],
                         env=env, check=True, capture_output=True, text=True)
    version = out.stdout.strip().splitlines()[-1]
    y = np.load(reference)
    os.remove(reference)
    rewrite_zip(w.path(name), normalise)
    w.record(name, "match", test_input(1), y, "written by tf.keras %s "
             "(keras_version 2.x: hard_sigmoid is 0.2x+0.5): LSTM(6) -> "
             "LSTM(4), both hard_sigmoid -> TimeDistributed(Dense(2)) -> "
             "Dense(1, hard_sigmoid)" % version)


def models(w):
    keras.utils.clear_session()
    save_and_check(w, "lstm_sigmoid", keras.Sequential([
        L.Input(shape=(None, 2)),
        L.LSTM(8, return_sequences=True),
        L.Dense(1),
    ]), 2, False, "Sequential LSTM(8, sigmoid/tanh) -> Dense(1), 2 inputs",
        seed=1)

    def hard_sigmoid_model(recurrent):
        return keras.Sequential([
            L.Input(batch_shape=(1, 1, 1)),
            L.LSTM(6, activation="relu", recurrent_activation=recurrent,
                   stateful=True, return_sequences=True),
            L.LSTM(5, recurrent_activation=recurrent, stateful=True,
                   return_sequences=True),
            L.Dense(1, activation="tanh"),
        ])

    keras.utils.clear_session()
    model, x, y = save_and_check(
        w, "lstm_hard_sigmoid_stateful", hard_sigmoid_model("hard_sigmoid"),
        1, True, "stateful streaming (batch_shape [1,1,1]): LSTM(6, relu, "
        "hard_sigmoid = x/6+0.5) -> LSTM(5, hard_sigmoid) -> Dense(tanh); "
        "two LSTMs: weights at layers/lstm and layers/lstm_1", seed=2)
    # The same file read as Keras 2 would: hard_sigmoid with slope 0.2.
    twin = hard_sigmoid_model(keras2_hard_sigmoid)
    twin.set_weights(model.get_weights())
    y2 = run(twin, x, True)
    difference = np.max(np.abs(y2 - y))
    assert difference > 1e-3, difference
    name = "lstm_hard_sigmoid_as_keras2"
    with open(w.path("lstm_hard_sigmoid_stateful"), "rb") as f:
        data = f.read()
    with open(w.path(name), "wb") as f:
        f.write(data)
    rewrite_zip(w.path(name), lambda m: normalise(m, "2.15.0"))
    w.record(name, "match", x, y2, "lstm_hard_sigmoid_stateful.keras with "
             "keras_version 2.15.0 in metadata.json: hard_sigmoid means "
             "0.2x+0.5; reference computed by Keras with that slope "
             "(differs by %.3g)" % difference)

    keras.utils.clear_session()
    save_and_check(w, "lstm_last_only_stateful", keras.Sequential([
        L.Input(batch_shape=(1, 1, 1)),
        L.LSTM(7, stateful=True, return_sequences=False),
        L.Dense(1),
    ]), 1, True, "stateful, return_sequences=False, one frame per call: "
        "the canonical streaming pattern", seed=3)

    keras.utils.clear_session()
    save_and_check(w, "gru_reset_after", keras.Sequential([
        L.Input(shape=(None, 1)),
        L.GRU(8, reset_after=True, return_sequences=True),
        L.Dense(1),
    ]), 1, False, "GRU(8, reset_after=True: bias (2, 3U)) -> Dense", seed=4)

    keras.utils.clear_session()
    save_and_check(w, "gru_reset_before_time_distributed", keras.Sequential([
        L.Input(shape=(None, 3)),
        L.GRU(6, reset_after=False, recurrent_activation="hard_sigmoid",
              return_sequences=True),
        L.GRU(4, reset_after=False, activation="softsign",
              return_sequences=True),
        L.TimeDistributed(L.Dense(2)),
    ]), 3, False, "GRU(6, reset_after=False: bias (3U,), hard_sigmoid) -> "
        "GRU(4, softsign) -> TimeDistributed(Dense(2)), 3 inputs", seed=5)

    keras.utils.clear_session()
    inp = L.Input(shape=(None, 1), name="audio_in")
    h = L.SimpleRNN(6, return_sequences=True, name="rnn_tanh")(inp)
    h = L.SimpleRNN(4, activation="relu", return_sequences=True,
                    name="rnn_relu")(h)
    h = L.Dropout(0.3)(h)
    out = L.Dense(1, name="head")(h)
    save_and_check(w, "simple_rnn_functional", keras.Model(inp, out), 1,
                   False, "Functional Input -> SimpleRNN(6, tanh) -> "
                   "SimpleRNN(4, relu) -> Dropout -> Dense, user layer names "
                   "(weights at layers/simple_rnn, simple_rnn_1, dense)",
                   seed=6)

    keras.utils.clear_session()
    save_and_check(w, "dense_activations", keras.Sequential([
        L.Input(shape=(None, 2)),
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
    ]), 2, False, "Dense with elu, selu, softplus, swish (saved as silu), "
        "sigmoid, hard_sigmoid (x/6+0.5); Activation after an activated "
        "Dense and after a linear Dense", seed=7)

    keras.utils.clear_session()
    save_and_check(w, "conv1d_causal_dilated", keras.Sequential([
        L.Input(shape=(None, 2)),
        L.Conv1D(4, 3, dilation_rate=2, padding="causal", activation="tanh"),
        L.Conv1D(3, 2, padding="causal"),
        L.LSTM(6, return_sequences=True),
        L.Dense(1),
    ]), 2, False, "Conv1D(4, kernel 3, dilation 2, causal, tanh) -> "
        "Conv1D(3, kernel 2, causal) -> LSTM(6) -> Dense", seed=8)

    keras.utils.clear_session()
    model = keras.Sequential([L.Input(shape=(None, 1)),
                              L.LSTM(4, go_backwards=True,
                                     return_sequences=True), L.Dense(1)])
    seed_weights(model, 12)
    model.save(w.path("lstm_go_backwards"))
    rewrite_zip(w.path("lstm_go_backwards"), normalise)
    w.refuse("lstm_go_backwards", "unsupported",
             "LSTM(go_backwards=True): not causal, cannot stream")

    # Damaged archives, from gru_reset_after.keras.
    for name, edit, note in [
        ("no_weights", lambda m: m.pop("model.weights.h5"),
         "gru_reset_after.keras without model.weights.h5"),
        ("broken_config",
         lambda m: m.__setitem__("config.json",
                                 m["config.json"][:len(m["config.json"]) // 2]),
         "gru_reset_after.keras with config.json cut in half"),
    ]:
        with open(w.path("gru_reset_after"), "rb") as f:
            data = f.read()
        with open(w.path(name), "wb") as f:
            f.write(data)
        rewrite_zip(w.path(name), edit)
        w.refuse(name, "bad-model", note)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    parser.add_argument("--out", default=os.path.join(here, "..", "tests",
                                                      "data", "keras3"))
    args = parser.parse_args()
    assert keras.__version__.startswith("3."), keras.__version__
    tf.config.experimental.enable_op_determinism()
    keras.utils.set_random_seed(0)
    w = Writer(os.path.normpath(args.out))
    models(w)
    tf_keras_model(w)
    w.finish()
    print("wrote %d files to %s (tensorflow %s, keras %s)"
          % (len(w.rows), w.out, tf.__version__, keras.__version__))
    return 0


if __name__ == "__main__":
    sys.exit(main())
