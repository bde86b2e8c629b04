"""The files a client finds the server by (notes §1, §9): a kubeconfig and a serviceaccount
directory."""

import base64
import json
import os


def read_b64(path):
    with open(path, "rb") as f:
        return base64.b64encode(f.read()).decode()


def write_file(path, text):
    """Writes atomically, so a reader never sees half a file."""
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def write_kubeconfig(path, server, certs, token, namespace):
    cluster = {"server": server}
    if certs:
        cluster["certificate-authority-data"] = read_b64(certs.ca_cert)
    user = {}
    if token:
        user["token"] = token
    if certs and certs.client_cert:
        user["client-certificate-data"] = read_b64(certs.client_cert)
        user["client-key-data"] = read_b64(certs.client_key)
    config = {"apiVersion": "v1", "kind": "Config", "preferences": {},
              "clusters": [{"name": "fake", "cluster": cluster}],
              "users": [{"name": "fake-user", "user": user}],
              "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake-user",
                                                        "namespace": namespace}}],
              "current-context": "fake"}
    write_file(path, json.dumps(config, indent=2) + "\n")


def write_serviceaccount_dir(directory, certs, token, namespace):
    """The files a pod finds in /var/run/secrets/kubernetes.io/serviceaccount."""
    os.makedirs(directory, exist_ok=True)
    write_file(os.path.join(directory, "token"), token or "fake-in-cluster-token")
    write_file(os.path.join(directory, "namespace"), namespace)
    if certs:
        with open(certs.ca_cert) as f:
            write_file(os.path.join(directory, "ca.crt"), f.read())
