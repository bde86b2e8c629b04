"""HTTP: the threading server, with the TLS handshake in each request's own thread."""

import socket
import ssl
import sys
from http.server import ThreadingHTTPServer


class FakeServer(ThreadingHTTPServer):
    daemon_threads = True
    ssl_context = None

    def handle_error(self, request, client_address):
        # A client that hangs up mid-request is normal for tests (dropped watches, faults);
        # only a real bug deserves the traceback on stderr.
        if not isinstance(sys.exc_info()[1], (ConnectionError, ssl.SSLError, TimeoutError)):
            super().handle_error(request, client_address)

    def finish_request(self, request, client_address):
        if self.ssl_context is None:
            return super().finish_request(request, client_address)
        # The TLS handshake runs here, in the request's own thread, so a silent client cannot
        # stall the accept loop.
        request.settimeout(10)
        try:
            tls = self.ssl_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        tls.settimeout(None)
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            try:
                tls.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            tls.close()
