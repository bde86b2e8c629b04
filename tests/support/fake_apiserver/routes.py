"""HTTP routes: the paths built from the resource rows, the methods each allows, and the
verb a request is."""

import re

from .errors import ApiError


class Route:
    def __init__(self, res, pattern, scope):
        self.res, self.scope = res, scope
        self.regex = re.compile("^" + pattern.replace("{namespace}", "(?P<namespace>[^/]+)")
                                .replace("{name}", "(?P<name>[^/]+)") + "/?$")


def build_routes(store):
    routes = []
    for res in store.resources.values():
        row = res.row
        routes.append(Route(res, row["collectionPath"], "collection"))
        routes.append(Route(res, row["itemPath"], "item"))
        for sub in ("status", "scale", "log", "token"):
            if sub in res.subresources:
                routes.append(Route(res, row["itemPath"] + "/" + sub, sub))
        if res.namespaced:
            all_path = row["collectionPath"].replace("/namespaces/{namespace}", "")
            routes.append(Route(res, all_path, "all"))
    return routes


ALLOWED = {"collection": {"GET", "POST", "DELETE"}, "all": {"GET"},
           "item": {"GET", "PUT", "PATCH", "DELETE"}, "status": {"GET", "PUT", "PATCH"},
           "scale": {"GET", "PUT", "PATCH"}, "log": {"GET"}, "token": {"POST"}}

METHOD_VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete",
                "GET": "get", "HEAD": "get", "OPTIONS": "get"}


def not_found_path():
    return ApiError(404, "NotFound", "the server could not find the requested resource", {})


def method_not_allowed():
    return ApiError(405, "MethodNotAllowed",
                    "the server does not allow this method on the requested resource", {})


def verb_for(scope, method, query):
    if method == "GET":
        if scope in ("collection", "all"):
            return "watch" if query.get("watch") in ("true", "1") else "list"
        return "get"
    if method == "DELETE" and scope == "collection":
        return "deletecollection"
    return METHOD_VERBS[method]
