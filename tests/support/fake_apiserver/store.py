"""State: the object store, the virtual clock and the event log (notes §2, §9)."""

import copy
import threading
import time

from .event_log import Event, EventLog
from .resources import Resource
from .times import rfc3339


class Store:
    """Objects keyed by (plural, namespace or "", name), one global resourceVersion and the
    virtual clock. Stored objects are never changed in place: writers copy, edit and save, so
    an event can keep a reference to what was stored at its resourceVersion."""

    def __init__(self, schema, event_log_size):
        self.schema = schema
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)  # watches and log streams wait on it
        self.resources = {r["plural"]: Resource(r) for r in schema.resources}
        self.by_kind = {r.kind: r for r in self.resources.values()}
        self.event_log_size = event_log_size
        self.watch_epoch = 0  # bumped to end every open watch
        self.clear()

    def clear(self):
        with self.lock:
            self.objects = {}
            self.resource_version = 0
            self.clock = float(int(time.time()))  # virtual; moved only by ticks
            self.log = EventLog(self.event_log_size)
            self.writes = 0
            # ReplicaSets are not served; pods of a Deployment point at a synthetic owner uid.
            # Maps that uid to the Deployment's uid (None once orphaned: it lives on).
            self.synthetic_owners = {}
            self.watch_epoch += 1
            self.changed.notify_all()

    def now(self):
        return rfc3339(self.clock)

    def res(self, plural):
        return self.resources[plural]

    def get(self, plural, namespace, name):
        return self.objects.get((plural, namespace or "", name))

    def items(self, plural, namespace=None):
        return [obj for (p, ns, _), obj in sorted(self.objects.items())
                if p == plural and (namespace is None or ns == namespace)]

    def live_uids(self):
        uids = {obj["metadata"]["uid"] for obj in self.objects.values()}
        for rs_uid, owner in self.synthetic_owners.items():
            if owner is None or owner in uids:
                uids.add(rs_uid)
        return uids

    def _record(self, res, kind, obj, old):
        rv = int(obj["metadata"]["resourceVersion"])
        self.log.append(Event(rv, kind, res.plural, obj["metadata"].get("namespace", ""),
                              obj, old, self.clock))
        self.writes += 1
        self.changed.notify_all()

    def next_version(self):
        self.resource_version += 1
        return str(self.resource_version)

    def insert(self, res, obj):
        """Stores a new, fully formed object (server metadata already set but the version)."""
        obj["apiVersion"], obj["kind"] = res.api_version, res.kind
        obj["metadata"]["resourceVersion"] = self.next_version()
        self.objects[(res.plural, obj["metadata"].get("namespace", ""),
                      obj["metadata"]["name"])] = obj
        self._record(res, "ADDED", obj, None)
        return obj

    def save(self, res, obj, bump_generation=True):
        """Stores a changed copy of an existing object; a no-op keeps its resourceVersion.
        generation goes up when `spec` changed, never for status or metadata."""
        meta = obj["metadata"]
        key = (res.plural, meta.get("namespace", ""), meta["name"])
        old = self.objects[key]
        obj["apiVersion"], obj["kind"] = res.api_version, res.kind
        meta["resourceVersion"] = old["metadata"]["resourceVersion"]
        if "generation" in old["metadata"]:
            meta["generation"] = old["metadata"]["generation"]
            if bump_generation and obj.get("spec") != old.get("spec"):
                meta["generation"] += 1
        if obj == old:
            return old
        meta["resourceVersion"] = self.next_version()
        self.objects[key] = obj
        self._record(res, "MODIFIED", obj, old)
        return obj

    def save_status(self, res, stored, status):
        if stored.get("status") == status:
            return stored
        obj = copy.deepcopy(stored)
        obj["status"] = status
        return self.save(res, obj)

    def remove(self, res, obj):
        meta = obj["metadata"]
        old = self.objects.pop((res.plural, meta.get("namespace", ""), meta["name"]))
        gone = copy.deepcopy(old)
        gone["metadata"]["resourceVersion"] = self.next_version()
        self._record(res, "DELETED", gone, old)
        return gone
