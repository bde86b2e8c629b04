"""The deployment controller; ReplicaSets are not modelled, pods point at a synthetic owner
(notes §6)."""

import copy
import hashlib
import json
import uuid

from ..conditions import find_condition, set_condition
from ..names import NAME_SUFFIX_ALPHABET, random_suffix
from ..objects import is_deleting, owner_uids, pod_ready
from ..times import parse_time
from ..topology import NODE_NAME


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
