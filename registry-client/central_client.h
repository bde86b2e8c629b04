// CentralClient: this agent's calls to a central Policies System (the seed's API, served by the
// original central or by another executor-agent's bundled registry): create and update its own
// executor record, and read policies. Replies are the seed's envelope {"success", "data"}; a
// failure names the call, the URL and what the central said. Timeouts on every call; retries
// are the caller's decision (Registration backs off with jitter).
#pragma once

#include <chrono>
#include <string>

#include "common/json_util.h"
#include "common/result.h"

namespace exa::registry_client {

struct CentralOptions {
  std::string url;    ///< "https://central.example:10000"; a path prefix is kept
  std::string token;  ///< sent as a bearer token; "" = none
  std::chrono::milliseconds timeout{10000};
  std::string ca_bundle;  ///< "" = the system's
};

class CentralClient {
 public:
  explicit CentralClient(CentralOptions options);

  /// POST /executor. kAlreadyExists when the central has the id already (409).
  Status createExecutor(const Json& record);
  /// PUT /executor/<id> with {"$set": fields}. kNotFound when the central has no such record.
  Status updateExecutor(const std::string& executor_id, const Json& fields);
  /// GET /policy/<uri>: the stored PolicyRule. kNotFound when the central has none.
  Result<Json> getPolicy(const std::string& uri);

  const std::string& url() const { return options_.url; }

 private:
  /// The envelope's `data` of a 2xx reply with success true; otherwise an Error whose code
  /// follows the status (404 kNotFound, 409 kAlreadyExists, 401/403 kPermissionDenied, ...).
  Result<Json> call(const std::string& method, const std::string& path, const Json& body);

  CentralOptions options_;
};

/// Percent-encodes one path segment (policy URIs and executor ids go into paths).
std::string encodePathSegment(const std::string& segment);

}  // namespace exa::registry_client
