"""The verbs (notes §3, §4)."""

import base64
import copy
import json
import os
import uuid

from .allocator import ServiceAllocator
from .decoding import check_type_meta, parse_body, strip_nulls
from .defaulting import default_deployment, default_hpa, default_job, default_pod
from .deletion import delete_policy, grace_period, success_status
from .errors import ApiError, Causes, conflict, invalid
from .names import random_suffix
from .objects import is_deleting, qos_class
from .patches import json_patch, merge_patch
from .resources import Resource, version_of
from .schema import walk
from .selectors import parse_field_selector, parse_label_selector, selector_string
from .times import rfc3339
from .validation import semantic_causes


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
