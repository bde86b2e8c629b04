#!/usr/bin/env python3
"""A schema-validating fake Kubernetes API server for the adapter's tests (standard library only).

It follows shared/k8s/fake_apiserver_notes.md and builds its routes and its body schemas from
shared/k8s/openapi-subset.json (`x-subset.resources`, `x-subset.kinds`). It binds 127.0.0.1:0
only, prints `PORT=<n>` as its first stdout line, and exits when stdin closes or on SIGTERM.
Its own tests: tests/unit/kubernetes/fake_apiserver_controllers_test.py (Python) and
tests/unit/kubernetes/fake_apiserver_test.cpp (the C++ ApiClient against it).

What it does:
  * State (§2): objects keyed by (plural, namespace or "", name); one global resourceVersion;
    server-set uid, creationTimestamp, resourceVersion and generation (bumped only when `spec`
    changes); client-sent uid/resourceVersion/creationTimestamp/status ignored on create;
    namespaces default, kube-system and kube-public (with ServiceAccount "default") at start.
    A virtual clock: POST /__fake/tick?seconds=N, or --auto-tick (1 s every 20 ms of wall time).
  * Routes (§3) for every x-subset resource: list (labelSelector =, ==, !=, in, notin, exists,
    !key; fieldSelector metadata.name, metadata.namespace and, for pods, status.phase,
    spec.nodeName; limit/continue), watch, create, deletecollection; the all-namespaces list
    and watch; item GET, PUT, PATCH, DELETE; …/status; deployments/{name}/scale (autoscaling/v1
    Scale); pods/{name}/log; services/{name}[:{port}]/proxy[/{path}]; serviceaccounts/{name}/
    token (a TokenRequest whose token then authenticates); /version/, /api, /apis, /api/v1 and
    /apis/<group>/<version> discovery. Unknown paths get 404, unknown verbs 405.
  * Request pipeline (§4): bearer token (--token), client certificates (--client-cert-user), 415,
    JSON syntax and duplicate keys (400), null stripping, type meta fill-in and mismatch (400),
    the schema walk with fieldValidation Strict/Warn/Ignore, 409 AlreadyExists/Conflict, 404 and
    403 NamespaceTerminating on create, dryRun=All. PATCH: merge, JSON patch (RFC 6902),
    strategic merge and apply (both approximated as a merge patch; apply creates a missing
    object and needs fieldManager).
  * Semantic checks (§5): names (DNS-1123 subdomain; label for Namespace, DNS-1035 for
    Service), label keys and values, containers (name, uniqueness, image, ports), Job
    (restartPolicy, name ≤ 63, limits, immutable template/selector/completions), Deployment
    (selector matches template labels, restartPolicy Always, immutable selector), Service
    (ports, names, nodePort range and uniqueness, immutable clusterIP), HPA (target, min/max,
    metric members, utilization), RBAC (verbs, apiGroups, roleRef kind and immutability),
    Secret/ConfigMap keys and size.
  * Defaulting (§5): pod templates and Pods, Job (incl. generated selector and the four
    job labels), Deployment, Service (clusterIP from 10.96.0.0/12, nodePorts 30000-32767),
    HPA.
  * Controllers on the virtual clock (§6), one class each: Kubelet (runs every pod by its
    script: start delay, run time, exit code, log, image-pull failure, unschedulable, crash
    loop with restart back-off, readiness), JobController (scripts via PUT /__fake/scripts/
    jobs/{ns}/{name}, name "*" for a namespace default; retries with 10 s x 2^(n-1) back-off
    capped at 360 s, backoffLimit, activeDeadlineSeconds, SuccessCriteriaMet then Complete,
    FailureTarget then Failed, ttlSecondsAfterFinished, suspend/resume, parallelism and
    completions, OnFailure restarts in place), DeploymentController (scripts via PUT
    /__fake/scripts/deployments/…; pods <deploy>-<hash>-<5>, rollouts on template change,
    scaling, status counts, Available/Progressing incl. ProgressDeadlineExceeded, the revision
    annotation), HpaController (PUT /__fake/hpa/{ns}/{name}/desired?replicas=N clamps and
    scales; FailedGetResourceMetric without cpu requests; keeps the target in [min, max]),
    GarbageCollector (Background, Foreground, Orphan; dangling owner references), and
    NamespaceController (Terminating namespaces empty out and go; ServiceAccount "default").
  * Deletion (§6): propagationPolicy from the query or a DeleteOptions body, Jobs orphaning by
    default with the real Warning header, preconditions, graceful pod deletion
    (gracePeriodSeconds; at once for unscheduled or finished pods), finalizers, protected
    namespaces.
  * Pod logs (§6): text/plain; container, tailLines, limitBytes, sinceSeconds, sinceTime,
    timestamps, previous, follow (chunked until the container ends); the real 400s and 404s.
  * Service proxy (§7): backends registered with PUT /__fake/backends/{ns}/{svc}/{port};
    503 without a backend or a ready selected pod; method, body, headers (not Authorization)
    and query relayed; status, content type and body relayed back.
  * Watches (§9): ?watch=true with resourceVersion (unset/"0": synthetic ADDED; N: replay; too
    old: one ERROR 410 Expired), allowWatchBookmarks (every 60 virtual seconds and at the end),
    timeoutSeconds (virtual), label and field selectors (a label change turns MODIFIED into
    ADDED/DELETED), --event-log-size, --chaos, POST /__fake/watch/close and /watch/expire.
  * Test control and faults (§8): GET /__fake/requests, GET /__fake/clock, POST /__fake/reset,
    POST|DELETE /__fake/faults ({method, pathRegex, times, respond:{code, retryAfterSeconds,
    message} | dropConnection | delayMs}), POST|DELETE /__fake/forbid ({verb, resource
    [, namespace]} gives the real 403 text), PUT /__fake/raw (store an object unvalidated).
    PUT|DELETE /__fake/nodes/{name}: v1 Nodes served read-only at /api/v1/nodes, unvalidated
    (Node is not in the subset; see FakeNodes).
    /__fake/ paths need no credentials and never see faults.
  * TLS and files (§1, §9): --tls (a throwaway CA and a server certificate for IP:127.0.0.1 made
    with the openssl CLI, in --tls-dir or a temporary directory), --kubeconfig PATH (JSON;
    --kubeconfig-namespace, default "policies"), --serviceaccount-dir (token, namespace, ca.crt).
  * Honesty (§10): every reply and watch event is walked against the subset; a fake-made object
    that breaks it becomes a 500 InternalError (an ERROR event in a watch) naming the field.
    --no-check-responses turns that off.

What it does NOT do: token-file rotation auth mode; server-side apply field ownership and
managedFields; strategic merge of lists by merge key; Indexed Jobs, podFailurePolicy,
successPolicy and backoffLimitPerIndex; ReplicaSets as objects (pods point at a synthetic owner
uid); Endpoints/EndpointSlices; real metrics for the HPA; protobuf/CBOR; admission, quotas and
real RBAC; exact message texts beyond the ones tests assert. Time only moves by ticks; a long
tick skips quiet seconds but controllers still see every second at which something changes.
"""

import argparse
import base64
import calendar
import copy
import functools
import hashlib
import math
import http.client
import ipaddress
import json
import os
import random
import re
import select
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

DEFAULT_SCHEMA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..",
                              "shared", "k8s", "openapi-subset.json")
DEFAULT_NAMESPACES = ("default", "kube-system", "kube-public")
NAME_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
IANA_SVC_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")

# The cluster the fake pretends to be: one node, the usual service and pod ranges.
SERVICE_CIDR = ipaddress.ip_network("10.96.0.0/12")
FIRST_SERVICE_IP = ipaddress.ip_address("10.96.0.10")  # .1 is the kubernetes Service
NODE_PORTS = (30000, 32767)
NODE_NAME, NODE_IP = "fake-node", "10.0.0.10"
POD_CIDR_BASE = ipaddress.ip_address("10.244.0.2")

JOB_ORPHAN_WARNING = ('299 - "child pods are preserved by default when jobs are deleted; set '
                      'propagationPolicy=Background to remove them or set '
                      'propagationPolicy=Orphan to suppress this warning"')
DEFAULT_ATTEMPT = {"runSeconds": 1, "exitCode": 0, "log": "ok\n"}
MAX_SETTLE_PASSES = 10  # controller passes per clock step until nothing more changes

RNG = random.Random()  # --seed makes generated names repeatable


def random_suffix(n=5):
    return "".join(RNG.choice(NAME_SUFFIX_ALPHABET) for _ in range(n))


def rfc3339(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def rfc3339_nano(t):
    whole = int(t)
    nanos = min(int(round((t - whole) * 1e9)), 999_999_999)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + ".%09dZ" % nanos


@functools.lru_cache(maxsize=4096)
def parse_time(text):
    """Seconds since the epoch for an RFC 3339 time the fake wrote (always UTC)."""
    return float(calendar.timegm(time.strptime(text[:19], "%Y-%m-%dT%H:%M:%S")))


class ApiError(Exception):
    """A failed request, carried up to the handler as a meta/v1 Status body."""

    def __init__(self, code, reason, message, details=None, headers=None, raw_headers=None):
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message
        self.details, self.headers = details, headers or []  # headers: Warning values
        self.raw_headers = raw_headers or []  # other (name, value) pairs, e.g. Retry-After

    def status(self):
        body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": self.message, "reason": self.reason}
        if self.details is not None:
            body["details"] = self.details
        body["code"] = self.code
        return body


# ---------------------------------------------------------------------------------------------
# Schema: the subset document, its lookup tables and a small JSON-schema walker.


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


# ---------------------------------------------------------------------------------------------
# Small helpers shared by the verbs and the controllers.


def strip_nulls(value):
    """The apiserver's decoder reads `null` as "not set"; so does the fake."""
    if isinstance(value, dict):
        return {k: strip_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [strip_nulls(v) for v in value]
    return value


def merge_patch(target, patch):
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def json_patch(target, operations):
    """RFC 6902 JSON patch; a failed operation is a 422, as on the server."""
    doc = copy.deepcopy(target)

    def pointer(path):
        if path == "":
            return []
        if not path.startswith("/"):
            raise ApiError(422, "Invalid", f"invalid JSON pointer {path!r}")
        return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]

    def parent_of(parts):
        node = doc
        for p in parts[:-1]:
            node = node[int(p)] if isinstance(node, list) else node[p]
        return node

    def get(parts):
        node = doc
        for p in parts:
            node = node[int(p)] if isinstance(node, list) else node[p]
        return node

    def add(parts, value):
        parent = parent_of(parts)
        last = parts[-1]
        if isinstance(parent, list):
            parent.insert(len(parent) if last == "-" else int(last), value)
        else:
            parent[last] = value

    def remove(parts):
        parent = parent_of(parts)
        return parent.pop(int(parts[-1]) if isinstance(parent, list) else parts[-1])

    if not isinstance(operations, list):
        raise ApiError(400, "BadRequest", "json patch must be a list of operations")
    for op in operations:
        try:
            kind, parts = op["op"], pointer(op["path"])
            if kind == "add":
                add(parts, copy.deepcopy(op["value"]))
            elif kind == "remove":
                remove(parts)
            elif kind == "replace":
                remove(parts)
                add(parts, copy.deepcopy(op["value"]))
            elif kind == "move":
                add(parts, remove(pointer(op["from"])))
            elif kind == "copy":
                add(parts, copy.deepcopy(get(pointer(op["from"]))))
            elif kind == "test":
                if get(parts) != op["value"]:
                    raise ApiError(422, "Invalid", f"the server rejected our request due to an "
                                   f"error in our request: testing value {op['path']} failed")
            else:
                raise ApiError(400, "BadRequest", f"unexpected json patch operation {kind!r}")
        except (KeyError, IndexError, ValueError, TypeError, AttributeError):
            raise ApiError(422, "Invalid", "the server rejected our request due to an error in "
                           f"our request: json patch {op.get('op')} operation does not apply: "
                           f"doc is missing path: {op.get('path')!r}")
    return doc


def group_of(api_version):
    return api_version.split("/")[0] if "/" in api_version else ""


def version_of(api_version):
    return api_version.split("/")[-1]


def split_selector(text):
    """Splits a label selector on commas that are not inside parentheses."""
    parts, depth, current = [], 0, ""
    for ch in text:
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return [p.strip() for p in parts if p.strip()]


def parse_label_selector(text):
    """A list of predicates over a labels dict; raises ApiError on a malformed selector."""
    predicates = []
    for term in split_selector(text):
        m = re.fullmatch(r"(\S+)\s+(in|notin)\s+\((.*)\)", term)
        if m:
            key, op = m.group(1), m.group(2)
            values = {v.strip() for v in m.group(3).split(",") if v.strip()}
            if op == "in":
                predicates.append(lambda l, k=key, vs=values: l.get(k) in vs)
            else:
                predicates.append(lambda l, k=key, vs=values: l.get(k) not in vs)
            continue
        m = re.fullmatch(r"([^=!\s]+)\s*(==|=|!=)\s*(\S*)", term)
        if m:
            key, op, val = m.groups()
            if op == "!=":
                predicates.append(lambda l, k=key, v=val: l.get(k) != v)
            else:
                predicates.append(lambda l, k=key, v=val: l.get(k) == v)
            continue
        m = re.fullmatch(r"(!?)([^=!\s()]+)", term)
        if m:
            negate, key = m.group(1) == "!", m.group(2)
            predicates.append(lambda l, k=key, n=negate: (k in l) != n)
            continue
        raise ApiError(400, "BadRequest", f"unable to parse requirement: {term!r}")
    return predicates


# Field selectors the real server supports for these kinds (a small, honest subset).
FIELD_GETTERS = {
    "metadata.name": lambda o: o["metadata"].get("name", ""),
    "metadata.namespace": lambda o: o["metadata"].get("namespace", ""),
}
POD_FIELD_GETTERS = {
    "status.phase": lambda o: o.get("status", {}).get("phase", ""),
    "spec.nodeName": lambda o: o.get("spec", {}).get("nodeName", ""),
    "spec.restartPolicy": lambda o: o.get("spec", {}).get("restartPolicy", ""),
}


def parse_field_selector(text, plural):
    """Predicates over whole objects for `fieldSelector` (=, ==, !=)."""
    getters = dict(FIELD_GETTERS, **(POD_FIELD_GETTERS if plural == "pods" else {}))
    predicates = []
    for term in split_selector(text):
        m = re.fullmatch(r"([^=!\s]+)\s*(==|=|!=)\s*(.*)", term)
        if not m:
            raise ApiError(400, "BadRequest", f"invalid selector: '{text}'; can't understand "
                                              f"'{term}'")
        key, op, value = m.group(1), m.group(2), m.group(3).strip()
        if key not in getters:
            known = ", ".join(f'"{k}"' for k in getters)
            raise ApiError(400, "BadRequest", f'"{key}" is not a known field selector: only '
                                              f"{known}")
        getter = getters[key]
        if op == "!=":
            predicates.append(lambda o, g=getter, v=value: g(o) != v)
        else:
            predicates.append(lambda o, g=getter, v=value: g(o) == v)
    return predicates


def selector_matches(selector, labels):
    """Whether a metav1.LabelSelector (matchLabels, matchExpressions) selects `labels`."""
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def selector_string(selector):
    """The label-selector query string for a LabelSelector, as Scale.status.selector has it."""
    terms = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In":
            terms.append(f"{key} in ({','.join(sorted(values))})")
        elif op == "NotIn":
            terms.append(f"{key} notin ({','.join(sorted(values))})")
        elif op == "Exists":
            terms.append(key)
        elif op == "DoesNotExist":
            terms.append(f"!{key}")
    return ",".join(terms)


def find_condition(conditions, kind):
    for c in conditions or []:
        if c.get("type") == kind:
            return c
    return None


def condition_true(obj, kind):
    c = find_condition(obj.get("status", {}).get("conditions"), kind)
    return c is not None and c.get("status") == "True"


def set_condition(conditions, kind, status, reason, message, now, probe=False, update=False):
    """Adds or updates one condition in place. lastTransitionTime moves only when the status
    flips, as every real controller does; `update` adds a lastUpdateTime (Deployments) and
    `probe` a lastProbeTime (Jobs)."""
    new = {"type": kind, "status": status}
    if probe:
        new["lastProbeTime"] = now
    if update:
        new["lastUpdateTime"] = now
    new.update({"lastTransitionTime": now, "reason": reason, "message": message})
    old = find_condition(conditions, kind)
    if old is None:
        conditions.append(new)
        return True
    if old.get("status") == status and (old.get("reason") or "") == reason and \
            (old.get("message") or "") == message:
        return False
    if old.get("status") == status:
        new["lastTransitionTime"] = old.get("lastTransitionTime", now)
    old.clear()
    old.update(new)
    return True


def owner_uids(obj):
    return [ref.get("uid") for ref in obj["metadata"].get("ownerReferences") or []]


def is_deleting(obj):
    return "deletionTimestamp" in obj["metadata"]


def pod_phase(pod):
    return pod.get("status", {}).get("phase", "Pending")


def pod_terminal(pod):
    return pod_phase(pod) in ("Succeeded", "Failed")


def pod_ready(pod):
    return condition_true(pod, "Ready")


def template_hash(template):
    """A stable 10-character pod-template-hash for a Deployment's template."""
    digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).digest()
    return "".join(NAME_SUFFIX_ALPHABET[b % len(NAME_SUFFIX_ALPHABET)] for b in digest[:10])


def scaled_value(value, total, round_up):
    """An IntOrString such as maxSurge "25%" resolved against `total`."""
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.endswith("%"):
        exact = total * int(value[:-1]) / 100
        return int(-(-exact // 1)) if round_up else int(exact // 1)
    return int(value or 0)


def go_value(value):
    """How a Go %#v-ish field error renders a value: strings quoted, numbers bare."""
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "map[string]string{" + ", ".join(f"{json.dumps(k)}:{json.dumps(v)}"
                                                for k, v in value.items()) + "}"
    return json.dumps(value)


# ---------------------------------------------------------------------------------------------
# Resources, semantic checks (notes §5) and defaulting.


class Resource:
    """One row of x-subset.resources plus the lookups the verbs need."""

    def __init__(self, row):
        self.row = row
        self.kind, self.api_version = row["kind"], row["apiVersion"]
        self.plural, self.namespaced = row["plural"], row["namespaced"]
        self.group = group_of(self.api_version)
        self.qualified = f"{self.plural}.{self.group}" if self.group else self.plural
        self.kind_qualified = f"{self.kind}.{self.group}" if self.group else self.kind
        self.subresources = row["subresources"]
        self.has_status = "status" in self.subresources

    def details(self, name, kind=None):
        details = {"name": name} if name else {}
        if self.group:
            details["group"] = self.group
        details["kind"] = kind or self.plural
        return details

    def not_found(self, name):
        return ApiError(404, "NotFound", f'{self.qualified} "{name}" not found', self.details(name))


class Causes(list):
    """StatusCauses of a 422, built the way apimachinery's field.Error renders them."""

    def required(self, field, detail=""):
        self.append({"reason": "FieldValueRequired", "field": field,
                     "message": "Required value" + (f": {detail}" if detail else "")})

    def invalid(self, field, value, detail):
        self.append({"reason": "FieldValueInvalid", "field": field,
                     "message": f"Invalid value: {go_value(value)}: {detail}"})

    def unsupported(self, field, value, supported):
        wanted = ", ".join(json.dumps(s) for s in supported)
        self.append({"reason": "FieldValueNotSupported", "field": field,
                     "message": f"Unsupported value: {go_value(value)}: supported values: "
                                f"{wanted}"})

    def duplicate(self, field, value):
        self.append({"reason": "FieldValueDuplicate", "field": field,
                     "message": f"Duplicate value: {go_value(value)}"})

    def forbidden(self, field, detail):
        self.append({"reason": "FieldValueForbidden", "field": field,
                     "message": f"Forbidden: {detail}"})

    def too_long(self, field, limit):
        self.append({"reason": "FieldValueTooLong", "field": field,
                     "message": f"Too long: must have at most {limit} bytes"})

    def immutable(self, field, value):
        self.invalid(field, value, "field is immutable")


def invalid(res, name, causes):
    """A 422 Invalid Status; its details.kind is the Kind, not the resource (as on the server)."""
    texts = [f"{c['field']}: {c['message']}" for c in causes]
    summary = texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"
    return ApiError(422, "Invalid", f'{res.kind_qualified} "{name}" is invalid: {summary}',
                    dict(res.details(name, res.kind), causes=causes))


def check_labels(causes, field, labels):
    for key, value in (labels or {}).items():
        prefix, _, name = key.rpartition("/")
        if (prefix and (len(prefix) > 253 or not DNS1123_SUBDOMAIN.match(prefix))) or \
                len(name) > 63 or not LABEL_NAME.match(name):
            causes.invalid(f"{field}", key, "name part must consist of alphanumeric characters, "
                           "'-', '_' or '.', and must start and end with an alphanumeric "
                           "character")
        if not isinstance(value, str) or len(value) > 63 or \
                (value and not LABEL_NAME.match(value)):
            causes.invalid(f"{field}", value, "a valid label must be an empty string or consist "
                           "of alphanumeric characters, '-', '_' or '.', and must start and end "
                           "with an alphanumeric character")


def check_name(causes, res, meta):
    name = meta.get("name")
    if not name:
        causes.append({"reason": "FieldValueRequired", "field": "metadata.name",
                       "message": "name or generateName is required"})
        return
    if res.kind == "Namespace":
        if len(name) > 63 or not DNS1123_LABEL.match(name):
            causes.invalid("metadata.name", name, "a lowercase RFC 1123 label must consist of "
                           "lower case alphanumeric characters or '-', and must start and end "
                           "with an alphanumeric character")
    elif res.kind == "Service":
        if len(name) > 63 or not DNS1035_LABEL.match(name):
            causes.invalid("metadata.name", name, "a DNS-1035 label must consist of lower case "
                           "alphanumeric characters or '-', start with an alphabetic character, "
                           "and end with an alphanumeric character")
    elif len(name) > 253 or not DNS1123_SUBDOMAIN.match(name):
        causes.invalid("metadata.name", name, "a lowercase RFC 1123 subdomain must consist of "
                       "lower case alphanumeric characters, '-' or '.', and must start and end "
                       "with an alphanumeric character")


def check_pod_spec(causes, path, spec, owner_kind):
    """Container rules shared by Pods and the templates of Jobs and Deployments."""
    containers = spec.get("containers")
    if not containers:
        causes.required(f"{path}.containers")
    names = set()
    for group in ("initContainers", "containers"):
        for i, c in enumerate(spec.get(group) or []):
            field = f"{path}.{group}[{i}]"
            name = c.get("name")
            if name is not None:
                if len(name) > 63 or not DNS1123_LABEL.match(name):
                    causes.invalid(f"{field}.name", name, "a lowercase RFC 1123 label must "
                                   "consist of lower case alphanumeric characters or '-', and "
                                   "must start and end with an alphanumeric character")
                elif name in names:
                    causes.duplicate(f"{field}.name", name)
                names.add(name)
            if not c.get("image"):
                causes.required(f"{field}.image")
            for j, port in enumerate(c.get("ports") or []):
                number = port.get("containerPort")
                if isinstance(number, int) and not 1 <= number <= 65535:
                    causes.invalid(f"{field}.ports[{j}].containerPort", number,
                                   "must be between 1 and 65535, inclusive")
                protocol = port.get("protocol")
                if protocol is not None and protocol not in ("TCP", "UDP", "SCTP"):
                    causes.unsupported(f"{field}.ports[{j}].protocol", protocol,
                                       ["SCTP", "TCP", "UDP"])
    policy = spec.get("restartPolicy")
    if owner_kind == "Job":
        if policy not in ("Never", "OnFailure"):
            if policy:
                causes.unsupported(f"{path}.restartPolicy", policy, ["OnFailure", "Never"])
            else:
                causes.required(f"{path}.restartPolicy", 'valid values: "OnFailure", "Never"')
    elif owner_kind == "Deployment":
        if policy is not None and policy != "Always":
            causes.unsupported(f"{path}.restartPolicy", policy, ["Always"])
    elif policy is not None and policy not in ("Always", "OnFailure", "Never"):
        causes.unsupported(f"{path}.restartPolicy", policy, ["Always", "OnFailure", "Never"])


def check_non_negative(causes, spec, path, key, strictly_positive=False):
    value = spec.get(key)
    if isinstance(value, int):
        if strictly_positive and value <= 0:
            causes.invalid(f"{path}.{key}", value, "must be greater than 0")
        elif value < 0:
            causes.invalid(f"{path}.{key}", value, "must be greater than or equal to 0")


def check_job(causes, job, old):
    spec = job.get("spec", {})
    name = job["metadata"].get("name", "")
    if len(name) > 63:  # the name becomes the job-name pod-template label value
        causes.invalid("spec.template.labels", name, "must be no more than 63 characters")
    template = spec.get("template", {})
    check_labels(causes, "spec.template.metadata.labels",
                 template.get("metadata", {}).get("labels"))
    check_pod_spec(causes, "spec.template.spec", template.get("spec", {}), "Job")
    check_non_negative(causes, spec, "spec", "backoffLimit")
    check_non_negative(causes, spec, "spec", "activeDeadlineSeconds", strictly_positive=True)
    check_non_negative(causes, spec, "spec", "ttlSecondsAfterFinished")
    check_non_negative(causes, spec, "spec", "parallelism")
    check_non_negative(causes, spec, "spec", "completions")
    if old is not None:
        old_spec = old.get("spec", {})
        if spec.get("template") != old_spec.get("template"):
            causes.immutable("spec.template", "core.PodTemplateSpec{...}")
        if spec.get("selector") != old_spec.get("selector"):
            causes.immutable("spec.selector", "v1.LabelSelector{...}")
        if spec.get("completions") != old_spec.get("completions"):
            causes.immutable("spec.completions", spec.get("completions"))


def check_deployment(causes, deploy, old):
    spec = deploy.get("spec", {})
    selector = spec.get("selector") or {}
    labels = spec.get("template", {}).get("metadata", {}).get("labels") or {}
    check_labels(causes, "spec.template.metadata.labels", labels)
    if not selector.get("matchLabels") and not selector.get("matchExpressions"):
        causes.invalid("spec.selector", selector, "empty selector is invalid for deployment")
    elif not selector_matches(selector, labels):
        causes.invalid("spec.template.metadata.labels", labels,
                       "`selector` does not match template `labels`")
    check_pod_spec(causes, "spec.template.spec", spec.get("template", {}).get("spec", {}),
                   "Deployment")
    check_non_negative(causes, spec, "spec", "replicas")
    check_non_negative(causes, spec, "spec", "minReadySeconds")
    check_non_negative(causes, spec, "spec", "revisionHistoryLimit")
    pds = spec.get("progressDeadlineSeconds")
    if isinstance(pds, int) and pds <= spec.get("minReadySeconds", 0):
        causes.invalid("spec.progressDeadlineSeconds", pds,
                       "must be greater than minReadySeconds")
    if old is not None and spec.get("selector") != old.get("spec", {}).get("selector"):
        causes.immutable("spec.selector", selector)


SERVICE_TYPES = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]


def check_service(causes, svc, old):
    spec = svc.get("spec", {})
    kind = spec.get("type", "ClusterIP")
    if kind not in SERVICE_TYPES:
        causes.unsupported("spec.type", kind, SERVICE_TYPES)
        return
    ports = spec.get("ports") or []
    headless = spec.get("clusterIP") == "None"
    if kind == "ExternalName":
        if not spec.get("externalName"):
            causes.required("spec.externalName")
    elif not ports and not headless:
        causes.required("spec.ports")
    names = set()
    for i, port in enumerate(ports):
        field = f"spec.ports[{i}]"
        number = port.get("port")
        if isinstance(number, int) and not 1 <= number <= 65535:
            causes.invalid(f"{field}.port", number, "must be between 1 and 65535, inclusive")
        name = port.get("name")
        if len(ports) > 1 and not name:
            causes.required(f"{field}.name")
        elif name:
            if name in names:
                causes.duplicate(f"{field}.name", name)
            elif len(name) > 63 or not DNS1123_LABEL.match(name):
                causes.invalid(f"{field}.name", name, "a lowercase RFC 1123 label must consist "
                               "of lower case alphanumeric characters or '-'")
            names.add(name)
        protocol = port.get("protocol")
        if protocol is not None and protocol not in ("TCP", "UDP", "SCTP"):
            causes.unsupported(f"{field}.protocol", protocol, ["SCTP", "TCP", "UDP"])
        target = port.get("targetPort")
        if isinstance(target, int) and not 1 <= target <= 65535:
            causes.invalid(f"{field}.targetPort", target, "must be between 1 and 65535, inclusive")
        if isinstance(target, str) and (len(target) > 15 or not IANA_SVC_NAME.match(target)):
            causes.invalid(f"{field}.targetPort", target, "must contain only alpha-numeric "
                           "characters (a-z, 0-9), and hyphens (-)")
        node_port = port.get("nodePort")
        if node_port is not None:
            if kind not in ("NodePort", "LoadBalancer"):
                causes.forbidden(f"{field}.nodePort", f"may not be used when `type` is '{kind}'")
            elif not NODE_PORTS[0] <= node_port <= NODE_PORTS[1]:
                causes.invalid(f"{field}.nodePort", node_port, "provided port is not in the valid "
                               f"range. The range of valid ports is {NODE_PORTS[0]}-"
                               f"{NODE_PORTS[1]}")
    if old is not None:
        old_ip = old.get("spec", {}).get("clusterIP")
        new_ip = spec.get("clusterIP")
        if new_ip is not None and old_ip is not None and new_ip != old_ip:
            causes.immutable("spec.clusterIPs[0]", new_ip)


METRIC_MEMBERS = {"Resource": "resource", "Pods": "pods", "Object": "object",
                  "External": "external", "ContainerResource": "containerResource"}


def check_hpa(causes, hpa):
    spec = hpa.get("spec", {})
    ref = spec.get("scaleTargetRef", {})
    if not ref.get("kind"):
        causes.required("spec.scaleTargetRef.kind")
    if not ref.get("name"):
        causes.required("spec.scaleTargetRef.name")
    low, high = spec.get("minReplicas"), spec.get("maxReplicas")
    if isinstance(low, int) and low < 1:
        causes.invalid("spec.minReplicas", low, "must be greater than or equal to 1")
    if isinstance(high, int):
        if high < 1:
            causes.invalid("spec.maxReplicas", high, "must be greater than 0")
        elif high < (low if isinstance(low, int) else 1):
            causes.invalid("spec.maxReplicas", high,
                           "must be greater than or equal to `minReplicas`")
    for i, metric in enumerate(spec.get("metrics") or []):
        field = f"spec.metrics[{i}]"
        kind = metric.get("type")
        if kind not in METRIC_MEMBERS:
            causes.unsupported(f"{field}.type", kind, list(METRIC_MEMBERS))
            continue
        member = metric.get(METRIC_MEMBERS[kind])
        if not member:
            causes.required(f"{field}.{METRIC_MEMBERS[kind]}",
                            "must populate information for the given metric source")
            continue
        target = member.get("target", {})
        target_field = f"{field}.{METRIC_MEMBERS[kind]}.target"
        if target.get("type") not in ("Utilization", "Value", "AverageValue"):
            causes.unsupported(f"{target_field}.type", target.get("type"),
                               ["AverageValue", "Utilization", "Value"])
        elif target["type"] == "Utilization":
            value = target.get("averageUtilization")
            if value is None:
                causes.required(f"{target_field}.averageUtilization",
                                "must set either a target raw value or a target utilization")
            elif value <= 0:
                causes.invalid(f"{target_field}.averageUtilization", value,
                               "must be greater than 0")


def check_rules(causes, obj):
    for i, rule in enumerate(obj.get("rules") or []):
        if not rule.get("verbs"):
            causes.required(f"rules[{i}].verbs", "verbs must contain at least one value")
        if rule.get("resources") and not rule.get("apiGroups"):
            causes.required(f"rules[{i}].apiGroups",
                            "resource rules must supply at least one api group")
        if obj["kind"] == "Role" and rule.get("nonResourceURLs"):
            causes.invalid(f"rules[{i}].nonResourceURLs", rule["nonResourceURLs"],
                           "namespaced rules cannot apply to non-resource URLs")


def check_binding(causes, obj, old):
    ref = obj.get("roleRef", {})
    kinds = ["Role", "ClusterRole"] if obj["kind"] == "RoleBinding" else ["ClusterRole"]
    if ref.get("kind") not in kinds:
        causes.unsupported("roleRef.kind", ref.get("kind", ""), kinds)
    if ref.get("apiGroup", "rbac.authorization.k8s.io") != "rbac.authorization.k8s.io":
        causes.unsupported("roleRef.apiGroup", ref.get("apiGroup"),
                           ["rbac.authorization.k8s.io"])
    if not ref.get("name"):
        causes.required("roleRef.name")
    for i, subject in enumerate(obj.get("subjects") or []):
        if subject.get("kind") not in ("ServiceAccount", "User", "Group"):
            causes.unsupported(f"subjects[{i}].kind", subject.get("kind"),
                               ["ServiceAccount", "User", "Group"])
        elif subject["kind"] == "ServiceAccount" and not subject.get("namespace") and \
                obj["kind"] == "ClusterRoleBinding":
            causes.required(f"subjects[{i}].namespace")
    if old is not None and old.get("roleRef") != ref:
        causes.invalid("roleRef", ref, "cannot change roleRef")


def check_data(causes, obj):
    total = 0
    for field in ("data", "binaryData", "stringData"):
        for key, value in (obj.get(field) or {}).items():
            if len(key) > 253 or not CONFIG_KEY.match(key):
                causes.invalid(f"{field}[{key}]", key, "a valid config key must consist of "
                               "alphanumeric characters, '-', '_' or '.'")
            total += len(key) + len(value if isinstance(value, str) else "")
    if total > 1024 * 1024:
        causes.too_long("data", 1024 * 1024)


def semantic_causes(res, obj, old=None):
    """The checks of notes §5 that the schema cannot hold; `old` is set on updates."""
    causes = Causes()
    meta = obj.get("metadata", {})
    check_name(causes, res, meta)
    check_labels(causes, "metadata.labels", meta.get("labels"))
    kind = res.kind
    if kind == "Job":
        check_job(causes, obj, old)
    elif kind == "Deployment":
        check_deployment(causes, obj, old)
    elif kind == "Pod":
        check_pod_spec(causes, "spec", obj.get("spec", {}), "Pod")
    elif kind == "Service":
        check_service(causes, obj, old)
    elif kind == "HorizontalPodAutoscaler":
        check_hpa(causes, obj)
    elif kind in ("Role", "ClusterRole"):
        check_rules(causes, obj)
    elif kind in ("RoleBinding", "ClusterRoleBinding"):
        check_binding(causes, obj, old)
    elif kind in ("Secret", "ConfigMap"):
        check_data(causes, obj)
    return causes


# -- defaulting --------------------------------------------------------------------------------


def image_pull_policy(image):
    if "@" in image:
        return "IfNotPresent"
    last = image.rsplit("/", 1)[-1]
    tag = last.split(":", 1)[1] if ":" in last else None
    return "Always" if tag in (None, "latest") else "IfNotPresent"


def default_pod_spec(spec, restart_always):
    if restart_always:
        spec.setdefault("restartPolicy", "Always")
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("securityContext", {})
    for group in ("initContainers", "containers"):
        for c in spec.get(group) or []:
            c.setdefault("terminationMessagePath", "/dev/termination-log")
            c.setdefault("terminationMessagePolicy", "File")
            c.setdefault("imagePullPolicy", image_pull_policy(c.get("image", "")))
            c.setdefault("resources", {})
            for port in c.get("ports") or []:
                port.setdefault("protocol", "TCP")


def default_job(job):
    spec = job.setdefault("spec", {})
    meta = job["metadata"]
    template = spec.setdefault("template", {})
    tmeta = template.setdefault("metadata", {})
    if not meta.get("labels") and tmeta.get("labels"):
        meta["labels"] = dict(tmeta["labels"])  # batch/v1 SetDefaults_Job copies them
    if "completions" not in spec and "parallelism" not in spec:
        spec["completions"] = 1
    spec.setdefault("parallelism", 1)
    spec.setdefault("backoffLimit", 6)
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    spec.setdefault("podReplacementPolicy", "TerminatingOrFailed")
    uid, name = meta["uid"], meta["name"]
    if not spec.get("manualSelector"):
        spec["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
    tmeta.setdefault("labels", {}).update({
        "batch.kubernetes.io/controller-uid": uid, "controller-uid": uid,
        "batch.kubernetes.io/job-name": name, "job-name": name})
    default_pod_spec(template.setdefault("spec", {}), restart_always=False)


def default_deployment(deploy):
    spec = deploy.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    strategy = spec.setdefault("strategy", {})
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = strategy.setdefault("rollingUpdate", {})
        rolling.setdefault("maxUnavailable", "25%")
        rolling.setdefault("maxSurge", "25%")
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    default_pod_spec(spec.setdefault("template", {}).setdefault("spec", {}), restart_always=True)


def default_hpa(hpa):
    spec = hpa.setdefault("spec", {})
    spec.setdefault("minReplicas", 1)
    if not spec.get("metrics"):
        spec["metrics"] = [{"type": "Resource", "resource": {
            "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]


def default_pod(pod):
    spec = pod.setdefault("spec", {})
    default_pod_spec(spec, restart_always=True)
    # The ServiceAccount admission plugin fills both fields (serviceAccount is the old name).
    spec.setdefault("serviceAccountName", spec.get("serviceAccount", "default"))
    spec.setdefault("serviceAccount", spec["serviceAccountName"])
    spec.setdefault("enableServiceLinks", True)
    spec.setdefault("priority", 0)


class ServiceAllocator:
    """ClusterIPs from 10.96.0.0/12 and nodePorts from 30000-32767. What is in use is read
    from the stored Services, so a delete frees its addresses and a dry run takes nothing."""

    def __init__(self, store):
        self.store = store

    def used(self, skip_uid):
        ips, ports = set(), set()
        for svc in self.store.items("services"):
            if svc["metadata"]["uid"] == skip_uid:
                continue
            spec = svc.get("spec", {})
            ips.update(ip for ip in spec.get("clusterIPs") or [] if ip != "None")
            ports.update(p["nodePort"] for p in spec.get("ports") or [] if "nodePort" in p)
        return ips, ports

    def default(self, svc, old=None):
        """Defaults and allocates `svc` in place; returns the 422 causes of a clash."""
        causes = Causes()
        spec = svc.setdefault("spec", {})
        old_spec = (old or {}).get("spec", {})
        ips, ports = self.used((old or {}).get("metadata", {}).get("uid"))
        kind = spec.setdefault("type", "ClusterIP")
        spec.setdefault("sessionAffinity", "None")
        for port in spec.get("ports") or []:
            port.setdefault("protocol", "TCP")
            port.setdefault("targetPort", port.get("port"))
        if kind == "ExternalName":
            return causes
        # An update that leaves them out keeps what was allocated (patchAllocatedValues).
        if "clusterIP" not in spec and old_spec.get("clusterIP"):
            spec["clusterIP"] = old_spec["clusterIP"]
            spec["clusterIPs"] = list(old_spec.get("clusterIPs") or [old_spec["clusterIP"]])
        wanted = spec.get("clusterIP")
        if wanted in (None, ""):
            ip = FIRST_SERVICE_IP
            while str(ip) in ips:
                ip += 1
            spec["clusterIP"] = str(ip)
        elif wanted != "None" and old is None:  # an update's change is refused as immutable
            try:
                in_range = ipaddress.ip_address(wanted) in SERVICE_CIDR
            except ValueError:
                in_range = False
            if not in_range:
                causes.invalid("spec.clusterIPs", [wanted], f"failed to allocate IP {wanted}: "
                               "provided IP is not in the valid range. The range of valid IPs "
                               f"is {SERVICE_CIDR}")
            elif wanted in ips:
                causes.invalid("spec.clusterIPs", [wanted], f"failed to allocate IP {wanted}: "
                               "provided IP is already allocated")
        spec["clusterIPs"] = [spec["clusterIP"]]
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
        spec.setdefault("internalTrafficPolicy", "Cluster")
        if kind in ("NodePort", "LoadBalancer"):
            spec.setdefault("externalTrafficPolicy", "Cluster")
            if kind == "LoadBalancer":
                spec.setdefault("allocateLoadBalancerNodePorts", True)
            previous = {(p.get("port"), p.get("protocol", "TCP")): p.get("nodePort")
                        for p in old_spec.get("ports") or []}
            taken = set(ports)
            for i, port in enumerate(spec.get("ports") or []):
                if "nodePort" not in port and previous.get((port["port"], port["protocol"])):
                    port["nodePort"] = previous[(port["port"], port["protocol"])]
                if "nodePort" in port:
                    if port["nodePort"] in taken:
                        causes.invalid(f"spec.ports[{i}].nodePort", port["nodePort"],
                                       "provided port is already allocated")
                    taken.add(port["nodePort"])
            for port in spec.get("ports") or []:
                if "nodePort" not in port:
                    free = next((p for p in range(NODE_PORTS[0], NODE_PORTS[1] + 1)
                                 if p not in taken), None)
                    if free is None:
                        causes.invalid("spec.ports", port["port"], "range is full")
                        break
                    port["nodePort"] = free
                    taken.add(free)
        return causes


# ---------------------------------------------------------------------------------------------
# State: the object store, the virtual clock and the event log (notes §2, §9).


class Event:
    __slots__ = ("rv", "type", "plural", "namespace", "obj", "old", "time")

    def __init__(self, rv, kind, plural, namespace, obj, old, when):
        self.rv, self.type, self.plural, self.namespace = rv, kind, plural, namespace
        self.obj, self.old = obj, old  # `old` lets a filtered watch turn MODIFIED into ADDED
        self.time = when  # virtual; a watch past its timeout must not see later events


class EventLog:
    """The last K writes, for resuming watches. Every write makes exactly one event, so the
    log holds every resourceVersion after `compacted`."""

    def __init__(self, size):
        self.size = size
        self.events = deque()
        self.compacted = 0

    def append(self, event):
        self.events.append(event)
        while len(self.events) > self.size:
            self.compacted = self.events.popleft().rv

    def expire(self, current):
        self.events.clear()
        self.compacted = current

    def after(self, rv):
        """Events newer than `rv`, oldest first; None when some of them were forgotten."""
        if rv < self.compacted:
            return None
        newer = []
        for event in reversed(self.events):
            if event.rv <= rv:
                break
            newer.append(event)
        newer.reverse()
        return newer


class Store:
    """Objects keyed by (plural, namespace or "", name), one global resourceVersion and the
    virtual clock. Stored objects are never changed in place: writers copy, edit and save, so
    an event can keep a reference to what was stored at its resourceVersion."""

    def __init__(self, schema, event_log_size):
        self.schema = schema
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)  # watches and log streams wait on it
        self.resources = {r["plural"]: Resource(r) for r in schema.resources}
        self.by_kind = {r.kind: r for r in self.resources.values()}
        self.event_log_size = event_log_size
        self.watch_epoch = 0  # bumped to end every open watch
        self.clear()

    def clear(self):
        with self.lock:
            self.objects = {}
            self.resource_version = 0
            self.clock = float(int(time.time()))  # virtual; moved only by ticks
            self.log = EventLog(self.event_log_size)
            self.writes = 0
            # ReplicaSets are not served; pods of a Deployment point at a synthetic owner uid.
            # Maps that uid to the Deployment's uid (None once orphaned: it lives on).
            self.synthetic_owners = {}
            self.watch_epoch += 1
            self.changed.notify_all()

    def now(self):
        return rfc3339(self.clock)

    def res(self, plural):
        return self.resources[plural]

    def get(self, plural, namespace, name):
        return self.objects.get((plural, namespace or "", name))

    def items(self, plural, namespace=None):
        return [obj for (p, ns, _), obj in sorted(self.objects.items())
                if p == plural and (namespace is None or ns == namespace)]

    def live_uids(self):
        uids = {obj["metadata"]["uid"] for obj in self.objects.values()}
        for rs_uid, owner in self.synthetic_owners.items():
            if owner is None or owner in uids:
                uids.add(rs_uid)
        return uids

    def _record(self, res, kind, obj, old):
        rv = int(obj["metadata"]["resourceVersion"])
        self.log.append(Event(rv, kind, res.plural, obj["metadata"].get("namespace", ""),
                              obj, old, self.clock))
        self.writes += 1
        self.changed.notify_all()

    def next_version(self):
        self.resource_version += 1
        return str(self.resource_version)

    def insert(self, res, obj):
        """Stores a new, fully formed object (server metadata already set but the version)."""
        obj["apiVersion"], obj["kind"] = res.api_version, res.kind
        obj["metadata"]["resourceVersion"] = self.next_version()
        self.objects[(res.plural, obj["metadata"].get("namespace", ""),
                      obj["metadata"]["name"])] = obj
        self._record(res, "ADDED", obj, None)
        return obj

    def save(self, res, obj, bump_generation=True):
        """Stores a changed copy of an existing object; a no-op keeps its resourceVersion.
        generation goes up when `spec` changed, never for status or metadata."""
        meta = obj["metadata"]
        key = (res.plural, meta.get("namespace", ""), meta["name"])
        old = self.objects[key]
        obj["apiVersion"], obj["kind"] = res.api_version, res.kind
        meta["resourceVersion"] = old["metadata"]["resourceVersion"]
        if "generation" in old["metadata"]:
            meta["generation"] = old["metadata"]["generation"]
            if bump_generation and obj.get("spec") != old.get("spec"):
                meta["generation"] += 1
        if obj == old:
            return old
        meta["resourceVersion"] = self.next_version()
        self.objects[key] = obj
        self._record(res, "MODIFIED", obj, old)
        return obj

    def save_status(self, res, stored, status):
        if stored.get("status") == status:
            return stored
        obj = copy.deepcopy(stored)
        obj["status"] = status
        return self.save(res, obj)

    def remove(self, res, obj):
        meta = obj["metadata"]
        old = self.objects.pop((res.plural, meta.get("namespace", ""), meta["name"]))
        gone = copy.deepcopy(old)
        gone["metadata"]["resourceVersion"] = self.next_version()
        self._record(res, "DELETED", gone, old)
        return gone


# ---------------------------------------------------------------------------------------------
# Deletion (notes §6 "Deletion and garbage collection").


def success_status(res, obj):
    details = res.details(obj["metadata"]["name"])
    details["uid"] = obj["metadata"]["uid"]
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
            "details": details}


class Deleter:
    """What a DELETE does to one object; the API, the garbage collector, the TTL controller
    and the namespace controller all delete through here."""

    def __init__(self, store):
        self.store = store

    def delete(self, res, obj, policy="Background", grace=None):
        """Returns the (code, body) the API answers with."""
        store, meta = self.store, obj["metadata"]
        if res.plural == "namespaces":
            if meta["name"] in DEFAULT_NAMESPACES:
                raise ApiError(403, "Forbidden", f'namespaces "{meta["name"]}" is forbidden: '
                               "this namespace may not be deleted", res.details(meta["name"]))
            if not is_deleting(obj):
                new = copy.deepcopy(obj)
                new["metadata"]["deletionTimestamp"] = store.now()
                new["status"] = {"phase": "Terminating"}
                obj = store.save(res, new, bump_generation=False)
            return 200, copy.deepcopy(obj)
        if res.plural == "pods":
            return 200, self.delete_pod(obj, grace)
        if is_deleting(obj):
            return 200, copy.deepcopy(obj)  # already on its way (foreground or finalizers)
        if policy == "Foreground":
            new = copy.deepcopy(obj)
            new["metadata"]["deletionTimestamp"] = store.now()
            new["metadata"]["deletionGracePeriodSeconds"] = 0
            new["metadata"]["finalizers"] = (meta.get("finalizers") or []) + ["foregroundDeletion"]
            return 200, copy.deepcopy(store.save(res, new, bump_generation=False))
        if policy == "Orphan":
            self.orphan_dependents(obj)
        if meta.get("finalizers"):  # someone else's finalizer: the object waits for it
            new = copy.deepcopy(obj)
            new["metadata"]["deletionTimestamp"] = store.now()
            new["metadata"]["deletionGracePeriodSeconds"] = 0
            return 200, copy.deepcopy(store.save(res, new, bump_generation=False))
        store.remove(res, obj)
        return 200, success_status(res, obj)

    def delete_pod(self, pod, grace):
        """Graceful deletion: the Pod stays, with deletionTimestamp, for its grace period. The
        apiserver uses 0 for a pod that never got a node or has finished."""
        store, res = self.store, self.store.res("pods")
        if grace is None:
            grace = pod.get("spec", {}).get("terminationGracePeriodSeconds", 30)
        if not pod.get("spec", {}).get("nodeName") or pod_terminal(pod):
            grace = 0
        meta = pod["metadata"]
        if is_deleting(pod) and grace >= meta.get("deletionGracePeriodSeconds", 0):
            return copy.deepcopy(pod)
        new = copy.deepcopy(pod)
        new["metadata"]["deletionTimestamp"] = rfc3339(store.clock + grace)
        new["metadata"]["deletionGracePeriodSeconds"] = grace
        if grace == 0 and not meta.get("finalizers"):
            # Gone at once: the DELETED event and the reply both carry the deletionTimestamp.
            store.objects[("pods", meta["namespace"], meta["name"])] = new
            return store.remove(res, new)
        return copy.deepcopy(store.save(res, new, bump_generation=False))

    def dependents(self, owner_uid):
        """Objects owned by `owner_uid`, directly or through a Deployment's synthetic RS."""
        owned = {owner_uid} | {rs for rs, d in self.store.synthetic_owners.items()
                               if d == owner_uid}
        return [(self.store.res(plural), obj) for (plural, _, _), obj in
                sorted(self.store.objects.items()) if owned & set(owner_uids(obj))]

    def orphan_dependents(self, obj):
        uid = obj["metadata"]["uid"]
        for rs_uid, deploy_uid in list(self.store.synthetic_owners.items()):
            if deploy_uid == uid:
                self.store.synthetic_owners[rs_uid] = None  # the ReplicaSet lives on
        for res, dep in self.dependents(uid):
            refs = [r for r in dep["metadata"].get("ownerReferences") or [] if r["uid"] != uid]
            if len(refs) == len(dep["metadata"].get("ownerReferences") or []):
                continue
            new = copy.deepcopy(dep)
            if refs:
                new["metadata"]["ownerReferences"] = refs
            else:
                new["metadata"].pop("ownerReferences", None)
            self.store.save(res, new, bump_generation=False)


def delete_policy(res, query, options, warnings):
    policy = query.get("propagationPolicy") or options.get("propagationPolicy")
    orphan = query.get("orphanDependents", options.get("orphanDependents"))
    if policy is None and orphan is not None:
        policy = "Orphan" if orphan in (True, "true") else "Background"
    if policy is not None and policy not in ("Background", "Foreground", "Orphan"):
        cause = Causes()
        cause.unsupported("propagationPolicy", policy, ["Foreground", "Background", "Orphan"])
        raise ApiError(422, "Invalid", f'DeleteOptions.meta.k8s.io "" is invalid: '
                       f'propagationPolicy: {cause[0]["message"]}',
                       {"group": "meta.k8s.io", "kind": "DeleteOptions", "causes": cause})
    if policy is None:
        if res.kind == "Job":  # batch/v1 Jobs still default to orphaning their pods
            warnings.append(JOB_ORPHAN_WARNING)
            return "Orphan"
        return "Background"
    return policy


def grace_period(query, options):
    value = query.get("gracePeriodSeconds", options.get("gracePeriodSeconds"))
    if value is None:
        return None
    try:
        return max(int(value), 0)
    except ValueError:
        raise ApiError(400, "BadRequest", f"invalid gracePeriodSeconds {value!r}")


# ---------------------------------------------------------------------------------------------
# The verbs (notes §3, §4).


def field_validation(default, query):
    value = query.get("fieldValidation") or default
    if value not in ("Strict", "Warn", "Ignore"):
        raise ApiError(400, "BadRequest", f"fieldValidation {value} is invalid, valid values "
                                          "are: [Ignore Warn Strict]")
    return value


def is_dry_run(query, options=None):
    return query.get("dryRun") == "All" or "All" in ((options or {}).get("dryRun") or [])


class Api:
    def __init__(self, cluster, default_validation):
        self.cluster = cluster
        self.store = cluster.store
        self.deleter = cluster.deleter
        self.allocator = ServiceAllocator(cluster.store)
        self.default_validation = default_validation

    # -- validation --------------------------------------------------------------------------

    def schema_findings(self, res, obj, query, warnings, kind=None):
        """Walks the schema: decode errors raise 400, unknown fields are dropped (Warn/Ignore)
        or raise 400 (Strict); returns the 422 causes for missing required fields."""
        definition = self.store.schema.definition_for(obj["apiVersion"], kind or obj["kind"])
        findings = []
        walk(self.store.schema, definition, obj, "", findings)
        unknown = [f for f in findings if f.category == "unknown"]
        decode = [f for f in findings if f.category in ("type", "format")]
        kind = kind or res.kind
        prefix = (f'{kind} in version "{version_of(obj["apiVersion"])}" cannot be handled '
                  f'as a {kind}: ')
        if decode:
            raise ApiError(400, "BadRequest", prefix + "; ".join(
                f"{f.field}: {f.message}" if f.field not in f.message else f.message
                for f in decode))
        mode = field_validation(self.default_validation, query)
        if unknown and mode == "Strict":
            raise ApiError(400, "BadRequest", prefix + "strict decoding error: " +
                           ", ".join(f.message for f in unknown))
        for f in unknown:
            f.parent.pop(f.key, None)
            if mode == "Warn":
                warnings.append('299 - "unknown field \\"%s\\""' % f.field)
        causes = Causes()
        causes.extend({"reason": "FieldValueRequired", "message": f.message, "field": f.field}
                      for f in findings if f.category == "required")
        return causes

    # -- reads -------------------------------------------------------------------------------

    def get(self, res, namespace, name):
        with self.store.lock:
            obj = self.store.get(res.plural, namespace, name)
            if obj is None:
                raise res.not_found(name)
            return 200, copy.deepcopy(obj)

    def matching(self, res, namespace, query):
        labels = parse_label_selector(query.get("labelSelector", ""))
        fields = parse_field_selector(query.get("fieldSelector", ""), res.plural)
        return lambda obj: all(p(obj["metadata"].get("labels") or {}) for p in labels) and \
            all(p(obj) for p in fields) and \
            (namespace is None or obj["metadata"].get("namespace") == namespace)

    def list(self, res, namespace, query):
        wanted = self.matching(res, namespace, query)
        with self.store.lock:
            items = []
            for obj in self.store.items(res.plural, namespace):
                if not wanted(obj):
                    continue
                item = copy.deepcopy(obj)
                item.pop("apiVersion", None)  # list items carry no type meta, as on the server
                item.pop("kind", None)
                items.append(item)
            try:
                start = int(query.get("continue") or 0)
                limit = int(query.get("limit") or 0)
            except ValueError:
                raise ApiError(400, "BadRequest", "invalid limit or continue token")
            meta = {"resourceVersion": str(self.store.resource_version)}
            if limit > 0 and start + limit < len(items):
                meta["continue"] = str(start + limit)
                meta["remainingItemCount"] = len(items) - start - limit
            page = items[start:start + limit] if limit > 0 else items[start:]
            return 200, {"kind": f"{res.kind}List", "apiVersion": res.api_version,
                         "metadata": meta, "items": page}

    # -- create ------------------------------------------------------------------------------

    def check_namespace(self, res, namespace, name):
        if namespace is None:
            return
        ns = self.store.get("namespaces", "", namespace)
        if ns is None:
            raise ApiError(404, "NotFound", f'namespaces "{namespace}" not found',
                           {"name": namespace, "kind": "namespaces"})
        if is_deleting(ns):
            details = res.details(name)
            details["causes"] = [{"reason": "NamespaceTerminating", "field": "metadata.namespace",
                                  "message": f"namespace {namespace} is being terminated"}]
            raise ApiError(403, "Forbidden", f'{res.qualified} "{name}" is forbidden: unable to '
                           f"create new content in namespace {namespace} because it is being "
                           "terminated", details)

    def create(self, res, namespace, body, query, warnings):
        with self.store.lock:
            causes = self.schema_findings(res, body, query, warnings)  # 400s come first
            meta = body.setdefault("metadata", {})
            if not meta.get("name") and meta.get("generateName"):
                meta["name"] = meta["generateName"] + random_suffix()
            name = meta.get("name", "")
            causes += semantic_causes(res, body)
            if causes:
                raise invalid(res, name, causes)
            self.check_namespace(res, namespace, name)
            if namespace is not None:
                meta["namespace"] = namespace
            if self.store.get(res.plural, namespace, name) is not None:
                raise ApiError(409, "AlreadyExists", f'{res.qualified} "{name}" already exists',
                               res.details(name))
            obj = self.prepare_new(res, body)
            if is_dry_run(query):  # nothing stored, so no resourceVersion is used up
                obj["apiVersion"], obj["kind"] = res.api_version, res.kind
                return 201, obj
            return 201, copy.deepcopy(self.store.insert(res, obj))

    def prepare_new(self, res, obj):
        """Server-set metadata and defaulting for a validated new object (notes §2, §5)."""
        meta = obj.setdefault("metadata", {})
        for key in ("uid", "resourceVersion", "creationTimestamp", "generation",
                    "deletionTimestamp", "deletionGracePeriodSeconds", "managedFields",
                    "selfLink"):
            meta.pop(key, None)
        obj.pop("status", None)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = self.store.now()
        if "spec" in obj or res.kind in ("Job", "Deployment", "HorizontalPodAutoscaler", "Pod",
                                         "Service", "Namespace"):
            meta["generation"] = 1
        self.default(res, obj, None)
        return obj

    def default(self, res, obj, old):
        """Kind-specific defaulting; on an update `old` is the stored object."""
        kind = res.kind
        if kind == "Namespace":
            obj.setdefault("spec", {})["finalizers"] = ["kubernetes"]
            obj["status"] = copy.deepcopy(old["status"]) if old else {"phase": "Active"}
            obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = \
                obj["metadata"]["name"]
        elif kind == "Job":
            default_job(obj)
        elif kind == "Deployment":
            default_deployment(obj)
        elif kind == "HorizontalPodAutoscaler":
            default_hpa(obj)
        elif kind == "Pod":
            default_pod(obj)
            if old is None:
                obj["status"] = {"phase": "Pending", "qosClass": qos_class(obj["spec"])}
        elif kind == "Service":
            causes = self.allocator.default(obj, old)
            if causes:
                raise invalid(res, obj["metadata"]["name"], causes)
            if old is None:
                obj["status"] = {"loadBalancer": {}}

    def create_internal(self, res, obj):
        """A create by a controller: already valid, so only metadata and defaults."""
        return self.store.insert(res, self.prepare_new(res, obj))

    # -- update ------------------------------------------------------------------------------

    def replace(self, res, namespace, name, new, query, warnings, status_only=False):
        """PUT and PATCH end here: `new` is the full desired object."""
        with self.store.lock:
            old = self.store.get(res.plural, namespace, name)
            if old is None:
                raise res.not_found(name)
            causes = self.schema_findings(res, new, query, warnings)  # 400s come first
            meta = new.setdefault("metadata", {})
            if meta.get("name", name) != name:
                raise ApiError(400, "BadRequest", "the name of the object "
                               f"({meta['name']}) does not match the name on the URL ({name})")
            meta["name"] = name
            sent_version = meta.get("resourceVersion")
            if sent_version and sent_version != old["metadata"]["resourceVersion"]:
                raise conflict(res, name)
            if status_only:
                if causes:
                    raise invalid(res, name, causes)
                stored = copy.deepcopy(old)
                if "status" in new:
                    stored["status"] = new["status"]
                else:
                    stored.pop("status", None)
            else:
                stored = new
                # Server-owned metadata survives an update; status belongs to /status.
                for k in ("uid", "creationTimestamp", "generation", "namespace",
                          "deletionTimestamp", "deletionGracePeriodSeconds"):
                    if k in old["metadata"]:
                        stored["metadata"][k] = old["metadata"][k]
                    else:
                        stored["metadata"].pop(k, None)
                if res.has_status or "status" in old:
                    if "status" in old:
                        stored["status"] = copy.deepcopy(old["status"])
                    else:
                        stored.pop("status", None)
                self.default(res, stored, old)
                causes += semantic_causes(res, stored, old)
                if causes:
                    raise invalid(res, name, causes)
            if is_dry_run(query):
                preview = copy.deepcopy(stored)
                preview["apiVersion"], preview["kind"] = res.api_version, res.kind
                return 200, preview
            saved = self.store.save(res, stored)
            meta = saved["metadata"]
            if is_deleting(saved) and not meta.get("finalizers") and res.plural not in \
                    ("pods", "namespaces"):
                self.store.remove(res, saved)  # the last finalizer went: deletion completes
            return 200, copy.deepcopy(saved)

    def patch(self, res, namespace, name, content_type, body, query, warnings,
              status_only=False):
        with self.store.lock:
            current = self.store.get(res.plural, namespace, name)
            if content_type == "application/apply-patch+yaml":
                if not query.get("fieldManager"):
                    raise ApiError(400, "BadRequest", "PatchOptions.meta.k8s.io \"\" is invalid: "
                                   "fieldManager: Required value: is required for apply patch")
                if current is None and not status_only:
                    # Server-side apply creates what does not exist yet.
                    body = strip_nulls(body)
                    check_type_meta(res, body, namespace)
                    return self.create(res, namespace, body, query, warnings)
            if current is None:
                raise res.not_found(name)
            if content_type == "application/json-patch+json":
                merged = json_patch(current, body)
            else:  # merge, strategic merge (approximated) and apply (approximated)
                if not isinstance(body, dict):
                    raise ApiError(400, "BadRequest", "a merge patch must be a JSON object")
                merged = merge_patch(current, body)
                if "resourceVersion" not in (body.get("metadata") or {}):
                    merged["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
            merged = strip_nulls(merged)
            if not isinstance(merged, dict) or not isinstance(merged.get("metadata"), dict):
                raise ApiError(422, "Invalid", "the patch produced an object without metadata")
            check_type_meta(res, merged, namespace)
            return self.replace(res, namespace, name, merged, query, warnings, status_only)

    # -- delete ------------------------------------------------------------------------------

    def delete(self, res, namespace, name, query, options, warnings):
        options = options or {}
        policy = delete_policy(res, query, options, warnings)
        grace = grace_period(query, options)
        with self.store.lock:
            obj = self.store.get(res.plural, namespace, name)
            if obj is None:
                raise res.not_found(name)
            pre = options.get("preconditions") or {}
            if pre.get("uid") and pre["uid"] != obj["metadata"]["uid"]:
                raise ApiError(409, "Conflict", f"Precondition failed: UID in precondition: "
                               f"{pre['uid']}, UID in object meta: {obj['metadata']['uid']}",
                               res.details(name))
            if pre.get("resourceVersion") and \
                    pre["resourceVersion"] != obj["metadata"]["resourceVersion"]:
                raise conflict(res, name)
            if is_dry_run(query, options):
                if policy == "Foreground" or res.plural in ("pods", "namespaces"):
                    preview = copy.deepcopy(obj)
                    preview["metadata"]["deletionTimestamp"] = self.store.now()
                    return 200, preview
                return 200, success_status(res, obj)
            return self.deleter.delete(res, obj, policy, grace)

    def delete_collection(self, res, namespace, query, options, warnings):
        options = options or {}
        policy = delete_policy(res, query, options, warnings)
        grace = grace_period(query, options)
        wanted = self.matching(res, namespace, query)
        with self.store.lock:
            deleted = []
            for obj in self.store.items(res.plural, namespace):
                if not wanted(obj):
                    continue
                if is_dry_run(query, options):
                    deleted.append(copy.deepcopy(obj))
                    continue
                code, body = self.deleter.delete(res, obj, policy, grace)
                deleted.append(body if body.get("kind") == res.kind else copy.deepcopy(obj))
            for item in deleted:
                item.pop("apiVersion", None)
                item.pop("kind", None)
            return 200, {"kind": f"{res.kind}List", "apiVersion": res.api_version,
                         "metadata": {"resourceVersion": str(self.store.resource_version)},
                         "items": deleted}

    # -- subresources ------------------------------------------------------------------------

    def scale_of(self, deploy):
        meta = deploy["metadata"]
        return {"kind": "Scale", "apiVersion": "autoscaling/v1",
                "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion",
                                                  "creationTimestamp") if k in meta},
                "spec": {"replicas": deploy["spec"].get("replicas", 1)},
                "status": {"replicas": deploy.get("status", {}).get("replicas", 0),
                           "selector": selector_string(deploy["spec"].get("selector", {}))}}

    def scale(self, res, namespace, name, method, content_type, raw, query, warnings):
        with self.store.lock:
            deploy = self.store.get(res.plural, namespace, name)
            if deploy is None:
                raise res.not_found(name)
            current = self.scale_of(deploy)
            if method == "GET":
                return 200, current
            body = parse_body(raw, "Scale", field_validation(self.default_validation, query)
                              == "Strict", warnings,
                              allow_list=content_type == "application/json-patch+json")
            if method == "PATCH":
                body = json_patch(current, body) if content_type == \
                    "application/json-patch+json" else merge_patch(current, body)
                if "resourceVersion" not in (body.get("metadata") or {}):
                    body.setdefault("metadata", {})["resourceVersion"] = \
                        current["metadata"]["resourceVersion"]
            body = strip_nulls(body)
            body.setdefault("apiVersion", "autoscaling/v1")
            body.setdefault("kind", "Scale")
            if (body["apiVersion"], body["kind"]) != ("autoscaling/v1", "Scale"):
                raise ApiError(400, "BadRequest", f"the kind in the data ({body['kind']}) does "
                                                  "not match the expected kind (Scale)")
            scale_res = Resource(dict(res.row, kind="Scale", apiVersion="autoscaling/v1"))
            causes = self.schema_findings(scale_res, body, query, warnings, "Scale")
            replicas = body.get("spec", {}).get("replicas", 0)
            if replicas < 0:
                causes.invalid("spec.replicas", replicas, "must be greater than or equal to 0")
            if causes:
                raise invalid(scale_res, name, causes)
            sent = body.get("metadata", {}).get("resourceVersion")
            if sent and sent != deploy["metadata"]["resourceVersion"]:
                raise conflict(res, name)
            new = copy.deepcopy(deploy)
            new["spec"]["replicas"] = replicas
            if is_dry_run(query):
                return 200, self.scale_of(new)
            return 200, self.scale_of(self.store.save(res, new))

    def token(self, namespace, name, raw, query, warnings):
        """serviceaccounts/{name}/token: a TokenRequest the fake also accepts as a bearer."""
        with self.store.lock:
            res = self.store.res("serviceaccounts")
            if self.store.get("serviceaccounts", namespace, name) is None:
                raise res.not_found(name)
            body = parse_body(raw, "TokenRequest") if raw.strip() else {}
            body = strip_nulls(body)
            body.setdefault("apiVersion", "authentication.k8s.io/v1")
            body.setdefault("kind", "TokenRequest")
            tr_res = Resource(dict(res.row, kind="TokenRequest",
                                   apiVersion="authentication.k8s.io/v1"))
            causes = self.schema_findings(tr_res, body, query, warnings, "TokenRequest")
            spec = body.get("spec", {})
            seconds = spec.get("expirationSeconds", 3600)
            if seconds < 600:
                causes.invalid("spec.expirationSeconds", seconds,
                               "may not specify a duration less than 10 minutes")
            if causes:
                raise invalid(tr_res, name, causes)
            audiences = spec.get("audiences") or ["https://kubernetes.default.svc.cluster.local"]
            now = self.store.clock
            claims = {"aud": audiences, "exp": int(now + seconds), "iat": int(now),
                      "iss": "https://kubernetes.default.svc.cluster.local",
                      "sub": f"system:serviceaccount:{namespace}:{name}", "jti": str(uuid.uuid4())}
            token = ".".join(base64.urlsafe_b64encode(json.dumps(part).encode()).decode()
                             .rstrip("=") for part in ({"alg": "RS256", "kid": "fake"}, claims))
            token += "." + base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")
            self.cluster.issued_tokens.add(token)
            reply = {"kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
                     "metadata": {"name": name, "namespace": namespace,
                                  "creationTimestamp": self.store.now()},
                     "spec": dict(spec, audiences=audiences, expirationSeconds=seconds),
                     "status": {"token": token, "expirationTimestamp": rfc3339(now + seconds)}}
            return 201, reply


def conflict(res, name):
    return ApiError(409, "Conflict", f'Operation cannot be fulfilled on {res.qualified} "{name}": '
                    "the object has been modified; please apply your changes to the latest "
                    "version and try again", res.details(name))


def qos_class(spec):
    requests = limits = False
    guaranteed = True
    for c in spec.get("containers") or []:
        r = c.get("resources") or {}
        req, lim = r.get("requests") or {}, r.get("limits") or {}
        requests = requests or bool(req)
        limits = limits or bool(lim)
        for resource in ("cpu", "memory"):
            if resource not in lim or req.get(resource, lim[resource]) != lim[resource]:
                guaranteed = False
    if not requests and not limits:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


# ---------------------------------------------------------------------------------------------
# The kubelet stand-in: runs every Pod on the virtual clock by its script (notes §6).


class ContainerRun:
    """One start of the pod's containers; its log feeds …/log."""

    def __init__(self, start, attempt):
        self.start, self.attempt = start, attempt
        self.log = attempt.get("log", "")
        self.end = self.exit_code = None
        self.reason = self.message = None


class PodRuntime:
    """What the kubelet knows about a pod beyond the object: the behaviour it was created
    with and the container runs so far. Behaviour keys: attempts (list of {runSeconds (None:
    until deleted), exitCode, log}), startDelaySeconds, imagePull ("fail"), neverStart,
    crashLoop, neverReady, readySeconds."""

    def __init__(self, behaviour, created, ip):
        self.behaviour, self.created, self.ip = behaviour, created, ip
        self.runs = []
        self.restart_at = None  # when a restarting container starts again
        self.killed = None      # (reason, message) once the pod was made to fail

    def attempt(self, index):
        attempts = self.behaviour.get("attempts") or [DEFAULT_ATTEMPT]
        return attempts[min(index, len(attempts) - 1)]

    def waiting_reason(self, now):
        """Why the container has not started, or None once it has."""
        if self.behaviour.get("imagePull") == "fail":
            return "ErrImagePull" if now < self.created + 1 else "ImagePullBackOff"
        if not self.runs:
            return "ContainerCreating"
        if self.restart_at is not None:
            return "CrashLoopBackOff"
        return None


def restart_backoff(restarts):
    """The kubelet's container restart back-off: 10 s doubling, capped at 5 min."""
    return min(10 * 2 ** max(restarts - 1, 0), 300)


def image_digest(image):
    return "sha256:" + hashlib.sha256(image.encode()).hexdigest()


class Kubelet:
    def __init__(self, cluster):
        self.cluster = cluster
        self.store = cluster.store
        self.runtimes = {}  # pod uid -> PodRuntime
        self.pod_count = 0

    def reset(self):
        self.runtimes.clear()
        self.pod_count = 0

    def allocate_ip(self):
        ip = POD_CIDR_BASE + self.pod_count % 60000
        self.pod_count += 1
        return str(ip)

    def adopt(self, pod, behaviour):
        """Called by a controller right after it created `pod`."""
        self.runtimes[pod["metadata"]["uid"]] = PodRuntime(behaviour, self.store.clock,
                                                           self.allocate_ip())

    def runtime(self, pod):
        uid = pod["metadata"]["uid"]
        rt = self.runtimes.get(uid)
        if rt is None:  # a Pod created through the API: its own script, else a plain default
            meta = pod["metadata"]
            script = self.cluster.scripts.find("pods", meta.get("namespace", ""), meta["name"])
            if script is None:
                forever = pod.get("spec", {}).get("restartPolicy", "Always") == "Always"
                script = {"attempts": [{"runSeconds": None, "log": ""}]} if forever else {}
            else:
                script = dict(script, attempts=script.get("attempts") or [
                    {k: script[k] for k in ("runSeconds", "exitCode", "log") if k in script}])
            rt = self.runtimes[uid] = PodRuntime(script, parse_time(meta["creationTimestamp"]),
                                                 self.allocate_ip())
        return rt

    def restarts_on_exit(self, pod, run):
        policy = pod.get("spec", {}).get("restartPolicy", "Always")
        return policy == "Always" or (policy == "OnFailure" and run.exit_code != 0)

    def advance(self, pod, rt, now):
        """Moves the pod's containers along its script up to `now`."""
        b = rt.behaviour
        if rt.killed or b.get("neverStart") or b.get("imagePull") == "fail":
            return
        while True:
            if not rt.runs:
                start = rt.created + b.get("startDelaySeconds", 0) + \
                    rt.attempt(0).get("startDelaySeconds", 0)
                if now < start:
                    return
                rt.runs.append(ContainerRun(start, rt.attempt(0)))
                continue
            run = rt.runs[-1]
            if run.end is None:
                length = 1 if b.get("crashLoop") else run.attempt.get("runSeconds", 1)
                if length is None or now < run.start + length:
                    return
                run.end = run.start + length
                run.exit_code = 1 if b.get("crashLoop") else run.attempt.get("exitCode", 0)
                run.reason = "Completed" if run.exit_code == 0 else "Error"
                if self.restarts_on_exit(pod, run):
                    rt.restart_at = run.end + restart_backoff(len(rt.runs))
                continue
            if rt.restart_at is not None and now >= rt.restart_at:
                rt.runs.append(ContainerRun(rt.restart_at, rt.attempt(len(rt.runs))))
                rt.restart_at = None
                continue
            return

    def kill(self, pod, reason, message):
        """Fails a pod now (a Job past its deadline or over its backoff limit)."""
        rt = self.runtime(pod)
        now = self.store.clock
        rt.killed = (reason, message)
        rt.restart_at = None
        run = rt.runs[-1] if rt.runs else None
        if run is None:  # never started: nothing ran, nothing to report but the loss
            run = ContainerRun(now, {"log": ""})
            run.end, run.exit_code, run.reason = now, 137, "ContainerStatusUnknown"
            run.message = "The container could not be located when the pod was terminated"
            rt.runs.append(run)
        elif run.end is None:  # SIGTERM
            run.end, run.exit_code, run.reason = now, 143, "Error"
        self.sync(pod, now)

    def container_state(self, pod, rt, container, now):
        """(state, lastState, ready, started) of one container."""
        b, image = rt.behaviour, container.get("image", "")
        waiting = None if rt.killed else rt.waiting_reason(now)
        name = pod["metadata"]["name"]

        def terminated(run):
            state = {"exitCode": run.exit_code, "reason": run.reason,
                     "startedAt": rfc3339(run.start), "finishedAt": rfc3339(run.end),
                     "containerID": self.container_id(pod, container, run)}
            if run.message:
                state["message"] = run.message
            return {"terminated": state}

        last = {}
        finished = [r for r in rt.runs if r.end is not None]
        if waiting in ("ErrImagePull", "ImagePullBackOff"):
            message = (f'failed to pull and unpack image "{image}": failed to resolve reference '
                       f'"{image}": not found')
            if waiting == "ImagePullBackOff":
                message = f'Back-off pulling image "{image}": ErrImagePull: {message}'
            return {"waiting": {"reason": waiting, "message": message}}, last, False, False
        if waiting == "ContainerCreating":
            return {"waiting": {"reason": waiting}}, last, False, False
        if waiting == "CrashLoopBackOff":
            delay = restart_backoff(len(rt.runs))
            message = (f"back-off {delay}s restarting failed container={container['name']} "
                       f"pod={name}_{pod['metadata'].get('namespace')}({pod['metadata']['uid']})")
            return ({"waiting": {"reason": waiting, "message": message}},
                    terminated(finished[-1]), False, False)
        run = rt.runs[-1]
        if len(rt.runs) > 1:
            last = terminated(rt.runs[-2])
        if run.end is not None:
            return terminated(run), last, False, False
        ready_after = run.start + b.get("readySeconds", 0)
        ready = not b.get("neverReady") and now >= ready_after
        return {"running": {"startedAt": rfc3339(run.start)}}, last, ready, True

    def container_id(self, pod, container, run):
        seed = f"{pod['metadata']['uid']}/{container['name']}/{run.start}"
        return "containerd://" + hashlib.sha256(seed.encode()).hexdigest()

    def status(self, pod, rt, now):
        old = pod.get("status", {})
        spec = pod.get("spec", {})
        qos = old.get("qosClass") or qos_class(spec)
        conditions = copy.deepcopy(old.get("conditions") or [])
        stamp = rfc3339(now)
        if rt.behaviour.get("neverStart"):
            set_condition(conditions, "PodScheduled", "False", "Unschedulable",
                          "0/1 nodes are available: 1 node(s) didn't match Pod's node "
                          "affinity/selector. preemption: 0/1 nodes are available: 1 Preemption "
                          "is not helpful for scheduling.", stamp)
            return {"phase": "Pending", "conditions": conditions, "qosClass": qos}
        statuses, all_ready = [], True
        for c in spec.get("containers") or []:
            state, last, ready, started = self.container_state(pod, rt, c, now)
            all_ready = all_ready and ready
            statuses.append({
                "name": c["name"], "image": c.get("image", ""),
                "imageID": f"{c.get('image', '')}@{image_digest(c.get('image', ''))}"
                           if rt.runs else "",
                "ready": ready, "restartCount": max(len(rt.runs) - 1, 0), "started": started,
                "state": state, "lastState": last})
            if rt.runs:
                statuses[-1]["containerID"] = self.container_id(pod, c, rt.runs[-1])
        waiting = None if rt.killed else rt.waiting_reason(now)
        run = rt.runs[-1] if rt.runs else None
        if rt.killed or (run is not None and run.end is not None and rt.restart_at is None):
            phase = "Succeeded" if not rt.killed and run.exit_code == 0 else "Failed"
        elif waiting in ("ContainerCreating", "ErrImagePull", "ImagePullBackOff"):
            phase = "Pending"
        else:
            phase = "Running"
        terminal = phase in ("Succeeded", "Failed")
        not_ready = [c["name"] for c in spec.get("containers") or []]
        ready_reason = "PodCompleted" if terminal else "ContainersNotReady"
        ready_message = "" if terminal else f"containers with unready status: " \
                                            f"[{' '.join(not_ready)}]"
        set_condition(conditions, "PodReadyToStartContainers",
                      "False" if waiting == "ContainerCreating" or terminal else "True", "", "",
                      stamp)
        set_condition(conditions, "Initialized", "True", "", "", stamp)
        for kind in ("Ready", "ContainersReady"):
            if all_ready and not terminal:
                set_condition(conditions, kind, "True", "", "", stamp)
            else:
                set_condition(conditions, kind, "False", ready_reason, ready_message, stamp)
        set_condition(conditions, "PodScheduled", "True", "", "", stamp)
        for c in conditions:  # empty reason/message are omitted on the wire
            for key in ("reason", "message"):
                if c.get(key) == "":
                    del c[key]
        status = {"phase": phase, "conditions": conditions, "hostIP": NODE_IP,
                  "hostIPs": [{"ip": NODE_IP}], "startTime": rfc3339(rt.created),
                  "containerStatuses": statuses, "qosClass": qos}
        if waiting != "ContainerCreating":
            status.update(podIP=rt.ip, podIPs=[{"ip": rt.ip}])
        if rt.killed:
            status["reason"], status["message"] = rt.killed
        return status

    def sync(self, pod, now):
        """Advances one pod and writes its status if it changed."""
        res = self.store.res("pods")
        rt = self.runtime(pod)
        if not pod.get("spec", {}).get("nodeName") and not rt.behaviour.get("neverStart"):
            bound = copy.deepcopy(pod)  # the scheduler's binding: no generation bump
            bound["spec"]["nodeName"] = NODE_NAME
            pod = self.store.save(res, bound, bump_generation=False)
        self.advance(pod, rt, now)
        self.store.save_status(res, pod, self.status(pod, rt, now))

    def wakeups(self, now):
        """When some pod changes by itself: a container starts, becomes ready, ends or
        restarts, an image pull backs off, or a grace period runs out."""
        for pod in self.store.items("pods"):
            meta = pod["metadata"]
            if is_deleting(pod) and not meta.get("finalizers"):
                yield parse_time(meta["deletionTimestamp"])
            rt = self.runtimes.get(meta["uid"])
            if rt is None:
                continue
            b = rt.behaviour
            if rt.killed or b.get("neverStart"):
                continue
            if b.get("imagePull") == "fail":
                yield rt.created + 1
            elif not rt.runs:
                yield rt.created + b.get("startDelaySeconds", 0) + \
                    rt.attempt(0).get("startDelaySeconds", 0)
            elif rt.runs[-1].end is None:
                run = rt.runs[-1]
                length = 1 if b.get("crashLoop") else run.attempt.get("runSeconds", 1)
                if length is not None:
                    yield run.start + length
                yield run.start + b.get("readySeconds", 0)
            elif rt.restart_at is not None:
                yield rt.restart_at

    def reconcile(self, now):
        res = self.store.res("pods")
        for pod in self.store.items("pods"):
            meta = pod["metadata"]
            if is_deleting(pod) and not meta.get("finalizers") and \
                    parse_time(meta["deletionTimestamp"]) <= now:
                self.store.remove(res, pod)  # the grace period is over
                continue
            self.sync(pod, now)
        live = {p["metadata"]["uid"] for p in self.store.items("pods")}
        for uid in list(self.runtimes):
            if uid not in live:
                del self.runtimes[uid]

    # -- logs --------------------------------------------------------------------------------

    def log(self, pod, container, query):
        """The text …/pods/{name}/log returns, and the run it came from."""
        spec = pod.get("spec", {})
        names = [c["name"] for c in spec.get("containers") or []]
        name = pod["metadata"]["name"]
        if not container:
            if len(names) != 1:
                raise ApiError(400, "BadRequest", f"a container name must be specified for pod "
                               f"{name}, choose one of: [{' '.join(names)}]")
            container = names[0]
        elif container not in names:
            raise ApiError(400, "BadRequest", f"container {container} is not valid for pod {name}")
        rt = self.runtime(pod)
        now = self.store.clock
        if query.get("previous") == "true":
            finished = [r for r in rt.runs if r.end is not None]
            current_done = rt.runs and rt.runs[-1].end is not None and rt.restart_at is None
            candidates = finished[:-1] if current_done else finished
            if not candidates:
                raise ApiError(400, "BadRequest", f'previous terminated container "{container}" '
                               f'in pod "{name}" not found')
            run = candidates[-1]
        else:
            if rt.behaviour.get("neverStart"):
                raise ApiError(400, "BadRequest", f"pod {name} does not have a host assigned")
            waiting = rt.waiting_reason(now)
            if not rt.runs or waiting in ("ErrImagePull", "ImagePullBackOff"):
                reason = {"ErrImagePull": "trying and failing to pull image",
                          "ImagePullBackOff": "image can't be pulled"}.get(waiting, waiting)
                raise ApiError(400, "BadRequest", f'container "{container}" in pod "{name}" is '
                               f"waiting to start: {reason}")
            run = rt.runs[-1]
        text = run.log if container == names[0] else ""
        return format_log(text, run.start, query, now), run


def format_log(text, start, query, now):
    """Applies sinceSeconds/sinceTime, tailLines, timestamps and limitBytes, in the kubelet's
    order. Each line is stamped 1 µs after the one before, from the container's start."""
    lines = text.splitlines(keepends=True)
    stamped = [(start + i * 1e-6, line) for i, line in enumerate(lines)]
    try:
        if query.get("sinceSeconds"):
            since = now - int(query["sinceSeconds"])
            stamped = [(t, l) for t, l in stamped if t >= since]
        elif query.get("sinceTime"):
            since = parse_time(query["sinceTime"])
            stamped = [(t, l) for t, l in stamped if t >= since]
        if query.get("tailLines"):
            tail = int(query["tailLines"])
            stamped = stamped[len(stamped) - tail:] if tail < len(stamped) else stamped
            if tail == 0:
                stamped = []
        out = "".join((rfc3339_nano(t) + " " if query.get("timestamps") == "true" else "") + l
                      for t, l in stamped)
        if query.get("limitBytes"):
            out = out.encode()[:int(query["limitBytes"])].decode("utf-8", "ignore")
    except ValueError as e:
        raise ApiError(400, "BadRequest", f"invalid log options: {e}")
    return out


# ---------------------------------------------------------------------------------------------
# Controllers (notes §6). Each reconcile(now) looks at the store and moves it one step on;
# Cluster.settle runs them until nothing changes, once per virtual second.


class Scripts:
    """Outcomes the test sets before it creates a Job, Deployment or Pod (notes §6). A name of
    "*" is the default for a namespace (or, as namespace "*", for all)."""

    ATTEMPT_KEYS = {"runSeconds", "exitCode", "log", "startDelaySeconds"}
    KEYS = {
        "jobs": {"attempts", "startDelaySeconds", "imagePull", "neverStart"},
        "deployments": {"crashLoop", "imagePull", "neverReady", "readySeconds", "log",
                        "startDelaySeconds", "runSeconds", "exitCode"},
        "pods": {"attempts", "startDelaySeconds", "imagePull", "neverStart", "neverReady",
                 "readySeconds", "runSeconds", "exitCode", "log", "crashLoop"},
    }

    def __init__(self):
        self.scripts = {}

    def clear(self):
        self.scripts.clear()

    def put(self, kind, namespace, name, body):
        if kind not in self.KEYS:
            raise ApiError(404, "NotFound", f"no scripts for {kind}", {})
        if not isinstance(body, dict):
            raise ApiError(400, "BadRequest", "a script is a JSON object")
        unknown = set(body) - self.KEYS[kind]
        for attempt in body.get("attempts") or []:
            unknown |= set(attempt) - self.ATTEMPT_KEYS
        if unknown:  # a typo in a test's script should fail loudly, not run the default
            raise ApiError(400, "BadRequest", f"unknown script keys: {sorted(unknown)}")
        if body.get("imagePull") not in (None, "fail"):
            raise ApiError(400, "BadRequest", 'imagePull must be "fail"')
        self.scripts[(kind, namespace, name)] = body

    def find(self, kind, namespace, name):
        for key in ((kind, namespace, name), (kind, namespace, "*"), (kind, "*", "*")):
            if key in self.scripts:
                return self.scripts[key]
        return None


class JobState:
    """The job controller's memory of one Job, beyond its status."""

    def __init__(self):
        self.pods_created = 0
        self.known = set()    # uids of the pods it made
        self.counted = set()  # uids already counted in succeeded or failed
        self.last_failure = None


class JobController:
    def __init__(self, cluster):
        self.cluster = cluster
        self.store = cluster.store
        self.states = {}

    def reset(self):
        self.states.clear()

    def reconcile(self, now):
        for job in self.store.items("jobs"):
            self.sync(job, now)
        live = {j["metadata"]["uid"] for j in self.store.items("jobs")}
        for uid in list(self.states):
            if uid not in live:
                del self.states[uid]

    def wakeups(self, now):
        """Back-offs ending, active deadlines and TTLs."""
        for job in self.store.items("jobs"):
            spec, status = job.get("spec", {}), job.get("status", {})
            conditions = status.get("conditions")
            done = [c for c in conditions or [] if c["type"] in ("Complete", "Failed")
                    and c["status"] == "True"]
            if done:
                if spec.get("ttlSecondsAfterFinished") is not None:
                    yield parse_time(done[0]["lastTransitionTime"]) + \
                        spec["ttlSecondsAfterFinished"]
                continue
            if spec.get("activeDeadlineSeconds") is not None and "startTime" in status:
                yield parse_time(status["startTime"]) + spec["activeDeadlineSeconds"]
            st = self.states.get(job["metadata"]["uid"])
            failed = status.get("failed", 0)
            if st is not None and st.last_failure is not None and failed:
                yield st.last_failure + min(10 * 2 ** (failed - 1), 360)

    def sync(self, job, now):
        store, res = self.store, self.store.res("jobs")
        meta, spec = job["metadata"], job.get("spec", {})
        uid, namespace = meta["uid"], meta.get("namespace", "")
        st = self.states.setdefault(uid, JobState())
        status = copy.deepcopy(job.get("status", {}))
        conditions = status.get("conditions") or []
        stamp = store.now()
        pods = [p for p in store.items("pods", namespace) if uid in owner_uids(p)]
        succeeded, failed = status.get("succeeded", 0), status.get("failed", 0)
        # Count each finished pod once. A pod deleted before it finished counts as failed
        # (podReplacementPolicy TerminatingOrFailed), and so does one that just vanished.
        for pod in pods:
            puid = pod["metadata"]["uid"]
            st.known.add(puid)
            if puid in st.counted:
                continue
            if pod_phase(pod) == "Succeeded":
                succeeded += 1
                st.counted.add(puid)
            elif pod_phase(pod) == "Failed" or is_deleting(pod):
                failed += 1
                st.counted.add(puid)
                st.last_failure = now
        for puid in st.known - {p["metadata"]["uid"] for p in pods} - st.counted:
            failed += 1
            st.counted.add(puid)
            st.last_failure = now

        def active_pods():
            return [p for p in store.items("pods", namespace)
                    if uid in owner_uids(p) and not pod_terminal(p) and not is_deleting(p)]

        def write():
            nonlocal job
            current = [p for p in store.items("pods", namespace) if uid in owner_uids(p)]
            live = [p for p in current if not pod_terminal(p) and not is_deleting(p)]
            shaped = {}
            if conditions:
                shaped["conditions"] = conditions
            for key in ("startTime", "completionTime"):
                if key in status:
                    shaped[key] = status[key]
            # int32 fields with omitempty vanish at 0, as on the wire from a real server.
            for key, value in (("active", len(live)), ("succeeded", succeeded),
                               ("failed", failed)):
                if value:
                    shaped[key] = value
            shaped["terminating"] = sum(1 for p in current
                                        if is_deleting(p) and not pod_terminal(p))
            shaped["ready"] = sum(1 for p in live if pod_ready(p))
            shaped["uncountedTerminatedPods"] = {}
            job = store.save_status(res, job, shaped)

        if condition_true(job, "Complete") or condition_true(job, "Failed"):
            write()
            self.expire(job, now)
            return
        if is_deleting(job):  # foreground deletion: the garbage collector takes the pods
            write()
            return
        if spec.get("suspend"):
            for pod in active_pods():
                self.cluster.deleter.delete_pod(pod, None)
            set_condition(conditions, "Suspended", "True", "JobSuspended", "Job suspended", stamp,
                          probe=True)
            status.pop("startTime", None)
            write()
            return
        if find_condition(conditions, "Suspended") and \
                find_condition(conditions, "Suspended")["status"] == "True":
            set_condition(conditions, "Suspended", "False", "JobResumed", "Job resumed", stamp,
                          probe=True)
            status["startTime"] = stamp  # a resumed Job's deadline starts again
        status.setdefault("startTime", stamp)

        on_failure = spec.get("template", {}).get("spec", {}).get("restartPolicy") == "OnFailure"
        restarts = sum(cs.get("restartCount", 0) for p in active_pods()
                       for cs in p.get("status", {}).get("containerStatuses") or []) \
            if on_failure else 0
        deadline = spec.get("activeDeadlineSeconds")
        failure = None
        if deadline is not None and now >= parse_time(status["startTime"]) + deadline:
            failure = ("DeadlineExceeded", "Job was active longer than specified deadline",
                       "Pod was active on the node longer than the specified deadline")
        elif failed + restarts > spec.get("backoffLimit", 6):
            failure = ("BackoffLimitExceeded", "Job has reached the specified backoff limit",
                       "Job has reached the specified backoff limit")
        if failure:
            reason, message, pod_message = failure
            if not find_condition(conditions, "FailureTarget"):
                set_condition(conditions, "FailureTarget", "True", reason, message, stamp,
                              probe=True)
                write()
            for pod in active_pods():
                self.cluster.kubelet.kill(pod, reason, pod_message)
                failed += 1
                st.counted.add(pod["metadata"]["uid"])
            set_condition(conditions, "Failed", "True", reason, message, stamp, probe=True)
            write()
            self.expire(job, now)
            return

        completions = spec.get("completions")
        target = completions if completions is not None else 1
        if succeeded >= target:
            set_condition(conditions, "SuccessCriteriaMet", "True", "CompletionsReached",
                          "Reached expected number of succeeded pods", stamp, probe=True)
            write()
            for pod in active_pods():
                self.cluster.deleter.delete_pod(pod, None)
            set_condition(conditions, "Complete", "True", "CompletionsReached",
                          "Reached expected number of succeeded pods", stamp, probe=True)
            status["completionTime"] = stamp
            write()
            self.expire(job, now)
            return

        want = min(spec.get("parallelism", 1), target - succeeded) - len(active_pods())
        if want > 0 and failed > 0 and st.last_failure is not None:
            # The pod failure back-off: 10 s, doubling per failure, capped at 6 min.
            if now < st.last_failure + min(10 * 2 ** (failed - 1), 360):
                want = 0
        for _ in range(max(want, 0)):
            self.create_pod(job, st)
        write()

    def create_pod(self, job, st):
        meta, template = job["metadata"], job["spec"]["template"]
        namespace, name = meta["namespace"], meta["name"]
        script = self.cluster.scripts.find("jobs", namespace, name) or {}
        attempts = script.get("attempts") or [DEFAULT_ATTEMPT]
        index = st.pods_created
        st.pods_created += 1
        if template.get("spec", {}).get("restartPolicy") == "OnFailure":
            mine = attempts[index:] or attempts[-1:]  # restarts in place walk the attempts
        else:
            mine = [attempts[min(index, len(attempts) - 1)]]
        behaviour = {k: script[k] for k in ("startDelaySeconds", "imagePull", "neverStart")
                     if k in script}
        behaviour["attempts"] = [dict(DEFAULT_ATTEMPT, **a) for a in mine]
        pod_name = f"{name}-{random_suffix()}"
        while self.store.get("pods", namespace, pod_name) is not None:
            pod_name = f"{name}-{random_suffix()}"
        pod_meta = {"name": pod_name, "generateName": f"{name}-", "namespace": namespace,
                    "labels": dict(template.get("metadata", {}).get("labels") or {}),
                    "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": name,
                                         "uid": meta["uid"], "controller": True,
                                         "blockOwnerDeletion": True}]}
        if template.get("metadata", {}).get("annotations"):
            pod_meta["annotations"] = dict(template["metadata"]["annotations"])
        pod = {"metadata": pod_meta, "spec": copy.deepcopy(template.get("spec", {}))}
        if not script.get("neverStart"):
            pod["spec"]["nodeName"] = NODE_NAME
        pod = self.cluster.api.create_internal(self.store.res("pods"), pod)
        self.cluster.kubelet.adopt(pod, behaviour)
        st.known.add(pod["metadata"]["uid"])
        return pod

    def expire(self, job, now):
        """The TTL-after-finished controller."""
        ttl = job.get("spec", {}).get("ttlSecondsAfterFinished")
        job = self.store.get("jobs", job["metadata"]["namespace"], job["metadata"]["name"])
        if ttl is None or job is None or is_deleting(job):
            return
        conditions = job.get("status", {}).get("conditions")
        done = find_condition(conditions, "Complete") or find_condition(conditions, "Failed")
        if done and now >= parse_time(done["lastTransitionTime"]) + ttl:
            self.cluster.deleter.delete(self.store.res("jobs"), job, "Background")


class DeploymentState:
    def __init__(self, now):
        self.signature = None
        self.last_progress = now
        self.revisions = {}  # template hash -> revision number
        self.current = None


class DeploymentController:
    def __init__(self, cluster):
        self.cluster = cluster
        self.store = cluster.store
        self.states = {}

    def reset(self):
        self.states.clear()

    def reconcile(self, now):
        for deploy in self.store.items("deployments"):
            self.sync(deploy, now)
        live = {d["metadata"]["uid"] for d in self.store.items("deployments")}
        for uid in list(self.states):
            if uid not in live:
                del self.states[uid]

    def wakeups(self, now):
        """Pods turning available after minReadySeconds, and progress deadlines."""
        for deploy in self.store.items("deployments"):
            spec = deploy["spec"]
            st = self.states.get(deploy["metadata"]["uid"])
            progressing = find_condition(deploy.get("status", {}).get("conditions"),
                                         "Progressing")
            if st is not None and spec.get("progressDeadlineSeconds") is not None and \
                    progressing is not None and progressing.get("reason") not in (
                        "NewReplicaSetAvailable", "ProgressDeadlineExceeded"):
                yield st.last_progress + spec["progressDeadlineSeconds"] + 0.5
            min_ready = spec.get("minReadySeconds", 0)
            if min_ready:
                for pod in self.pods_of(deploy):
                    ready = find_condition(pod.get("status", {}).get("conditions"), "Ready")
                    if ready is not None and ready["status"] == "True":
                        yield parse_time(ready["lastTransitionTime"]) + min_ready

    def pods_of(self, deploy):
        uid = deploy["metadata"]["uid"]
        owned = {rs for rs, d in self.store.synthetic_owners.items() if d == uid}
        return [p for p in self.store.items("pods", deploy["metadata"]["namespace"])
                if owned & set(owner_uids(p))]

    def sync(self, deploy, now):
        store, res = self.store, self.store.res("deployments")
        meta, spec = deploy["metadata"], deploy["spec"]
        uid, name = meta["uid"], meta["name"]
        st = self.states.setdefault(uid, DeploymentState(now))
        desired = spec.get("replicas", 1)
        pod_hash = template_hash(spec["template"])
        rs_name = f"{name}-{pod_hash}"
        rs_uid = str(uuid.uuid5(uuid.UUID(uid), pod_hash))
        store.synthetic_owners[rs_uid] = uid
        new_rs = st.current != pod_hash
        if new_rs:
            st.revisions[pod_hash] = max(st.revisions.values(), default=0) + 1
            st.current = pod_hash
            st.last_progress = now
        if is_deleting(deploy):
            return  # foreground deletion: the garbage collector takes the pods

        def split():
            live = [p for p in self.pods_of(deploy) if not is_deleting(p)]
            new = [p for p in live
                   if p["metadata"].get("labels", {}).get("pod-template-hash") == pod_hash]
            return live, new, [p for p in live if p not in new]

        min_ready = spec.get("minReadySeconds", 0)

        def available(pod):
            ready = find_condition(pod.get("status", {}).get("conditions"), "Ready")
            return ready is not None and ready["status"] == "True" and \
                now - parse_time(ready["lastTransitionTime"]) >= min_ready

        live, new, old = split()
        if not spec.get("paused"):
            if len(new) < desired:
                for _ in range(desired - len(new)):
                    self.create_pod(deploy, pod_hash, rs_name, rs_uid)
            elif len(new) > desired:  # not-ready pods go first, then the youngest
                victims = sorted(new, key=lambda p: (pod_ready(p),
                                                     -parse_time(p["metadata"]
                                                                 ["creationTimestamp"])))
                for pod in victims[:len(new) - desired]:
                    self.cluster.deleter.delete_pod(pod, None)
            # A rollout: the old pods go once the new ones are all available.
            if old and sum(1 for p in new if available(p)) >= desired:
                for pod in old:
                    self.cluster.deleter.delete_pod(pod, None)
            live, new, old = split()

        ready = sum(1 for p in live if pod_ready(p))
        avail = sum(1 for p in live if available(p))
        updated = len(new)
        status = {"observedGeneration": meta.get("generation", 1)}
        for key, value in (("replicas", len(live)), ("updatedReplicas", updated),
                           ("readyReplicas", ready), ("availableReplicas", avail),
                           ("unavailableReplicas", max(max(desired, len(live)) - avail, 0))):
            if value:  # omitempty int32 fields
                status[key] = value
        conditions = copy.deepcopy(deploy.get("status", {}).get("conditions") or [])
        stamp = store.now()
        strategy = spec.get("strategy", {})
        max_unavailable = 0 if strategy.get("type") == "Recreate" else scaled_value(
            strategy.get("rollingUpdate", {}).get("maxUnavailable", "25%"), desired, False)
        if avail >= desired - max_unavailable:
            set_condition(conditions, "Available", "True", "MinimumReplicasAvailable",
                          "Deployment has minimum availability.", stamp, update=True)
        else:
            set_condition(conditions, "Available", "False", "MinimumReplicasUnavailable",
                          "Deployment does not have minimum availability.", stamp, update=True)
        signature = (pod_hash, len(live), updated, ready, avail)
        progressed = signature != st.signature
        if progressed:
            st.signature = signature
            st.last_progress = now
        complete = updated == desired and len(live) == updated and avail == updated
        progressing = find_condition(conditions, "Progressing")
        deadline = spec.get("progressDeadlineSeconds")
        if spec.get("paused"):
            set_condition(conditions, "Progressing", "Unknown", "DeploymentPaused",
                          "Deployment is paused", stamp, update=True)
        elif complete:
            set_condition(conditions, "Progressing", "True", "NewReplicaSetAvailable",
                          f'ReplicaSet "{rs_name}" has successfully progressed.', stamp,
                          update=True)
        elif new_rs:
            set_condition(conditions, "Progressing", "True", "NewReplicaSetCreated",
                          f'Created new replica set "{rs_name}"', stamp, update=True)
        elif progressed:
            if not set_condition(conditions, "Progressing", "True", "ReplicaSetUpdated",
                                 f'ReplicaSet "{rs_name}" is progressing.', stamp, update=True):
                progressing["lastUpdateTime"] = stamp
        elif progressing is not None and progressing.get("reason") == "ProgressDeadlineExceeded":
            pass
        elif deadline is not None and now - st.last_progress > deadline:
            set_condition(conditions, "Progressing", "False", "ProgressDeadlineExceeded",
                          f'ReplicaSet "{rs_name}" has timed out progressing.', stamp, update=True)
        status["conditions"] = conditions
        new_deploy = copy.deepcopy(deploy)
        new_deploy["status"] = status
        new_deploy["metadata"].setdefault("annotations", {})[
            "deployment.kubernetes.io/revision"] = str(st.revisions[pod_hash])
        store.save(res, new_deploy)

    def create_pod(self, deploy, pod_hash, rs_name, rs_uid):
        meta, template = deploy["metadata"], deploy["spec"]["template"]
        namespace = meta["namespace"]
        script = self.cluster.scripts.find("deployments", namespace, meta["name"]) or {}
        behaviour = {k: script[k] for k in ("crashLoop", "imagePull", "neverReady",
                                            "startDelaySeconds") if k in script}
        behaviour["readySeconds"] = script.get("readySeconds", 1)
        behaviour["attempts"] = [{"runSeconds": script.get("runSeconds"),
                                  "exitCode": script.get("exitCode", 0),
                                  "log": script.get("log", "")}]
        labels = dict(template.get("metadata", {}).get("labels") or {})
        labels["pod-template-hash"] = pod_hash
        pod_name = f"{rs_name}-{random_suffix()}"
        while self.store.get("pods", namespace, pod_name) is not None:
            pod_name = f"{rs_name}-{random_suffix()}"
        pod_meta = {"name": pod_name, "generateName": f"{rs_name}-", "namespace": namespace,
                    "labels": labels,
                    "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                         "name": rs_name, "uid": rs_uid, "controller": True,
                                         "blockOwnerDeletion": True}]}
        if template.get("metadata", {}).get("annotations"):
            pod_meta["annotations"] = dict(template["metadata"]["annotations"])
        pod = {"metadata": pod_meta, "spec": copy.deepcopy(template.get("spec", {}))}
        pod["spec"]["nodeName"] = NODE_NAME
        pod = self.cluster.api.create_internal(self.store.res("pods"), pod)
        self.cluster.kubelet.adopt(pod, behaviour)


class HpaController:
    """No metrics: the test says what the HPA wants (PUT /__fake/hpa/…/desired)."""

    def __init__(self, cluster):
        self.cluster = cluster
        self.store = cluster.store

    def reset(self):
        pass

    def wakeups(self, now):
        return ()  # reacts to writes only

    def reconcile(self, now):
        for hpa in self.store.items("horizontalpodautoscalers"):
            self.sync(hpa)

    def target(self, hpa):
        ref = hpa["spec"].get("scaleTargetRef", {})
        if ref.get("kind") != "Deployment" or group_of(ref.get("apiVersion", "apps/v1")) != "apps":
            return None
        return self.store.get("deployments", hpa["metadata"]["namespace"], ref.get("name"))

    def metric_problem(self, hpa, deploy):
        """The trap notes §6 describes: a cpu Utilization target needs cpu requests."""
        containers = deploy["spec"]["template"].get("spec", {}).get("containers") or []
        for metric in hpa["spec"].get("metrics") or []:
            source = metric.get("resource") or metric.get("containerResource")
            if metric.get("type") not in ("Resource", "ContainerResource") or not source:
                continue
            if source.get("target", {}).get("type") != "Utilization":
                continue
            name = source.get("name")
            for c in containers:
                if metric["type"] == "ContainerResource" and c["name"] != source.get("container"):
                    continue
                if name not in (c.get("resources", {}).get("requests") or {}):
                    pods = [p["metadata"]["name"] for p in
                            self.cluster.deployments.pods_of(deploy)]
                    if not pods:
                        return (f"the HPA was unable to compute the replica count: failed to get "
                                f"{name} utilization: unable to get metrics for resource {name}: "
                                "no metrics returned from resource metrics API")
                    return (f"the HPA was unable to compute the replica count: failed to get "
                            f"{name} utilization: missing request for {name} in container "
                            f'"{c["name"]}" of Pod "{pods[0]}"')
        return None

    def sync(self, hpa, desired=None):
        store, res = self.store, self.store.res("horizontalpodautoscalers")
        spec = hpa["spec"]
        status = copy.deepcopy(hpa.get("status", {}))
        conditions = status.get("conditions") or []
        stamp = store.now()
        deploy = self.target(hpa)
        status["observedGeneration"] = hpa["metadata"].get("generation", 1)

        def write():
            status["conditions"] = conditions
            return store.save_status(res, store.get(res.plural, hpa["metadata"]["namespace"],
                                                    hpa["metadata"]["name"]), status)

        if deploy is None:
            ref = spec.get("scaleTargetRef", {})
            set_condition(conditions, "AbleToScale", "False", "FailedGetScale",
                          "the HPA controller was unable to get the target's current scale: "
                          f'{ref.get("kind", "").lower()}s "{ref.get("name")}" not found', stamp)
            status.setdefault("desiredReplicas", 0)
            return write()
        current = deploy["spec"].get("replicas", 1)
        status["currentReplicas"] = deploy.get("status", {}).get("replicas", 0)
        if current == 0 and desired is None:
            set_condition(conditions, "ScalingActive", "False", "ScalingDisabled",
                          "scaling is disabled since the replica count of the target is zero",
                          stamp)
            status.setdefault("desiredReplicas", 0)
            return write()
        problem = self.metric_problem(hpa, deploy)
        if problem:
            set_condition(conditions, "AbleToScale", "True", "SucceededGetScale",
                          "the HPA controller was able to get the target's current scale", stamp)
            set_condition(conditions, "ScalingActive", "False", "FailedGetResourceMetric",
                          problem, stamp)
            status.setdefault("desiredReplicas", current)
            return write()
        low, high = spec.get("minReplicas", 1), spec["maxReplicas"]
        wanted = desired if desired is not None else status.get("desiredReplicas", current)
        clamped = min(max(wanted, low), high)
        if clamped != current:
            scaled = copy.deepcopy(deploy)
            scaled["spec"]["replicas"] = clamped
            store.save(store.res("deployments"), scaled)
            status["lastScaleTime"] = stamp
            set_condition(conditions, "AbleToScale", "True", "SucceededRescale",
                          f"the HPA controller was able to update the target scale to {clamped}",
                          stamp)
        else:
            set_condition(conditions, "AbleToScale", "True", "ReadyForNewScale",
                          "recommended size matches current size", stamp)
        set_condition(conditions, "ScalingActive", "True", "ValidMetricFound",
                      "the HPA was able to successfully calculate a replica count from cpu "
                      "resource utilization (percentage of request)", stamp)
        if wanted > high:
            set_condition(conditions, "ScalingLimited", "True", "TooManyReplicas",
                          "the desired replica count is more than the maximum replica count",
                          stamp)
        elif wanted < low:
            set_condition(conditions, "ScalingLimited", "True", "TooFewReplicas",
                          "the desired replica count is less than the minimum replica count",
                          stamp)
        else:
            set_condition(conditions, "ScalingLimited", "False", "DesiredWithinRange",
                          "the desired count is within the acceptable range", stamp)
        status["desiredReplicas"] = clamped
        return write()


class GarbageCollector:
    """Owner references (Background, Foreground) and finished deletions (notes §6)."""

    def __init__(self, cluster):
        self.cluster = cluster
        self.store = cluster.store

    def reset(self):
        pass

    def wakeups(self, now):
        return ()  # reacts to writes only

    def reconcile(self, now):
        store, deleter = self.store, self.cluster.deleter
        live = store.live_uids()
        for key in sorted(store.objects):
            obj = store.objects.get(key)
            if obj is None or is_deleting(obj):
                continue
            refs = obj["metadata"].get("ownerReferences") or []
            alive = [r for r in refs if r.get("uid") in live]
            if refs and not alive:  # every owner is gone: so is the dependent
                deleter.delete(store.res(key[0]), obj, "Background")
            elif len(alive) < len(refs):
                new = copy.deepcopy(obj)
                new["metadata"]["ownerReferences"] = alive
                store.save(store.res(key[0]), new, bump_generation=False)
        for key in sorted(store.objects):
            obj = store.objects.get(key)
            if obj is None or not is_deleting(obj) or key[0] in ("pods", "namespaces"):
                continue
            finalizers = obj["metadata"].get("finalizers") or []
            res = store.res(key[0])
            if "foregroundDeletion" in finalizers:
                dependents = deleter.dependents(obj["metadata"]["uid"])
                for dep_res, dep in dependents:
                    if not is_deleting(dep):
                        deleter.delete(dep_res, dep, "Background")
                if deleter.dependents(obj["metadata"]["uid"]):
                    continue  # wait until they are really gone
                finalizers = [f for f in finalizers if f != "foregroundDeletion"]
                if finalizers:
                    new = copy.deepcopy(obj)
                    new["metadata"]["finalizers"] = finalizers
                    store.save(res, new, bump_generation=False)
                    continue
            if not finalizers:
                store.remove(res, obj)


class NamespaceController:
    """Terminating namespaces lose their contents and then go; live ones get a ServiceAccount
    "default" (the serviceaccounts controller's job)."""

    def __init__(self, cluster):
        self.cluster = cluster
        self.store = cluster.store

    def reset(self):
        pass

    def wakeups(self, now):
        return ()  # reacts to writes only

    def reconcile(self, now):
        store = self.store
        for ns in store.items("namespaces"):
            name = ns["metadata"]["name"]
            if is_deleting(ns):
                for key in sorted(store.objects):
                    obj = store.objects.get(key)
                    if obj is None or key[1] != name or key[0] == "namespaces":
                        continue
                    if key[0] == "pods":
                        self.cluster.deleter.delete_pod(obj, 0)
                    else:
                        store.remove(store.res(key[0]), obj)
                if not any(k[1] == name for k in store.objects):
                    store.remove(store.res("namespaces"), ns)
            elif store.get("serviceaccounts", name, "default") is None:
                self.cluster.api.create_internal(store.res("serviceaccounts"), {
                    "metadata": {"name": "default", "namespace": name}})


# ---------------------------------------------------------------------------------------------
# Test control (notes §8): faults, forbidden verbs, service backends, and the cluster itself.


STATUS_REASONS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
                  405: "MethodNotAllowed", 409: "Conflict", 410: "Expired", 415:
                  "UnsupportedMediaType", 422: "Invalid", 429: "TooManyRequests",
                  500: "InternalError", 503: "ServiceUnavailable", 504: "Timeout"}


class Fault:
    def __init__(self, body):
        if not isinstance(body, dict) or not isinstance(body.get("pathRegex"), str):
            raise ApiError(400, "BadRequest", "a fault needs a pathRegex")
        unknown = set(body) - {"method", "pathRegex", "times", "respond", "dropConnection",
                               "delayMs"}
        if unknown:
            raise ApiError(400, "BadRequest", f"unknown fault keys: {sorted(unknown)}")
        try:
            self.path = re.compile(body["pathRegex"])
        except re.error as e:
            raise ApiError(400, "BadRequest", f"bad pathRegex: {e}")
        self.method = body.get("method")
        self.remaining = body.get("times", 1)  # a negative count never runs out
        self.respond = body.get("respond")
        self.drop = bool(body.get("dropConnection"))
        self.delay_ms = body.get("delayMs", 0)
        if not (self.respond or self.drop or self.delay_ms):
            raise ApiError(400, "BadRequest", "a fault needs respond, dropConnection or delayMs")

    def error(self):
        code = int(self.respond.get("code", 500))
        reason = STATUS_REASONS.get(code, "InternalError")
        message = self.respond.get("message") or {
            429: "the server has received too many requests and has asked us to try again later",
            500: "an error on the server (\"injected fault\") has prevented the request from "
                 "succeeding",
            503: "the server is currently unable to handle the request",
            504: "the server was unable to return a response in the time allotted"}.get(
                code, f"injected fault {code}")
        details, headers = {}, []
        if "retryAfterSeconds" in self.respond:
            details["retryAfterSeconds"] = int(self.respond["retryAfterSeconds"])
            headers.append(("Retry-After", str(details["retryAfterSeconds"])))
        return ApiError(code, reason, message, details, raw_headers=headers)


class Faults:
    def __init__(self):
        self.lock = threading.Lock()
        self.rules = []

    def clear(self):
        with self.lock:
            self.rules.clear()

    def add(self, body):
        with self.lock:
            self.rules.append(Fault(body))

    def take(self, method, path):
        with self.lock:
            for rule in self.rules:
                if rule.remaining != 0 and rule.method in (None, method) and \
                        rule.path.search(path):
                    if rule.remaining > 0:
                        rule.remaining -= 1
                    return rule
        return None


class Forbids:
    """POST /__fake/forbid {verb, resource[, namespace]}: RBAC is not evaluated, but a test
    can make a verb on a resource answer 403 as a real server would."""

    def __init__(self, user):
        self.user = user
        self.rules = []

    def clear(self):
        self.rules.clear()

    def add(self, body):
        if not isinstance(body, dict) or not body.get("verb") or not body.get("resource"):
            raise ApiError(400, "BadRequest", "forbid needs a verb and a resource")
        self.rules.append(body)

    def check(self, verb, resource, group, namespace, name):
        for rule in self.rules:
            if rule["verb"] in ("*", verb) and rule["resource"] in ("*", resource) and \
                    rule.get("namespace") in (None, namespace):
                plural = resource.split("/")[0]
                qualified = f"{plural}.{group}" if group else plural
                subject = f'{qualified} "{name}"' if name else qualified
                scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
                details = {"name": name} if name else {}
                if group:
                    details["group"] = group
                details["kind"] = plural
                raise ApiError(403, "Forbidden", f'{subject} is forbidden: User "{self.user}" '
                               f'cannot {verb} resource "{resource}" in API group "{group}" '
                               f"{scope}", details)


class FakeNodes:
    """v1 Nodes for tests of what the agent reads about its cluster (the node inventory).

    Node is not in the schema subset, so this is a small side store, not part of the model:
    PUT /__fake/nodes/{name} stores the body as that Node (NO schema validation, no defaulting:
    the test owns every field, odd quantities included) except the metadata a server sets:
    name from the path, a uid and creationTimestamp kept from the first PUT, and a new
    resourceVersion each time; DELETE /__fake/nodes/{name} removes it. GET /api/v1/nodes serves
    them as a v1 NodeList sorted by name (labelSelector, fieldSelector metadata.name, limit and
    continue; the continue token is the last name served, so nodes added or removed between
    pages neither repeat nor shift the rest), and GET /api/v1/nodes/{name} one Node. No watch,
    no writes through the API, no controller ever changes a Node, and replies are not walked
    against the schema (there is no Node in it)."""

    PATH = re.compile(r"^/api/v1/nodes(?:/(?P<name>[^/]+))?/?$")

    def __init__(self, store):
        self.store = store
        self.nodes = {}

    def clear(self):
        self.nodes.clear()

    def put(self, name, body):
        if not isinstance(body, dict):
            raise ApiError(400, "BadRequest", "a node is a JSON object")
        node = copy.deepcopy(body)
        node["apiVersion"], node["kind"] = "v1", "Node"
        meta = node.setdefault("metadata", {})
        old = self.nodes.get(name)
        meta["name"] = name
        meta.setdefault("uid", old["metadata"]["uid"] if old else str(uuid.uuid4()))
        meta.setdefault("creationTimestamp",
                        old["metadata"]["creationTimestamp"] if old else self.store.now())
        meta["resourceVersion"] = self.store.next_version()
        self.nodes[name] = node
        return copy.deepcopy(node)

    def delete(self, name):
        if self.nodes.pop(name, None) is None:
            raise ApiError(404, "NotFound", f'nodes "{name}" not found',
                           {"name": name, "kind": "nodes"})
        self.store.next_version()

    def get(self, name):
        if name not in self.nodes:
            raise ApiError(404, "NotFound", f'nodes "{name}" not found',
                           {"name": name, "kind": "nodes"})
        return copy.deepcopy(self.nodes[name])

    def list(self, query):
        if query.get("watch") in ("true", "1"):
            raise ApiError(400, "BadRequest", "the fake does not watch nodes")
        labels = parse_label_selector(query.get("labelSelector", ""))
        fields = parse_field_selector(query.get("fieldSelector", ""), "nodes")
        try:
            limit = int(query.get("limit") or 0)
            after = base64.b64decode(query["continue"], altchars=b"-_", validate=True) \
                .decode() if query.get("continue") else None
            if after == "":
                raise ValueError("empty token")
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, "BadRequest", "invalid limit or continue token")
        items = []
        for name in sorted(self.nodes):
            node = self.nodes[name]
            if after is not None and name <= after:
                continue
            if all(p(node["metadata"].get("labels") or {}) for p in labels) and \
                    all(p(node) for p in fields):
                item = copy.deepcopy(node)
                item.pop("apiVersion", None)  # list items carry no type meta
                item.pop("kind", None)
                items.append(item)
        meta = {"resourceVersion": str(self.store.resource_version)}
        if 0 < limit < len(items):
            last = items[limit - 1]["metadata"]["name"]
            meta["continue"] = base64.urlsafe_b64encode(last.encode()).decode()
            meta["remainingItemCount"] = len(items) - limit
            items = items[:limit]
        return {"kind": "NodeList", "apiVersion": "v1", "metadata": meta, "items": items}


class ServiceProxy:
    """…/services/{name}[:{port}]/proxy/… to a loopback backend the test registered (§7)."""

    PATH = re.compile(r"^/api/v1/namespaces/(?P<namespace>[^/]+)/services/(?P<name>[^/]+)"
                      r"/proxy(?P<rest>/.*)?$")

    def __init__(self, cluster):
        self.cluster = cluster
        self.backends = {}  # (namespace, service, port as registered) -> base URL

    def clear(self):
        self.backends.clear()

    def resolve(self, namespace, spec):
        """The backend URL for "[scheme:]name[:port]", or the Status the server would give."""
        parts = spec.split(":")
        if len(parts) == 3:
            _, name, port = parts
        elif len(parts) == 2 and parts[0] in ("http", "https"):
            name, port = parts[1], ""
        elif len(parts) == 2:
            name, port = parts
        else:
            name, port = spec, ""
        store = self.cluster.store
        svc = store.get("services", namespace, name)
        if svc is None:
            raise store.res("services").not_found(name)
        unavailable = ApiError(503, "ServiceUnavailable",
                               f'no endpoints available for service "{name}"', {})
        ports = svc.get("spec", {}).get("ports") or []
        if port:
            chosen = next((p for p in ports if p.get("name") == port or str(p["port"]) == port),
                          None)
            if chosen is None:
                raise unavailable
        else:
            chosen = ports[0] if ports else None
        keys = [port] + ([str(chosen["port"]), chosen.get("name", "")] if chosen else [])
        url = next((self.backends[(namespace, name, k)] for k in keys
                    if k and (namespace, name, k) in self.backends), None)
        if url is None and not port:  # no port named: any backend of the service will do
            url = next((u for (ns, s, _), u in sorted(self.backends.items())
                        if ns == namespace and s == name), None)
        if url is None:
            raise unavailable
        selector = svc.get("spec", {}).get("selector")
        if selector:  # Endpoints list only ready pods
            ready = [p for p in store.items("pods", namespace)
                     if selector_matches({"matchLabels": selector},
                                         p["metadata"].get("labels") or {})
                     and pod_ready(p) and not is_deleting(p)]
            if not ready:
                raise unavailable
        return url


class Cluster:
    """Everything the fake models, behind one lock (the store's)."""

    def __init__(self, schema, args):
        self.store = Store(schema, args.event_log_size)
        self.deleter = Deleter(self.store)
        self.scripts = Scripts()
        self.issued_tokens = set()
        self.requests = []
        self.faults = Faults()
        self.forbids = Forbids(args.user)
        self.proxy = ServiceProxy(self)
        self.nodes = FakeNodes(self.store)
        self.chaos = args.chaos
        self.check_responses = not args.no_check_responses
        self.stopping = False
        self.api = Api(self, args.default_field_validation)
        self.kubelet = Kubelet(self)
        self.jobs = JobController(self)
        self.deployments = DeploymentController(self)
        self.hpas = HpaController(self)
        self.gc = GarbageCollector(self)
        self.namespaces = NamespaceController(self)
        # Order matters only within one pass; settle() repeats passes until nothing changes.
        self.controllers = [self.namespaces, self.gc, self.jobs, self.deployments, self.hpas,
                            self.kubelet]
        self.reset()

    def reset(self):
        with self.store.lock:
            self.store.clear()
            for controller in self.controllers:
                controller.reset()
            self.scripts.clear()
            self.proxy.clear()
            self.nodes.clear()
            self.faults.clear()
            self.forbids.clear()
            self.issued_tokens.clear()
            self.requests.clear()
            for name in DEFAULT_NAMESPACES:
                self.api.create_internal(self.store.res("namespaces"), {"metadata": {"name": name}})
            self.namespaces.reconcile(self.store.clock)  # a running cluster has their accounts

    def tick(self, seconds):
        """Moves the virtual clock in whole-second steps, settling the controllers at each.
        Quiet stretches are skipped: every controller names the next time at which something
        happens by itself (a run ends, a back-off or deadline expires), so a 3600 s tick costs
        what its few interesting seconds cost, and still behaves like 3600 ticks of 1 s."""
        with self.store.lock:
            start = self.store.clock
            end = start + seconds
            self.settle()
            while self.store.clock < end - 1e-9:
                now = self.store.clock
                wake = min((t for c in self.controllers for t in c.wakeups(now) if t > now),
                           default=math.inf)
                if wake == math.inf:
                    self.store.clock = end
                else:
                    step = max(1.0, math.ceil(wake - now - 1e-9))  # stay on the 1 s grid
                    self.store.clock = min(now + step, end)
                self.settle()
            self.store.changed.notify_all()  # watches check their virtual timeouts
            return self.store.now()

    def settle(self):
        now = self.store.clock
        for _ in range(MAX_SETTLE_PASSES):
            before = self.store.writes
            for controller in self.controllers:
                controller.reconcile(now)
            if self.store.writes == before:
                return

    def response_problem(self, body):
        """Notes §10: what the fake returns must pass the same schema as what it accepts."""
        if not self.check_responses or not isinstance(body, dict):
            return None
        definition = self.store.schema.definition_for(body.get("apiVersion"), body.get("kind"))
        if definition is None:
            return None
        findings = []
        walk(self.store.schema, definition, body, "", findings)
        if not findings:
            return None
        return (f"fake apiserver bug: the {body.get('apiVersion')} {body.get('kind')} it was "
                "about to return breaks the schema: " +
                "; ".join(f"{f.field}: {f.message}" for f in findings[:5]))


class WatchStream:
    """One ?watch=true request (notes §9): initial ADDED events or a replay from the log,
    then live events until timeoutSeconds (virtual), /__fake/watch/close or shutdown."""

    def __init__(self, cluster, res, namespace, query):
        self.cluster, self.store, self.res, self.namespace = cluster, cluster.store, res, namespace
        self.wanted = cluster.api.matching(res, namespace, query)
        self.bookmarks = query.get("allowWatchBookmarks") in ("true", "1")
        self.rv = query.get("resourceVersion", "")
        if self.rv not in ("", "0") and not self.rv.isdigit():
            raise ApiError(400, "BadRequest", f'invalid resource version "{self.rv}"')
        with self.store.lock:
            self.epoch = self.store.watch_epoch
            self.started = self.store.clock
            self.deadline = None
            if query.get("timeoutSeconds"):
                self.deadline = self.started + int(query["timeoutSeconds"])
            if cluster.chaos:  # real servers end watches too; clients must resume
                chaos = self.started + RNG.uniform(60, 120)
                self.deadline = chaos if self.deadline is None else min(self.deadline, chaos)

    def translate(self, event):
        """The event as this watch sees it: a label change can turn MODIFIED into ADDED or
        DELETED, as the apiserver's watch cache does."""
        if event.plural != self.res.plural or \
                (self.namespace is not None and event.namespace != self.namespace):
            return None
        now = self.wanted(event.obj)
        before = event.old is not None and self.wanted(event.old)
        if event.type == "ADDED":
            kind = "ADDED" if now else None
        elif event.type == "DELETED":
            kind = "DELETED" if now or before else None
        else:
            kind = {(True, True): "MODIFIED", (True, False): "ADDED",
                    (False, True): "DELETED"}.get((now, before))
        return {"type": kind, "object": event.obj} if kind else None

    def bookmark(self):
        return {"type": "BOOKMARK", "object": {
            "kind": self.res.kind, "apiVersion": self.res.api_version,
            "metadata": {"resourceVersion": str(self.store.resource_version)}}}

    def expired(self, rv):
        return {"type": "ERROR", "object": {
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": f"too old resource version: {rv} ({self.store.log.compacted + 1})",
            "reason": "Expired", "code": 410}}

    def events(self, client_alive):
        store = self.store
        with store.lock:
            if self.rv in ("", "0"):
                first = [{"type": "ADDED", "object": obj}
                         for obj in store.items(self.res.plural, self.namespace)
                         if self.wanted(obj)]
                cursor = store.resource_version
            else:
                cursor = int(self.rv)
                first = [] if store.log.after(cursor) is not None else None
                if first is None:
                    first = [self.expired(cursor)]
                    cursor = None
        yield from first
        if cursor is None:
            return
        last_bookmark = self.started
        while True:
            batch, done = [], False
            with store.lock:
                while not batch and not done:
                    if store.watch_epoch != self.epoch or self.cluster.stopping:
                        return
                    newer = store.log.after(cursor)
                    if newer is None:
                        batch, done = [self.expired(cursor)], True
                        break
                    if self.deadline is not None and newer and newer[-1].time > self.deadline:
                        # A long tick ran past the timeout: deliver what happened before it.
                        newer = [e for e in newer if e.time <= self.deadline]
                        batch = [e for e in map(self.translate, newer) if e]
                        batch += [self.bookmark()] if self.bookmarks else []
                        done = True
                        break
                    if newer:
                        cursor = newer[-1].rv
                        batch = [e for e in map(self.translate, newer) if e]
                        continue
                    if self.deadline is not None and store.clock >= self.deadline:
                        batch, done = ([self.bookmark()] if self.bookmarks else []), True
                        break
                    if self.bookmarks and store.clock - last_bookmark >= 60:
                        last_bookmark = store.clock
                        batch = [self.bookmark()]
                        break
                    store.changed.wait(1.0)
                    if not client_alive():
                        return
            yield from batch
            if done:
                return


# ---------------------------------------------------------------------------------------------
# HTTP.


class Route:
    def __init__(self, res, pattern, scope):
        self.res, self.scope = res, scope
        self.regex = re.compile("^" + pattern.replace("{namespace}", "(?P<namespace>[^/]+)")
                                .replace("{name}", "(?P<name>[^/]+)") + "/?$")


def build_routes(store):
    routes = []
    for res in store.resources.values():
        row = res.row
        routes.append(Route(res, row["collectionPath"], "collection"))
        routes.append(Route(res, row["itemPath"], "item"))
        for sub in ("status", "scale", "log", "token"):
            if sub in res.subresources:
                routes.append(Route(res, row["itemPath"] + "/" + sub, sub))
        if res.namespaced:
            all_path = row["collectionPath"].replace("/namespaces/{namespace}", "")
            routes.append(Route(res, all_path, "all"))
    return routes


ALLOWED = {"collection": {"GET", "POST", "DELETE"}, "all": {"GET"},
           "item": {"GET", "PUT", "PATCH", "DELETE"}, "status": {"GET", "PUT", "PATCH"},
           "scale": {"GET", "PUT", "PATCH"}, "log": {"GET"}, "token": {"POST"}}
PATCH_TYPES = {"application/merge-patch+json", "application/strategic-merge-patch+json",
               "application/json-patch+json", "application/apply-patch+yaml"}
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
              "trailer", "transfer-encoding", "upgrade", "host", "content-length"}
METHOD_VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete",
                "GET": "get", "HEAD": "get", "OPTIONS": "get"}


def not_found_path():
    return ApiError(404, "NotFound", "the server could not find the requested resource", {})


def method_not_allowed():
    return ApiError(405, "MethodNotAllowed",
                    "the server does not allow this method on the requested resource", {})


def verb_for(scope, method, query):
    if method == "GET":
        if scope in ("collection", "all"):
            return "watch" if query.get("watch") in ("true", "1") else "list"
        return "get"
    if method == "DELETE" and scope == "collection":
        return "deletecollection"
    return METHOD_VERBS[method]


def discovery(store, path, port):
    """/api, /apis, /api/v1 and /apis/<group>/<version>, built from the resource rows."""
    versions = {}
    for res in store.resources.values():
        versions.setdefault(res.api_version, []).append(res)
    if path == "/api":
        return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": f"127.0.0.1:{port}"}]}
    if path == "/apis":
        groups = []
        for api_version in sorted(v for v in versions if "/" in v):
            group, version = api_version.split("/")
            gv = {"groupVersion": api_version, "version": version}
            groups.append({"name": group, "versions": [gv], "preferredVersion": gv})
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}
    api_version = path[len("/api/"):] if path.startswith("/api/") else path[len("/apis/"):]
    if api_version not in versions:
        return None
    resources = []
    for res in versions[api_version]:
        verbs = ["create", "delete", "deletecollection", "get", "list", "patch", "update",
                 "watch"]
        resources.append({"name": res.plural, "singularName": res.kind.lower(),
                          "namespaced": res.namespaced, "kind": res.kind, "verbs": verbs})
        for sub in res.subresources:
            sub_verbs = {"status": ["get", "patch", "update"], "scale": ["get", "patch", "update"],
                         "log": ["get"], "token": ["create"],
                         "proxy": ["create", "delete", "get", "patch", "update"]}[sub]
            kind = {"scale": "Scale", "token": "TokenRequest"}.get(sub, res.kind)
            resources.append({"name": f"{res.plural}/{sub}", "singularName": "",
                              "namespaced": res.namespaced, "kind": kind, "verbs": sub_verbs})
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": api_version,
            "resources": resources}


def parse_body(raw, kind, strict=True, warnings=None, allow_list=False):
    """Parses JSON with duplicate-key detection (an error under Strict, else a Warning)."""
    duplicates = []

    def pairs(items):
        seen = {}
        for key, value in items:
            if key in seen:
                duplicates.append(key)
            seen[key] = value
        return seen

    try:
        body = json.loads(raw.decode("utf-8"), object_pairs_hook=pairs)
    except (ValueError, UnicodeDecodeError) as e:
        raise ApiError(400, "BadRequest", f"couldn't get version/kind; json parse error: {e}")
    if not isinstance(body, dict) and not (allow_list and isinstance(body, list)):
        raise ApiError(400, "BadRequest", f"cannot unmarshal {json_type_name(body)} into {kind}")
    for key in duplicates:
        message = f'json: duplicate field "{key}"'
        if strict:
            raise ApiError(400, "BadRequest", f"{kind}: strict decoding error: {message}")
        warnings.append(f'299 - "{message}"')
    return body


def check_type_meta(res, body, namespace):
    """Fills absent apiVersion/kind from the route; a different one, or namespace, is a 400."""
    api_version = body.setdefault("apiVersion", res.api_version)
    kind = body.setdefault("kind", res.kind)
    if api_version != res.api_version:
        raise ApiError(400, "BadRequest", f"the API version in the data ({api_version}) does not "
                                          f"match the expected API version ({res.api_version})")
    if kind != res.kind:
        raise ApiError(400, "BadRequest", f"the kind in the data ({kind}) does not match the "
                                          f"expected kind ({res.kind})")
    meta = body.get("metadata")
    if meta is not None and not isinstance(meta, dict):
        return  # the schema walk reports the wrong type
    sent = (meta or {}).get("namespace")
    if namespace is not None and sent is not None and sent != namespace:
        raise ApiError(400, "BadRequest", "the namespace of the provided object does not match "
                                          "the namespace sent on the request")


def make_handler(cluster, auth):
    store, api = cluster.store, cluster.api
    routes = build_routes(store)

    class Handler(BaseHTTPRequestHandler):
        # Headers and body go out in separate writes; on a kept-alive connection Nagle then
        # waits for the client's delayed ACK (~40 ms a request), as no real API server does.
        disable_nagle_algorithm = True
        protocol_version = "HTTP/1.1"  # keep-alive, as libcurl expects from an apiserver

        def log_message(self, fmt, *args):  # stdout carries only PORT=; keep stderr quiet too
            pass

        def do_GET(self):
            self.dispatch()

        do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

        # -- plumbing ------------------------------------------------------------------------

        def read_body(self):
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                data = b""
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        self.rfile.readline()
                        return data
                    data += self.rfile.read(size)
                    self.rfile.readline()
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def send_body(self, code, content_type, data, warnings=(), extra=()):
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for w in warnings:
                self.send_header("Warning", w)
            for name, value in extra:
                self.send_header(name, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def send_json(self, code, body, warnings=(), extra=()):
            self.send_body(code, "application/json", json.dumps(body).encode(), warnings, extra)

        def start_stream(self, content_type):
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()

        def write_chunk(self, data):
            if data:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.wfile.flush()

        def end_stream(self):
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

        def client_alive(self):
            """False once the client hung up, so an idle watch does not hold its thread."""
            if isinstance(self.connection, ssl.SSLSocket):
                return True  # no MSG_PEEK on TLS; the next write will notice instead
            try:
                readable, _, _ = select.select([self.connection], [], [], 0)
                return not readable or self.connection.recv(1, socket.MSG_PEEK) != b""
            except OSError:
                return False

        def drop(self):
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

        def authenticate(self):
            if auth["token"] is None and auth["client_user"] is None:
                return
            header = self.headers.get("Authorization", "")
            bearer = header[7:] if header.startswith("Bearer ") else None
            if bearer is not None and (bearer == auth["token"] or
                                       bearer in cluster.issued_tokens):
                return
            if auth["client_user"] is not None and isinstance(self.connection, ssl.SSLSocket):
                cert = self.connection.getpeercert()
                subject = dict(x[0] for x in (cert or {}).get("subject", ()))
                if subject.get("commonName") == auth["client_user"]:
                    return
            raise ApiError(401, "Unauthorized", "Unauthorized")

        # -- the request ---------------------------------------------------------------------

        def dispatch(self):
            url = urlsplit(self.path)
            path = unquote(url.path)
            query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
            raw = self.read_body()
            with store.lock:
                cluster.requests.append({
                    "method": self.command, "path": path, "query": query,
                    "contentType": self.headers.get("Content-Type", ""),
                    "accept": self.headers.get("Accept", ""),
                    "userAgent": self.headers.get("User-Agent", ""),
                    "authorization": "Authorization" in self.headers,
                    "body": raw.decode("utf-8", "replace")})
            warnings = []
            try:
                if not path.startswith("/__fake/"):
                    fault = cluster.faults.take(self.command, path)
                    if fault is not None:
                        if fault.delay_ms:
                            time.sleep(fault.delay_ms / 1000)  # wall time, on purpose
                        if fault.drop:
                            self.drop()
                            return
                        if fault.respond:
                            raise fault.error()
                    self.authenticate()
                result = self.route(path, url, query, raw, warnings)
                if result is None:
                    return  # streamed or relayed already
                code, body = result
                if isinstance(body, str):
                    self.send_body(code, "text/plain", body.encode(), warnings)
                    return
                if not path.startswith("/__fake/"):
                    problem = cluster.response_problem(body)
                    if problem:
                        print(problem, file=sys.stderr, flush=True)
                        raise ApiError(500, "InternalError", problem, {})
                self.send_json(code, body, warnings)
            except ApiError as e:
                self.send_json(e.code, e.status(), warnings + e.headers, e.raw_headers)
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
                self.close_connection = True
            except Exception as e:  # a bug in the fake: say so rather than hang the client
                import traceback
                traceback.print_exc()
                self.send_json(500, ApiError(500, "InternalError",
                                             f"fake apiserver crashed: {e!r}", {}).status())

        def route(self, path, url, query, raw, warnings):
            if path.startswith("/__fake/"):
                return self.control(path, query, raw)
            bare = path.rstrip("/")
            if bare == "/version" or bare in ("/api", "/apis") or \
                    re.fullmatch(r"/api/v1|/apis/[^/]+/[^/]+", bare):
                if self.command != "GET":
                    raise method_not_allowed()
                if bare == "/version":
                    return 200, {"major": "1", "minor": "36", "gitVersion": "v1.36.0-fake",
                                 "platform": "linux/amd64"}
                doc = discovery(store, bare, self.server.server_address[1])
                if doc is None:
                    raise not_found_path()
                return 200, doc
            proxy = ServiceProxy.PATH.match(url.path)
            if proxy:
                return self.serve_proxy(proxy, url, raw)
            nodes = FakeNodes.PATH.match(path)
            if nodes:
                if self.command != "GET":
                    raise method_not_allowed()
                name = nodes.group("name")
                with store.lock:
                    cluster.forbids.check(verb_for("item" if name else "collection", "GET",
                                                   query), "nodes", "", None, name)
                    return 200, cluster.nodes.get(name) if name else cluster.nodes.list(query)
            for route in routes:
                m = route.regex.match(path)
                if m:
                    break
            else:
                raise not_found_path()
            if self.command not in ALLOWED[route.scope]:
                raise method_not_allowed()
            res, scope = route.res, route.scope
            namespace, name = m.groupdict().get("namespace"), m.groupdict().get("name")
            resource = res.plural if scope in ("collection", "all", "item") else \
                f"{res.plural}/{scope}"
            with store.lock:
                cluster.forbids.check(verb_for(scope, self.command, query), resource, res.group,
                                      namespace, name)
            method = self.command
            if scope in ("collection", "all") and method == "GET":
                if query.get("watch") in ("true", "1"):
                    return self.serve_watch(res, namespace if scope == "collection" else None,
                                            query)
                return api.list(res, namespace if scope == "collection" else None, query)
            if scope == "log":
                return self.serve_log(namespace, name, query)
            if scope == "token":
                return api.token(namespace, name, raw, query, warnings)
            content_type = self.headers.get("Content-Type", "").split(";")[0].strip()
            if scope == "scale":
                if method != "GET":
                    self.check_content_type(content_type)
                return api.scale(res, namespace, name, method, content_type, raw, query,
                                 warnings)
            if method == "GET":
                return api.get(res, namespace, name)
            if method == "DELETE":
                options = parse_body(raw, "DeleteOptions") if raw.strip() else None
                if scope == "collection":
                    return api.delete_collection(res, namespace, query, options, warnings)
                return api.delete(res, namespace, name, query, options, warnings)
            self.check_content_type(content_type)
            strict = field_validation(api.default_validation, query) == "Strict"
            body = parse_body(raw, res.kind, strict, warnings,
                              allow_list=content_type == "application/json-patch+json")
            if method == "PATCH":
                return api.patch(res, namespace, name, content_type, body, query, warnings,
                                 scope == "status")
            body = strip_nulls(body)
            check_type_meta(res, body, namespace)
            if method == "POST":
                return api.create(res, namespace, body, query, warnings)
            return api.replace(res, namespace, name, body, query, warnings, scope == "status")

        def check_content_type(self, content_type):
            wanted = PATCH_TYPES if self.command == "PATCH" else {"application/json"}
            if content_type not in wanted:
                raise ApiError(415, "UnsupportedMediaType",
                               f'the body of the request was in an unknown format - accepted '
                               f'media types include: {", ".join(sorted(wanted))}', {})

        # -- streams and relays --------------------------------------------------------------

        def serve_watch(self, res, namespace, query):
            stream = WatchStream(cluster, res, namespace, query)  # a bad selector is a 400
            self.start_stream("application/json")
            try:
                for event in stream.events(self.client_alive):
                    problem = cluster.response_problem(event["object"])
                    if problem:
                        print(problem, file=sys.stderr, flush=True)
                        event = {"type": "ERROR", "object": ApiError(
                            500, "InternalError", problem, {}).status()}
                    self.write_chunk(json.dumps(event).encode() + b"\n")
                    if problem:
                        break
                self.end_stream()
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
                self.close_connection = True

        def serve_log(self, namespace, name, query):
            with store.lock:
                pod = store.get("pods", namespace, name)
                if pod is None:
                    raise store.res("pods").not_found(name)
                text, run = cluster.kubelet.log(pod, query.get("container"), query)
                uid = pod["metadata"]["uid"]
            if query.get("follow") != "true":
                return 200, text
            self.start_stream("text/plain")
            try:
                self.write_chunk(text.encode())
                with store.lock:  # the whole log is written at start; wait for the end
                    while run.end is None and not cluster.stopping:
                        current = store.get("pods", namespace, name)
                        if current is None or current["metadata"]["uid"] != uid:
                            break
                        store.changed.wait(1.0)
                        if not self.client_alive():
                            break
                self.end_stream()
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
                self.close_connection = True
            return None

        def serve_proxy(self, match, url, raw):
            namespace, spec = unquote(match.group("namespace")), unquote(match.group("name"))
            with store.lock:
                cluster.forbids.check(METHOD_VERBS.get(self.command, "get"), "services/proxy",
                                      "", namespace, spec.split(":")[0])
                backend = urlsplit(cluster.proxy.resolve(namespace, spec))
            target = (backend.path.rstrip("/") + (match.group("rest") or "/")) + \
                (f"?{url.query}" if url.query else "")
            headers = {k: v for k, v in self.headers.items()
                       if k.lower() not in HOP_BY_HOP and k.lower() != "authorization"}
            conn = http.client.HTTPConnection(backend.hostname, backend.port, timeout=30)
            try:
                conn.request(self.command, target, body=raw if raw else None, headers=headers)
                reply = conn.getresponse()
                data = reply.read()
            except OSError as e:
                raise ApiError(503, "ServiceUnavailable",
                               f"error trying to reach service: {e}", {})
            finally:
                conn.close()
            self.send_response(reply.status)
            for k, v in reply.getheaders():
                if k.lower() not in HOP_BY_HOP:
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
            return None

        # -- /__fake/ ------------------------------------------------------------------------

        def control(self, path, query, raw):
            method = self.command
            body = None
            if raw.strip():
                try:
                    body = json.loads(raw)
                except ValueError as e:
                    raise ApiError(400, "BadRequest", f"control body is not JSON: {e}")
            parts = path.strip("/").split("/")[1:]
            with store.lock:
                if parts == ["tick"] and method == "POST":
                    try:
                        seconds = float(query.get("seconds") or 1)
                    except ValueError:
                        raise ApiError(400, "BadRequest", "seconds must be a number")
                    if seconds < 0:
                        raise ApiError(400, "BadRequest", "the clock only moves forward")
                    return 200, {"now": cluster.tick(seconds),
                                 "resourceVersion": str(store.resource_version)}
                if parts == ["clock"] and method == "GET":
                    return 200, {"now": store.now(), "epochSeconds": store.clock,
                                 "resourceVersion": str(store.resource_version)}
                if parts == ["requests"] and method == "GET":
                    return 200, "".join(json.dumps(r) + "\n" for r in cluster.requests)
                if parts == ["reset"] and method == "POST":
                    cluster.reset()
                    return 200, {}
                if len(parts) == 4 and parts[0] == "scripts" and method in ("PUT", "DELETE"):
                    if method == "PUT":
                        cluster.scripts.put(parts[1], parts[2], parts[3], body)
                    else:
                        cluster.scripts.scripts.pop(tuple(parts[1:]), None)
                    return 200, {}
                if len(parts) == 4 and parts[0] == "hpa" and parts[3] == "desired" and \
                        method in ("PUT", "POST"):
                    hpa = store.get("horizontalpodautoscalers", parts[1], parts[2])
                    if hpa is None:
                        raise store.res("horizontalpodautoscalers").not_found(parts[2])
                    try:
                        replicas = int(query["replicas"])
                    except (KeyError, ValueError):
                        raise ApiError(400, "BadRequest", "replicas=N is required")
                    return 200, copy.deepcopy(cluster.hpas.sync(hpa, desired=replicas))
                if len(parts) == 4 and parts[0] == "backends" and method in ("PUT", "DELETE"):
                    key = tuple(parts[1:])
                    if method == "DELETE":
                        cluster.proxy.backends.pop(key, None)
                    elif not isinstance(body, dict) or not str(body.get("url", "")).startswith(
                            "http://"):
                        raise ApiError(400, "BadRequest", 'a backend is {"url":"http://…"}')
                    else:
                        cluster.proxy.backends[key] = body["url"]
                    return 200, {}
                if parts == ["faults"] and method in ("POST", "DELETE"):
                    if method == "POST":
                        cluster.faults.add(body)
                    else:
                        cluster.faults.clear()
                    return 200, {}
                if parts == ["forbid"] and method in ("POST", "DELETE"):
                    if method == "POST":
                        cluster.forbids.add(body)
                    else:
                        cluster.forbids.clear()
                    return 200, {}
                if parts == ["watch", "close"] and method == "POST":
                    store.watch_epoch += 1
                    store.changed.notify_all()
                    return 200, {}
                if parts == ["watch", "expire"] and method == "POST":
                    store.log.expire(store.resource_version)
                    store.changed.notify_all()
                    return 200, {}
                if len(parts) == 2 and parts[0] == "nodes" and method in ("PUT", "DELETE"):
                    if method == "DELETE":
                        cluster.nodes.delete(parts[1])
                        return 200, {}
                    return 200, cluster.nodes.put(parts[1], body)
                if parts == ["raw"] and method == "PUT":
                    return 200, self.plant(body)
            raise not_found_path()

        def plant(self, obj):
            """Stores an object exactly as given (no validation, no defaulting): for tests
            that need a state no controller would make, such as the §10 check itself."""
            if not isinstance(obj, dict) or not isinstance(obj.get("metadata"), dict):
                raise ApiError(400, "BadRequest", "raw needs an object with metadata")
            res = store.by_kind.get(obj.get("kind"))
            if res is None:
                raise ApiError(400, "BadRequest", f"unknown kind {obj.get('kind')!r}")
            meta = obj["metadata"]
            meta.setdefault("uid", str(uuid.uuid4()))
            meta.setdefault("creationTimestamp", store.now())
            if store.get(res.plural, meta.get("namespace"), meta.get("name")) is not None:
                current = store.get(res.plural, meta.get("namespace"), meta["name"])
                store.objects[(res.plural, meta.get("namespace", ""), meta["name"])] = obj
                obj["metadata"]["resourceVersion"] = store.next_version()
                store._record(res, "MODIFIED", obj, current)
            else:
                store.insert(res, obj)
            return copy.deepcopy(obj)

    return Handler


class FakeServer(ThreadingHTTPServer):
    daemon_threads = True
    ssl_context = None

    def handle_error(self, request, client_address):
        # A client that hangs up mid-request is normal for tests (dropped watches, faults);
        # only a real bug deserves the traceback on stderr.
        if not isinstance(sys.exc_info()[1], (ConnectionError, ssl.SSLError, TimeoutError)):
            super().handle_error(request, client_address)

    def finish_request(self, request, client_address):
        if self.ssl_context is None:
            return super().finish_request(request, client_address)
        # The TLS handshake runs here, in the request's own thread, so a silent client cannot
        # stall the accept loop.
        request.settimeout(10)
        try:
            tls = self.ssl_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        tls.settimeout(None)
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            try:
                tls.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            tls.close()


# ---------------------------------------------------------------------------------------------
# TLS and the kubeconfig (notes §1, §9).


class Certificates:
    """A throwaway CA, a server certificate for 127.0.0.1 and, optionally, a client
    certificate whose CN is the user name; all made with the openssl CLI."""

    def __init__(self, directory, client_user=None):
        self.dir = directory
        self.ca_cert, self.ca_key = self.path("ca.crt"), self.path("ca.key")
        self.server_cert, self.server_key = self.path("server.crt"), self.path("server.key")
        self.client_cert = self.client_key = None
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        self.openssl("req", "-x509", *ec, "-keyout", self.ca_key, "-out", self.ca_cert,
                     "-days", "2", "-subj", "/CN=fake-apiserver-ca",
                     "-addext", "basicConstraints=critical,CA:TRUE",
                     "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        self.issue("server", "/CN=kube-apiserver",
                   "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc\n"
                   "extendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n")
        if client_user:
            self.client_cert, self.client_key = self.path("client.crt"), self.path("client.key")
            self.issue("client", f"/CN={client_user}",
                       "extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n")

    def path(self, name):
        return os.path.join(self.dir, name)

    def openssl(self, *args):
        result = subprocess.run(["openssl", *args], capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"openssl {args[0]} failed: {result.stderr.strip()}")

    def issue(self, name, subject, extensions):
        ext = self.path(f"{name}.ext")
        with open(ext, "w") as f:
            f.write(extensions)
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        self.openssl("req", *ec, "-keyout", self.path(f"{name}.key"),
                     "-out", self.path(f"{name}.csr"), "-subj", subject)
        self.openssl("x509", "-req", "-in", self.path(f"{name}.csr"), "-CA", self.ca_cert,
                     "-CAkey", self.ca_key, "-CAcreateserial", "-out", self.path(f"{name}.crt"),
                     "-days", "2", "-extfile", ext)

    def server_context(self):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.server_cert, self.server_key)
        if self.client_cert:
            ctx.load_verify_locations(self.ca_cert)
            ctx.verify_mode = ssl.CERT_OPTIONAL  # a token may still authenticate instead
        return ctx


def read_b64(path):
    with open(path, "rb") as f:
        return base64.b64encode(f.read()).decode()


def write_file(path, text):
    """Writes atomically, so a reader never sees half a file."""
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def write_kubeconfig(path, server, certs, token, namespace):
    cluster = {"server": server}
    if certs:
        cluster["certificate-authority-data"] = read_b64(certs.ca_cert)
    user = {}
    if token:
        user["token"] = token
    if certs and certs.client_cert:
        user["client-certificate-data"] = read_b64(certs.client_cert)
        user["client-key-data"] = read_b64(certs.client_key)
    config = {"apiVersion": "v1", "kind": "Config", "preferences": {},
              "clusters": [{"name": "fake", "cluster": cluster}],
              "users": [{"name": "fake-user", "user": user}],
              "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake-user",
                                                        "namespace": namespace}}],
              "current-context": "fake"}
    write_file(path, json.dumps(config, indent=2) + "\n")


def write_serviceaccount_dir(directory, certs, token, namespace):
    """The files a pod finds in /var/run/secrets/kubernetes.io/serviceaccount."""
    os.makedirs(directory, exist_ok=True)
    write_file(os.path.join(directory, "token"), token or "fake-in-cluster-token")
    write_file(os.path.join(directory, "namespace"), namespace)
    if certs:
        with open(certs.ca_cert) as f:
            write_file(os.path.join(directory, "ca.crt"), f.read())


# ---------------------------------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schema", default=os.environ.get("FAKE_APISERVER_SCHEMA", DEFAULT_SCHEMA))
    parser.add_argument("--token", help="require Authorization: Bearer TOKEN")
    parser.add_argument("--default-field-validation", default="Warn",
                        choices=["Strict", "Warn", "Ignore"])
    parser.add_argument("--event-log-size", type=int, default=1000,
                        help="writes kept for resuming watches")
    parser.add_argument("--auto-tick", action="store_true",
                        help="move the virtual clock 1 s every 20 ms of wall time")
    parser.add_argument("--chaos", action="store_true",
                        help="end each watch at a random point 60-120 virtual seconds in")
    parser.add_argument("--tls", action="store_true", help="serve https with a throwaway CA")
    parser.add_argument("--tls-dir", help="where --tls writes ca.crt, server.crt, ... "
                                          "(default: a temporary directory)")
    parser.add_argument("--client-cert-user", help="with --tls: also accept a client "
                        "certificate with this CN (written into the kubeconfig)")
    parser.add_argument("--kubeconfig", help="write a kubeconfig (JSON) for this server here")
    parser.add_argument("--kubeconfig-namespace", default="policies")
    parser.add_argument("--serviceaccount-dir", help="write token, ca.crt and namespace here")
    parser.add_argument("--user", default="u", help="the user name in 403 messages")
    parser.add_argument("--seed", type=int, help="seed for generated names")
    parser.add_argument("--no-check-responses", action="store_true",
                        help="skip validating the fake's own replies (notes §10)")
    args = parser.parse_args()
    if args.seed is not None:
        RNG.seed(args.seed)
    # Before anything else, so a SIGTERM that comes right after PORT= still exits cleanly.
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    cluster = Cluster(Schema(args.schema), args)
    auth = {"token": args.token, "client_user": args.client_cert_user if args.tls else None}
    server = FakeServer(("127.0.0.1", 0), make_handler(cluster, auth))
    port = server.server_address[1]
    own_dir = None
    certs = None
    if args.tls:
        directory = args.tls_dir
        if not directory:
            directory = own_dir = tempfile.mkdtemp(prefix="fake-apiserver-tls-")
        os.makedirs(directory, exist_ok=True)
        certs = Certificates(directory, args.client_cert_user)
        server.ssl_context = certs.server_context()
    url = f"{'https' if args.tls else 'http'}://127.0.0.1:{port}"
    if args.kubeconfig:
        write_kubeconfig(args.kubeconfig, url, certs, args.token, args.kubeconfig_namespace)
    if args.serviceaccount_dir:
        write_serviceaccount_dir(args.serviceaccount_dir, certs, args.token,
                                 args.kubeconfig_namespace)
    print(f"PORT={port}", flush=True)

    def watch_stdin():
        # The parent holds our stdin open; EOF means it is gone, so the fake must not linger.
        while sys.stdin.buffer.read(4096):
            pass
        stop.set()

    def auto_tick():
        while not stop.wait(0.02):
            cluster.tick(1)

    threading.Thread(target=watch_stdin, daemon=True).start()
    if args.auto_tick:
        threading.Thread(target=auto_tick, daemon=True).start()
    # A short poll interval: shutdown() waits up to one interval, and tests start many fakes.
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    while not stop.wait(0.5):
        pass
    with cluster.store.lock:  # open watches and log streams end cleanly
        cluster.stopping = True
        cluster.store.changed.notify_all()
    server.shutdown()
    server.server_close()
    if own_dir:
        shutil.rmtree(own_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
