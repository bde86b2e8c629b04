#include "kubernetes/credentials.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "common/log.h"
#include "common/unique_fd.h"

namespace exa::kubernetes {
namespace {

std::string trimmed(std::string text) {
  auto isSpace = [](char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; };
  while (!text.empty() && isSpace(text.back())) text.pop_back();
  size_t start = 0;
  while (start < text.size() && isSpace(text[start])) ++start;
  return text.substr(start);
}

}  // namespace

Result<std::string> readCredentialFile(const std::string& path, const std::string& what) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return sysError(what + ": open(" + path + ")", ErrorCode::kInvalidArgument);
  std::string data;
  char buffer[8192];
  while (true) {
    ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sysError(what + ": read(" + path + ")", ErrorCode::kInvalidArgument);
    if (n == 0) break;
    data.append(buffer, static_cast<size_t>(n));
    if (data.size() > kMaxCredentialFileBytes)
      return makeError(ErrorCode::kInvalidArgument,
                       what + ": " + path + " is larger than " +
                           std::to_string(kMaxCredentialFileBytes) + " bytes");
  }
  return data;
}

std::shared_ptr<TokenSource> TokenSource::fixed(std::string token) {
  auto source = std::make_shared<TokenSource>();
  source->token_ = std::move(token);
  return source;
}

Result<std::shared_ptr<TokenSource>> TokenSource::fromFile(std::string path) {
  auto source = std::make_shared<TokenSource>();
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return sysError("token file: stat(" + path + ")", ErrorCode::kInvalidArgument);
  EXA_ASSIGN_OR_RETURN(std::string token, readCredentialFile(path, "token file"));
  token = trimmed(std::move(token));
  if (token.empty())
    return makeError(ErrorCode::kInvalidArgument, "token file: " + path + " is empty");
  source->token_ = std::move(token);
  source->path_ = std::move(path);
  source->stamp_ = FileStamp{st.st_ino, st.st_size, st.st_mtim};
  return source;
}

bool TokenSource::sameStamp(const FileStamp& a, const FileStamp& b) {
  return a.inode == b.inode && a.size == b.size && a.mtime.tv_sec == b.mtime.tv_sec &&
         a.mtime.tv_nsec == b.mtime.tv_nsec;
}

std::string TokenSource::currentToken() {
  std::lock_guard<std::mutex> lock(mu_);
  if (path_.empty()) return token_;
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) {
    LOG_W("token file {}: stat failed ({}), keeping the previous token", path_,
          std::strerror(errno));
    return token_;
  }
  FileStamp now{st.st_ino, st.st_size, st.st_mtim};
  if (sameStamp(now, stamp_)) return token_;
  auto fresh = readCredentialFile(path_, "token file");
  if (!fresh || trimmed(*fresh).empty()) {
    LOG_W("token file {}: re-read failed, keeping the previous token", path_);
    return token_;
  }
  token_ = trimmed(std::move(*fresh));
  stamp_ = now;
  return token_;
}

Result<ClusterCredentials> inClusterCredentials(const std::string& root) {
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
  if (host == nullptr || *host == '\0' || port == nullptr || *port == '\0')
    return makeError(ErrorCode::kNotFound,
                     "in-cluster configuration: KUBERNETES_SERVICE_HOST and "
                     "KUBERNETES_SERVICE_PORT are not set (not running in a pod?)");
  std::string host_text = host;
  // An IPv6 service address needs brackets in a URL.
  if (host_text.find(':') != std::string::npos) host_text = "[" + host_text + "]";
  ClusterCredentials creds;
  creds.server = "https://" + host_text + ":" + port;
  EXA_ASSIGN_OR_RETURN(creds.token, TokenSource::fromFile(root + "/token"));
  EXA_ASSIGN_OR_RETURN(creds.ca_pem, readCredentialFile(root + "/ca.crt", "in-cluster CA"));
  auto ns = readCredentialFile(root + "/namespace", "in-cluster namespace");
  if (ns && !trimmed(*ns).empty()) creds.default_namespace = trimmed(std::move(*ns));
  creds.user_name = "serviceaccount";
  return creds;
}

}  // namespace exa::kubernetes
