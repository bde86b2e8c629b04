"""Installs a policy's requirements.txt inside jailed workers: run as the worker's function.py
with the filtered requirements in /policy/requirements.txt. pip runs in-process (the jail forbids
exec) and takes binary wheels only, so no package code runs while it works.

settings {"mode": "download", "index_url": URL}: the one step with network (the host's), fetching
  wheels from the operator's index into /tmp/wheels; they come back in the reply.
settings {"mode": "install"} (default): no network; installs from /policy/wheelhouse into
  /tmp/deps; the files come back in the reply.
"""
import base64
import importlib.metadata
import os


def _files_under(top):
    files = []
    for root, _, names in os.walk(top):
        for name in names:
            path = os.path.join(root, name)
            if os.path.islink(path) or not os.path.isfile(path):
                continue
            with open(path, "rb") as f:
                files.append({"path": os.path.relpath(path, top),
                              "data": base64.b64encode(f.read()).decode()})
    return files


def _pip(args):
    from pip._internal.cli.main import main
    common = ["--no-cache-dir", "--only-binary", ":all:", "--disable-pip-version-check",
              "--no-input"]
    status = main(args[:1] + common + args[1:])
    if status != 0:
        raise RuntimeError(f"pip {' '.join(args)} failed with status {status}")


def _satisfied_by_runtime(line):
    """A requirement the jail's runtime already meets (Debian's python3-requests, say)."""
    from pip._vendor.packaging.requirements import Requirement
    try:
        requirement = Requirement(line)
        version = importlib.metadata.version(requirement.name)
    except Exception:
        return False
    return not requirement.specifier or requirement.specifier.contains(version, prereleases=True)


class AIOSv1PolicyRule:
    def __init__(self, rule_id, settings, parameters):
        self.settings = settings

    def eval(self, parameters, input_data, context):
        lines = [l.strip() for l in open("/policy/requirements.txt") if l.strip()]
        wanted = [l for l in lines if not _satisfied_by_runtime(l)]
        report = {"skipped_runtime": [l for l in lines if l not in wanted], "files": []}
        if not wanted:
            return report
        if self.settings.get("mode") == "download":
            _pip(["download", "--dest", "/tmp/wheels", "--index-url", self.settings["index_url"]]
                 + wanted)
            report["files"] = _files_under("/tmp/wheels")
            return report
        if not os.path.isdir("/policy/wheelhouse"):
            # Fail at once rather than after pip's retries against an index it cannot reach.
            raise RuntimeError(
                f"{', '.join(wanted)}: not provided by the runtime, and neither a wheelhouse nor "
                "a package index is configured (the jail itself has no network)")
        _pip(["install", "--target", "/tmp/deps", "--no-compile", "--break-system-packages",
              "--no-index", "--find-links", "/policy/wheelhouse"] + wanted)
        report["files"] = _files_under("/tmp/deps")
        return report
