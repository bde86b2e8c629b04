"""TLS (notes §1): a throwaway CA and certificates made with the openssl CLI."""

import os
import ssl
import subprocess


class Certificates:
    """A throwaway CA, a server certificate for 127.0.0.1 and, optionally, a client
    certificate whose CN is the user name; all made with the openssl CLI."""

    def __init__(self, directory, client_user=None):
        self.dir = directory
        self.ca_cert, self.ca_key = self.path("ca.crt"), self.path("ca.key")
        self.server_cert, self.server_key = self.path("server.crt"), self.path("server.key")
        self.client_cert = self.client_key = None
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        self.openssl("req", "-x509", *ec, "-keyout", self.ca_key, "-out", self.ca_cert,
                     "-days", "2", "-subj", "/CN=fake-apiserver-ca",
                     "-addext", "basicConstraints=critical,CA:TRUE",
                     "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        self.issue("server", "/CN=kube-apiserver",
                   "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc\n"
                   "extendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n")
        if client_user:
            self.client_cert, self.client_key = self.path("client.crt"), self.path("client.key")
            self.issue("client", f"/CN={client_user}",
                       "extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n")

    def path(self, name):
        return os.path.join(self.dir, name)

    def openssl(self, *args):
        result = subprocess.run(["openssl", *args], capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"openssl {args[0]} failed: {result.stderr.strip()}")

    def issue(self, name, subject, extensions):
        ext = self.path(f"{name}.ext")
        with open(ext, "w") as f:
            f.write(extensions)
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        self.openssl("req", *ec, "-keyout", self.path(f"{name}.key"),
                     "-out", self.path(f"{name}.csr"), "-subj", subject)
        self.openssl("x509", "-req", "-in", self.path(f"{name}.csr"), "-CA", self.ca_cert,
                     "-CAkey", self.ca_key, "-CAcreateserial", "-out", self.path(f"{name}.crt"),
                     "-days", "2", "-extfile", ext)

    def server_context(self):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.server_cert, self.server_key)
        if self.client_cert:
            ctx.load_verify_locations(self.ca_cert)
            ctx.verify_mode = ssl.CERT_OPTIONAL  # a token may still authenticate instead
        return ctx
