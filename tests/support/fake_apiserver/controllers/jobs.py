"""The job controller, with the TTL-after-finished controller (notes §6)."""

import copy

from ..conditions import condition_true, find_condition, set_condition
from ..names import random_suffix
from ..objects import is_deleting, owner_uids, pod_phase, pod_ready, pod_terminal
from ..scripts import DEFAULT_ATTEMPT
from ..times import parse_time
from ..topology import NODE_NAME


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
