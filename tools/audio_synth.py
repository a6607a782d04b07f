"""Deterministic guitar-like test signals and 16-bit WAV input/output.

Shared by train_default.py (training and held-out audio) and
make_demo_input.py (examples/demo.wav). Everything here is plain numpy in
float64 and depends only on the numpy Generator it is handed, so the same
seed always gives the same samples.
"""

import wave

import numpy as np

SAMPLE_RATE = 48000

# Strings of a guitar in standard tuning, low E to high E (MIDI notes).
OPEN_STRINGS_MIDI = (40, 45, 50, 55, 59, 64)


def midi_to_hz(note):
    return 440.0 * 2.0 ** ((note - 69) / 12.0)


def db_to_gain(db):
    return 10.0 ** (db / 20.0)


def one_pole_lowpass(signal, cutoff_hz, sample_rate=SAMPLE_RATE):
    """y[n] = y[n-1] + b (x[n] - y[n-1]) with b = 1 - exp(-2 pi fc / fs)."""
    coeff = 1.0 - np.exp(-2.0 * np.pi * cutoff_hz / sample_rate)
    out = np.empty(len(signal))
    state = 0.0
    # A plain Python loop over Python floats: the recursion cannot be
    # vectorised in numpy and scipy is not a dependency.
    for index, value in enumerate(signal.tolist()):
        state += coeff * (value - state)
        out[index] = state
    return out


def karplus_strong_pluck(rng, frequency_hz, duration_s, brightness=0.7,
                         decay_s=2.0, sample_rate=SAMPLE_RATE):
    """One plucked string: a noise burst circulating in a damped delay line.

    y[n] = burst[n] + loss * (y[n-P] + y[n-P-1]) / 2, P = round(fs / f).
    `brightness` (0..1) low-passes the burst, as a softer pick would;
    `loss` is chosen so the note falls by 60 dB in about `decay_s`.
    """
    period = max(2, int(round(sample_rate / frequency_hz)))
    length = int(duration_s * sample_rate)
    burst_cutoff = 500.0 + brightness * 9000.0
    burst = one_pole_lowpass(rng.uniform(-1.0, 1.0, period), burst_cutoff, sample_rate)
    burst -= burst.mean()  # no DC trapped in the loop
    burst /= max(np.max(np.abs(burst)), 1e-9)

    # The averaging filter already damps each round trip; `loss` adds the
    # rest so the fundamental decays by 60 dB over decay_s.
    round_trips = decay_s * frequency_hz
    loss = min(0.9999, 10.0 ** (-3.0 / max(round_trips, 1.0)))

    out = np.zeros(length + period + 1)
    out[1:period + 1] = burst
    # Each period-long block depends only on the block before it, so the
    # recursion runs one block at a time instead of one sample at a time.
    start = period + 1
    while start < len(out):
        stop = min(start + period, len(out))
        delayed = out[start - period:stop - period]
        delayed_one_more = out[start - period - 1:stop - period - 1]
        out[start:stop] = loss * 0.5 * (delayed + delayed_one_more)
        start = stop
    note = out[1:length + 1]

    # A few-millisecond fade-out so the note can be cut anywhere.
    fade = min(length, int(0.005 * sample_rate))
    if fade > 0:
        note[-fade:] *= np.linspace(1.0, 0.0, fade)
    return note


def strum(rng, midi_notes, duration_s, spread_s=0.015, brightness=0.7,
          decay_s=2.5, sample_rate=SAMPLE_RATE):
    """Several plucks started `spread_s` apart, as a pick crossing strings."""
    length = int(duration_s * sample_rate)
    out = np.zeros(length)
    for string_index, note in enumerate(midi_notes):
        offset = int(string_index * spread_s * sample_rate)
        if offset >= length:
            break
        pluck = karplus_strong_pluck(rng, midi_to_hz(note), (length - offset) / sample_rate,
                                     brightness=brightness, decay_s=decay_s,
                                     sample_rate=sample_rate)
        out[offset:offset + len(pluck)] += pluck * rng.uniform(0.7, 1.0)
    return out / max(np.max(np.abs(out)), 1e-9)


def log_sine_sweep(start_hz, stop_hz, duration_s, sample_rate=SAMPLE_RATE):
    """Exponential sine sweep, with 10 ms fades at both ends."""
    times = np.arange(int(duration_s * sample_rate)) / sample_rate
    rate = np.log(stop_hz / start_hz) / duration_s
    phase = 2.0 * np.pi * start_hz * (np.exp(rate * times) - 1.0) / rate
    sweep = np.sin(phase)
    fade = int(0.01 * sample_rate)
    sweep[:fade] *= np.linspace(0.0, 1.0, fade)
    sweep[-fade:] *= np.linspace(1.0, 0.0, fade)
    return sweep


def noise_burst(rng, duration_s, cutoff_hz, sample_rate=SAMPLE_RATE):
    """Low-passed white noise under an exponential decay."""
    length = int(duration_s * sample_rate)
    noise = one_pole_lowpass(rng.standard_normal(length), cutoff_hz, sample_rate)
    envelope = np.exp(-np.arange(length) / (0.3 * length))
    burst = noise * envelope
    return burst / max(np.max(np.abs(burst)), 1e-9)


def write_wav_pcm16(path, samples, sample_rate=SAMPLE_RATE):
    """Mono 16-bit PCM; samples in [-1, 1) are scaled by 32768 and rounded."""
    pcm = np.clip(np.round(np.asarray(samples) * 32768.0), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        wav.writeframes(pcm.tobytes())


def read_wav_pcm16(path):
    """(samples, sample_rate) of a mono 16-bit WAV, as float32 int / 32768.

    Dividing by 32768 is exactly what libsndfile does when it reads PCM_16
    as float, so the engine sees the same numbers.
    """
    with wave.open(str(path), "rb") as wav:
        if wav.getnchannels() != 1 or wav.getsampwidth() != 2:
            raise ValueError(f"{path}: expected mono 16-bit PCM")
        sample_rate = wav.getframerate()
        pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    return (pcm.astype(np.float32) / np.float32(32768.0)), sample_rate
