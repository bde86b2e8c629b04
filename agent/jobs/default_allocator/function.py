"""The default resource allocator: picks the executor for a job submitted without one.

A policy like any other (it runs in the jail); operators may register their own and name it in
execution.allocator_policy. Input: {"job": <the submission>, "executors": [<executor records>]}.
Output: {"executor_id": <id>} or {"executor_id": None, "reason": <why none fits>}.

Rule: healthy executors whose labels match every node_selector pair, then the one with the most
vCPUs, then the most memory, then the smallest id (so the choice is deterministic). A label is a
key of executor_metadata (or of executor_metadata.labels), or a "key=value" entry of
executor_metadata.tags.
"""


def _labels(executor):
    metadata = executor.get("executor_metadata") or {}
    labels = {}
    for key, value in metadata.items():
        if isinstance(value, (str, int, float, bool)):
            labels[key] = str(value)
    for key, value in (metadata.get("labels") or {}).items():
        labels[key] = str(value)
    for tag in metadata.get("tags") or []:
        if isinstance(tag, str) and "=" in tag:
            key, value = tag.split("=", 1)
            labels[key] = value
    return labels


def _capacity(executor):
    hardware = executor.get("executor_hardware_info") or {}
    vcpus = (hardware.get("vcpus") or {}).get("count") or 0
    memory = hardware.get("memory") or 0
    return (vcpus, memory)


class AIOSv1PolicyRule:
    def __init__(self, rule_id, settings, parameters):
        self.rule_id = rule_id

    def eval(self, parameters, input_data, context):
        job = input_data.get("job") or {}
        selector = job.get("node_selector") or {}
        candidates = []
        for executor in input_data.get("executors") or []:
            if executor.get("executor_status", "healthy") != "healthy":
                continue
            labels = _labels(executor)
            if all(labels.get(key) == str(value) for key, value in selector.items()):
                candidates.append(executor)
        if not candidates:
            return {"executor_id": None,
                    "reason": "no healthy executor matches node_selector %s" % selector}
        best = sorted(candidates,
                      key=lambda e: (-_capacity(e)[0], -_capacity(e)[1], e["executor_id"]))[0]
        return {"executor_id": best["executor_id"]}
