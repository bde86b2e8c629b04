#!/usr/bin/env python3
"""A schema-validating fake Kubernetes API server for the adapter's tests (standard library only).

It follows shared/k8s/fake_apiserver_notes.md and builds its routes and its body schemas from
shared/k8s/openapi-subset.json (`x-subset.resources`, `x-subset.kinds`). It binds 127.0.0.1:0
only, prints `PORT=<n>` as its first stdout line, and exits when stdin closes or on SIGTERM.

What it does (this slice):
  * State (notes §2): objects keyed by (plural, namespace or "", name); one global
    resourceVersion; server-set uid, creationTimestamp, resourceVersion and generation (bumped
    only when `spec` changes); client-sent uid/resourceVersion/creationTimestamp/status ignored
    on create; namespaces default, kube-system and kube-public exist at start.
  * Routes (notes §3) for every x-subset resource: collection GET (list with labelSelector
    =, ==, !=, in, notin, exists, !key; fieldSelector metadata.name/metadata.namespace; limit and
    continue) and POST; the all-namespaces list of namespaced kinds; item GET, PUT, PATCH, DELETE;
    `…/status` GET, PUT, PATCH; `/version/`. Unknown paths get 404, unknown verbs 405.
  * Request pipeline (notes §4): bearer token (--token), content type (415), JSON syntax and
    duplicate keys (400), null stripping, type meta fill-in and mismatch checks (400), schema walk
    ($ref, type, properties, additionalProperties, items, required, format, oneOf, pattern) with
    fieldValidation Strict/Warn/Ignore, AlreadyExists/Conflict/NotFound, dryRun=All.
  * Semantic checks (notes §5), a few only: name or generateName required (generateName gets a
    5-character suffix), DNS-1123 subdomain names, Job restartPolicy Never/OnFailure.
  * Test control: POST /__fake/tick?seconds=N (moves the virtual clock; no controllers run yet),
    GET /__fake/requests (JSON lines), POST /__fake/reset.

What it does NOT do yet: watches and the event log, controllers (Job, Deployment, HPA, TTL, GC),
deletion propagation to dependents, graceful pod deletion and namespace Terminating, defaulting
(§5), most semantic checks, pod logs, service proxy, scale, serviceaccount token, discovery
documents, json-patch and apply-patch (strategic merge is approximated as a merge patch), TLS
and the kubeconfig writer, fault injection, validating the fake's own responses (§10).
"""

import argparse
import base64
import copy
import json
import os
import random
import re
import signal
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

DEFAULT_SCHEMA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..",
                              "shared", "k8s", "openapi-subset.json")
DEFAULT_NAMESPACES = ("default", "kube-system", "kube-public")
NAME_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


class ApiError(Exception):
    """A failed request, carried up to the handler as a meta/v1 Status body."""

    def __init__(self, code, reason, message, details=None, headers=None):
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message
        self.details, self.headers = details, headers or []

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
# Small helpers shared by the verbs.


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


# ---------------------------------------------------------------------------------------------
# The store and the verbs.


class Resource:
    """One row of x-subset.resources plus the lookups the verbs need."""

    def __init__(self, row):
        self.row = row
        self.kind, self.api_version = row["kind"], row["apiVersion"]
        self.plural, self.namespaced = row["plural"], row["namespaced"]
        self.group = group_of(self.api_version)
        self.qualified = f"{self.plural}.{self.group}" if self.group else self.plural
        self.kind_qualified = f"{self.kind}.{self.group}" if self.group else self.kind
        self.has_status = "status" in row["subresources"]

    def details(self, name, kind=None):
        details = {"name": name}
        if self.group:
            details["group"] = self.group
        details["kind"] = kind or self.plural
        return details

    def not_found(self, name):
        return ApiError(404, "NotFound", f'{self.qualified} "{name}" not found', self.details(name))


class Store:
    def __init__(self, schema, default_validation):
        self.schema = schema
        self.default_validation = default_validation
        self.lock = threading.RLock()
        self.resources = {r["plural"]: Resource(r) for r in schema.resources}
        self.requests = []
        self.reset()

    def reset(self):
        with self.lock:
            self.objects = {}
            self.resource_version = 0
            self.clock = float(int(time.time()))  # virtual; moved only by /__fake/tick
            self.requests.clear()
            for ns in DEFAULT_NAMESPACES:
                self.store_new(self.resources["namespaces"], {"metadata": {"name": ns}})

    def now(self):
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.clock))

    def next_version(self):
        self.resource_version += 1
        return str(self.resource_version)

    def store_new(self, res, obj):
        """Sets the server-owned metadata and stores `obj` (which is already validated)."""
        meta = obj.setdefault("metadata", {})
        obj["apiVersion"], obj["kind"] = res.api_version, res.kind
        for key in ("uid", "resourceVersion", "creationTimestamp", "generation",
                    "deletionTimestamp", "managedFields"):
            meta.pop(key, None)
        obj.pop("status", None)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = self.now()
        if "spec" in obj or res.kind in ("Job", "Deployment", "HorizontalPodAutoscaler", "Pod",
                                         "Service", "Namespace"):
            meta["generation"] = 1
        if res.plural == "namespaces":
            obj.setdefault("spec", {})["finalizers"] = ["kubernetes"]
            obj["status"] = {"phase": "Active"}
            meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = meta["name"]
        meta["resourceVersion"] = self.next_version()
        self.objects[(res.plural, meta.get("namespace", ""), meta["name"])] = obj
        return obj

    # -- validation --------------------------------------------------------------------------

    def validate(self, res, obj, name, field_validation, warnings):
        """Raises the Status the real server gives for `obj`; drops unknown fields under Warn
        and Ignore (adding a Warning header for Warn)."""
        definition = self.schema.definition_for(obj["apiVersion"], obj["kind"])
        findings = []
        walk(self.schema, definition, obj, "", findings)
        unknown = [f for f in findings if f.category == "unknown"]
        decode = [f for f in findings if f.category in ("type", "format")]
        prefix = (f'{res.kind} in version "{version_of(res.api_version)}" cannot be handled '
                  f'as a {res.kind}: ')
        if decode:
            raise ApiError(400, "BadRequest", prefix + "; ".join(
                f"{f.field}: {f.message}" if f.field not in f.message else f.message
                for f in decode))
        if unknown and field_validation == "Strict":
            raise ApiError(400, "BadRequest", prefix + "strict decoding error: " +
                           ", ".join(f.message for f in unknown))
        for f in unknown:
            f.parent.pop(f.key, None)
            if field_validation == "Warn":
                warnings.append('299 - "unknown field \\"%s\\""' % f.field)
        causes = [{"reason": "FieldValueRequired", "message": f.message, "field": f.field}
                  for f in findings if f.category == "required"]
        causes += semantic_causes(res, obj)
        if causes:
            raise invalid(res, name, causes)

    # -- verbs -------------------------------------------------------------------------------

    def list(self, res, namespace, query):
        selectors = parse_label_selector(query.get("labelSelector", ""))
        fields = {}
        for term in split_selector(query.get("fieldSelector", "")):
            key, _, value = term.partition("=")
            key = key.rstrip("=!")
            if key not in ("metadata.name", "metadata.namespace"):
                raise ApiError(400, "BadRequest",
                               f'"{key}" is not a known field selector: only "metadata.name", '
                               f'"metadata.namespace"')
            fields[key] = value.lstrip("=")
        with self.lock:
            items = []
            for (plural, ns, name), obj in sorted(self.objects.items()):
                if plural != res.plural or (namespace is not None and ns != namespace):
                    continue
                labels = obj["metadata"].get("labels", {})
                if not all(p(labels) for p in selectors):
                    continue
                if fields.get("metadata.name", name) != name:
                    continue
                if fields.get("metadata.namespace", ns) != ns:
                    continue
                item = copy.deepcopy(obj)
                item.pop("apiVersion", None)  # list items carry no type meta, as on the server
                item.pop("kind", None)
                items.append(item)
            start = int(query.get("continue") or 0)
            limit = int(query.get("limit") or 0)
            meta = {"resourceVersion": str(self.resource_version)}
            if limit > 0 and start + limit < len(items):
                meta["continue"] = str(start + limit)
                meta["remainingItemCount"] = len(items) - start - limit
            page = items[start:start + limit] if limit > 0 else items[start:]
            return 200, {"kind": f"{res.kind}List", "apiVersion": res.api_version,
                         "metadata": meta, "items": page}

    def get(self, res, namespace, name):
        with self.lock:
            obj = self.objects.get((res.plural, namespace or "", name))
            if obj is None:
                raise res.not_found(name)
            return 200, copy.deepcopy(obj)

    def create(self, res, namespace, body, query, warnings):
        meta = body.setdefault("metadata", {})
        with self.lock:
            if not meta.get("name") and meta.get("generateName"):
                meta["name"] = meta["generateName"] + "".join(
                    random.choice(NAME_SUFFIX_ALPHABET) for _ in range(5))
            self.validate(res, body, meta.get("name", ""), field_validation(self, query), warnings)
            if namespace is not None:
                if ("namespaces", "", namespace) not in self.objects:
                    raise ApiError(404, "NotFound", f'namespaces "{namespace}" not found',
                                   {"name": namespace, "kind": "namespaces"})
                meta["namespace"] = namespace
            key = (res.plural, namespace or "", meta["name"])
            if key in self.objects:
                raise ApiError(409, "AlreadyExists",
                               f'{res.qualified} "{meta["name"]}" already exists',
                               res.details(meta["name"]))
            if query.get("dryRun") == "All":
                return 201, self.preview_new(res, body)
            return 201, copy.deepcopy(self.store_new(res, body))

    def preview_new(self, res, body):
        """What a create would store, without storing it or using up a resourceVersion."""
        saved = (dict(self.objects), self.resource_version)
        try:
            return copy.deepcopy(self.store_new(res, body))
        finally:
            self.objects, self.resource_version = saved

    def replace(self, res, namespace, name, new, query, warnings, status_only=False):
        """PUT and PATCH end here: `new` is the full desired object."""
        with self.lock:
            key = (res.plural, namespace or "", name)
            old = self.objects.get(key)
            if old is None:
                raise res.not_found(name)
            meta = new.setdefault("metadata", {})
            if meta.get("name", name) != name:
                raise ApiError(400, "BadRequest", "the name of the object "
                               f"({meta['name']}) does not match the name on the URL ({name})")
            sent_version = meta.get("resourceVersion")
            if sent_version and sent_version != old["metadata"]["resourceVersion"]:
                raise ApiError(409, "Conflict",
                               f'Operation cannot be fulfilled on {res.qualified} "{name}": the '
                               "object has been modified; please apply your changes to the "
                               "latest version and try again", res.details(name))
            self.validate(res, new, name, field_validation(self, query), warnings)
            if status_only:
                stored = copy.deepcopy(old)
                if "status" in new:
                    stored["status"] = new["status"]
                else:
                    stored.pop("status", None)
            else:
                stored = new
                # Server-owned metadata survives an update; status belongs to /status.
                for k in ("uid", "creationTimestamp", "generation", "namespace"):
                    if k in old["metadata"]:
                        stored["metadata"][k] = old["metadata"][k]
                if res.has_status:
                    if "status" in old:
                        stored["status"] = old["status"]
                    else:
                        stored.pop("status", None)
                if stored.get("spec") != old.get("spec") and "generation" in old["metadata"]:
                    stored["metadata"]["generation"] = old["metadata"]["generation"] + 1
            stored["apiVersion"], stored["kind"] = res.api_version, res.kind
            if stored == old:
                return 200, copy.deepcopy(old)  # a no-op write keeps its resourceVersion
            if query.get("dryRun") == "All":
                return 200, copy.deepcopy(stored)
            stored["metadata"]["resourceVersion"] = self.next_version()
            self.objects[key] = stored
            return 200, copy.deepcopy(stored)

    def patch(self, res, namespace, name, patch, query, warnings, status_only=False):
        with self.lock:
            _, current = self.get(res, namespace, name)
            merged = strip_nulls(merge_patch(current, patch))
            if "resourceVersion" not in patch.get("metadata", {}):
                merged["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
            return self.replace(res, namespace, name, merged, query, warnings, status_only)

    def delete(self, res, namespace, name, query, body, warnings):
        policy = query.get("propagationPolicy") or (body or {}).get("propagationPolicy")
        with self.lock:
            key = (res.plural, namespace or "", name)
            obj = self.objects.get(key)
            if obj is None:
                raise res.not_found(name)
            if policy is None and res.kind == "Job":
                warnings.append('299 - "child pods are preserved by default when jobs are '
                                'deleted; set propagationPolicy=Background to remove them or set '
                                'propagationPolicy=Orphan to suppress this warning"')
            if query.get("dryRun") != "All":
                del self.objects[key]
                self.next_version()
            details = res.details(name)
            details["uid"] = obj["metadata"]["uid"]
            return 200, {"kind": "Status", "apiVersion": "v1", "metadata": {},
                         "status": "Success", "details": details}


def field_validation(store, query):
    value = query.get("fieldValidation") or store.default_validation
    if value not in ("Strict", "Warn", "Ignore"):
        raise ApiError(400, "BadRequest", f"fieldValidation {value} is invalid, valid values "
                                          "are: [Ignore Warn Strict]")
    return value


def invalid(res, name, causes):
    """A 422 Invalid Status; its details.kind is the Kind, not the resource (as on the server)."""
    texts = [f"{c['field']}: {c['message']}" for c in causes]
    summary = texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"
    return ApiError(422, "Invalid", f'{res.kind_qualified} "{name}" is invalid: {summary}',
                    dict(res.details(name, res.kind), causes=causes))


def semantic_causes(res, obj):
    """The few checks of notes §5 that are implemented so far."""
    causes = []
    meta = obj.get("metadata", {})
    name = meta.get("name")
    if not name:
        causes.append({"reason": "FieldValueRequired", "field": "metadata.name",
                       "message": "name or generateName is required"})
    elif len(name) > 253 or not DNS1123_SUBDOMAIN.match(name):
        causes.append({"reason": "FieldValueInvalid", "field": "metadata.name",
                       "message": f'Invalid value: "{name}": a lowercase RFC 1123 subdomain '
                                  "must consist of lower case alphanumeric characters, '-' or "
                                  "'.', and must start and end with an alphanumeric character"})
    if res.kind == "Job":
        policy = obj.get("spec", {}).get("template", {}).get("spec", {}).get("restartPolicy")
        if policy not in ("Never", "OnFailure"):
            causes.append({"reason": "FieldValueNotSupported" if policy else "FieldValueRequired",
                           "field": "spec.template.spec.restartPolicy",
                           "message": f'Unsupported value: "{policy}": supported values: '
                                      '"OnFailure", "Never"' if policy else "Required value"})
    return causes


# ---------------------------------------------------------------------------------------------
# HTTP.


class Route:
    def __init__(self, res, pattern, scope):
        self.res, self.scope = res, scope  # scope: collection, all, item, status
        self.regex = re.compile("^" + pattern.replace("{namespace}", "(?P<namespace>[^/]+)")
                                .replace("{name}", "(?P<name>[^/]+)") + "/?$")


def build_routes(store):
    routes = []
    for res in store.resources.values():
        row = res.row
        routes.append(Route(res, row["collectionPath"], "collection"))
        routes.append(Route(res, row["itemPath"], "item"))
        if res.has_status:
            routes.append(Route(res, row["itemPath"] + "/status", "status"))
        if res.namespaced:
            all_path = row["collectionPath"].replace("/namespaces/{namespace}", "")
            routes.append(Route(res, all_path, "all"))
    return routes


ALLOWED = {"collection": {"GET", "POST"}, "all": {"GET"},
           "item": {"GET", "PUT", "PATCH", "DELETE"}, "status": {"GET", "PUT", "PATCH"}}
PATCH_TYPES = {"application/merge-patch+json", "application/strategic-merge-patch+json"}


def make_handler(store, routes, token):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as libcurl expects from an apiserver

        def log_message(self, fmt, *args):  # stdout carries only PORT=; keep stderr quiet too
            pass

        def do_GET(self):
            self.dispatch()

        do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

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

        def send_json(self, code, body, warnings=()):
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for w in warnings:
                self.send_header("Warning", w)
            self.end_headers()
            self.wfile.write(data)

        def dispatch(self):
            url = urlsplit(self.path)
            path = unquote(url.path)
            query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
            raw = self.read_body()
            with store.lock:
                store.requests.append({
                    "method": self.command, "path": path, "query": query,
                    "contentType": self.headers.get("Content-Type", ""),
                    "accept": self.headers.get("Accept", ""),
                    "userAgent": self.headers.get("User-Agent", ""),
                    "authorization": "Authorization" in self.headers,
                    "body": raw.decode("utf-8", "replace")})
            warnings = []
            try:
                if token is not None and self.headers.get("Authorization") != f"Bearer {token}":
                    raise ApiError(401, "Unauthorized", "Unauthorized")
                code, body = self.route(path, query, raw, warnings)
                if isinstance(body, str):
                    data = body.encode()
                    self.send_response(code)
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                else:
                    self.send_json(code, body, warnings)
            except ApiError as e:
                self.send_json(e.code, e.status(), warnings + e.headers)

        def route(self, path, query, raw, warnings):
            if path.startswith("/__fake/"):
                return self.control(path, query)
            if path.rstrip("/") == "/version":
                if self.command != "GET":
                    raise ApiError(405, "MethodNotAllowed", "the server does not allow this "
                                   "method on the requested resource", {})
                return 200, {"major": "1", "minor": "36", "gitVersion": "v1.36.0-fake",
                             "platform": "linux/amd64"}
            for route in routes:
                m = route.regex.match(path)
                if m:
                    break
            else:
                raise ApiError(404, "NotFound", "the server could not find the requested resource",
                               {})
            if self.command not in ALLOWED[route.scope]:
                raise ApiError(405, "MethodNotAllowed",
                               "the server does not allow this method on the requested resource",
                               {})
            res = route.res
            namespace, name = m.groupdict().get("namespace"), m.groupdict().get("name")
            if route.scope == "all" or route.scope == "collection" and self.command == "GET":
                return store.list(res, namespace if route.scope == "collection" else None, query)
            if self.command == "GET":
                return store.get(res, namespace, name)
            if self.command == "DELETE":
                options = parse_body(raw, "DeleteOptions") if raw.strip() else None
                return store.delete(res, namespace, name, query, options, warnings)
            content_type = self.headers.get("Content-Type", "").split(";")[0].strip()
            wanted = PATCH_TYPES if self.command == "PATCH" else {"application/json"}
            if content_type not in wanted:
                raise ApiError(415, "UnsupportedMediaType",
                               f'the body of the request was in an unknown format - accepted '
                               f'media types include: {", ".join(sorted(wanted))}', {})
            strict = field_validation(store, query) == "Strict"
            body = parse_body(raw, res.kind, strict, warnings)
            if self.command == "PATCH":
                return store.patch(res, namespace, name, body, query, warnings,
                                   route.scope == "status")
            body = strip_nulls(body)
            check_type_meta(res, body, namespace)
            if self.command == "POST":
                return store.create(res, namespace, body, query, warnings)
            return store.replace(res, namespace, name, body, query, warnings,
                                 route.scope == "status")

        def control(self, path, query):
            if path == "/__fake/tick" and self.command == "POST":
                with store.lock:
                    store.clock += float(query.get("seconds") or 1)
                    return 200, {"now": store.now()}
            if path == "/__fake/requests" and self.command == "GET":
                with store.lock:
                    return 200, "".join(json.dumps(r) + "\n" for r in store.requests)
            if path == "/__fake/reset" and self.command == "POST":
                store.reset()
                return 200, {}
            raise ApiError(404, "NotFound", "the server could not find the requested resource", {})

    return Handler


def parse_body(raw, kind, strict=True, warnings=None):
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
    if not isinstance(body, dict):
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


# ---------------------------------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schema", default=os.environ.get("FAKE_APISERVER_SCHEMA", DEFAULT_SCHEMA))
    parser.add_argument("--token", help="require Authorization: Bearer TOKEN")
    parser.add_argument("--default-field-validation", default="Warn",
                        choices=["Strict", "Warn", "Ignore"])
    args = parser.parse_args()

    store = Store(Schema(args.schema), args.default_field_validation)
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(store, build_routes(store),
                                                                  args.token))
    server.daemon_threads = True
    print(f"PORT={server.server_address[1]}", flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    def watch_stdin():
        # The parent holds our stdin open; EOF means it is gone, so the fake must not linger.
        while sys.stdin.buffer.read(4096):
            pass
        stop.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    # A short poll interval: shutdown() waits up to one interval, and tests start many fakes.
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    while not stop.wait(0.5):
        pass
    server.shutdown()
    server.server_close()


if __name__ == "__main__":
    main()
