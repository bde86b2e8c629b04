// Network attacks: TCP, UDP, unix (path and abstract), raw sockets, DNS. The worker has its own
// empty network namespace: nothing on the host, not even its loopback, is reachable.
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>

#include "tests/security/jail_attack_test.h"

namespace exa::security {
namespace {

// A listening TCP socket on the host's loopback, so "connection refused" vs "reached" is real.
struct HostListener {
  int fd = -1;
  int port = 0;
  HostListener() {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(fd, 8);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
  }
  ~HostListener() { ::close(fd); }
};

struct HostAbstractSocket {
  int fd = -1;
  HostAbstractSocket(const std::string& name) {
    fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path + 1, name.data(), name.size());
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr),
           static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size()));
    ::listen(fd, 8);
  }
  ~HostAbstractSocket() { ::close(fd); }
};

TEST_F(JailAttackTest, CannotReachHostLoopbackOverTcp) {
  HostListener listener;
  std::string code = harness_->writeEvalPolicy(R"(
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.settimeout(2)
try:
    s.connect(("127.0.0.1", input_data["port"]))
    return "connected"
except OSError as e:
    return type(e).__name__
)",
                                               "import socket");
  auto result = harness_->run(code, {{"port", listener.port}});
  ASSERT_TRUE(result.ok()) << result.toJson().dump();
  EXPECT_NE(result.output, "connected");
}

TEST_F(JailAttackTest, CannotSendUdpOrResolveNames) {
  Json out = probe(R"(
results = {}
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    s.sendto(b"x", ("192.0.2.1", 53))
    results["udp"] = "sent"
except OSError as e:
    results["udp"] = e.errno
try:
    results["dns"] = socket.getaddrinfo("example.com", 80)
except OSError as e:
    results["dns"] = "failed"
results["interfaces"] = [l.split(":")[0].strip() for l in open("/proc/net/dev").readlines()[2:]]
return results
)",
                   "import socket");
  EXPECT_EQ(out["udp"], ENETUNREACH) << out.dump();
  EXPECT_EQ(out["dns"], "failed") << out.dump();
  EXPECT_EQ(out["interfaces"], Json::array({"lo"})) << out.dump();
}

TEST_F(JailAttackTest, CannotReachHostUnixSockets) {
  HostAbstractSocket abstract("exa-security-test");
  Json out = probe(R"(
results = {}
for name, address in [("abstract", "\0exa-security-test"), ("journal", "/run/systemd/journal/socket"),
                      ("docker", "/var/run/docker.sock")]:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(address)
        results[name] = "connected"
    except OSError as e:
        results[name] = type(e).__name__
return results
)",
                   "import socket");
  for (const auto& [name, outcome] : out.items())
    EXPECT_NE(outcome, "connected") << "reached host unix socket " << name;
}

TEST_F(JailAttackTest, RawAndUnusualSocketsAreRefused) {
  Json out = probe(R"(
results = {}
for name, family, kind in [("raw", socket.AF_INET, socket.SOCK_RAW),
                           ("packet", socket.AF_PACKET, socket.SOCK_RAW),
                           ("netlink", socket.AF_NETLINK, socket.SOCK_RAW),
                           ("vsock", 40, socket.SOCK_STREAM)]:
    try:
        socket.socket(family, kind)
        results[name] = "created"
    except OSError as e:
        results[name] = e.errno
return results
)",
                   "import socket");
  for (const auto& [name, outcome] : out.items())
    EXPECT_NE(outcome, "created") << name << " socket was created";
}

}  // namespace
}  // namespace exa::security
