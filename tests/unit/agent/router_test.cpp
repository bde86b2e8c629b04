#include "agent/http/router.h"

#include <gtest/gtest.h>

namespace exa::agent {
namespace {

HttpRequest request(http::verb method, const std::string& target) {
  HttpRequest r{method, target, 11};
  return r;
}

Json body(const HttpResponse& response) { return *parseJson(response.body()); }

TEST(RouterTest, MatchesLiteralAndParameterSegments) {
  Router router;
  router.add(http::verb::get, "/policy/<uri>", [](const HttpRequest&, const PathParams& p) {
    return jsonReply(http::status::ok, {{"uri", p.at("uri")}});
  });
  router.add(http::verb::post, "/policy/query", [](const HttpRequest&, const PathParams&) {
    return jsonReply(http::status::ok, "query");
  });
  auto got = router.dispatch(request(http::verb::get, "/policy/ip_allowlist%3A1.0-beta?x=1"));
  EXPECT_EQ(got.result(), http::status::ok);
  EXPECT_EQ(body(got)["data"]["uri"], "ip_allowlist:1.0-beta");
  EXPECT_EQ(body(router.dispatch(request(http::verb::post, "/policy/query")))["data"], "query");
}

TEST(RouterTest, UnknownPathIs404AndWrongMethodIs405) {
  Router router;
  router.add(http::verb::get, "/health", [](const HttpRequest&, const PathParams&) {
    return jsonReply(http::status::ok, "ok");
  });
  auto missing = router.dispatch(request(http::verb::get, "/nope"));
  EXPECT_EQ(missing.result(), http::status::not_found);
  EXPECT_EQ(body(missing)["success"], false);
  EXPECT_EQ(body(missing)["error"]["type"], "not_found");
  auto wrong = router.dispatch(request(http::verb::delete_, "/health"));
  EXPECT_EQ(wrong.result(), http::status::method_not_allowed);
  EXPECT_NE(body(wrong)["message"].get<std::string>().find("DELETE"), std::string::npos);
}

TEST(RouterTest, EmptyOrMalformedParameterDoesNotMatch) {
  Router router;
  router.add(http::verb::get, "/policy/<uri>", [](const HttpRequest&, const PathParams&) {
    return jsonReply(http::status::ok, "hit");
  });
  EXPECT_EQ(router.dispatch(request(http::verb::get, "/policy/")).result(), http::status::not_found);
  EXPECT_EQ(router.dispatch(request(http::verb::get, "/policy/%zz")).result(),
            http::status::not_found);
  EXPECT_EQ(router.dispatch(request(http::verb::get, "/policy/a%2")).result(),
            http::status::not_found);
}

TEST(RouterTest, ThrowingHandlerIs500WithoutDetail) {
  Router router;
  router.add(http::verb::get, "/boom", [](const HttpRequest&, const PathParams&) -> HttpResponse {
    throw std::runtime_error("secret internals");
  });
  auto got = router.dispatch(request(http::verb::get, "/boom"));
  EXPECT_EQ(got.result(), http::status::internal_server_error);
  EXPECT_EQ(got.body().find("secret"), std::string::npos);
}

TEST(RouterTest, TokenProtectsWritesAndOptionallyReads) {
  Router router;
  auto ok = [](const HttpRequest&, const PathParams&) { return jsonReply(http::status::ok, 1); };
  router.add(http::verb::post, "/write", ok);
  router.add(http::verb::get, "/read", ok, Access::kRead);
  router.add(http::verb::get, "/open", ok, Access::kOpen);
  router.requireToken("tok", /*protect_reads=*/false);
  auto withAuth = [](HttpRequest r, const std::string& value) {
    r.set(http::field::authorization, value);
    return r;
  };
  EXPECT_EQ(router.dispatch(request(http::verb::post, "/write")).result(), http::status::unauthorized);
  for (const char* bad : {"Bearer tok2", "Bearer to", "Basic tok", "tok", "Bearer  tok"})
    EXPECT_EQ(router.dispatch(withAuth(request(http::verb::post, "/write"), bad)).result(),
              http::status::unauthorized) << bad;
  EXPECT_EQ(router.dispatch(withAuth(request(http::verb::post, "/write"), "Bearer tok")).result(),
            http::status::ok);
  EXPECT_EQ(router.dispatch(request(http::verb::get, "/read")).result(), http::status::ok);
  router.requireToken("tok", /*protect_reads=*/true);
  EXPECT_EQ(router.dispatch(request(http::verb::get, "/read")).result(), http::status::unauthorized);
  EXPECT_EQ(router.dispatch(request(http::verb::get, "/open")).result(), http::status::ok);
}

// A Kubernetes service proxy strips Authorization; the token then travels in its own header,
// checked the same way (and a wrong one there is not rescued by a right Authorization).
TEST(RouterTest, TokenInTheProxiedHeader) {
  Router router;
  router.add(http::verb::post, "/write",
             [](const HttpRequest&, const PathParams&) { return jsonReply(http::status::ok, 1); });
  router.requireToken("tok", /*protect_reads=*/false);
  auto with = [](const std::string& proxied, const std::string& authorization) {
    HttpRequest r = request(http::verb::post, "/write");
    r.set(kProxiedTokenHeader, proxied);
    if (!authorization.empty()) r.set(http::field::authorization, authorization);
    return r;
  };
  EXPECT_EQ(router.dispatch(with("tok", "")).result(), http::status::ok);
  EXPECT_EQ(router.dispatch(with("to", "")).result(), http::status::unauthorized);
  EXPECT_EQ(router.dispatch(with("tok2", "")).result(), http::status::unauthorized);
  EXPECT_EQ(router.dispatch(with("bad", "Bearer tok")).result(), http::status::unauthorized);
}

}  // namespace
}  // namespace exa::agent
