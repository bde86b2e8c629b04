// spdlog behind the LOG_* macros: stderr, and no timestamps under systemd (journald adds them).
#include "common/log.h"

#include <atomic>
#include <cstdlib>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace exa::log {
namespace {

std::atomic<Level> g_level{Level::kInfo};

spdlog::logger& logger() {
  static auto instance = [] {
    auto l = spdlog::stderr_logger_mt("exa");
    l->set_level(spdlog::level::trace);
    l->set_pattern(std::getenv("JOURNAL_STREAM") ? "%l %v" : "%Y-%m-%dT%H:%M:%S.%e %l %v");
    return l;
  }();
  return *instance;
}

spdlog::level::level_enum toSpd(Level level) {
  switch (level) {
    case Level::kDebug: return spdlog::level::debug;
    case Level::kInfo: return spdlog::level::info;
    case Level::kWarn: return spdlog::level::warn;
    case Level::kError: return spdlog::level::err;
  }
  return spdlog::level::info;
}

}  // namespace

bool setLevel(std::string_view name) {
  if (name == "debug") g_level = Level::kDebug;
  else if (name == "info") g_level = Level::kInfo;
  else if (name == "warn") g_level = Level::kWarn;
  else if (name == "error") g_level = Level::kError;
  else return false;
  return true;
}

bool enabled(Level level) { return level >= g_level.load(std::memory_order_relaxed); }

void write(Level level, const char* func, int line, std::string_view text) {
  logger().log(toSpd(level), "{}:{} {}", func, line, text);
}

}  // namespace exa::log
