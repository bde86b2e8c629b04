// Router: (method, path pattern) -> handler. Patterns are literal segments and `<name>`
// parameters ("/policy/<uri>"); a parameter takes one whole segment, percent-decoded. Unknown
// paths are 404 and known paths with another method 405, both as JSON envelopes.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include <boost/asio/ip/address.hpp>

#include "agent/agent_config.h"
#include "agent/http/http_types.h"

namespace exa::agent {

using PathParams = std::map<std::string, std::string>;
using Handler = std::function<HttpResponse(const HttpRequest&, const PathParams&)>;

/// kWrite routes change or execute something and always need the token when one is set; kRead
/// routes need it only when reads are protected too; kOpen (health) never does.
enum class Access { kOpen, kRead, kWrite };

/// Carries the token instead of Authorization on calls relayed by a Kubernetes API server's
/// service proxy, which strips Authorization (docs/kubernetes.md "create-infra").
inline constexpr const char* kProxiedTokenHeader = "X-Executor-Agent-Token";

class Router {
 public:
  /// Secure by default: a route is kWrite unless it says otherwise.
  void add(http::verb method, const std::string& pattern, Handler handler,
           Access access = Access::kWrite);
  /// With a token, protected routes answer 401 (and nothing else) without
  /// `Authorization: Bearer <token>` (or the token in kProxiedTokenHeader).
  void requireToken(std::string token, bool protect_reads);
  /// Callers from these address blocks need no token (the original central and SDK, which
  /// cannot send one: DESIGN.md §8 "Auth").
  void trustPeers(std::vector<Cidr> peers);
  /// Picks the route and runs it; a handler that throws becomes a 500 naming nothing internal.
  /// `route_pattern` gets the matched pattern ("/policy/<uri>"), or "unmatched".
  HttpResponse dispatch(const HttpRequest& request, const boost::asio::ip::address& peer = {},
                        std::string* route_pattern = nullptr) const;

 private:
  struct Route {
    http::verb method;
    std::string pattern;
    std::vector<std::string> segments;  ///< "<name>" marks a parameter
    Handler handler;
    Access access;
  };
  bool authorized(const HttpRequest& request, const boost::asio::ip::address& peer,
                  Access access) const;
  bool trusted(const boost::asio::ip::address& peer) const;

  std::vector<Route> routes_;
  std::string token_;
  bool protect_reads_ = false;
  std::vector<Cidr> trusted_peers_;
};

/// "%3A" -> ":"; false on a malformed escape.
bool percentDecode(std::string_view in, std::string& out);

}  // namespace exa::agent
