#!/usr/bin/env python3
"""Collects the `statewave bench --json` reports of one bench/run.sh run into
one JSON file and a markdown summary. Standard library only.

Each report is the list of the JSON objects `statewave bench --json` printed,
one a line: a measurement, or a search's steps followed by its answer."""

import argparse
import json


def load_runs(manifest):
    """(figure, backend, mode, report or None) per manifest line."""
    runs = []
    with open(manifest, encoding="utf-8") as lines:
        for line in lines:
            figure, backend, mode, path = line.rstrip("\n").split("\t")
            report = None
            if figure != "skipped":
                with open(path, encoding="utf-8") as file:
                    report = [json.loads(text) for text in file
                              if text.strip()]
            runs.append((figure, backend, mode, report))
    return runs


def us(value):
    return f"{value:.1f}"


def used(line):
    """The backend that ran, and the one asked for when it differs."""
    if line["backend"] == line["backend_asked"]:
        return line["backend"]
    return f"{line['backend']} (asked {line['backend_asked']})"


def latency_table(runs):
    rows = [
        "| backend | streaming | block | block duration µs | p50 µs | p99 µs "
        "| max µs | ns/sample | real-time factor | real time |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for figure, _, mode, report in runs:
        if figure != "latency":
            continue
        line = report[-1]
        rows.append(
            f"| {used(line)} | {mode} | {line['block']} "
            f"| {us(line['block_us'])} | {us(line['p50_us'])} "
            f"| {us(line['p99_us'])} | {us(line['max_us'])} "
            f"| {line['ns_per_sample']:.1f} "
            f"| {line['realtime_factor']:.2f} "
            f"| {'holds' if line['realtime'] else 'fails'} |")
    return rows


def search_table(runs, figure, over):
    rows = [
        f"| backend | streaming | largest {over} | smallest failing "
        "| stopped by | p50 µs | p99 µs | steps |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, _, mode, report in runs:
        if name != figure:
            continue
        answer = report[-1]
        result = answer["result"]
        failing = answer["smallest_failing"]
        rows.append(
            f"| {used(answer)} | {mode} | {answer['largest']} "
            f"| {failing if failing is not None else '-'} "
            f"| {answer['stopped_by']} "
            f"| {us(result['p50_us']) if result else '-'} "
            f"| {us(result['p99_us']) if result else '-'} "
            f"| {answer['steps']} |")
    return rows


def machine_lines(runs, backends, args):
    # Every measurement line names the machine; a search's answer does not.
    lines_run = [line for _, _, _, report in runs if report
                 for line in report if "cpu" in line]
    machine = lines_run[0] if lines_run else {}
    gpus = sorted({line["gpu"] for line in lines_run if line.get("gpu")})
    lines = [
        f"- CPU: {machine.get('cpu', 'unknown')}, "
        f"{machine.get('cores', '?')} cores",
        f"- GPU: {'; '.join(gpus) if gpus else 'none used'}",
    ]
    for backend in backends:
        lines.append(
            f"- backend {backend['name']}: built "
            f"{'yes' if backend['built'] else 'no'}, usable "
            f"{'yes' if backend['usable'] else 'no'}: {backend['detail']}")
    version = machine.get("statewave", "?")
    lines += [
        f"- statewave {version} (commit {args.commit}); {args.seconds} s of "
        f"audio per measurement; `{args.command}`",
        f"- load average (1, 5, 15 min) before: {args.load_before or '?'}, "
        f"after: {args.load_after or '?'}",
    ]
    if args.note:
        lines.append(f"- {args.note}")
    return lines


def markdown(runs, backends, args):
    lines = [f"# Statewave benchmark, {args.date}, {args.host}", ""]
    lines += machine_lines(runs, backends, args)
    lines += [
        "",
        "## Block latency: LSTM-40, mono, 48 kHz (host in → host out)",
        "",
    ]
    lines += latency_table(runs)
    lines += [
        "",
        "## Largest LSTM-128 stream count in real time: 48 kHz, 256-frame "
        "blocks",
        "",
    ]
    lines += search_table(runs, "streams", "streams")
    lines += [
        "",
        "## Largest single-stream LSTM in real time: 48 kHz, 128-frame "
        "blocks",
        "",
    ]
    lines += search_table(runs, "units", "units")
    skipped = [backend for figure, backend, _, _ in runs if figure == "skipped"]
    if skipped:
        lines += ["", "## Skipped", ""]
        details = {b["name"]: b["detail"] for b in backends}
        lines += [f"- {b}: {details.get(b, 'unknown backend')}"
                  for b in skipped]
    lines += [
        "",
        "Real time holds when the 99th percentile of the block time is below "
        "the block's duration; searches stop within 1/32 of the answer (see "
        "bench/README.md).",
    ]
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    for option in ("date", "host", "commit", "command", "note", "seconds",
                   "backends",
                   "load-before", "load-after", "manifest", "json",
                   "markdown"):
        parser.add_argument("--" + option, required=True)
    args = parser.parse_args()

    runs = load_runs(args.manifest)
    with open(args.backends, encoding="utf-8") as file:
        backends = json.load(file)

    document = {
        "date": args.date,
        "host": args.host,
        "commit": args.commit,
        "command": args.command,
        "note": args.note or None,
        "seconds": float(args.seconds),
        "load_average_before": args.load_before or None,
        "load_average_after": args.load_after or None,
        "backends": backends,
        "runs": [{"figure": figure, "backend": backend,
                  "streaming": None if figure == "skipped" else mode,
                  "report": report}
                 for figure, backend, mode, report in runs],
    }
    with open(args.json, "w", encoding="utf-8") as file:
        json.dump(document, file, indent=2)
        file.write("\n")
    with open(args.markdown, "w", encoding="utf-8") as file:
        file.write(markdown(runs, backends, args))


if __name__ == "__main__":
    main()
