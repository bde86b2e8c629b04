// HttpTestServer: blocking sockets, one thread per connection, a self-pipe to stop them all.
// Deliberately small and permissive: it exists to produce exact (including broken) responses.
#include "tests/support/http_test_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>

#include "common/syscall.h"

namespace exa::testing {
namespace {

[[noreturn]] void die(const char* what) {
  std::perror(what);
  std::abort();
}

const char* reasonPhrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 500:
      return "Internal Server Error";
    default:
      return "Status";
  }
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// A TLS ClientHello (or any binary junk) must get a prompt 400 instead of a wait for "\r\n\r\n",
// so that "https:// against a plain server" fails fast as a TLS error.
bool looksBinary(std::string_view data) {
  return std::any_of(data.begin(), data.end(), [](unsigned char c) {
    return c != '\r' && c != '\n' && c != '\t' && (c < 0x20 || c >= 0x7f);
  });
}

bool parseRequest(std::string_view head, LoggedRequest& out) {
  size_t line_end = head.find("\r\n");
  std::string_view line = head.substr(0, line_end);
  size_t sp1 = line.find(' ');
  size_t sp2 = line.find(' ', sp1 == std::string_view::npos ? sp1 : sp1 + 1);
  if (sp1 == std::string_view::npos || sp2 == std::string_view::npos) return false;
  out.method = std::string(line.substr(0, sp1));
  out.target = std::string(line.substr(sp1 + 1, sp2 - sp1 - 1));
  size_t pos = line_end == std::string_view::npos ? head.size() : line_end + 2;
  while (pos < head.size()) {
    size_t end = head.find("\r\n", pos);
    if (end == std::string_view::npos) end = head.size();
    std::string_view header = head.substr(pos, end - pos);
    size_t colon = header.find(':');
    if (colon != std::string_view::npos) {
      std::string_view value = header.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      out.headers[lower(std::string(header.substr(0, colon)))] = std::string(value);
    }
    pos = end + 2;
  }
  return true;
}

}  // namespace

Response Response::bytes(std::string body) {
  Response r;
  r.body = std::move(body);
  return r;
}

Response Response::redirect(int status, std::string location) {
  Response r;
  r.status = status;
  r.headers.emplace_back("Location", std::move(location));
  r.body = "redirecting";
  return r;
}

Response Response::error(int status) {
  Response r;
  r.status = status;
  r.body = std::string(reasonPhrase(status)) + "\n";
  return r;
}

HttpTestServer::HttpTestServer() {
  listener_ = UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!listener_) die("HttpTestServer socket");
  int one = 1;
  ::setsockopt(listener_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(listener_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    die("HttpTestServer bind");
  if (::listen(listener_.get(), 64) != 0) die("HttpTestServer listen");
  socklen_t len = sizeof addr;
  if (::getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    die("HttpTestServer getsockname");
  port_ = ntohs(addr.sin_port);
  auto pipe = makePipe();
  if (!pipe) die("HttpTestServer pipe");
  stop_read_ = std::move(pipe->first);
  stop_write_ = std::move(pipe->second);
  acceptor_ = std::thread([this] { acceptLoop(); });
}

HttpTestServer::~HttpTestServer() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  // The pipe is never drained, so every poll() that includes it wakes up for good.
  char byte = 0;
  (void)!::write(stop_write_.get(), &byte, 1);
  acceptor_.join();
  std::vector<std::thread> workers;
  {
    std::lock_guard lock(mu_);
    workers.swap(workers_);
  }
  for (auto& worker : workers) worker.join();
}

void HttpTestServer::route(const std::string& path, Response response) {
  std::lock_guard lock(mu_);
  routes_[path] = std::move(response);
}

std::string HttpTestServer::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

std::vector<LoggedRequest> HttpTestServer::requests() const {
  std::lock_guard lock(mu_);
  return log_;
}

size_t HttpTestServer::hits(const std::string& path) const {
  std::lock_guard lock(mu_);
  return static_cast<size_t>(std::count_if(
      log_.begin(), log_.end(), [&](const LoggedRequest& r) { return r.target == path; }));
}

void HttpTestServer::acceptLoop() {
  for (;;) {
    pollfd fds[2] = {{listener_.get(), POLLIN, 0}, {stop_read_.get(), POLLIN, 0}};
    if (retryEintr([&] { return ::poll(fds, 2, -1); }) < 0) return;
    if (fds[1].revents != 0) return;
    UniqueFd conn(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!conn) continue;
    ++connections_;
    std::lock_guard lock(mu_);
    if (stopping_) return;
    workers_.emplace_back([this, c = std::move(conn)]() mutable { serveConnection(std::move(c)); });
  }
}

void HttpTestServer::serveConnection(UniqueFd conn) {
  std::string buffer;
  char chunk[4096];
  for (;;) {
    size_t head_end;
    while ((head_end = buffer.find("\r\n\r\n")) == std::string::npos) {
      if (looksBinary(buffer)) {
        sendAll(conn.get(),
                "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
                "Connection: close\r\n\r\n");
        return;
      }
      pollfd fds[2] = {{conn.get(), POLLIN, 0}, {stop_read_.get(), POLLIN, 0}};
      if (retryEintr([&] { return ::poll(fds, 2, -1); }) < 0 || fds[1].revents != 0) return;
      ssize_t n = retryEintr([&] { return ::recv(conn.get(), chunk, sizeof chunk, 0); });
      if (n <= 0) return;
      buffer.append(chunk, static_cast<size_t>(n));
    }
    LoggedRequest request;
    bool parsed = parseRequest(std::string_view(buffer).substr(0, head_end), request);
    buffer.erase(0, head_end + 4);  // GETs only: no request body to skip
    if (!parsed) {
      sendAll(conn.get(), "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
      return;
    }
    Response response = Response::error(404);
    {
      std::lock_guard lock(mu_);
      log_.push_back(request);
      auto it = routes_.find(request.target);
      if (it != routes_.end()) response = it->second;
    }
    if (!sendResponse(conn.get(), response, request.method == "HEAD")) return;
    bool exact_length =
        !response.declared_length || *response.declared_length == response.body.size();
    // Close after a body whose end the client cannot find from the framing, and on request.
    if (response.framing == Response::Framing::kCloseDelimited || !exact_length) return;
    if (lower(request.headers["connection"]) == "close") return;
  }
}

bool HttpTestServer::sendResponse(int fd, const Response& response, bool head) {
  std::string out =
      "HTTP/1.1 " + std::to_string(response.status) + " " + reasonPhrase(response.status) + "\r\n";
  for (const auto& [name, value] : response.headers) out += name + ": " + value + "\r\n";
  switch (response.framing) {
    case Response::Framing::kContentLength:
      out += "Content-Length: " +
             std::to_string(response.declared_length.value_or(response.body.size())) + "\r\n";
      break;
    case Response::Framing::kChunked:
      out += "Transfer-Encoding: chunked\r\n";
      break;
    case Response::Framing::kCloseDelimited:
      out += "Connection: close\r\n";
      break;
  }
  out += "\r\n";
  if (!sendAll(fd, out)) return false;
  if (head) return true;

  size_t piece =
      response.chunk_bytes == 0 ? std::max<size_t>(response.body.size(), 1) : response.chunk_bytes;
  for (size_t pos = 0; pos < response.body.size(); pos += piece) {
    if (response.chunk_delay.count() > 0 && !pause(response.chunk_delay)) return false;
    std::string_view data = std::string_view(response.body).substr(pos, piece);
    if (response.framing == Response::Framing::kChunked) {
      char size_line[32];
      std::snprintf(size_line, sizeof size_line, "%zx\r\n", data.size());
      if (!sendAll(fd, size_line) || !sendAll(fd, data) || !sendAll(fd, "\r\n")) return false;
    } else if (!sendAll(fd, data)) {
      return false;
    }
  }
  if (response.framing == Response::Framing::kChunked) return sendAll(fd, "0\r\n\r\n");
  return true;
}

bool HttpTestServer::sendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    pollfd fds[2] = {{fd, POLLOUT, 0}, {stop_read_.get(), POLLIN, 0}};
    if (retryEintr([&] { return ::poll(fds, 2, -1); }) < 0 || fds[1].revents != 0) return false;
    ssize_t n = retryEintr([&] { return ::send(fd, data.data(), data.size(), MSG_NOSIGNAL); });
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

bool HttpTestServer::pause(std::chrono::milliseconds delay) {
  std::unique_lock lock(mu_);
  return !stop_cv_.wait_for(lock, delay, [this] { return stopping_.load(); });
}

}  // namespace exa::testing
