// spdlog behind the LOG_* macros: stderr, and no timestamps under systemd (journald adds them).
// The JSON format is rendered here (spdlog's patterns cannot escape a message).
#include "common/log.h"

#include <atomic>
#include <cstdlib>

#include <chrono>

#include <nlohmann/json.hpp>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace exa::log {
namespace {

std::atomic<Level> g_level{Level::kInfo};
std::atomic<bool> g_json{false};
thread_local std::string_view t_request_id;

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

bool setFormat(std::string_view name) {
  if (name != "text" && name != "json") return false;
  g_json = name == "json";
  logger().set_pattern(g_json ? "%v"
                       : std::getenv("JOURNAL_STREAM") ? "%l %v"
                                                       : "%Y-%m-%dT%H:%M:%S.%e %l %v");
  return true;
}

RequestScope::RequestScope(std::string_view request_id) : previous_(t_request_id) {
  t_request_id = request_id;
}
RequestScope::~RequestScope() { t_request_id = previous_; }
std::string_view currentRequestId() { return t_request_id; }

bool enabled(Level level) { return level >= g_level.load(std::memory_order_relaxed); }

void write(Level level, const char* func, int line, std::string_view text) {
  if (g_json.load(std::memory_order_relaxed)) {
    using namespace std::chrono;
    nlohmann::ordered_json entry = {
        {"ts", duration<double>(system_clock::now().time_since_epoch()).count()},
        {"level", spdlog::level::to_string_view(toSpd(level)).data()},
        {"request_id", t_request_id},
        {"at", fmt::format("{}:{}", func, line)},
        {"msg", text}};
    if (t_request_id.empty()) entry.erase("request_id");
    logger().log(toSpd(level), "{}",
                 entry.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace));
  } else if (!t_request_id.empty()) {
    logger().log(toSpd(level), "[{}] {}:{} {}", t_request_id, func, line, text);
  } else {
    logger().log(toSpd(level), "{}:{} {}", func, line, text);
  }
}

}  // namespace exa::log
