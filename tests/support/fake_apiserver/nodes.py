"""Test control: v1 Nodes, a side store outside the schema subset (PUT|DELETE /__fake/nodes)."""

import base64
import copy
import re
import uuid

from .errors import ApiError
from .selectors import parse_field_selector, parse_label_selector


class FakeNodes:
    """v1 Nodes for tests of what the agent reads about its cluster (the node inventory).

    Node is not in the schema subset, so this is a small side store, not part of the model:
    PUT /__fake/nodes/{name} stores the body as that Node (NO schema validation, no defaulting:
    the test owns every field, odd quantities included) except the metadata a server sets:
    name from the path, a uid and creationTimestamp kept from the first PUT, and a new
    resourceVersion each time; DELETE /__fake/nodes/{name} removes it. GET /api/v1/nodes serves
    them as a v1 NodeList sorted by name (labelSelector, fieldSelector metadata.name, limit and
    continue; the continue token is the last name served, so nodes added or removed between
    pages neither repeat nor shift the rest), and GET /api/v1/nodes/{name} one Node. No watch,
    no writes through the API, no controller ever changes a Node, and replies are not walked
    against the schema (there is no Node in it)."""

    PATH = re.compile(r"^/api/v1/nodes(?:/(?P<name>[^/]+))?/?$")

    def __init__(self, store):
        self.store = store
        self.nodes = {}

    def clear(self):
        self.nodes.clear()

    def put(self, name, body):
        if not isinstance(body, dict):
            raise ApiError(400, "BadRequest", "a node is a JSON object")
        node = copy.deepcopy(body)
        node["apiVersion"], node["kind"] = "v1", "Node"
        meta = node.setdefault("metadata", {})
        old = self.nodes.get(name)
        meta["name"] = name
        meta.setdefault("uid", old["metadata"]["uid"] if old else str(uuid.uuid4()))
        meta.setdefault("creationTimestamp",
                        old["metadata"]["creationTimestamp"] if old else self.store.now())
        meta["resourceVersion"] = self.store.next_version()
        self.nodes[name] = node
        return copy.deepcopy(node)

    def delete(self, name):
        if self.nodes.pop(name, None) is None:
            raise ApiError(404, "NotFound", f'nodes "{name}" not found',
                           {"name": name, "kind": "nodes"})
        self.store.next_version()

    def get(self, name):
        if name not in self.nodes:
            raise ApiError(404, "NotFound", f'nodes "{name}" not found',
                           {"name": name, "kind": "nodes"})
        return copy.deepcopy(self.nodes[name])

    def list(self, query):
        if query.get("watch") in ("true", "1"):
            raise ApiError(400, "BadRequest", "the fake does not watch nodes")
        labels = parse_label_selector(query.get("labelSelector", ""))
        fields = parse_field_selector(query.get("fieldSelector", ""), "nodes")
        try:
            limit = int(query.get("limit") or 0)
            after = base64.b64decode(query["continue"], altchars=b"-_", validate=True) \
                .decode() if query.get("continue") else None
            if after == "":
                raise ValueError("empty token")
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, "BadRequest", "invalid limit or continue token")
        items = []
        for name in sorted(self.nodes):
            node = self.nodes[name]
            if after is not None and name <= after:
                continue
            if all(p(node["metadata"].get("labels") or {}) for p in labels) and \
                    all(p(node) for p in fields):
                item = copy.deepcopy(node)
                item.pop("apiVersion", None)  # list items carry no type meta
                item.pop("kind", None)
                items.append(item)
        meta = {"resourceVersion": str(self.store.resource_version)}
        if 0 < limit < len(items):
            last = items[limit - 1]["metadata"]["name"]
            meta["continue"] = base64.urlsafe_b64encode(last.encode()).decode()
            meta["remainingItemCount"] = len(items) - limit
            items = items[:limit]
        return {"kind": "NodeList", "apiVersion": "v1", "metadata": meta, "items": items}
