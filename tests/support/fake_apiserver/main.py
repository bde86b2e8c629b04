"""The process: flags, the PORT= line, and running until stdin closes or SIGTERM."""

import argparse
import os
import shutil
import signal
import sys
import tempfile
import threading

from . import __doc__ as PACKAGE_DOC  # the package docstring
from .cluster import Cluster
from .handler import make_handler
from .kubeconfig import write_kubeconfig, write_serviceaccount_dir
from .names import RNG
from .schema import DEFAULT_SCHEMA, Schema
from .server import FakeServer
from .tls import Certificates


def main():
    parser = argparse.ArgumentParser(description=PACKAGE_DOC.splitlines()[0])
    parser.add_argument("--schema", default=os.environ.get("FAKE_APISERVER_SCHEMA", DEFAULT_SCHEMA))
    parser.add_argument("--token", help="require Authorization: Bearer TOKEN")
    parser.add_argument("--default-field-validation", default="Warn",
                        choices=["Strict", "Warn", "Ignore"])
    parser.add_argument("--event-log-size", type=int, default=1000,
                        help="writes kept for resuming watches")
    parser.add_argument("--auto-tick", action="store_true",
                        help="move the virtual clock 1 s every 20 ms of wall time")
    parser.add_argument("--chaos", action="store_true",
                        help="end each watch at a random point 60-120 virtual seconds in")
    parser.add_argument("--tls", action="store_true", help="serve https with a throwaway CA")
    parser.add_argument("--tls-dir", help="where --tls writes ca.crt, server.crt, ... "
                                          "(default: a temporary directory)")
    parser.add_argument("--client-cert-user", help="with --tls: also accept a client "
                        "certificate with this CN (written into the kubeconfig)")
    parser.add_argument("--kubeconfig", help="write a kubeconfig (JSON) for this server here")
    parser.add_argument("--kubeconfig-namespace", default="policies")
    parser.add_argument("--serviceaccount-dir", help="write token, ca.crt and namespace here")
    parser.add_argument("--user", default="u", help="the user name in 403 messages")
    parser.add_argument("--seed", type=int, help="seed for generated names")
    parser.add_argument("--no-check-responses", action="store_true",
                        help="skip validating the fake's own replies (notes §10)")
    args = parser.parse_args()
    if args.seed is not None:
        RNG.seed(args.seed)
    # Before anything else, so a SIGTERM that comes right after PORT= still exits cleanly.
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    cluster = Cluster(Schema(args.schema), args)
    auth = {"token": args.token, "client_user": args.client_cert_user if args.tls else None}
    server = FakeServer(("127.0.0.1", 0), make_handler(cluster, auth))
    port = server.server_address[1]
    own_dir = None
    certs = None
    if args.tls:
        directory = args.tls_dir
        if not directory:
            directory = own_dir = tempfile.mkdtemp(prefix="fake-apiserver-tls-")
        os.makedirs(directory, exist_ok=True)
        certs = Certificates(directory, args.client_cert_user)
        server.ssl_context = certs.server_context()
    url = f"{'https' if args.tls else 'http'}://127.0.0.1:{port}"
    if args.kubeconfig:
        write_kubeconfig(args.kubeconfig, url, certs, args.token, args.kubeconfig_namespace)
    if args.serviceaccount_dir:
        write_serviceaccount_dir(args.serviceaccount_dir, certs, args.token,
                                 args.kubeconfig_namespace)
    print(f"PORT={port}", flush=True)

    def watch_stdin():
        # The parent holds our stdin open; EOF means it is gone, so the fake must not linger.
        while sys.stdin.buffer.read(4096):
            pass
        stop.set()

    def auto_tick():
        while not stop.wait(0.02):
            cluster.tick(1)

    threading.Thread(target=watch_stdin, daemon=True).start()
    if args.auto_tick:
        threading.Thread(target=auto_tick, daemon=True).start()
    # A short poll interval: shutdown() waits up to one interval, and tests start many fakes.
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    while not stop.wait(0.5):
        pass
    with cluster.store.lock:  # open watches and log streams end cleanly
        cluster.stopping = True
        cluster.store.changed.notify_all()
    server.shutdown()
    server.server_close()
    if own_dir:
        shutil.rmtree(own_dir, ignore_errors=True)
