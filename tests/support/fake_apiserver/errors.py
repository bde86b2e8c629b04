"""Failed requests and the meta/v1 Status bodies they become: ApiError, the reason for each
HTTP code, and the StatusCauses of a 422 Invalid (rendered as apimachinery's field.Error)."""

import json


class ApiError(Exception):
    """A failed request, carried up to the handler as a meta/v1 Status body."""

    def __init__(self, code, reason, message, details=None, headers=None, raw_headers=None):
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message
        self.details, self.headers = details, headers or []  # headers: Warning values
        self.raw_headers = raw_headers or []  # other (name, value) pairs, e.g. Retry-After

    def status(self):
        body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": self.message, "reason": self.reason}
        if self.details is not None:
            body["details"] = self.details
        body["code"] = self.code
        return body


STATUS_REASONS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
                  405: "MethodNotAllowed", 409: "Conflict", 410: "Expired", 415:
                  "UnsupportedMediaType", 422: "Invalid", 429: "TooManyRequests",
                  500: "InternalError", 503: "ServiceUnavailable", 504: "Timeout"}


def go_value(value):
    """How a Go %#v-ish field error renders a value: strings quoted, numbers bare."""
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "map[string]string{" + ", ".join(f"{json.dumps(k)}:{json.dumps(v)}"
                                                for k, v in value.items()) + "}"
    return json.dumps(value)


class Causes(list):
    """StatusCauses of a 422, built the way apimachinery's field.Error renders them."""

    def required(self, field, detail=""):
        self.append({"reason": "FieldValueRequired", "field": field,
                     "message": "Required value" + (f": {detail}" if detail else "")})

    def invalid(self, field, value, detail):
        self.append({"reason": "FieldValueInvalid", "field": field,
                     "message": f"Invalid value: {go_value(value)}: {detail}"})

    def unsupported(self, field, value, supported):
        wanted = ", ".join(json.dumps(s) for s in supported)
        self.append({"reason": "FieldValueNotSupported", "field": field,
                     "message": f"Unsupported value: {go_value(value)}: supported values: "
                                f"{wanted}"})

    def duplicate(self, field, value):
        self.append({"reason": "FieldValueDuplicate", "field": field,
                     "message": f"Duplicate value: {go_value(value)}"})

    def forbidden(self, field, detail):
        self.append({"reason": "FieldValueForbidden", "field": field,
                     "message": f"Forbidden: {detail}"})

    def too_long(self, field, limit):
        self.append({"reason": "FieldValueTooLong", "field": field,
                     "message": f"Too long: must have at most {limit} bytes"})

    def immutable(self, field, value):
        self.invalid(field, value, "field is immutable")


def invalid(res, name, causes):
    """A 422 Invalid Status; its details.kind is the Kind, not the resource (as on the server)."""
    texts = [f"{c['field']}: {c['message']}" for c in causes]
    summary = texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"
    return ApiError(422, "Invalid", f'{res.kind_qualified} "{name}" is invalid: {summary}',
                    dict(res.details(name, res.kind), causes=causes))


def conflict(res, name):
    return ApiError(409, "Conflict", f'Operation cannot be fulfilled on {res.qualified} "{name}": '
                    "the object has been modified; please apply your changes to the latest "
                    "version and try again", res.details(name))
