"""The trusted half of a jailed worker: loads the policy and answers one request at a time.

Compiled once in the zygote (as module _exa_worker) and inherited by every worker through fork.
It runs in the same interpreter as the untrusted policy, so nothing here is a security
boundary: the jail is. The agent treats every reply as untrusted input.
"""
import gc
import importlib.util
import json
import os
import sys
import threading
import traceback

POLICY_FILE = "/policy/function.py"
DEPS_DIR = "/policy/.exa-deps"
_EMPTY_TMPFS_DIR_SIZE = 40
MAX_TRACEBACK = 16 * 1024


class _Limits:
    reply_bytes = 16 * 1024 * 1024
    log_bytes = 64 * 1024


class _State:
    cls = None
    instance = None
    rule_id = ""
    settings_text = "{}"
    parameters = {}


class _Capture:
    """A capped text sink standing in for sys.stdout/sys.stderr during one call."""

    def __init__(self, cap):
        self.parts = []
        self.left = cap
        self.truncated = False

    def write(self, text):
        text = str(text)
        if len(text) > self.left:
            self.truncated = True
        if self.left > 0:
            piece = text[: self.left]
            self.parts.append(piece)
            self.left -= len(piece)
        return len(text)

    def flush(self):
        pass

    def isatty(self):
        return False

    def text(self):
        return "".join(self.parts) + ("\n[output truncated]" if self.truncated else "")


def _exception_error(exc):
    kind = "memory_exceeded" if isinstance(exc, MemoryError) else "policy_error"
    try:
        message = str(exc)
    except BaseException:  # a hostile __str__
        message = "<unprintable exception>"
    try:
        trace = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    except BaseException:
        trace = ""
    return {"type": kind, "exception": type(exc).__name__, "message": message,
            "traceback": trace[-MAX_TRACEBACK:]}


def _fresh_settings():
    return json.loads(_State.settings_text)


def _load(request):
    os.environ.clear()
    # The policy directory lets function.py import its sibling modules; its installed
    # requirements come first so that a pinned version wins over the runtime's.
    sys.path[:] = [p for p in sys.path if p and not p.startswith("/policy")] + ["/policy"]
    if os.path.isdir(DEPS_DIR):
        sys.path.insert(0, DEPS_DIR)
    _Limits.reply_bytes = int(request.get("max_reply_bytes", _Limits.reply_bytes))
    _Limits.log_bytes = int(request.get("max_log_bytes", _Limits.log_bytes))
    _State.rule_id = request.get("rule_id", "")
    _State.settings_text = json.dumps(request.get("settings") or {})
    _State.parameters = request.get("parameters") or {}
    sys.modules.pop("function", None)
    spec = importlib.util.spec_from_file_location("function", POLICY_FILE)
    module = importlib.util.module_from_spec(spec)
    sys.modules["function"] = module
    spec.loader.exec_module(module)
    cls = getattr(module, "AIOSv1PolicyRule", None)
    if cls is None:
        raise AttributeError("function.py defines no class AIOSv1PolicyRule")
    _State.cls = cls
    # Built once here so that a broken constructor fails the load, not the first call.
    _State.instance = cls(_State.rule_id, _fresh_settings(), _State.parameters)
    return None


def _instance(request):
    if request.get("fresh_instance", True):
        return _State.cls(_State.rule_id, _fresh_settings(), request.get("parameters") or {})
    return _State.instance


def _eval(request):
    context = request.get("context")
    if context is None:
        context = {}
    parameters = request.get("parameters")
    if parameters is None:
        parameters = _State.parameters
    instance = _instance(request)
    result = instance.eval(parameters, request.get("input"), context)
    return {"output": result, "context": context}


def _management(request):
    instance = _instance(request)
    return {"output": instance.management(request.get("action"), request.get("data") or {})}


def _leftovers():
    """What outlived the call: a reused stateless worker must start every call clean."""
    reasons = []
    if threading.active_count() > 1:
        reasons.append("thread")
    try:
        while True:
            pid, _ = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                reasons.append("child process")
                break
    except ChildProcessError:
        pass
    try:
        # tmpfs sizes a directory at 20 bytes per entry, "." and ".." included: one stat
        # instead of a listing.
        if os.stat("/tmp").st_size > _EMPTY_TMPFS_DIR_SIZE:
            reasons.append("file in /tmp")
    except OSError:
        pass
    return reasons


_HANDLERS = {"init": _load, "eval": _eval, "management": _management}


def _encode(reply):
    return json.dumps(reply, allow_nan=False, separators=(",", ":")).encode("utf-8", "replace")


def handle(frame):
    """One request frame in, (reply bytes, keep serving) out."""
    try:
        request = json.loads(frame)
        op = request.get("op")
    except BaseException as exc:
        return _encode({"ok": False, "error": {"type": "protocol", "message": str(exc)}}), False
    if op == "shutdown":
        return _encode({"ok": True}), False
    handler = _HANDLERS.get(op)
    if handler is None:
        return _encode({"ok": False, "error": {"type": "protocol", "message": f"unknown op {op!r}"}}), True
    capture = _Capture(_Limits.log_bytes)
    saved = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = capture
    try:
        body = handler(request)
        reply = {"ok": True}
        if body:
            reply.update(body)
    except BaseException as exc:
        reply = {"ok": False, "error": _exception_error(exc)}
    finally:
        sys.stdout, sys.stderr = saved
    reply["logs"] = capture.text()
    reply["leftovers"] = _leftovers()
    try:
        data = _encode(reply)
    except MemoryError as exc:
        data = _encode({"ok": False, "error": _exception_error(exc), "leftovers": reply["leftovers"]})
    except (TypeError, ValueError, RecursionError) as exc:
        error = {"type": "policy_error", "exception": type(exc).__name__,
                 "message": "policy result is not JSON-serialisable: " + str(exc)[:512]}
        data = _encode({"ok": False, "error": error, "logs": reply["logs"],
                        "leftovers": reply["leftovers"]})
    if len(data) > _Limits.reply_bytes:
        error = {"type": "output_too_large",
                 "message": f"reply of {len(data)} bytes exceeds the cap of {_Limits.reply_bytes}"}
        data = _encode({"ok": False, "error": error, "leftovers": reply["leftovers"]})
    return data, True


class _WarmUpPolicy:
    def __init__(self, rule_id, settings, parameters):
        self.parameters = parameters

    def eval(self, parameters, input_data, context):
        print("warm-up")
        context["n"] = 1
        return {"ok": input_data.get("x") in parameters.get("allow", [])}

    def management(self, action, data):
        raise ValueError(action)


def _warm_up():
    """Runs the request path once, so that the objects and caches it creates on first use
    (codecs, json scanners, traceback formatting, requests' session machinery) are made in the
    zygote and shared by every fork rather than rebuilt, privately, in each worker."""
    _State.cls = _WarmUpPolicy
    _State.instance = _WarmUpPolicy("", {}, {})
    eval_request = {"op": "eval", "parameters": {"allow": ["a"]}, "input": {"x": "a"},
                    "context": {}, "fresh_instance": True}
    handle(json.dumps(eval_request).encode())
    handle(json.dumps({"op": "management", "action": "x", "data": {}}).encode())
    try:
        import requests
        requests.Session().close()
    except Exception:
        pass
    _State.cls = _State.instance = None


def prepare_zygote():
    """Runs once in the zygote before any fork: warm up, then freeze what exists so that forks
    keep sharing its pages (the collector would otherwise touch every object)."""
    _warm_up()
    gc.collect()
    gc.freeze()
