#include "tests/support/agent_process.h"

#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <sstream>

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

}  // namespace exa::testing
