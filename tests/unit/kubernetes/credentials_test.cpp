#include "kubernetes/credentials.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include "tests/support/temp_dir.h"

namespace exa::kubernetes {
namespace {

// Sets or clears an environment variable for one test, restoring it afterwards.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = getenv(name)) old_ = old;
    value ? setenv(name, value, 1) : unsetenv(name);
  }
  ~ScopedEnv() { old_.empty() ? unsetenv(name_) : setenv(name_, old_.c_str(), 1); }

 private:
  const char* name_;
  std::string old_;
};

// The kubelet's rotation: write the new token beside the old, then rename over it.
void rotate(const testing::TempDir& dir, const std::string& token) {
  std::string tmp = dir.write("token.new", token);
  ASSERT_EQ(rename(tmp.c_str(), (dir.path() + "/token").c_str()), 0);
}

TEST(TokenSource, FileTokenFollowsRotation) {
  testing::TempDir dir;
  dir.write("token", "first\n");
  auto source = TokenSource::fromFile(dir.path() + "/token");
  ASSERT_TRUE(source) << source.error().message;
  EXPECT_EQ((*source)->currentToken(), "first");
  rotate(dir, "second");
  EXPECT_EQ((*source)->currentToken(), "second");
  // A vanished file keeps the previous token rather than sending none.
  ASSERT_EQ(unlink((dir.path() + "/token").c_str()), 0);
  EXPECT_EQ((*source)->currentToken(), "second");
}

TEST(TokenSource, MissingOrEmptyFileFailsUpFront) {
  testing::TempDir dir;
  EXPECT_FALSE(TokenSource::fromFile(dir.path() + "/absent"));
  dir.write("empty", "\n");
  auto empty = TokenSource::fromFile(dir.path() + "/empty");
  ASSERT_FALSE(empty);
  EXPECT_NE(empty.error().message.find("is empty"), std::string::npos);
}

TEST(InCluster, ReadsServiceAccountFilesAndEnvironment) {
  testing::TempDir dir;
  dir.write("token", "sa-token");
  dir.write("ca.crt", "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n");
  dir.write("namespace", "executors\n");
  ScopedEnv host("KUBERNETES_SERVICE_HOST", "10.96.0.1");
  ScopedEnv port("KUBERNETES_SERVICE_PORT", "443");
  auto creds = inClusterCredentials(dir.path());
  ASSERT_TRUE(creds) << creds.error().message;
  EXPECT_EQ(creds->server, "https://10.96.0.1:443");
  EXPECT_EQ(creds->currentToken(), "sa-token");
  EXPECT_EQ(creds->default_namespace, "executors");
  EXPECT_NE(creds->ca_pem.find("BEGIN CERTIFICATE"), std::string::npos);
  rotate(dir, "sa-token-2");
  EXPECT_EQ(creds->currentToken(), "sa-token-2");
}

TEST(InCluster, Ipv6HostIsBracketed) {
  testing::TempDir dir;
  dir.write("token", "t");
  dir.write("ca.crt", "ca");
  ScopedEnv host("KUBERNETES_SERVICE_HOST", "fd00::1");
  ScopedEnv port("KUBERNETES_SERVICE_PORT", "443");
  auto creds = inClusterCredentials(dir.path());
  ASSERT_TRUE(creds) << creds.error().message;
  EXPECT_EQ(creds->server, "https://[fd00::1]:443");
  EXPECT_EQ(creds->default_namespace, "default");  // no namespace file
}

TEST(InCluster, OutsideAPodIsNotFound) {
  ScopedEnv host("KUBERNETES_SERVICE_HOST", nullptr);
  auto creds = inClusterCredentials("/nonexistent");
  ASSERT_FALSE(creds);
  EXPECT_EQ(creds.error().code, ErrorCode::kNotFound);
  EXPECT_NE(creds.error().message.find("KUBERNETES_SERVICE_HOST"), std::string::npos);
}

}  // namespace
}  // namespace exa::kubernetes
