// JSON envelopes for replies.
#include "agent/http/http_types.h"

namespace exa::agent {
namespace {

HttpResponse reply(http::status status, const Json& body) {
  HttpResponse response{status, 11};
  response.set(http::field::content_type, "application/json");
  response.set(http::field::server, "executor-agent");
  response.body() = dumpJson(body);
  response.prepare_payload();
  return response;
}

}  // namespace

HttpResponse jsonReply(http::status status, const Json& data) {
  return reply(status, Json{{"success", true}, {"data", data}});
}

HttpResponse errorReply(http::status status, const std::string& type, const std::string& message) {
  // The original central's proxy reads only `message`; `error.type` is for our own clients.
  return reply(status, Json{{"success", false}, {"message", message}, {"error", {{"type", type}}}});
}

}  // namespace exa::agent
