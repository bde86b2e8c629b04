"""Small readers of stored objects shared by the verbs and the controllers: owners, deletion,
a pod's phase, readiness and QoS class."""

from .conditions import condition_true


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
