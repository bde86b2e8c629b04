#include "kubernetes/node_inventory.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "common/log.h"
#include "kubernetes/quantity.h"

namespace exa::kubernetes {
namespace {

constexpr const char* kNodesPath = "/api/v1/nodes";
/// A server that keeps handing out continue tokens is broken; 1000 pages of 500 is 500k nodes,
/// far beyond the largest clusters Kubernetes supports (5000).
constexpr int kMaxPages = 1000;

/// Labels worth showing for placement (a job's node_selector becomes its pods' nodeSelector),
/// in this order; node-role.kubernetes.io/* are kept too. Not every label: feature discovery
/// adds hundreds per node, and the document travels with every changed heartbeat.
constexpr std::string_view kKeptLabels[] = {
    "kubernetes.io/hostname",          "kubernetes.io/arch",
    "kubernetes.io/os",                "node.kubernetes.io/instance-type",
    "topology.kubernetes.io/region",   "topology.kubernetes.io/zone",
    "nvidia.com/gpu.product",          "nvidia.com/gpu.memory",
    "amd.com/gpu.product-name",
};
constexpr std::string_view kRolePrefix = "node-role.kubernetes.io/";

/// What a GPU extended resource counts. Only "device" entries are whole GPUs; the others share
/// GPUs that a device entry, or the node's hardware, already has.
struct GpuResource {
  const char* vendor;
  const char* kind;  ///< "device", "mig" (an NVIDIA MIG slice), "shared" (time-sliced replicas)
};

/// The device plugins' resource names. Intel's plugin also advertises gpu.intel.com/millicores,
/// memory.max and tiles (shares of the same GPUs) and i915_monitoring (access to all of them):
/// counting those would multiply the GPUs, so only i915 and xe count.
std::optional<GpuResource> gpuResource(std::string_view name) {
  if (name == "nvidia.com/gpu") return GpuResource{"nvidia", "device"};
  if (name == "nvidia.com/gpu.shared") return GpuResource{"nvidia", "shared"};
  if (name.starts_with("nvidia.com/mig-")) return GpuResource{"nvidia", "mig"};
  if (name == "amd.com/gpu") return GpuResource{"amd", "device"};
  if (name == "gpu.intel.com/i915" || name == "gpu.intel.com/xe")
    return GpuResource{"intel", "device"};
  return std::nullopt;
}

/// The label naming a vendor's GPU model (set by NVIDIA's GPU feature discovery and AMD's node
/// labeller; Intel's labels carry only PCI ids).
const char* modelLabel(std::string_view vendor) {
  if (vendor == "nvidia") return "nvidia.com/gpu.product";
  if (vendor == "amd") return "amd.com/gpu.product-name";
  return nullptr;
}

Json cores(int64_t millis) {
  if (millis % 1000 == 0) return millis / 1000;
  return static_cast<double>(millis) / 1000.0;
}

int64_t mebibytes(int64_t bytes) { return bytes >> 20; }

/// One node's status.capacity or status.allocatable, parsed.
struct Resources {
  int64_t cpu_millis = 0;
  int64_t memory_bytes = 0;
  int64_t ephemeral_bytes = 0;
  int64_t pods = 0;
  /// Domain-qualified (extended) resources in the server's order: GPUs and other devices.
  std::vector<std::pair<std::string, int64_t>> extended;

  int64_t extendedValue(const std::string& name) const {
    for (const auto& [n, v] : extended)
      if (n == name) return v;
    return 0;
  }
};

/// `list` (a ResourceList); a quantity that does not parse or is negative counts 0 and is
/// reported in `invalid` as "<where>.<name>: <why>", so one odd value shows rather than hides.
Resources readResources(const Json& list, const std::string& where, Json& invalid) {
  Resources r;
  if (!list.is_object()) return r;
  for (const auto& [name, raw] : list.items()) {
    bool is_cpu = name == "cpu";
    bool extended = name.find('/') != std::string::npos;
    if (!is_cpu && !extended && name != "memory" && name != "ephemeral-storage" && name != "pods")
      continue;  // hugepages-*, attachable volume counts: nothing placement reads
    auto quantity = quantityFromJson(raw);
    Result<int64_t> value = quantity ? (is_cpu ? quantity->milliValue() : quantity->value())
                                     : Result<int64_t>(quantity.error());
    if (value && *value < 0) {
      value = makeError(ErrorCode::kInvalidArgument, fmt::format("negative ({})", dumpJson(raw)));
    }
    if (!value) {
      invalid.push_back(where + "." + name + ": " + value.error().message);
      continue;
    }
    if (is_cpu) r.cpu_millis = *value;
    else if (name == "memory") r.memory_bytes = *value;
    else if (name == "ephemeral-storage") r.ephemeral_bytes = *value;
    else if (name == "pods") r.pods = *value;
    else r.extended.emplace_back(name, *value);
  }
  return r;
}

/// Whole GPUs ("device" resources) by vendor.
std::map<std::string, int64_t> gpuDevices(const Resources& r) {
  std::map<std::string, int64_t> by_vendor;
  for (const auto& [name, count] : r.extended) {
    auto gpu = gpuResource(name);
    if (gpu && std::string_view(gpu->kind) == "device") by_vendor[gpu->vendor] += count;
  }
  return by_vendor;
}

int64_t sum(const std::map<std::string, int64_t>& counts) {
  int64_t total = 0;
  for (const auto& [_, n] : counts) total += n;
  return total;
}

Json resourcesJson(const Resources& r) {
  return Json{{"cpu", cores(r.cpu_millis)},
              {"memory", mebibytes(r.memory_bytes)},
              {"ephemeral_storage", mebibytes(r.ephemeral_bytes)},
              {"pods", r.pods},
              {"gpus", sum(gpuDevices(r))}};
}

/// A node as the totals need it, next to its nodeData entry.
struct NodeSummary {
  Json entry;
  Resources capacity;
  Resources allocatable;
  int64_t swap_bytes = 0;
  bool ready = false;
  bool schedulable = false;
};

const Json& field(const Json& object, const char* key) {
  static const Json kNull;
  if (!object.is_object()) return kNull;
  auto it = object.find(key);
  return it == object.end() ? kNull : *it;
}

std::string stringField(const Json& object, const char* key) {
  const Json& value = field(object, key);
  return value.is_string() ? value.get<std::string>() : std::string();
}

NodeSummary summarize(const Json& node) {
  NodeSummary s;
  const Json& metadata = field(node, "metadata");
  const Json& spec = field(node, "spec");
  const Json& status = field(node, "status");
  const Json& info = field(status, "nodeInfo");
  Json invalid = Json::array();
  s.capacity = readResources(field(status, "capacity"), "capacity", invalid);
  s.allocatable = readResources(field(status, "allocatable"), "allocatable", invalid);
  // nodeInfo.swap.capacity (bytes) exists from v1.30 on nodes with swap enabled for pods.
  const Json& swap = field(field(info, "swap"), "capacity");
  if (swap.is_number_integer() && swap.get<int64_t>() > 0) s.swap_bytes = swap.get<int64_t>();

  const Json& conditions = field(status, "conditions");
  if (conditions.is_array()) {
    for (const Json& condition : conditions) {
      // "False" and "Unknown" (the kubelet stopped posting) both mean: do not count on it.
      if (stringField(condition, "type") == "Ready")
        s.ready = stringField(condition, "status") == "True";
    }
  }
  bool unschedulable = field(spec, "unschedulable").is_boolean() &&
                       field(spec, "unschedulable").get<bool>();
  Json taints = Json::array();
  bool repels = false;
  if (field(spec, "taints").is_array()) {
    for (const Json& taint : field(spec, "taints")) {
      std::string effect = stringField(taint, "effect");
      Json t = {{"key", stringField(taint, "key")}};
      if (!stringField(taint, "value").empty()) t["value"] = stringField(taint, "value");
      t["effect"] = effect;  // timeAdded is left out: it would change the document for nothing
      taints.push_back(std::move(t));
      repels = repels || effect == "NoSchedule" || effect == "NoExecute";
    }
  }
  s.schedulable = s.ready && !unschedulable && !repels;

  Json labels = Json::object();
  const Json& node_labels = field(metadata, "labels");
  if (node_labels.is_object()) {
    for (std::string_view key : kKeptLabels) {
      const Json& value = field(node_labels, std::string(key).c_str());
      if (value.is_string()) labels[std::string(key)] = value;
    }
    for (const auto& [key, value] : node_labels.items()) {
      if (key.starts_with(kRolePrefix) && value.is_string()) labels[key] = value;
    }
  }

  Json gpus = Json::array();
  Json extended = Json::object();
  std::vector<std::string> names;
  for (const auto& [name, _] : s.capacity.extended) names.push_back(name);
  for (const auto& [name, _] : s.allocatable.extended) {
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  }
  for (const std::string& name : names) {
    int64_t capacity = s.capacity.extendedValue(name);
    int64_t allocatable = s.allocatable.extendedValue(name);
    extended[name] = Json{{"capacity", capacity}, {"allocatable", allocatable}};
    auto gpu = gpuResource(name);
    if (!gpu) continue;
    // The local document's gpus entries have vendor and model too; count says how many.
    Json entry = {{"vendor", gpu->vendor}, {"resource", name}, {"kind", gpu->kind},
                  {"count", allocatable}, {"capacity", capacity}};
    if (const char* label = modelLabel(gpu->vendor)) {
      std::string model = stringField(node_labels, label);
      if (!model.empty()) entry["model"] = model;
    }
    // GPU feature discovery's per-GPU memory in MiB, the unit of the local gpus[].memory.
    std::string memory = stringField(node_labels, "nvidia.com/gpu.memory");
    if (std::string_view(gpu->vendor) == "nvidia" && std::string_view(gpu->kind) == "device" &&
        !memory.empty() && memory.find_first_not_of("0123456789") == std::string::npos &&
        memory.size() <= 12) {
      entry["memory"] = std::stoll(memory);
    }
    gpus.push_back(std::move(entry));
  }

  // The seed's keys first and in its order, as in the local document (docs/hwinfo.md).
  Json& e = s.entry;
  e["id"] = stringField(metadata, "name");
  e["vcpus"] = Json{{"count", cores(s.allocatable.cpu_millis)},
                    {"capacity", cores(s.capacity.cpu_millis)}};
  e["memory"] = mebibytes(s.allocatable.memory_bytes);
  e["swap"] = mebibytes(s.swap_bytes);
  // Kubernetes reports one node filesystem for pods (ephemeral-storage), not disks or links.
  e["storage"] = Json{{"disks", 0}, {"size", mebibytes(s.allocatable.ephemeral_bytes)}};
  e["network"] = Json{{"interfaces", 0}, {"txBandwidth", 0}, {"rxBandwidth", 0}};
  e["capacity"] = resourcesJson(s.capacity);
  e["allocatable"] = resourcesJson(s.allocatable);
  e["gpus"] = std::move(gpus);
  e["extended"] = std::move(extended);
  e["labels"] = std::move(labels);
  e["os"] = Json{{"name", stringField(info, "osImage")},
                 {"kernel", stringField(info, "kernelVersion")},
                 {"arch", stringField(info, "architecture")}};
  e["kubelet"] = stringField(info, "kubeletVersion");
  e["container_runtime"] = stringField(info, "containerRuntimeVersion");
  e["ready"] = s.ready;
  e["unschedulable"] = unschedulable;
  e["taints"] = std::move(taints);
  e["schedulable"] = s.schedulable;
  if (!invalid.empty()) e["invalid"] = std::move(invalid);
  return s;
}

/// Sums for one "totals" block; GPU devices by vendor as well.
struct Totals {
  Resources resources;
  std::map<std::string, int64_t> gpus;

  void add(const Resources& r) {
    resources.cpu_millis += r.cpu_millis;
    resources.memory_bytes += r.memory_bytes;
    resources.ephemeral_bytes += r.ephemeral_bytes;
    resources.pods += r.pods;
    for (const auto& [vendor, n] : gpuDevices(r)) gpus[vendor] += n;
  }
  Json json() const {
    Json j = resourcesJson(resources);
    j["gpus"] = sum(gpus);
    j["gpu_vendors"] = Json::object();
    for (const auto& [vendor, n] : gpus) j["gpu_vendors"][vendor] = n;
    return j;
  }
};

Json emptyCluster(const std::string& cluster_id) {
  return hardwareFromNodeList(Json{{"items", Json::array()}}, cluster_id);
}

Result<Json> listNodes(ApiClient& client, int page_size) {
  for (int attempt = 1;; ++attempt) {
    Json items = Json::array();
    std::string next;
    bool restart = false;
    for (int page = 0; !restart; ++page) {
      if (page == kMaxPages) {
        return makeError(ErrorCode::kProtocol,
                         fmt::format("GET {}: still a continue token after {} pages", kNodesPath,
                                     kMaxPages));
      }
      QueryParams query;
      if (page_size > 0) query.emplace_back("limit", std::to_string(page_size));
      if (!next.empty()) query.emplace_back("continue", next);
      ApiStatus status;
      auto reply = client.request("GET", kNodesPath, nullptr, query, &status);
      if (!reply) {
        // The token outlived the server's snapshot (410 Expired): list again from the start,
        // once; a second expiry is the server's to explain.
        if (!next.empty() && status.code == 410 && attempt == 1) {
          LOG_I("GET {}: continue token expired after {} nodes; listing again", kNodesPath,
                items.size());
          restart = true;
          continue;
        }
        return std::move(reply).error();
      }
      const Json& page_items = field(*reply, "items");
      if (!page_items.is_array() && !page_items.is_null()) {
        return makeError(ErrorCode::kProtocol,
                         fmt::format("GET {}: the reply is not a NodeList", kNodesPath));
      }
      if (page_items.is_array())
        for (const Json& item : page_items) items.push_back(item);
      next = stringField(field(*reply, "metadata"), "continue");
      if (next.empty()) return items;
    }
  }
}

ApiClientOptions inventoryOptions(ApiClientOptions options) {
  options.request_timeout = std::min(options.request_timeout, std::chrono::milliseconds(10000));
  options.max_attempts = std::min(options.max_attempts, 2);
  options.max_retry_after = std::min(options.max_retry_after, std::chrono::milliseconds(5000));
  return options;
}

}  // namespace

Json nodeHardware(const Json& node) { return summarize(node).entry; }

Json hardwareFromNodeList(const Json& node_list, const std::string& cluster_id) {
  Json node_data = Json::array();
  Totals capacity, allocatable, available;
  int64_t available_swap = 0;
  int ready = 0, schedulable = 0;
  const Json& items = field(node_list, "items");
  if (items.is_array()) {
    for (const Json& node : items) {
      if (!node.is_object()) continue;
      NodeSummary s = summarize(node);
      capacity.add(s.capacity);
      allocatable.add(s.allocatable);
      ready += s.ready ? 1 : 0;
      if (s.schedulable) {
        ++schedulable;
        available.add(s.allocatable);
        available_swap += s.swap_bytes;
      }
      node_data.push_back(std::move(s.entry));
    }
  }
  // Summed in bytes and millicores first, then rounded, as docs/hwinfo.md does for disks.
  const Resources& usable = available.resources;
  Json doc;
  auto count = static_cast<int64_t>(node_data.size());
  doc["nodes"] = Json{{"count", count}, {"nodeData", std::move(node_data)}};
  doc["vcpus"] = Json{{"count", cores(usable.cpu_millis)}};
  doc["memory"] = mebibytes(usable.memory_bytes);
  doc["swap"] = mebibytes(available_swap);
  doc["storage"] = Json{{"disks", 0}, {"size", mebibytes(usable.ephemeral_bytes)}};
  doc["network"] = Json{{"interfaces", 0}, {"txBandwidth", 0}, {"rxBandwidth", 0}};
  doc["id"] = cluster_id;
  doc["source"] = "kubernetes";
  doc["totals"] = Json{{"nodes", count},
                       {"ready", ready},
                       {"schedulable", schedulable},
                       {"capacity", capacity.json()},
                       {"allocatable", allocatable.json()},
                       {"available", available.json()}};
  return doc;
}

Result<Json> clusterHardwareInfo(ApiClient& client, const std::string& cluster_id,
                                 int page_size) {
  EXA_ASSIGN_OR_RETURN(Json items, listNodes(client, page_size));
  return hardwareFromNodeList(Json{{"items", std::move(items)}}, cluster_id);
}

ClusterHardware::ClusterHardware(const ApiClient& client, std::string cluster_id)
    : client_(client.credentials(), inventoryOptions(client.options())),
      cluster_id_(std::move(cluster_id)),
      current_(emptyCluster(cluster_id_)) {}

Json ClusterHardware::refresh() {
  auto listed = clusterHardwareInfo(client_, cluster_id_);
  std::lock_guard lock(mutex_);
  bool was_failing = !last_status_;
  if (listed) {
    if (was_failing) {
      LOG_I("cluster hardware: the API server answers again ({} nodes)",
            (*listed)["nodes"]["count"].get<int64_t>());
    }
    last_good_ = *listed;
    current_ = std::move(listed).value();
    last_status_ = Status();
    return current_;
  }
  if (!was_failing) {
    LOG_W("cluster hardware: {}; reporting {}", listed.error().describe(),
          last_good_.is_null() ? "no nodes until it answers" : "the last nodes listed");
  } else {
    LOG_D("cluster hardware: still failing: {}", listed.error().describe());
  }
  if (last_good_.is_null()) {
    current_ = emptyCluster(cluster_id_);
    current_["error"] = listed.error().describe();
  } else {
    current_ = last_good_;
  }
  last_status_ = listed.error();
  return current_;
}

Json ClusterHardware::current() const {
  std::lock_guard lock(mutex_);
  return current_;
}

Status ClusterHardware::lastStatus() const {
  std::lock_guard lock(mutex_);
  return last_status_;
}

}  // namespace exa::kubernetes
