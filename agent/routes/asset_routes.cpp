// Upload and download of assets.
#include "agent/routes/asset_routes.h"

#include <fstream>
#include <sstream>

#include "agent/http/error_status.h"
#include "agent/http/multipart.h"

namespace exa::agent {

void addAssetRoutes(Router& router, AssetStore& assets) {
  router.add(http::verb::post, "/upload_asset", [&](const HttpRequest& request, const PathParams&) {
    auto parts = parseMultipart(request[http::field::content_type], request.body());
    if (!parts) return errorReply(parts.error());
    const FormPart* file = nullptr;
    Json metadata = Json::object();
    for (const auto& part : *parts) {
      if (part.name == "asset") {
        file = &part;
      } else if (part.name == "asset_metadata") {
        auto parsed = parseJson(part.data);
        if (!parsed)
          return errorReply(http::status::bad_request, "invalid_argument",
                            "asset_metadata: " + parsed.error().message);
        metadata = *parsed;
      }
    }
    if (file == nullptr)
      return errorReply(http::status::bad_request, "invalid_argument", "asset: file part required");
    auto stored = assets.upload(file->data, file->filename, metadata);
    return stored ? jsonReply(http::status::created, *stored) : errorReply(stored.error());
  });
  router.add(http::verb::get, "/assets/<id>", [&](const HttpRequest&, const PathParams& p) {
    auto path = assets.path(p.at("id"));
    if (!path) return errorReply(path.error());
    std::ifstream in(*path, std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    HttpResponse response{http::status::ok, 11};
    response.set(http::field::content_type, "application/octet-stream");
    response.body() = bytes.str();
    response.prepare_payload();
    return response;
  }, Access::kRead);
}

}  // namespace exa::agent
