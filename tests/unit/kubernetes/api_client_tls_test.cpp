// ApiClient over TLS against `openssl s_server`: the CA and client certificate travel as in-memory
// blobs (kubeconfig *-data), which is the part plain-http tests cannot reach.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "kubernetes/api_client.h"
#include "tests/support/temp_dir.h"

namespace exa::kubernetes {
namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

uint16_t freePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), len);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

bool canConnect(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

// A throwaway CA, a server certificate for IP:127.0.0.1 and a client certificate, and an
// `openssl s_server -www` that demands a client certificate signed by that CA.
class TlsServer : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::system("openssl version >/dev/null 2>&1") != 0) GTEST_SKIP() << "no openssl CLI";
    const std::string d = dir_.path();
    dir_.write("server.ext", "subjectAltName=IP:127.0.0.1\n");
    dir_.write("client.ext", "extendedKeyUsage=clientAuth\n");
    std::string ec = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes ";
    std::string script =
        "cd " + d + " && exec >log 2>&1 && "
        "openssl req -x509" + ec + "-keyout ca.key -out ca.crt -days 1 -subj /CN=test-ca && "
        "openssl req -x509" + ec + "-keyout other.key -out other.crt -days 1 -subj /CN=other && "
        "openssl req" + ec + "-keyout server.key -out server.csr -subj /CN=apiserver && "
        "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 "
        "-extfile server.ext -out server.crt && "
        "openssl req" + ec + "-keyout client.key -out client.csr -subj /CN=agent && "
        "openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 "
        "-extfile client.ext -out client.crt";
    ASSERT_EQ(std::system(script.c_str()), 0) << slurp(d + "/log");
    port_ = freePort();
    pid_ = fork();
    ASSERT_GE(pid_, 0);
    if (pid_ == 0) {
      std::string accept = "127.0.0.1:" + std::to_string(port_);
      int devnull = ::open("/dev/null", O_WRONLY);  // s_server chatters about every handshake
      ::dup2(devnull, STDOUT_FILENO);
      ::dup2(devnull, STDERR_FILENO);
      execlp("openssl", "openssl", "s_server", "-quiet", "-www", "-accept", accept.c_str(),
             "-cert", (d + "/server.crt").c_str(), "-key", (d + "/server.key").c_str(),
             "-CAfile", (d + "/ca.crt").c_str(), "-Verify", "1", static_cast<char*>(nullptr));
      _exit(127);
    }
    for (int i = 0; i < 500 && !canConnect(port_); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    ASSERT_TRUE(canConnect(port_)) << "s_server did not start";
  }
  void TearDown() override {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  ClusterCredentials creds() {
    ClusterCredentials c;
    c.server = "https://127.0.0.1:" + std::to_string(port_);
    c.ca_pem = slurp(dir_.path() + "/ca.crt");
    c.client_cert_pem = slurp(dir_.path() + "/client.crt");
    c.client_key_pem = slurp(dir_.path() + "/client.key");
    return c;
  }
  Result<ApiResponse> get(ClusterCredentials c) {
    ApiClientOptions options;
    options.max_attempts = 1;
    ApiClient client(std::move(c), options);
    ApiRequest request;
    request.path = "/version";
    return client.call(request);
  }

  testing::TempDir dir_;
  uint16_t port_ = 0;
  pid_t pid_ = -1;
};

TEST_F(TlsServer, CaAndClientCertificateFromBlobs) {
  auto reply = get(creds());
  ASSERT_TRUE(reply) << reply.error().message;
  EXPECT_EQ(reply->status, 200);
}

TEST_F(TlsServer, ServerNotSignedByTheClusterCaIsRefused) {
  ClusterCredentials c = creds();
  c.ca_pem = slurp(dir_.path() + "/other.crt");
  auto reply = get(c);
  ASSERT_FALSE(reply);
  EXPECT_EQ(reply.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(reply.error().message.find("certificate"), std::string::npos) << reply.error().message;
}

TEST_F(TlsServer, SystemTrustStoreDoesNotKnowTheClusterCa) {
  ClusterCredentials c = creds();
  c.ca_pem.clear();
  auto reply = get(c);
  ASSERT_FALSE(reply);
  EXPECT_NE(reply.error().message.find("certificate"), std::string::npos) << reply.error().message;
}

TEST_F(TlsServer, MissingClientCertificateIsRejectedByTheServer) {
  ClusterCredentials c = creds();
  c.client_cert_pem.clear();
  c.client_key_pem.clear();
  auto reply = get(c);
  ASSERT_FALSE(reply);
  EXPECT_EQ(reply.error().code, ErrorCode::kUnavailable) << reply.error().message;
  EXPECT_NE(reply.error().message.find("certificate required"), std::string::npos)
      << reply.error().message;
}

TEST_F(TlsServer, InsecureSkipVerifyOnlyWhenAsked) {
  ClusterCredentials c = creds();
  c.ca_pem.clear();
  c.insecure_skip_tls_verify = true;
  auto reply = get(c);
  ASSERT_TRUE(reply) << reply.error().message;
  EXPECT_EQ(reply->status, 200);
}

}  // namespace
}  // namespace exa::kubernetes
