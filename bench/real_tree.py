"""A trail bucket's tree for the look-back benchmarks, made of third-party CloudTrail records
(bench/data/README.md says where each comes from, and under which licence).

    python3 bench/real_tree.py DIR FILES SPELLING MIX

Writes FILES gzipped log files of about 1 MB of records each, in the layout CloudTrail writes
(AWSLogs/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/...json.gz). Each record is one of the extract's,
sampled at random, with a fresh event id, request id and time, in the file's account and region,
its keys in the order CloudTrail writes them (eventVersion first). One record in fifty gets
non-ASCII text in its user agent (the extracts hold none; people's names and hosts do).

SPELLING is how the JSON is written:
  cloudtrail  as CloudTrail writes it: minified, non-ASCII raw, only JSON's required escapes
  escaped     the same with every non-ASCII character as \\uXXXX
  python      as Python's json.dumps writes it: {"Records": [{"eventVersion": ...}, ...]}

MIX is what the records are:
  pending     1% reads of secrets pending deletion (scan's finds) and 1% successful reads of
              prod/db (check prod/db's finds); the rest the extract's other calls
  busy        an account whose records are one fifth GetSecretValue of 200 secrets (a busy
              application): 0.2% of them reads of prod/db, 0.1% reads pending deletion
"""

import gzip
import json
import os
import random
import sys
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
EXTRACTS = ["stratus-red-team-detonation-logs.jsonl.gz", "panther-analysis-rule-tests.jsonl.gz"]
ACCOUNT = "123456789012"
REGIONS = ["us-east-1", "eu-west-1", "us-west-2"]
PENDING = "You can't perform this operation on the secret because it was marked for deletion."
# The order of a record's keys in the files CloudTrail writes; keys it does not name follow.
CLOUDTRAIL_ORDER = [
    "eventVersion", "userIdentity", "eventTime", "eventSource", "eventName", "awsRegion",
    "sourceIPAddress", "userAgent", "errorCode", "errorMessage", "requestParameters",
    "responseElements", "additionalEventData", "requestID", "eventID", "readOnly", "resources",
    "eventType", "apiVersion", "managementEvent", "recipientAccountId", "serviceEventDetails",
    "sharedEventID", "vpcEndpointId", "eventCategory", "tlsDetails", "sessionCredentialFromConsole",
]
NON_ASCII = " (Zoë Ångström; 東京)"
FILE_BYTES = 1_000_000


def load():
    calls, reads = [], []
    for name in EXTRACTS:
        with gzip.open(os.path.join(HERE, "data", name), "rt", encoding="utf-8") as lines:
            for line in lines:
                record = json.loads(line)
                if (record.get("eventSource"), record.get("eventName")) == (
                        "secretsmanager.amazonaws.com", "GetSecretValue"):
                    reads.append(record)
                else:
                    calls.append(record)
    return calls, reads


def in_order(record):
    ordered = {key: record[key] for key in CLOUDTRAIL_ORDER if key in record}
    ordered.update((key, value) for key, value in record.items() if key not in ordered)
    ordered.setdefault("eventVersion", "1.08")
    return {"eventVersion": ordered.pop("eventVersion"), **ordered}


def read_of(template, region, secret, refused):
    record = json.loads(json.dumps(template))
    arn = f"arn:aws:secretsmanager:{region}:{ACCOUNT}:secret:{secret}-AbCdEf"
    record["requestParameters"] = {"secretId": arn}
    record["responseElements"] = None
    record.pop("errorCode", None)
    record.pop("errorMessage", None)
    if refused:
        record["errorCode"] = "InvalidRequestException"
        record["errorMessage"] = PENDING
    record["resources"] = [{"accountId": ACCOUNT, "type": "AWS::SecretsManager::Secret", "ARN": arn}]
    return record


def record_for(rng, mix, calls, reads, region):
    roll = rng.random()
    if mix == "pending":
        if roll < 0.01:
            return read_of(rng.choice(reads), region, f"team-{rng.randrange(40)}/old-key", True)
        if roll < 0.02:
            return read_of(rng.choice(reads), region, "prod/db", False)
    else:
        if roll < 0.001:
            return read_of(rng.choice(reads), region, f"team-{rng.randrange(40)}/old-key", True)
        if roll < 0.003:
            return read_of(rng.choice(reads), region, "prod/db", False)
        if roll < 0.2:
            return read_of(rng.choice(reads), region, f"app/service-{rng.randrange(200)}/db", False)
    return json.loads(json.dumps(rng.choice(calls)))


def spelt(records, spelling):
    if spelling == "cloudtrail":
        return '{"Records":[' + ",".join(
            json.dumps(r, separators=(",", ":"), ensure_ascii=False) for r in records) + "]}"
    if spelling == "escaped":
        return '{"Records":[' + ",".join(
            json.dumps(r, separators=(",", ":"), ensure_ascii=True) for r in records) + "]}"
    if spelling == "python":
        return json.dumps({"Records": records})
    raise SystemExit(f"unknown spelling {spelling!r}: cloudtrail, escaped or python")


def main():
    if len(sys.argv) != 5:
        raise SystemExit(__doc__)
    out, files, spelling, mix = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    if mix not in ("pending", "busy"):
        raise SystemExit(f"unknown mix {mix!r}: pending or busy")
    calls, reads = load()
    rng = random.Random(f"{spelling}-{mix}")
    for i in range(files):
        region = REGIONS[i % 3]
        day = 1 + (i // 96) % 28
        folder = os.path.join(out, "AWSLogs", ACCOUNT, "CloudTrail", region, "2026", "10", f"{day:02}")
        os.makedirs(folder, exist_ok=True)
        records, size = [], 0
        while size < FILE_BYTES:
            record = record_for(rng, mix, calls, reads, region)
            record["eventID"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            record["requestID"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            record["eventTime"] = f"2026-10-{day:02}T{rng.randrange(24):02}:{rng.randrange(60):02}:{rng.randrange(60):02}Z"
            record["awsRegion"] = region
            record["recipientAccountId"] = ACCOUNT
            if rng.random() < 0.02:
                record["userAgent"] = str(record.get("userAgent", "")) + NON_ASCII
            record = in_order(record)
            records.append(record)
            size += len(json.dumps(record))
        name = f"{ACCOUNT}_CloudTrail_{region}_202610{day:02}T{i % 2400:04}Z_{i:06}.json.gz"
        with gzip.open(os.path.join(folder, name), "wb", compresslevel=6) as file:
            file.write(spelt(records, spelling).encode("utf-8"))


if __name__ == "__main__":
    main()
