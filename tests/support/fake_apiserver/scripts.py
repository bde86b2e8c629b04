"""Scripts: the outcomes a test sets for the pods of a Job, Deployment or Pod (notes §6)."""

from .errors import ApiError


DEFAULT_ATTEMPT = {"runSeconds": 1, "exitCode": 0, "log": "ok\n"}


class Scripts:
    """Outcomes the test sets before it creates a Job, Deployment or Pod (notes §6). A name of
    "*" is the default for a namespace (or, as namespace "*", for all)."""

    ATTEMPT_KEYS = {"runSeconds", "exitCode", "log", "startDelaySeconds"}
    KEYS = {
        "jobs": {"attempts", "startDelaySeconds", "imagePull", "neverStart"},
        "deployments": {"crashLoop", "imagePull", "neverReady", "readySeconds", "log",
                        "startDelaySeconds", "runSeconds", "exitCode"},
        "pods": {"attempts", "startDelaySeconds", "imagePull", "neverStart", "neverReady",
                 "readySeconds", "runSeconds", "exitCode", "log", "crashLoop"},
    }

    def __init__(self):
        self.scripts = {}

    def clear(self):
        self.scripts.clear()

    def put(self, kind, namespace, name, body):
        if kind not in self.KEYS:
            raise ApiError(404, "NotFound", f"no scripts for {kind}", {})
        if not isinstance(body, dict):
            raise ApiError(400, "BadRequest", "a script is a JSON object")
        unknown = set(body) - self.KEYS[kind]
        for attempt in body.get("attempts") or []:
            unknown |= set(attempt) - self.ATTEMPT_KEYS
        if unknown:  # a typo in a test's script should fail loudly, not run the default
            raise ApiError(400, "BadRequest", f"unknown script keys: {sorted(unknown)}")
        if body.get("imagePull") not in (None, "fail"):
            raise ApiError(400, "BadRequest", 'imagePull must be "fail"')
        self.scripts[(kind, namespace, name)] = body

    def find(self, kind, namespace, name):
        for key in ((kind, namespace, name), (kind, namespace, "*"), (kind, "*", "*")):
            if key in self.scripts:
                return self.scripts[key]
        return None
