#!/usr/bin/env bash
# Smoke test of the executor-agent container image with rootful podman, under the narrowest
# privileges found to let the jail work in a container (docs/container-image.md):
#   load the oci-archive -> pick an OCI runtime that works here -> `executor-agent run` once
#   (the Job pod mode) -> `executor-agent serve` with the image's default command (the agent and
#   function pod mode): /health, 401 without the token, POST /policy, then
#   POST /executor/<id>/execute_policy and POST /execute_policy -> SIGTERM (`podman stop`), exit 0.
# The policy reports what the jail looks like from inside (uid, its uid_map, pid, network).
# Both run in two shapes: the container in the host's user namespace (where the workers get
# their default uids, 2^20 + n), then in a user namespace of its own with 65536 ids, as a
# kubernetes.pod_security = "user-namespace" pod (hostUsers: false) runs: worker uids moved
# into those ids by EXECUTOR_AGENT_EXECUTOR_WORKER_UID_BASE/_COUNT, seccomp unconfined, a
# read-only root with tmpfs on the pod's emptyDir paths.
#
# Usage: packaging/image/smoke-test.sh [ARCHIVE]   (default build/executor-agent-image.oci.tar)
# Environment:
#   SMOKE_PRIVILEGES  replace the privilege flags of the first shape (e.g. "--privileged")
#   SMOKE_USERNS=0    skip the user-namespace shape
#   SMOKE_USERNS_HOST_BASE  first host id of its 65536 (default 3000000; must be unused)
#   SMOKE_EXPLAIN=1   also run the one-shot call once per privilege left out, and print why
#                     each is needed (the error the jail reports without it)
# Exit: 0 pass, 1 fail, 77 skipped (not root, no podman, or podman cannot run containers here:
# the reason is printed). Needs: podman (with runc or crun), python3. Not part of the test suite:
# an operator/release check (apt-get install podman runc iptables).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
archive=${1:-$src/build/executor-agent-image.oci.tar}

step() { echo "smoke-test.sh: $*"; }
skip() { echo "smoke-test.sh: SKIP: $*"; exit 77; }
fail() { echo "smoke-test.sh: FAIL: $*" >&2; exit 1; }

[ -f "$archive" ] || fail "$archive not found (packaging/image/build-image.sh builds it)"
[ "$(id -u)" -eq 0 ] || skip "needs root: rootful podman (a rootless one maps too few uids for the jail's per-worker uids)"
command -v podman >/dev/null || skip "no podman here (apt-get install podman runc iptables)"
command -v python3 >/dev/null || fail "python3 not found"
podman info >/dev/null 2>/tmp/smoke-podman-info.$$ || {
  reason=$(tail -1 /tmp/smoke-podman-info.$$); rm -f /tmp/smoke-podman-info.$$
  skip "podman does not work here: $reason"
}
rm -f /tmp/smoke-podman-info.$$

work=$(mktemp -d "${TMPDIR:-/tmp}/smoke-test.XXXXXX")
chmod 0755 "$work"
container=""
image_loaded_here=""
image=""
cleanup() {
  local rc=$?
  set +e
  [ -n "$container" ] && podman rm -f -t 0 "$container" >/dev/null 2>&1
  [ -n "$image_loaded_here" ] && podman rmi -f "$image" >/dev/null 2>&1
  if [ "$rc" -eq 0 ]; then rm -rf "$work"; else echo "smoke-test.sh: files kept in $work" >&2; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- load ----------------------------------------------------------------------------------------
# The image id is the config digest, read from the archive itself: no name lookup can pick
# another image of the same name.
read -r image ref < <(python3 - "$archive" <<'EOF'
import json, sys, tarfile
with tarfile.open(sys.argv[1]) as t:
    blob = lambda d: json.load(t.extractfile("blobs/sha256/" + d.split(":", 1)[1]))
    entry = json.load(t.extractfile("index.json"))["manifests"][0]
    manifest = blob(entry["digest"])
    print(manifest["config"]["digest"].split(":", 1)[1],
          entry.get("annotations", {}).get("org.opencontainers.image.ref.name", "?"))
EOF
)
if podman image exists "$image"; then
  step "image $ref (${image:0:12}) already loaded; using it"
else
  podman load -i "$archive" >"$work/load.log" 2>&1 || { cat "$work/load.log" >&2; fail "podman load failed"; }
  image_loaded_here=yes
  step "loaded $archive: $(grep -o 'Loaded image.*' "$work/load.log" | head -1) (${image:0:12})"
fi

# --- an OCI runtime that works here ----------------------------------------------------------------
# Ways a runtime fails on a machine rather than on the image, seen on the test VM:
#  - crun 1.8 refuses hybrid cgroup hierarchies ("cgroups in hybrid mode not supported, drop all
#    controllers from cgroupv2"); runc accepts them.
#  - podman asks for RLIMIT_NOFILE 1048576 in the container; without CAP_SYS_RESOURCE and with a
#    lower hard limit, setrlimit fails ("setrlimit RLIMIT_NOFILE: Operation not permitted"), so
#    the limits are lowered to what this shell has (podman itself caps NPROC at 32768).
#  - netavark needs iptables for the bridge network; else host networking is used.
hard_nofile=$(ulimit -Hn); [ "$hard_nofile" = unlimited ] && hard_nofile=1048576
hard_nproc=$(ulimit -Hu); [ "$hard_nproc" = unlimited ] && hard_nproc=32768
[ "$hard_nofile" -gt 1048576 ] && hard_nofile=1048576
[ "$hard_nproc" -gt 32768 ] && hard_nproc=32768
runtimes=("")
for rt in runc crun; do command -v "$rt" >/dev/null && runtimes+=("$rt"); done
base=()
probe_errors=""
found=""
for network in bridge host; do
  for rt in "${runtimes[@]}"; do
    for limits in default lowered; do
      args=()
      [ -n "$rt" ] && args+=(--runtime "$rt")
      [ "$network" = host ] && args+=(--network host)
      [ "$limits" = lowered ] && args+=(--ulimit "nofile=$hard_nofile:$hard_nofile" --ulimit "nproc=$hard_nproc:$hard_nproc")
      if out=$(podman run --rm "${args[@]}" --entrypoint /bin/true "$image" 2>&1); then
        base=("${args[@]}")
        found="runtime ${rt:-default}, $network network, $limits limits"
        break 3
      fi
      probe_errors+="  runtime ${rt:-default}, $network network, $limits limits: $(echo "$out" | tail -1)"$'\n'
    done
  done
done
if [ -z "$found" ]; then
  printf '%s' "$probe_errors"
  skip "podman cannot run any container here (every combination above failed)"
fi
step "podman $(podman version --format '{{.Client.Version}}'): $found"
[ -n "$probe_errors" ] && printf 'smoke-test.sh: (combinations that failed first:)\n%s' "$probe_errors"
runtime_args=()
for ((i = 0; i < ${#base[@]}; i++)); do
  case "${base[$i]}" in
    --runtime | --ulimit) runtime_args+=("${base[$i]}" "${base[$((i + 1))]}"); i=$((i + 1)) ;;
  esac
done
host_network=""
[[ " ${base[*]} " == *" --network host "* ]] && host_network=yes

# --- the privileges the jail needs -----------------------------------------------------------------
# Default: the narrowest set that passed on the test VM (docs/container-image.md says why each):
#  - capabilities: only SETUID and SETGID (uid_map/gid_map for the workers' own uids);
#  - seccomp: the runtime's default profile plus clone3, unshare, mount, umount2, pivot_root and
#    sethostname, allowed whatever the capabilities (generated from podman's own profile);
#  - /proc unmasked (unmask=/proc/*): the kernel mounts a worker's fresh /proc only where no
#    part of the container's /proc is covered;
#  - no-new-privileges.
seccomp_profile=$(podman info --format '{{.Host.Security.SECCOMPProfilePath}}' 2>/dev/null || true)
if [ -n "$seccomp_profile" ] && [ -f "$seccomp_profile" ]; then
  python3 - "$seccomp_profile" "$work/seccomp.json" <<'EOF'
import json, sys
jail = ["clone3", "unshare", "mount", "umount2", "pivot_root", "sethostname"]
profile = json.load(open(sys.argv[1]))
rules = []
for rule in profile["syscalls"]:
    names = [n for n in rule["names"] if n not in jail]
    if names:
        rule["names"] = names
        rules.append(rule)
rules.insert(0, {"names": jail, "action": "SCMP_ACT_ALLOW", "args": [],
                 "comment": "executor-agent: each worker's namespaces, mounts, pivot_root, hostname"})
profile["syscalls"] = rules
json.dump(profile, open(sys.argv[2], "w"), indent=1)
EOF
  seccomp_opt="seccomp=$work/seccomp.json"
  seccomp_desc="$seccomp_profile + clone3 unshare mount umount2 pivot_root sethostname"
else
  seccomp_opt="seccomp=unconfined"
  seccomp_desc="unconfined (podman reports no default profile file)"
fi
privileges=(--cap-drop=ALL --cap-add=SETUID --cap-add=SETGID --security-opt no-new-privileges
            --security-opt "unmask=/proc/*" --security-opt "$seccomp_opt")
if [ "$(podman info --format '{{.Host.Security.AppArmorEnabled}}' 2>/dev/null)" = true ]; then
  # Not verified on the test VM (AppArmor off there): the runtime's default profile denies mount.
  privileges+=(--security-opt apparmor=unconfined)
fi
if [ -n "${SMOKE_PRIVILEGES:-}" ]; then
  read -r -a privileges <<<"$SMOKE_PRIVILEGES"
  seccomp_desc="as given"
fi
step "privileges: ${privileges[*]//$work\//}"
step "seccomp: $seccomp_desc"

# --- the policy ------------------------------------------------------------------------------------
mkdir -m 0755 "$work/policies"
python3 - "$work/policies/smoke.zip" <<'EOF'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w") as z:
    z.writestr("code/function.py", '''
import os, socket


class AIOSv1PolicyRule:
    def __init__(self, rule_id, settings, parameters):
        pass

    def eval(self, parameters, input_data, context):
        try:
            socket.create_connection(("1.1.1.1", 80), timeout=2).close()
            network = "reachable"
        except OSError as e:
            network = type(e).__name__ + ": " + (e.strerror or str(e))
        return {"sum": input_data.get("a", 0) + input_data.get("b", 0),
                "uid": os.getuid(), "pid": os.getpid(),
                "uid_map": open("/proc/self/uid_map").read().split(),
                "processes": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
                "network": network}
''')
EOF
chmod 0644 "$work/policies/smoke.zip"
volume=(-v "$work/policies:/srv/executor-agent:ro")

check_output() {  # $1: JSON text of a policy's output, $2 $3: the worker uids expected [from, to)
  python3 - "$1" "$2" "$3" <<'EOF'
import json, sys
out = json.loads(sys.argv[1])
low, high = int(sys.argv[2]), int(sys.argv[3])
problems = []
if out.get("sum") != 5: problems.append(f"sum {out.get('sum')} != 5")
if out.get("uid") != 0: problems.append(f"uid {out.get('uid')}: not root of its own namespace")
# From inside: "0 <its uid in the agent's user namespace> 1", one uid of the configured range.
uid_map = out.get("uid_map", [])
if len(uid_map) != 3 or uid_map[0] != "0" or uid_map[2] != "1" or not low <= int(uid_map[1]) < high:
    problems.append(f"uid_map {uid_map}: expected 0 <one of {low}..{high - 1}> 1")
if out.get("pid") != 1: problems.append(f"pid {out.get('pid')}: not pid 1 of its own namespace")
if out.get("processes") != [1]: problems.append(f"sees processes {out.get('processes')}")
if out.get("network") == "reachable": problems.append("the worker reached the network")
if problems:
    sys.exit("jail check: " + "; ".join(problems))
EOF
}

# --- run once (Job pods) ---------------------------------------------------------------------------
run_once() {  # $1: shape, $2 $3: worker uids expected [from, to); the rest: podman flags
  local shape=$1 low=$2 high=$3 run_rc output
  shift 3
  step "$shape: run-once: executor-agent run /srv/executor-agent/smoke.zip --input {\"a\":2,\"b\":3}"
  set +e
  podman run --rm "${runtime_args[@]}" --network none "$@" "${volume[@]}" "$image" \
    run /srv/executor-agent/smoke.zip --input '{"a": 2, "b": 3}' >"$work/run.out" 2>"$work/run.err"
  run_rc=$?
  set -e
  sed 's/^/  /' "$work/run.out"
  if [ "$run_rc" -ne 0 ]; then
    sed 's/^/  stderr: /' "$work/run.err" >&2
    fail "$shape: executor-agent run exited $run_rc"
  fi
  output=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["ok"], r; print(json.dumps(r["output"]))' "$work/run.out") ||
    fail "$shape: executor-agent run did not return ok"
  check_output "$output" "$low" "$high" || fail "$shape: run-once: the jail does not look right"
  step "$shape: run-once: ok"
}

# --- serve (the agent Deployment, function pods), then SIGTERM -------------------------------------
serve_once() {  # $1: shape, $2 $3: worker uids expected [from, to); the rest: podman flags
  local shape=$1 low=$2 high=$3 token url line port candidate start exit_code data
  shift 3
  token=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
  container=exa-smoke-$$
  local publish=(-p 127.0.0.1::8080) listen_env=()
  if [ -n "$host_network" ]; then
    publish=()
    listen_env=(-e EXECUTOR_AGENT_SERVER_LISTEN=127.0.0.1:0)
  fi
  step "$shape: serve: the image's default command, token from EXECUTOR_AGENT_AUTH_TOKEN, executor id 'smoke'"
  podman run -d --name "$container" "${runtime_args[@]}" "$@" "${volume[@]}" \
    "${publish[@]}" "${listen_env[@]}" -e EXECUTOR_AGENT_AUTH_TOKEN="$token" \
    -e EXECUTOR_AGENT_EXECUTOR_ID=smoke "$image" >/dev/null
  url=""
  for _ in $(seq 150); do
    if [ -n "$host_network" ]; then
      line=$(podman logs "$container" 2>/dev/null | grep -m1 -o 'listening on http://127.0.0.1:[0-9]*' || true)
      [ -n "$line" ] && url=${line#listening on }
    else
      port=$(podman port "$container" 8080/tcp 2>/dev/null | head -1 || true)
      [ -n "$port" ] && candidate="http://$port" && python3 - "$candidate" <<'EOF' >/dev/null 2>&1 && url=$candidate
import sys, urllib.request
urllib.request.urlopen(sys.argv[1] + "/ping", timeout=2)
EOF
    fi
    [ -n "$url" ] && break
    if [ "$(podman inspect "$container" --format '{{.State.Running}}')" != true ]; then
      podman logs "$container" 2>&1 | sed 's/^/  agent: /' >&2
      fail "$shape: the agent exited before serving"
    fi
    sleep 0.2
  done
  [ -n "$url" ] || { podman logs "$container" 2>&1 | sed 's/^/  agent: /' >&2; fail "$shape: no HTTP answer within 30 s"; }
  step "$shape: serve: listening, reached at $url"

  python3 - "$url" "$token" >"$work/serve.out" 2>&1 <<'EOF' || { cat "$work/serve.out"; podman logs "$container" 2>&1 | sed 's/^/  agent: /' >&2; fail "$shape: HTTP round trip failed"; }
import json, sys, time, urllib.error, urllib.request

url, token = sys.argv[1], sys.argv[2]

def call(method, path, body=None, auth=True):
    headers = {"Content-Type": "application/json"}
    if auth:
        headers["Authorization"] = "Bearer " + token
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url + path, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=60) as reply:
            return reply.status, json.load(reply)
    except urllib.error.HTTPError as error:
        text = error.read()
        try:
            return error.code, json.loads(text)
        except ValueError:
            return error.code, text.decode(errors="replace")

for _ in range(100):  # /health is 200 once the zygote is ready
    status, health = call("GET", "/health", auth=False)
    if status == 200:
        health = health.get("data", health)
        break
    time.sleep(0.2)
if status != 200:
    sys.exit(f"GET /health: HTTP {status}: {health}")
print(f"  GET /health: 200, python {health.get('python')}, limits: {health.get('limits')}")

policy = {"name": "smoke", "version": "1.0", "release_tag": "t",
          "code": "file:///srv/executor-agent/smoke.zip"}
status, reply = call("POST", "/policy", policy, auth=False)
if status != 401:
    sys.exit(f"POST /policy without a token: HTTP {status}, expected 401")
print("  POST /policy without the token: 401")
status, reply = call("POST", "/policy", policy)
if status != 201 or reply.get("success") is not True:
    sys.exit(f"POST /policy: HTTP {status}: {json.dumps(reply)}")
print("  POST /policy: 201")
for path in ("/executor/smoke/execute_policy", "/execute_policy"):
    status, reply = call("POST", path, {"policy_rule_uri": "smoke:1.0-t", "input_data": {"a": 2, "b": 3}})
    if status != 200 or reply.get("success") is not True:
        sys.exit(f"POST {path}: HTTP {status}: {json.dumps(reply)}")
    print(f"  POST {path}: 200 {json.dumps(reply['data'])}")
    print("DATA " + json.dumps(reply["data"]))
EOF
  grep -v '^DATA ' "$work/serve.out"
  while read -r data; do
    check_output "${data#DATA }" "$low" "$high" || fail "$shape: serve: the jail does not look right"
  done < <(grep '^DATA ' "$work/serve.out")

  start=$(date +%s)
  podman stop -t 45 "$container" >/dev/null
  exit_code=$(podman inspect "$container" --format '{{.State.ExitCode}}')
  [ "$exit_code" = 0 ] || { podman logs "$container" 2>&1 | tail -20 | sed 's/^/  agent: /' >&2; fail "$shape: the agent exited $exit_code after SIGTERM"; }
  step "$shape: SIGTERM (podman stop): exited 0 after $(($(date +%s) - start)) s"
  # podman 4.3 sometimes fails to remove a container with its own uid map at once
  # ("unlinkat .../userdata/shm: device or resource busy"); a second try a moment later works.
  for _ in 1 2 3 4 5; do
    podman rm "$container" >/dev/null 2>&1 && break
    sleep 1
  done
  podman container exists "$container" && fail "$shape: podman rm $container failed"
  container=""
}

# --- shape 1: the host's user namespace ------------------------------------------------------------
# The workers' default uids, 2^20 + n of the host (executor.worker_uid_base/_count's defaults).
run_once "host userns" 1048576 $((1048576 + 65536)) "${privileges[@]}"
serve_once "host userns" 1048576 $((1048576 + 65536)) "${privileges[@]}"

# --- shape 2: a user namespace of 65536 ids (kubernetes.pod_security = "user-namespace") ----------
# What kubernetes/pod_template.cpp writes, in podman's words:
#   hostUsers: false                   -> --uidmap/--gidmap 0:<host base>:65536
#   capabilities drop ALL + SETUID/SETGID, allowPrivilegeEscalation: false, procMount: Unmasked,
#   seccompProfile and appArmorProfile Unconfined -> the same, as podman flags
#   readOnlyRootFilesystem + emptyDirs -> --read-only, a tmpfs on each of the three writable paths
#   the env                            -> worker uids inside the 65536 ids (1000..64999)
if [ "${SMOKE_USERNS:-1}" != 0 ]; then
  host_base=${SMOKE_USERNS_HOST_BASE:-3000000}
  userns=(--uidmap "0:$host_base:65536" --gidmap "0:$host_base:65536")
  userns_privileges=(--cap-drop=ALL --cap-add=SETUID --cap-add=SETGID --security-opt no-new-privileges
                     --security-opt "unmask=/proc/*" --security-opt seccomp=unconfined)
  if [ "$(podman info --format '{{.Host.Security.AppArmorEnabled}}' 2>/dev/null)" = true ]; then
    userns_privileges+=(--security-opt apparmor=unconfined)
  fi
  pod_shape=(--read-only --tmpfs /var/lib/executor-agent --tmpfs /run/executor-agent --tmpfs /tmp)
  worker_uids=(-e EXECUTOR_AGENT_EXECUTOR_WORKER_UID_BASE=1000 -e EXECUTOR_AGENT_EXECUTOR_WORKER_UID_COUNT=64000)
  step "user namespace: ${userns[*]} ${userns_privileges[*]} ${pod_shape[*]} ${worker_uids[*]}"
  # Without the variables the default worker uids are not in the namespace: the jail says so.
  set +e
  podman run --rm "${runtime_args[@]}" --network none "${userns[@]}" "${userns_privileges[@]}" \
    "${pod_shape[@]}" "${volume[@]}" "$image" \
    run /srv/executor-agent/smoke.zip --input '{"a": 2, "b": 3}' >"$work/run.out" 2>"$work/run.err"
  set -e
  refused=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print("ok" if r["ok"] else r["error"]["message"])' "$work/run.out" 2>&1 || true)
  case "$refused" in
    *uid_map*"Operation not permitted"*) step "user namespace, default worker uids: refused as expected: $refused" ;;
    *) sed 's/^/  /' "$work/run.out" "$work/run.err" >&2
       fail "user namespace, default worker uids: expected a uid_map EPERM, got: $refused" ;;
  esac
  run_once "user namespace" 1000 65000 "${userns[@]}" "${userns_privileges[@]}" "${pod_shape[@]}" "${worker_uids[@]}"
  serve_once "user namespace" 1000 65000 "${userns[@]}" "${userns_privileges[@]}" "${pod_shape[@]}" "${worker_uids[@]}"
fi

# --- why each privilege (optional) -----------------------------------------------------------------
if [ "${SMOKE_EXPLAIN:-}" = 1 ] && [ -z "${SMOKE_PRIVILEGES:-}" ]; then
  step "explain: the one-shot call with one privilege left out at a time"
  explain() {  # $1: label, rest: privilege flags
    local label=$1; shift
    local result
    result=$(podman run --rm "${runtime_args[@]}" --network none "$@" "${volume[@]}" "$image" \
      run /srv/executor-agent/smoke.zip --input '{"a": 2, "b": 3}' 2>/dev/null |
      python3 -c 'import json,sys; r=json.load(sys.stdin); print("ok" if r["ok"] else r["error"]["type"] + ": " + r["error"]["message"].replace(chr(10), "\\n"))' 2>&1 || true)
    echo "  without $label: $result"
  }
  explain "CAP_SETGID" --cap-drop=ALL --cap-add=SETUID --security-opt no-new-privileges --security-opt "unmask=/proc/*" --security-opt "$seccomp_opt"
  explain "CAP_SETUID" --cap-drop=ALL --cap-add=SETGID --security-opt no-new-privileges --security-opt "unmask=/proc/*" --security-opt "$seccomp_opt"
  explain "unmask=/proc/*" --cap-drop=ALL --cap-add=SETUID --cap-add=SETGID --security-opt no-new-privileges --security-opt "$seccomp_opt"
  explain "the seccomp additions (podman's default profile)" --cap-drop=ALL --cap-add=SETUID --cap-add=SETGID --security-opt no-new-privileges --security-opt "unmask=/proc/*"
  explain "the host user namespace (a 65536-id user namespace, like hostUsers: false)" --cap-drop=ALL --cap-add=SETUID --cap-add=SETGID --security-opt no-new-privileges --security-opt "unmask=/proc/*" --security-opt "$seccomp_opt" --uidmap 0:3000000:65536 --gidmap 0:3000000:65536
fi

step "PASS"
