"""Watches (notes §9): one ?watch=true request as a stream of events."""

from .errors import ApiError
from .names import RNG


class WatchStream:
    """One ?watch=true request (notes §9): initial ADDED events or a replay from the log,
    then live events until timeoutSeconds (virtual), /__fake/watch/close or shutdown."""

    def __init__(self, cluster, res, namespace, query):
        self.cluster, self.store, self.res, self.namespace = cluster, cluster.store, res, namespace
        self.wanted = cluster.api.matching(res, namespace, query)
        self.bookmarks = query.get("allowWatchBookmarks") in ("true", "1")
        self.rv = query.get("resourceVersion", "")
        if self.rv not in ("", "0") and not self.rv.isdigit():
            raise ApiError(400, "BadRequest", f'invalid resource version "{self.rv}"')
        with self.store.lock:
            self.epoch = self.store.watch_epoch
            self.started = self.store.clock
            self.deadline = None
            if query.get("timeoutSeconds"):
                self.deadline = self.started + int(query["timeoutSeconds"])
            if cluster.chaos:  # real servers end watches too; clients must resume
                chaos = self.started + RNG.uniform(60, 120)
                self.deadline = chaos if self.deadline is None else min(self.deadline, chaos)

    def translate(self, event):
        """The event as this watch sees it: a label change can turn MODIFIED into ADDED or
        DELETED, as the apiserver's watch cache does."""
        if event.plural != self.res.plural or \
                (self.namespace is not None and event.namespace != self.namespace):
            return None
        now = self.wanted(event.obj)
        before = event.old is not None and self.wanted(event.old)
        if event.type == "ADDED":
            kind = "ADDED" if now else None
        elif event.type == "DELETED":
            kind = "DELETED" if now or before else None
        else:
            kind = {(True, True): "MODIFIED", (True, False): "ADDED",
                    (False, True): "DELETED"}.get((now, before))
        return {"type": kind, "object": event.obj} if kind else None

    def bookmark(self):
        return {"type": "BOOKMARK", "object": {
            "kind": self.res.kind, "apiVersion": self.res.api_version,
            "metadata": {"resourceVersion": str(self.store.resource_version)}}}

    def expired(self, rv):
        return {"type": "ERROR", "object": {
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": f"too old resource version: {rv} ({self.store.log.compacted + 1})",
            "reason": "Expired", "code": 410}}

    def events(self, client_alive):
        store = self.store
        with store.lock:
            if self.rv in ("", "0"):
                first = [{"type": "ADDED", "object": obj}
                         for obj in store.items(self.res.plural, self.namespace)
                         if self.wanted(obj)]
                cursor = store.resource_version
            else:
                cursor = int(self.rv)
                first = [] if store.log.after(cursor) is not None else None
                if first is None:
                    first = [self.expired(cursor)]
                    cursor = None
        yield from first
        if cursor is None:
            return
        last_bookmark = self.started
        while True:
            batch, done = [], False
            with store.lock:
                while not batch and not done:
                    if store.watch_epoch != self.epoch or self.cluster.stopping:
                        return
                    newer = store.log.after(cursor)
                    if newer is None:
                        batch, done = [self.expired(cursor)], True
                        break
                    if self.deadline is not None and newer and newer[-1].time > self.deadline:
                        # A long tick ran past the timeout: deliver what happened before it.
                        newer = [e for e in newer if e.time <= self.deadline]
                        batch = [e for e in map(self.translate, newer) if e]
                        batch += [self.bookmark()] if self.bookmarks else []
                        done = True
                        break
                    if newer:
                        cursor = newer[-1].rv
                        batch = [e for e in map(self.translate, newer) if e]
                        continue
                    if self.deadline is not None and store.clock >= self.deadline:
                        batch, done = ([self.bookmark()] if self.bookmarks else []), True
                        break
                    if self.bookmarks and store.clock - last_bookmark >= 60:
                        last_bookmark = store.clock
                        batch = [self.bookmark()]
                        break
                    store.changed.wait(1.0)
                    if not client_alive():
                        return
            yield from batch
            if done:
                return
