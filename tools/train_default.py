"""Train Statewave's bundled default model, presets/default-overdrive.json.

Run with Debian's PyTorch:

    /usr/bin/python3 tools/train_default.py [--out PATH] [--seed N]

The model is a GuitarML "SimpleRNN" (one LSTM layer of HIDDEN_SIZE units, a
Dense head and a skip from the input; see simple_rnn.py) trained to imitate
the reference effect below, which is defined here in code so that anyone can
regenerate the target audio exactly.

Reference effect (all in float64, at 48 kHz, input x in [-1, 1]):

    1. pre-emphasis, a first-order high shelf:
           lp[n] = lp[n-1] + b1 (x[n] - lp[n-1]),  b1 = 1 - exp(-2 pi 700 / fs)
           e[n]  = x[n] + 1.0 (x[n] - lp[n])      (+6 dB above ~700 Hz)
    2. drive:        d[n] = 6.0 e[n]               (+15.6 dB)
    3. soft clipper: s[n] = tanh(d[n])
    4. tone, a second-order Butterworth low-pass at 3 kHz (RBJ cookbook
       biquad, Q = 1/sqrt(2)): t = biquad(s)
    5. level:        y[n] = 0.5 t[n]               (-6 dB)

Both filters start from zero state. The shelf makes the clipper bite harder
on the pick attack and treble, and the low-pass removes the fizz the clipper
makes; because both have memory the network needs its recurrent state.

Training audio (seeded, deterministic) is a stream of Karplus-Strong plucks,
strummed chords, sine sweeps, noise bursts and silences at levels from -40
to -3 dBFS (audio_synth.py). A second stream, made from a different seed,
is held out: the error-to-signal ratio
    ESR = sum((y - t)^2) / sum(t^2)
of the trained model on it is printed and written into the model metadata.

Training follows Wright et al. (2019), "Real-time guitar amplifier emulation
with deep learning": random segments from the training stream, a warm-up
without gradients to settle the state, then truncated backpropagation
through time over consecutive windows, with Adam. The LSTM's cell-input
biases and the Dense bias are held at zero, which makes zero state the
model's exact rest state on silence: the engine starts every stream from
zero state, and an unconstrained model clicks for a millisecond after each
reset while its state settles (see keep_silence_silent).
"""

import argparse
import math
import pathlib
import time

import numpy as np
import torch

from audio_synth import (OPEN_STRINGS_MIDI, SAMPLE_RATE, db_to_gain, karplus_strong_pluck,
                         log_sine_sweep, midi_to_hz, noise_burst, one_pole_lowpass, strum)
from simple_rnn import SimpleRNN, write_guitarml_json

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "presets" / "default-overdrive.json"
DEFAULT_SEED = 20240601

HIDDEN_SIZE = 16

TRAIN_SECONDS = 120.0
HELD_OUT_SECONDS = 12.0

BATCH_SIZE = 64
WARMUP_SAMPLES = 512
# The effect forgets its past within about a hundred samples, so short TBPTT
# windows lose
# little, and on a CPU they buy many more updates per second.
WINDOW_SAMPLES = 256
WINDOWS_PER_SEGMENT = 16
SEGMENT_COUNT = 140  # batches of segments; each gives WINDOWS_PER_SEGMENT updates
LEARNING_RATE_START = 1e-2
LEARNING_RATE_END = 5e-4

# Reference effect parameters, as documented above.
SHELF_CORNER_HZ = 700.0
SHELF_BOOST = 1.0
DRIVE_GAIN = 6.0
TONE_CUTOFF_HZ = 3000.0
OUTPUT_GAIN = 0.5


# --------------------------------------------------------------------------
# Reference effect
# --------------------------------------------------------------------------

def biquad_lowpass(signal, cutoff_hz, q=1.0 / math.sqrt(2.0), sample_rate=SAMPLE_RATE):
    """RBJ Audio EQ Cookbook low-pass, direct form I, zero initial state."""
    omega = 2.0 * math.pi * cutoff_hz / sample_rate
    alpha = math.sin(omega) / (2.0 * q)
    cos_omega = math.cos(omega)
    a0 = 1.0 + alpha
    b0 = (1.0 - cos_omega) / 2.0 / a0
    b1 = (1.0 - cos_omega) / a0
    b2 = b0
    a1 = -2.0 * cos_omega / a0
    a2 = (1.0 - alpha) / a0

    out = np.empty(len(signal))
    x1 = x2 = y1 = y2 = 0.0
    for index, x0 in enumerate(signal.tolist()):
        y0 = b0 * x0 + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2
        out[index] = y0
        x2, x1 = x1, x0
        y2, y1 = y1, y0
    return out


def reference_effect(signal):
    """The effect the default model imitates (see the module docstring)."""
    signal = np.asarray(signal, dtype=np.float64)
    emphasised = signal + SHELF_BOOST * (signal - one_pole_lowpass(signal, SHELF_CORNER_HZ))
    clipped = np.tanh(DRIVE_GAIN * emphasised)
    return OUTPUT_GAIN * biquad_lowpass(clipped, TONE_CUTOFF_HZ)


# --------------------------------------------------------------------------
# Training audio
# --------------------------------------------------------------------------

# Chord shapes as frets on the six strings (None: string not played).
CHORD_SHAPES = (
    (0, 2, 2, 1, 0, 0),           # E major
    (None, 0, 2, 2, 2, 0),        # A major
    (None, None, 0, 2, 3, 2),     # D major
    (3, 2, 0, 0, 0, 3),           # G major
    (None, 3, 2, 0, 1, 0),        # C major
    (0, 2, 2, 0, 0, 0),           # E minor
    (None, 0, 2, 2, 1, 0),        # A minor
    (5, 7, 7, None, None, None),  # A power chord
    (3, 5, 5, None, None, None),  # G power chord
)


def chord_notes(shape, capo):
    return [open_note + capo + fret
            for open_note, fret in zip(OPEN_STRINGS_MIDI, shape) if fret is not None]


def random_event(rng):
    """One short musical or test event, normalised to peak 1."""
    kind = rng.choice(["pluck", "pluck", "chord", "chord", "sweep", "noise", "silence"])
    if kind == "pluck":
        note = int(rng.choice(OPEN_STRINGS_MIDI)) + int(rng.integers(0, 13))
        return karplus_strong_pluck(rng, midi_to_hz(note), rng.uniform(0.2, 1.8),
                                    brightness=rng.uniform(0.2, 1.0),
                                    decay_s=rng.uniform(0.5, 4.0))
    if kind == "chord":
        shape = CHORD_SHAPES[rng.integers(len(CHORD_SHAPES))]
        notes = chord_notes(shape, capo=int(rng.integers(0, 8)))
        if rng.random() < 0.5:
            notes = notes[::-1]  # an up-strum
        return strum(rng, notes, rng.uniform(0.4, 2.5), spread_s=rng.uniform(0.003, 0.03),
                     brightness=rng.uniform(0.2, 1.0), decay_s=rng.uniform(1.0, 4.0))
    if kind == "sweep":
        low = rng.uniform(30.0, 200.0)
        high = rng.uniform(2000.0, 16000.0)
        sweep = log_sine_sweep(low, high, rng.uniform(0.3, 1.5))
        return sweep if rng.random() < 0.5 else sweep[::-1].copy()
    if kind == "noise":
        return noise_burst(rng, rng.uniform(0.05, 0.5), cutoff_hz=rng.uniform(300.0, 15000.0))
    return np.zeros(int(rng.uniform(0.05, 0.4) * SAMPLE_RATE))


def synthesize_performance(rng, seconds):
    """Events at random levels, each starting before the last has died away."""
    length = int(seconds * SAMPLE_RATE)
    track = np.zeros(length + 5 * SAMPLE_RATE)
    position = 0
    while position < length:
        event = random_event(rng) * db_to_gain(rng.uniform(-40.0, -3.0))
        track[position:position + len(event)] += event
        # Let the event ring for part of its length, as a player would.
        position += max(1, int(len(event) * rng.uniform(0.4, 1.0)))
    track = track[:length]
    # Overlaps can add up past full scale; real inputs do not.
    peak = np.max(np.abs(track))
    if peak > 0.9:
        track *= 0.9 / peak
    return track


# --------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------

def error_to_signal_ratio(output, target):
    return float(np.sum((output - target) ** 2) / np.sum(target ** 2))


def run_model(model, signal):
    """The model over a whole signal from zero state, float32 in and out."""
    with torch.no_grad():
        audio = torch.from_numpy(np.asarray(signal, dtype=np.float32)).view(1, -1, 1)
        output, _ = model(audio)
    return output.view(-1).numpy()


def batch_of_segments(rng, inputs, targets, segment_length):
    starts = rng.integers(0, len(inputs) - segment_length, size=BATCH_SIZE)
    rows = starts[:, None] + np.arange(segment_length)[None, :]
    as_tensor = lambda array: torch.from_numpy(array[rows].astype(np.float32)).unsqueeze(-1)
    return as_tensor(inputs), as_tensor(targets)


def keep_silence_silent(model):
    """Pin the biases that would make the model sound on silence to zero.

    The engine starts every stream from zero state. With the cell-input (g)
    biases and the output bias at zero, zero state on zero input stays
    exactly zero (g = tanh(0) = 0 keeps c = 0, so h = 0 and y = 0), so the
    model is silent after a reset instead of clicking while its state
    settles. The effect is silent on silence and odd-symmetric, so these
    biases cost it nothing.
    """
    hidden_size = model.rec.hidden_size
    cell_input_rows = slice(2 * hidden_size, 3 * hidden_size)  # gate order i, f, g, o

    def drop_cell_input_rows(grad):
        grad = grad.clone()
        grad[cell_input_rows] = 0.0
        return grad

    with torch.no_grad():
        for bias in (model.rec.bias_ih_l0, model.rec.bias_hh_l0):
            bias[cell_input_rows] = 0.0
            # Adam leaves a parameter whose gradient is always zero unchanged.
            bias.register_hook(drop_cell_input_rows)
        model.lin.bias.zero_()
    model.lin.bias.requires_grad_(False)


def esr_loss(output, target):
    return torch.sum((output - target) ** 2) / (torch.sum(target ** 2) + 1e-8)


def train(model, rng, inputs, targets):
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE_START)
    total_updates = SEGMENT_COUNT * WINDOWS_PER_SEGMENT
    # Cosine decay from the start rate to the end rate over all updates.
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda step: (LEARNING_RATE_END + (LEARNING_RATE_START - LEARNING_RATE_END)
                      * 0.5 * (1.0 + math.cos(math.pi * step / total_updates)))
        / LEARNING_RATE_START)
    segment_length = WARMUP_SAMPLES + WINDOWS_PER_SEGMENT * WINDOW_SAMPLES

    def update(loss):
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()

    for segment_index in range(SEGMENT_COUNT):
        segment_inputs, segment_targets = batch_of_segments(rng, inputs, targets, segment_length)
        with torch.no_grad():
            _, state = model(segment_inputs[:, :WARMUP_SAMPLES])
        window_losses = []
        for window in range(WINDOWS_PER_SEGMENT):
            begin = WARMUP_SAMPLES + window * WINDOW_SAMPLES
            end = begin + WINDOW_SAMPLES
            output, state = model(segment_inputs[:, begin:end], state)
            loss = esr_loss(output, segment_targets[:, begin:end])
            update(loss)
            state = tuple(part.detach() for part in state)
            window_losses.append(loss.item())
        if segment_index % 10 == 0 or segment_index == SEGMENT_COUNT - 1:
            print(f"  segment batch {segment_index + 1:4d}/{SEGMENT_COUNT}: "
                  f"ESR {np.mean(window_losses):.4f}, lr {schedule.get_last_lr()[0]:.2e}",
                  flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=pathlib.Path, default=DEFAULT_OUT,
                        help=f"model file to write (default: {DEFAULT_OUT.relative_to(REPO_ROOT)})")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED,
                        help=f"seed for audio, initial weights and batches (default: {DEFAULT_SEED})")
    args = parser.parse_args()

    # One thread: the machine is shared, and a fixed thread count keeps the
    # floating-point reductions, hence the trained weights, reproducible.
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    train_rng, held_out_rng, batch_rng = [
        np.random.default_rng(seed) for seed in np.random.SeedSequence(args.seed).spawn(3)]

    started = time.monotonic()
    print("synthesizing audio and the reference effect...", flush=True)
    train_inputs = synthesize_performance(train_rng, TRAIN_SECONDS)
    train_targets = reference_effect(train_inputs)
    held_out_inputs = synthesize_performance(held_out_rng, HELD_OUT_SECONDS)
    held_out_targets = reference_effect(held_out_inputs)
    print(f"  {TRAIN_SECONDS:.0f} s training, {HELD_OUT_SECONDS:.0f} s held out "
          f"({time.monotonic() - started:.1f} s)", flush=True)

    model = SimpleRNN(HIDDEN_SIZE)
    keep_silence_silent(model)
    print(f"training LSTM {HIDDEN_SIZE} + Dense, "
          f"{SEGMENT_COUNT * WINDOWS_PER_SEGMENT} updates...", flush=True)
    training_started = time.monotonic()
    train(model, batch_rng, train_inputs, train_targets)
    training_seconds = time.monotonic() - training_started

    # ESR of the float32 model on float32 inputs, as the engine will run it.
    held_out_esr = error_to_signal_ratio(
        run_model(model, held_out_inputs.astype(np.float32)).astype(np.float64),
        held_out_targets)
    # The effect is silent on silence; the model should be too, from reset on.
    startup_peak = float(np.max(np.abs(run_model(model, np.zeros(SAMPLE_RATE // 10)))))
    print(f"held-out ESR: {held_out_esr:.5f} ({10 * math.log10(held_out_esr):.1f} dB); "
          f"peak output on silence from reset: {startup_peak:.2e}; "
          f"training took {training_seconds:.0f} s", flush=True)

    metadata = {
        "name": "Default Overdrive",
        "description": ("A small LSTM trained by Statewave to imitate a soft-clipping overdrive: "
                        "treble pre-emphasis, tanh clipper and a 3 kHz tone low-pass."),
        "samplerate": SAMPLE_RATE,
        "esr": round(held_out_esr, 6),
        "made_by": "tools/train_default.py",
        "training": (f"effect: +6 dB shelf above 700 Hz, drive x{DRIVE_GAIN:g}, tanh, "
                     f"2nd-order Butterworth low-pass {TONE_CUTOFF_HZ:g} Hz, level x{OUTPUT_GAIN:g}; "
                     f"signals: {TRAIN_SECONDS:.0f} s of Karplus-Strong plucks, chords, sweeps, "
                     f"noise bursts at -40..-3 dBFS; {SEGMENT_COUNT * WINDOWS_PER_SEGMENT} Adam "
                     f"updates, batch {BATCH_SIZE}, TBPTT {WINDOW_SAMPLES}; ESR on "
                     f"{HELD_OUT_SECONDS:.0f} s held out; seed {args.seed}"),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_guitarml_json(model, args.out, metadata)
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes); "
          f"total {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
