// applyUpdate against the MongoDB manual's update-operator examples and the seed's PUT /policy
// $set, plus key order, conflicts and error texts.
#include "agent/registry/mongo_update.h"

#include <gtest/gtest.h>

namespace exa::agent {
namespace {

Json json(const char* text) { return Json::parse(text); }

struct Case {
  const char* doc;
  const char* update;
  const char* expected;
};

void expectCases(const std::vector<Case>& cases) {
  for (const Case& c : cases) {
    auto updated = applyUpdate(json(c.doc), json(c.update));
    ASSERT_TRUE(updated) << c.update << ": " << updated.error().message;
    // dump() compares key order too, which plain == on ordered_json also does; the text
    // makes a failure readable.
    EXPECT_EQ(updated->dump(), json(c.expected).dump()) << c.update;
  }
}

std::string updateError(const char* doc, const char* update) {
  auto updated = applyUpdate(json(doc), json(update));
  return updated ? "<applied: " + updated->dump() + ">" : updated.error().message;
}

const char* kProduct = R"({"_id": 100, "quantity": 250, "instock": true, "reorder": false,
  "details": {"model": "14QQ", "make": "Clothes Corp"}, "tags": ["apparel", "clothing"],
  "ratings": [{"by": "Customer007", "rating": 4}]})";

// Manual: $set.
TEST(MongoUpdateTest, Set) {
  expectCases({
      {kProduct,
       R"({"$set": {"quantity": 500, "details": {"model": "2600", "make": "Fashionaires"},
                    "tags": ["coats", "outerwear", "clothing"]}})",
       R"({"_id": 100, "quantity": 500, "instock": true, "reorder": false,
           "details": {"model": "2600", "make": "Fashionaires"},
           "tags": ["coats", "outerwear", "clothing"],
           "ratings": [{"by": "Customer007", "rating": 4}]})"},
      {kProduct, R"({"$set": {"details.make": "Kustom Kidz"}})",
       R"({"_id": 100, "quantity": 250, "instock": true, "reorder": false,
           "details": {"model": "14QQ", "make": "Kustom Kidz"}, "tags": ["apparel", "clothing"],
           "ratings": [{"by": "Customer007", "rating": 4}]})"},
      {kProduct, R"({"$set": {"tags.1": "rain gear", "ratings.0.rating": 2}})",
       R"({"_id": 100, "quantity": 250, "instock": true, "reorder": false,
           "details": {"model": "14QQ", "make": "Clothes Corp"}, "tags": ["apparel", "rain gear"],
           "ratings": [{"by": "Customer007", "rating": 2}]})"},
  });
}

TEST(MongoUpdateTest, SetKeepsKeyOrderAndCreatesIntermediates) {
  expectCases({
      // An existing key keeps its place; a new one is appended, in the order written.
      {R"({"b": 1, "a": 2})", R"({"$set": {"z": 0, "b": 3, "c": 4}})",
       R"({"b": 3, "a": 2, "z": 0, "c": 4})"},
      {"{}", R"({"$set": {"a.b.c": 1}})", R"({"a": {"b": {"c": 1}}})"},
      {R"({"a": {"x": 1}})", R"({"$set": {"a.b.c": 1}})", R"({"a": {"x": 1, "b": {"c": 1}}})"},
      // A numeric name under a missing field makes an object, as MongoDB does.
      {"{}", R"({"$set": {"a.0": 1}})", R"({"a": {"0": 1}})"},
      // Past the end of an array: padded with nulls.
      {R"({"a": [1]})", R"({"$set": {"a.3": 4}})", R"({"a": [1, null, null, 4]})"},
      {R"({"a": [1]})", R"({"$set": {"a.2.b": 4}})", R"({"a": [1, null, {"b": 4}]})"},
      {R"({"a": [{"b": 1}, {"b": 2}]})", R"({"$set": {"a.1.c": 3}})",
       R"({"a": [{"b": 1}, {"b": 2, "c": 3}]})"},
      {R"({"a": 1})", R"({"$set": {}})", R"({"a": 1})"},
  });
}

// Manual: $unset.
TEST(MongoUpdateTest, Unset) {
  expectCases({
      {R"({"item": "chisel", "sku": "C001", "quantity": 4, "instock": true})",
       R"({"$unset": {"quantity": "", "instock": ""}})", R"({"item": "chisel", "sku": "C001"})"},
      // An array element becomes null rather than shifting the others.
      {R"({"a": [1, 2, 3]})", R"({"$unset": {"a.1": 1}})", R"({"a": [1, null, 3]})"},
      {R"({"a": {"b": 1, "c": 2}})", R"({"$unset": {"a.b": 1}})", R"({"a": {"c": 2}})"},
      {R"({"a": 1})", R"({"$unset": {"missing": 1, "a.b": 1, "x.y.z": 1}})", R"({"a": 1})"},
      {R"({"a": [1]})", R"({"$unset": {"a.5": 1, "a.b": 1}})", R"({"a": [1]})"},
  });
}

// Manual: $inc.
TEST(MongoUpdateTest, Inc) {
  expectCases({
      {R"({"_id": 1, "sku": "abc123", "quantity": 10, "metrics": {"orders": 2, "ratings": 3.5}})",
       R"({"$inc": {"quantity": -2, "metrics.orders": 1}})",
       R"({"_id": 1, "sku": "abc123", "quantity": 8, "metrics": {"orders": 3, "ratings": 3.5}})"},
      {R"({"a": 1})", R"({"$inc": {"b": 5, "c.d": -1.5}})",
       R"({"a": 1, "b": 5, "c": {"d": -1.5}})"},
      {R"({"a": 1})", R"({"$inc": {"a": 0.5}})", R"({"a": 1.5})"},
      {R"({"a": 1.5})", R"({"$inc": {"a": 1}})", R"({"a": 2.5})"},
      {R"({"a": 3})", R"({"$inc": {"a": -5}})", R"({"a": -2})"},
  });
  auto big = applyUpdate(json(R"({"a": 9223372036854775807})"), json(R"({"$inc": {"a": 1}})"));
  ASSERT_TRUE(big);
  EXPECT_EQ((*big)["a"].get<uint64_t>(), 9223372036854775808ULL);
  EXPECT_NE(updateError(R"({"a": -9223372036854775808})", R"({"$inc": {"a": -1}})")
                .find("$inc a: integer overflow"),
            std::string::npos);
}

// Manual: $push with and without $each, $position, $slice.
TEST(MongoUpdateTest, Push) {
  expectCases({
      {R"({"_id": 1, "scores": [44, 78, 38, 80]})", R"({"$push": {"scores": 89}})",
       R"({"_id": 1, "scores": [44, 78, 38, 80, 89]})"},
      {R"({"_id": 1, "scores": [44]})", R"({"$push": {"scores": {"$each": [90, 92, 85]}}})",
       R"({"_id": 1, "scores": [44, 90, 92, 85]})"},
      {R"({"_id": 1})", R"({"$push": {"scores": 1}})", R"({"_id": 1, "scores": [1]})"},
      {R"({"a": [1]})", R"({"$push": {"a": [2, 3]}})", R"({"a": [1, [2, 3]]})"},
      {R"({"a": [1]})", R"({"$push": {"a": {"x": 1}}})", R"({"a": [1, {"x": 1}]})"},
      {R"({"scores": [100]})", R"({"$push": {"scores": {"$each": [50, 60, 70], "$position": 0}}})",
       R"({"scores": [50, 60, 70, 100]})"},
      {R"({"scores": [100, 20]})", R"({"$push": {"scores": {"$each": [50], "$position": -1}}})",
       R"({"scores": [100, 50, 20]})"},
      {R"({"scores": [40, 50, 60]})",
       R"({"$push": {"scores": {"$each": [80, 78, 86], "$slice": -5}}})",
       R"({"scores": [50, 60, 80, 78, 86]})"},
      {R"({"scores": [89, 90]})", R"({"$push": {"scores": {"$each": [100, 20], "$slice": 3}}})",
       R"({"scores": [89, 90, 100]})"},
      {R"({"scores": [89, 90]})", R"({"$push": {"scores": {"$each": [], "$slice": 1}}})",
       R"({"scores": [89]})"},
      {R"({"a": {"b": [1]}})", R"({"$push": {"a.b": 2}})", R"({"a": {"b": [1, 2]}})"},
  });
}

// Manual: $addToSet.
TEST(MongoUpdateTest, AddToSet) {
  expectCases({
      {R"({"_id": 1, "letters": ["a", "b"]})", R"({"$addToSet": {"letters": ["c", "d"]}})",
       R"({"_id": 1, "letters": ["a", "b", ["c", "d"]]})"},
      {R"({"_id": 1, "item": "polarizing_filter", "tags": ["electronics", "camera"]})",
       R"({"$addToSet": {"tags": "accessories"}})",
       R"({"_id": 1, "item": "polarizing_filter",
           "tags": ["electronics", "camera", "accessories"]})"},
      {R"({"_id": 1, "tags": ["electronics", "camera"]})", R"({"$addToSet": {"tags": "camera"}})",
       R"({"_id": 1, "tags": ["electronics", "camera"]})"},
      {R"({"_id": 2, "item": "cable", "tags": ["electronics", "supplies"]})",
       R"({"$addToSet": {"tags": {"$each": ["camera", "electronics", "accessories"]}}})",
       R"({"_id": 2, "item": "cable",
           "tags": ["electronics", "supplies", "camera", "accessories"]})"},
      {R"({"a": [1]})", R"({"$addToSet": {"a": {"$each": [1.0, 2, 2, 2.0]}}})", R"({"a": [1, 2]})"},
      {"{}", R"({"$addToSet": {"a": {"x": 1}}})", R"({"a": [{"x": 1}]})"},
  });
}

// Manual: $pull with values, conditions and sub-filters.
TEST(MongoUpdateTest, Pull) {
  expectCases({
      {R"({"_id": 1, "fruits": ["apples", "pears", "oranges", "grapes", "bananas"],
           "vegetables": ["carrots", "celery", "squash", "carrots"]})",
       R"({"$pull": {"fruits": {"$in": ["apples", "oranges"]}, "vegetables": "carrots"}})",
       R"({"_id": 1, "fruits": ["pears", "grapes", "bananas"],
           "vegetables": ["celery", "squash"]})"},
      {R"({"_id": 1, "votes": [3, 5, 6, 7, 7, 8]})", R"({"$pull": {"votes": {"$gte": 6}}})",
       R"({"_id": 1, "votes": [3, 5]})"},
      {R"({"_id": 1, "results": [{"item": "A", "score": 5}, {"item": "B", "score": 8}]})",
       R"({"$pull": {"results": {"score": 8, "item": "B"}}})",
       R"({"_id": 1, "results": [{"item": "A", "score": 5}]})"},
      {R"({"_id": 2, "results": [{"item": "C", "score": 8}, {"item": "B", "score": 4}]})",
       R"({"$pull": {"results": {"score": 8, "item": "B"}}})",
       R"({"_id": 2, "results": [{"item": "C", "score": 8}, {"item": "B", "score": 4}]})"},
      {R"({"_id": 1, "results": [
           {"item": "A", "score": 5, "answers": [{"q": 1, "a": 4}, {"q": 2, "a": 6}]},
           {"item": "B", "score": 8, "answers": [{"q": 1, "a": 8}, {"q": 2, "a": 9}]}]})",
       R"({"$pull": {"results": {"answers": {"$elemMatch": {"q": 2, "a": {"$gte": 8}}}}}})",
       R"({"_id": 1, "results": [
           {"item": "A", "score": 5, "answers": [{"q": 1, "a": 4}, {"q": 2, "a": 6}]}]})"},
      // Equality is BSON equality: 1 pulls 1.0, [1, 2] pulls only the exact array.
      {R"({"a": [1, 1.0, 2, [1, 2], [2, 1]]})", R"({"$pull": {"a": 1}})",
       R"({"a": [2, [1, 2], [2, 1]]})"},
      {R"({"a": [1, [1, 2], [2, 1]]})", R"({"$pull": {"a": [1, 2]}})", R"({"a": [1, [2, 1]]})"},
      // An operator condition tests each element itself: [7] is not >= 6.
      {R"({"a": [[7], 7, 5]})", R"({"$pull": {"a": {"$gte": 6}}})", R"({"a": [[7], 5]})"},
      {R"({"a": ["alpha", "beta", 3]})", R"({"$pull": {"a": {"$regex": "^a"}}})",
       R"({"a": ["beta", 3]})"},
      {R"({"a": 1})", R"({"$pull": {"missing": 1}})", R"({"a": 1})"},
  });
}

// The seed's PUT /policy example.
TEST(MongoUpdateTest, SeedPolicySet) {
  Json policy = json(R"({"name": "ip_allowlist", "version": "1.0", "release_tag": "beta",
      "tags": "network,security,ip,access,allowlist",
      "policy_settings": {"allowlist_api": "https://example.com/api/allowlist"},
      "policy_parameters": {"local_allowlist": ["127.0.0.1", "192.168.0.1"]},
      "description": "Policy that checks whether a given IP is allowed."})");
  Json update = json(R"({"$set": {
      "policy_parameters.local_allowlist": ["10.0.0.1", "8.8.8.8"],
      "description": "Updated policy to allow new internal IP ranges."}})");
  auto updated = applyUpdate(policy, update);
  ASSERT_TRUE(updated) << updated.error().message;
  Json expected = policy;
  expected["policy_parameters"]["local_allowlist"] = json(R"(["10.0.0.1", "8.8.8.8"])");
  expected["description"] = "Updated policy to allow new internal IP ranges.";
  EXPECT_EQ(updated->dump(), expected.dump());
  EXPECT_EQ(touchedTopLevelFields(update),
            (std::vector<std::string>{"policy_parameters", "description"}));
  // The seed's executor example sets metadata.* on a record whose field is executor_metadata:
  // MongoDB creates a new "metadata" object, and so do we.
  auto executor = applyUpdate(json(R"({"executor_id": "executor-001"})"),
                              json(R"({"$set": {"metadata.tags": ["amd_64"]}})"));
  ASSERT_TRUE(executor);
  EXPECT_EQ(executor->dump(), json(R"({"executor_id": "executor-001",
                                       "metadata": {"tags": ["amd_64"]}})").dump());
}

TEST(MongoUpdateTest, Replacement) {
  expectCases({
      {R"({"a": 1, "b": 2})", R"({"b": 3, "c": {"$not_an_operator": 1}})",
       R"({"b": 3, "c": {"$not_an_operator": 1}})"},
  });
  EXPECT_EQ(touchedTopLevelFields(json(R"({"name": "x", "version": "2"})")),
            (std::vector<std::string>{"name", "version"}));
}

TEST(MongoUpdateTest, TouchedTopLevelFields) {
  Json update = json(R"({"$set": {"a.b": 1, "c": 2}, "$unset": {"d": 1},
                         "$inc": {"a.x": 1, "e.f.g": 1}, "$push": {"h.0": 1}})");
  EXPECT_EQ(touchedTopLevelFields(update),
            (std::vector<std::string>{"a", "c", "d", "e", "h"}));
  EXPECT_TRUE(touchedTopLevelFields(json("[1]")).empty());
}

TEST(MongoUpdateTest, ErrorsNameOperatorAndPath) {
  struct ErrorCase {
    const char* doc;
    const char* update;
    const char* message;
  };
  const ErrorCase cases[] = {
      {"{}", R"({"$set": {"a": 1}, "b": 2})", "update mixes operators ($set) and plain fields (b)"},
      {"{}", R"({"b": 2, "$set": {"a": 1}})", "update mixes operators (b) and plain fields"},
      {"{}", R"({"$rename": {"a": "b"}})", "unknown update operator $rename"},
      {"{}", R"({"$set": 5})", "$set: needs a document of paths"},
      {R"({"a": "x"})", R"({"$inc": {"a": 1}})", "$inc a: cannot increment a string value"},
      {R"({"a": null})", R"({"$inc": {"a": 1}})", "$inc a: cannot increment a null value"},
      {"{}", R"({"$inc": {"a": "1"}})", "$inc a: cannot increment by non-numeric \"1\""},
      {R"({"a": "x"})", R"({"$push": {"a": 1}})", "$push a: the field must be an array"},
      {R"({"a": {}})", R"({"$addToSet": {"a": 1}})", "$addToSet a: the field must be an array"},
      {R"({"a": 5})", R"({"$pull": {"a": 1}})", "$pull a: cannot pull from a number"},
      {"{}", R"({"$set": {"a": 1, "a.b": 2}})", "$set a.b: conflicts with $set a"},
      {"{}", R"({"$set": {"a.b": 1}, "$unset": {"a": 1}})", "$unset a: conflicts with $set a.b"},
      {"{}", R"({"$set": {"a": 1}, "$inc": {"a": 1}})", "$inc a: conflicts with $set a"},
      {R"({"a": 5})", R"({"$set": {"a.b": 1}})",
       "$set a.b: cannot create field 'b' in element {a: 5}"},
      {R"({"a": null})", R"({"$set": {"a.b.c": 1}})", "$set a.b.c: cannot create field 'b'"},
      {R"({"a": [1]})", R"({"$set": {"a.b": 1}})", "$set a.b: cannot create field 'b'"},
      {"{}", R"({"$set": {"a..b": 1}})", "$set a..b: empty field name in path"},
      {"{}", R"({"$set": {"": 1}})", "$set : empty field name in path"},
      {"{}", R"({"$set": {"a.$.b": 1}})", "$set a.$.b: positional operators are not supported"},
      {"{}", R"({"$set": {"a.$[].b": 1}})", "positional operators are not supported"},
      {R"({"a": []})", R"({"$set": {"a.99999999": 1}})", "$set a.99999999: array index 99999999"},
      {"{}", R"({"$push": {"a": {"$each": 1}}})", "$push a $each: needs an array"},
      {"{}", R"({"$push": {"a": {"$each": [1], "$sort": 1}}})", "$push a $sort: unsupported"},
      {"{}", R"({"$addToSet": {"a": {"$each": [1], "$slice": 1}}})",
       "$addToSet a: only $each may modify $addToSet"},
      {R"({"a": [1]})", R"({"$pull": {"a": {"$foo": 1}}})", "$pull a: unknown operator $foo"},
      {"{}", "{}", "empty update"},
      {"{}", "[1]", "update must be a JSON object"},
  };
  for (const ErrorCase& c : cases) {
    std::string message = updateError(c.doc, c.update);
    EXPECT_NE(message.find(c.message), std::string::npos) << c.update << " -> " << message;
  }
}

TEST(MongoUpdateTest, FailedUpdateLeavesNothingHalfApplied) {
  Json doc = json(R"({"a": 1, "b": "x"})");
  Json before = doc;
  auto updated = applyUpdate(doc, json(R"({"$set": {"a": 2}, "$inc": {"b": 1}})"));
  ASSERT_FALSE(updated);
  EXPECT_EQ(updated.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(doc, before);
}

TEST(MongoUpdateTest, RunawayRegexInPullIsAnError) {
  Json doc = {{"a", Json::array({std::string(5000, 'a') + "!"})}};
  auto updated = applyUpdate(doc, json(R"({"$pull": {"a": {"$regex": "^(a|aa)+$"}}})"));
  ASSERT_FALSE(updated);
  EXPECT_NE(updated.error().message.find("pattern exceeded"), std::string::npos)
      << updated.error().message;
}

}  // namespace
}  // namespace exa::agent
