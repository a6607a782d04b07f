"""Train Statewave's preset models: each imitates a reference effect defined here in code.

Run with Debian's PyTorch (CPU, one thread, a few minutes per model):

    /usr/bin/python3 tools/train.py [--only ID ...] [--updates N] [--seed N]

For each preset below the script synthesizes training and held-out signals,
computes the reference effect on them (float64), trains a GuitarML-style
network (one LSTM or GRU layer, a Dense head, optionally a skip from the
input; knob inputs are extra input columns held constant over a segment),
and writes:

    presets/<id>.json          the model (GuitarML JSON + Statewave metadata:
                               name, samplerate, esr, made_by, training, knobs)
    presets/<id>.preset        the preset naming it
    tests/data/presets/<id>.heldout.flac
                               the held-out clip: channel 1 the input, channel
                               2 the reference effect's output, 16-bit (made
                               with sox); the `presets` test runs the preset
                               over channel 1 and checks its ESR against the
                               one recorded in the model

ESR = sum((y - t)^2) / sum(t^2) of the float32 model on the 16-bit held-out
input, against the 16-bit target, exactly as the test computes it.

The reference effects (float64, input x in [-1, 1]):

diode-clipper  The RC diode clipper (series R = 2.2 kOhm, C = 10 nF to
               ground, antiparallel 1N4148 pair: Is = 2.52 nA, n Vt =
               45.3 mV): C dV/dt = (Vin - V) / R - 2 Is sinh(V / nVt),
               integrated with the trapezoidal rule and Newton's method at
               48 kHz, Vin = x 10^(drive_db / 20), drive_db = 30 * knob,
               output 0.7 V. The knob (drive, 0..1) is the model's second
               input; the network is trained across five knob positions.
fuzz           An asymmetric transistor-style fuzz: a 40 Hz one-pole
               high-pass, gain 25, y = tanh(g x + 0.35) - tanh(0.35), a
               one-pole 4 kHz low-pass, a 20 Hz DC blocker, level 0.5.
               Trained as a GRU.
tape           A tape-style saturator with memory: a +6 dB shelf above
               3 kHz (pre-emphasis), s[n] = tanh(1.6 e[n] + 0.35 s[n-1])
               (the feedback gives it hysteresis-like memory), a one-pole
               7 kHz low-pass (de-emphasis), level 0.45.
compressor     A feed-forward peak compressor: envelope of |x| with 3 ms
               attack and 40 ms release (one-pole each), threshold -24 dBFS,
               ratio 4:1 above it, 6 dB make-up gain.
sensor-smoother
               A time series at 100 Hz (sample rate 100): the clean signal is
               a sum of slow sines (periods 2-60 s), a smoothed random walk
               and level steps; the input adds Gaussian noise (sigma 0.05-0.2)
               and 1 % outliers; the target is the clean signal. The model is
               a causal denoiser (GRU) for `statewave stream`.
"""

import argparse
import json
import math
import pathlib
import subprocess
import tempfile
import time
import wave

import numpy as np
import torch
from torch import nn

from audio_synth import SAMPLE_RATE, db_to_gain, one_pole_lowpass
from train_default import synthesize_performance

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
PRESETS_DIR = REPO_ROOT / "presets"
HELD_OUT_DIR = REPO_ROOT / "tests" / "data" / "presets"
DEFAULT_SEED = 20261121

BATCH_SIZE = 48
WARMUP = 512
WINDOW = 256
WINDOWS_PER_SEGMENT = 12
LEARNING_RATE_START = 1e-2
LEARNING_RATE_END = 5e-4


# --------------------------------------------------------------------------
# Reference effects
# --------------------------------------------------------------------------

def one_pole_highpass(signal, cutoff_hz, sample_rate=SAMPLE_RATE):
    return np.asarray(signal) - one_pole_lowpass(signal, cutoff_hz, sample_rate)


def diode_clipper(signal, knob):
    """The RC diode clipper ODE (see the module docstring), trapezoidal + Newton."""
    r, c, i_s, n_vt = 2.2e3, 10e-9, 2.52e-9, 45.3e-3
    t = 1.0 / SAMPLE_RATE
    vin = (np.asarray(signal) * db_to_gain(30.0 * knob)).tolist()
    out = np.empty(len(vin))

    def slope(v, u):
        return (u - v) / (r * c) - 2.0 * i_s / c * math.sinh(v / n_vt)

    v = 0.0
    previous_input = 0.0
    for index, u in enumerate(vin):
        base = v + 0.5 * t * slope(v, previous_input)
        guess = v
        for _ in range(50):
            residual = guess - base - 0.5 * t * slope(guess, u)
            derivative = 1.0 + 0.5 * t * (1.0 / (r * c) + 2.0 * i_s / (c * n_vt)
                                          * math.cosh(guess / n_vt))
            step = residual / derivative
            # Damped: sinh makes full steps overshoot far from the solution.
            step = max(-0.05, min(0.05, step))
            guess -= step
            if abs(step) < 1e-10:
                break
        v = guess
        previous_input = u
        out[index] = 0.7 * v
    return out


def fuzz(signal, knob=None):
    del knob
    high = one_pole_highpass(signal, 40.0)
    shaped = np.tanh(25.0 * high + 0.35) - math.tanh(0.35)
    smooth = one_pole_lowpass(shaped, 4000.0)
    return 0.5 * one_pole_highpass(smooth, 20.0)


def tape(signal, knob=None):
    del knob
    signal = np.asarray(signal)
    emphasised = signal + (signal - one_pole_lowpass(signal, 3000.0))
    out = np.empty(len(signal))
    state = 0.0
    for index, value in enumerate(emphasised.tolist()):
        state = math.tanh(1.6 * value + 0.35 * state)
        out[index] = state
    return 0.45 * one_pole_lowpass(out, 7000.0)


def compressor(signal, knob=None):
    del knob
    attack = 1.0 - math.exp(-1.0 / (0.003 * SAMPLE_RATE))
    release = 1.0 - math.exp(-1.0 / (0.040 * SAMPLE_RATE))
    threshold = db_to_gain(-24.0)
    makeup = db_to_gain(6.0)
    out = np.empty(len(signal))
    envelope = 0.0
    for index, value in enumerate(np.asarray(signal).tolist()):
        level = abs(value)
        envelope += (attack if level > envelope else release) * (level - envelope)
        gain = (envelope / threshold) ** (1.0 / 4.0 - 1.0) if envelope > threshold else 1.0
        out[index] = value * gain * makeup
    return out


SENSOR_RATE = 100


def sensor_signals(rng, seconds):
    """(noisy input, clean target) of the sensor-smoother task."""
    length = int(seconds * SENSOR_RATE)
    times = np.arange(length) / SENSOR_RATE
    clean = np.zeros(length)
    for _ in range(3):
        period = rng.uniform(2.0, 60.0)
        clean += rng.uniform(0.05, 0.3) * np.sin(2 * np.pi * times / period + rng.uniform(0, 6.3))
    walk = np.cumsum(rng.standard_normal(length)) * 0.01
    clean += one_pole_lowpass(walk, 0.2, SENSOR_RATE)
    position = 0
    while position < length:  # level steps every 5-30 s
        position += int(rng.uniform(5.0, 30.0) * SENSOR_RATE)
        clean[position:] += rng.uniform(-0.3, 0.3)
    clean -= np.mean(clean)
    clean *= 0.5 / max(np.max(np.abs(clean)), 1e-9)
    noise = rng.standard_normal(length) * rng.uniform(0.05, 0.2)
    outliers = rng.random(length) < 0.01
    noise[outliers] += rng.choice([-1.0, 1.0], outliers.sum()) * rng.uniform(0.3, 0.8, outliers.sum())
    return clean + noise, clean


# id, name, description, effect, unit, hidden, skip, knob positions trained,
# the preset's knob position, updates
PRESETS = [
    dict(id="diode-clipper", name="Diode Clipper",
         description="An RC diode clipper solved as an ODE, with a drive knob (LSTM 20, trained across the knob).",
         effect=diode_clipper, unit="LSTM", hidden=20, skip=False,
         knob_values=(0.0, 0.25, 0.5, 0.75, 1.0), knob=0.6, updates=1200,
         knob_spec={"name": "drive", "min": 0.0, "max": 1.0, "default": 0.5}),
    dict(id="fuzz", name="Fuzz",
         description="An asymmetric transistor-style fuzz with even harmonics (GRU 16).",
         effect=fuzz, unit="GRU", hidden=16, skip=False, knob_values=None, updates=1200),
    dict(id="tape", name="Tape Saturator",
         description="Tape-style saturation with pre/de-emphasis and memory (LSTM 16).",
         effect=tape, unit="LSTM", hidden=16, skip=True, knob_values=None, updates=1000),
    dict(id="compressor", name="Compressor",
         description="A 4:1 peak compressor at -24 dBFS, 3 ms attack, 40 ms release (LSTM 24).",
         effect=compressor, unit="LSTM", hidden=24, skip=False, knob_values=None, updates=3000,
         warmup=4096),
    dict(id="sensor-smoother", name="Sensor Smoother",
         description="A causal denoiser for 100 Hz sensor data: removes noise and outliers (GRU 12). For statewave stream.",
         effect=None, unit="GRU", hidden=12, skip=False, knob_values=None, updates=900),
]


# --------------------------------------------------------------------------
# Network and file
# --------------------------------------------------------------------------

class Net(nn.Module):
    """One recurrent layer, a Dense head, an optional skip from input column 0."""

    def __init__(self, unit, hidden, inputs, skip):
        super().__init__()
        layer = nn.LSTM if unit == "LSTM" else nn.GRU
        self.rec = layer(input_size=inputs, hidden_size=hidden, num_layers=1, batch_first=True)
        self.lin = nn.Linear(hidden, 1)
        self.skip = skip

    def forward(self, x, state=None):
        hidden, state = self.rec(x, state)
        y = self.lin(hidden)
        return (y + x[..., :1] if self.skip else y), state


def write_model(net, unit, inputs, path, metadata):
    weights = {name: tensor.detach().to(torch.float32).to(torch.float64).tolist()
               for name, tensor in net.state_dict().items()}
    document = {
        "model_data": {"model": "SimpleRNN", "input_size": inputs,
                       "skip": 1 if net.skip else 0, "output_size": 1,
                       "unit_type": unit, "num_layers": 1,
                       "hidden_size": net.rec.hidden_size, "bias_fl": True},
        "state_dict": weights,
        "metadata": metadata,
    }
    path.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")


def write_preset(preset, path):
    document = {"name": preset["name"], "description": preset["description"],
                "model": f"{preset['id']}.json", "input_gain_db": 0.0,
                "output_gain_db": 0.0, "mix": 1.0,
                "knobs": [preset["knob"]] if preset.get("knob_values") else []}
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def quantize16(signal):
    """What a 16-bit file holds and libsndfile reads back (int / 32768)."""
    pcm = np.clip(np.round(np.asarray(signal) * 32768.0), -32768, 32767)
    return pcm / 32768.0


def write_held_out_flac(path, inputs, targets, rate):
    """2-channel 16-bit FLAC (input, target), through a WAV and sox."""
    pcm = np.stack([quantize16(inputs), quantize16(targets)], axis=1) * 32768.0
    with tempfile.TemporaryDirectory() as folder:
        wav_path = pathlib.Path(folder) / "held.wav"
        with wave.open(str(wav_path), "wb") as wav:
            wav.setnchannels(2)
            wav.setsampwidth(2)
            wav.setframerate(rate)
            wav.writeframes(pcm.astype("<i2").tobytes())
        subprocess.run(["sox", str(wav_path), "-C", "8", str(path)], check=True)


# --------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------

def run_model(net, inputs):
    with torch.no_grad():
        x = torch.from_numpy(np.asarray(inputs, dtype=np.float32)).unsqueeze(0)
        y, _ = net(x)
    return y.view(-1).numpy().astype(np.float64)


def esr(output, target):
    return float(np.sum((output - target) ** 2) / np.sum(target ** 2))


def train(net, rng, streams, updates, warmup):
    """streams: list of (inputs [T, I] float32, targets [T] float32); each
    segment runs `warmup` frames without gradients to settle the state."""
    optimizer = torch.optim.Adam(net.parameters(), lr=LEARNING_RATE_START)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda step: (LEARNING_RATE_END + (LEARNING_RATE_START - LEARNING_RATE_END)
                      * 0.5 * (1.0 + math.cos(math.pi * min(step, updates) / updates)))
        / LEARNING_RATE_START)
    segment = warmup + WINDOWS_PER_SEGMENT * WINDOW
    done = 0
    while done < updates:
        picks = rng.integers(0, len(streams), size=BATCH_SIZE)
        xs, ts = [], []
        for pick in picks:
            inputs, targets = streams[pick]
            start = rng.integers(0, len(targets) - segment)
            xs.append(inputs[start:start + segment])
            ts.append(targets[start:start + segment])
        x = torch.from_numpy(np.stack(xs))
        t = torch.from_numpy(np.stack(ts)).unsqueeze(-1)
        with torch.no_grad():
            _, state = net(x[:, :warmup])
        losses = []
        for window in range(WINDOWS_PER_SEGMENT):
            begin = warmup + window * WINDOW
            y, state = net(x[:, begin:begin + WINDOW], state)
            target = t[:, begin:begin + WINDOW]
            loss = torch.sum((y - target) ** 2) / (torch.sum(target ** 2) + 1e-8)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            state = (tuple(s.detach() for s in state) if isinstance(state, tuple)
                     else state.detach())
            losses.append(loss.item())
            done += 1
        if (done // WINDOWS_PER_SEGMENT) % 20 == 0:
            print(f"    {done:5d}/{updates} updates: ESR {np.mean(losses):.4f}", flush=True)


def audio_streams(preset, rng, seconds):
    """Training streams: one performance per knob position (or one)."""
    knobs = preset["knob_values"] or (None,)
    streams = []
    for knob in knobs:
        inputs = synthesize_performance(rng, seconds / len(knobs) if knob is not None else seconds)
        targets = preset["effect"](inputs, knob if knob is not None else None)
        columns = [inputs] + ([np.full(len(inputs), knob)] if knob is not None else [])
        streams.append((np.stack(columns, axis=1).astype(np.float32),
                        targets.astype(np.float32)))
    return streams


def make(preset, seed, updates):
    started = time.monotonic()
    torch.manual_seed(seed)
    train_rng, held_rng, batch_rng = [np.random.default_rng(s)
                                      for s in np.random.SeedSequence(seed).spawn(3)]
    has_knob = bool(preset.get("knob_values"))
    inputs_width = 2 if has_knob else 1
    if preset["effect"] is None:  # the sensor task
        rate = SENSOR_RATE
        noisy, clean = sensor_signals(train_rng, 3 * 3600)
        streams = [(noisy.astype(np.float32)[:, None], clean.astype(np.float32))]
        held_in, held_target = sensor_signals(held_rng, 600)
        held_in = np.clip(held_in, -0.99, 0.99)
    else:
        rate = SAMPLE_RATE
        streams = audio_streams(preset, train_rng, 80.0)
        held_in = synthesize_performance(held_rng, 4.0)
        held_target = preset["effect"](quantize16(held_in), preset.get("knob") if has_knob else None)
    held_in, held_target = quantize16(held_in), quantize16(held_target)
    print(f"{preset['id']}: signals ready ({time.monotonic() - started:.0f} s); "
          f"training {preset['unit']} {preset['hidden']}, {updates} updates", flush=True)

    net = Net(preset["unit"], preset["hidden"], inputs_width, preset["skip"])
    train(net, batch_rng, streams, updates, preset.get("warmup", WARMUP))
    columns = [held_in] + ([np.full(len(held_in), preset["knob"])] if has_knob else [])
    held_esr = esr(run_model(net, np.stack(columns, axis=1)), held_target)
    print(f"{preset['id']}: held-out ESR {held_esr:.5f} ({time.monotonic() - started:.0f} s)",
          flush=True)

    metadata = {
        "name": preset["name"], "description": preset["description"],
        "samplerate": rate, "esr": round(held_esr, 6), "made_by": "tools/train.py",
        "training": (f"reference effect '{preset['id']}' (see tools/train.py); "
                     f"{preset['unit']} {preset['hidden']}, {updates} Adam updates, "
                     f"batch {BATCH_SIZE}, TBPTT {WINDOW}; ESR on the held-out clip "
                     f"tests/data/presets/{preset['id']}.heldout.flac; seed {seed}"),
    }
    if has_knob:
        metadata["knobs"] = [preset["knob_spec"]]
    write_model(net, preset["unit"], inputs_width, PRESETS_DIR / f"{preset['id']}.json", metadata)
    write_preset(preset, PRESETS_DIR / f"{preset['id']}.preset")
    HELD_OUT_DIR.mkdir(parents=True, exist_ok=True)
    write_held_out_flac(HELD_OUT_DIR / f"{preset['id']}.heldout.flac", held_in, held_target, rate)


def default_held_out():
    """tests/data/presets/default-overdrive.heldout.flac: train_default.py's own
    held-out stream (its seed, its effect), for the model it already made."""
    import train_default
    from simple_rnn import read_guitarml_json
    rng = [np.random.default_rng(s)
           for s in np.random.SeedSequence(train_default.DEFAULT_SEED).spawn(3)][1]
    held_in = quantize16(train_default.synthesize_performance(rng, train_default.HELD_OUT_SECONDS))
    held_target = quantize16(train_default.reference_effect(held_in))
    model, metadata = read_guitarml_json(PRESETS_DIR / "default-overdrive.json")
    clip_esr = esr(run_model(model, held_in[:, None]), held_target)
    print(f"default-overdrive: held-out ESR on the 16-bit clip {clip_esr:.6f} "
          f"(recorded {metadata['esr']})")
    HELD_OUT_DIR.mkdir(parents=True, exist_ok=True)
    write_held_out_flac(HELD_OUT_DIR / "default-overdrive.heldout.flac", held_in, held_target,
                        SAMPLE_RATE)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="*", help="preset ids to make (default: all)")
    parser.add_argument("--updates", type=int, help="override the updates per model")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--default-held-out", action="store_true",
                        help="only write the default preset's held-out clip")
    args = parser.parse_args()
    torch.set_num_threads(1)  # reproducible reductions; the machine is shared
    if args.default_held_out:
        default_held_out()
        return
    for index, preset in enumerate(PRESETS):
        if args.only and preset["id"] not in args.only:
            continue
        make(preset, args.seed + index, args.updates or preset["updates"])


if __name__ == "__main__":
    main()
