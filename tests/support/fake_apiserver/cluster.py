"""The cluster itself: everything the fake models, the virtual clock's ticks and the §10 check
of the fake's own replies."""

import math

from .api import Api
from .controllers.deployments import DeploymentController
from .controllers.gc import GarbageCollector
from .controllers.hpa import HpaController
from .controllers.jobs import JobController
from .controllers.namespaces import NamespaceController
from .deletion import Deleter
from .faults import Faults
from .forbids import Forbids
from .kubelet import Kubelet
from .nodes import FakeNodes
from .proxy import ServiceProxy
from .schema import walk
from .scripts import Scripts
from .store import Store
from .topology import DEFAULT_NAMESPACES


MAX_SETTLE_PASSES = 10  # controller passes per clock step until nothing more changes


class Cluster:
    """Everything the fake models, behind one lock (the store's)."""

    def __init__(self, schema, args):
        self.store = Store(schema, args.event_log_size)
        self.deleter = Deleter(self.store)
        self.scripts = Scripts()
        self.issued_tokens = set()
        self.requests = []
        self.faults = Faults()
        self.forbids = Forbids(args.user)
        self.proxy = ServiceProxy(self)
        self.nodes = FakeNodes(self.store)
        self.chaos = args.chaos
        self.check_responses = not args.no_check_responses
        self.stopping = False
        self.api = Api(self, args.default_field_validation)
        self.kubelet = Kubelet(self)
        self.jobs = JobController(self)
        self.deployments = DeploymentController(self)
        self.hpas = HpaController(self)
        self.gc = GarbageCollector(self)
        self.namespaces = NamespaceController(self)
        # Order matters only within one pass; settle() repeats passes until nothing changes.
        self.controllers = [self.namespaces, self.gc, self.jobs, self.deployments, self.hpas,
                            self.kubelet]
        self.reset()

    def reset(self):
        with self.store.lock:
            self.store.clear()
            for controller in self.controllers:
                controller.reset()
            self.scripts.clear()
            self.proxy.clear()
            self.nodes.clear()
            self.faults.clear()
            self.forbids.clear()
            self.issued_tokens.clear()
            self.requests.clear()
            for name in DEFAULT_NAMESPACES:
                self.api.create_internal(self.store.res("namespaces"), {"metadata": {"name": name}})
            self.namespaces.reconcile(self.store.clock)  # a running cluster has their accounts

    def tick(self, seconds):
        """Moves the virtual clock in whole-second steps, settling the controllers at each.
        Quiet stretches are skipped: every controller names the next time at which something
        happens by itself (a run ends, a back-off or deadline expires), so a 3600 s tick costs
        what its few interesting seconds cost, and still behaves like 3600 ticks of 1 s."""
        with self.store.lock:
            start = self.store.clock
            end = start + seconds
            self.settle()
            while self.store.clock < end - 1e-9:
                now = self.store.clock
                wake = min((t for c in self.controllers for t in c.wakeups(now) if t > now),
                           default=math.inf)
                if wake == math.inf:
                    self.store.clock = end
                else:
                    step = max(1.0, math.ceil(wake - now - 1e-9))  # stay on the 1 s grid
                    self.store.clock = min(now + step, end)
                self.settle()
            self.store.changed.notify_all()  # watches check their virtual timeouts
            return self.store.now()

    def settle(self):
        now = self.store.clock
        for _ in range(MAX_SETTLE_PASSES):
            before = self.store.writes
            for controller in self.controllers:
                controller.reconcile(now)
            if self.store.writes == before:
                return

    def response_problem(self, body):
        """Notes §10: what the fake returns must pass the same schema as what it accepts."""
        if not self.check_responses or not isinstance(body, dict):
            return None
        definition = self.store.schema.definition_for(body.get("apiVersion"), body.get("kind"))
        if definition is None:
            return None
        findings = []
        walk(self.store.schema, definition, body, "", findings)
        if not findings:
            return None
        return (f"fake apiserver bug: the {body.get('apiVersion')} {body.get('kind')} it was "
                "about to return breaks the schema: " +
                "; ".join(f"{f.field}: {f.message}" for f in findings[:5]))
