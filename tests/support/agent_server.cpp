#include "tests/support/agent_server.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdexcept>

#include "tests/support/agent_process.h"

namespace exa::testing {

std::vector<std::string> agentArgs(const TempDir& dir, std::vector<std::string> extra) {
  std::vector<std::string> args = {"--runtime-dir", dir.path() + "/run", "--data-dir",
                                   dir.path() + "/data", "--file-root", dir.path()};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

AgentServer::AgentServer(const std::vector<std::string>& extra_args) {
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
  std::vector<std::string> args = {EXA_AGENT_BINARY, "serve", "--listen", "127.0.0.1:0"};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_ = ::fork();
  if (pid_ == 0) {
    ::dup2(out[1], 1);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(out[1]);
  std::string line;
  char c;
  struct pollfd p{out[0], POLLIN, 0};
  while (line.find('\n') == std::string::npos && ::poll(&p, 1, 20000) == 1 && ::read(out[0], &c, 1) == 1)
    line.push_back(c);
  ::close(out[0]);
  auto colon = line.rfind(':');
  if (line.rfind("listening on ", 0) != 0 || colon == std::string::npos) {
    stop(SIGKILL);
    throw std::runtime_error("agent did not start: " + line);
  }
  port_ = static_cast<uint16_t>(std::stoi(line.substr(colon + 1)));
}

AgentServer::~AgentServer() {
  if (pid_ > 0) stop(SIGTERM);
}

int AgentServer::stop(int sig) {
  if (pid_ <= 0) return 0;
  // Past the agent's own drain (30 s for requests already read) with room to spare.
  int status = stopChild(pid_, sig, std::chrono::seconds(60), "executor-agent serve");
  pid_ = -1;
  return status;
}

}  // namespace exa::testing
