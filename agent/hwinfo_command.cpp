#include "agent/hwinfo_command.h"

#include <unistd.h>

#include <cstdio>

#include "common/log.h"
#include "hwinfo/hardware_info.h"

namespace exa::agent {

CLI::App* addHwinfoCommand(CLI::App& app, HwinfoOptions& o) {
  CLI::App* hwinfo = app.add_subcommand("hwinfo", "Print this machine's hardware as JSON");
  hwinfo->add_option("--node-id", o.node_id, "The node's id in the document (default: host name)");
  return hwinfo;
}

int hwinfoCommand(const HwinfoOptions& o) {
  std::string node_id = o.node_id;
  if (node_id.empty()) {
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    node_id = host;
  }
  auto info = hwinfo::collectHardwareInfo(node_id);
  if (!info) {
    LOG_E("hwinfo: {}", info.error().describe());
    return 1;
  }
  std::printf("%s\n", info->dump(2).c_str());
  return 0;
}

}  // namespace exa::agent
