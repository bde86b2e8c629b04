#include "agent/http/multipart.h"

#include <gtest/gtest.h>

namespace exa::agent {
namespace {

// What `curl -F "asset=@./x.zip" -F 'asset_metadata={...}'` sends.
constexpr std::string_view kCurlBody =
    "--------------------------d74496d66958873e\r\n"
    "Content-Disposition: form-data; name=\"asset\"; filename=\"ip-allow-list-checker.zip\"\r\n"
    "Content-Type: application/zip\r\n"
    "\r\n"
    "PK\x03\x04" "binary\r\n--not-a-boundary\r\n"
    "--------------------------d74496d66958873e\r\n"
    "Content-Disposition: form-data; name=\"asset_metadata\"\r\n"
    "\r\n"
    "{\"asset_name\": \"IP-allow-list\"}\r\n"
    "--------------------------d74496d66958873e--\r\n";
constexpr std::string_view kCurlType =
    "multipart/form-data; boundary=------------------------d74496d66958873e";

TEST(MultipartTest, ParsesCurlUploads) {
  auto parts = parseMultipart(kCurlType, kCurlBody);
  ASSERT_TRUE(parts) << parts.error().describe();
  ASSERT_EQ(parts->size(), 2u);
  EXPECT_EQ((*parts)[0].name, "asset");
  EXPECT_EQ((*parts)[0].filename, "ip-allow-list-checker.zip");
  EXPECT_EQ((*parts)[0].content_type, "application/zip");
  EXPECT_EQ((*parts)[0].data, std::string_view("PK\x03\x04" "binary\r\n--not-a-boundary"));
  EXPECT_EQ((*parts)[1].name, "asset_metadata");
  EXPECT_EQ((*parts)[1].data, "{\"asset_name\": \"IP-allow-list\"}");
}

TEST(MultipartTest, RefusesMalformedBodies) {
  EXPECT_FALSE(parseMultipart("application/json", kCurlBody));
  EXPECT_FALSE(parseMultipart("multipart/form-data", kCurlBody));  // no boundary
  std::string truncated(kCurlBody.substr(0, 120));
  EXPECT_FALSE(parseMultipart(kCurlType, truncated));
  EXPECT_FALSE(parseMultipart(kCurlType, "no delimiter at all"));
  auto nameless = parseMultipart("multipart/form-data; boundary=b",
                                 "--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--\r\n");
  ASSERT_FALSE(nameless);
  EXPECT_NE(nameless.error().message.find("field name"), std::string::npos);
}

}  // namespace
}  // namespace exa::agent
