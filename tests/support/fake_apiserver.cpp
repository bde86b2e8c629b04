#include "tests/support/fake_apiserver.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <stdexcept>

namespace exa::testing {

std::string FakeApiServer::sharedDir() {
  if (const char* dir = std::getenv("EXA_K8S_SHARED_DIR"); dir && *dir) return dir;
  return std::string(EXA_SOURCE_DIR) + "/tests/fixtures/k8s";  // a copy of shared/k8s
}

bool FakeApiServer::available() {
  return ::access((sharedDir() + "/openapi-subset.json").c_str(), R_OK) == 0 &&
         ::access("/usr/bin/python3", X_OK) == 0;
}

FakeApiServer::FakeApiServer(FakeApiServerOptions options) {
  // Same approach as AgentServer: fork/exec with the child's stdout on a pipe and the first line
  // read with a deadline. Both pipes are CLOEXEC so no other child inherits them; dup2 clears
  // the flag on the child's copies.
  int out[2];
  int in[2];
  if (::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
  if (::pipe2(in, O_CLOEXEC) != 0) {
    ::close(out[0]);
    ::close(out[1]);
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
  args.insert(args.end(), options.extra_args.begin(), options.extra_args.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork");
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
  // Python parses a 0.7 MB schema before it listens; 20 s is generous even on a busy machine.
  while (line.find('\n') == std::string::npos && ::poll(&p, 1, 20000) == 1 &&
         ::read(out[0], &c, 1) == 1)
    line.push_back(c);
  ::close(out[0]);
  if (line.rfind("PORT=", 0) != 0) {
    stop(SIGKILL);
    throw std::runtime_error("fake apiserver did not start: " + line);
  }
  port_ = static_cast<uint16_t>(std::stoi(line.substr(5)));
}

FakeApiServer::~FakeApiServer() {
  if (pid_ > 0) stop(SIGTERM);
}

int FakeApiServer::stop(int sig) {
  if (stdin_fd_ >= 0) {
    ::close(stdin_fd_);
    stdin_fd_ = -1;
  }
  if (pid_ <= 0) return 0;
  ::kill(pid_, sig);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  return status;
}

}  // namespace exa::testing
