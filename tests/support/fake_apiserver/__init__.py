"""A schema-validating fake Kubernetes API server for the adapter's tests (standard library only).

It follows shared/k8s/fake_apiserver_notes.md and builds its routes and its body schemas from
shared/k8s/openapi-subset.json (`x-subset.resources`, `x-subset.kinds`). It binds 127.0.0.1:0
only, prints `PORT=<n>` as its first stdout line, and exits when stdin closes or on SIGTERM.
Its own tests: tests/unit/kubernetes/fake_apiserver_controllers_test.py (Python) and
tests/unit/kubernetes/fake_apiserver_test.cpp (the C++ ApiClient against it).

What it does:
  * State (§2): objects keyed by (plural, namespace or "", name); one global resourceVersion;
    server-set uid, creationTimestamp, resourceVersion and generation (bumped only when `spec`
    changes); client-sent uid/resourceVersion/creationTimestamp/status ignored on create;
    namespaces default, kube-system and kube-public (with ServiceAccount "default") at start.
    A virtual clock: POST /__fake/tick?seconds=N, or --auto-tick (1 s every 20 ms of wall time).
  * Routes (§3) for every x-subset resource: list (labelSelector =, ==, !=, in, notin, exists,
    !key; fieldSelector metadata.name, metadata.namespace and, for pods, status.phase,
    spec.nodeName; limit/continue), watch, create, deletecollection; the all-namespaces list
    and watch; item GET, PUT, PATCH, DELETE; …/status; deployments/{name}/scale (autoscaling/v1
    Scale); pods/{name}/log; services/{name}[:{port}]/proxy[/{path}]; serviceaccounts/{name}/
    token (a TokenRequest whose token then authenticates); /version/, /api, /apis, /api/v1 and
    /apis/<group>/<version> discovery. Unknown paths get 404, unknown verbs 405.
  * Request pipeline (§4): bearer token (--token), client certificates (--client-cert-user), 415,
    JSON syntax and duplicate keys (400), null stripping, type meta fill-in and mismatch (400),
    the schema walk with fieldValidation Strict/Warn/Ignore, 409 AlreadyExists/Conflict, 404 and
    403 NamespaceTerminating on create, dryRun=All. PATCH: merge, JSON patch (RFC 6902),
    strategic merge and apply (both approximated as a merge patch; apply creates a missing
    object and needs fieldManager).
  * Semantic checks (§5): names (DNS-1123 subdomain; label for Namespace, DNS-1035 for
    Service), label keys and values, containers (name, uniqueness, image, ports), Job
    (restartPolicy, name ≤ 63, limits, immutable template/selector/completions), Deployment
    (selector matches template labels, restartPolicy Always, immutable selector), Service
    (ports, names, nodePort range and uniqueness, immutable clusterIP), HPA (target, min/max,
    metric members, utilization), RBAC (verbs, apiGroups, roleRef kind and immutability),
    Secret/ConfigMap keys and size.
  * Defaulting (§5): pod templates and Pods, Job (incl. generated selector and the four
    job labels), Deployment, Service (clusterIP from 10.96.0.0/12, nodePorts 30000-32767),
    HPA.
  * Controllers on the virtual clock (§6), one class each: Kubelet (runs every pod by its
    script: start delay, run time, exit code, log, image-pull failure, unschedulable, crash
    loop with restart back-off, readiness), JobController (scripts via PUT /__fake/scripts/
    jobs/{ns}/{name}, name "*" for a namespace default; retries with 10 s x 2^(n-1) back-off
    capped at 360 s, backoffLimit, activeDeadlineSeconds, SuccessCriteriaMet then Complete,
    FailureTarget then Failed, ttlSecondsAfterFinished, suspend/resume, parallelism and
    completions, OnFailure restarts in place), DeploymentController (scripts via PUT
    /__fake/scripts/deployments/…; pods <deploy>-<hash>-<5>, rollouts on template change,
    scaling, status counts, Available/Progressing incl. ProgressDeadlineExceeded, the revision
    annotation), HpaController (PUT /__fake/hpa/{ns}/{name}/desired?replicas=N clamps and
    scales; FailedGetResourceMetric without cpu requests; keeps the target in [min, max]),
    GarbageCollector (Background, Foreground, Orphan; dangling owner references), and
    NamespaceController (Terminating namespaces empty out and go; ServiceAccount "default").
  * Deletion (§6): propagationPolicy from the query or a DeleteOptions body, Jobs orphaning by
    default with the real Warning header, preconditions, graceful pod deletion
    (gracePeriodSeconds; at once for unscheduled or finished pods), finalizers, protected
    namespaces.
  * Pod logs (§6): text/plain; container, tailLines, limitBytes, sinceSeconds, sinceTime,
    timestamps, previous, follow (chunked until the container ends); the real 400s and 404s.
  * Service proxy (§7): backends registered with PUT /__fake/backends/{ns}/{svc}/{port};
    503 without a backend or a ready selected pod; method, body, headers (not Authorization)
    and query relayed; status, content type and body relayed back.
  * Watches (§9): ?watch=true with resourceVersion (unset/"0": synthetic ADDED; N: replay; too
    old: one ERROR 410 Expired), allowWatchBookmarks (every 60 virtual seconds and at the end),
    timeoutSeconds (virtual), label and field selectors (a label change turns MODIFIED into
    ADDED/DELETED), --event-log-size, --chaos, POST /__fake/watch/close and /watch/expire.
  * Test control and faults (§8): GET /__fake/requests, GET /__fake/clock, POST /__fake/reset,
    POST|DELETE /__fake/faults ({method, pathRegex, times, respond:{code, retryAfterSeconds,
    message} | dropConnection | delayMs}), POST|DELETE /__fake/forbid ({verb, resource
    [, namespace]} gives the real 403 text), PUT /__fake/raw (store an object unvalidated).
    PUT|DELETE /__fake/nodes/{name}: v1 Nodes served read-only at /api/v1/nodes, unvalidated
    (Node is not in the subset; see FakeNodes).
    /__fake/ paths need no credentials and never see faults.
  * TLS and files (§1, §9): --tls (a throwaway CA and a server certificate for IP:127.0.0.1 made
    with the openssl CLI, in --tls-dir or a temporary directory), --kubeconfig PATH (JSON;
    --kubeconfig-namespace, default "policies"), --serviceaccount-dir (token, namespace, ca.crt).
  * Honesty (§10): every reply and watch event is walked against the subset; a fake-made object
    that breaks it becomes a 500 InternalError (an ERROR event in a watch) naming the field.
    --no-check-responses turns that off.

What it does NOT do: token-file rotation auth mode; server-side apply field ownership and
managedFields; strategic merge of lists by merge key; Indexed Jobs, podFailurePolicy,
successPolicy and backoffLimitPerIndex; ReplicaSets as objects (pods point at a synthetic owner
uid); Endpoints/EndpointSlices; real metrics for the HPA; protobuf/CBOR; admission, quotas and
real RBAC; exact message texts beyond the ones tests assert. Time only moves by ticks; a long
tick skips quiet seconds but controllers still see every second at which something changes.

Run it as tests/support/fake_apiserver.py (the path the launchers use; it puts tests/support on
sys.path and calls main.main()). The modules, one concept each, from the bottom up:
  errors.py       ApiError, the Status reasons, StatusCauses (Causes), invalid(), conflict()
  names.py        generated name suffixes (RNG, which --seed seeds)
  times.py        RFC 3339 times
  schema.py       the subset document and the JSON-schema walker (walk, Finding, formats)
  topology.py     the node, the service and pod ranges, the built-in namespaces
  resources.py    Resource (one x-subset.resources row), group_of, version_of
  selectors.py    label and field selectors, LabelSelector matching
  patches.py      merge patch and JSON patch
  decoding.py     request bodies: JSON parsing, null stripping, type meta
  conditions.py   status conditions
  objects.py      owners, deletion, pod phase, readiness and QoS class of stored objects
  validation.py   the semantic checks (§5)
  defaulting.py   defaulting of pods, Jobs, Deployments and HPAs (§5)
  allocator.py    Service defaulting: clusterIPs and nodePorts
  event_log.py    the watch event log
  store.py        the object store and the virtual clock
  deletion.py     what a DELETE does (Deleter), propagation policy, grace periods
  api.py          the verbs (Api)
  scripts.py      the scripts tests set for pods, Jobs and Deployments
  kubelet.py      the kubelet stand-in and pod logs
  controllers/    jobs.py, deployments.py, hpa.py, gc.py, namespaces.py
  faults.py, forbids.py, nodes.py, proxy.py   test control: faults, 403s, Nodes, service proxy
  cluster.py      Cluster: all of the above, ticks and settling, the §10 reply check
  watch.py        WatchStream
  routes.py, discovery.py, handler.py, server.py   HTTP: routes, discovery, the handler, the server
  tls.py, kubeconfig.py   certificates; the kubeconfig and serviceaccount files
  main.py         flags and the process (PORT=, stdin, SIGTERM)
"""
