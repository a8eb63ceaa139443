"""Prints the benchmark table from criterion's estimates and the Python reference's lines.

python bench/report.py CRITERION_DIR PYTHON_RESULTS EXTRA_JSON [HOT_PATH_FLOOR_JSON]

The hot-path target (end to end at least 0.8x inflate alone, on the full no-match batch) is
judged on the pipeline bench's interleaved rounds when HOT_PATH_FLOOR_JSON is given: criterion
times the two stages seconds apart, which on a shared machine drifts by more than the margin.
"""

import json
import pathlib
import platform
import sys

STAGES = ["lambda_event", "base64", "lambda_event_decoded", "inflate", "envelope", "detection", "compose_alert", "end_to_end"]


def main():
    criterion = pathlib.Path(sys.argv[1])
    python = [json.loads(line) for line in pathlib.Path(sys.argv[2]).read_text().splitlines() if line.strip()]
    extra = json.loads(pathlib.Path(sys.argv[3]).read_text())
    floor_path = pathlib.Path(sys.argv[4]) if len(sys.argv) > 4 else None
    floor = json.loads(floor_path.read_text()) if floor_path and floor_path.exists() else None
    sizes = {(r["payload"]): (r["decoded_bytes"], r["events"]) for r in python}
    # Smallest batch first; of two batches of one size, the one without a match first.
    payloads = sorted(sizes, key=lambda p: ("typical" not in p, "one-match" in p, p))

    def rust(payload, stage):
        path = criterion / payload / stage / "new" / "estimates.json"
        if not path.exists():
            return None
        # The median: robust to the bursts of a shared machine, like the Python side's.
        return json.loads(path.read_text())["median"]["point_estimate"] / 1e9

    def py(variant, payload, stage):
        for r in python:
            if (r["variant"], r["payload"], r["stage"]) == (variant, payload, stage):
                return r["seconds"]
        return None

    def mbps(seconds, payload):
        return sizes[payload][0] / seconds / 1e6 if seconds else float("nan")

    print(f"machine: {platform.machine()}, {extra.get('cpu', '?')}, Python {platform.python_version()}")
    print()
    for payload in payloads:
        decoded, events = sizes[payload]
        print(f"### {payload}: {events} events, {decoded / 1e6:.2f} MB decoded")
        print()
        print("| stage | Rust µs | Rust MB/s | Rust events/s | Python µs | orjson µs | Rust/Python | Rust/orjson |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for stage in STAGES:
            r, p, o = rust(payload, stage), py("python", payload, stage), py("python-orjson", payload, stage)
            if r is None:
                continue
            ratio = lambda other: f"{other / r:.1f}x" if other else "n/a"
            micros = lambda s: f"{s * 1e6:,.0f}" if s else "n/a"
            print(f"| {stage} | {r * 1e6:,.1f} | {mbps(r, payload):,.0f} | {events / r:,.0f} | {micros(p)} | {micros(o)} | {ratio(p)} | {ratio(o)} |")
        inflate, e2e = rust(payload, "inflate"), rust(payload, "end_to_end")
        if floor and floor["payload"] == payload:
            print()
            ratio = floor["ratio_median"]
            print(f"end to end runs at {ratio:.2f}x the speed of inflate alone (target: at least 0.8x: "
                  f"{'met' if ratio >= 0.8 else 'NOT met'}); median of {floor['rounds']} interleaved rounds of "
                  f"{floor['calls_per_round']} calls each, quartiles {floor['ratio_lower_quartile']:.2f}x to "
                  f"{floor['ratio_upper_quartile']:.2f}x; inflate {floor['inflate_median_seconds'] * 1e6:,.0f} µs, "
                  f"end to end {floor['end_to_end_median_seconds'] * 1e6:,.0f} µs"
                  + (f"; criterion's medians, taken seconds apart: {inflate / e2e:.2f}x" if inflate and e2e else ""))
        elif inflate and e2e:
            print()
            target = " (target: at least 0.8x)" if payload == "full-no-match" else ""
            print(f"end to end runs at {inflate / e2e:.2f}x the speed of inflate alone{target}")
        if e2e:
            labelled = [("json, every message parsed", "python"), ("json, substring test first", "python-careful"),
                        ("orjson, every message parsed", "python-orjson"), ("orjson, substring test first", "python-orjson-careful")]
            ratios = [f"{label} {py(v, payload, 'end_to_end') / e2e:.1f}x" for label, v in labelled if py(v, payload, "end_to_end")]
            if ratios:
                print(f"end to end against Python: {', '.join(ratios)}")
        # What the ratios to Python could be at best: a function that did nothing but inflate.
        python_e2e, orjson_e2e = py("python", payload, "end_to_end"), py("python-orjson", payload, "end_to_end")
        if inflate and python_e2e and orjson_e2e:
            print(f"ceiling: inflate alone would be {python_e2e / inflate:.1f}x Python and {orjson_e2e / inflate:.1f}x orjson end to end")
        backends = [(name, rust(payload, stage)) for name, stage in
                    (("libdeflate", "inflate"), ("zlib-rs", "inflate_zlib_rs"), ("miniz_oxide", "inflate_miniz_oxide"))]
        if all(seconds for _, seconds in backends):
            print("gzip backends: " + ", ".join(
                f"{name} {seconds * 1e6:,.0f} µs ({mbps(seconds, payload) / 1e3:.2f} GB/s)" for name, seconds in backends))
        print()
    base = {p: rust(p, "end_to_end") for p in payloads}
    for size in ("typical", "full"):
        no, one = base.get(f"{size}-no-match"), base.get(f"{size}-one-match")
        if no and one:
            dn, d1 = rust(f"{size}-no-match", "detection"), rust(f"{size}-one-match", "detection")
            en, e1 = rust(f"{size}-no-match", "envelope"), rust(f"{size}-one-match", "envelope")
            alert = rust(f"{size}-one-match", "compose_alert") or 0.0
            print(f"{size}: one match costs {(one - no) * 1e6:+.1f} µs end to end over no match: "
                  f"envelope and pre-check {(e1 - en) * 1e6:+.1f} µs, detection {(d1 - dn) * 1e6:+.1f} µs "
                  f"(the parse of the matched record), composing its alert {alert * 1e6:.1f} µs")
    print()
    for key, value in extra.items():
        if key != "cpu":
            print(f"{key}: {value}")


if __name__ == "__main__":
    main()
