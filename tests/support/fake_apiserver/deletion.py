"""Deletion (notes §6 "Deletion and garbage collection")."""

import copy

from .errors import ApiError, Causes
from .objects import is_deleting, owner_uids, pod_terminal
from .times import rfc3339
from .topology import DEFAULT_NAMESPACES


JOB_ORPHAN_WARNING = ('299 - "child pods are preserved by default when jobs are deleted; set '
                      'propagationPolicy=Background to remove them or set '
                      'propagationPolicy=Orphan to suppress this warning"')


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
