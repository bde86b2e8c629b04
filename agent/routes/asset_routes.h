// The seed's POST /upload_asset (multipart: `asset` file, `asset_metadata` JSON), returning the
// record with the URL a policy's `code` can use, and GET /assets/<id> serving the bytes.
#pragma once

#include "agent/http/router.h"
#include "agent/registry/asset_store.h"

namespace exa::agent {

void addAssetRoutes(Router& router, AssetStore& assets);

}  // namespace exa::agent
