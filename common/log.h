// Logging macros for the agent and the zygote (never the jailed worker, which reports through
// its channel). They wrap spdlog; no other file includes it. Format strings are fmt's.
#pragma once

#include <cerrno>
#include <cstring>
#include <string_view>

#include <fmt/format.h>

namespace exa::log {

enum class Level { kDebug, kInfo, kWarn, kError };

/// Sets the threshold from "debug", "info", "warn" or "error"; false for anything else.
bool setLevel(std::string_view name);
/// "text" (one human line) or "json" (one object per line, for log shippers); false otherwise.
bool setFormat(std::string_view name);

/// While alive, lines logged on this thread carry `request_id` (a handler runs on one thread
/// from dispatch to reply, so everything it logs is tied to its request).
class RequestScope {
 public:
  explicit RequestScope(std::string_view request_id);
  ~RequestScope();
  RequestScope(const RequestScope&) = delete;
  RequestScope& operator=(const RequestScope&) = delete;

 private:
  std::string_view previous_;
};
/// The current thread's request id, "" outside a request.
std::string_view currentRequestId();
bool enabled(Level level);
void write(Level level, const char* func, int line, std::string_view text);

}  // namespace exa::log

#define EXA_LOG(level, ...)                                                       \
  do {                                                                            \
    if (::exa::log::enabled(level))                                               \
      ::exa::log::write(level, __func__, __LINE__, ::fmt::format(__VA_ARGS__));   \
  } while (0)

#define LOG_D(...) EXA_LOG(::exa::log::Level::kDebug, __VA_ARGS__)
#define LOG_I(...) EXA_LOG(::exa::log::Level::kInfo, __VA_ARGS__)
#define LOG_W(...) EXA_LOG(::exa::log::Level::kWarn, __VA_ARGS__)
#define LOG_E(...) EXA_LOG(::exa::log::Level::kError, __VA_ARGS__)
