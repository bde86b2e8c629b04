"""Topology: the fake's one node, its service and pod address ranges, and the namespaces
that exist from the start."""

import ipaddress


# The cluster the fake pretends to be: one node, the usual service and pod ranges.
SERVICE_CIDR = ipaddress.ip_network("10.96.0.0/12")
FIRST_SERVICE_IP = ipaddress.ip_address("10.96.0.10")  # .1 is the kubernetes Service
NODE_PORTS = (30000, 32767)
NODE_NAME, NODE_IP = "fake-node", "10.0.0.10"
POD_CIDR_BASE = ipaddress.ip_address("10.244.0.2")

DEFAULT_NAMESPACES = ("default", "kube-system", "kube-public")
