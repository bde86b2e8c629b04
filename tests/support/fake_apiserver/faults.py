"""Test control (notes §8): injected faults, POST|DELETE /__fake/faults."""

import re
import threading

from .errors import STATUS_REASONS, ApiError


class Fault:
    def __init__(self, body):
        if not isinstance(body, dict) or not isinstance(body.get("pathRegex"), str):
            raise ApiError(400, "BadRequest", "a fault needs a pathRegex")
        unknown = set(body) - {"method", "pathRegex", "times", "respond", "dropConnection",
                               "delayMs"}
        if unknown:
            raise ApiError(400, "BadRequest", f"unknown fault keys: {sorted(unknown)}")
        try:
            self.path = re.compile(body["pathRegex"])
        except re.error as e:
            raise ApiError(400, "BadRequest", f"bad pathRegex: {e}")
        self.method = body.get("method")
        self.remaining = body.get("times", 1)  # a negative count never runs out
        self.respond = body.get("respond")
        self.drop = bool(body.get("dropConnection"))
        self.delay_ms = body.get("delayMs", 0)
        if not (self.respond or self.drop or self.delay_ms):
            raise ApiError(400, "BadRequest", "a fault needs respond, dropConnection or delayMs")

    def error(self):
        code = int(self.respond.get("code", 500))
        reason = STATUS_REASONS.get(code, "InternalError")
        message = self.respond.get("message") or {
            429: "the server has received too many requests and has asked us to try again later",
            500: "an error on the server (\"injected fault\") has prevented the request from "
                 "succeeding",
            503: "the server is currently unable to handle the request",
            504: "the server was unable to return a response in the time allotted"}.get(
                code, f"injected fault {code}")
        details, headers = {}, []
        if "retryAfterSeconds" in self.respond:
            details["retryAfterSeconds"] = int(self.respond["retryAfterSeconds"])
            headers.append(("Retry-After", str(details["retryAfterSeconds"])))
        return ApiError(code, reason, message, details, raw_headers=headers)


class Faults:
    def __init__(self):
        self.lock = threading.Lock()
        self.rules = []

    def clear(self):
        with self.lock:
            self.rules.clear()

    def add(self, body):
        with self.lock:
            self.rules.append(Fault(body))

    def take(self, method, path):
        with self.lock:
            for rule in self.rules:
                if rule.remaining != 0 and rule.method in (None, method) and \
                        rule.path.search(path):
                    if rule.remaining > 0:
                        rule.remaining -= 1
                    return rule
        return None
