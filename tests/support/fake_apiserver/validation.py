"""Semantic checks (notes §5): what the schema cannot hold, as 422 causes."""

import re

from .errors import Causes
from .selectors import selector_matches
from .topology import NODE_PORTS


DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
IANA_SVC_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")


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
