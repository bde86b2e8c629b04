"""Request bodies (notes §4): JSON with duplicate-key detection, null stripping, and the
apiVersion/kind/namespace check against the route."""

import json

from .errors import ApiError
from .schema import json_type_name


def strip_nulls(value):
    """The apiserver's decoder reads `null` as "not set"; so does the fake."""
    if isinstance(value, dict):
        return {k: strip_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [strip_nulls(v) for v in value]
    return value


def parse_body(raw, kind, strict=True, warnings=None, allow_list=False):
    """Parses JSON with duplicate-key detection (an error under Strict, else a Warning)."""
    duplicates = []

    def pairs(items):
        seen = {}
        for key, value in items:
            if key in seen:
                duplicates.append(key)
            seen[key] = value
        return seen

    try:
        body = json.loads(raw.decode("utf-8"), object_pairs_hook=pairs)
    except (ValueError, UnicodeDecodeError) as e:
        raise ApiError(400, "BadRequest", f"couldn't get version/kind; json parse error: {e}")
    if not isinstance(body, dict) and not (allow_list and isinstance(body, list)):
        raise ApiError(400, "BadRequest", f"cannot unmarshal {json_type_name(body)} into {kind}")
    for key in duplicates:
        message = f'json: duplicate field "{key}"'
        if strict:
            raise ApiError(400, "BadRequest", f"{kind}: strict decoding error: {message}")
        warnings.append(f'299 - "{message}"')
    return body


def check_type_meta(res, body, namespace):
    """Fills absent apiVersion/kind from the route; a different one, or namespace, is a 400."""
    api_version = body.setdefault("apiVersion", res.api_version)
    kind = body.setdefault("kind", res.kind)
    if api_version != res.api_version:
        raise ApiError(400, "BadRequest", f"the API version in the data ({api_version}) does not "
                                          f"match the expected API version ({res.api_version})")
    if kind != res.kind:
        raise ApiError(400, "BadRequest", f"the kind in the data ({kind}) does not match the "
                                          f"expected kind ({res.kind})")
    meta = body.get("metadata")
    if meta is not None and not isinstance(meta, dict):
        return  # the schema walk reports the wrong type
    sent = (meta or {}).get("namespace")
    if namespace is not None and sent is not None and sent != namespace:
        raise ApiError(400, "BadRequest", "the namespace of the provided object does not match "
                                          "the namespace sent on the request")
