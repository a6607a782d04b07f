#!/usr/bin/env python3
"""Collects the `statewave bench --json` lines of one bench/cpu_speed.sh run
into one JSON file and a markdown summary (medians over the repeats).
Standard library only."""

import argparse
import json
import statistics

# The standard set, in the issue's order, with the issue's figures: RTNeural's
# fastest build and its run-time-sized (JSON) API, measured by the issue's
# author on this machine kind (not measured here), and our target.
ISSUE = [
    ("LSTM 40 > Dense 1", "LSTM 1→40 + Dense 40→1",
     "273 (Eigen, AVX2+FMA)", "392", "≤ 225"),
    ("GRU 40 > Dense 1", "GRU 1→40 + Dense",
     "229 (Eigen, native)", "322", "≤ 190"),
    ("LSTM 16 > Dense 1", "LSTM 1→16 + Dense",
     "74 (xsimd, native)", "110", "≤ 60"),
    ("LSTM 128 > Dense 1", "LSTM 1→128 + Dense",
     "2517 (xsimd, native)", "2831", "≤ 2350 FP32 (≤ 1500 compact)"),
    ("LSTM 64 > LSTM 64 > Dense 1", "2 × LSTM 64 + Dense",
     "1913 (xsimd, native)", "2143", "≤ 1750 FP32"),
]

# The issue's scaling goals: (model, streams) -> cost against one stream.
GOALS = {
    ("LSTM 40 > Dense 1", 2): "≤ 1.3",
    ("LSTM 128 > Dense 1", 8): "≤ 4",
}


def load_runs(manifest):
    """Every line of every run, with the run's repeat, label and load."""
    runs = []
    with open(manifest, encoding="utf-8") as lines:
        for entry in lines:
            rep, label, before, after, path = entry.rstrip("\n").split("\t")
            with open(path, encoding="utf-8") as file:
                measured = [json.loads(text) for text in file if text.strip()]
            runs.append({"repeat": int(rep), "label": label,
                         "load_average_before": before,
                         "load_average_after": after, "lines": measured})
    return runs


def collect(runs, label, model, streams):
    """The lines of `label` for `model` at `streams`, one per repeat."""
    return [line for run in runs if run["label"] == label
            for line in run["lines"]
            if line["model"] == model and line["streams"] == streams]


def spread(values, digits=1):
    """'median (min–max)' of the repeats, or '-'."""
    if not values:
        return "-"
    median = statistics.median(values)
    if len(values) == 1:
        return f"{median:.{digits}f}"
    return (f"{median:.{digits}f} ({min(values):.{digits}f}–"
            f"{max(values):.{digits}f})")


def median_or_none(values):
    return statistics.median(values) if values else None


def one_stream_table(runs):
    rows = [
        "| model | cpu ns/sample | real-time factor | cpu-ref ns/sample "
        "| cpu-ref / cpu | max abs error vs cpu-ref | engine bytes "
        "(a stream more) | target ns/sample (issue) "
        "| RTNeural fastest ns/sample: issue's reference (not measured here) "
        "| RTNeural JSON API ns/sample: issue's reference (not measured here) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for model, name, fastest, json_api, target in ISSUE:
        cpu = collect(runs, "cpu", model, 1)
        ref = collect(runs, "cpu-ref", model, 1)
        cpu_ns = [line["ns_per_sample"] for line in cpu]
        ref_ns = [line["ns_per_sample"] for line in ref]
        rtf = [line["realtime_factor"] for line in cpu]
        errors = [line["max_abs_error"] for line in cpu
                  if line["max_abs_error"] is not None]
        ratio = (f"{median_or_none(ref_ns) / median_or_none(cpu_ns):.1f}"
                 if cpu_ns and ref_ns else "-")
        engine = median_or_none([line["engine_bytes"] for line in cpu
                                 if line["engine_bytes"] is not None])
        stream = median_or_none([line["engine_bytes_per_stream"] for line in cpu
                                 if line["engine_bytes_per_stream"] is not None])
        memory = "-" if engine is None else (
            f"{engine:.0f}" + ("" if stream is None else f" ({stream:.0f})"))
        error = f"{max(errors):.2g}" if errors else "-"
        rows.append(
            f"| {name} | {spread(cpu_ns)} | {spread(rtf)} "
            f"| {spread(ref_ns)} | {ratio} | {error} | {memory} | {target} "
            f"| {fastest} | {json_api} |")
    return rows


def streams_table(runs):
    rows = [
        "| model | streams | kernels | cpu ns/sample (a stream's sample) "
        "| block time / 1 stream's | goal (issue) | real-time factor "
        "| p99 µs | max abs error |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for model, name, *_ in ISSUE:
        counts = sorted({line["streams"] for run in runs
                         if run["label"] == "cpu" for line in run["lines"]
                         if line["model"] == model})
        if counts == [1]:
            continue
        for streams in counts:
            lines = collect(runs, "cpu", model, streams)
            costs = [line["cost_vs_one_stream"] for line in lines
                     if line["cost_vs_one_stream"] is not None]
            errors = [line["max_abs_error"] for line in lines
                      if line["max_abs_error"] is not None]
            cut = any(line["cut_short"] for line in lines)
            error = f"{max(errors):.2g}" if errors else "-"
            kernels = sorted({line.get("kernels") or "-" for line in lines})
            rows.append(
                f"| {name} | {streams} | {', '.join(kernels)} "
                f"| {spread([line['ns_per_sample'] for line in lines])} "
                f"| {spread(costs, 2)} | {GOALS.get((model, streams), '')} "
                f"| {spread([line['realtime_factor'] for line in lines], 2)} "
                f"| {spread([line['p99_us'] for line in lines])}"
                f"{' (cut short)' if cut else ''} | {error} |")
    return rows


def kernels_table(runs):
    labels = sorted({run["label"] for run in runs
                     if run["label"].startswith("kernels-")})
    if not labels:
        return []
    sets = ["chosen"] + [label[len("kernels-"):] for label in labels]
    rows = [
        "| model | chosen set | "
        + " | ".join(f"{s} ns/sample" for s in sets)
        + " | " + " | ".join(f"{s} max abs error" for s in sets) + " |",
        "|---|---|" + "---|" * (2 * len(sets)),
    ]
    for model, name, *_ in ISSUE:
        chosen = sorted({line.get("kernels") or "-"
                         for line in collect(runs, "cpu", model, 1)})
        times, errors = [], []
        for label in ["cpu"] + labels:
            lines = collect(runs, label, model, 1)
            times.append(spread([line["ns_per_sample"] for line in lines]))
            values = [line["max_abs_error"] for line in lines
                      if line["max_abs_error"] is not None]
            errors.append(f"{max(values):.2g}" if values else "-")
        rows.append(f"| {name} | {', '.join(chosen) or '-'} | "
                    + " | ".join(times) + " | "
                    + " | ".join(errors) + " |")
    return rows


def compact_table(runs):
    """One stream with FP32, FP16 and BF16 weights (labels cpu, cpu-fp16,
    cpu-bf16), and each one's largest difference from cpu-ref."""
    formats = [("cpu", "FP32"), ("cpu-fp16", "FP16"), ("cpu-bf16", "BF16")]
    present = [(label, name) for label, name in formats
               if any(run["label"] == label for run in runs)]
    if len(present) < 2:
        return []
    rows = [
        "| model | "
        + " | ".join(f"{name} ns/sample (kernels)" for _, name in present)
        + " | " + " | ".join(f"{name} max abs error" for _, name in present)
        + " | target (issue) |",
        "|---|" + "---|" * (2 * len(present) + 1),
    ]
    for model, name, _, _, target in ISSUE:
        times, errors = [], []
        for label, _ in present:
            lines = collect(runs, label, model, 1)
            kernels = sorted({line.get("kernels") or "-" for line in lines})
            times.append(spread([line["ns_per_sample"] for line in lines])
                         + (f" ({', '.join(kernels)})" if lines else ""))
            values = [line["max_abs_error"] for line in lines
                      if line["max_abs_error"] is not None]
            errors.append(f"{max(values):.2g}" if values else "-")
        rows.append(f"| {name} | " + " | ".join(times) + " | "
                    + " | ".join(errors) + f" | {target} |")
    return rows


def markdown(runs, backends, args):
    cpu_detail = next((b["detail"] for b in backends if b["name"] == "cpu"),
                      "?")
    first = next((line for run in runs for line in run["lines"]), {})
    lines = [
        f"# Statewave CPU speed (issue 8), {args.date}",
        "",
        f"- Machine: {args.cpu_model} (`/proc/cpuinfo` model name), "
        f"`nproc` {args.nproc}; {args.kernel}",
        f"- cpu backend: {cpu_detail}",
        f"- statewave {first.get('statewave', '?')} (commit {args.commit}), "
        f"`{args.command}`: {args.repeat} repeats of the standard set, "
        f"{args.seconds} s of noise per measurement, 128-frame blocks at "
        "48 kHz, synchronous; each measurement in its own "
        "`statewave bench --json` run at normal priority",
        f"- Load before starting: `{args.uptime.strip()}`"
        + (f" (waited {int(args.waited) // 60} min for the 1-minute load "
           f"average to fall to {args.max_load})" if int(args.waited) else "")
        + f"; after the last run: `{args.uptime_after.strip()}`. The "
        "benchmark keeps one core busy itself, so about 1 of the load "
        "averages below is its own",
    ]
    for run in runs:
        lines.append(
            f"- repeat {run['repeat']}, {run['label']}: load average "
            f"(1, 5, 15 min) before {run['load_average_before']}, after "
            f"{run['load_average_after']}")
    if args.note:
        lines.append(f"- {args.note}")
    lines += [
        "",
        "Figures are medians over the repeats, with the smallest and largest "
        "in brackets; each repeat's figure is itself the median over the "
        "measurement's blocks. ns/sample: median block time / (block × "
        "streams). Real-time factor: audio seconds of every stream per wall "
        "second, 1e9 / (ns/sample × streams × 48000). Max abs error: the "
        "largest |cpu − cpu-ref| on the same input over every repeat "
        "(streams 0 and N−1 of each run). Engine bytes: the heap "
        "`sw_engine_new` took for one stream (weights in the kernels' "
        "layout, state, scratch, malloc's headers), and in brackets what one "
        "stream more adds; the canonical weights stay in the model and are "
        "not counted.",
        "",
        "## One stream: the standard set",
        "",
    ]
    lines += one_stream_table(runs)
    lines += [
        "",
        "## Streams: one engine, N streams through the same weights",
        "",
        "The cost of N streams against one is the median block time of N "
        "streams over that of one stream in the same run.",
        "",
    ]
    lines += streams_table(runs)
    table = compact_table(runs)
    if table:
        lines += [
            "",
            "## Compact weights: one stream with FP32, FP16 and BF16 weights "
            "(`--weights`), the error each costs against cpu-ref",
            "",
        ]
        lines += table
    table = kernels_table(runs)
    if table:
        lines += [
            "",
            "## Kernel sets: the set each engine chose, and the cpu backend "
            "forced to each set this CPU has (`STATEWAVE_CPU_KERNELS`), one "
            "stream",
            "",
        ]
        lines += table
    lines += [
        "",
        "RTNeural's figures are the issue's (its fastest compile-time-sized "
        "build and its JSON API, measured by the issue's author on this "
        "machine kind); they were not measured here. See bench/README.md for "
        "the method.",
    ]
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    for option in ("date", "commit", "command", "note", "seconds", "repeat",
                   "backends", "cpu-model", "nproc", "kernel", "uptime", "uptime-after",
                   "waited", "max-load", "manifest", "json", "markdown"):
        parser.add_argument("--" + option, required=True)
    args = parser.parse_args()

    runs = load_runs(args.manifest)
    with open(args.backends, encoding="utf-8") as file:
        backends = json.load(file)

    document = {
        "date": args.date,
        "commit": args.commit,
        "command": args.command,
        "note": args.note or None,
        "machine": {"cpu_model": args.cpu_model, "nproc": int(args.nproc),
                    "kernel": args.kernel},
        "uptime_before": args.uptime.strip(),
        "uptime_after": args.uptime_after.strip(),
        "waited_s": int(args.waited),
        "seconds": float(args.seconds),
        "repeat": int(args.repeat),
        "backends": backends,
        "runs": runs,
    }
    with open(args.json, "w", encoding="utf-8") as file:
        json.dump(document, file, indent=1)
        file.write("\n")
    with open(args.markdown, "w", encoding="utf-8") as file:
        file.write(markdown(runs, backends, args))


if __name__ == "__main__":
    main()
