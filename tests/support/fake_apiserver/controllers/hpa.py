"""The horizontal pod autoscaler controller, without metrics (notes §6)."""

import copy

from ..conditions import set_condition
from ..resources import group_of


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
