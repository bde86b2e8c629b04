"""The namespace controller (and the serviceaccounts controller's "default") (notes §6)."""

from ..objects import is_deleting


class NamespaceController:
    """Terminating namespaces lose their contents and then go; live ones get a ServiceAccount
    "default" (the serviceaccounts controller's job)."""

    def __init__(self, cluster):
        self.cluster = cluster
        self.store = cluster.store

    def reset(self):
        pass

    def wakeups(self, now):
        return ()  # reacts to writes only

    def reconcile(self, now):
        store = self.store
        for ns in store.items("namespaces"):
            name = ns["metadata"]["name"]
            if is_deleting(ns):
                for key in sorted(store.objects):
                    obj = store.objects.get(key)
                    if obj is None or key[1] != name or key[0] == "namespaces":
                        continue
                    if key[0] == "pods":
                        self.cluster.deleter.delete_pod(obj, 0)
                    else:
                        store.remove(store.res(key[0]), obj)
                if not any(k[1] == name for k in store.objects):
                    store.remove(store.res("namespaces"), ns)
            elif store.get("serviceaccounts", name, "default") is None:
                self.cluster.api.create_internal(store.res("serviceaccounts"), {
                    "metadata": {"name": "default", "namespace": name}})
