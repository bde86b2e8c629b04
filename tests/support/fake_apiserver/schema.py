"""Schema: the subset document, its lookup tables and a small JSON-schema walker."""

import base64
import json
import os
import re


# From tests/support/fake_apiserver/, four levels up is the directory that holds the
# checkout, as three were from the single file tests/support/fake_apiserver.py.
DEFAULT_SCHEMA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..",
                              "..", "shared", "k8s", "openapi-subset.json")

DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


class Schema:
    def __init__(self, path):
        with open(path, encoding="utf-8") as f:
            self.doc = json.load(f)
        subset = self.doc["x-subset"]
        self.kinds = subset["kinds"]
        self.resources = subset["resources"]

    def resolve(self, ref):
        assert ref.startswith("#/definitions/"), ref
        return self.doc["definitions"][ref[len("#/definitions/"):]]

    def definition_for(self, api_version, kind):
        ref = self.kinds.get(f"{api_version} {kind}")
        return self.resolve(ref) if ref else None


class Finding:
    """One schema violation: `category` is unknown, type, format or required."""

    def __init__(self, category, field, message, parent=None, key=None):
        self.category, self.field, self.message = category, field, message
        self.parent, self.key = parent, key  # where an unknown field lives, so it can be dropped


def json_type_name(value):
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


def type_matches(value, wanted):
    if wanted == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if wanted == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if wanted == "string":
        return isinstance(value, str)
    if wanted == "boolean":
        return isinstance(value, bool)
    if wanted == "object":
        return isinstance(value, dict)
    if wanted == "array":
        return isinstance(value, list)
    return True


def format_problem(value, fmt):
    """A message when `value` breaks `fmt`, else None."""
    if fmt == "int32" and isinstance(value, int) and not -2**31 <= value < 2**31:
        return f"cannot unmarshal number {value} into a value of type int32"
    if fmt == "int64" and isinstance(value, int) and not -2**63 <= value < 2**63:
        return f"cannot unmarshal number {value} into a value of type int64"
    if fmt == "byte" and isinstance(value, str):
        try:
            base64.b64decode(value, validate=True)
        except ValueError:
            return "illegal base64 data"
    if fmt == "date-time" and isinstance(value, str) and not DATE_TIME.match(value):
        return f"parsing time \"{value}\" as RFC 3339 failed"
    return None


def join_field(path, key):
    return f"{path}.{key}" if path else key


def walk(schema, node, value, path, findings):
    """Appends every violation of `node` by `value` (at field path `path`) to `findings`."""
    while "$ref" in node:
        node = schema.resolve(node["$ref"])
    if "oneOf" in node:
        matching = []
        for branch in node["oneOf"]:
            sub = []
            walk(schema, branch, value, path, sub)
            if not sub:
                matching.append(branch)
        if len(matching) != 1:
            patterns = [b["pattern"] for b in node["oneOf"] if "pattern" in b]
            if patterns and isinstance(value, str):  # a Quantity string that does not parse
                message = f"quantities must match the regular expression '{patterns[0]}'"
            else:
                kinds = " or ".join(b.get("type", "?") for b in node["oneOf"])
                message = f"cannot unmarshal {json_type_name(value)} into {kinds}"
            findings.append(Finding("format", path, message))
        return
    wanted = node.get("type")
    if wanted and not type_matches(value, wanted):
        go_type = node.get("format") or wanted
        findings.append(Finding("type", path, f"json: cannot unmarshal {json_type_name(value)} "
                                              f"into Go struct field {path} of type {go_type}"))
        return
    if "format" in node:
        problem = format_problem(value, node["format"])
        if problem:
            findings.append(Finding("format", path, problem))
            return
    if "pattern" in node and isinstance(value, str) and not re.search(node["pattern"], value):
        findings.append(Finding("format", path, f"must match the regular expression "
                                                f"'{node['pattern']}'"))
        return
    if isinstance(value, dict):
        props = node.get("properties", {})
        for key in node.get("required", []):
            if key not in value:
                findings.append(Finding("required", join_field(path, key), "Required value"))
        extra = node.get("additionalProperties")
        for key, item in list(value.items()):
            field = join_field(path, key)
            if key in props:
                walk(schema, props[key], item, field, findings)
            elif extra is False:
                findings.append(Finding("unknown", field, f'unknown field "{field}"', value, key))
            elif isinstance(extra, dict):
                walk(schema, extra, item, field, findings)
    elif isinstance(value, list) and "items" in node:
        for i, item in enumerate(value):
            walk(schema, node["items"], item, f"{path}[{i}]", findings)
