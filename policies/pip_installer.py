"""Installs a policy's requirements.txt inside a jailed worker (setup.py and wheels are
untrusted): run as the worker's function.py, with the filtered requirements in
/policy/requirements.txt and the operator's wheelhouse in /policy/wheelhouse. pip runs in-process
(the jail forbids exec), binary wheels only, into /tmp/deps; the files come back in the reply.
"""
import base64
import importlib.metadata
import os


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
        if not os.path.isdir("/policy/wheelhouse"):
            # Fail at once rather than after pip's retries against an index it cannot reach.
            raise RuntimeError(
                f"{', '.join(wanted)}: not provided by the runtime, and no wheelhouse is "
                "configured (the jail has no network to reach a package index)")
        from pip._internal.cli.main import main
        args = ["install", "--target", "/tmp/deps", "--no-cache-dir", "--only-binary", ":all:",
                "--no-compile", "--disable-pip-version-check", "--break-system-packages",
                "--no-input"]
        args += ["--no-index", "--find-links", "/policy/wheelhouse"]
        status = main(args + wanted)
        if status != 0:
            raise RuntimeError(f"pip install {' '.join(wanted)} failed with status {status}")
        for root, _, names in os.walk("/tmp/deps"):
            for name in names:
                path = os.path.join(root, name)
                if os.path.islink(path) or not os.path.isfile(path):
                    continue
                with open(path, "rb") as f:
                    report["files"].append({"path": os.path.relpath(path, "/tmp/deps"),
                                            "data": base64.b64encode(f.read()).decode()})
        return report
