"""The garbage collector: owner references and finished deletions (notes §6)."""

import copy

from ..objects import is_deleting


class GarbageCollector:
    """Owner references (Background, Foreground) and finished deletions (notes §6)."""

    def __init__(self, cluster):
        self.cluster = cluster
        self.store = cluster.store

    def reset(self):
        pass

    def wakeups(self, now):
        return ()  # reacts to writes only

    def reconcile(self, now):
        store, deleter = self.store, self.cluster.deleter
        live = store.live_uids()
        for key in sorted(store.objects):
            obj = store.objects.get(key)
            if obj is None or is_deleting(obj):
                continue
            refs = obj["metadata"].get("ownerReferences") or []
            alive = [r for r in refs if r.get("uid") in live]
            if refs and not alive:  # every owner is gone: so is the dependent
                deleter.delete(store.res(key[0]), obj, "Background")
            elif len(alive) < len(refs):
                new = copy.deepcopy(obj)
                new["metadata"]["ownerReferences"] = alive
                store.save(store.res(key[0]), new, bump_generation=False)
        for key in sorted(store.objects):
            obj = store.objects.get(key)
            if obj is None or not is_deleting(obj) or key[0] in ("pods", "namespaces"):
                continue
            finalizers = obj["metadata"].get("finalizers") or []
            res = store.res(key[0])
            if "foregroundDeletion" in finalizers:
                dependents = deleter.dependents(obj["metadata"]["uid"])
                for dep_res, dep in dependents:
                    if not is_deleting(dep):
                        deleter.delete(dep_res, dep, "Background")
                if deleter.dependents(obj["metadata"]["uid"]):
                    continue  # wait until they are really gone
                finalizers = [f for f in finalizers if f != "foregroundDeletion"]
                if finalizers:
                    new = copy.deepcopy(obj)
                    new["metadata"]["finalizers"] = finalizers
                    store.save(res, new, bump_generation=False)
                    continue
            if not finalizers:
                store.remove(res, obj)
