"""What the Serverless Application Repository would say of template.yaml, offline.

Reads the template's AWS::ServerlessRepo::Application metadata with SAM CLI's own parser and
validates it as `sam publish` does before CreateApplication; expands the template with the SAM
translator (what CloudFormation runs) and lists every resource type it creates, against the
repository's list of supported resources (docs/sar-supported-resources.txt). Prints one JSON
document; tests/it/packaging.rs reads it. Run with the project's .venv (scripts/python-tools).

Usage: python sar_check.py TEMPLATE SUPPORTED_LIST
"""

import json
import os
import sys

from samcli.vendor.serverlessrepo.application_metadata import ApplicationMetadata
from samcli.vendor.serverlessrepo.exceptions import InvalidApplicationMetadataError
from samcli.vendor.serverlessrepo.parser import get_app_metadata, parse_template
from samtranslator.translator.transform import transform


class NoManagedPolicies:
    """The translator asks for AWS managed policy ARNs only for policy names; there are none."""

    def load(self):
        return {}


def main(template_path, supported_path):
    with open(template_path, encoding="utf-8") as f:
        text = f.read()
    template = parse_template(text)
    metadata = get_app_metadata(template)
    errors = []
    try:
        ApplicationMetadata(metadata.template_dict).validate(["author", "description", "name"])
    except InvalidApplicationMetadataError as e:
        errors.append(str(e))
    base = os.path.dirname(os.path.abspath(template_path))
    for key in ("LicenseUrl", "ReadmeUrl"):
        path = metadata.template_dict.get(key)
        if path and not os.path.isfile(os.path.join(base, path)):
            errors.append(f"{key} {path} is not a file beside the template")

    # The translator wants an S3 address where `sam package` would put one; no region lookup.
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    expanded = transform(
        parse_template(text.replace("CodeUri: .", "CodeUri: s3://bucket/key")),
        {},
        NoManagedPolicies(),
    )
    types = sorted({r["Type"] for r in expanded["Resources"].values()})
    with open(supported_path, encoding="utf-8") as f:
        supported = {line.strip() for line in f if line.startswith("AWS::")}
    print(
        json.dumps(
            {
                "metadata_errors": errors,
                "resource_types": types,
                "unsupported": [t for t in types if t not in supported],
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
