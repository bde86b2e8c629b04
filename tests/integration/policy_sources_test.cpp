// The run-once command fed the way policies really arrive: the seed's code/ layout zipped and
// served over HTTP on 127.0.0.1, and the seed's PolicyRule document pointing at it, pinned by
// sha256, with its Templates enforced before any worker starts.
#include <gtest/gtest.h>

#include "common/json_util.h"
#include "policies/sha256.h"
#include "tests/support/agent_process.h"
#include "tests/support/archive_builder.h"
#include "tests/support/http_test_server.h"
#include "tests/support/jail_harness.h"
#include "tests/support/temp_dir.h"

namespace exa {
namespace {

using exa::testing::readFile;
using exa::testing::runAgent;

class PolicySourcesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why = exa::testing::jailUnsupportedReason();
    if (!why.empty()) GTEST_SKIP() << why;
    std::string code = readFile(std::string(EXA_SOURCE_DIR) + "/examples/ip_allowlist/code/function.py");
    dir_.write("src/code/function.py", code);
    dir_.write("src/code/requirements.txt", "logging\nrequests\n");
    zip_ = dir_.path() + "/ip_allowlist.zip";
    exa::testing::writeArchive(dir_.path() + "/src", zip_, "zip");
    archive_ = readFile(zip_);
    server_.route("/code/ip_allowlist.zip", exa::testing::Response::bytes(archive_));
    rule_ = *parseJson(readFile(std::string(EXA_SOURCE_DIR) + "/examples/ip_allowlist/policy.json"));
    rule_["code"] = server_.url("/code/ip_allowlist.zip");
  }

  std::string writeRule(const Json& rule) {
    return dir_.write("policy" + std::to_string(rules_++) + ".json", rule.dump(2));
  }

  std::string flags() const {
    return " --runtime-dir " + dir_.path() + "/run --cache-dir " + dir_.path() + "/cache";
  }

  exa::testing::TempDir dir_;
  exa::testing::HttpTestServer server_;
  std::string zip_;
  std::string archive_;
  Json rule_;
  int rules_ = 0;
};

TEST_F(PolicySourcesTest, RunsTheSeedPolicyFromAZipServedOverHttp) {
  auto r = runAgent("run " + server_.url("/code/ip_allowlist.zip") +
                    " --input '{\"ip\": \"10.0.0.1\"}' --parameters '{\"local_allowlist\": [\"10.0.0.1\"]}'" +
                    flags());
  ASSERT_EQ(r.exit_code, 0) << r.text;
  EXPECT_EQ(r.json["output"]["allowed"], true) << r.text;
}

TEST_F(PolicySourcesTest, RunsThePolicyRuleWithItsStoredParameters) {
  rule_["code_sha256"] = policies::sha256Hex(archive_);
  std::string rule = writeRule(rule_);
  auto allowed = runAgent("run " + rule + " --input '{\"ip\": \"192.168.0.1\"}'" + flags());
  ASSERT_EQ(allowed.exit_code, 0) << allowed.text;
  EXPECT_EQ(allowed.json["output"]["allowed"], true) << "stored policy_parameters were not used";
  // A request's parameters override the stored ones key by key.
  auto denied = runAgent("run " + rule + " --input '{\"ip\": \"192.168.0.1\"}'" +
                         " --parameters '{\"local_allowlist\": [\"10.9.9.9\"]}'" + flags());
  ASSERT_EQ(denied.exit_code, 0) << denied.text;
  EXPECT_EQ(denied.json["output"]["allowed"], false);
  // Pinned and cached: the second run did not download again.
  EXPECT_EQ(server_.hits("/code/ip_allowlist.zip"), 1u);
}

TEST_F(PolicySourcesTest, TemplatesRefuseBadInputBeforeAnyWorker) {
  std::string rule = writeRule(rule_);
  auto bad_ip = runAgent("run " + rule + " --input '{\"ip\": \"not-an-ip\"}'" + flags());
  EXPECT_EQ(bad_ip.exit_code, 2) << bad_ip.text;
  EXPECT_EQ(bad_ip.json["error"]["type"], "invalid_input") << bad_ip.text;
  EXPECT_NE(bad_ip.text.find("input_data.ip"), std::string::npos) << bad_ip.text;
  auto bad_param = runAgent("run " + rule + " --input '{\"ip\": \"1.2.3.4\"}'" +
                            " --parameters '{\"local_allowlist\": [\"1.2.3.4\", \"x\"]}'" + flags());
  EXPECT_EQ(bad_param.json["error"]["type"], "invalid_parameters") << bad_param.text;
  EXPECT_NE(bad_param.text.find("parameters.local_allowlist[1]"), std::string::npos)
      << bad_param.text;
  auto bad_action = runAgent("run " + rule + " --action reboot" + flags());
  EXPECT_EQ(bad_action.json["error"]["type"], "invalid_management") << bad_action.text;
  EXPECT_NE(bad_action.text.find("update_local_allowlist"), std::string::npos) << bad_action.text;
}

TEST_F(PolicySourcesTest, PinnedDigestMismatchIsRefused) {
  rule_["code_sha256"] = std::string(64, 'a');
  auto r = runAgent("run " + writeRule(rule_) + " --input '{\"ip\": \"1.2.3.4\"}'" + flags());
  EXPECT_EQ(r.exit_code, 2) << r.text;
  EXPECT_NE(r.text.find("pins"), std::string::npos) << r.text;
}

TEST_F(PolicySourcesTest, RunsALocalArchiveAndTheExampleRule) {
  auto archive = runAgent("run " + zip_ + " --input '{\"ip\": \"1.1.1.1\"}'" + flags());
  ASSERT_EQ(archive.exit_code, 0) << archive.text;
  EXPECT_EQ(archive.json["output"]["allowed"], false);
  auto example = runAgent("run " + std::string(EXA_SOURCE_DIR) +
                          "/examples/ip_allowlist/policy.json --input '{\"ip\": \"127.0.0.1\"}'" +
                          flags());
  ASSERT_EQ(example.exit_code, 0) << example.text;
  EXPECT_EQ(example.json["output"]["allowed"], true);
}

// A wheel is a zip with the package and its dist-info: enough for pip, made here (no PyPI).
std::string buildTinyWheel(const exa::testing::TempDir& dir) {
  dir.write("wheel-src/tinypkg/__init__.py", "VALUE = 42\n");
  dir.write("wheel-src/tinypkg-0.1.dist-info/METADATA",
            "Metadata-Version: 2.1\nName: tinypkg\nVersion: 0.1\n");
  dir.write("wheel-src/tinypkg-0.1.dist-info/WHEEL",
            "Wheel-Version: 1.0\nGenerator: exa-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n");
  dir.write("wheel-src/tinypkg-0.1.dist-info/RECORD",
            "tinypkg/__init__.py,,\ntinypkg-0.1.dist-info/METADATA,,\n"
            "tinypkg-0.1.dist-info/WHEEL,,\ntinypkg-0.1.dist-info/RECORD,,\n");
  dir.write("wheelhouse/.keep", "");
  exa::testing::writeArchive(dir.path() + "/wheel-src",
                             dir.path() + "/wheelhouse/tinypkg-0.1-py3-none-any.whl", "zip");
  return dir.path() + "/wheelhouse";
}

TEST_F(PolicySourcesTest, RequirementsComeFromTheWheelhouseThroughJailedPip) {
  std::string wheelhouse = buildTinyWheel(dir_);
  dir_.write("req-src/code/function.py",
             "import tinypkg, requests\nclass AIOSv1PolicyRule:\n"
             "    def __init__(self, r, s, p):\n        pass\n"
             "    def eval(self, p, i, c):\n        return {'value': tinypkg.VALUE,"
             " 'from': tinypkg.__file__}\n");
  // logging: standard library, skipped; requests: Debian's, in the runtime; tinypkg: the wheel.
  dir_.write("req-src/code/requirements.txt", "logging\nrequests>=2.0\ntinypkg==0.1  # ours\n");
  std::string zip = dir_.path() + "/req.zip";
  exa::testing::writeArchive(dir_.path() + "/req-src", zip, "zip");
  auto r = runAgent("run " + zip + " --wheelhouse " + wheelhouse + flags());
  ASSERT_EQ(r.exit_code, 0) << r.text;
  EXPECT_EQ(r.json["output"]["value"], 42);
  EXPECT_EQ(r.json["output"]["from"], "/policy/.exa-deps/tinypkg/__init__.py");
  // Installed once per digest: the second run finds the tree, requirements included.
  auto again = runAgent("run " + zip + flags());
  ASSERT_EQ(again.exit_code, 0) << again.text;
  EXPECT_EQ(again.json["output"]["value"], 42);
}

TEST_F(PolicySourcesTest, RequirementsDownloadedFromAPackageIndex) {
  // A PEP 503 index on 127.0.0.1: pip downloads in a jail that shares the host's network and
  // runs no package code, then installs in one without network.
  std::string wheel = readFile(buildTinyWheel(dir_) + "/tinypkg-0.1-py3-none-any.whl");
  auto page = exa::testing::Response::bytes(
      "<html><body><a href=\"/files/tinypkg-0.1-py3-none-any.whl\">"
      "tinypkg-0.1-py3-none-any.whl</a></body></html>");
  page.headers.push_back({"Content-Type", "text/html"});
  server_.route("/simple/tinypkg/", page);
  server_.route("/files/tinypkg-0.1-py3-none-any.whl", exa::testing::Response::bytes(wheel));
  dir_.write("idx-src/code/function.py",
             "import tinypkg\nclass AIOSv1PolicyRule:\n    def __init__(self, r, s, p):\n"
             "        pass\n    def eval(self, p, i, c):\n        return tinypkg.VALUE\n");
  dir_.write("idx-src/code/requirements.txt", "tinypkg==0.1\n");
  std::string zip = dir_.path() + "/idx.zip";
  exa::testing::writeArchive(dir_.path() + "/idx-src", zip, "zip");
  auto r = runAgent("run " + zip + " --package-index " + server_.url("/simple") + flags());
  ASSERT_EQ(r.exit_code, 0) << r.text;
  EXPECT_EQ(r.json["output"], 42);
  EXPECT_EQ(server_.hits("/files/tinypkg-0.1-py3-none-any.whl"), 1u);
}

TEST_F(PolicySourcesTest, UnsatisfiableRequirementIsAClearError) {
  dir_.write("bad-src/code/function.py", "class AIOSv1PolicyRule:\n    pass\n");
  dir_.write("bad-src/code/requirements.txt", "no-such-package-anywhere==1.0\n");
  std::string zip = dir_.path() + "/bad.zip";
  exa::testing::writeArchive(dir_.path() + "/bad-src", zip, "zip");
  auto r = runAgent("run " + zip + " --wheelhouse " + buildTinyWheel(dir_) + flags());
  EXPECT_EQ(r.exit_code, 2) << r.text;
  EXPECT_NE(r.text.find("installing requirements failed"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("no-such-package-anywhere"), std::string::npos) << r.text;
  auto offline = runAgent("run " + zip + flags());  // no wheelhouse at all
  EXPECT_EQ(offline.exit_code, 2) << offline.text;
  EXPECT_NE(offline.text.find("neither a wheelhouse nor a package index"), std::string::npos)
      << offline.text;
}

}  // namespace
}  // namespace exa
