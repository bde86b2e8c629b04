// The executor registration's "executor_hardware_info": the seed's shape for one machine,
// extended per node with placement data (CPU, NUMA, GPUs, OS, disk and interface detail).
// Fields and units: docs/hwinfo.md.
#pragma once

#include <string>

#include "common/json_util.h"
#include "common/result.h"
#include "hwinfo/machine_facts.h"

namespace exa::hwinfo {

/// Shapes `facts` as the seed's document: nodes.count 1, nodeData[0] is this machine under
/// `node_id`, the cluster-level totals are that node's and the cluster id is `node_id` too.
/// Seed keys come first and in the seed's order; memory, swap and sizes are MB (MiB).
Json buildHardwareInfo(const MachineFacts& facts, const std::string& node_id);

/// collectMachineFacts() of this machine, shaped by buildHardwareInfo(). Only an empty
/// `node_id` fails (kInvalidArgument); unreadable sources are logged and reported as 0/empty.
Result<Json> collectHardwareInfo(const std::string& node_id);

}  // namespace exa::hwinfo
