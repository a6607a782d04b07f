#!/usr/bin/env python3
"""Keras's own outputs for the weights-only Keras files that Statewave loads
with an architecture spec (sw_model_load_keras_weights, statewave --arch):

  tests/data/keras/weights_only.{in,ref}.csv
      tests/data/keras/weights_only.h5 (tools/make_keras_refs.py):
      Sequential GRU(4, return_sequences) -> Dense(1), the architecture of
      tests/data/keras/weights_only.arch.json
  tests/data/formats/gru32_weights_only.{in,ref}.csv
      ../shared/models/keras-h5/gru32_weights_only.hdf5: Input X0 ->
      GRU(32, reset_after, return_sequences) Xrec -> Dense(1) Xdense ->
      Add(X0, Xdense) Y, the architecture of
      tests/data/formats/gru32_weights_only.arch.json (skip: true)

Each model is built in tf-keras from the architecture alone, the file is
read with Keras's load_weights(by_name=True), and its output on a
deterministic multi-tone input is recorded (one frame per line). Only these
four CSV files are written; reruns give identical files.

Usage: tools/.venv/bin/python tools/make_keras_arch_refs.py
"""

import os
import sys

os.environ["TF_USE_LEGACY_KERAS"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["CUDA_VISIBLE_DEVICES"] = ""

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_keras_refs import run, test_input, write_csv  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402

L = keras.layers
HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.normpath(os.path.join(HERE, "..", "tests", "data"))
SHARED = os.path.normpath(os.path.join(HERE, "..", "..", "shared", "models",
                                       "keras-h5"))


def record(model, weights, out_base, frames):
    model.load_weights(weights, by_name=True)
    x = test_input(1, frames)
    y = run(model, x, False)
    write_csv(out_base + ".in.csv", x)
    write_csv(out_base + ".ref.csv", y)


def main():
    tf.config.experimental.enable_op_determinism()
    keras.backend.clear_session()
    model = keras.Sequential([L.InputLayer(input_shape=(None, 1)),
                              L.GRU(4, return_sequences=True, name="gru"),
                              L.Dense(1, name="dense")])
    record(model, os.path.join(DATA, "keras", "weights_only.h5"),
           os.path.join(DATA, "keras", "weights_only"), 96)

    keras.backend.clear_session()
    x = L.Input(shape=(None, 1), name="X0")
    h = L.GRU(32, return_sequences=True, reset_after=True,
              recurrent_activation="sigmoid", name="Xrec")(x)
    d = L.Dense(1, name="Xdense")(h)
    model = keras.Model(x, L.Add(name="Y")([x, d]))
    record(model, os.path.join(SHARED, "gru32_weights_only.hdf5"),
           os.path.join(DATA, "formats", "gru32_weights_only"), 512)
    print("wrote 4 files (tensorflow %s, tf-keras %s)"
          % (tf.__version__, keras.__version__))
    return 0


if __name__ == "__main__":
    sys.exit(main())
