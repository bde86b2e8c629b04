#include "agent/registry/document_store.h"

#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace exa::agent {
namespace {

// Own helper rather than tests/support's: this test must build standalone with the store alone.
class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "docstore-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::unique_ptr<DocumentStore> openOrDie(const std::string& path) {
  auto store = DocumentStore::open(path);
  if (!store) throw std::runtime_error("open: " + store.error().describe());
  return std::move(store).value();
}

// What an update function returns.
using Next = Result<std::pair<std::string, Json>>;

const DocumentStore::Predicate kAll = [](const Json&) -> Result<bool> { return true; };

std::vector<std::string> names(const std::vector<Json>& docs) {
  std::vector<std::string> out;
  for (const Json& doc : docs) out.push_back(doc.at("name").get<std::string>());
  return out;
}

// Raw SQLite access to check what the store wrote, independently of the store.
std::string querySingle(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  std::string answer = "<error>";
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK) {
      int rc = sqlite3_step(stmt);
      if (rc == SQLITE_ROW) {
        auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
        answer = text != nullptr ? text : "<null>";
      } else if (rc == SQLITE_DONE) {
        answer = "<done>";
      }
    }
    sqlite3_finalize(stmt);
  }
  sqlite3_close_v2(db);
  return answer;
}

// A policy record of the original's shape, ~2 KB of JSON.
Json policyDoc(int i) {
  std::string name = "policy-" + std::to_string(i);
  Json field = {{"type", "str"}, {"description", "an input field of the policy, documented"}};
  Json doc;
  doc["name"] = name;
  doc["version"] = "1." + std::to_string(i % 10) + ".0";
  doc["release_tag"] = "stable";
  doc["policy_rule_uri"] = name + ":1." + std::to_string(i % 10) + ".0-stable";
  doc["metadata"] = {{"author", "registry-tests"}, {"team", "platform"}, {"index", i}};
  doc["tags"] = "network,security,classification,latency-sensitive";
  doc["code"] = "https://code.example.org/policies/" + name + ".zip";
  doc["code_type"] = "zip";
  doc["type"] = "stateless";
  doc["policy_input_schema"] = {{"ip", field}, {"port", field}, {"payload", field},
                                {"headers", field}, {"tenant", field}};
  doc["policy_output_schema"] = {{"allowed", field}, {"reason", field}, {"score", field}};
  doc["policy_settings_schema"] = {{"threshold", field}, {"mode", field}};
  doc["policy_parameters_schema"] = {{"window", field}};
  doc["policy_settings"] = {{"threshold", 0.75}, {"mode", "strict"}};
  doc["policy_parameters"] = {{"window", 60}};
  doc["management_commands_schema"] = Json::array(
      {{{"name", "reset"}, {"input_schema", Json::object()}}, {{"name", "stats"}}});
  doc["description"] = std::string(420, 'd');
  doc["functionality_data"] = Json::object();
  doc["resource_estimates"] = {{"cpu", 1}, {"memory_mb", 256}, {"gpu", 0}};
  return doc;
}

double msSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

long residentKb() {
  long pages = 0;
  long resident = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return resident * (::sysconf(_SC_PAGESIZE) / 1024);
}

TEST(DocumentStoreTest, InsertGetReplaceRemove) {
  ScratchDir dir;
  auto store = openOrDie(dir.file("s.db"));
  ASSERT_TRUE(store->insert("policies", "a:1.0-stable", {{"name", "a"}, {"n", 1}}));
  auto got = store->get("policies", "a:1.0-stable");
  ASSERT_TRUE(got) << got.error().describe();
  EXPECT_EQ(*got, Json({{"name", "a"}, {"n", 1}}));

  ASSERT_TRUE(store->replace("policies", "a:1.0-stable", {{"name", "a"}, {"n", 2}}));
  EXPECT_EQ((*store->get("policies", "a:1.0-stable"))["n"], 2);
  EXPECT_EQ(*store->count("policies"), 1u);

  ASSERT_TRUE(store->remove("policies", "a:1.0-stable"));
  EXPECT_EQ(store->get("policies", "a:1.0-stable").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(*store->count("policies"), 0u);
}

TEST(DocumentStoreTest, CollectionsAreSeparate) {
  ScratchDir dir;
  auto store = openOrDie(dir.file("s.db"));
  ASSERT_TRUE(store->insert("policies", "x", {{"name", "policy"}}));
  ASSERT_TRUE(store->insert("functions", "x", {{"name", "function"}}));
  EXPECT_EQ((*store->get("policies", "x"))["name"], "policy");
  EXPECT_EQ((*store->get("functions", "x"))["name"], "function");
  EXPECT_EQ(*store->count("functions"), 1u);
  EXPECT_EQ(*store->count("graphs"), 0u);
}

TEST(DocumentStoreTest, DuplicateInsertIsRefused) {
  ScratchDir dir;
  auto store = openOrDie(dir.file("s.db"));
  ASSERT_TRUE(store->insert("executors", "e1", {{"v", 1}}));
  auto again = store->insert("executors", "e1", {{"v", 2}});
  ASSERT_FALSE(again);
  EXPECT_TRUE(isAlreadyExists(again.error())) << again.error().describe();
  EXPECT_EQ(again.error().message, "already exists: executors/e1");
  EXPECT_EQ((*store->get("executors", "e1"))["v"], 1);
  // Other errors are not mistaken for it.
  EXPECT_FALSE(isAlreadyExists(makeError(ErrorCode::kInvalidArgument, "bad")));
  EXPECT_FALSE(isAlreadyExists(store->get("executors", "nope").error()));
}

TEST(DocumentStoreTest, MissingDocumentsAreNotFound) {
  ScratchDir dir;
  auto store = openOrDie(dir.file("s.db"));
  ASSERT_TRUE(store->insert("jobs", "j1", Json::object()));
  auto get = store->get("jobs", "j2");
  ASSERT_FALSE(get);
  EXPECT_EQ(get.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(get.error().message, "not found: jobs/j2");
  EXPECT_EQ(store->get("other", "j1").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store->replace("jobs", "j2", Json::object()).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store->remove("jobs", "j2").error().code, ErrorCode::kNotFound);
  bool called = false;
  auto update = store->update("jobs", "j2", [&](const Json& doc) {
    called = true;
    return Next(std::pair{std::string("j2"), doc});
  });
  EXPECT_EQ(update.error().code, ErrorCode::kNotFound);
  EXPECT_FALSE(called);
}

TEST(DocumentStoreTest, EmptyIdAndUnstorableDocumentsAreRefused) {
  ScratchDir dir;
  auto store = openOrDie(dir.file("s.db"));
  EXPECT_EQ(store->insert("c", "", Json::object()).error().code, ErrorCode::kInvalidArgument);
  Json deep = Json::array();
  for (int i = 0; i < 300; ++i) deep = Json::array({deep});
  auto refused = store->insert("c", "deep", deep);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(*store->count("c"), 0u);
}

TEST(DocumentStoreTest, UpdateAppliesTheFunction) {
  ScratchDir dir;
  auto store = openOrDie(dir.file("s.db"));
  ASSERT_TRUE(store->insert("jobs", "j1", {{"job_status", "pending"}, {"attempts", 0}}));
  auto updated = store->update("jobs", "j1", [](const Json& doc) {
    Json next = doc;
    next["job_status"] = "running";
    next["attempts"] = doc["attempts"].get<int>() + 1;
    return Next(std::pair{std::string("j1"), next});
  });
  ASSERT_TRUE(updated) << updated.error().describe();
  EXPECT_EQ(dumpJson(*updated), R"({"job_status":"running","attempts":1})");
  EXPECT_EQ(*store->get("jobs", "j1"), *updated);
}

TEST(DocumentStoreTest, UpdateErrorOrExceptionChangesNothing) {
  ScratchDir dir;
  auto store = openOrDie(dir.file("s.db"));
  ASSERT_TRUE(store->insert("jobs", "j1", {{"v", 1}}));
  auto refused = store->update("jobs", "j1", [](const Json&) -> Next {
    return makeError(ErrorCode::kInvalidArgument, "bad $inc");
  });
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message, "bad $inc");
  // A throwing function must still release the write lock and roll back.
  EXPECT_THROW((void)store->update("jobs", "j1",
                                   [](const Json&) -> Next {
                                     throw std::runtime_error("boom");
                                   }),
               std::runtime_error);
  EXPECT_EQ(*store->get("jobs", "j1"), Json({{"v", 1}}));
  EXPECT_TRUE(store->insert("jobs", "j2", {{"v", 2}}));
}

TEST(DocumentStoreTest, UpdateMovesTheIdAndKeepsItsPlace) {
  ScratchDir dir;
  auto store = openOrDie(dir.file("s.db"));
  for (const char* name : {"a", "b", "c"})
    ASSERT_TRUE(store->insert("policies", std::string(name) + ":1.0-stable", {{"name", name}}));
  auto moved = store->update("policies", "b:1.0-stable", [](const Json&) {
    return Next(
        std::pair{std::string("b2:1.0-stable"), Json({{"name", "b2"}})});
  });
  ASSERT_TRUE(moved) << moved.error().describe();
  EXPECT_EQ(store->get("policies", "b:1.0-stable").error().code, ErrorCode::kNotFound);
  EXPECT_EQ((*store->get("policies", "b2:1.0-stable"))["name"], "b2");
  EXPECT_EQ(names(*store->scan("policies", kAll)), (std::vector<std::string>{"a", "b2", "c"}));
}

TEST(DocumentStoreTest, UpdateOntoATakenIdIsRefused) {
  ScratchDir dir;
  auto store = openOrDie(dir.file("s.db"));
  ASSERT_TRUE(store->insert("policies", "a", {{"name", "a"}}));
  ASSERT_TRUE(store->insert("policies", "b", {{"name", "b"}}));
  auto clash = store->update("policies", "a", [](const Json&) {
    return Next(
        std::pair{std::string("b"), Json({{"name", "b-from-a"}})});
  });
  ASSERT_FALSE(clash);
  EXPECT_TRUE(isAlreadyExists(clash.error())) << clash.error().describe();
  EXPECT_EQ((*store->get("policies", "a"))["name"], "a");
  EXPECT_EQ((*store->get("policies", "b"))["name"], "b");
}

TEST(DocumentStoreTest, KeyOrderIsKeptByteForByte) {
  ScratchDir dir;
  std::string path = dir.file("s.db");
  const std::string text =
      R"({"zeta":1,"alpha":{"y":[3,2,1],"b":null,"a":true},"mid":"hé✓ \"q\"","big":)"
      R"(18446744073709551615,"neg":-42,"pi":3.14159,"empty":{},"list":[{"k2":1,"k1":2}]})";
  Json doc = *parseJson(text);
  ASSERT_EQ(dumpJson(doc), text);
  {
    auto store = openOrDie(path);
    ASSERT_TRUE(store->insert("graphs", "g", doc));
    EXPECT_EQ(dumpJson(*store->get("graphs", "g")), text);
    EXPECT_EQ(dumpJson((*store->scan("graphs", kAll))[0]), text);
  }
  EXPECT_EQ(querySingle(path, "SELECT doc FROM documents WHERE id = 'g'"), text);
  auto reopened = openOrDie(path);
  EXPECT_EQ(dumpJson(*reopened->get("graphs", "g")), text);
  EXPECT_EQ(dumpJson((*reopened->scan("graphs", kAll))[0]), text);
}

TEST(DocumentStoreTest, TimestampsAreColumnsNotFields) {
  ScratchDir dir;
  std::string path = dir.file("s.db");
  auto store = openOrDie(path);
  auto before = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  ASSERT_TRUE(store->insert("c", "x", {{"v", 1}}));
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_TRUE(store->replace("c", "x", {{"v", 2}}));
  EXPECT_EQ(*store->get("c", "x"), Json({{"v", 2}}));
  long long created = std::stoll(querySingle(path, "SELECT created_at FROM documents"));
  long long updated = std::stoll(querySingle(path, "SELECT updated_at FROM documents"));
  EXPECT_GE(created, before);
  EXPECT_GE(updated, created + 5);
}

TEST(DocumentStoreTest, ScanFiltersInInsertionOrderWithLimit) {
  ScratchDir dir;
  auto store = openOrDie(dir.file("s.db"));
  // Ids deliberately out of alphabetical order: the order is insertion's, not the id's.
  for (int i = 0; i < 20; ++i)
    ASSERT_TRUE(store->insert("p", "id-" + std::to_string(19 - i),
                              {{"name", "n" + std::to_string(i)}, {"even", i % 2 == 0}}));
  auto even = [](const Json& doc) -> Result<bool> { return doc["even"].get<bool>(); };
  auto all_even = store->scan("p", even);
  ASSERT_TRUE(all_even);
  EXPECT_EQ(all_even->size(), 10u);
  EXPECT_EQ(names(*all_even).front(), "n0");
  EXPECT_EQ(names(*all_even).back(), "n18");
  EXPECT_EQ(names(*store->scan("p", even, 3)), (std::vector<std::string>{"n0", "n2", "n4"}));
  auto shared = store->scanShared("p", even, 2);
  ASSERT_TRUE(shared);
  ASSERT_EQ(shared->size(), 2u);
  EXPECT_EQ((*(*shared)[1])["name"], "n2");
  EXPECT_TRUE(store->scan("none", kAll)->empty());

  int seen = 0;
  auto failing = store->scan("p", [&](const Json&) -> Result<bool> {
    if (++seen == 5) return makeError(ErrorCode::kInvalidArgument, "bad $regex");
    return true;
  });
  ASSERT_FALSE(failing);
  EXPECT_EQ(failing.error().message, "bad $regex");
}

TEST(DocumentStoreTest, CachedScansFollowEveryKindOfWrite) {
  ScratchDir dir;
  std::string path = dir.file("s.db");
  auto store = openOrDie(path);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(store->insert("p", std::to_string(i), {{"name", i}}));
  ASSERT_EQ(store->scan("p", kAll)->size(), 5u);  // fills the cache
  ASSERT_TRUE(store->insert("p", "5", {{"name", 5}}));
  ASSERT_TRUE(store->replace("p", "1", {{"name", 10}}));
  ASSERT_TRUE(store->remove("p", "2"));
  ASSERT_TRUE(store->update("p", "3", [](const Json&) {
    return Next(std::pair{std::string("33"), Json({{"name", 33}})});
  }));
  auto expected = Json::array({{{"name", 0}}, {{"name", 10}}, {{"name", 33}}, {{"name", 4}},
                               {{"name", 5}}});
  EXPECT_EQ(Json(*store->scan("p", kAll)), expected);
  // A second store on the file starts cold, from the rows: it must agree.
  auto fresh = openOrDie(path);
  EXPECT_EQ(Json(*fresh->scan("p", kAll)), expected);
}

TEST(DocumentStoreTest, ScansSeeWritesFromOtherWriters) {
  ScratchDir dir;
  std::string path = dir.file("s.db");
  auto a = openOrDie(path);
  auto b = openOrDie(path);
  ASSERT_TRUE(a->insert("p", "1", {{"name", 1}}));
  ASSERT_EQ(a->scan("p", kAll)->size(), 1u);
  ASSERT_TRUE(b->insert("p", "2", {{"name", 2}}));
  EXPECT_EQ(a->scan("p", kAll)->size(), 2u);
  // A writer that knows nothing of the store (an operator's sqlite3 shell).
  EXPECT_EQ(querySingle(path, R"(UPDATE documents SET doc = '{"name":9}' WHERE id = '1')"),
            "<done>");
  EXPECT_EQ((*a->scan("p", kAll))[0], Json({{"name", 9}}));
  // And a write through `a` after the foreign one must not resurrect stale cache entries.
  ASSERT_TRUE(a->insert("p", "3", {{"name", 3}}));
  EXPECT_EQ(Json(*a->scan("p", kAll)),
            Json::array({{{"name", 9}}, {{"name", 2}}, {{"name", 3}}}));
}

TEST(DocumentStoreTest, PersistsAcrossReopen) {
  ScratchDir dir;
  std::string path = dir.file("s.db");
  {
    auto store = openOrDie(path);
    for (int i = 0; i < 50; ++i) ASSERT_TRUE(store->insert("p", std::to_string(i), {{"i", i}}));
    ASSERT_TRUE(store->remove("p", "7"));
  }
  auto store = openOrDie(path);
  EXPECT_EQ(*store->count("p"), 49u);
  EXPECT_EQ((*store->get("p", "49"))["i"], 49);
  EXPECT_EQ(store->get("p", "7").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(querySingle(path, "SELECT version FROM schema_version"), "1");
  EXPECT_EQ(querySingle(path, "PRAGMA journal_mode"), "wal");
}

TEST(DocumentStoreTest, RefusesAFileFromANewerSchema) {
  ScratchDir dir;
  std::string path = dir.file("s.db");
  openOrDie(path).reset();
  EXPECT_EQ(querySingle(path, "UPDATE schema_version SET version = 99"), "<done>");
  auto store = DocumentStore::open(path);
  ASSERT_FALSE(store);
  EXPECT_NE(store.error().message.find("newer"), std::string::npos) << store.error().describe();
}

TEST(DocumentStoreTest, OpenFailureNamesThePath) {
  auto store = DocumentStore::open("/nonexistent-dir/x/s.db");
  ASSERT_FALSE(store);
  EXPECT_NE(store.error().message.find("/nonexistent-dir/x/s.db"), std::string::npos);
}

TEST(DocumentStoreTest, ConcurrentWritersAndReadersLoseNothing) {
  ScratchDir dir;
  auto store = openOrDie(dir.file("s.db"));
  constexpr int kThreads = 8;
  constexpr int kPerThread = 1000;
  std::atomic<int> failures{0};
  std::string first_failure;
  std::mutex failure_mu;
  auto fail = [&](const std::string& what) {
    std::lock_guard lock(failure_mu);
    if (failures++ == 0) first_failure = what;
  };
  std::vector<std::thread> threads;
  auto start = std::chrono::steady_clock::now();
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string id = "t" + std::to_string(t) + "-" + std::to_string(i);
        auto inserted = store->insert("c", id, {{"t", t}, {"i", i}});
        if (!inserted) return fail("insert " + id + ": " + inserted.error().describe());
        auto got = store->get("c", id);
        if (!got || (*got)["i"] != i) return fail("get " + id);
        if (i % 100 == 0) {
          auto mine = store->scan("c", [t](const Json& d) -> Result<bool> { return d["t"] == t; });
          if (!mine || mine->size() != static_cast<size_t>(i + 1)) return fail("scan " + id);
          if (!store->count("c")) return fail("count");
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  double ms = msSince(start);
  ASSERT_EQ(failures.load(), 0) << first_failure;
  EXPECT_EQ(*store->count("c"), size_t{kThreads * kPerThread});
  auto all = store->scan("c", kAll);
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), size_t{kThreads * kPerThread});
  std::vector<int> next(kThreads, 0);
  for (const Json& doc : *all) {  // each thread's writes appear in the order it made them
    int t = doc["t"].get<int>();
    EXPECT_EQ(doc["i"].get<int>(), next[t]++);
  }
  std::printf("[ timing ] 8 threads x 1000 insert+get: %.0f ms\n", ms);
}

// The child inserts documents one by one and reports each committed id on a pipe; the parent
// kills it with SIGKILL at some point, then checks every reported document is in the file.
TEST(DocumentStoreTest, CommittedWritesSurviveSigkill) {
  ScratchDir dir;
  std::string path = dir.file("crash.db");
  const std::string padding(3000, 'p');  // fills the WAL so some kills land in checkpoints
  std::set<int> committed;
  int next_id = 0;
  for (int round = 0; round < 3; ++round) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    int first = next_id;
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(fds[0]);
      auto store = DocumentStore::open(path);
      if (!store) ::_exit(2);
      for (int i = first;; ++i) {
        if (!(*store)->insert("crash", std::to_string(i), {{"i", i}, {"pad", padding}}))
          ::_exit(3);
        if (::write(fds[1], &i, sizeof i) != sizeof i) ::_exit(4);
      }
    }
    ::close(fds[1]);
    int reported = 0;
    int value;
    // Kill at a different point each round.
    while (reported < 700 + 450 * round && ::read(fds[0], &value, sizeof value) == sizeof value) {
      committed.insert(value);
      ++reported;
    }
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited " << WEXITSTATUS(status);
    while (::read(fds[0], &value, sizeof value) == sizeof value) committed.insert(value);
    ::close(fds[0]);
    next_id = *committed.rbegin() + 2;  // the one after the last report may have committed too

    auto store = openOrDie(path);
    auto all = store->scan("crash", kAll);
    ASSERT_TRUE(all) << all.error().describe();
    std::set<int> present;
    for (const Json& doc : *all) present.insert(doc["i"].get<int>());
    for (int id : committed) ASSERT_TRUE(present.count(id)) << "lost committed doc " << id;
    EXPECT_LE(present.size(), committed.size() + round + 1);  // at most one unreported per kill
    store.reset();
    EXPECT_EQ(querySingle(path, "PRAGMA integrity_check"), "ok");
  }
}

TEST(DocumentStoreTest, ScanTenThousandPolicies) {
  ScratchDir dir;
  std::string path = dir.file("s.db");
  auto store = openOrDie(path);
  constexpr int kPolicies = 10000;
  size_t doc_bytes = dumpJson(policyDoc(1234)).size();
  EXPECT_GT(doc_bytes, 1800u);
  EXPECT_LT(doc_bytes, 2600u);
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kPolicies; ++i)
    ASSERT_TRUE(store->insert("policies", "policy-" + std::to_string(i), policyDoc(i)));
  double insert_ms = msSince(start);
  store.reset();
  store = openOrDie(path);  // cold: nothing cached

  auto one = [](const Json& doc) -> Result<bool> { return doc["name"] == "policy-4242"; };
  long rss_before = residentKb();
  start = std::chrono::steady_clock::now();
  auto cold = store->scan("policies", one);
  double cold_ms = msSince(start);
  long cache_kb = residentKb() - rss_before;
  ASSERT_TRUE(cold);
  ASSERT_EQ(cold->size(), 1u);

  start = std::chrono::steady_clock::now();
  auto warm = store->scan("policies", one);
  double warm_ms = msSince(start);
  ASSERT_EQ(warm->size(), 1u);

  start = std::chrono::steady_clock::now();
  auto copied = store->scan("policies", kAll);
  double all_copied_ms = msSince(start);
  ASSERT_EQ(copied->size(), size_t{kPolicies});

  start = std::chrono::steady_clock::now();
  auto shared = store->scanShared("policies", kAll);
  double all_shared_ms = msSince(start);
  ASSERT_EQ(shared->size(), size_t{kPolicies});

  ASSERT_TRUE(store->replace("policies", "policy-7", policyDoc(7)));
  start = std::chrono::steady_clock::now();
  auto after_write = store->scan("policies", one);
  double after_write_ms = msSince(start);
  ASSERT_EQ(after_write->size(), 1u);

  std::printf(
      "[ timing ] %d policies of %zu B: insert %.0f ms (%.1f us each); scan 1 match: cold "
      "(parse all, fill cache) %.1f ms, cached %.2f ms, after a write %.2f ms; scan all: "
      "copies %.1f ms, shared %.2f ms; cache ~%ld KiB RSS\n",
      kPolicies, doc_bytes, insert_ms, insert_ms * 1000 / kPolicies, cold_ms, warm_ms,
      after_write_ms, all_copied_ms, all_shared_ms, cache_kb);
  RecordProperty("cold_scan_ms", std::to_string(cold_ms));
  RecordProperty("cached_scan_ms", std::to_string(warm_ms));
}

}  // namespace
}  // namespace exa::agent
