"""HTTP: the request handler (authentication, faults, routing, streams, the service proxy
relay and the /__fake/ control paths)."""

import copy
import http.client
import json
import re
import select
import socket
import ssl
import sys
import time
import uuid
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, unquote, urlsplit

from .api import field_validation
from .decoding import check_type_meta, parse_body, strip_nulls
from .discovery import discovery
from .errors import ApiError
from .nodes import FakeNodes
from .proxy import ServiceProxy
from .routes import (ALLOWED, METHOD_VERBS, build_routes, method_not_allowed, not_found_path,
                     verb_for)
from .watch import WatchStream


PATCH_TYPES = {"application/merge-patch+json", "application/strategic-merge-patch+json",
               "application/json-patch+json", "application/apply-patch+yaml"}
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
              "trailer", "transfer-encoding", "upgrade", "host", "content-length"}


def make_handler(cluster, auth):
    store, api = cluster.store, cluster.api
    routes = build_routes(store)

    class Handler(BaseHTTPRequestHandler):
        # Headers and body go out in separate writes; on a kept-alive connection Nagle then
        # waits for the client's delayed ACK (~40 ms a request), as no real API server does.
        disable_nagle_algorithm = True
        protocol_version = "HTTP/1.1"  # keep-alive, as libcurl expects from an apiserver

        def log_message(self, fmt, *args):  # stdout carries only PORT=; keep stderr quiet too
            pass

        def do_GET(self):
            self.dispatch()

        do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

        # -- plumbing ------------------------------------------------------------------------

        def read_body(self):
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                data = b""
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        self.rfile.readline()
                        return data
                    data += self.rfile.read(size)
                    self.rfile.readline()
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def send_body(self, code, content_type, data, warnings=(), extra=()):
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for w in warnings:
                self.send_header("Warning", w)
            for name, value in extra:
                self.send_header(name, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def send_json(self, code, body, warnings=(), extra=()):
            self.send_body(code, "application/json", json.dumps(body).encode(), warnings, extra)

        def start_stream(self, content_type):
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()

        def write_chunk(self, data):
            if data:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.wfile.flush()

        def end_stream(self):
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

        def client_alive(self):
            """False once the client hung up, so an idle watch does not hold its thread."""
            if isinstance(self.connection, ssl.SSLSocket):
                return True  # no MSG_PEEK on TLS; the next write will notice instead
            try:
                readable, _, _ = select.select([self.connection], [], [], 0)
                return not readable or self.connection.recv(1, socket.MSG_PEEK) != b""
            except OSError:
                return False

        def drop(self):
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

        def authenticate(self):
            if auth["token"] is None and auth["client_user"] is None:
                return
            header = self.headers.get("Authorization", "")
            bearer = header[7:] if header.startswith("Bearer ") else None
            if bearer is not None and (bearer == auth["token"] or
                                       bearer in cluster.issued_tokens):
                return
            if auth["client_user"] is not None and isinstance(self.connection, ssl.SSLSocket):
                cert = self.connection.getpeercert()
                subject = dict(x[0] for x in (cert or {}).get("subject", ()))
                if subject.get("commonName") == auth["client_user"]:
                    return
            raise ApiError(401, "Unauthorized", "Unauthorized")

        # -- the request ---------------------------------------------------------------------

        def dispatch(self):
            url = urlsplit(self.path)
            path = unquote(url.path)
            query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
            raw = self.read_body()
            with store.lock:
                cluster.requests.append({
                    "method": self.command, "path": path, "query": query,
                    "contentType": self.headers.get("Content-Type", ""),
                    "accept": self.headers.get("Accept", ""),
                    "userAgent": self.headers.get("User-Agent", ""),
                    "authorization": "Authorization" in self.headers,
                    "body": raw.decode("utf-8", "replace")})
            warnings = []
            try:
                if not path.startswith("/__fake/"):
                    fault = cluster.faults.take(self.command, path)
                    if fault is not None:
                        if fault.delay_ms:
                            time.sleep(fault.delay_ms / 1000)  # wall time, on purpose
                        if fault.drop:
                            self.drop()
                            return
                        if fault.respond:
                            raise fault.error()
                    self.authenticate()
                result = self.route(path, url, query, raw, warnings)
                if result is None:
                    return  # streamed or relayed already
                code, body = result
                if isinstance(body, str):
                    self.send_body(code, "text/plain", body.encode(), warnings)
                    return
                if not path.startswith("/__fake/"):
                    problem = cluster.response_problem(body)
                    if problem:
                        print(problem, file=sys.stderr, flush=True)
                        raise ApiError(500, "InternalError", problem, {})
                self.send_json(code, body, warnings)
            except ApiError as e:
                self.send_json(e.code, e.status(), warnings + e.headers, e.raw_headers)
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
                self.close_connection = True
            except Exception as e:  # a bug in the fake: say so rather than hang the client
                import traceback
                traceback.print_exc()
                self.send_json(500, ApiError(500, "InternalError",
                                             f"fake apiserver crashed: {e!r}", {}).status())

        def route(self, path, url, query, raw, warnings):
            if path.startswith("/__fake/"):
                return self.control(path, query, raw)
            bare = path.rstrip("/")
            if bare == "/version" or bare in ("/api", "/apis") or \
                    re.fullmatch(r"/api/v1|/apis/[^/]+/[^/]+", bare):
                if self.command != "GET":
                    raise method_not_allowed()
                if bare == "/version":
                    return 200, {"major": "1", "minor": "36", "gitVersion": "v1.36.0-fake",
                                 "platform": "linux/amd64"}
                doc = discovery(store, bare, self.server.server_address[1])
                if doc is None:
                    raise not_found_path()
                return 200, doc
            proxy = ServiceProxy.PATH.match(url.path)
            if proxy:
                return self.serve_proxy(proxy, url, raw)
            nodes = FakeNodes.PATH.match(path)
            if nodes:
                if self.command != "GET":
                    raise method_not_allowed()
                name = nodes.group("name")
                with store.lock:
                    cluster.forbids.check(verb_for("item" if name else "collection", "GET",
                                                   query), "nodes", "", None, name)
                    return 200, cluster.nodes.get(name) if name else cluster.nodes.list(query)
            for route in routes:
                m = route.regex.match(path)
                if m:
                    break
            else:
                raise not_found_path()
            if self.command not in ALLOWED[route.scope]:
                raise method_not_allowed()
            res, scope = route.res, route.scope
            namespace, name = m.groupdict().get("namespace"), m.groupdict().get("name")
            resource = res.plural if scope in ("collection", "all", "item") else \
                f"{res.plural}/{scope}"
            with store.lock:
                cluster.forbids.check(verb_for(scope, self.command, query), resource, res.group,
                                      namespace, name)
            method = self.command
            if scope in ("collection", "all") and method == "GET":
                if query.get("watch") in ("true", "1"):
                    return self.serve_watch(res, namespace if scope == "collection" else None,
                                            query)
                return api.list(res, namespace if scope == "collection" else None, query)
            if scope == "log":
                return self.serve_log(namespace, name, query)
            if scope == "token":
                return api.token(namespace, name, raw, query, warnings)
            content_type = self.headers.get("Content-Type", "").split(";")[0].strip()
            if scope == "scale":
                if method != "GET":
                    self.check_content_type(content_type)
                return api.scale(res, namespace, name, method, content_type, raw, query,
                                 warnings)
            if method == "GET":
                return api.get(res, namespace, name)
            if method == "DELETE":
                options = parse_body(raw, "DeleteOptions") if raw.strip() else None
                if scope == "collection":
                    return api.delete_collection(res, namespace, query, options, warnings)
                return api.delete(res, namespace, name, query, options, warnings)
            self.check_content_type(content_type)
            strict = field_validation(api.default_validation, query) == "Strict"
            body = parse_body(raw, res.kind, strict, warnings,
                              allow_list=content_type == "application/json-patch+json")
            if method == "PATCH":
                return api.patch(res, namespace, name, content_type, body, query, warnings,
                                 scope == "status")
            body = strip_nulls(body)
            check_type_meta(res, body, namespace)
            if method == "POST":
                return api.create(res, namespace, body, query, warnings)
            return api.replace(res, namespace, name, body, query, warnings, scope == "status")

        def check_content_type(self, content_type):
            wanted = PATCH_TYPES if self.command == "PATCH" else {"application/json"}
            if content_type not in wanted:
                raise ApiError(415, "UnsupportedMediaType",
                               f'the body of the request was in an unknown format - accepted '
                               f'media types include: {", ".join(sorted(wanted))}', {})

        # -- streams and relays --------------------------------------------------------------

        def serve_watch(self, res, namespace, query):
            stream = WatchStream(cluster, res, namespace, query)  # a bad selector is a 400
            self.start_stream("application/json")
            try:
                for event in stream.events(self.client_alive):
                    problem = cluster.response_problem(event["object"])
                    if problem:
                        print(problem, file=sys.stderr, flush=True)
                        event = {"type": "ERROR", "object": ApiError(
                            500, "InternalError", problem, {}).status()}
                    self.write_chunk(json.dumps(event).encode() + b"\n")
                    if problem:
                        break
                self.end_stream()
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
                self.close_connection = True

        def serve_log(self, namespace, name, query):
            with store.lock:
                pod = store.get("pods", namespace, name)
                if pod is None:
                    raise store.res("pods").not_found(name)
                text, run = cluster.kubelet.log(pod, query.get("container"), query)
                uid = pod["metadata"]["uid"]
            if query.get("follow") != "true":
                return 200, text
            self.start_stream("text/plain")
            try:
                self.write_chunk(text.encode())
                with store.lock:  # the whole log is written at start; wait for the end
                    while run.end is None and not cluster.stopping:
                        current = store.get("pods", namespace, name)
                        if current is None or current["metadata"]["uid"] != uid:
                            break
                        store.changed.wait(1.0)
                        if not self.client_alive():
                            break
                self.end_stream()
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
                self.close_connection = True
            return None

        def serve_proxy(self, match, url, raw):
            namespace, spec = unquote(match.group("namespace")), unquote(match.group("name"))
            with store.lock:
                cluster.forbids.check(METHOD_VERBS.get(self.command, "get"), "services/proxy",
                                      "", namespace, spec.split(":")[0])
                backend = urlsplit(cluster.proxy.resolve(namespace, spec))
            target = (backend.path.rstrip("/") + (match.group("rest") or "/")) + \
                (f"?{url.query}" if url.query else "")
            headers = {k: v for k, v in self.headers.items()
                       if k.lower() not in HOP_BY_HOP and k.lower() != "authorization"}
            conn = http.client.HTTPConnection(backend.hostname, backend.port, timeout=30)
            try:
                conn.request(self.command, target, body=raw if raw else None, headers=headers)
                reply = conn.getresponse()
                data = reply.read()
            except OSError as e:
                raise ApiError(503, "ServiceUnavailable",
                               f"error trying to reach service: {e}", {})
            finally:
                conn.close()
            self.send_response(reply.status)
            for k, v in reply.getheaders():
                if k.lower() not in HOP_BY_HOP:
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
            return None

        # -- /__fake/ ------------------------------------------------------------------------

        def control(self, path, query, raw):
            method = self.command
            body = None
            if raw.strip():
                try:
                    body = json.loads(raw)
                except ValueError as e:
                    raise ApiError(400, "BadRequest", f"control body is not JSON: {e}")
            parts = path.strip("/").split("/")[1:]
            with store.lock:
                if parts == ["tick"] and method == "POST":
                    try:
                        seconds = float(query.get("seconds") or 1)
                    except ValueError:
                        raise ApiError(400, "BadRequest", "seconds must be a number")
                    if seconds < 0:
                        raise ApiError(400, "BadRequest", "the clock only moves forward")
                    return 200, {"now": cluster.tick(seconds),
                                 "resourceVersion": str(store.resource_version)}
                if parts == ["clock"] and method == "GET":
                    return 200, {"now": store.now(), "epochSeconds": store.clock,
                                 "resourceVersion": str(store.resource_version)}
                if parts == ["requests"] and method == "GET":
                    return 200, "".join(json.dumps(r) + "\n" for r in cluster.requests)
                if parts == ["reset"] and method == "POST":
                    cluster.reset()
                    return 200, {}
                if len(parts) == 4 and parts[0] == "scripts" and method in ("PUT", "DELETE"):
                    if method == "PUT":
                        cluster.scripts.put(parts[1], parts[2], parts[3], body)
                    else:
                        cluster.scripts.scripts.pop(tuple(parts[1:]), None)
                    return 200, {}
                if len(parts) == 4 and parts[0] == "hpa" and parts[3] == "desired" and \
                        method in ("PUT", "POST"):
                    hpa = store.get("horizontalpodautoscalers", parts[1], parts[2])
                    if hpa is None:
                        raise store.res("horizontalpodautoscalers").not_found(parts[2])
                    try:
                        replicas = int(query["replicas"])
                    except (KeyError, ValueError):
                        raise ApiError(400, "BadRequest", "replicas=N is required")
                    return 200, copy.deepcopy(cluster.hpas.sync(hpa, desired=replicas))
                if len(parts) == 4 and parts[0] == "backends" and method in ("PUT", "DELETE"):
                    key = tuple(parts[1:])
                    if method == "DELETE":
                        cluster.proxy.backends.pop(key, None)
                    elif not isinstance(body, dict) or not str(body.get("url", "")).startswith(
                            "http://"):
                        raise ApiError(400, "BadRequest", 'a backend is {"url":"http://…"}')
                    else:
                        cluster.proxy.backends[key] = body["url"]
                    return 200, {}
                if parts == ["faults"] and method in ("POST", "DELETE"):
                    if method == "POST":
                        cluster.faults.add(body)
                    else:
                        cluster.faults.clear()
                    return 200, {}
                if parts == ["forbid"] and method in ("POST", "DELETE"):
                    if method == "POST":
                        cluster.forbids.add(body)
                    else:
                        cluster.forbids.clear()
                    return 200, {}
                if parts == ["watch", "close"] and method == "POST":
                    store.watch_epoch += 1
                    store.changed.notify_all()
                    return 200, {}
                if parts == ["watch", "expire"] and method == "POST":
                    store.log.expire(store.resource_version)
                    store.changed.notify_all()
                    return 200, {}
                if len(parts) == 2 and parts[0] == "nodes" and method in ("PUT", "DELETE"):
                    if method == "DELETE":
                        cluster.nodes.delete(parts[1])
                        return 200, {}
                    return 200, cluster.nodes.put(parts[1], body)
                if parts == ["raw"] and method == "PUT":
                    return 200, self.plant(body)
            raise not_found_path()

        def plant(self, obj):
            """Stores an object exactly as given (no validation, no defaulting): for tests
            that need a state no controller would make, such as the §10 check itself."""
            if not isinstance(obj, dict) or not isinstance(obj.get("metadata"), dict):
                raise ApiError(400, "BadRequest", "raw needs an object with metadata")
            res = store.by_kind.get(obj.get("kind"))
            if res is None:
                raise ApiError(400, "BadRequest", f"unknown kind {obj.get('kind')!r}")
            meta = obj["metadata"]
            meta.setdefault("uid", str(uuid.uuid4()))
            meta.setdefault("creationTimestamp", store.now())
            if store.get(res.plural, meta.get("namespace"), meta.get("name")) is not None:
                current = store.get(res.plural, meta.get("namespace"), meta["name"])
                store.objects[(res.plural, meta.get("namespace", ""), meta["name"])] = obj
                obj["metadata"]["resourceVersion"] = store.next_version()
                store._record(res, "MODIFIED", obj, current)
            else:
                store.insert(res, obj)
            return copy.deepcopy(obj)

    return Handler
