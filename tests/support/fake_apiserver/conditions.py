"""Status conditions: finding, testing and setting them as the real controllers do."""


def find_condition(conditions, kind):
    for c in conditions or []:
        if c.get("type") == kind:
            return c
    return None


def condition_true(obj, kind):
    c = find_condition(obj.get("status", {}).get("conditions"), kind)
    return c is not None and c.get("status") == "True"


def set_condition(conditions, kind, status, reason, message, now, probe=False, update=False):
    """Adds or updates one condition in place. lastTransitionTime moves only when the status
    flips, as every real controller does; `update` adds a lastUpdateTime (Deployments) and
    `probe` a lastProbeTime (Jobs)."""
    new = {"type": kind, "status": status}
    if probe:
        new["lastProbeTime"] = now
    if update:
        new["lastUpdateTime"] = now
    new.update({"lastTransitionTime": now, "reason": reason, "message": message})
    old = find_condition(conditions, kind)
    if old is None:
        conditions.append(new)
        return True
    if old.get("status") == status and (old.get("reason") or "") == reason and \
            (old.get("message") or "") == message:
        return False
    if old.get("status") == status:
        new["lastTransitionTime"] = old.get("lastTransitionTime", now)
    old.clear()
    old.update(new)
    return True
