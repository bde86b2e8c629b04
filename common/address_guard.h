// Addresses the agent never connects to on anyone's behalf: link-local and cloud-metadata
// endpoints (DESIGN.md §8 "Code URLs"). Every outbound client (code fetcher, forwarding to other
// executors, the central registry client) checks the URL's literal host and, through
// curlOpenSocketGuard, every address DNS resolves to, so a name cannot smuggle one in.
#pragma once

#include <sys/socket.h>

#include <string>

#include <curl/curl.h>

namespace exa {

/// Why such an address is refused, for error messages.
inline constexpr const char* kForbiddenAddressWhy =
    "is a link-local or cloud-metadata address (169.254.0.0/16, fe80::/10)";

/// Non-empty (the host) when `host` is an IP literal we must never contact.
std::string forbiddenLiteral(const std::string& host);

/// Non-empty (the address as text) when `sa` is an address we must never connect to.
std::string forbiddenSockaddr(const sockaddr* sa, size_t len);

/// A CURLOPT_OPENSOCKETFUNCTION: refuses forbidden addresses (writing the address into
/// `*static_cast<std::string*>(clientp)`), else opens the socket CLOEXEC.
curl_socket_t curlOpenSocketGuard(void* clientp, curlsocktype purpose, curl_sockaddr* address);

}  // namespace exa
