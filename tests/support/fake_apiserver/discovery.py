"""Discovery: /api, /apis, /api/v1 and /apis/<group>/<version>."""


def discovery(store, path, port):
    """/api, /apis, /api/v1 and /apis/<group>/<version>, built from the resource rows."""
    versions = {}
    for res in store.resources.values():
        versions.setdefault(res.api_version, []).append(res)
    if path == "/api":
        return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": f"127.0.0.1:{port}"}]}
    if path == "/apis":
        groups = []
        for api_version in sorted(v for v in versions if "/" in v):
            group, version = api_version.split("/")
            gv = {"groupVersion": api_version, "version": version}
            groups.append({"name": group, "versions": [gv], "preferredVersion": gv})
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}
    api_version = path[len("/api/"):] if path.startswith("/api/") else path[len("/apis/"):]
    if api_version not in versions:
        return None
    resources = []
    for res in versions[api_version]:
        verbs = ["create", "delete", "deletecollection", "get", "list", "patch", "update",
                 "watch"]
        resources.append({"name": res.plural, "singularName": res.kind.lower(),
                          "namespaced": res.namespaced, "kind": res.kind, "verbs": verbs})
        for sub in res.subresources:
            sub_verbs = {"status": ["get", "patch", "update"], "scale": ["get", "patch", "update"],
                         "log": ["get"], "token": ["create"],
                         "proxy": ["create", "delete", "get", "patch", "update"]}[sub]
            kind = {"scale": "Scale", "token": "TokenRequest"}.get(sub, res.kind)
            resources.append({"name": f"{res.plural}/{sub}", "singularName": "",
                              "namespaced": res.namespaced, "kind": kind, "verbs": sub_verbs})
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": api_version,
            "resources": resources}
