// Seccomp profile compiler (zygote side: parses, allocates, talks to libseccomp) and loader
// (worker side: one syscall, async-signal-safe).
#include "sandbox/seccomp_filter.h"

#include <linux/seccomp.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <exception>
#include <initializer_list>
#include <memory>
#include <string>
#include <utility>

#include <seccomp.h>

#include "common/json_util.h"
#include "common/syscall.h"
#include "common/unique_fd.h"

namespace exa::sandbox {
namespace {

constexpr uint64_t kAllBits = ~uint64_t{0};
constexpr unsigned kMaxArgs = 6;
// An in/not_in product beyond this is a profile mistake, not a filter anyone wants to review.
constexpr size_t kMaxExpansion = 256;

struct FilterDeleter {
  void operator()(void* filter) const { seccomp_release(filter); }
};
using FilterPtr = std::unique_ptr<void, FilterDeleter>;

// One parsed condition: the rule matches when any alternative does (an in/not_in expands to
// several; every other op is a single comparison).
using Alternatives = std::vector<scmp_arg_cmp>;

struct ErrnoName {
  const char* name;
  int value;
};
// The errnos a profile has reason to return; anything else can be given as a number.
constexpr ErrnoName kErrnoNames[] = {
    {"EPERM", EPERM},
    {"ENOENT", ENOENT},
    {"EACCES", EACCES},
    {"EINVAL", EINVAL},
    {"ENOSYS", ENOSYS},
    {"ENOTTY", ENOTTY},
    {"EOPNOTSUPP", EOPNOTSUPP},
    {"ENOTSUP", ENOTSUP},
    {"EAFNOSUPPORT", EAFNOSUPPORT},
    {"EPROTONOSUPPORT", EPROTONOSUPPORT},
};

Error profileError(const std::string& message) {
  return makeError(ErrorCode::kInvalidArgument, "seccomp profile: " + message);
}

// Rejects misspelt keys: a typo such as "arg" would otherwise silently widen a rule.
Status checkKeys(const Json& object, std::initializer_list<const char*> allowed,
                 const std::string& where) {
  for (const auto& [key, value] : object.items()) {
    bool known = false;
    for (const char* name : allowed) known = known || key == name;
    if (!known) return profileError(where + ": unknown key \"" + key + "\"");
  }
  return {};
}

// A JSON integer (negative ones wrap as the kernel sees a sign-extended int) or a string,
// hex with 0x, so masks and ioctl numbers can be written the way headers spell them.
Result<uint64_t> parseNumber(const Json& value, const std::string& where) {
  if (value.is_number_unsigned()) return value.get<uint64_t>();
  if (value.is_number_integer()) return static_cast<uint64_t>(value.get<int64_t>());
  if (value.is_string()) {
    const std::string& text = value.get_ref<const std::string&>();
    bool hex = text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X');
    const char* begin = text.data() + (hex ? 2 : 0);
    const char* end = text.data() + text.size();
    uint64_t number = 0;
    auto [ptr, ec] = std::from_chars(begin, end, number, hex ? 16 : 10);
    if (ec == std::errc() && ptr == end && begin != end) return number;
  }
  return profileError(where + ": expected a non-negative number or \"0x...\", got " +
                      dumpJson(value));
}

Result<int> parseErrno(const Json& value, const std::string& where) {
  if (value.is_string()) {
    for (const auto& entry : kErrnoNames) {
      if (value.get_ref<const std::string&>() == entry.name) return entry.value;
    }
    return profileError(where + ": unknown errno " + dumpJson(value));
  }
  EXA_ASSIGN_OR_RETURN(uint64_t number, parseNumber(value, where + ": errno"));
  // SECCOMP_RET_DATA carries 16 bits, but only 1..4095 reads back as an errno in userspace.
  if (number == 0 || number > 4095) return profileError(where + ": errno out of range");
  return static_cast<int>(number);
}

// `errno_value` is the rule's "errno" member, or null when absent.
Result<uint32_t> parseAction(const Json& action, const Json* errno_value,
                             const std::string& where) {
  if (!action.is_string()) return profileError(where + ": action must be a string");
  const std::string& name = action.get_ref<const std::string&>();
  if (name == "errno") {
    if (errno_value == nullptr) return profileError(where + ": action errno needs \"errno\"");
    EXA_ASSIGN_OR_RETURN(int number, parseErrno(*errno_value, where));
    return SCMP_ACT_ERRNO(static_cast<uint32_t>(number));
  }
  if (errno_value != nullptr) return profileError(where + ": \"errno\" given for action " + name);
  if (name == "allow") return SCMP_ACT_ALLOW;
  if (name == "kill_process") return SCMP_ACT_KILL_PROCESS;
  if (name == "kill_thread") return SCMP_ACT_KILL_THREAD;
  if (name == "trap") return SCMP_ACT_TRAP;
  if (name == "log") return SCMP_ACT_LOG;
  return profileError(where + ": unknown action \"" + name + "\"");
}

scmp_arg_cmp maskedEq(unsigned index, uint64_t mask, uint64_t value) {
  if (mask == kAllBits) return scmp_arg_cmp{index, SCMP_CMP_EQ, value, 0};
  return scmp_arg_cmp{index, SCMP_CMP_MASKED_EQ, mask, value};
}

// One level of the trie walk in coverComplement: `values` all share the prefix fixed so far.
void coverBranch(unsigned index, const std::vector<int>& bits, size_t depth, uint64_t prefix_mask,
                 uint64_t prefix_value, const std::vector<uint64_t>& values, Alternatives& out) {
  if (depth == bits.size()) return;  // what is left are exactly the excluded points
  uint64_t bit = uint64_t{1} << bits[depth];
  for (uint64_t side : {uint64_t{0}, bit}) {
    std::vector<uint64_t> branch;
    for (uint64_t value : values) {
      if ((value & bit) == side) branch.push_back(value);
    }
    if (branch.empty()) {
      out.push_back(maskedEq(index, prefix_mask | bit, prefix_value | side));
    } else {
      coverBranch(index, bits, depth + 1, prefix_mask | bit, prefix_value | side, branch, out);
    }
  }
}

// libseccomp has no "not equal to any of", and a catch-all rule would override the other
// rules of that syscall, so not_in becomes masked_eq comparisons that together match exactly
// the x with (x & mask) outside `excluded`: a binary trie over the mask's bits, high to low,
// where each branch holding no excluded value is one comparison on the prefix so far.
Alternatives coverComplement(unsigned index, uint64_t mask, const std::vector<uint64_t>& excluded) {
  Alternatives out;
  uint64_t prefix_mask = 0;
  if (mask == kAllBits) {
    // Unmasked: every value above the largest excluded one is a single GE, which keeps the
    // 60-odd empty high branches of a small set such as {1, 2, 10} out of the filter.
    uint64_t largest = 0;
    for (uint64_t value : excluded) largest = std::max(largest, value);
    int width = std::bit_width(largest);
    if (width < 64) {
      out.push_back(scmp_arg_cmp{index, SCMP_CMP_GE, uint64_t{1} << width, 0});
      prefix_mask = ~((uint64_t{1} << width) - 1);
    }
  }
  std::vector<int> bits;
  for (int bit = 63; bit >= 0; --bit) {
    if (((mask & ~prefix_mask) >> bit) & 1) bits.push_back(bit);
  }
  coverBranch(index, bits, 0, prefix_mask, 0, excluded, out);
  return out;
}

Result<Alternatives> parseCondition(const Json& arg, const std::string& where) {
  if (!arg.is_object()) return profileError(where + ": each arg must be an object");
  EXA_TRY(checkKeys(arg, {"index", "op", "value", "mask", "values"}, where));
  if (!arg.contains("index") || !arg.contains("op") || !arg["op"].is_string())
    return profileError(where + ": an arg needs \"index\" and \"op\"");
  EXA_ASSIGN_OR_RETURN(uint64_t index64, parseNumber(arg["index"], where + ": index"));
  if (index64 >= kMaxArgs) return profileError(where + ": arg index must be 0..5");
  auto index = static_cast<unsigned>(index64);
  const std::string& op = arg["op"].get_ref<const std::string&>();

  uint64_t mask = kAllBits;
  if (arg.contains("mask")) {
    if (op != "masked_eq" && op != "in" && op != "not_in")
      return profileError(where + ": \"mask\" is only for masked_eq, in and not_in");
    EXA_ASSIGN_OR_RETURN(mask, parseNumber(arg["mask"], where + ": mask"));
    if (mask == 0) return profileError(where + ": mask 0 matches everything");
  }

  if (op == "in" || op == "not_in") {
    const Json& values = arg.contains("values") ? arg["values"] : Json();
    if (!values.is_array() || values.empty() || arg.contains("value"))
      return profileError(where + ": " + op + " needs a non-empty \"values\" array");
    std::vector<uint64_t> numbers;
    for (const Json& value : values) {
      EXA_ASSIGN_OR_RETURN(uint64_t number, parseNumber(value, where + ": values"));
      if ((number & ~mask) != 0)
        return profileError(where + ": value " + std::to_string(number) + " has bits outside mask");
      numbers.push_back(number);
    }
    if (op == "not_in") return coverComplement(index, mask, numbers);
    Alternatives out;
    for (uint64_t number : numbers) out.push_back(maskedEq(index, mask, number));
    return out;
  }

  if (!arg.contains("value") || arg.contains("values"))
    return profileError(where + ": op " + op + " needs a single \"value\"");
  EXA_ASSIGN_OR_RETURN(uint64_t value, parseNumber(arg["value"], where + ": value"));
  if (op == "masked_eq") {
    if (!arg.contains("mask")) return profileError(where + ": masked_eq needs \"mask\"");
    if ((value & ~mask) != 0) return profileError(where + ": value has bits outside mask");
    return Alternatives{scmp_arg_cmp{index, SCMP_CMP_MASKED_EQ, mask, value}};
  }
  static constexpr std::pair<const char*, scmp_compare> kOps[] = {
      {"eq", SCMP_CMP_EQ}, {"ne", SCMP_CMP_NE}, {"lt", SCMP_CMP_LT},
      {"le", SCMP_CMP_LE}, {"gt", SCMP_CMP_GT}, {"ge", SCMP_CMP_GE},
  };
  for (const auto& [name, compare] : kOps) {
    if (op == name) return Alternatives{scmp_arg_cmp{index, compare, value, 0}};
  }
  return profileError(where + ": unknown op \"" + op + "\"");
}

// The argument conditions of one rule as the list of libseccomp rules (each an AND of
// comparisons) whose union is the rule: the product of every condition's alternatives.
Result<std::vector<Alternatives>> expandArgs(const Json& rule, const std::string& where) {
  std::vector<Alternatives> combos(1);
  if (!rule.contains("args")) return combos;
  const Json& args = rule["args"];
  if (!args.is_array()) return profileError(where + ": \"args\" must be an array");
  bool seen[kMaxArgs] = {};
  for (const Json& arg : args) {
    EXA_ASSIGN_OR_RETURN(Alternatives alternatives, parseCondition(arg, where));
    if (alternatives.empty()) return profileError(where + ": a condition matches nothing");
    unsigned index = alternatives.front().arg;
    // libseccomp rejects two comparisons of one argument in a rule (EINVAL); say so here.
    if (seen[index])
      return profileError(where + ": two conditions on arg " + std::to_string(index) +
                          "; use separate rules or in/not_in");
    seen[index] = true;
    if (combos.size() * alternatives.size() > kMaxExpansion)
      return profileError(where + ": args expand to more than 256 rules");
    std::vector<Alternatives> next;
    for (const Alternatives& combo : combos) {
      for (const scmp_arg_cmp& cmp : alternatives) {
        next.push_back(combo);
        next.back().push_back(cmp);
      }
    }
    combos = std::move(next);
  }
  return combos;
}

// "rule 12 (socket)": the position plus the first name, so an error points at one entry.
std::string ruleLabel(size_t position, const Json& rule) {
  std::string label = "rule " + std::to_string(position);
  if (rule.is_object() && rule.contains("names") && rule["names"].is_array() &&
      !rule["names"].empty() && rule["names"][0].is_string()) {
    label += " (" + rule["names"][0].get<std::string>();
    if (rule["names"].size() > 1) label += ", ...";
    label += ")";
  }
  return label;
}

Status addRule(scmp_filter_ctx filter, uint32_t default_action, size_t position, const Json& rule) {
  const std::string where = ruleLabel(position, rule);
  if (!rule.is_object()) return profileError(where + ": must be an object");
  EXA_TRY(checkKeys(rule, {"names", "action", "errno", "args", "reason", "comment"}, where));
  // Every entry of the allowlist has to justify itself to a reviewer.
  if (!rule.contains("reason") || !rule["reason"].is_string() ||
      rule["reason"].get_ref<const std::string&>().empty())
    return profileError(where + ": missing \"reason\"");
  if (!rule.contains("names") || !rule["names"].is_array() || rule["names"].empty())
    return profileError(where + ": \"names\" must be a non-empty array");
  if (!rule.contains("action")) return profileError(where + ": missing \"action\"");
  EXA_ASSIGN_OR_RETURN(
      uint32_t action,
      parseAction(rule["action"], rule.contains("errno") ? &rule["errno"] : nullptr, where));
  EXA_ASSIGN_OR_RETURN(std::vector<Alternatives> combos, expandArgs(rule, where));

  for (const Json& name : rule["names"]) {
    if (!name.is_string()) return profileError(where + ": names must be strings");
    const std::string& syscall_name = name.get_ref<const std::string&>();
    int nr = seccomp_syscall_resolve_name(syscall_name.c_str());
    if (nr == __NR_SCMP_ERROR)
      return profileError(where + ": unknown syscall \"" + syscall_name + "\"");
    // Rules that repeat the default only document intent (libseccomp refuses them with
    // EACCES); negative numbers are syscalls libseccomp knows but this arch lacks.
    if (action == default_action || nr < 0) continue;
    for (const Alternatives& combo : combos) {
      int rc = seccomp_rule_add_array(filter, action, nr, static_cast<unsigned>(combo.size()),
                                      combo.empty() ? nullptr : combo.data());
      if (rc < 0) {
        return Error{ErrorCode::kInvalidArgument, -rc,
                     "seccomp profile: " + where + ": seccomp_rule_add(" + syscall_name + ")"};
      }
    }
  }
  return {};
}

// libseccomp 2.5.4 can only export to an fd; a memfd keeps the program off the filesystem.
Result<SeccompProgram> exportProgram(scmp_filter_ctx filter) {
  UniqueFd fd(::memfd_create("seccomp-bpf", MFD_CLOEXEC));
  if (!fd) return sysError("memfd_create(seccomp-bpf)");
  int rc = seccomp_export_bpf(filter, fd.get());
  if (rc < 0) return Error{ErrorCode::kInternal, -rc, "seccomp_export_bpf"};
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return sysError("fstat(seccomp-bpf)");
  auto bytes = static_cast<size_t>(st.st_size);
  if (bytes == 0 || bytes % sizeof(sock_filter) != 0)
    return makeError(ErrorCode::kInternal, "seccomp_export_bpf: truncated program");
  size_t count = bytes / sizeof(sock_filter);
  // The kernel refuses longer programs; better to fail in the zygote than in every worker.
  if (count > BPF_MAXINSNS) {
    return profileError("compiles to " + std::to_string(count) +
                        " BPF instructions, above the kernel's limit of 4096");
  }
  SeccompProgram program;
  program.instructions.resize(count);
  auto* out = reinterpret_cast<char*>(program.instructions.data());
  size_t done = 0;
  while (done < bytes) {
    ssize_t n = retryEintr(
        [&] { return ::pread(fd.get(), out + done, bytes - done, static_cast<off_t>(done)); });
    if (n < 0) return sysError("pread(seccomp-bpf)");
    if (n == 0) return makeError(ErrorCode::kInternal, "pread(seccomp-bpf): short read");
    done += static_cast<size_t>(n);
  }
  return program;
}

Result<SeccompProgram> compile(std::string_view profile_json) {
  EXA_ASSIGN_OR_RETURN(Json profile, parseJson(profile_json));
  if (!profile.is_object()) return profileError("top level must be an object");
  EXA_TRY(checkKeys(profile, {"comment", "default_action", "default_errno", "rules"}, "top level"));
  if (!profile.contains("default_action")) return profileError("missing \"default_action\"");
  EXA_ASSIGN_OR_RETURN(
      uint32_t default_action,
      parseAction(profile["default_action"],
                  profile.contains("default_errno") ? &profile["default_errno"] : nullptr,
                  "default_action"));
  if (default_action == SCMP_ACT_ALLOW) return profileError("default_action must not be allow");
  if (!profile.contains("rules") || !profile["rules"].is_array())
    return profileError("\"rules\" must be an array");

  // seccomp_init covers only the native arch, so i386 (int 0x80) and every other foreign ABI
  // take the bad-arch action; for x86_64 libseccomp also routes x32 syscall numbers there.
  FilterPtr filter(seccomp_init(default_action));
  if (!filter) return makeError(ErrorCode::kInternal, "seccomp_init failed");
  int rc = seccomp_attr_set(filter.get(), SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
  if (rc < 0) return Error{ErrorCode::kInternal, -rc, "seccomp_attr_set(ACT_BADARCH)"};
  // A binary tree over syscall numbers: ~8 comparisons per syscall instead of a linear scan
  // of some 250 entries on every syscall the worker makes.
  rc = seccomp_attr_set(filter.get(), SCMP_FLTATR_CTL_OPTIMIZE, 2);
  if (rc < 0) return Error{ErrorCode::kInternal, -rc, "seccomp_attr_set(CTL_OPTIMIZE)"};

  const Json& rules = profile["rules"];
  for (size_t i = 0; i < rules.size(); ++i)
    EXA_TRY(addRule(filter.get(), default_action, i, rules[i]));
  return exportProgram(filter.get());
}

}  // namespace

Result<SeccompProgram> compileSeccompProfile(std::string_view profile_json) {
  // The accessors used above are type-checked first; this catches what is left (bad_alloc,
  // a nlohmann invariant) so no exception crosses into the zygote.
  try {
    return compile(profile_json);
  } catch (const std::exception& e) {
    return makeError(ErrorCode::kInternal, std::string("seccomp profile: ") + e.what());
  }
}

Status loadSeccompProgram(const SeccompProgram& program) {
  // Error messages stay within libstdc++'s 15-character small-string buffer, so even the
  // failure paths of this forked child do not allocate.
  if (program.instructions.empty() || program.instructions.size() > BPF_MAXINSNS)
    return Error{ErrorCode::kSandboxSetup, EINVAL, "seccomp(size)"};
  struct sock_fprog fprog {};
  fprog.len = static_cast<unsigned short>(program.instructions.size());
  // The kernel copies the program and never writes through this pointer.
  fprog.filter = const_cast<struct sock_filter*>(program.instructions.data());
  // TSYNC: a worker is single-threaded at this point, but if a library started a thread it
  // must not stay unfiltered.
  long rc = ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &fprog);
  if (rc < 0) return sysError("seccomp(2)", ErrorCode::kSandboxSetup);
  // With TSYNC a positive result is the id of a thread that could not be synchronised.
  if (rc > 0) return Error{ErrorCode::kSandboxSetup, ESRCH, "seccomp(TSYNC)"};
  return {};
}

}  // namespace exa::sandbox
