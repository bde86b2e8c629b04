// Filesystem attacks: host files, other policies' code, /proc leaks, writes outside /tmp.
#include <fstream>

#include "tests/security/jail_attack_test.h"

namespace exa::security {
namespace {

// Tries to read each path; returns what it could read (path -> first bytes), so an assertion
// failure shows the leak itself.
constexpr const char* kTryRead = R"(
leaks = {}
for path in input_data["paths"]:
    try:
        with open(path, "rb") as f:
            leaks[path] = f.read(64).decode("latin-1")
    except OSError as e:
        pass
return leaks
)";

TEST_F(JailAttackTest, CannotReadHostFiles) {
  std::string secret = harness_->dir().write("secret/host-secret.txt", "TOP-SECRET");
  std::string other = harness_->writePolicy("OTHER_POLICY_CODE = 1\n");
  std::string code = harness_->writeEvalPolicy(kTryRead);
  Json paths = {"/etc/shadow", "/etc/hostname", "/etc/ssh/sshd_config", "/root/.bashrc",
                secret, other + "/function.py", "/proc/1/root/etc/shadow",
                "/sys/kernel/notes", "/var/log/syslog"};
  auto result = harness_->run(code, {{"paths", paths}});
  ASSERT_TRUE(result.ok()) << result.toJson().dump();
  EXPECT_EQ(result.output, Json::object()) << "readable host files: " << result.output.dump();
}

TEST_F(JailAttackTest, RootHoldsOnlyTheJailTree) {
  Json top = probe("return sorted(os.listdir('/'))", "import os");
  for (const auto& entry : top) {
    std::string name = entry.get<std::string>();
    EXPECT_TRUE(name == "dev" || name == "etc" || name == "policy" || name == "proc" ||
                name == "tmp" || name == "usr")
        << "unexpected top-level entry /" << name;
  }
  Json etc = probe("return sorted(os.listdir('/etc'))", "import os");
  EXPECT_EQ(etc, Json::array({"group", "hosts", "nsswitch.conf", "passwd"}));
  Json passwd = probe("return open('/etc/passwd').read()");
  EXPECT_EQ(passwd, "policy:x:0:0:policy:/tmp:/nonexistent\n") << "not the synthetic passwd";
  Json dev = probe("return sorted(os.listdir('/dev'))", "import os");
  EXPECT_EQ(dev, Json::array({"fd", "full", "null", "random", "urandom", "zero"}));
}

TEST_F(JailAttackTest, ProcShowsOnlyTheWorkersOwnProcesses) {
  Json out = probe(R"(
pids = [p for p in os.listdir('/proc') if p.isdigit()]
environs = {}
for p in pids:
    try:
        environs[p] = open(f'/proc/{p}/environ', 'rb').read().decode('latin-1')
    except OSError:
        pass
return {"pids": pids, "environs": environs, "cgroup": open('/proc/self/cgroup').read()}
)",
                   "import os");
  EXPECT_EQ(out["pids"], Json::array({"1"})) << "the worker must be alone in its pid namespace";
  for (const auto& [pid, environ] : out["environs"].items())
    EXPECT_EQ(environ, "") << "environment of pid " << pid << " is visible: " << environ;
  // The cgroup namespace hides the host's hierarchy.
  EXPECT_EQ(out["cgroup"].get<std::string>().find("exa-test"), std::string::npos) << out["cgroup"];
}

TEST_F(JailAttackTest, MountinfoRevealsNoHostPaths) {
  Json out = probe("return open('/proc/self/mountinfo').read()");
  std::string mountinfo = out.get<std::string>();
  EXPECT_EQ(mountinfo.find(harness_->dir().path()), std::string::npos)
      << "host test dir (policy code, runtime dir) visible in mountinfo:\n" << mountinfo;
  EXPECT_EQ(mountinfo.find("/run/executor-agent"), std::string::npos) << mountinfo;
}

TEST_F(JailAttackTest, WritesOutsideTmpFail) {
  Json out = probe(R"(
written = []
for path in ["/policy/function.py", "/policy/new.py", "/evil", "/usr/lib/python3.11/evil.py",
             "/dev/evil", "/proc/evil"]:
    try:
        with open(path, "w") as f:
            f.write("pwned")
        written.append(path)
    except OSError:
        pass
with open("/tmp/ok", "w") as f:
    f.write("fine")
os.remove("/tmp/ok")
return written
)",
                   "import os");
  EXPECT_EQ(out, Json::array()) << "writable outside /tmp: " << out.dump();
}

TEST_F(JailAttackTest, TmpIsNoexec) {
  // Even with execve blocked, a mapped executable page from /tmp must be refused.
  Json out = probe(R"(
with open("/tmp/x.so", "wb") as f:
    f.write(b"\0" * 4096)
fd = os.open("/tmp/x.so", os.O_RDONLY)
try:
    mmap.mmap(fd, 4096, prot=mmap.PROT_READ | mmap.PROT_EXEC)
    return "mapped"
except OSError as e:
    return e.errno
finally:
    os.close(fd)
    os.remove("/tmp/x.so")
)",
                   "import os, mmap");
  EXPECT_EQ(out, EPERM);
}

}  // namespace
}  // namespace exa::security
