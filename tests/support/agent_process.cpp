#include "tests/support/agent_process.h"

#include <signal.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

namespace exa::testing {

AgentOutput runAgent(const std::string& args) {
  AgentOutput r;
  FILE* pipe = ::popen((std::string(EXA_AGENT_BINARY) + " " + args + " 2>/dev/null").c_str(), "r");
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) r.text.append(buf, n);
  int status = ::pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (auto parsed = parseJson(r.text)) r.json = *parsed;
  return r;
}

AgentOutput runShell(const std::string& command) {
  AgentOutput r;
  ::setenv("AGENT", EXA_AGENT_BINARY, 1);
  FILE* pipe = ::popen(("(" + command + ") 2>&1").c_str(), "r");
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) r.text.append(buf, n);
  int status = ::pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

int stopChild(pid_t pid, int sig, std::chrono::seconds grace, const std::string& what) {
  ::kill(pid, sig);
  int status = 0;
  auto deadline = std::chrono::steady_clock::now() + grace;
  while (std::chrono::steady_clock::now() < deadline) {
    pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid || (done < 0 && errno != EINTR)) return status;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::fprintf(stderr, "%s (pid %d) did not exit within %lld s of signal %d: killed\n",
               what.c_str(), static_cast<int>(pid), static_cast<long long>(grace.count()), sig);
  ::kill(pid, SIGKILL);
  ::waitpid(pid, &status, 0);
  return status;
}

}  // namespace exa::testing
