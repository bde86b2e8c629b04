// The real ApiClient against the schema-validating fake API server (tests/support/
// fake_apiserver.py), with the shared/k8s samples: proves both that the fake answers the way the
// notes say a v1.36 apiserver does and that the client maps those answers to the right Errors.
#include "tests/support/fake_apiserver.h"

#include <signal.h>
#include <sys/wait.h>

#include <cctype>
#include <chrono>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/json_util.h"
#include "kubernetes/api_client.h"
#include "kubernetes/api_status.h"
#include "kubernetes/credentials.h"
#include "kubernetes/kubeconfig.h"
#include "kubernetes/yaml_json.h"

namespace exa::testing {
namespace {

using kubernetes::ApiClient;
using kubernetes::ApiClientOptions;
using kubernetes::ApiRequest;
using kubernetes::ApiStatus;
using kubernetes::ClusterCredentials;
using kubernetes::TokenSource;

constexpr const char* kJobs = "/apis/batch/v1/namespaces/policies/jobs";
constexpr const char* kJobName = "policy-job-42";  // the name every job sample uses

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string samplePath(const std::string& name) {
  return FakeApiServer::sharedDir() + "/samples/" + name;
}

Json sample(const std::string& name) {
  std::string text = readFile(samplePath(name));
  auto parsed = name.ends_with(".json") ? parseJson(text) : kubernetes::yamlToJson(text);
  if (!parsed) ADD_FAILURE() << name << ": " << parsed.error().describe();
  return parsed ? *parsed : Json();
}

/// The documents of a multi-document YAML file (yamlToJson reads only the first one).
std::vector<Json> sampleDocuments(const std::string& name) {
  std::string text = readFile(samplePath(name));
  std::vector<Json> docs;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find("\n---", start);
    std::string part = text.substr(start, end == std::string::npos ? std::string::npos
                                                                     : end - start);
    if (part.find_first_not_of(" \t\r\n-") != std::string::npos) {
      auto doc = kubernetes::yamlToJson(part);
      if (!doc) ADD_FAILURE() << name << ": " << doc.error().describe();
      else docs.push_back(*doc);
    }
    if (end == std::string::npos) break;
    start = end + 4;
  }
  return docs;
}

ClusterCredentials credsFor(const std::string& server, const std::string& token = "") {
  ClusterCredentials creds;
  creds.server = server;
  if (!token.empty()) creds.token = TokenSource::fixed(token);
  return creds;
}

ApiClientOptions noRetries() {
  // Every reply the fake gives here is final; a retry would only hide a slow fake.
  ApiClientOptions options;
  options.max_attempts = 1;
  options.request_timeout = std::chrono::milliseconds(10000);
  return options;
}

class FakeApiServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!FakeApiServer::available())
      FAIL() << "no " << FakeApiServer::sharedDir() << "/openapi-subset.json or python3";
    server_ = std::make_unique<FakeApiServer>();
    client_ = std::make_unique<ApiClient>(credsFor(server_->url()), noRetries());
    // The samples live in namespace "policies", which the fake (like a cluster) lacks at start.
    auto ns = client_->request("POST", "/api/v1/namespaces",
                               Json{{"apiVersion", "v1"}, {"kind", "Namespace"},
                                    {"metadata", {{"name", "policies"}}}});
    ASSERT_TRUE(ns) << ns.error().describe();
  }

  std::unique_ptr<FakeApiServer> server_;
  std::unique_ptr<ApiClient> client_;
};

TEST_F(FakeApiServerTest, CreatesValidJobAndGetsItBackWithServerMetadata) {
  ApiRequest create;
  create.method = "POST";
  create.path = kJobs;
  create.body = sample("job.json");
  auto reply = client_->call(create);
  ASSERT_TRUE(reply) << reply.error().describe();
  EXPECT_EQ(reply->status, 201) << reply->body;

  auto job = client_->request("GET", std::string(kJobs) + "/" + kJobName);
  ASSERT_TRUE(job) << job.error().describe();
  const Json& meta = (*job)["metadata"];
  EXPECT_FALSE(meta.value("uid", "").empty());
  EXPECT_FALSE(meta.value("resourceVersion", "").empty());
  EXPECT_FALSE(meta.value("creationTimestamp", "").empty());
  EXPECT_EQ(meta.value("generation", 0), 1);
  EXPECT_EQ(meta.value("namespace", ""), "policies");
  EXPECT_EQ((*job)["spec"].value("backoffLimit", -1), 4);
  EXPECT_EQ((*job).value("kind", ""), "Job");
}

TEST_F(FakeApiServerTest, SecondCreateIsAlreadyExists) {
  ASSERT_TRUE(client_->request("POST", kJobs, sample("job.json")));
  ApiStatus status;
  auto again = client_->request("POST", kJobs, sample("job.json"), {}, &status);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists) << again.error().describe();
  EXPECT_EQ(status.code, 409);
  EXPECT_EQ(status.reason, "AlreadyExists");
  EXPECT_EQ(status.name, kJobName);
  EXPECT_EQ(status.group, "batch");
  EXPECT_EQ(status.kind, "jobs");  // the resource, not the Kind, for AlreadyExists
}

struct InvalidSample {
  const char* file;
  const char* path;   ///< the collection the sample is posted to
  const char* field;  ///< the field the sample's notes (shared/k8s/README.md) name
  int code;           ///< 400 for decode errors (type, format, strict unknown field), 422 Invalid
};

class InvalidSampleTest : public FakeApiServerTest,
                          public ::testing::WithParamInterface<InvalidSample> {};

TEST_P(InvalidSampleTest, IsRejectedNamingTheField) {
  const InvalidSample& s = GetParam();
  ApiStatus status;
  auto created = client_->request("POST", s.path, sample(s.file), {}, &status);
  ASSERT_FALSE(created) << s.file << " was accepted";
  EXPECT_EQ(created.error().code, ErrorCode::kInvalidArgument) << created.error().describe();
  EXPECT_EQ(status.code, s.code) << status.message;
  EXPECT_NE(created.error().message.find(s.field), std::string::npos)
      << created.error().message;
  if (s.code == 422) {
    EXPECT_EQ(status.reason, "Invalid");
    EXPECT_EQ(status.kind, "Job");  // Invalid names the Kind, not the resource
    ASSERT_EQ(status.causes.size(), 1u);
    EXPECT_EQ(status.causes[0].reason, "FieldValueRequired");
    EXPECT_EQ(status.causes[0].field, s.field);
  } else {
    EXPECT_EQ(status.reason, "BadRequest");
  }
  // Nothing half-created: the rejected object must not exist afterwards.
  ApiStatus missing;
  std::string name = sample(s.file)["metadata"].value("name", "");
  EXPECT_FALSE(client_->request("GET", std::string(s.path) + "/" + name, nullptr, {}, &missing));
  EXPECT_EQ(missing.code, 404);
}

INSTANTIATE_TEST_SUITE_P(
    Samples, InvalidSampleTest,
    ::testing::Values(
        InvalidSample{"job-bad-quantity.json", kJobs,
                      "spec.template.spec.containers[0].resources.requests.cpu", 400},
        InvalidSample{"job-bad-required.json", kJobs, "spec.template.spec.containers[0].name",
                      422},
        InvalidSample{"job-bad-type.json", kJobs, "spec.backoffLimit", 400},
        InvalidSample{"job-bad-unknown-field.json", kJobs, "spec.backofLimit", 400},
        InvalidSample{"hpa-bad-v1-field.yaml",
                      "/apis/autoscaling/v2/namespaces/policies/horizontalpodautoscalers",
                      "spec.targetCPUUtilizationPercentage", 400}),
    [](const ::testing::TestParamInfo<InvalidSample>& info) {
      std::string name;
      for (const char* c = info.param.file; *c && *c != '.'; ++c)
        name.push_back(std::isalnum(static_cast<unsigned char>(*c)) ? *c : '_');
      return name;
    });

TEST_F(FakeApiServerTest, GetOfMissingObjectIsNotFound) {
  ApiStatus status;
  auto job = client_->request("GET", std::string(kJobs) + "/nope", nullptr, {}, &status);
  ASSERT_FALSE(job);
  EXPECT_EQ(job.error().code, ErrorCode::kNotFound) << job.error().describe();
  EXPECT_EQ(status.reason, "NotFound");
  EXPECT_EQ(status.name, "nope");
  EXPECT_EQ(status.kind, "jobs");
}

TEST_F(FakeApiServerTest, KubectlDryRunOutputWithNullsIsAccepted) {
  // kubectl emits "creationTimestamp": null; the server reads null as unset.
  auto job = client_->request("POST", kJobs, sample("kubectl-create-job-dry-run.json"));
  ASSERT_TRUE(job) << job.error().describe();
  EXPECT_EQ((*job)["metadata"].value("name", ""), "policy-job-demo");
}

TEST_F(FakeApiServerTest, FunctionManifestsAreAllAccepted) {
  const std::map<std::string, std::string> collections = {
      {"Deployment", "/apis/apps/v1/namespaces/policies/deployments"},
      {"Service", "/api/v1/namespaces/policies/services"},
      {"HorizontalPodAutoscaler",
       "/apis/autoscaling/v2/namespaces/policies/horizontalpodautoscalers"},
      {"Role", "/apis/rbac.authorization.k8s.io/v1/namespaces/policies/roles"}};
  auto docs = sampleDocuments("function.yaml");
  ASSERT_EQ(docs.size(), 4u);
  for (const Json& doc : docs) {
    std::string kind = doc.value("kind", "");
    ASSERT_TRUE(collections.count(kind)) << kind;
    auto created = client_->request("POST", collections.at(kind), doc);
    EXPECT_TRUE(created) << kind << ": " << created.error().describe();
  }
}

TEST_F(FakeApiServerTest, StalePutIsConflictAndMergePatchBumpsGeneration) {
  auto created = client_->request("POST", kJobs, sample("job.json"));
  ASSERT_TRUE(created) << created.error().describe();
  std::string item = std::string(kJobs) + "/" + kJobName;

  auto patched = client_->request("PATCH", item, Json{{"spec", {{"backoffLimit", 2}}}});
  ASSERT_TRUE(patched) << patched.error().describe();
  EXPECT_EQ((*patched)["spec"].value("backoffLimit", -1), 2);
  EXPECT_EQ((*patched)["metadata"].value("generation", 0), 2);
  EXPECT_NE((*patched)["metadata"].value("resourceVersion", ""),
            (*created)["metadata"].value("resourceVersion", ""));

  Json stale = *created;  // still carries the resourceVersion from before the patch
  stale["spec"]["backoffLimit"] = 3;
  ApiStatus status;
  auto put = client_->request("PUT", item, stale, {}, &status);
  ASSERT_FALSE(put);
  EXPECT_EQ(put.error().code, ErrorCode::kAlreadyExists);  // how apiStatusError maps any 409
  EXPECT_EQ(status.reason, "Conflict");
}

TEST_F(FakeApiServerTest, ListFiltersByLabelSelector) {
  ASSERT_TRUE(client_->request("POST", kJobs, sample("job.json")));
  auto hit = client_->request("GET", kJobs, nullptr,
                              {{"labelSelector", "app.kubernetes.io/managed-by in (executor,x)"}});
  ASSERT_TRUE(hit) << hit.error().describe();
  EXPECT_EQ((*hit).value("kind", ""), "JobList");
  ASSERT_EQ((*hit)["items"].size(), 1u);
  EXPECT_FALSE((*hit)["items"][0].contains("kind"));  // list items carry no type meta
  auto miss = client_->request("GET", kJobs, nullptr,
                               {{"labelSelector", "app.kubernetes.io/managed-by=someone-else"}});
  ASSERT_TRUE(miss) << miss.error().describe();
  EXPECT_TRUE((*miss)["items"].empty());
}

TEST_F(FakeApiServerTest, DeleteReturnsSuccessStatusAndRemovesTheObject) {
  ASSERT_TRUE(client_->request("POST", kJobs, sample("job.json")));
  std::string item = std::string(kJobs) + "/" + kJobName;
  auto deleted = client_->request("DELETE", item, nullptr, {{"propagationPolicy", "Background"}});
  ASSERT_TRUE(deleted) << deleted.error().describe();
  EXPECT_EQ((*deleted).value("status", ""), "Success");
  auto gone = client_->request("GET", item);
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, ErrorCode::kNotFound);
}

TEST(FakeApiServerAuth, TokenIsRequiredWhenConfigured) {
  ASSERT_TRUE(FakeApiServer::available()) << "no tests/fixtures/k8s schema or python3";
  FakeApiServer server(FakeApiServerOptions{.token = "s3cret"});

  ApiClient anonymous(credsFor(server.url()), noRetries());
  ApiStatus status;
  auto denied = anonymous.request("GET", "/api/v1/namespaces/default", nullptr, {}, &status);
  ASSERT_FALSE(denied);
  EXPECT_EQ(denied.error().code, ErrorCode::kPermissionDenied) << denied.error().describe();
  EXPECT_EQ(status.code, 401);
  EXPECT_EQ(status.reason, "Unauthorized");

  ApiClient wrong(credsFor(server.url(), "guess"), noRetries());
  auto still = wrong.request("GET", "/api/v1/namespaces/default");
  ASSERT_FALSE(still);
  EXPECT_EQ(still.error().code, ErrorCode::kPermissionDenied);

  ApiClient authorized(credsFor(server.url(), "s3cret"), noRetries());
  auto ns = authorized.request("GET", "/api/v1/namespaces/default");
  ASSERT_TRUE(ns) << ns.error().describe();
  EXPECT_EQ((*ns)["status"].value("phase", ""), "Active");
}

// The adapter's own path to a cluster over TLS: the kubeconfig the fake writes (its throwaway
// CA inline, a bearer token) read by loadKubeconfigFile, then a create under Strict over https.
// A client without that CA must fail the handshake: the system store does not vouch for it.
TEST(FakeApiServerTls, TheAdapterReachesItThroughItsKubeconfig) {
  ASSERT_TRUE(FakeApiServer::available()) << "no tests/fixtures/k8s schema or python3";
  FakeApiServerOptions options;
  options.tls = true;
  options.token = "tls-token";
  FakeApiServer server(options);
  ASSERT_EQ(server.url().rfind("https://", 0), 0u) << server.url();
  auto credentials = kubernetes::loadKubeconfigFile(server.kubeconfig_path());
  ASSERT_TRUE(credentials) << credentials.error().describe();
  ApiClient client(*credentials, noRetries());
  auto ns = client.request("POST", "/api/v1/namespaces", Json{{"metadata", {{"name", "policies"}}}});
  ASSERT_TRUE(ns) << ns.error().describe();
  auto job = client.request("POST", kJobs, sample("job.json"));
  ASSERT_TRUE(job) << job.error().describe();
  EXPECT_EQ((*job)["metadata"]["name"], kJobName);

  ClusterCredentials no_ca = *credentials;
  no_ca.ca_pem.clear();
  ApiClient untrusting(no_ca, noRetries());
  EXPECT_FALSE(untrusting.request("GET", "/api/v1/namespaces/policies"));
}

TEST(FakeApiServerLifecycle, ExitsCleanlyOnSigterm) {
  ASSERT_TRUE(FakeApiServer::available()) << "no tests/fixtures/k8s schema or python3";
  FakeApiServer server;
  // A clean exit (not death by signal) shows the fake's own shutdown path ran, so it released
  // its port rather than being torn down mid-request.
  int status = server.stop(SIGTERM);
  EXPECT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace exa::testing
