// MongoRegex on PCRE2: compile-time flags and limits, JIT where available, and the interpreter
// as the fallback when the JIT's stack is too small for a match.
#include "agent/registry/mongo_regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8

#include <pcre2.h>

#include <cstdint>

namespace exa::agent {
namespace {

// Per pcre2_match call. Legitimate patterns on record fields stay far below; catastrophic
// backtracking reaches it within milliseconds and becomes a 400 instead of a stuck thread.
constexpr uint32_t kRegexMatchLimit = 1'000'000;
constexpr uint32_t kRegexDepthLimit = 100'000;
constexpr uint32_t kRegexHeapLimitKib = 32 * 1024;
constexpr size_t kMaxRegexLength = 32 * 1024;

struct CodeFree {
  void operator()(pcre2_code* code) const { pcre2_code_free(code); }
};
struct MatchContextFree {
  void operator()(pcre2_match_context* context) const { pcre2_match_context_free(context); }
};
struct CompileContextFree {
  void operator()(pcre2_compile_context* context) const { pcre2_compile_context_free(context); }
};
struct MatchDataFree {
  void operator()(pcre2_match_data* data) const { pcre2_match_data_free(data); }
};

std::string pcre2Message(int code) {
  PCRE2_UCHAR buffer[256];
  int n = pcre2_get_error_message(code, buffer, sizeof(buffer));
  if (n < 0) return "PCRE2 error " + std::to_string(code);
  return std::string(reinterpret_cast<const char*>(buffer), static_cast<size_t>(n));
}

}  // namespace

struct MongoRegex::Compiled {
  std::unique_ptr<pcre2_code, CodeFree> code;
  std::unique_ptr<pcre2_match_context, MatchContextFree> match_context;
  std::string where;
  bool jit = false;
};

MongoRegex::MongoRegex(std::unique_ptr<Compiled> compiled) : compiled_(std::move(compiled)) {}
MongoRegex::MongoRegex(MongoRegex&&) noexcept = default;
MongoRegex& MongoRegex::operator=(MongoRegex&&) noexcept = default;
MongoRegex::~MongoRegex() = default;

Result<MongoRegex> MongoRegex::compile(const std::string& pattern, const std::string& options,
                                       const std::string& where) {
  // Always UTF, as MongoDB compiles them; invalid UTF-8 in a record is a non-match, not UB.
  uint32_t flags = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_NEVER_BACKSLASH_C;
  for (char c : options) {
    switch (c) {
      case 'i': flags |= PCRE2_CASELESS; break;
      case 'm': flags |= PCRE2_MULTILINE; break;
      case 's': flags |= PCRE2_DOTALL; break;
      case 'x': flags |= PCRE2_EXTENDED; break;
      case 'u': break;  // MongoDB accepts it; UTF is always on
      default:
        return makeError(ErrorCode::kInvalidArgument,
                         where + ": invalid flag '" + std::string(1, c) + "' in $options");
    }
  }
  std::unique_ptr<pcre2_compile_context, CompileContextFree> compile_context(
      pcre2_compile_context_create(nullptr));
  auto regex = std::make_unique<Compiled>();
  regex->match_context.reset(pcre2_match_context_create(nullptr));
  if (!compile_context || !regex->match_context)
    return makeError(ErrorCode::kResourceExhausted, where + ": out of memory");
  pcre2_set_max_pattern_length(compile_context.get(), kMaxRegexLength);
  int error_code = 0;
  PCRE2_SIZE error_offset = 0;
  regex->code.reset(pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                  flags, &error_code, &error_offset, compile_context.get()));
  if (!regex->code) {
    return makeError(ErrorCode::kInvalidArgument, where + ": " + pcre2Message(error_code) +
                                                      " at offset " + std::to_string(error_offset));
  }
  // JIT is an optimisation only: where it is unavailable (no executable memory) we interpret.
  regex->jit = pcre2_jit_compile(regex->code.get(), PCRE2_JIT_COMPLETE) == 0;
  pcre2_set_match_limit(regex->match_context.get(), kRegexMatchLimit);
  pcre2_set_depth_limit(regex->match_context.get(), kRegexDepthLimit);
  pcre2_set_heap_limit(regex->match_context.get(), kRegexHeapLimitKib);
  regex->where = where;
  return MongoRegex(std::move(regex));
}

Result<bool> MongoRegex::search(const std::string& subject) const {
  const Compiled& regex = *compiled_;
  // Match data is per thread: the compiled code is shared by concurrent queries.
  thread_local std::unique_ptr<pcre2_match_data, MatchDataFree> data(
      pcre2_match_data_create(1, nullptr));
  if (!data) return makeError(ErrorCode::kResourceExhausted, regex.where + ": out of memory");
  auto run = [&](uint32_t options) {
    return pcre2_match(regex.code.get(), reinterpret_cast<PCRE2_SPTR>(subject.data()),
                       subject.size(), 0, options, data.get(), regex.match_context.get());
  };
  int rc = run(0);
  // The JIT's fixed 32 KiB stack is smaller than what the interpreter may use on the heap.
  if (rc == PCRE2_ERROR_JIT_STACKLIMIT && regex.jit) rc = run(PCRE2_NO_JIT);
  if (rc >= 0) return true;
  if (rc == PCRE2_ERROR_NOMATCH) return false;
  if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT ||
      rc == PCRE2_ERROR_HEAPLIMIT || rc == PCRE2_ERROR_JIT_STACKLIMIT) {
    return makeError(ErrorCode::kInvalidArgument,
                     regex.where + ": pattern exceeded the regex match limit (" +
                         pcre2Message(rc) + "); simplify it");
  }
  return makeError(ErrorCode::kInternal, regex.where + ": " + pcre2Message(rc));
}

}  // namespace exa::agent
