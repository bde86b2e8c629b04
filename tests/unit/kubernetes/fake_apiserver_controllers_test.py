#!/usr/bin/env python3
"""Tests for what tests/support/fake_apiserver.py models beyond storing objects: defaulting and
semantic checks, the Job, Deployment, HPA, TTL and garbage-collector stand-ins, pod logs, the
service proxy, watches, fault injection, TLS and the kubeconfig (shared/k8s/
fake_apiserver_notes.md §5-§10).

Standard library only. The fake runs as a child process, as the C++ launcher runs it, and
time moves only through the virtual clock (POST /__fake/tick): the wall-clock waits below are
failure guards, never what a test asserts on.

    python3 tests/unit/kubernetes/fake_apiserver_controllers_test.py [-v] [Test.name]

The schema comes from $EXA_K8S_SHARED_DIR/openapi-subset.json, else tests/fixtures/k8s.
"""

import base64
import http.client
import json
import os
import queue
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlencode

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
FAKE = os.path.join(REPO, "tests", "support", "fake_apiserver.py")
NS = "policies"
JOBS = f"/apis/batch/v1/namespaces/{NS}/jobs"
PODS = f"/api/v1/namespaces/{NS}/pods"
DEPLOYMENTS = f"/apis/apps/v1/namespaces/{NS}/deployments"
SERVICES = f"/api/v1/namespaces/{NS}/services"
HPAS = f"/apis/autoscaling/v2/namespaces/{NS}/horizontalpodautoscalers"
CONFIGMAPS = f"/api/v1/namespaces/{NS}/configmaps"
JOB_WARNING = ('299 - "child pods are preserved by default when jobs are deleted; set '
               'propagationPolicy=Background to remove them or set propagationPolicy=Orphan to '
               'suppress this warning"')
GUARD = 10  # seconds of wall time before a stream read counts as hung


def schema_path():
    shared = os.environ.get("EXA_K8S_SHARED_DIR") or os.path.join(REPO, "tests", "fixtures", "k8s")
    return os.path.join(shared, "openapi-subset.json")


class Reply:
    def __init__(self, response, data):
        self.status = response.status
        self.headers = response.headers
        self.text = data.decode("utf-8", "replace")

    @property
    def json(self):
        return json.loads(self.text)

    def __repr__(self):
        return f"<{self.status} {self.text[:400]}>"


class Fake:
    """The fake apiserver as a child process; reads PORT= like the C++ launcher."""

    def __init__(self, *args):
        self.proc = subprocess.Popen(
            [sys.executable, FAKE, "--schema", schema_path(), "--default-field-validation",
             "Strict", "--seed", "7", *args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        line = self.proc.stdout.readline().decode()
        if not line.startswith("PORT="):
            self.proc.kill()
            raise RuntimeError(f"fake did not start: {line!r}")
        self.port = int(line[5:])
        self.ssl_context = None
        self.token = None

    def stop(self):
        self.proc.stdin.close()
        self.proc.terminate()
        self.proc.wait(10)
        self.proc.stdout.close()

    def connection(self, timeout=GUARD):
        if self.ssl_context is not None:
            return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout,
                                               context=self.ssl_context)
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method, path, body=None, query=None, content_type="application/json",
                headers=None):
        if query:
            path += "?" + urlencode(query)
        sent = dict(headers or {})
        if self.token and "Authorization" not in sent:
            sent["Authorization"] = f"Bearer {self.token}"
        data = None
        if body is not None:
            data = body if isinstance(body, (bytes, str)) else json.dumps(body)
            sent["Content-Type"] = content_type
        conn = self.connection()
        try:
            conn.request(method, path, body=data, headers=sent)
            response = conn.getresponse()
            return Reply(response, response.read())
        finally:
            conn.close()

    # Shorthands that insist on success, so a test reads as the story it tells.

    def ok(self, method, path, body=None, query=None, **kw):
        reply = self.request(method, path, body, query, **kw)
        if reply.status >= 300:
            raise AssertionError(f"{method} {path}: {reply}")
        return reply.json if reply.headers.get("Content-Type") == "application/json" else \
            reply.text

    def get(self, path, **query):
        return self.ok("GET", path, query=query or None)

    def create(self, path, obj):
        return self.ok("POST", path, obj)

    def patch(self, path, patch, query=None):
        return self.ok("PATCH", path, patch, query,
                       content_type="application/merge-patch+json")

    def tick(self, seconds=1):
        return self.ok("POST", "/__fake/tick", query={"seconds": seconds})

    def script(self, kind, name, body):
        return self.ok("PUT", f"/__fake/scripts/{kind}/{NS}/{name}", body)

    def pods(self, **query):
        return self.get(PODS, **query)["items"]

    def watch(self, path, **query):
        return Watch(self, path, dict(query, watch="true"))


class Watch:
    """A ?watch=true stream read on a thread; next() returns one event."""

    def __init__(self, fake, path, query):
        self.conn = fake.connection(timeout=None)
        headers = {"Authorization": f"Bearer {fake.token}"} if fake.token else {}
        self.conn.request("GET", path + "?" + urlencode(query), headers=headers)
        self.response = self.conn.getresponse()
        self.events = queue.Queue()
        self.reader = threading.Thread(target=self.read, daemon=True)
        self.reader.start()

    def read(self):
        try:
            while True:
                line = self.response.readline()
                if not line:
                    break
                self.events.put(json.loads(line))
        except (OSError, ValueError, http.client.HTTPException):
            pass
        self.events.put(None)  # the stream ended

    def next(self):
        return self.events.get(timeout=GUARD)

    def next_of(self, *types):
        """The next event of one of `types`, skipping others (e.g. pods' MODIFIED churn)."""
        while True:
            event = self.next()
            if event is None or event["type"] in types:
                return event

    def close(self):
        # Shut the socket down first: close() alone would wait for the blocked reader.
        try:
            self.conn.sock.shutdown(socket.SHUT_RDWR)
        except (OSError, AttributeError):
            pass
        self.reader.join(GUARD)
        self.conn.close()


def job(name="j", script_seconds=None, **spec):
    body = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
            "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [
                {"name": "c", "image": "registry.example/runner:1.0"}]}}}}
    body["spec"].update(spec)
    return body


def deployment(name="fn-demo", replicas=1, cpu="100m", labels=None):
    labels = labels or {"app": name}
    container = {"name": name, "image": "registry.example/functions-server:latest",
                 "ports": [{"containerPort": 5000}]}
    if cpu:
        container["resources"] = {"requests": {"cpu": cpu}}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [container]}}}}


def service(name="fn-demo-svc", selector=None, **spec):
    body = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"ports": [{"name": "rest", "port": 5000}]}}
    if selector is not None:
        body["spec"]["selector"] = selector
    body["spec"].update(spec)
    return body


def hpa(name="fn-demo", low=1, high=5):
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": name},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                        "name": name},
                     "minReplicas": low, "maxReplicas": high,
                     "metrics": [{"type": "Resource", "resource": {
                         "name": "cpu", "target": {"type": "Utilization",
                                                   "averageUtilization": 70}}}]}}


def condition(obj, kind):
    for c in obj.get("status", {}).get("conditions") or []:
        if c["type"] == kind:
            return c
    return None


def configmap(name, labels=None):
    return {"metadata": {"name": name, "labels": labels or {}}, "data": {"k": "v"}}


SHARED = None  # the fake most tests share, reset between tests


def setUpModule():
    global SHARED
    SHARED = Fake()


def tearDownModule():
    SHARED.stop()


class FakeTest(unittest.TestCase):
    def setUp(self):
        self.fake = SHARED
        self.fake.ok("POST", "/__fake/reset")
        self.fake.create("/api/v1/namespaces", {"metadata": {"name": NS}})

    def assertInvalid(self, reply, field, reason=None):
        self.assertEqual(reply.status, 422, reply)
        body = reply.json
        self.assertEqual(body["reason"], "Invalid")
        fields = {c["field"]: c for c in body["details"]["causes"]}
        self.assertIn(field, fields, body)
        if reason:
            self.assertEqual(fields[field]["reason"], reason, body)
        return fields[field]


# ---------------------------------------------------------------------------------------------
# 1. Defaulting and semantic checks (notes §5).


class DefaultingTest(FakeTest):
    def test_job_defaults_selector_and_template_labels(self):
        body = job()
        body["spec"]["template"]["spec"]["containers"][0]["ports"] = [{"containerPort": 80}]
        created = self.fake.create(JOBS, body)
        spec, uid = created["spec"], created["metadata"]["uid"]
        self.assertEqual((spec["backoffLimit"], spec["completions"], spec["parallelism"]),
                         (6, 1, 1))
        self.assertEqual(spec["completionMode"], "NonIndexed")
        self.assertIs(spec["suspend"], False)
        self.assertEqual(spec["podReplacementPolicy"], "TerminatingOrFailed")
        self.assertEqual(spec["selector"],
                         {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}})
        labels = spec["template"]["metadata"]["labels"]
        self.assertEqual(labels, {"batch.kubernetes.io/controller-uid": uid,
                                  "controller-uid": uid, "batch.kubernetes.io/job-name": "j",
                                  "job-name": "j"})
        pod = spec["template"]["spec"]
        self.assertEqual((pod["dnsPolicy"], pod["schedulerName"]),
                         ("ClusterFirst", "default-scheduler"))
        self.assertEqual(pod["terminationGracePeriodSeconds"], 30)
        self.assertEqual(pod["securityContext"], {})
        self.assertEqual(pod["restartPolicy"], "Never")  # kept, not defaulted to Always
        c = pod["containers"][0]
        self.assertEqual(c["terminationMessagePath"], "/dev/termination-log")
        self.assertEqual(c["terminationMessagePolicy"], "File")
        self.assertEqual(c["imagePullPolicy"], "IfNotPresent")  # tagged 1.0
        self.assertEqual(c["ports"][0]["protocol"], "TCP")
        self.assertEqual(self.fake.get(f"{JOBS}/j")["spec"], spec)  # GET shows the same

    def test_untagged_and_latest_images_pull_always(self):
        for image in ("busybox", "registry.example/x:latest"):
            body = job(name=f"j{len(image)}")
            body["spec"]["template"]["spec"]["containers"][0]["image"] = image
            created = self.fake.create(JOBS, body)
            self.assertEqual(created["spec"]["template"]["spec"]["containers"][0]
                             ["imagePullPolicy"], "Always", image)

    def test_deployment_defaults(self):
        spec = self.fake.create(DEPLOYMENTS, deployment())["spec"]
        self.assertEqual(spec["strategy"], {"type": "RollingUpdate", "rollingUpdate": {
            "maxUnavailable": "25%", "maxSurge": "25%"}})
        self.assertEqual((spec["revisionHistoryLimit"], spec["progressDeadlineSeconds"]),
                         (10, 600))
        self.assertEqual(spec["template"]["spec"]["restartPolicy"], "Always")
        body = deployment(name="two")
        del body["spec"]["replicas"]
        self.assertEqual(self.fake.create(DEPLOYMENTS, body)["spec"]["replicas"], 1)

    def test_service_cluster_ips_and_node_ports(self):
        a = self.fake.create(SERVICES, service("a", {"app": "a"}))["spec"]
        b = self.fake.create(SERVICES, service("b", {"app": "b"}))["spec"]
        self.assertNotEqual(a["clusterIP"], b["clusterIP"])
        for spec in (a, b):
            self.assertRegex(spec["clusterIP"], r"^10\.(9[6-9]|10[0-9]|11[01])\.\d+\.\d+$")
            self.assertEqual(spec["clusterIPs"], [spec["clusterIP"]])
            self.assertEqual((spec["type"], spec["sessionAffinity"]), ("ClusterIP", "None"))
            self.assertEqual((spec["ipFamilies"], spec["ipFamilyPolicy"]),
                             (["IPv4"], "SingleStack"))
            self.assertEqual(spec["internalTrafficPolicy"], "Cluster")
            self.assertEqual(spec["ports"][0]["targetPort"], 5000)
            self.assertEqual(spec["ports"][0]["protocol"], "TCP")
        node = self.fake.create(SERVICES, service("n", {"app": "n"}, type="NodePort"))["spec"]
        port = node["ports"][0]["nodePort"]
        self.assertTrue(30000 <= port <= 32767, port)
        self.assertEqual(node["externalTrafficPolicy"], "Cluster")
        clash = service("clash", {"app": "c"}, type="NodePort")
        clash["spec"]["ports"][0]["nodePort"] = port
        cause = self.assertInvalid(self.fake.request("POST", SERVICES, clash),
                                   "spec.ports[0].nodePort", "FieldValueInvalid")
        self.assertIn("provided port is already allocated", cause["message"])
        self.fake.ok("DELETE", f"{SERVICES}/n")  # frees the port
        self.assertEqual(self.fake.create(SERVICES, clash)["spec"]["ports"][0]["nodePort"], port)
        # An update that leaves clusterIP out keeps it; one that changes it is refused.
        current = self.fake.get(f"{SERVICES}/a")
        del current["spec"]["clusterIP"], current["spec"]["clusterIPs"]
        self.assertEqual(self.fake.ok("PUT", f"{SERVICES}/a", current)["spec"]["clusterIP"],
                         a["clusterIP"])
        moved = self.fake.get(f"{SERVICES}/a")
        moved["spec"]["clusterIP"] = b["clusterIP"]
        self.assertInvalid(self.fake.request("PUT", f"{SERVICES}/a", moved),
                           "spec.clusterIPs[0]")
        headless = self.fake.create(SERVICES, service("h", {"app": "h"}, clusterIP="None"))
        self.assertEqual(headless["spec"]["clusterIPs"], ["None"])

    def test_hpa_defaults(self):
        body = hpa()
        del body["spec"]["minReplicas"], body["spec"]["metrics"]
        spec = self.fake.create(HPAS, body)["spec"]
        self.assertEqual(spec["minReplicas"], 1)
        self.assertEqual(spec["metrics"], [{"type": "Resource", "resource": {
            "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}])

    def test_semantic_checks(self):
        mismatched = deployment()
        mismatched["spec"]["selector"]["matchLabels"] = {"app": "other"}
        no_image = job()
        del no_image["spec"]["template"]["spec"]["containers"][0]["image"]
        two_ports = service("two", {"app": "x"})
        two_ports["spec"]["ports"] = [{"port": 1}, {"port": 2}]
        bad_port = service("bad", {"app": "x"})
        bad_port["spec"]["ports"] = [{"name": "p", "port": 70000}]
        inverted = hpa()
        inverted["spec"].update(minReplicas=3, maxReplicas=2)
        no_verbs = {"metadata": {"name": "r"}, "rules": [{"apiGroups": [""],
                                                          "resources": ["pods"], "verbs": []}]}
        binding = {"metadata": {"name": "b"},
                   "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "User",
                               "name": "r"}}
        always = job()
        always["spec"]["template"]["spec"]["restartPolicy"] = "Always"
        never = deployment(name="never")
        never["spec"]["template"]["spec"]["restartPolicy"] = "Never"
        rbac = "/apis/rbac.authorization.k8s.io/v1/namespaces/policies"
        cases = [
            (DEPLOYMENTS, mismatched, "spec.template.metadata.labels", "FieldValueInvalid"),
            (JOBS, job(name="x" * 64), "spec.template.labels", "FieldValueInvalid"),
            (JOBS, no_image, "spec.template.spec.containers[0].image", "FieldValueRequired"),
            (JOBS, always, "spec.template.spec.restartPolicy", "FieldValueNotSupported"),
            (DEPLOYMENTS, never, "spec.template.spec.restartPolicy", "FieldValueNotSupported"),
            (SERVICES, two_ports, "spec.ports[0].name", "FieldValueRequired"),
            (SERVICES, bad_port, "spec.ports[0].port", "FieldValueInvalid"),
            (HPAS, inverted, "spec.maxReplicas", "FieldValueInvalid"),
            (f"{rbac}/roles", no_verbs, "rules[0].verbs", "FieldValueRequired"),
            (f"{rbac}/rolebindings", binding, "roleRef.kind", "FieldValueNotSupported"),
        ]
        for path, body, field, reason in cases:
            with self.subTest(field=field):
                reply = self.fake.request("POST", path, body)
                self.assertInvalid(reply, field, reason)
        self.assertEqual(self.fake.request("POST", JOBS, job(name="x" * 63)).status, 201)

    def test_job_template_is_immutable(self):
        self.fake.create(JOBS, job())
        current = self.fake.get(f"{JOBS}/j")
        current["spec"]["template"]["spec"]["containers"][0]["image"] = "other:2"
        self.assertInvalid(self.fake.request("PUT", f"{JOBS}/j", current), "spec.template")
        # Fields that may change still can.
        self.assertEqual(self.fake.patch(f"{JOBS}/j", {"spec": {"backoffLimit": 1}})
                         ["spec"]["backoffLimit"], 1)

    def test_role_binding_role_ref_is_immutable(self):
        path = "/apis/rbac.authorization.k8s.io/v1/namespaces/policies/rolebindings"
        body = {"metadata": {"name": "b"}, "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r1"},
            "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": NS}]}
        self.fake.create(path, body)
        reply = self.fake.request("PATCH", f"{path}/b", {"roleRef": {"name": "r2"}},
                                  content_type="application/merge-patch+json")
        self.assertInvalid(reply, "roleRef")


# ---------------------------------------------------------------------------------------------
# 2. The Job controller.


class JobControllerTest(FakeTest):
    def test_default_script_runs_one_second_and_completes(self):
        self.fake.create(JOBS, job())
        self.fake.tick(0)
        pods = self.fake.pods()
        self.assertEqual(len(pods), 1)
        pod = pods[0]
        created = self.fake.get(f"{JOBS}/j")
        uid = created["metadata"]["uid"]
        self.assertRegex(pod["metadata"]["name"], r"^j-[bcdfghjklmnpqrstvwxz2456789]{5}$")
        self.assertEqual(pod["metadata"]["ownerReferences"], [
            {"apiVersion": "batch/v1", "kind": "Job", "name": "j", "uid": uid,
             "controller": True, "blockOwnerDeletion": True}])
        for key in ("batch.kubernetes.io/controller-uid", "controller-uid",
                    "batch.kubernetes.io/job-name", "job-name"):
            self.assertIn(key, pod["metadata"]["labels"])
        self.assertEqual(pod["status"]["phase"], "Running")
        self.assertIn("running", pod["status"]["containerStatuses"][0]["state"])
        status = created["status"]
        self.assertIn("startTime", status)
        self.assertEqual((status["active"], status["ready"], status["terminating"]), (1, 1, 0))
        self.assertEqual(status["uncountedTerminatedPods"], {})
        self.assertIsNone(condition(created, "Complete"))

        self.fake.tick(1)
        done = self.fake.get(f"{JOBS}/j")
        kinds = [c["type"] for c in done["status"]["conditions"]]
        self.assertEqual(kinds, ["SuccessCriteriaMet", "Complete"])
        for c in done["status"]["conditions"]:
            self.assertEqual((c["status"], c["reason"]), ("True", "CompletionsReached"))
            self.assertEqual(c["message"], "Reached expected number of succeeded pods")
        self.assertEqual(done["status"]["succeeded"], 1)
        self.assertNotIn("active", done["status"])  # omitempty at 0, as on a real server
        self.assertIn("completionTime", done["status"])
        pod = self.fake.get(f"{PODS}/{pod['metadata']['name']}")
        self.assertEqual(pod["status"]["phase"], "Succeeded")
        terminated = pod["status"]["containerStatuses"][0]["state"]["terminated"]
        self.assertEqual((terminated["exitCode"], terminated["reason"]), (0, "Completed"))
        self.assertEqual(self.fake.get(f"{PODS}/{pod['metadata']['name']}/log"), "ok\n")

    def test_failed_attempts_retry_after_backoff(self):
        self.fake.script("jobs", "j", {"attempts": [
            {"runSeconds": 2, "exitCode": 1, "log": "boom\n"},
            {"runSeconds": 1, "exitCode": 2, "log": "again\n"},
            {"runSeconds": 1, "exitCode": 0, "log": '{"result":42}\n'}]})
        self.fake.create(JOBS, job(backoffLimit=4))
        self.fake.tick(0)   # t=0: pod 1 starts
        self.fake.tick(2)   # t=2: it fails; the next may start at 2 + 10
        first = self.fake.get(f"{JOBS}/j")["status"]
        self.assertEqual(first["failed"], 1)
        self.assertNotIn("active", first)
        self.assertIsNone(condition(self.fake.get(f"{JOBS}/j"), "Failed"))  # failed>0 is not
        self.fake.tick(9)   # t=11
        self.assertEqual(len(self.fake.pods()), 1)
        self.fake.tick(1)   # t=12
        self.assertEqual(len(self.fake.pods()), 2)
        self.fake.tick(1)   # t=13: pod 2 fails; back-off 20 s
        self.fake.tick(19)  # t=32
        self.assertEqual(len(self.fake.pods()), 2)
        self.fake.tick(1)   # t=33
        self.assertEqual(len(self.fake.pods()), 3)
        self.fake.tick(1)   # t=34: pod 3 succeeds
        done = self.fake.get(f"{JOBS}/j")
        self.assertEqual((done["status"]["failed"], done["status"]["succeeded"]), (2, 1))
        self.assertEqual(condition(done, "Complete")["status"], "True")
        logs = sorted(self.fake.get(f"{PODS}/{p['metadata']['name']}/log")
                      for p in self.fake.pods())
        self.assertEqual(logs, ["again\n", "boom\n", '{"result":42}\n'])
        exits = sorted(p["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"]
                       for p in self.fake.pods())
        self.assertEqual(exits, [0, 1, 2])
        failed = [p for p in self.fake.pods() if p["status"]["phase"] == "Failed"]
        self.assertEqual(failed[0]["status"]["containerStatuses"][0]["state"]["terminated"]
                         ["reason"], "Error")

    def test_backoff_limit_exceeded_fails_the_job(self):
        self.fake.script("jobs", "j", {"attempts": [{"runSeconds": 1, "exitCode": 1}]})
        self.fake.create(JOBS, job(backoffLimit=1))
        self.fake.tick(30)
        done = self.fake.get(f"{JOBS}/j")
        self.assertEqual(done["status"]["failed"], 2)  # backoffLimit 1 allows two attempts
        self.assertEqual([c["type"] for c in done["status"]["conditions"]],
                         ["FailureTarget", "Failed"])
        for c in done["status"]["conditions"]:
            self.assertEqual((c["status"], c["reason"]), ("True", "BackoffLimitExceeded"))
            self.assertEqual(c["message"], "Job has reached the specified backoff limit")
        self.assertNotIn("completionTime", done["status"])
        self.assertEqual(len(self.fake.pods()), 2)

    def test_active_deadline_fails_running_pods(self):
        self.fake.script("jobs", "j", {"attempts": [{"runSeconds": 100}]})
        self.fake.create(JOBS, job(activeDeadlineSeconds=5))
        self.fake.tick(4)
        self.assertIsNone(condition(self.fake.get(f"{JOBS}/j"), "Failed"))
        self.fake.tick(1)
        done = self.fake.get(f"{JOBS}/j")
        self.assertEqual(condition(done, "FailureTarget")["reason"], "DeadlineExceeded")
        failed = condition(done, "Failed")
        self.assertEqual((failed["status"], failed["reason"]), ("True", "DeadlineExceeded"))
        self.assertEqual(failed["message"], "Job was active longer than specified deadline")
        pod = self.fake.pods()[0]
        self.assertEqual((pod["status"]["phase"], pod["status"]["reason"]),
                         ("Failed", "DeadlineExceeded"))

    def test_ttl_after_finished_deletes_job_pods_and_logs(self):
        self.fake.create(JOBS, job(ttlSecondsAfterFinished=10))
        self.fake.tick(1)  # finished at t=1
        pod = self.fake.pods()[0]["metadata"]["name"]
        self.fake.tick(9)
        self.fake.get(f"{JOBS}/j")
        self.fake.tick(1)  # t=11
        self.assertEqual(self.fake.request("GET", f"{JOBS}/j").status, 404)
        self.fake.tick(1)  # the garbage collector follows
        self.assertEqual(self.fake.pods(), [])
        gone = self.fake.request("GET", f"{PODS}/{pod}/log")
        self.assertEqual((gone.status, gone.json["reason"]), (404, "NotFound"))

    def test_suspend_and_resume(self):
        self.fake.create(JOBS, job(suspend=True))
        self.fake.tick(5)
        self.assertEqual(self.fake.pods(), [])
        suspended = condition(self.fake.get(f"{JOBS}/j"), "Suspended")
        self.assertEqual((suspended["status"], suspended["reason"]), ("True", "JobSuspended"))
        self.fake.patch(f"{JOBS}/j", {"spec": {"suspend": False}})
        self.fake.tick(1)
        done = self.fake.get(f"{JOBS}/j")
        self.assertEqual(condition(done, "Suspended")["reason"], "JobResumed")
        self.assertEqual(condition(done, "Complete")["status"], "True")

    def test_image_pull_failure_and_never_start_stay_pending(self):
        self.fake.script("jobs", "pull", {"imagePull": "fail"})
        self.fake.script("jobs", "stuck", {"neverStart": True})
        self.fake.create(JOBS, job(name="pull"))
        self.fake.create(JOBS, job(name="stuck"))
        self.fake.tick(0)
        pull = self.fake.pods(labelSelector="job-name=pull")[0]
        self.assertEqual(pull["status"]["phase"], "Pending")
        self.assertEqual(pull["status"]["containerStatuses"][0]["state"]["waiting"]["reason"],
                         "ErrImagePull")
        self.fake.tick(5)
        pull = self.fake.pods(labelSelector="job-name=pull")[0]
        self.assertEqual(pull["status"]["containerStatuses"][0]["state"]["waiting"]["reason"],
                         "ImagePullBackOff")
        log = self.fake.request("GET", f"{PODS}/{pull['metadata']['name']}/log")
        self.assertEqual(log.status, 400)
        self.assertIn("is waiting to start", log.json["message"])
        stuck = self.fake.pods(labelSelector="job-name=stuck")[0]
        self.assertEqual(stuck["status"]["phase"], "Pending")
        self.assertNotIn("nodeName", stuck["spec"])
        scheduled = condition(stuck, "PodScheduled")
        self.assertEqual((scheduled["status"], scheduled["reason"]), ("False", "Unschedulable"))
        self.assertEqual(self.fake.get(f"{JOBS}/stuck")["status"]["active"], 1)
        self.assertEqual(len(self.fake.pods(fieldSelector="status.phase=Pending")), 2)

    def test_start_delay_keeps_the_pod_creating(self):
        self.fake.script("jobs", "j", {"startDelaySeconds": 3})
        self.fake.create(JOBS, job())
        self.fake.tick(0)
        pod = self.fake.pods()[0]
        name = pod["metadata"]["name"]
        self.assertEqual(pod["status"]["containerStatuses"][0]["state"]["waiting"]["reason"],
                         "ContainerCreating")
        reply = self.fake.request("GET", f"{PODS}/{name}/log")
        self.assertEqual(reply.status, 400)
        self.assertEqual(reply.json["message"],
                         f'container "c" in pod "{name}" is waiting to start: ContainerCreating')
        self.fake.tick(3)
        self.assertEqual(self.fake.get(f"{PODS}/{name}")["status"]["phase"], "Running")
        self.fake.tick(1)
        self.assertEqual(condition(self.fake.get(f"{JOBS}/j"), "Complete")["status"], "True")

    def test_generate_name_jobs_use_the_namespace_default_script(self):
        self.fake.script("jobs", "*", {"attempts": [{"runSeconds": 1, "log": "star\n"}]})
        body = job()
        body["metadata"] = {"generateName": "gen-"}
        name = self.fake.create(JOBS, body)["metadata"]["name"]
        self.assertRegex(name, r"^gen-[bcdfghjklmnpqrstvwxz2456789]{5}$")
        self.fake.tick(0)
        pod = self.fake.pods()[0]["metadata"]["name"]
        self.assertEqual(self.fake.get(f"{PODS}/{pod}/log"), "star\n")

    def test_unknown_script_keys_are_refused(self):
        reply = self.fake.request("PUT", f"/__fake/scripts/jobs/{NS}/j",
                                  {"attempts": [{"runSecond": 1}]})
        self.assertEqual(reply.status, 400)


# ---------------------------------------------------------------------------------------------
# 3. Pod logs.


class PodLogTest(FakeTest):
    def running_pod(self, log="a\nb\nc\n", seconds=5):
        self.fake.script("jobs", "j", {"attempts": [{"runSeconds": seconds, "log": log}]})
        self.fake.create(JOBS, job())
        self.fake.tick(0)
        return self.fake.pods()[0]["metadata"]["name"]

    def test_options(self):
        name = self.running_pod()
        log = f"{PODS}/{name}/log"
        reply = self.fake.request("GET", log)
        self.assertEqual((reply.status, reply.headers["Content-Type"]), (200, "text/plain"))
        self.assertEqual(reply.text, "a\nb\nc\n")
        self.assertEqual(self.fake.get(log, tailLines=2), "b\nc\n")
        self.assertEqual(self.fake.get(log, limitBytes=3), "a\nb")
        self.assertEqual(self.fake.get(log, container="c"), "a\nb\nc\n")
        stamped = self.fake.get(log, timestamps="true").splitlines()
        self.assertEqual(len(stamped), 3)
        for line, text in zip(stamped, "abc"):
            self.assertRegex(line, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z " + text + "$")
        previous = self.fake.request("GET", log, query={"previous": "true"})
        self.assertEqual(previous.status, 400)
        self.assertIn("previous terminated container", previous.json["message"])
        missing = self.fake.request("GET", f"{PODS}/nope/log")
        self.assertEqual((missing.status, missing.json["details"]["kind"]), (404, "pods"))
        wrong = self.fake.request("GET", log, query={"container": "x"})
        self.assertEqual(wrong.status, 400)

    def test_two_containers_need_a_name(self):
        body = job()
        body["spec"]["template"]["spec"]["containers"].append(
            {"name": "sidecar", "image": "registry.example/sidecar:1"})
        self.fake.create(JOBS, body)
        self.fake.tick(0)
        name = self.fake.pods()[0]["metadata"]["name"]
        reply = self.fake.request("GET", f"{PODS}/{name}/log")
        self.assertEqual(reply.status, 400)
        self.assertEqual(reply.json["message"], f"a container name must be specified for pod "
                                                f"{name}, choose one of: [c sidecar]")
        self.assertEqual(self.fake.get(f"{PODS}/{name}/log", container="c"), "ok\n")

    def test_follow_streams_until_the_container_ends(self):
        name = self.running_pod(log="x\n", seconds=5)
        conn = self.fake.connection()
        conn.request("GET", f"{PODS}/{name}/log?follow=true")
        response = conn.getresponse()
        self.assertEqual(response.headers["Transfer-Encoding"], "chunked")
        self.assertEqual(response.readline(), b"x\n")
        ended = threading.Event()
        threading.Thread(target=lambda: (response.read(), ended.set()), daemon=True).start()
        self.fake.tick(4)
        self.assertFalse(ended.wait(0.3))  # still running: the stream stays open
        self.fake.tick(1)
        self.assertTrue(ended.wait(GUARD))
        conn.close()


# ---------------------------------------------------------------------------------------------
# 4. Deployments, scale and the HPA.


class DeploymentControllerTest(FakeTest):
    def test_rollout_to_available(self):
        self.fake.create(DEPLOYMENTS, deployment(replicas=2))
        self.fake.tick(0)
        pods = self.fake.pods()
        self.assertEqual(len(pods), 2)
        for pod in pods:
            self.assertRegex(pod["metadata"]["name"], r"^fn-demo-[a-z0-9]{10}-[a-z0-9]{5}$")
            hash_label = pod["metadata"]["labels"]["pod-template-hash"]
            self.assertEqual(pod["metadata"]["labels"]["app"], "fn-demo")
            ref = pod["metadata"]["ownerReferences"][0]
            self.assertEqual((ref["kind"], ref["name"]), ("ReplicaSet", f"fn-demo-{hash_label}"))
        first = self.fake.get(f"{DEPLOYMENTS}/fn-demo")["status"]
        self.assertEqual(first["observedGeneration"], 1)
        self.assertNotIn("readyReplicas", first)
        self.fake.tick(1)  # ready 1 s after creation
        done = self.fake.get(f"{DEPLOYMENTS}/fn-demo")
        status = done["status"]
        self.assertEqual((status["replicas"], status["updatedReplicas"], status["readyReplicas"],
                          status["availableReplicas"]), (2, 2, 2, 2))
        self.assertNotIn("unavailableReplicas", status)
        available, progressing = condition(done, "Available"), condition(done, "Progressing")
        self.assertEqual((available["status"], available["reason"]),
                         ("True", "MinimumReplicasAvailable"))
        self.assertEqual((progressing["status"], progressing["reason"]),
                         ("True", "NewReplicaSetAvailable"))
        self.assertEqual(done["metadata"]["annotations"]["deployment.kubernetes.io/revision"], "1")

    def test_scale_subresource(self):
        self.fake.create(DEPLOYMENTS, deployment(replicas=2))
        self.fake.tick(1)
        scale_path = f"{DEPLOYMENTS}/fn-demo/scale"
        scale = self.fake.get(scale_path)
        self.assertEqual((scale["kind"], scale["apiVersion"]), ("Scale", "autoscaling/v1"))
        self.assertEqual(scale["spec"], {"replicas": 2})
        self.assertEqual(scale["status"], {"replicas": 2, "selector": "app=fn-demo"})
        scale["spec"]["replicas"] = 3
        self.assertEqual(self.fake.ok("PUT", scale_path, scale)["spec"]["replicas"], 3)
        self.assertEqual(self.fake.get(f"{DEPLOYMENTS}/fn-demo")["metadata"]["generation"], 2)
        self.fake.tick(1)
        self.assertEqual(len(self.fake.pods()), 3)
        stale = self.fake.request("PUT", scale_path, scale)  # its resourceVersion is old now
        self.assertEqual((stale.status, stale.json["reason"]), (409, "Conflict"))
        self.fake.patch(scale_path, {"spec": {"replicas": 1}})
        self.fake.tick(1)
        self.assertEqual(self.fake.get(f"{DEPLOYMENTS}/fn-demo")["status"]["replicas"], 1)
        self.assertEqual(len(self.fake.pods()), 3)  # two terminating for their grace period
        self.assertEqual(sum(1 for p in self.fake.pods() if "deletionTimestamp" in p["metadata"]),
                         2)
        self.fake.tick(30)
        self.assertEqual(len(self.fake.pods()), 1)
        negative = self.fake.request("PATCH", scale_path, {"spec": {"replicas": -1}},
                                     content_type="application/merge-patch+json")
        self.assertInvalid(negative, "spec.replicas")

    def test_crash_loop(self):
        self.fake.script("deployments", "fn-demo", {"crashLoop": True, "log": "boom\n"})
        self.fake.create(DEPLOYMENTS, deployment())
        self.fake.tick(2)
        pod = self.fake.pods()[0]
        cs = pod["status"]["containerStatuses"][0]
        self.assertEqual(cs["state"]["waiting"]["reason"], "CrashLoopBackOff")
        self.assertEqual(cs["lastState"]["terminated"]["exitCode"], 1)
        self.assertEqual(pod["status"]["phase"], "Running")
        self.fake.tick(60)
        restarts = self.fake.pods()[0]["status"]["containerStatuses"][0]["restartCount"]
        self.assertGreaterEqual(restarts, 2)
        name = pod["metadata"]["name"]
        self.assertEqual(self.fake.get(f"{PODS}/{name}/log", previous="true"), "boom\n")
        deploy = self.fake.get(f"{DEPLOYMENTS}/fn-demo")
        self.assertEqual(condition(deploy, "Available")["status"], "False")
        self.assertEqual(deploy["status"]["unavailableReplicas"], 1)

    def test_never_ready_exceeds_the_progress_deadline(self):
        self.fake.script("deployments", "fn-demo", {"neverReady": True})
        body = deployment()
        body["spec"]["progressDeadlineSeconds"] = 30
        self.fake.create(DEPLOYMENTS, body)
        self.fake.tick(30)
        self.assertEqual(condition(self.fake.get(f"{DEPLOYMENTS}/fn-demo"),
                                   "Progressing")["status"], "True")
        self.fake.tick(2)
        progressing = condition(self.fake.get(f"{DEPLOYMENTS}/fn-demo"), "Progressing")
        self.assertEqual((progressing["status"], progressing["reason"]),
                         ("False", "ProgressDeadlineExceeded"))
        pod = self.fake.pods()[0]
        self.assertEqual(pod["status"]["phase"], "Running")
        self.assertIs(pod["status"]["containerStatuses"][0]["ready"], False)

    def test_image_pull_failure(self):
        self.fake.script("deployments", "fn-demo", {"imagePull": "fail"})
        self.fake.create(DEPLOYMENTS, deployment())
        self.fake.tick(3)
        pod = self.fake.pods()[0]
        self.assertEqual(pod["status"]["phase"], "Pending")
        self.assertEqual(pod["status"]["containerStatuses"][0]["state"]["waiting"]["reason"],
                         "ImagePullBackOff")

    def test_template_change_rolls_out_new_pods(self):
        self.fake.create(DEPLOYMENTS, deployment(replicas=2))
        self.fake.tick(1)
        old_hash = self.fake.pods()[0]["metadata"]["labels"]["pod-template-hash"]
        patched = self.fake.patch(f"{DEPLOYMENTS}/fn-demo", {"spec": {"template": {"spec": {
            "containers": [{"name": "fn-demo", "image": "registry.example/fn:2"}]}}}})
        self.assertEqual(patched["metadata"]["generation"], 2)
        self.fake.tick(1)
        deploy = self.fake.get(f"{DEPLOYMENTS}/fn-demo")
        self.assertEqual(deploy["status"]["observedGeneration"], 2)
        self.assertEqual(deploy["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
                         "2")
        live = [p for p in self.fake.pods() if "deletionTimestamp" not in p["metadata"]]
        self.assertEqual(len(live), 2)
        self.assertTrue(all(p["metadata"]["labels"]["pod-template-hash"] != old_hash
                            for p in live))
        self.assertEqual(condition(deploy, "Progressing")["reason"], "NewReplicaSetAvailable")
        self.assertEqual(deploy["status"]["updatedReplicas"], 2)

    def test_hpa_desired_is_clamped_and_scales_the_deployment(self):
        self.fake.create(DEPLOYMENTS, deployment())
        self.fake.create(HPAS, hpa())
        self.fake.tick(1)
        scaled = self.fake.ok("PUT", f"/__fake/hpa/{NS}/fn-demo/desired", query={"replicas": 9})
        self.assertEqual(scaled["status"]["desiredReplicas"], 5)
        self.assertIn("lastScaleTime", scaled["status"])
        limited = condition(scaled, "ScalingLimited")
        self.assertEqual((limited["status"], limited["reason"]), ("True", "TooManyReplicas"))
        self.assertEqual(condition(scaled, "ScalingActive")["status"], "True")
        self.assertEqual(condition(scaled, "AbleToScale")["reason"], "SucceededRescale")
        self.assertEqual(self.fake.get(f"{DEPLOYMENTS}/fn-demo")["spec"]["replicas"], 5)
        self.fake.tick(1)
        self.assertEqual(len(self.fake.pods()), 5)
        self.assertEqual(self.fake.get(f"{HPAS}/fn-demo")["status"]["currentReplicas"], 5)
        low = self.fake.ok("PUT", f"/__fake/hpa/{NS}/fn-demo/desired", query={"replicas": 0})
        self.assertEqual(condition(low, "ScalingLimited")["reason"], "TooFewReplicas")
        self.assertEqual(self.fake.get(f"{DEPLOYMENTS}/fn-demo")["spec"]["replicas"], 1)

    def test_hpa_cannot_scale_on_cpu_without_requests(self):
        self.fake.create(DEPLOYMENTS, deployment(cpu=None))
        self.fake.create(HPAS, hpa())
        self.fake.tick(1)
        reply = self.fake.ok("PUT", f"/__fake/hpa/{NS}/fn-demo/desired", query={"replicas": 3})
        active = condition(reply, "ScalingActive")
        self.assertEqual((active["status"], active["reason"]),
                         ("False", "FailedGetResourceMetric"))
        self.assertIn("missing request for cpu", active["message"])
        self.assertEqual(self.fake.get(f"{DEPLOYMENTS}/fn-demo")["spec"]["replicas"], 1)


# ---------------------------------------------------------------------------------------------
# 5. The service proxy.


class Backend:
    """A loopback HTTP server that echoes what it received."""

    def __init__(self):
        class Echo(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = json.dumps({"method": self.command, "path": self.path,
                                   "body": self.rfile.read(length).decode(),
                                   "header": self.headers.get("X-Test"),
                                   "authorization": self.headers.get("Authorization")}).encode()
                self.send_response(201 if self.command == "POST" else 200)
                self.send_header("Content-Type", "application/x-echo")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class ServiceProxyTest(FakeTest):
    def setUp(self):
        super().setUp()
        self.backend = Backend()
        self.addCleanup(self.backend.stop)

    def test_relays_to_the_backend_once_a_pod_is_ready(self):
        self.fake.create(DEPLOYMENTS, deployment())
        self.fake.create(SERVICES, service(selector={"app": "fn-demo"}))
        self.fake.ok("PUT", f"/__fake/backends/{NS}/fn-demo-svc/5000", {"url": self.backend.url})
        proxy = f"{SERVICES}/fn-demo-svc:rest/proxy"
        early = self.fake.request("GET", f"{proxy}/health")
        self.assertEqual((early.status, early.json["reason"]), (503, "ServiceUnavailable"))
        self.assertEqual(early.json["message"],
                         'no endpoints available for service "fn-demo-svc"')
        self.fake.tick(1)
        reply = self.fake.request("POST", f"{proxy}/run/x", '{"in":1}',
                                  query={"a": "b"}, headers={"X-Test": "yes",
                                                             "Authorization": "Bearer t"})
        self.assertEqual(reply.status, 201)
        self.assertEqual(reply.headers["Content-Type"], "application/x-echo")
        echoed = reply.json
        self.assertEqual((echoed["method"], echoed["path"]), ("POST", "/run/x?a=b"))
        self.assertEqual((echoed["body"], echoed["header"]), ('{"in":1}', "yes"))
        self.assertIsNone(echoed["authorization"])  # the apiserver's credentials stay behind
        for method in ("GET", "PUT", "DELETE", "PATCH"):
            self.assertEqual(self.fake.request(method, f"{SERVICES}/fn-demo-svc/proxy/",
                                               "{}" if method in ("PUT", "PATCH") else None)
                             .json["method"], method)

    def test_missing_service_and_missing_backend(self):
        missing = self.fake.request("GET", f"{SERVICES}/nope/proxy/")
        self.assertEqual((missing.status, missing.json["details"]["kind"]), (404, "services"))
        self.fake.create(SERVICES, service("plain"))  # no selector: ready once a backend exists
        self.assertEqual(self.fake.request("GET", f"{SERVICES}/plain/proxy/x").status, 503)
        self.fake.ok("PUT", f"/__fake/backends/{NS}/plain/rest", {"url": self.backend.url})
        self.assertEqual(self.fake.request("GET", f"{SERVICES}/plain:5000/proxy/x").json["path"],
                         "/x")


# ---------------------------------------------------------------------------------------------
# 6. Deletion and garbage collection.


class DeletionTest(FakeTest):
    def finished_job(self, **spec):
        self.fake.create(JOBS, job(**spec))
        self.fake.tick(1)
        return self.fake.pods()[0]["metadata"]["name"]

    def test_job_delete_without_policy_orphans_pods_with_a_warning(self):
        pod = self.finished_job()
        reply = self.fake.request("DELETE", f"{JOBS}/j")
        self.assertEqual(reply.status, 200)
        self.assertEqual(reply.headers.get_all("Warning"), [JOB_WARNING])
        self.assertEqual(reply.json["status"], "Success")
        self.assertEqual(reply.json["details"]["kind"], "jobs")
        self.fake.tick(2)
        orphan = self.fake.get(f"{PODS}/{pod}")
        self.assertNotIn("ownerReferences", orphan["metadata"])

    def test_background_deletes_dependents_on_the_next_tick(self):
        pod = self.finished_job()
        reply = self.fake.request("DELETE", f"{JOBS}/j", query={"propagationPolicy": "Background"})
        self.assertIsNone(reply.headers.get("Warning"))
        self.fake.get(f"{PODS}/{pod}")  # still there until the collector runs
        self.fake.tick(0)
        self.assertEqual(self.fake.request("GET", f"{PODS}/{pod}").status, 404)

    def test_delete_options_body_carries_the_policy(self):
        pod = self.finished_job()
        reply = self.fake.request("DELETE", f"{JOBS}/j", {
            "apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": "Background"})
        self.assertIsNone(reply.headers.get("Warning"))
        self.fake.tick(0)
        self.assertEqual(self.fake.request("GET", f"{PODS}/{pod}").status, 404)

    def test_foreground_waits_for_dependents(self):
        self.fake.create(DEPLOYMENTS, deployment(replicas=2))
        self.fake.tick(1)
        reply = self.fake.ok("DELETE", f"{DEPLOYMENTS}/fn-demo",
                             query={"propagationPolicy": "Foreground"})
        self.assertEqual(reply["kind"], "Deployment")
        self.assertIn("deletionTimestamp", reply["metadata"])
        self.assertEqual(reply["metadata"]["finalizers"], ["foregroundDeletion"])
        self.fake.tick(1)
        self.fake.get(f"{DEPLOYMENTS}/fn-demo")  # its running pods are still terminating
        self.fake.tick(30)
        self.assertEqual(self.fake.pods(), [])
        self.assertEqual(self.fake.request("GET", f"{DEPLOYMENTS}/fn-demo").status, 404)

    def test_orphan_keeps_deployment_pods(self):
        self.fake.create(DEPLOYMENTS, deployment())
        self.fake.tick(1)
        self.fake.ok("DELETE", f"{DEPLOYMENTS}/fn-demo", query={"propagationPolicy": "Orphan"})
        self.fake.tick(40)
        self.assertEqual(len(self.fake.pods()), 1)

    def test_pods_are_deleted_gracefully(self):
        pod = {"metadata": {"name": "p"}, "spec": {"containers": [
            {"name": "c", "image": "registry.example/app:1"}]}}
        self.fake.create(PODS, pod)
        self.fake.tick(1)
        self.assertEqual(self.fake.get(f"{PODS}/p")["spec"]["nodeName"], "fake-node")
        deleted = self.fake.ok("DELETE", f"{PODS}/p")
        self.assertEqual(deleted["kind"], "Pod")
        self.assertEqual(deleted["metadata"]["deletionGracePeriodSeconds"], 30)
        self.fake.tick(29)
        self.fake.get(f"{PODS}/p")
        self.fake.tick(1)
        self.assertEqual(self.fake.request("GET", f"{PODS}/p").status, 404)
        self.fake.create(PODS, pod)
        self.fake.tick(1)
        self.fake.ok("DELETE", f"{PODS}/p", query={"gracePeriodSeconds": 0})
        self.assertEqual(self.fake.request("GET", f"{PODS}/p").status, 404)

    def test_namespace_terminates_then_goes(self):
        self.fake.create("/api/v1/namespaces", {"metadata": {"name": "tmp"}})
        self.fake.create("/api/v1/namespaces/tmp/configmaps", configmap("c"))
        reply = self.fake.ok("DELETE", "/api/v1/namespaces/tmp")
        self.assertEqual(reply["status"]["phase"], "Terminating")
        refused = self.fake.request("POST", "/api/v1/namespaces/tmp/configmaps", configmap("d"))
        self.assertEqual((refused.status, refused.json["reason"]), (403, "Forbidden"))
        self.assertEqual(refused.json["details"]["causes"][0]["reason"], "NamespaceTerminating")
        self.fake.tick(0)
        self.assertEqual(self.fake.request("GET", "/api/v1/namespaces/tmp").status, 404)
        self.assertEqual(self.fake.request("GET", "/api/v1/namespaces/tmp/configmaps/c").status,
                         404)
        protected = self.fake.request("DELETE", "/api/v1/namespaces/default")
        self.assertEqual(protected.status, 403)

    def test_delete_collection_with_label_selector(self):
        for name, tier in (("a", "x"), ("b", "x"), ("c", "y")):
            self.fake.create(CONFIGMAPS, configmap(name, {"tier": tier}))
        reply = self.fake.ok("DELETE", CONFIGMAPS, query={"labelSelector": "tier=x"})
        self.assertEqual(reply["kind"], "ConfigMapList")
        self.assertEqual(sorted(i["metadata"]["name"] for i in reply["items"]), ["a", "b"])
        self.assertEqual([i["metadata"]["name"] for i in self.fake.get(CONFIGMAPS)["items"]],
                         ["c"])

    def test_every_namespace_gets_a_default_service_account_after_a_tick(self):
        path = f"/api/v1/namespaces/{NS}/serviceaccounts/default"
        self.assertEqual(self.fake.request("GET", path).status, 404)
        self.fake.tick(0)
        self.assertEqual(self.fake.get(path)["metadata"]["name"], "default")
        self.fake.get("/api/v1/namespaces/default/serviceaccounts/default")

    def test_delete_of_a_missing_object_is_not_found(self):
        reply = self.fake.request("DELETE", f"{JOBS}/nope")
        self.assertEqual((reply.status, reply.json["details"]["kind"]), (404, "jobs"))


# ---------------------------------------------------------------------------------------------
# 7. Watches.


class WatchTest(FakeTest):
    def test_initial_added_then_live_events(self):
        self.fake.create(CONFIGMAPS, configmap("one"))
        watch = self.fake.watch(CONFIGMAPS)
        self.addCleanup(watch.close)
        self.assertEqual(watch.response.status, 200)
        self.assertEqual(watch.response.headers["Content-Type"], "application/json")
        self.assertEqual(watch.response.headers["Transfer-Encoding"], "chunked")
        first = watch.next()
        self.assertEqual(first["type"], "ADDED")
        self.assertEqual((first["object"]["kind"], first["object"]["apiVersion"]),
                         ("ConfigMap", "v1"))
        self.fake.create(CONFIGMAPS, configmap("two"))
        self.assertEqual((watch.next()["type"]), "ADDED")
        self.fake.patch(f"{CONFIGMAPS}/one", {"data": {"k": "w"}})
        modified = watch.next()
        self.assertEqual((modified["type"], modified["object"]["data"]), ("MODIFIED", {"k": "w"}))
        self.fake.ok("DELETE", f"{CONFIGMAPS}/one")
        self.assertEqual(watch.next()["type"], "DELETED")

    def test_resume_from_a_version_and_410_once_forgotten(self):
        rv = self.fake.create(CONFIGMAPS, configmap("one"))["metadata"]["resourceVersion"]
        self.fake.create(CONFIGMAPS, configmap("two"))
        self.fake.ok("DELETE", f"{CONFIGMAPS}/one")
        watch = self.fake.watch(CONFIGMAPS, resourceVersion=rv)
        self.addCleanup(watch.close)
        self.assertEqual([(e["type"], e["object"]["metadata"]["name"])
                          for e in (watch.next(), watch.next())],
                         [("ADDED", "two"), ("DELETED", "one")])
        self.fake.ok("POST", "/__fake/watch/expire")
        old = self.fake.watch(CONFIGMAPS, resourceVersion=rv)
        self.addCleanup(old.close)
        error = old.next()
        self.assertEqual(error["type"], "ERROR")
        self.assertEqual((error["object"]["code"], error["object"]["reason"]), (410, "Expired"))
        self.assertTrue(error["object"]["message"].startswith(f"too old resource version: {rv}"))
        self.assertIsNone(old.next())  # and the stream ends

    def test_virtual_timeout_and_bookmarks(self):
        watch = self.fake.watch(CONFIGMAPS, timeoutSeconds=100, allowWatchBookmarks="true")
        self.addCleanup(watch.close)
        self.fake.tick(60)
        bookmark = watch.next()
        self.assertEqual(bookmark["type"], "BOOKMARK")
        self.assertEqual(set(bookmark["object"]["metadata"]), {"resourceVersion"})
        self.assertEqual(bookmark["object"]["kind"], "ConfigMap")
        self.fake.tick(40)
        self.assertEqual(watch.next_of("BOOKMARK", "ADDED")["type"], "BOOKMARK")
        self.assertIsNone(watch.next())

    def test_close_ends_open_watches(self):
        watch = self.fake.watch(CONFIGMAPS)
        self.addCleanup(watch.close)
        self.fake.ok("POST", "/__fake/watch/close")
        self.assertIsNone(watch.next())

    def test_label_selector_turns_label_changes_into_added_and_deleted(self):
        self.fake.create(CONFIGMAPS, configmap("c", {"app": "x"}))
        watch = self.fake.watch(CONFIGMAPS, labelSelector="app=x")
        self.addCleanup(watch.close)
        self.assertEqual(watch.next()["type"], "ADDED")
        self.fake.create(CONFIGMAPS, configmap("other", {"app": "y"}))  # not seen
        self.fake.patch(f"{CONFIGMAPS}/c", {"metadata": {"labels": {"app": "y"}}})
        self.assertEqual(watch.next()["type"], "DELETED")
        self.fake.patch(f"{CONFIGMAPS}/c", {"metadata": {"labels": {"app": "x"}}})
        self.assertEqual(watch.next()["type"], "ADDED")

    def test_job_lifecycle_through_a_field_selector_watch(self):
        watch = self.fake.watch(JOBS, fieldSelector="metadata.name=j")
        self.addCleanup(watch.close)
        self.fake.create(JOBS, job(name="other"))
        self.fake.create(JOBS, job())
        self.assertEqual(watch.next()["object"]["metadata"]["name"], "j")
        self.fake.tick(1)
        seen = []
        while "Complete" not in seen:
            event = watch.next()
            self.assertEqual(event["object"]["metadata"]["name"], "j")
            seen += [c["type"] for c in event["object"].get("status", {}).get("conditions", [])
                     if c["type"] not in seen]
        self.assertEqual(seen, ["SuccessCriteriaMet", "Complete"])

    def test_small_event_log_expires_old_versions(self):
        fake = Fake("--event-log-size", "2")
        self.addCleanup(fake.stop)
        fake.create("/api/v1/namespaces", {"metadata": {"name": NS}})
        rv = fake.create(CONFIGMAPS, configmap("a"))["metadata"]["resourceVersion"]
        for name in ("b", "c", "d"):
            fake.create(CONFIGMAPS, configmap(name))
        watch = fake.watch(CONFIGMAPS, resourceVersion=rv)
        self.addCleanup(watch.close)
        self.assertEqual(watch.next()["object"]["code"], 410)


# ---------------------------------------------------------------------------------------------
# 8. Faults, forbidden verbs and the auto-ticking clock.


class FaultTest(FakeTest):
    def test_respond_once_then_normal(self):
        self.fake.ok("POST", "/__fake/faults", {"method": "POST", "pathRegex": "/jobs$",
                                                "times": 1, "respond": {"code": 500}})
        first = self.fake.request("POST", JOBS, job())
        self.assertEqual((first.status, first.json["reason"]), (500, "InternalError"))
        self.assertEqual(self.fake.request("POST", JOBS, job()).status, 201)

    def test_too_many_requests_carries_retry_after(self):
        self.fake.ok("POST", "/__fake/faults", {"pathRegex": "/configmaps", "times": 2,
                                                "respond": {"code": 429,
                                                            "retryAfterSeconds": 3}})
        for _ in range(2):
            reply = self.fake.request("GET", CONFIGMAPS)
            self.assertEqual((reply.status, reply.json["reason"]), (429, "TooManyRequests"))
            self.assertEqual(reply.headers["Retry-After"], "3")
            self.assertEqual(reply.json["details"]["retryAfterSeconds"], 3)
        self.assertEqual(self.fake.request("GET", CONFIGMAPS).status, 200)

    def test_drop_connection(self):
        self.fake.ok("POST", "/__fake/faults", {"pathRegex": "/configmaps",
                                                "dropConnection": True})
        with self.assertRaises((http.client.HTTPException, ConnectionError)):
            self.fake.request("GET", CONFIGMAPS)
        self.assertEqual(self.fake.request("GET", CONFIGMAPS).status, 200)

    def test_delay(self):
        self.fake.ok("POST", "/__fake/faults", {"pathRegex": "/configmaps", "delayMs": 200})
        start = time.monotonic()
        self.assertEqual(self.fake.request("GET", CONFIGMAPS).status, 200)
        self.assertGreaterEqual(time.monotonic() - start, 0.2)  # the fault is wall time itself

    def test_forbid(self):
        self.fake.ok("POST", "/__fake/forbid", {"verb": "create", "resource": "namespaces"})
        reply = self.fake.request("POST", "/api/v1/namespaces", {"metadata": {"name": "x"}})
        self.assertEqual((reply.status, reply.json["reason"]), (403, "Forbidden"))
        self.assertEqual(reply.json["message"],
                         'namespaces is forbidden: User "u" cannot create resource "namespaces" '
                         'in API group "" at the cluster scope')
        self.fake.ok("POST", "/__fake/forbid", {"verb": "get", "resource": "pods/log"})
        denied = self.fake.request("GET", f"{PODS}/p/log")
        self.assertEqual(denied.json["message"],
                         'pods "p" is forbidden: User "u" cannot get resource "pods/log" in API '
                         'group "" in the namespace "policies"')
        self.assertEqual(self.fake.request("GET", "/api/v1/namespaces").status, 200)

    def test_requests_are_recorded(self):
        self.fake.request("POST", JOBS, job(), query={"fieldValidation": "Strict"})
        lines = [json.loads(l) for l in self.fake.get("/__fake/requests").splitlines()]
        create = [r for r in lines if r["method"] == "POST" and r["path"] == JOBS][0]
        self.assertEqual(create["query"], {"fieldValidation": "Strict"})
        self.assertEqual(create["contentType"], "application/json")

    def test_auto_tick_moves_the_clock(self):
        fake = Fake("--auto-tick")
        self.addCleanup(fake.stop)
        fake.create("/api/v1/namespaces", {"metadata": {"name": NS}})
        fake.create(JOBS, job())
        deadline = time.monotonic() + GUARD
        while condition(fake.get(f"{JOBS}/j"), "Complete") is None:
            self.assertLess(time.monotonic(), deadline, "the auto-ticked job never completed")
            time.sleep(0.05)


# ---------------------------------------------------------------------------------------------
# 9. TLS, the kubeconfig and TokenRequests.


@unittest.skipUnless(shutil.which("openssl"), "no openssl CLI")
class TlsTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="fake-apiserver-test-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def test_https_with_kubeconfig_and_token(self):
        kubeconfig = os.path.join(self.dir, "kubeconfig")
        sa_dir = os.path.join(self.dir, "sa")
        fake = Fake("--tls", "--token", "s3cret", "--kubeconfig", kubeconfig,
                    "--serviceaccount-dir", sa_dir)
        self.addCleanup(fake.stop)
        with open(kubeconfig) as f:
            config = json.load(f)
        self.assertEqual(config["current-context"], "fake")
        context = config["contexts"][0]["context"]
        self.assertEqual(context["namespace"], "policies")
        cluster = config["clusters"][0]["cluster"]
        self.assertEqual(cluster["server"], f"https://127.0.0.1:{fake.port}")
        self.assertEqual(config["users"][0]["user"], {"token": "s3cret"})
        ca = base64.b64decode(cluster["certificate-authority-data"]).decode()
        self.assertIn("BEGIN CERTIFICATE", ca)
        with open(os.path.join(sa_dir, "token")) as f:
            self.assertEqual(f.read(), "s3cret")
        with open(os.path.join(sa_dir, "ca.crt")) as f:
            self.assertEqual(f.read(), ca)

        # Full verification, hostname included: the server certificate names IP 127.0.0.1.
        fake.ssl_context = ssl.create_default_context(cadata=ca)
        self.assertEqual(fake.request("GET", "/version").status, 401)
        fake.token = "s3cret"
        self.assertEqual(fake.get("/version")["gitVersion"], "v1.36.0-fake")

        token = fake.ok("POST", "/api/v1/namespaces/default/serviceaccounts/default/token",
                        {"spec": {"audiences": ["x"], "expirationSeconds": 600}})
        self.assertEqual((token["kind"], token["apiVersion"]),
                         ("TokenRequest", "authentication.k8s.io/v1"))
        self.assertIn("expirationTimestamp", token["status"])
        fake.token = token["status"]["token"]  # a token the fake issued also authenticates
        self.assertEqual(fake.request("GET", "/api/v1/namespaces").status, 200)
        short = fake.request("POST", "/api/v1/namespaces/default/serviceaccounts/default/token",
                             {"spec": {"expirationSeconds": 60}})
        self.assertEqual(short.status, 422)
        plain = socket.create_connection(("127.0.0.1", fake.port))
        plain.sendall(b"GET /version HTTP/1.1\r\nHost: x\r\n\r\n")  # not TLS: dropped
        plain.settimeout(GUARD)
        try:
            answer = plain.recv(4096)
        except ConnectionResetError:
            answer = b""
        self.assertNotIn(b"gitVersion", answer)
        plain.close()

    def test_client_certificate_user_and_kubeconfig_namespace(self):
        kubeconfig = os.path.join(self.dir, "kubeconfig")
        fake = Fake("--tls", "--client-cert-user", "executor", "--kubeconfig", kubeconfig,
                    "--kubeconfig-namespace", "other", "--tls-dir", self.dir)
        self.addCleanup(fake.stop)
        with open(kubeconfig) as f:
            config = json.load(f)
        self.assertEqual(config["contexts"][0]["context"]["namespace"], "other")
        user = config["users"][0]["user"]
        context = ssl.create_default_context(cafile=os.path.join(self.dir, "ca.crt"))
        fake.ssl_context = context
        self.assertEqual(fake.request("GET", "/version").status, 401)
        cert, key = os.path.join(self.dir, "c.crt"), os.path.join(self.dir, "c.key")
        for path, field in ((cert, "client-certificate-data"), (key, "client-key-data")):
            with open(path, "wb") as f:
                f.write(base64.b64decode(user[field]))
        context.load_cert_chain(cert, key)
        self.assertEqual(fake.request("GET", "/version").status, 200)


# ---------------------------------------------------------------------------------------------
# 10. The fake checks its own replies; and a few smaller routes.


class NodesTest(FakeTest):
    """FakeNodes: test-planted v1 Nodes, read-only through the API, paged by name."""

    def node(self, name, cpu="4", zone="a"):
        return {"metadata": {"labels": {"topology.kubernetes.io/zone": zone}},
                "status": {"capacity": {"cpu": cpu, "memory": "16Gi"},
                           "allocatable": {"cpu": "3920m", "memory": "15Gi"}}}

    def test_planted_nodes_are_listed_paged_and_removed(self):
        before = int(self.fake.get("/__fake/clock")["resourceVersion"])
        for name in ("n3", "n1", "n2"):
            self.fake.ok("PUT", f"/__fake/nodes/{name}", self.node(name, zone=name))
        listed = self.fake.get("/api/v1/nodes")
        self.assertEqual((listed["kind"], listed["apiVersion"]), ("NodeList", "v1"))
        self.assertEqual([n["metadata"]["name"] for n in listed["items"]], ["n1", "n2", "n3"])
        self.assertGreater(int(listed["metadata"]["resourceVersion"]), before)
        self.assertNotIn("kind", listed["items"][0])
        self.assertEqual(listed["items"][0]["status"]["allocatable"]["cpu"], "3920m")
        one = self.fake.get("/api/v1/nodes/n2")
        self.assertEqual((one["kind"], one["metadata"]["name"]), ("Node", "n2"))
        uid = one["metadata"]["uid"]

        first = self.fake.get("/api/v1/nodes", limit=2)
        self.assertEqual([n["metadata"]["name"] for n in first["items"]], ["n1", "n2"])
        self.assertEqual(first["metadata"]["remainingItemCount"], 1)
        # A node added between pages comes after the token; none repeats or is skipped.
        self.fake.ok("PUT", "/__fake/nodes/n0", self.node("n0"))
        self.fake.ok("PUT", "/__fake/nodes/n4", self.node("n4"))
        rest = self.fake.get("/api/v1/nodes", limit=2,
                             **{"continue": first["metadata"]["continue"]})
        self.assertEqual([n["metadata"]["name"] for n in rest["items"]], ["n3", "n4"])
        self.assertNotIn("continue", rest["metadata"])

        self.assertEqual([n["metadata"]["name"] for n in self.fake.get(
            "/api/v1/nodes", labelSelector="topology.kubernetes.io/zone=n2")["items"]], ["n2"])
        self.assertEqual(self.fake.get("/api/v1/nodes", fieldSelector="metadata.name=n3")
                         ["items"][0]["metadata"]["name"], "n3")

        changed = self.fake.ok("PUT", "/__fake/nodes/n2", self.node("n2", cpu="8"))
        self.assertEqual(changed["metadata"]["uid"], uid)  # the same node, a new version
        self.assertGreater(int(changed["metadata"]["resourceVersion"]),
                           int(one["metadata"]["resourceVersion"]))
        self.assertEqual(self.fake.get("/api/v1/nodes/n2")["status"]["capacity"]["cpu"], "8")
        self.fake.ok("DELETE", "/__fake/nodes/n2")
        self.assertEqual(self.fake.request("GET", "/api/v1/nodes/n2").status, 404)
        self.assertEqual(self.fake.request("DELETE", "/__fake/nodes/n2").status, 404)
        self.assertEqual(self.fake.request("POST", "/api/v1/nodes", self.node("x")).status, 405)
        self.assertEqual(self.fake.request("GET", "/api/v1/nodes",
                                           query={"continue": "!!"}).status, 400)
        self.fake.ok("POST", "/__fake/reset")
        self.assertEqual(self.fake.get("/api/v1/nodes")["items"], [])

    def test_forbid_and_faults_reach_the_node_list(self):
        self.fake.ok("PUT", "/__fake/nodes/n1", self.node("n1"))
        self.fake.ok("POST", "/__fake/forbid", {"verb": "list", "resource": "nodes"})
        denied = self.fake.request("GET", "/api/v1/nodes")
        self.assertEqual(denied.status, 403)
        self.assertEqual(denied.json["message"],
                         'nodes is forbidden: User "u" cannot list resource "nodes" in API group '
                         '"" at the cluster scope')
        # Only the verb named is refused: get is not list.
        self.assertEqual(self.fake.request("GET", "/api/v1/nodes/n1").status, 200)
        self.fake.ok("DELETE", "/__fake/forbid")
        self.fake.ok("POST", "/__fake/faults", {"pathRegex": "^/api/v1/nodes$",
                                                "respond": {"code": 503}})
        self.assertEqual(self.fake.request("GET", "/api/v1/nodes").status, 503)
        self.assertEqual(self.fake.request("GET", "/api/v1/nodes").status, 200)


class HonestyTest(FakeTest):
    def test_an_invalid_reply_is_a_500_naming_the_field(self):
        self.fake.ok("PUT", "/__fake/raw", {
            "apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "bad", "namespace": NS},
            "spec": {"template": {"spec": {"containers": []}}, "backofLimit": 1}})
        reply = self.fake.request("GET", f"{JOBS}/bad")
        self.assertEqual((reply.status, reply.json["reason"]), (500, "InternalError"))
        self.assertIn("fake apiserver bug", reply.json["message"])
        self.assertIn("spec.backofLimit", reply.json["message"])

    def test_everything_a_busy_cluster_returns_passes_the_schema(self):
        # The check runs on every reply; this drives the controllers through many states.
        self.fake.script("deployments", "crash", {"crashLoop": True})
        self.fake.script("jobs", "fail", {"attempts": [{"runSeconds": 1, "exitCode": 3}]})
        self.fake.create(DEPLOYMENTS, deployment(replicas=2))
        self.fake.create(DEPLOYMENTS, deployment(name="crash"))
        self.fake.create(SERVICES, service(selector={"app": "fn-demo"}, type="LoadBalancer"))
        self.fake.create(HPAS, hpa())
        self.fake.create(JOBS, job(backoffLimit=1))
        self.fake.create(JOBS, job(name="fail", backoffLimit=1))
        watch = self.fake.watch(PODS)
        self.addCleanup(watch.close)
        self.fake.tick(40)
        for path in (PODS, JOBS, DEPLOYMENTS, SERVICES, HPAS, "/api/v1/namespaces",
                     f"/api/v1/namespaces/{NS}/serviceaccounts", "/api/v1/pods"):
            self.assertEqual(self.fake.request("GET", path).status, 200, path)
        for pod in self.fake.pods():
            self.assertEqual(self.fake.request("GET", f"{PODS}/{pod['metadata']['name']}").status,
                             200)
        self.fake.ok("POST", "/__fake/watch/close")
        while True:
            event = watch.next()
            if event is None:
                break
            self.assertNotEqual(event["type"], "ERROR", event)

    def test_discovery_and_json_patch(self):
        resources = self.fake.get("/apis/batch/v1")
        self.assertEqual(resources["kind"], "APIResourceList")
        self.assertIn("jobs/status", [r["name"] for r in resources["resources"]])
        self.assertIn("apps", [g["name"] for g in self.fake.get("/apis")["groups"]])
        self.fake.create(CONFIGMAPS, configmap("c"))
        patched = self.fake.ok("PATCH", f"{CONFIGMAPS}/c",
                               [{"op": "add", "path": "/data/x", "value": "1"}],
                               content_type="application/json-patch+json")
        self.assertEqual(patched["data"], {"k": "v", "x": "1"})

    def test_reset_forgets_scripts_backends_faults_and_objects(self):
        self.fake.script("jobs", "j", {"neverStart": True})
        self.fake.ok("POST", "/__fake/faults", {"pathRegex": "/nothing", "respond": {"code": 500},
                                                "times": -1})
        self.fake.ok("POST", "/__fake/reset")
        self.fake.create("/api/v1/namespaces", {"metadata": {"name": NS}})
        self.fake.create(JOBS, job())
        self.fake.tick(1)
        self.assertEqual(condition(self.fake.get(f"{JOBS}/j"), "Complete")["status"], "True")


if __name__ == "__main__":
    unittest.main()
