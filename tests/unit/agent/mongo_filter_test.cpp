// MongoFilter against MongoDB's documented query examples (the manual's inventory collections)
// and the seed's own /policy/query and /executor/query filters.
#include "agent/registry/mongo_filter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>

namespace exa::agent {
namespace {

Json json(const char* text) { return Json::parse(text); }

/// The `id_key` of every document in `collection` that `filter` matches, in order.
Json matching(const Json& collection, const char* filter, const char* id_key = "_id") {
  auto compiled = MongoFilter::compile(json(filter));
  EXPECT_TRUE(compiled) << filter << ": " << compiled.error().message;
  Json ids = Json::array();
  if (!compiled) return ids;
  for (const Json& doc : collection) {
    auto matched = compiled->matches(doc);
    EXPECT_TRUE(matched) << filter << ": " << matched.error().message;
    if (matched && *matched) ids.push_back(doc.value(id_key, Json()));
  }
  return ids;
}

struct Case {
  const char* filter;
  const char* expected;  ///< JSON array of ids
};

void expectCases(const Json& collection, const std::vector<Case>& cases,
                 const char* id_key = "_id") {
  for (const Case& c : cases) {
    EXPECT_EQ(matching(collection, c.filter, id_key), json(c.expected)) << c.filter;
  }
}

std::string compileError(const char* filter) {
  auto compiled = MongoFilter::compile(json(filter));
  return compiled ? std::string("<compiled>") : compiled.error().message;
}

// The seed's ip_allowlist policy record (policies-system.md, "Create the policy DB entry").
const char* kIpAllowlistPolicy = R"({
  "name": "ip_allowlist", "version": "1.0", "release_tag": "beta",
  "metadata": {"author_name": "Prasanna", "category": "network_access_control",
               "audience": ["network_admins", "security_teams"],
               "compliance_tags": ["ISO27001", "SOC2"]},
  "tags": "network,security,ip,access,allowlist",
  "code": "https://example.com/code/ip_allowlist_policy.zip",
  "type": "python_class_v1",
  "policy_input_schema": {"ip": {"type": "string", "pattern": "^\\d{1,3}(\\.\\d{1,3}){3}$"}},
  "policy_settings": {"allowlist_api": "https://example.com/api/allowlist"},
  "policy_parameters": {"local_allowlist": ["127.0.0.1", "192.168.0.1"]},
  "description": "Policy that checks whether a given IP is allowed."
})";

// The seed's executor registration payload (its trailing comma removed).
const char* kExecutor = R"({
  "executor_id": "executor-001",
  "executor_metadata": {"author_name": "Prasanna", "country": "US",
                        "tags": ["amd_64", "kubernetes-cluster", "NIC"],
                        "description": "My executor deployed on kubernetes"},
  "executor_hardware_info": {
    "nodes": {"count": 2, "nodeData": [
      {"id": "node-001", "vcpus": {"count": 12}, "memory": 32005, "swap": 975,
       "storage": {"disks": 53, "size": 488742},
       "network": {"interfaces": 10, "txBandwidth": 0, "rxBandwidth": 0}},
      {"id": "node-002", "vcpus": {"count": 12}, "memory": 32005, "swap": 975,
       "storage": {"disks": 53, "size": 488742},
       "network": {"interfaces": 10, "txBandwidth": 0, "rxBandwidth": 0}}]},
    "vcpus": {"count": 24}, "memory": 64010, "swap": 1950,
    "storage": {"disks": 106, "size": 977484},
    "network": {"interfaces": 20, "txBandwidth": 0, "rxBandwidth": 0},
    "id": "cluster-123"}
})";

const char* kSeedPolicyQuery =
    R"({"release_tag": "beta", "tags": {"$regex": "security"}, "version": {"$gte": "1.0"}})";

TEST(MongoFilterTest, SeedPolicyQuery) {
  Json policy = json(kIpAllowlistPolicy);
  auto filter = MongoFilter::compile(json(kSeedPolicyQuery));
  ASSERT_TRUE(filter) << filter.error().message;
  EXPECT_TRUE(*filter->matches(policy));

  Json other = policy;
  other["tags"] = "network,ip";
  EXPECT_FALSE(*filter->matches(other));
  other = policy;
  other["release_tag"] = "stable";
  EXPECT_FALSE(*filter->matches(other));
  // $gte on the string version is BSON's bytewise string order, as the original's MongoDB
  // ("10.0" passes here only because "10.0" > "1.0" bytewise; it also sorts below "9.0"), and
  // a number never compares with a string.
  for (const char* version : {R"("0.9")", R"("1")", "2.0", "1"}) {
    other = policy;
    other["version"] = json(version);
    EXPECT_FALSE(*filter->matches(other)) << version;
  }
  for (const char* version : {R"("1.0")", R"("1.0.1")", R"("9.0")", R"("10.0")"}) {
    other = policy;
    other["version"] = json(version);
    EXPECT_TRUE(*filter->matches(other)) << version;
  }
}

TEST(MongoFilterTest, SeedExecutorQuery) {
  Json executor = json(kExecutor);
  const char* query = R"({"executor_metadata.tags": {"$in": ["kubernetes-cluster"]},
                          "executor_hardware_info.vcpus.count": {"$gte": 16}})";
  auto filter = MongoFilter::compile(json(query));
  ASSERT_TRUE(filter) << filter.error().message;
  EXPECT_TRUE(*filter->matches(executor));

  Json small = executor;
  small["executor_hardware_info"]["vcpus"]["count"] = 12;
  EXPECT_FALSE(*filter->matches(small));
  Json untagged = executor;
  untagged["executor_metadata"]["tags"] = json(R"(["amd_64"])");
  EXPECT_FALSE(*filter->matches(untagged));

  // Paths through the array of nodes: any node matches.
  Json nodes = Json::array({executor});
  expectCases(nodes, {
      {R"({"executor_hardware_info.nodes.nodeData.vcpus.count": 12})", R"(["executor-001"])"},
      {R"({"executor_hardware_info.nodes.nodeData.id": "node-002"})", R"(["executor-001"])"},
      {R"({"executor_hardware_info.nodes.nodeData.1.id": "node-002"})", R"(["executor-001"])"},
      {R"({"executor_hardware_info.nodes.nodeData.0.id": "node-002"})", "[]"},
      {R"({"executor_metadata.tags": "NIC"})", R"(["executor-001"])"},
      {R"({"executor_metadata.tags.2": "NIC"})", R"(["executor-001"])"},
  }, "executor_id");
}

TEST(MongoFilterTest, EmptyFilterMatchesEverything) {
  Json docs = json(R"([{"_id": 1}, {"_id": 2, "a": null}])");
  expectCases(docs, {{"{}", "[1, 2]"}, {R"({"$comment": "list all"})", "[1, 2]"}});
}

// Manual: "Query an Array".
TEST(MongoFilterTest, QueryAnArray) {
  Json inventory = json(R"([
    {"_id": "journal", "qty": 25, "tags": ["blank", "red"], "dim_cm": [14, 21]},
    {"_id": "notebook", "qty": 50, "tags": ["red", "blank"], "dim_cm": [14, 21]},
    {"_id": "paper", "qty": 100, "tags": ["red", "blank", "plain"], "dim_cm": [14, 21]},
    {"_id": "planner", "qty": 75, "tags": ["blank", "red"], "dim_cm": [22.85, 30]},
    {"_id": "postcard", "qty": 45, "tags": ["blue"], "dim_cm": [10, 15.25]}])");
  expectCases(inventory, {
      {R"({"tags": ["red", "blank"]})", R"(["notebook"])"},
      {R"({"tags": {"$all": ["red", "blank"]}})", R"(["journal", "notebook", "paper", "planner"])"},
      {R"({"tags": "red"})", R"(["journal", "notebook", "paper", "planner"])"},
      {R"({"dim_cm": {"$gt": 25}})", R"(["planner"])"},
      {R"({"dim_cm": {"$gt": 15, "$lt": 20}})", R"(["journal", "notebook", "paper", "postcard"])"},
      {R"({"dim_cm": {"$elemMatch": {"$gt": 22, "$lt": 30}}})", R"(["planner"])"},
      {R"({"dim_cm.1": {"$gt": 25}})", R"(["planner"])"},
      {R"({"tags": {"$size": 3}})", R"(["paper"])"},
      {R"({"tags": {"$size": 2.0}})", R"(["journal", "notebook", "planner"])"},
      {R"({"tags": {"$eq": ["blank", "red"]}})", R"(["journal", "planner"])"},
      {R"({"tags": {"$ne": "red"}})", R"(["postcard"])"},
  });
}

// Manual: "Query an Array of Embedded Documents".
TEST(MongoFilterTest, QueryAnArrayOfEmbeddedDocuments) {
  Json inventory = json(R"([
    {"_id": "journal", "instock": [{"warehouse": "A", "qty": 5}, {"warehouse": "C", "qty": 15}]},
    {"_id": "notebook", "instock": [{"warehouse": "C", "qty": 5}]},
    {"_id": "paper", "instock": [{"warehouse": "A", "qty": 60}, {"warehouse": "B", "qty": 15}]},
    {"_id": "planner", "instock": [{"warehouse": "A", "qty": 40}, {"warehouse": "B", "qty": 5}]},
    {"_id": "postcard", "instock": [{"warehouse": "B", "qty": 15}, {"warehouse": "C", "qty": 35}]}
  ])");
  expectCases(inventory, {
      {R"({"instock": {"warehouse": "A", "qty": 5}})", R"(["journal"])"},
      // Document equality is field-order sensitive.
      {R"({"instock": {"qty": 5, "warehouse": "A"}})", "[]"},
      {R"({"instock.0.qty": {"$lte": 20}})", R"(["journal", "notebook", "postcard"])"},
      {R"({"instock.qty": {"$lte": 20}})",
       R"(["journal", "notebook", "paper", "planner", "postcard"])"},
      {R"({"instock": {"$elemMatch": {"qty": 5, "warehouse": "A"}}})", R"(["journal"])"},
      {R"({"instock": {"$elemMatch": {"qty": {"$gt": 10, "$lte": 20}}}})",
       R"(["journal", "paper", "postcard"])"},
      {R"({"instock.qty": {"$gt": 10, "$lte": 20}})",
       R"(["journal", "paper", "planner", "postcard"])"},
      {R"({"instock.qty": 5, "instock.warehouse": "A"})", R"(["journal", "planner"])"},
  });
}

// Manual: "Query for Null or Missing Fields", $exists, $ne and $nin on missing fields.
TEST(MongoFilterTest, NullAndMissingFields) {
  Json inventory = json(R"([{"_id": 1, "item": null}, {"_id": 2}, {"_id": 3, "item": "x"},
                            {"_id": 4, "item": [null, "y"]}, {"_id": 5, "item": []}])");
  expectCases(inventory, {
      {R"({"item": null})", "[1, 2, 4]"},
      {R"({"item": {"$eq": null}})", "[1, 2, 4]"},
      {R"({"item": {"$exists": false}})", "[2]"},
      {R"({"item": {"$exists": true}})", "[1, 3, 4, 5]"},
      {R"({"item": {"$exists": 0}})", "[2]"},
      {R"({"item": {"$ne": null}})", "[3, 5]"},
      {R"({"item": {"$in": [null]}})", "[1, 2, 4]"},
      {R"({"item": {"$nin": [null]}})", "[3, 5]"},
      {R"({"item": {"$gte": null}})", "[1, 2, 4]"},
      {R"({"item": {"$lt": null}})", "[]"},
      {R"({"item": {"$ne": "x"}})", "[1, 2, 4, 5]"},
      {R"({"item": {"$nin": ["x", "y"]}})", "[1, 2, 5]"},
  });
  // Dotted paths: a missing subfield is null, an array of scalars yields nothing.
  Json nested = json(R"([{"_id": 1, "a": {"b": null}}, {"_id": 2, "a": 5}, {"_id": 3, "a": [1, 2]},
                         {"_id": 4, "a": [{"c": 1}]}, {"_id": 5, "a": []}, {"_id": 6}])");
  expectCases(nested, {
      {R"({"a.b": null})", "[1, 2, 4, 6]"},
      {R"({"a.b": {"$exists": false}})", "[2, 3, 4, 5, 6]"},
  });
}

// Manual: $in and $nin.
TEST(MongoFilterTest, InAndNin) {
  Json inventory = json(R"([
    {"_id": "Pens", "quantity": 350, "tags": ["school", "office"]},
    {"_id": "Erasers", "quantity": 15, "tags": ["school", "home"]},
    {"_id": "Maps", "tags": ["office", "storage"]},
    {"_id": "Books", "quantity": 5, "tags": ["school", "storage", "home"]}])");
  expectCases(inventory, {
      {R"({"quantity": {"$in": [5, 15]}})", R"(["Erasers", "Books"])"},
      {R"({"quantity": {"$in": [5.0, 15.0]}})", R"(["Erasers", "Books"])"},
      {R"({"quantity": {"$nin": [5, 15]}})", R"(["Pens", "Maps"])"},
      {R"({"tags": {"$in": ["home", "nowhere"]}})", R"(["Erasers", "Books"])"},
      {R"({"tags": {"$nin": ["school"]}})", R"(["Maps"])"},
      {R"({"tags": {"$in": [["office", "storage"]]}})", R"(["Maps"])"},
      {R"({"tags": {"$in": []}})", "[]"},
      {R"({"tags": {"$nin": []}})", R"(["Pens", "Erasers", "Maps", "Books"])"},
  });
}

// Manual: $exists with the spices collection.
TEST(MongoFilterTest, Exists) {
  Json spices = json(R"([
    {"_id": 1, "saffron": 5, "cinnamon": 5, "mustard": null},
    {"_id": 2, "saffron": 3, "cinnamon": null, "mustard": 8},
    {"_id": 3, "saffron": null, "cinnamon": 3, "mustard": 9},
    {"_id": 4, "saffron": 1, "cinnamon": 2, "mustard": 3},
    {"_id": 5, "saffron": 2, "mustard": 5}, {"_id": 6, "saffron": 3, "cinnamon": 2},
    {"_id": 7, "saffron": 4}, {"_id": 8, "cinnamon": 2, "mustard": 4}, {"_id": 9, "cinnamon": 2},
    {"_id": 10, "mustard": 6}])");
  expectCases(spices, {
      {R"({"saffron": {"$exists": true}})", "[1, 2, 3, 4, 5, 6, 7]"},
      {R"({"cinnamon": {"$exists": false}})", "[5, 7, 10]"},
  });
}

// Manual: $all, including nested arrays and $elemMatch elements.
TEST(MongoFilterTest, All) {
  Json inventory = json(R"([
    {"_id": "xyz", "tags": ["school", "book", "bag", "headphone", "appliance"],
     "qty": [{"size": "S", "num": 10, "color": "blue"}, {"size": "M", "num": 45, "color": "blue"},
             {"size": "L", "num": 100, "color": "green"}]},
    {"_id": "abc", "tags": ["appliance", "school", "book"],
     "qty": [{"size": "6", "num": 100, "color": "green"}, {"size": "6", "num": 50, "color": "blue"},
             {"size": "8", "num": 100, "color": "brown"}]},
    {"_id": "efg", "tags": ["school", "book"],
     "qty": [{"size": "S", "num": 10, "color": "blue"}, {"size": "M", "num": 100, "color": "blue"},
             {"size": "L", "num": 100, "color": "green"}]},
    {"_id": "ijk", "tags": ["electronics", "school"],
     "qty": [{"size": "M", "num": 100, "color": "green"}]}])");
  expectCases(inventory, {
      {R"({"tags": {"$all": ["appliance", "school", "book"]}})", R"(["xyz", "abc"])"},
      {R"({"qty": {"$all": [{"$elemMatch": {"size": "M", "num": {"$gt": 50}}},
                            {"$elemMatch": {"num": 100, "color": "green"}}]}})",
       R"(["efg", "ijk"])"},
      {R"({"qty.num": {"$all": [50]}})", R"(["abc"])"},
      {R"({"qty.num": 50})", R"(["abc"])"},
      {R"({"tags": {"$all": []}})", "[]"},
  });
  Json nested = json(R"([{"_id": 1, "tags": [["ssl", "security"], "x"]},
                         {"_id": 2, "tags": ["ssl", "security"]}, {"_id": 3, "tags": ["ssl"]},
                         {"_id": 4, "tags": "ssl"}])");
  expectCases(nested, {
      {R"({"tags": {"$all": [["ssl", "security"]]}})", "[1, 2]"},
      {R"({"tags": {"$all": ["ssl"]}})", "[2, 3, 4]"},
  });
}

// Manual: $elemMatch on values and on embedded documents.
TEST(MongoFilterTest, ElemMatch) {
  Json scores = json(R"([{"_id": 1, "results": [82, 85, 88]}, {"_id": 2, "results": [75, 88, 89]},
                         {"_id": 3, "results": 82}, {"_id": 4, "results": [[82]]}])");
  expectCases(scores, {
      {R"({"results": {"$elemMatch": {"$gte": 80, "$lt": 85}}})", "[1]"},
      {R"({"results": {"$elemMatch": {"$not": {"$gte": 80}}}})", "[2, 4]"},  // [82] is not >= 80
      {R"({"results": {"$elemMatch": {"$ne": 82}}})", "[1, 2, 4]"},
      {R"({"results": {"$elemMatch": {"$elemMatch": {"$eq": 82}}}})", "[4]"},
  });
  Json survey = json(R"([
    {"_id": 1, "results": [{"product": "abc", "score": 10}, {"product": "xyz", "score": 5}]},
    {"_id": 2, "results": [{"product": "abc", "score": 8}, {"product": "xyz", "score": 7}]},
    {"_id": 3, "results": [{"product": "abc", "score": 7}, {"product": "xyz", "score": 8}]},
    {"_id": 4, "results": [{"product": "abc", "score": 7}, {"product": "def", "score": 8}]},
    {"_id": 5, "results": {"product": "xyz", "score": 7}}])");
  expectCases(survey, {
      {R"({"results": {"$elemMatch": {"product": "xyz", "score": {"$gte": 8}}}})", "[3]"},
      {R"({"results": {"$elemMatch": {"product": "xyz"}}})", "[1, 2, 3]"},
      {R"({"results.product": "xyz"})", "[1, 2, 3, 5]"},
      {R"({"results": {"$elemMatch": {"product": {"$ne": "xyz"}}}})", "[1, 2, 3, 4]"},
      {R"({"results.product": {"$ne": "xyz"}})", "[4]"},
      {R"({"results": {"$elemMatch": {"$or": [{"score": 10}, {"product": "def"}]}}})", "[1, 4]"},
      {R"({"results": {"$elemMatch": {}}})", "[1, 2, 3, 4]"},
  });
}

TEST(MongoFilterTest, Size) {
  Json docs = json(R"([{"_id": 1, "a": [1, 2]}, {"_id": 2, "a": [[1, 2]]}, {"_id": 3, "a": 2},
                       {"_id": 4, "a": []}, {"_id": 5, "b": [{"a": [1, 2]}, {"a": [3]}]}])");
  expectCases(docs, {
      {R"({"a": {"$size": 2}})", "[1]"},  // the whole array only, never its elements
      {R"({"a": {"$size": 1}})", "[2]"},
      {R"({"a": {"$size": 0}})", "[4]"},
      {R"({"b.a": {"$size": 1}})", "[5]"},
      {R"({"a": {"$not": {"$size": 2}}})", "[2, 3, 4, 5]"},
  });
}

// Manual: $not, $and, $or, $nor.
TEST(MongoFilterTest, LogicalOperators) {
  Json inventory = json(R"([{"_id": 1, "item": "paper", "price": 1.99, "sale": true, "qty": 5},
                            {"_id": 2, "item": "pen", "price": 2.5, "sale": false, "qty": 30},
                            {"_id": 3, "item": "ink", "qty": 15},
                            {"_id": 4, "item": "pencil", "price": 0.99, "qty": 100}])");
  expectCases(inventory, {
      {R"({"price": {"$not": {"$gt": 1.99}}})", "[1, 3, 4]"},
      {R"({"item": {"$not": {"$regex": "^p.*"}}})", "[3]"},
      {R"({"$nor": [{"price": 1.99}, {"sale": true}]})", "[2, 3, 4]"},
      {R"({"$nor": [{"price": 1.99}, {"qty": {"$lt": 20}}, {"sale": true}]})", "[2, 4]"},
      {R"({"$or": [{"qty": {"$lt": 20}}, {"price": 2.5}]})", "[1, 2, 3]"},
      {R"({"$and": [{"price": {"$ne": 1.99}}, {"price": {"$exists": true}}]})", "[2, 4]"},
      {R"({"$and": [{"$or": [{"qty": {"$lt": 10}}, {"qty": {"$gt": 50}}]},
                    {"$or": [{"sale": true}, {"price": {"$lt": 5}}]}]})", "[1, 4]"},
      {R"({"price": {"$gt": 1, "$lt": 2}})", "[1]"},
  });
}

// Manual: $regex with each of the i m s x options.
TEST(MongoFilterTest, RegexOptions) {
  Json products = json(R"([
    {"_id": 100, "sku": "abc123", "description": "Single line description."},
    {"_id": 101, "sku": "abc789", "description": "First line\nSecond line"},
    {"_id": 102, "sku": "xyz456", "description": "Many spaces before     line"},
    {"_id": 103, "sku": "xyz789", "description": "Multiple\nline description"},
    {"_id": 104, "sku": ["xyz000", "ABC000"], "description": 7}])");
  expectCases(products, {
      {R"({"sku": {"$regex": "789$"}})", "[101, 103]"},
      {R"({"sku": {"$regex": "^ABC", "$options": "i"}})", "[100, 101, 104]"},
      {R"({"sku": {"$regex": "^ABC"}})", "[104]"},
      {R"({"description": {"$regex": "^S", "$options": "m"}})", "[100, 101]"},
      {R"({"description": {"$regex": "^S"}})", "[100]"},
      {R"({"description": {"$regex": "m.*line", "$options": "si"}})", "[102, 103]"},
      {R"({"description": {"$regex": "m.*line", "$options": "i"}})", "[102]"},
      {R"({"sku": {"$regex": "abc #category code\n123 #item number", "$options": "x"}})", "[100]"},
      {R"({"sku": {"$options": "i", "$regex": "^XYZ"}})", "[102, 103, 104]"},
      {R"({"sku": {"$in": ["abc123"], "$regex": "^abc"}})", "[100]"},
  });
}

TEST(MongoFilterTest, ComparisonTypeBracketingAndNumbers) {
  Json docs = json(R"([{"_id": 1, "v": 5}, {"_id": 2, "v": 5.0}, {"_id": 3, "v": "5"},
                       {"_id": 4, "v": 5.5}, {"_id": 5, "v": true}, {"_id": 6, "v": null},
                       {"_id": 7, "v": 9007199254740993}, {"_id": 8, "v": -3},
                       {"_id": 9, "v": {"x": 1}}, {"_id": 10, "v": [4, "a"]}])");
  expectCases(docs, {
      {R"({"v": 5})", "[1, 2]"},
      {R"({"v": 5.0})", "[1, 2]"},
      {R"({"v": {"$gt": 5}})", "[4, 7]"},
      {R"({"v": {"$gte": 5}})", "[1, 2, 4, 7]"},
      {R"({"v": {"$lt": 5.5}})", "[1, 2, 8, 10]"},
      {R"({"v": {"$lte": "5"}})", "[3]"},
      {R"({"v": {"$gt": false}})", "[5]"},
      {R"({"v": {"$gt": "4"}})", "[3, 10]"},
      // 2^53 + 1 is not equal to the double 2^53: compared exactly, not through double.
      {R"({"v": 9007199254740992.0})", "[]"},
      {R"({"v": {"$gt": 9007199254740992.0}})", "[7]"},
      {R"({"v": {"$gte": {"x": 0}}})", "[9]"},
      {R"({"v": {"$lt": {"x": 1}}})", "[]"},
      {R"({"v": {"$gt": [4]}})", "[10]"},
      {R"({"v": {"$in": [true, -3]}})", "[5, 8]"},
  });
}

TEST(MongoFilterTest, StringsCompareBytewise) {
  Json docs = json(R"([{"_id": 1, "s": "B"}, {"_id": 2, "s": "a"}, {"_id": 3, "s": "é"},
                       {"_id": 4, "s": "10.0"}, {"_id": 5, "s": "9.0"}])");
  expectCases(docs, {
      {R"({"s": {"$gt": "Z"}})", "[2, 3]"},
      {R"({"s": {"$gt": "z"}})", "[3]"},
      {R"({"s": {"$lt": "9.0"}})", "[4]"},
  });
}

TEST(MongoFilterTest, CompareBsonOrdersTypeClasses) {
  // Documents compare each field's value type before its name: {b: 0} < {a: "1"}.
  const char* ascending[] = {"null", "-1e300", "-5", "0", "0.5", "1", "18446744073709551615",
                             "1e300", R"("")", R"("A")", R"("a")", "{}", R"({"a": 1})",
                             R"({"b": 0})", R"({"a": "1"})", "[]", "[1]", "[1, 2]", "[2]",
                             "false", "true"};
  for (size_t i = 0; i + 1 < std::size(ascending); ++i) {
    EXPECT_LT(compareBson(json(ascending[i]), json(ascending[i + 1])), 0)
        << ascending[i] << " < " << ascending[i + 1];
    EXPECT_GT(compareBson(json(ascending[i + 1]), json(ascending[i])), 0);
  }
  EXPECT_TRUE(bsonEqual(json(R"({"a": [1, 2.0]})"), json(R"({"a": [1.0, 2]})")));
  EXPECT_FALSE(bsonEqual(json(R"({"a": 1, "b": 2})"), json(R"({"b": 2, "a": 1})")));
}

TEST(MongoFilterTest, DottedPathsAndArrayOffsets) {
  Json docs = json(R"([
    {"_id": 1, "a": [{"b": [1, 2]}, {"b": 3}]},
    {"_id": 2, "a": [[{"b": 1}]]},
    {"_id": 3, "a": {"0": {"b": 1}}},
    {"_id": 4, "a": [{"0": {"b": 9}}, {"b": 4}]},
    {"_id": 5, "a": [[1, 2], [3]]}])");
  expectCases(docs, {
      {R"({"a.b": 1})", "[1]"},  // nested arrays are not traversed implicitly
      {R"({"a.b": 3})", "[1]"},
      {R"({"a.0.b": 1})", "[1, 2, 3]"},
      {R"({"a.0.b": 9})", "[4]"},  // field "0" of an element, and the element at offset 0
      {R"({"a.1.b": 4})", "[4]"},
      {R"({"a.0.0.b": 1})", "[2]"},
      {R"({"a.1": [3]})", "[5]"},
      {R"({"a.0.1": 2})", "[5]"},
      {R"({"a.1": 3})", "[]"},  // an element named by offset is not expanded
      {R"({"a": [1, 2]})", "[5]"},
      {R"({"a": 1})", "[]"},
  });
}

TEST(MongoFilterTest, DocumentEquality) {
  Json docs = json(R"([{"_id": 1, "size": {"h": 14, "w": 21, "uom": "cm"}},
                       {"_id": 2, "size": {"w": 21, "h": 14, "uom": "cm"}},
                       {"_id": 3, "size": {"h": 14.0, "w": 21, "uom": "cm"}}])");
  expectCases(docs, {
      {R"({"size": {"h": 14, "w": 21, "uom": "cm"}})", "[1, 3]"},
      {R"({"size.h": 14, "size.uom": "cm"})", "[1, 2, 3]"},
      {R"({"size": {"$eq": {"w": 21, "h": 14, "uom": "cm"}}})", "[2]"},
      {R"({"size": {"$in": [{"w": 21, "h": 14, "uom": "cm"}]}})", "[2]"},
      {R"({"size": {}})", "[]"},
  });
}

TEST(MongoFilterTest, CompileErrorsNameOperatorAndPath) {
  struct ErrorCase {
    const char* filter;
    const char* message;
  };
  const ErrorCase cases[] = {
      {R"({"version": {"$foo": 1}})", "unknown operator $foo at version"},
      {R"({"tags": {"$regex": "(ab"}})", "tags.$regex: missing closing parenthesis at offset 3"},
      {R"({"tags": {"$regex": "a", "$options": "q"}})", "tags.$regex: invalid flag 'q'"},
      {R"({"tags": {"$options": "i"}})", "tags.$options: needs a $regex"},
      {R"({"tags": {"$regex": 5}})", "tags.$regex: needs a string"},
      {R"({"tags": {"$in": "x"}})", "tags.$in: needs an array"},
      {R"({"tags": {"$in": [{"$gt": 1}]}})", "tags.$in: cannot nest $ operators"},
      {R"({"tags": {"$nin": 1}})", "tags.$nin: needs an array"},
      {R"({"tags": {"$all": 1}})", "tags.$all: needs an array"},
      {R"({"tags": {"$size": -1}})", "tags.$size: needs a non-negative whole number"},
      {R"({"tags": {"$size": 1.5}})", "tags.$size: needs a non-negative whole number"},
      {R"({"tags": {"$not": 5}})", "tags.$not: needs an operator document"},
      {R"({"tags": {"$not": {"a": 1}}})", "tags.$not: needs an operator document"},
      {R"({"tags": {"$elemMatch": 5}})", "tags.$elemMatch: needs a document"},
      {R"({"tags": {"$gt": 1, "b": 2}})", "unknown operator b at tags"},
      {R"({"a": {"$elemMatch": {"b": {"$bad": 1}}}})", "unknown operator $bad at a.$elemMatch.b"},
      {R"({"$and": []})", "$and: needs a non-empty array"},
      {R"({"$or": {}})", "$or: needs a non-empty array"},
      {R"({"$nor": [1]})", "$nor.0: must be a filter document"},
      {R"({"$where": "true"})", "unknown top-level operator $where"},
      {R"({"$expr": {}})", "unknown top-level operator $expr"},
      {R"({"a": {"$not": {"$regex": "["}}})", "a.$regex: missing terminating ]"},
      {"[1]", "filter must be a JSON object"},
  };
  for (const ErrorCase& c : cases) {
    std::string message = compileError(c.filter);
    EXPECT_NE(message.find(c.message), std::string::npos) << c.filter << " -> " << message;
  }
  auto bad = MongoFilter::compile(json(R"({"a": {"$foo": 1}})"));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
}

TEST(MongoFilterTest, RefusesDeepNesting) {
  std::string filter = R"({"a": 1})";
  for (int i = 0; i < 120; ++i) filter = R"({"$and": [)" + filter + "]}";
  EXPECT_NE(compileError(filter.c_str()).find("nested deeper than 100"), std::string::npos);
  std::string not_chain = R"({"$eq": 1})";
  for (int i = 0; i < 120; ++i) not_chain = R"({"$not": )" + not_chain + "}";
  std::string wrapped = R"({"a": )" + not_chain + "}";
  EXPECT_NE(compileError(wrapped.c_str()).find("nested deeper than 100"), std::string::npos);
}

TEST(MongoFilterTest, RunawayRegexIsAnErrorNotAHang) {
  auto filter = MongoFilter::compile(json(R"({"tags": {"$regex": "^(a|aa)+$"}})"));
  ASSERT_TRUE(filter) << filter.error().message;
  Json doc = {{"tags", std::string(5000, 'a') + "!"}};
  auto start = std::chrono::steady_clock::now();
  auto matched = filter->matches(doc);
  auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start);
  ASSERT_FALSE(matched);
  EXPECT_EQ(matched.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(matched.error().message.find("tags.$regex: pattern exceeded"), std::string::npos)
      << matched.error().message;
  EXPECT_LT(ms.count(), 2000.0);
  // Under $not the error still wins over the negated "false".
  auto negated = MongoFilter::compile(json(R"({"tags": {"$not": {"$regex": "^(a|aa)+$"}}})"));
  ASSERT_TRUE(negated);
  EXPECT_FALSE(negated->matches(doc));
  // A short subject with the same pattern is fine.
  EXPECT_TRUE(*filter->matches(Json{{"tags", "aaaa"}}));
}

TEST(MongoFilterTest, InvalidUtf8SubjectDoesNotMatch) {
  auto filter = MongoFilter::compile(json(R"({"s": {"$regex": "b"}})"));
  ASSERT_TRUE(filter);
  auto matched = filter->matches(Json{{"s", std::string("a\xff")}});
  ASSERT_TRUE(matched) << matched.error().message;
  EXPECT_FALSE(*matched);
  EXPECT_TRUE(*filter->matches(Json{{"s", std::string("\xff" "b")}}));
}

TEST(MongoFilterTest, MatchesOnlyDocuments) {
  auto filter = MongoFilter::compile(json("{}"));
  ASSERT_TRUE(filter);
  EXPECT_FALSE(filter->matches(json("[1]")));
}

TEST(MongoFilterTest, SharedAcrossThreads) {
  auto filter = MongoFilter::compile(json(kSeedPolicyQuery));
  ASSERT_TRUE(filter);
  Json policy = json(kIpAllowlistPolicy);
  std::vector<std::thread> threads;
  std::atomic<int> matched{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        auto result = filter->matches(policy);
        if (result && *result) ++matched;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(matched.load(), 4000);
}

// The seed's 3-condition policy query over many stored policies selects exactly the right ones
// (its speed is a benchmark's business, not a test's).
TEST(MongoFilterTest, SeedQueryOverTenThousandPolicies) {
  Json base = json(kIpAllowlistPolicy);
  auto filter = MongoFilter::compile(json(kSeedPolicyQuery));
  ASSERT_TRUE(filter);
  size_t count = 0;
  size_t expected = 0;
  for (int i = 0; i < 10000; ++i) {
    Json policy = base;
    policy["name"] = "policy_" + std::to_string(i);
    policy["version"] = std::to_string(i % 3) + ".0";
    policy["release_tag"] = i % 2 ? "beta" : "stable";
    policy["tags"] = i % 5 ? "network,security,ip,access,allowlist" : "network,ip,access";
    count += *filter->matches(policy) ? 1 : 0;
    // Odd i are beta; versions "1.0" and "2.0" pass $gte "1.0"; i % 5 == 0 lacks security.
    expected += (i % 2 && i % 3 != 0 && i % 5) ? 1 : 0;
  }
  EXPECT_EQ(count, expected);
}

}  // namespace
}  // namespace exa::agent
