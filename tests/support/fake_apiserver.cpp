#include "tests/support/fake_apiserver.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <system_error>

#include "tests/support/agent_process.h"

namespace exa::testing {

std::string FakeApiServer::sharedDir() {
  if (const char* dir = std::getenv("EXA_K8S_SHARED_DIR"); dir && *dir) return dir;
  return std::string(EXA_SOURCE_DIR) + "/tests/fixtures/k8s";  // a copy of shared/k8s
}

bool FakeApiServer::available() {
  return ::access((sharedDir() + "/openapi-subset.json").c_str(), R_OK) == 0 &&
         ::access("/usr/bin/python3", X_OK) == 0;
}

FakeApiServer::FakeApiServer(FakeApiServerOptions options) : tls_(options.tls) {
  std::string dir_template =
      (std::filesystem::temp_directory_path() / "exa-fake-apiserver-XXXXXX").string();
  if (::mkdtemp(dir_template.data()) == nullptr) throw std::runtime_error("mkdtemp");
  dir_ = dir_template;
  // Same approach as AgentServer: fork/exec with the child's stdout on a pipe and the first line
  // read with a deadline. Both pipes are CLOEXEC so no other child inherits them; dup2 clears
  // the flag on the child's copies.
  int out[2];
  int in[2];
  if (::pipe2(out, O_CLOEXEC) != 0) {
    removeDir();
    throw std::runtime_error("pipe");
  }
  if (::pipe2(in, O_CLOEXEC) != 0) {
    ::close(out[0]);
    ::close(out[1]);
    removeDir();
    throw std::runtime_error("pipe");
  }
  std::vector<std::string> args = {
      "/usr/bin/python3", std::string(EXA_SOURCE_DIR) + "/tests/support/fake_apiserver.py",
      "--schema", sharedDir() + "/openapi-subset.json", "--default-field-validation",
      options.default_field_validation};
  if (!options.token.empty()) {
    args.push_back("--token");
    args.push_back(options.token);
  }
  // The fake writes these before it prints PORT=, so they exist once the constructor returns.
  args.insert(args.end(), {"--kubeconfig", kubeconfig_path(), "--kubeconfig-namespace",
                           options.kubeconfig_namespace, "--serviceaccount-dir",
                           serviceaccount_dir()});
  if (options.tls) args.insert(args.end(), {"--tls", "--tls-dir", dir_ + "/tls"});
  if (options.auto_tick) args.push_back("--auto-tick");
  args.insert(args.end(), options.extra_args.begin(), options.extra_args.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_ = ::fork();
  if (pid_ < 0) {
    for (int fd : {out[0], out[1], in[0], in[1]}) ::close(fd);
    removeDir();
    throw std::runtime_error("fork");
  }
  if (pid_ == 0) {
    ::dup2(in[0], 0);
    ::dup2(out[1], 1);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(out[1]);
  ::close(in[0]);
  stdin_fd_ = in[1];
  std::string line;
  char c;
  struct pollfd p{out[0], POLLIN, 0};
  // Python parses a 0.7 MB schema (and with TLS runs openssl) before it listens; 20 s is
  // generous even on a busy machine.
  while (line.find('\n') == std::string::npos && ::poll(&p, 1, 20000) == 1 &&
         ::read(out[0], &c, 1) == 1)
    line.push_back(c);
  ::close(out[0]);
  if (line.rfind("PORT=", 0) != 0) {
    stop(SIGKILL);
    removeDir();
    throw std::runtime_error("fake apiserver did not start: " + line);
  }
  port_ = static_cast<uint16_t>(std::stoi(line.substr(5)));
}

FakeApiServer::~FakeApiServer() {
  if (pid_ > 0) stop(SIGTERM);
  removeDir();
}

void FakeApiServer::removeDir() {
  if (dir_.empty()) return;
  std::error_code ignored;  // a destructor must not throw; a leftover temp dir is harmless
  std::filesystem::remove_all(dir_, ignored);
}

int FakeApiServer::stop(int sig) {
  if (stdin_fd_ >= 0) {
    ::close(stdin_fd_);
    stdin_fd_ = -1;
  }
  if (pid_ <= 0) return 0;
  int status = stopChild(pid_, sig, std::chrono::seconds(15), "the fake API server");
  pid_ = -1;
  return status;
}

}  // namespace exa::testing
