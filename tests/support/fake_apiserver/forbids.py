"""Test control (notes §8): forbidden verbs, POST|DELETE /__fake/forbid."""

from .errors import ApiError


class Forbids:
    """POST /__fake/forbid {verb, resource[, namespace]}: RBAC is not evaluated, but a test
    can make a verb on a resource answer 403 as a real server would."""

    def __init__(self, user):
        self.user = user
        self.rules = []

    def clear(self):
        self.rules.clear()

    def add(self, body):
        if not isinstance(body, dict) or not body.get("verb") or not body.get("resource"):
            raise ApiError(400, "BadRequest", "forbid needs a verb and a resource")
        self.rules.append(body)

    def check(self, verb, resource, group, namespace, name):
        for rule in self.rules:
            if rule["verb"] in ("*", verb) and rule["resource"] in ("*", resource) and \
                    rule.get("namespace") in (None, namespace):
                plural = resource.split("/")[0]
                qualified = f"{plural}.{group}" if group else plural
                subject = f'{qualified} "{name}"' if name else qualified
                scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
                details = {"name": name} if name else {}
                if group:
                    details["group"] = group
                details["kind"] = plural
                raise ApiError(403, "Forbidden", f'{subject} is forbidden: User "{self.user}" '
                               f'cannot {verb} resource "{resource}" in API group "{group}" '
                               f"{scope}", details)
