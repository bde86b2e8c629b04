// Length-prefixed frames (u32 big-endian length + payload) over a stream socket, with a hard
// cap on frame size and an optional deadline. Both the agent and the worker speak it.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace exa::sandbox {

using Clock = std::chrono::steady_clock;
using Deadline = std::optional<Clock::time_point>;

/// Writes one frame. kTimeout when the deadline passes, kUnavailable when the peer is gone.
Status writeFrame(int fd, std::string_view payload, Deadline deadline = std::nullopt);

/// Reads one frame. kResourceExhausted when the announced length exceeds `max_bytes` (the rest
/// is not read), kUnavailable on EOF, kTimeout when the deadline passes.
Result<std::string> readFrame(int fd, size_t max_bytes, Deadline deadline = std::nullopt);

}  // namespace exa::sandbox
