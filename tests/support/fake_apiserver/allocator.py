"""Service defaulting and allocation (notes §5): clusterIPs and nodePorts."""

import ipaddress

from .errors import Causes
from .topology import FIRST_SERVICE_IP, NODE_PORTS, SERVICE_CIDR


class ServiceAllocator:
    """ClusterIPs from 10.96.0.0/12 and nodePorts from 30000-32767. What is in use is read
    from the stored Services, so a delete frees its addresses and a dry run takes nothing."""

    def __init__(self, store):
        self.store = store

    def used(self, skip_uid):
        ips, ports = set(), set()
        for svc in self.store.items("services"):
            if svc["metadata"]["uid"] == skip_uid:
                continue
            spec = svc.get("spec", {})
            ips.update(ip for ip in spec.get("clusterIPs") or [] if ip != "None")
            ports.update(p["nodePort"] for p in spec.get("ports") or [] if "nodePort" in p)
        return ips, ports

    def default(self, svc, old=None):
        """Defaults and allocates `svc` in place; returns the 422 causes of a clash."""
        causes = Causes()
        spec = svc.setdefault("spec", {})
        old_spec = (old or {}).get("spec", {})
        ips, ports = self.used((old or {}).get("metadata", {}).get("uid"))
        kind = spec.setdefault("type", "ClusterIP")
        spec.setdefault("sessionAffinity", "None")
        for port in spec.get("ports") or []:
            port.setdefault("protocol", "TCP")
            port.setdefault("targetPort", port.get("port"))
        if kind == "ExternalName":
            return causes
        # An update that leaves them out keeps what was allocated (patchAllocatedValues).
        if "clusterIP" not in spec and old_spec.get("clusterIP"):
            spec["clusterIP"] = old_spec["clusterIP"]
            spec["clusterIPs"] = list(old_spec.get("clusterIPs") or [old_spec["clusterIP"]])
        wanted = spec.get("clusterIP")
        if wanted in (None, ""):
            ip = FIRST_SERVICE_IP
            while str(ip) in ips:
                ip += 1
            spec["clusterIP"] = str(ip)
        elif wanted != "None" and old is None:  # an update's change is refused as immutable
            try:
                in_range = ipaddress.ip_address(wanted) in SERVICE_CIDR
            except ValueError:
                in_range = False
            if not in_range:
                causes.invalid("spec.clusterIPs", [wanted], f"failed to allocate IP {wanted}: "
                               "provided IP is not in the valid range. The range of valid IPs "
                               f"is {SERVICE_CIDR}")
            elif wanted in ips:
                causes.invalid("spec.clusterIPs", [wanted], f"failed to allocate IP {wanted}: "
                               "provided IP is already allocated")
        spec["clusterIPs"] = [spec["clusterIP"]]
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
        spec.setdefault("internalTrafficPolicy", "Cluster")
        if kind in ("NodePort", "LoadBalancer"):
            spec.setdefault("externalTrafficPolicy", "Cluster")
            if kind == "LoadBalancer":
                spec.setdefault("allocateLoadBalancerNodePorts", True)
            previous = {(p.get("port"), p.get("protocol", "TCP")): p.get("nodePort")
                        for p in old_spec.get("ports") or []}
            taken = set(ports)
            for i, port in enumerate(spec.get("ports") or []):
                if "nodePort" not in port and previous.get((port["port"], port["protocol"])):
                    port["nodePort"] = previous[(port["port"], port["protocol"])]
                if "nodePort" in port:
                    if port["nodePort"] in taken:
                        causes.invalid(f"spec.ports[{i}].nodePort", port["nodePort"],
                                       "provided port is already allocated")
                    taken.add(port["nodePort"])
            for port in spec.get("ports") or []:
                if "nodePort" not in port:
                    free = next((p for p in range(NODE_PORTS[0], NODE_PORTS[1] + 1)
                                 if p not in taken), None)
                    if free is None:
                        causes.invalid("spec.ports", port["port"], "range is full")
                        break
                    port["nodePort"] = free
                    taken.add(free)
        return causes
