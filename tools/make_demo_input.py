"""Synthesize examples/demo.wav, the input the README's first command processes.

    /usr/bin/python3 tools/make_demo_input.py [--out PATH] [--seed N]

Four seconds of a Karplus-Strong "guitar" at 48 kHz, mono, 16-bit PCM: a
picked riff on the low strings, a loud E major strum left to ring, a few
soft high notes and an A power chord up-strum, peaking at -6 dBFS. The
same seed always gives the same file, byte for byte.
"""

import argparse
import pathlib

import numpy as np

from audio_synth import (SAMPLE_RATE, db_to_gain, karplus_strong_pluck, midi_to_hz, strum,
                         write_wav_pcm16)

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "examples" / "demo.wav"
DEFAULT_SEED = 7

DURATION_S = 4.0
PEAK_DBFS = -6.0
# A little silence first, so the file does not start on a click and the
# model's state starts from rest, as it would between songs.
LEAD_IN_S = 0.05

# (start s, length s, MIDI notes, level dB, brightness, strum spread s).
# One note is a pluck; several are a strum (negative spread: an up-strum).
PHRASE = (
    (0.00, 0.40, [40], 0.0, 0.9, 0.0),                            # E2, picked hard
    (0.36, 0.26, [43], -4.0, 0.7, 0.0),                           # G2
    (0.60, 0.32, [45], -2.0, 0.8, 0.0),                           # A2
    (0.90, 0.30, [47], -8.0, 0.5, 0.0),                           # B2, softer
    (1.20, 1.45, [40, 47, 52, 56, 59, 64], 0.0, 1.0, 0.012),      # E major, down
    (2.60, 0.22, [71], -16.0, 0.4, 0.0),                          # B4, soft
    (2.80, 0.22, [74], -18.0, 0.4, 0.0),                          # D5
    (3.00, 0.30, [76], -16.0, 0.5, 0.0),                          # E5
    (3.25, 0.75, [45, 52, 57], -3.0, 0.8, -0.018),                # A5 power chord, up
)


def synthesize_phrase(rng):
    length = int(DURATION_S * SAMPLE_RATE)
    phrase = np.zeros(length)
    for start_s, length_s, notes, level_db, brightness, spread_s in PHRASE:
        if len(notes) == 1:
            event = karplus_strong_pluck(rng, midi_to_hz(notes[0]), length_s,
                                         brightness=brightness, decay_s=4.0)
        else:
            ordered = notes if spread_s >= 0 else notes[::-1]
            event = strum(rng, ordered, length_s, spread_s=abs(spread_s),
                          brightness=brightness, decay_s=6.0)
        event = event / np.max(np.abs(event)) * db_to_gain(level_db)
        start = int((LEAD_IN_S + start_s) * SAMPLE_RATE)
        end = min(length, start + len(event))
        phrase[start:end] += event[:end - start]

    # The last chord is still ringing at 4 s: fade it out over 100 ms.
    fade = int(0.1 * SAMPLE_RATE)
    phrase[-fade:] *= np.linspace(1.0, 0.0, fade)
    return phrase / np.max(np.abs(phrase)) * db_to_gain(PEAK_DBFS)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=pathlib.Path, default=DEFAULT_OUT,
                        help=f"WAV file to write (default: {DEFAULT_OUT.relative_to(REPO_ROOT)})")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED,
                        help=f"seed for the pluck noise (default: {DEFAULT_SEED})")
    args = parser.parse_args()

    phrase = synthesize_phrase(np.random.default_rng(args.seed))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_wav_pcm16(args.out, phrase)
    print(f"wrote {args.out}: {len(phrase)} samples, {len(phrase) / SAMPLE_RATE:.1f} s, "
          f"peak {20 * np.log10(np.max(np.abs(phrase))):.1f} dBFS")


if __name__ == "__main__":
    main()
