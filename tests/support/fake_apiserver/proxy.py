"""The service proxy (notes §7): registered loopback backends behind …/services/…/proxy."""

import re

from .errors import ApiError
from .objects import is_deleting, pod_ready
from .selectors import selector_matches


class ServiceProxy:
    """…/services/{name}[:{port}]/proxy/… to a loopback backend the test registered (§7)."""

    PATH = re.compile(r"^/api/v1/namespaces/(?P<namespace>[^/]+)/services/(?P<name>[^/]+)"
                      r"/proxy(?P<rest>/.*)?$")

    def __init__(self, cluster):
        self.cluster = cluster
        self.backends = {}  # (namespace, service, port as registered) -> base URL

    def clear(self):
        self.backends.clear()

    def resolve(self, namespace, spec):
        """The backend URL for "[scheme:]name[:port]", or the Status the server would give."""
        parts = spec.split(":")
        if len(parts) == 3:
            _, name, port = parts
        elif len(parts) == 2 and parts[0] in ("http", "https"):
            name, port = parts[1], ""
        elif len(parts) == 2:
            name, port = parts
        else:
            name, port = spec, ""
        store = self.cluster.store
        svc = store.get("services", namespace, name)
        if svc is None:
            raise store.res("services").not_found(name)
        unavailable = ApiError(503, "ServiceUnavailable",
                               f'no endpoints available for service "{name}"', {})
        ports = svc.get("spec", {}).get("ports") or []
        if port:
            chosen = next((p for p in ports if p.get("name") == port or str(p["port"]) == port),
                          None)
            if chosen is None:
                raise unavailable
        else:
            chosen = ports[0] if ports else None
        keys = [port] + ([str(chosen["port"]), chosen.get("name", "")] if chosen else [])
        url = next((self.backends[(namespace, name, k)] for k in keys
                    if k and (namespace, name, k) in self.backends), None)
        if url is None and not port:  # no port named: any backend of the service will do
            url = next((u for (ns, s, _), u in sorted(self.backends.items())
                        if ns == namespace and s == name), None)
        if url is None:
            raise unavailable
        selector = svc.get("spec", {}).get("selector")
        if selector:  # Endpoints list only ready pods
            ready = [p for p in store.items("pods", namespace)
                     if selector_matches({"matchLabels": selector},
                                         p["metadata"].get("labels") or {})
                     and pod_ready(p) and not is_deleting(p)]
            if not ready:
                raise unavailable
        return url
