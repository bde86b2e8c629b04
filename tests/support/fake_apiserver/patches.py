"""PATCH bodies: RFC 7386 JSON merge patch and RFC 6902 JSON patch (notes §4)."""

import copy

from .errors import ApiError


def merge_patch(target, patch):
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def json_patch(target, operations):
    """RFC 6902 JSON patch; a failed operation is a 422, as on the server."""
    doc = copy.deepcopy(target)

    def pointer(path):
        if path == "":
            return []
        if not path.startswith("/"):
            raise ApiError(422, "Invalid", f"invalid JSON pointer {path!r}")
        return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]

    def parent_of(parts):
        node = doc
        for p in parts[:-1]:
            node = node[int(p)] if isinstance(node, list) else node[p]
        return node

    def get(parts):
        node = doc
        for p in parts:
            node = node[int(p)] if isinstance(node, list) else node[p]
        return node

    def add(parts, value):
        parent = parent_of(parts)
        last = parts[-1]
        if isinstance(parent, list):
            parent.insert(len(parent) if last == "-" else int(last), value)
        else:
            parent[last] = value

    def remove(parts):
        parent = parent_of(parts)
        return parent.pop(int(parts[-1]) if isinstance(parent, list) else parts[-1])

    if not isinstance(operations, list):
        raise ApiError(400, "BadRequest", "json patch must be a list of operations")
    for op in operations:
        try:
            kind, parts = op["op"], pointer(op["path"])
            if kind == "add":
                add(parts, copy.deepcopy(op["value"]))
            elif kind == "remove":
                remove(parts)
            elif kind == "replace":
                remove(parts)
                add(parts, copy.deepcopy(op["value"]))
            elif kind == "move":
                add(parts, remove(pointer(op["from"])))
            elif kind == "copy":
                add(parts, copy.deepcopy(get(pointer(op["from"]))))
            elif kind == "test":
                if get(parts) != op["value"]:
                    raise ApiError(422, "Invalid", f"the server rejected our request due to an "
                                   f"error in our request: testing value {op['path']} failed")
            else:
                raise ApiError(400, "BadRequest", f"unexpected json patch operation {kind!r}")
        except (KeyError, IndexError, ValueError, TypeError, AttributeError):
            raise ApiError(422, "Invalid", "the server rejected our request due to an error in "
                           f"our request: json patch {op.get('op')} operation does not apply: "
                           f"doc is missing path: {op.get('path')!r}")
    return doc
