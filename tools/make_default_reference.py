"""Reference output of the bundled default model on the demo input.

    /usr/bin/python3 tools/make_default_reference.py [--model PATH] [--input PATH] [--out PATH]

Rebuilds the PyTorch model from the written JSON (so the reference checks
the committed file, not whatever train_default.py had in memory), runs it in
float32 from zero state over examples/demo.wav, read as int16 / 32768 like
libsndfile reads PCM_16 as float, and writes one little-endian float32 per
input sample to tests/data/default/demo_ref.f32. It also writes the README
beside it and prints how close the model comes to the reference effect.
"""

import argparse
import pathlib

import numpy as np
import torch

from audio_synth import read_wav_pcm16
from simple_rnn import read_guitarml_json
from train_default import error_to_signal_ratio, reference_effect, run_model

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
DEFAULT_MODEL = REPO_ROOT / "presets" / "default-overdrive.json"
DEFAULT_INPUT = REPO_ROOT / "examples" / "demo.wav"
DEFAULT_OUT = REPO_ROOT / "tests" / "data" / "default" / "demo_ref.f32"

README_TEXT = """\
# tests/data/default

`{name}`: the output of the bundled default model,
`presets/default-overdrive.json`, on `examples/demo.wav`, as raw
little-endian float32, one value per input sample ({samples} samples,
{sample_rate} Hz, mono).

Made by `/usr/bin/python3 tools/make_default_reference.py` with Debian's
PyTorch {torch_version}: the model is rebuilt from the JSON file as
`nn.LSTM(1, {hidden}) + nn.Linear({hidden}, 1)` with the input added to the
output (GuitarML `skip: 1`), run in float32 from zero state over the whole
file in one call. The input is the WAV's 16-bit samples divided by 32768.0,
which is what libsndfile gives for PCM_16 read as float.

Regenerate it whenever the model or the demo input changes.
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=pathlib.Path, default=DEFAULT_MODEL)
    parser.add_argument("--input", type=pathlib.Path, default=DEFAULT_INPUT)
    parser.add_argument("--out", type=pathlib.Path, default=DEFAULT_OUT)
    args = parser.parse_args()

    torch.set_num_threads(1)
    model, metadata = read_guitarml_json(args.model)
    demo, sample_rate = read_wav_pcm16(args.input)
    if sample_rate != metadata.get("samplerate", sample_rate):
        raise SystemExit(f"{args.input} is {sample_rate} Hz but {args.model} was trained at "
                         f"{metadata['samplerate']} Hz")

    reference = run_model(model, demo).astype("<f4")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    reference.tofile(args.out)
    (args.out.parent / "README.md").write_text(README_TEXT.format(
        name=args.out.name, samples=len(reference), sample_rate=sample_rate,
        torch_version=torch.__version__, hidden=model.rec.hidden_size))

    esr_to_effect = error_to_signal_ratio(reference.astype(np.float64), reference_effect(demo))
    print(f"wrote {args.out}: {len(reference)} samples, peak {np.max(np.abs(reference)):.3f}; "
          f"ESR against the reference effect on this input: {esr_to_effect:.5f}")


if __name__ == "__main__":
    main()
