// The hwloc topology and the queries the inventory makes of it.
#include "hwinfo/hwloc_topology.h"

#include <hwloc.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <map>
#include <tuple>
#include <utility>

namespace exa::hwinfo {
namespace {

// Display controllers: VGA (0x0300), XGA (0x0301), 3D (0x0302, most compute GPUs), other.
constexpr unsigned kPciClassDisplay = 0x03;

// OS-device infos that hold a GPU's memory in KiB ("16384" or "16384KiB"), one per backend.
constexpr const char* kGpuMemoryInfos[] = {"CUDAGlobalMemorySize", "RSMIVRAMSize",
                                           "OpenCLGlobalMemorySize", "LevelZeroHBMSize",
                                           "LevelZeroMemorySize", "VectorEngineMemorySize"};

Error hwlocError(const std::string& call) {
  return sysError("hwloc " + call, ErrorCode::kUnavailable);
}

std::string info(hwloc_obj_t obj, const char* name) {
  const char* value = hwloc_obj_get_info_by_name(obj, name);
  return value ? value : "";
}

bool isGpuOsDevice(hwloc_obj_t obj) {
#if HWLOC_API_VERSION >= 0x00030000
  return obj->attr->osdev.types & (HWLOC_OBJ_OSDEV_GPU | HWLOC_OBJ_OSDEV_COPROC);
#else
  return obj->attr->osdev.type == HWLOC_OBJ_OSDEV_GPU ||
         obj->attr->osdev.type == HWLOC_OBJ_OSDEV_COPROC;
#endif
}

bool isDisplayPci(hwloc_obj_t obj) {
  return obj && obj->type == HWLOC_OBJ_PCI_DEVICE &&
         (obj->attr->pcidev.class_id >> 8) == kPciClassDisplay;
}

const char* cacheTypeName(hwloc_obj_cache_type_e type) {
  switch (type) {
    case HWLOC_OBJ_CACHE_DATA: return "data";
    case HWLOC_OBJ_CACHE_INSTRUCTION: return "instruction";
    case HWLOC_OBJ_CACHE_UNIFIED: return "unified";
  }
  return "unified";
}

/// Without libpciaccess hwloc has no pci.ids names; these are the vendors that ship GPUs.
std::string pciVendorName(unsigned vendor_id) {
  switch (vendor_id) {
    case 0x10de: return "NVIDIA Corporation";
    case 0x1002: return "Advanced Micro Devices, Inc. [AMD/ATI]";
    case 0x8086: return "Intel Corporation";
  }
  char hex[8];
  std::snprintf(hex, sizeof hex, "0x%04x", vendor_id & 0xffff);
  return hex;
}

GpuFacts gpuFromPci(hwloc_obj_t pci) {
  const auto& attr = pci->attr->pcidev;
  char text[32];
  std::snprintf(text, sizeof text, "%04x:%02x:%02x.%01x", static_cast<unsigned>(attr.domain),
                attr.bus, attr.dev, attr.func);
  GpuFacts gpu;
  gpu.pci_bus_id = text;
  gpu.vendor = info(pci, "PCIVendor");
  if (gpu.vendor.empty()) gpu.vendor = pciVendorName(attr.vendor_id);
  gpu.model = info(pci, "PCIDevice");
  if (gpu.model.empty()) {
    std::snprintf(text, sizeof text, "PCI %04x:%04x", attr.vendor_id, attr.device_id);
    gpu.model = text;
  }
  return gpu;
}

std::optional<uint64_t> gpuMemoryKb(hwloc_obj_t osdev) {
  for (const char* name : kGpuMemoryInfos) {
    const char* value = hwloc_obj_get_info_by_name(osdev, name);
    if (!value) continue;
    uint64_t kb = 0;
    auto [end, ec] = std::from_chars(value, value + std::char_traits<char>::length(value), kb);
    if (ec == std::errc() && kb > 0) return kb;
  }
  return std::nullopt;
}

/// A driver backend knows the marketing name and memory that bare PCI ids do not.
void mergeOsDevice(GpuFacts& gpu, hwloc_obj_t osdev, bool names_from_driver) {
  if (std::string model = info(osdev, "GPUModel"); !model.empty() && names_from_driver)
    gpu.model = model;
  if (std::string vendor = info(osdev, "GPUVendor"); !vendor.empty() && names_from_driver)
    gpu.vendor = vendor;
  if (auto kb = gpuMemoryKb(osdev); kb && (!gpu.memory_kb || *kb > *gpu.memory_kb))
    gpu.memory_kb = kb;
}

}  // namespace

Result<HwlocTopology> HwlocTopology::load() {
  // Headers and library of different major versions disagree on struct layouts.
  if ((hwloc_get_api_version() >> 16) != (HWLOC_API_VERSION >> 16))
    return makeError(ErrorCode::kUnavailable, "hwloc: library and headers differ in version");
  hwloc_topology_t raw = nullptr;
  if (hwloc_topology_init(&raw) != 0) return hwlocError("topology_init");
  HwlocTopology topology(raw);
  if (hwloc_topology_set_flags(raw, HWLOC_TOPOLOGY_FLAG_INCLUDE_DISALLOWED) != 0)
    return hwlocError("topology_set_flags");
  if (hwloc_topology_set_io_types_filter(raw, HWLOC_TYPE_FILTER_KEEP_IMPORTANT) != 0)
    return hwlocError("topology_set_io_types_filter");
  if (hwloc_topology_set_icache_types_filter(raw, HWLOC_TYPE_FILTER_KEEP_ALL) != 0)
    return hwlocError("topology_set_icache_types_filter");
  if (hwloc_topology_load(raw) != 0) return hwlocError("topology_load");
  return topology;
}

HwlocTopology::~HwlocTopology() {
  if (topology_) hwloc_topology_destroy(topology_);
}

HwlocTopology::HwlocTopology(HwlocTopology&& other) noexcept
    : topology_(std::exchange(other.topology_, nullptr)) {}

HwlocTopology& HwlocTopology::operator=(HwlocTopology&& other) noexcept {
  std::swap(topology_, other.topology_);
  return *this;
}

int HwlocTopology::packages() const {
  return std::max(0, hwloc_get_nbobjs_by_type(topology_, HWLOC_OBJ_PACKAGE));
}

int HwlocTopology::cores() const {
  return std::max(0, hwloc_get_nbobjs_by_type(topology_, HWLOC_OBJ_CORE));
}

int HwlocTopology::pus() const {
  return std::max(0, hwloc_get_nbobjs_by_type(topology_, HWLOC_OBJ_PU));
}

std::vector<CacheFacts> HwlocTopology::caches() const {
  std::map<std::tuple<int, std::string, uint64_t>, int> counts;
  for (hwloc_obj_type_t type :
       {HWLOC_OBJ_L1CACHE, HWLOC_OBJ_L2CACHE, HWLOC_OBJ_L3CACHE, HWLOC_OBJ_L4CACHE,
        HWLOC_OBJ_L5CACHE, HWLOC_OBJ_L1ICACHE, HWLOC_OBJ_L2ICACHE, HWLOC_OBJ_L3ICACHE}) {
    for (hwloc_obj_t obj = nullptr; (obj = hwloc_get_next_obj_by_type(topology_, type, obj));) {
      const auto& cache = obj->attr->cache;
      ++counts[{static_cast<int>(cache.depth), cacheTypeName(cache.type), cache.size / 1024}];
    }
  }
  std::vector<CacheFacts> caches;
  for (const auto& [key, count] : counts)
    caches.push_back({std::get<0>(key), std::get<1>(key), std::get<2>(key), count});
  return caches;
}

std::vector<NumaFacts> HwlocTopology::numaNodes() const {
  std::vector<NumaFacts> nodes;
  for (hwloc_obj_t obj = nullptr;
       (obj = hwloc_get_next_obj_by_type(topology_, HWLOC_OBJ_NUMANODE, obj));) {
    NumaFacts node{static_cast<int>(obj->os_index), {}, obj->attr->numanode.local_memory / 1024};
    for (int cpu = hwloc_bitmap_first(obj->cpuset); cpu != -1;
         cpu = hwloc_bitmap_next(obj->cpuset, cpu))
      node.cpus.push_back(cpu);
    nodes.push_back(std::move(node));
  }
  std::sort(nodes.begin(), nodes.end(), [](auto& a, auto& b) { return a.id < b.id; });
  return nodes;
}

std::vector<GpuFacts> HwlocTopology::gpus() const {
  std::vector<GpuFacts> gpus;
  for (hwloc_obj_t pci = nullptr; (pci = hwloc_get_next_pcidev(topology_, pci));) {
    if (!isDisplayPci(pci)) continue;
    GpuFacts gpu = gpuFromPci(pci);
    bool named = false;  // the first backend to name the device wins; they agree in practice
    for (hwloc_obj_t child = pci->io_first_child; child; child = child->next_sibling) {
      if (child->type != HWLOC_OBJ_OS_DEVICE || !isGpuOsDevice(child)) continue;
      mergeOsDevice(gpu, child, !named);
      named = named || !info(child, "GPUModel").empty();
    }
    gpus.push_back(std::move(gpu));
  }
  for (hwloc_obj_t osdev = nullptr; (osdev = hwloc_get_next_osdev(topology_, osdev));) {
    if (!isGpuOsDevice(osdev) || isDisplayPci(osdev->parent)) continue;
    if (info(osdev, "GPUModel").empty()) continue;  // e.g. a bare DRM node: nothing to report
    GpuFacts gpu;
    mergeOsDevice(gpu, osdev, true);
    gpus.push_back(std::move(gpu));
  }
  return gpus;
}

std::string HwlocTopology::cpuModel() const {
  hwloc_obj_t package = hwloc_get_next_obj_by_type(topology_, HWLOC_OBJ_PACKAGE, nullptr);
  return package ? info(package, "CPUModel") : "";
}

std::string HwlocTopology::cpuVendor() const {
  hwloc_obj_t package = hwloc_get_next_obj_by_type(topology_, HWLOC_OBJ_PACKAGE, nullptr);
  return package ? info(package, "CPUVendor") : "";
}

}  // namespace exa::hwinfo
