"""The same job as the Rust function, written as a team would write it as a Python Lambda:
base64, gzip, json.loads of the envelope and of each message, the same rule. Times each stage
on the benchmark payloads with the standard json module and with orjson, each two ways: the
naive handler parses every message; the careful one first tests each message for the text
every matching record must hold (the same pre-check as the Rust function: " because it was ",
or a \\u escape that could hide it) and parses only those.

python bench/reference.py PAYLOAD_DIR  ->  one JSON line per (variant, payload, stage)
"""

import base64
import gzip
import json
import pathlib
import statistics
import sys
import time

try:
    import orjson
except ImportError:  # the table says so instead of failing
    orjson = None

WORDINGS = ("secret because it was marked for deletion", "secret because it was deleted")


def matches(record):
    return (
        record.get("eventSource") == "secretsmanager.amazonaws.com"
        and record.get("eventName") == "GetSecretValue"
        and any(w in (record.get("errorMessage") or "") for w in WORDINGS)
    )


def detect(envelope, loads):
    found = []
    for log_event in envelope.get("logEvents", []):
        try:
            record = loads(log_event["message"])
        except ValueError:
            continue
        if isinstance(record, dict) and matches(record):
            found.append(record)
    return found


PRECHECK = (" because it was ", "\\u")


def detect_careful(envelope, loads):
    found = []
    for log_event in envelope.get("logEvents", []):
        message = log_event["message"]
        if not any(needle in message for needle in PRECHECK):
            continue
        try:
            record = loads(message)
        except ValueError:
            continue
        if isinstance(record, dict) and matches(record):
            found.append(record)
    return found


def handler(raw_event, loads, detect=detect):
    event = loads(raw_event)
    data = gzip.decompress(base64.b64decode(event["awslogs"]["data"]))
    envelope = loads(data)
    if envelope.get("messageType") == "CONTROL_MESSAGE":
        return []
    return detect(envelope, loads)


def timed(function, budget=1.0):
    """Median seconds per call, over as many calls as fit in `budget` seconds (at least 5)."""
    function()
    times, start = [], time.perf_counter()
    while len(times) < 5 or time.perf_counter() - start < budget:
        before = time.perf_counter()
        function()
        times.append(time.perf_counter() - before)
    return statistics.median(times)


def main():
    directory = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "target/bench-payloads")
    variants = [("python", json.loads, detect), ("python-careful", json.loads, detect_careful)]
    if orjson is not None:
        variants.append(("python-orjson", orjson.loads, detect))
        variants.append(("python-orjson-careful", orjson.loads, detect_careful))
    for path in sorted(directory.glob("*.json")):
        raw_event = path.read_bytes()
        data = json.loads(raw_event)["awslogs"]["data"]
        compressed = base64.b64decode(data)
        decoded = gzip.decompress(compressed)
        for variant, loads, rule in variants:
            envelope = loads(decoded)
            stages = {
                "lambda_event": lambda: loads(raw_event),
                "base64": lambda: base64.b64decode(data),
                "inflate": lambda: gzip.decompress(compressed),
                "envelope": lambda: loads(decoded),
                "detection": lambda: rule(envelope, loads),
                "end_to_end": lambda: handler(raw_event, loads, rule),
            }
            for stage, function in stages.items():
                print(json.dumps({
                    "variant": variant, "payload": path.stem, "stage": stage,
                    "seconds": timed(function), "decoded_bytes": len(decoded),
                    "events": len(envelope["logEvents"]),
                    "matches": len(handler(raw_event, loads, rule)),
                }), flush=True)


if __name__ == "__main__":
    main()
