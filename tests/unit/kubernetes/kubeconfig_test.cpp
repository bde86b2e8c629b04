#include "kubernetes/kubeconfig.h"

#include <cstdio>
#include <cstdlib>

#include <gtest/gtest.h>

#include "kubernetes/base64.h"
#include "kubernetes/yaml_json.h"
#include "tests/support/temp_dir.h"

namespace exa::kubernetes {
namespace {

const std::string kCa = "-----BEGIN CERTIFICATE-----\nMIIBcA==\n-----END CERTIFICATE-----\n";
const std::string kCert = "-----BEGIN CERTIFICATE-----\nMIIBcB==\n-----END CERTIFICATE-----\n";
const std::string kKey = "-----BEGIN PRIVATE KEY-----\nMIIEvQ==\n-----END PRIVATE KEY-----\n";

// Two contexts over one cluster: a token user (current) and a client-certificate user.
Json sampleConfig() {
  return Json::parse(R"({
    "apiVersion": "v1", "kind": "Config", "current-context": "dev",
    "clusters": [{"name": "c1", "cluster": {"server": "https://10.0.0.1:6443/",
                  "certificate-authority-data": ")" + base64Encode(kCa) + R"("}}],
    "users": [
      {"name": "tok", "user": {"token": "abc.def"}},
      {"name": "crt", "user": {"client-certificate-data": ")" + base64Encode(kCert) + R"(",
                               "client-key-data": ")" + base64Encode(kKey) + R"("}}],
    "contexts": [
      {"name": "dev", "context": {"cluster": "c1", "user": "tok", "namespace": "team-a"}},
      {"name": "admin", "context": {"cluster": "c1", "user": "crt"}}]
  })");
}

std::string errorOf(const Result<ClusterCredentials>& r) {
  return r ? std::string("(succeeded)") : r.error().message;
}

TEST(Kubeconfig, TokenUserFromCurrentContext) {
  auto creds = loadKubeconfig(sampleConfig());
  ASSERT_TRUE(creds) << creds.error().message;
  EXPECT_EQ(creds->server, "https://10.0.0.1:6443");  // trailing slash dropped
  EXPECT_EQ(creds->ca_pem, kCa);
  EXPECT_EQ(creds->currentToken(), "abc.def");
  EXPECT_EQ(creds->default_namespace, "team-a");
  EXPECT_EQ(creds->context_name, "dev");
  EXPECT_EQ(creds->user_name, "tok");
  EXPECT_TRUE(creds->client_cert_pem.empty());
  EXPECT_FALSE(creds->insecure_skip_tls_verify);
}

TEST(Kubeconfig, CertUserFromNamedContext) {
  auto creds = loadKubeconfig(sampleConfig(), "admin");
  ASSERT_TRUE(creds) << creds.error().message;
  EXPECT_EQ(creds->client_cert_pem, kCert);
  EXPECT_EQ(creds->client_key_pem, kKey);
  EXPECT_EQ(creds->currentToken(), "");
  EXPECT_EQ(creds->default_namespace, "default");
}

TEST(Kubeconfig, UnknownOrMissingContext) {
  EXPECT_NE(errorOf(loadKubeconfig(sampleConfig(), "nope"))
                .find("contexts: no entry named \"nope\""),
            std::string::npos);
  Json config = sampleConfig();
  config.erase("current-context");
  EXPECT_NE(errorOf(loadKubeconfig(config)).find("current-context: missing"), std::string::npos);
  EXPECT_NE(errorOf(loadKubeconfig(Json::array())).find("not an object"), std::string::npos);
}

TEST(Kubeconfig, MissingFieldsAreNamed) {
  Json config = sampleConfig();
  config["clusters"][0]["cluster"].erase("server");
  EXPECT_NE(errorOf(loadKubeconfig(config)).find("clusters[0].cluster.server: missing"),
            std::string::npos);
  config = sampleConfig();
  config["contexts"][0]["context"]["user"] = "ghost";
  EXPECT_NE(errorOf(loadKubeconfig(config)).find("users: no entry named \"ghost\""),
            std::string::npos);
  config = sampleConfig();
  config["users"][1]["user"].erase("client-key-data");
  EXPECT_NE(errorOf(loadKubeconfig(config, "admin")).find("needs its key"), std::string::npos);
  config = sampleConfig();
  config["clusters"][0]["cluster"]["server"] = "ftp://x";
  EXPECT_NE(errorOf(loadKubeconfig(config)).find("not an http(s) URL"), std::string::npos);
}

TEST(Kubeconfig, ExecAndAuthProviderRefusedNamingTheUser) {
  Json config = sampleConfig();
  config["users"][0]["user"] = Json::parse(R"({"exec": {"command": "/bin/sh",
                                              "apiVersion": "client.authentication.k8s.io/v1"}})");
  auto r = loadKubeconfig(config);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message.find("users[0].user.exec"), std::string::npos);
  EXPECT_NE(r.error().message.find("user \"tok\""), std::string::npos);
  EXPECT_NE(r.error().message.find("run code on the agent"), std::string::npos);
  config["users"][0]["user"] = Json::parse(R"({"auth-provider": {"name": "gcp"}})");
  EXPECT_NE(errorOf(loadKubeconfig(config)).find("users[0].user.auth-provider"),
            std::string::npos);
}

TEST(Kubeconfig, BadBase64AndBadPemNamed) {
  Json config = sampleConfig();
  config["users"][1]["user"]["client-certificate-data"] = "not base64!";
  EXPECT_NE(errorOf(loadKubeconfig(config, "admin"))
                .find("users[1].user.client-certificate-data: not valid base64"),
            std::string::npos);
  config = sampleConfig();
  config["clusters"][0]["cluster"]["certificate-authority-data"] = base64Encode("garbage");
  EXPECT_NE(errorOf(loadKubeconfig(config)).find("does not contain a PEM certificate"),
            std::string::npos);
}

TEST(Kubeconfig, InsecureSkipTlsVerifyOnlyWhenSaid) {
  Json config = sampleConfig();
  config["clusters"][0]["cluster"].erase("certificate-authority-data");
  auto plain = loadKubeconfig(config);
  ASSERT_TRUE(plain) << plain.error().message;
  EXPECT_FALSE(plain->insecure_skip_tls_verify);
  config["clusters"][0]["cluster"]["insecure-skip-tls-verify"] = true;
  auto insecure = loadKubeconfig(config);
  ASSERT_TRUE(insecure) << insecure.error().message;
  EXPECT_TRUE(insecure->insecure_skip_tls_verify);
  config["clusters"][0]["cluster"]["insecure-skip-tls-verify"] = "yes";
  EXPECT_NE(errorOf(loadKubeconfig(config)).find("not a boolean"), std::string::npos);
  config = sampleConfig();
  config["clusters"][0]["cluster"]["insecure-skip-tls-verify"] = true;
  EXPECT_NE(errorOf(loadKubeconfig(config)).find("contradictory"), std::string::npos);
}

TEST(Kubeconfig, UnsupportedAuthRefusedNotIgnored) {
  Json config = sampleConfig();
  config["users"][0]["user"]["as"] = "system:admin";
  EXPECT_NE(errorOf(loadKubeconfig(config)).find("users[0].user.as: not supported"),
            std::string::npos);
  config = sampleConfig();
  config["clusters"][0]["cluster"]["proxy-url"] = "http://proxy:3128";
  EXPECT_NE(errorOf(loadKubeconfig(config)).find("proxy-url: not supported"), std::string::npos);
}

TEST(Kubeconfig, FileReferencesRefusedInUploads) {
  Json config = sampleConfig();
  config["users"][0]["user"] = Json::parse(R"({"tokenFile": "/etc/shadow"})");
  EXPECT_NE(errorOf(loadKubeconfig(config)).find("users[0].user.tokenFile: file references are "
                                                 "refused"),
            std::string::npos);
  config = sampleConfig();
  config["clusters"][0]["cluster"].erase("certificate-authority-data");
  config["clusters"][0]["cluster"]["certificate-authority"] = "/etc/ssl/certs/x.pem";
  EXPECT_NE(errorOf(loadKubeconfig(config)).find("certificate-authority: file references"),
            std::string::npos);
}

TEST(Kubeconfig, FilesWhenAllowedResolveRelativeToBaseDir) {
  testing::TempDir dir;
  dir.write("pki/ca.crt", kCa);
  dir.write("pki/me.crt", kCert);
  dir.write("pki/me.key", kKey);
  dir.write("token", "from-file\n");
  Json config = sampleConfig();
  config["clusters"][0]["cluster"] = Json::parse(
      R"({"server": "https://k:6443", "certificate-authority": "pki/ca.crt"})");
  config["users"][1]["user"] = Json::parse(
      R"({"client-certificate": "pki/me.crt", "client-key": ")" + dir.path() +
      R"(/pki/me.key", "tokenFile": "token"})");
  KubeconfigFiles files{true, dir.path()};
  auto creds = loadKubeconfig(config, "admin", files);
  ASSERT_TRUE(creds) << creds.error().message;
  EXPECT_EQ(creds->ca_pem, kCa);
  EXPECT_EQ(creds->client_cert_pem, kCert);
  EXPECT_EQ(creds->client_key_pem, kKey);
  EXPECT_EQ(creds->currentToken(), "from-file");
  config["clusters"][0]["cluster"]["certificate-authority"] = "pki/missing.crt";
  EXPECT_NE(errorOf(loadKubeconfig(config, "admin", files)).find("pki/missing.crt"),
            std::string::npos);
}

TEST(Kubeconfig, YamlFileMatchesJson) {
  testing::TempDir dir;
  std::string yaml = "apiVersion: v1\nkind: Config\ncurrent-context: dev\nclusters:\n"
                     "- name: c1\n  cluster:\n    server: https://10.0.0.1:6443/\n"
                     "    certificate-authority-data: " + base64Encode(kCa) + "\n"
                     "users:\n- name: tok\n  user:\n    token: abc.def\n"
                     "- name: crt\n  user:\n"
                     "    client-certificate-data: " + base64Encode(kCert) + "\n"
                     "    client-key-data: " + base64Encode(kKey) + "\n"
                     "contexts:\n- name: dev\n  context: {cluster: c1, user: tok, "
                     "namespace: team-a}\n- name: admin\n  context:\n    cluster: c1\n"
                     "    user: crt\n";
  std::string path = dir.write("kubeconfig", yaml);
  auto parsed = yamlToJson(yaml);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(*parsed, sampleConfig());
  for (const char* context : {"", "admin"}) {
    auto from_yaml = loadKubeconfigFile(path, context);
    auto from_json = loadKubeconfig(sampleConfig(), context);
    ASSERT_TRUE(from_yaml) << from_yaml.error().message;
    ASSERT_TRUE(from_json);
    EXPECT_EQ(from_yaml->server, from_json->server);
    EXPECT_EQ(from_yaml->ca_pem, from_json->ca_pem);
    EXPECT_EQ(from_yaml->client_cert_pem, from_json->client_cert_pem);
    EXPECT_EQ(from_yaml->client_key_pem, from_json->client_key_pem);
    EXPECT_EQ(from_yaml->currentToken(), from_json->currentToken());
    EXPECT_EQ(from_yaml->default_namespace, from_json->default_namespace);
  }
}

TEST(Kubeconfig, YamlFileReferencesResolveNextToTheFile) {
  testing::TempDir dir;
  dir.write("conf/ca.crt", kCa);
  std::string path = dir.write("conf/kubeconfig",
                               "current-context: x\nclusters:\n- name: c\n  cluster:\n"
                               "    server: https://k\n    certificate-authority: ca.crt\n"
                               "contexts:\n- name: x\n  context: {cluster: c}\n");
  auto creds = loadKubeconfigFile(path);
  ASSERT_TRUE(creds) << creds.error().message;
  EXPECT_EQ(creds->ca_pem, kCa);
  EXPECT_FALSE(creds->token);  // a context without a user is anonymous
}

TEST(YamlToJson, ScalarsResolveLikeYaml12Core) {
  auto j = yamlToJson("a: true\nb: 'true'\nc: 42\nd: \"42\"\ne: ~\nf: 1.5\ng: text\nh: [1, x]\n");
  ASSERT_TRUE(j) << j.error().message;
  EXPECT_EQ(dumpJson(*j),
            R"({"a":true,"b":"true","c":42,"d":"42","e":null,"f":1.5,"g":"text","h":[1,"x"]})");
}

TEST(YamlToJson, ErrorsNameThePositionAndAliasBombsAreRefused) {
  auto bad = yamlToJson("a: [1, 2\nb: c\n");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("line "), std::string::npos);
  std::string bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  for (char c = 'b'; c <= 'i'; ++c) {
    std::string prev(1, char(c - 1));
    bomb += std::string(1, c) + ": &" + c + " [*" + prev + ", *" + prev + ", *" + prev + ", *" +
            prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + "]\n";
  }
  auto refused = yamlToJson(bomb);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("alias expansion"), std::string::npos);
}

TEST(Base64, RoundTripAndRejects) {
  for (std::string s : {std::string(), std::string("a"), std::string("ab"), std::string("abc"),
                        std::string("abcd"), std::string("\0\xff\x10", 3)})
    EXPECT_EQ(base64Decode(base64Encode(s)).value_or("(fail)"), s);
  EXPECT_EQ(base64Decode("YWJj\nZA==\n").value_or("(fail)"), "abcd");  // wrapped lines
  EXPECT_FALSE(base64Decode("YWJjZA="));   // bad length
  EXPECT_FALSE(base64Decode("YW=jZA=="));  // padding in the middle
  EXPECT_FALSE(base64Decode("YWJj*A=="));
  EXPECT_FALSE(base64Decode("YR=="));      // non-zero trailing bits
}

}  // namespace
}  // namespace exa::kubernetes
