"""The kubelet stand-in: runs every Pod on the virtual clock by its script (notes §6), and
serves its logs."""

import copy
import hashlib

from .conditions import set_condition
from .errors import ApiError
from .objects import is_deleting, qos_class
from .scripts import DEFAULT_ATTEMPT
from .times import parse_time, rfc3339, rfc3339_nano
from .topology import NODE_IP, NODE_NAME, POD_CIDR_BASE


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
