#pragma once
/// A command run to its end with its output (stdout and stderr together) kept in memory: only
/// the last bytes, so a command that prints without end costs a bounded buffer. It runs as a
/// `timed_process` (its own process group, SIGTERM at the deadline, SIGKILL after the grace).
/// Used for git's command line and the repository's git hooks.

#include "io/os/process.hpp"
#include "io/os/timed_process.hpp"

#include <caf/expected.hpp>

#include <chrono>
#include <cstddef>
#include <string>

namespace sf::io {

/// How a captured command ended and what it printed.
struct captured_result {
  timed_outcome outcome;  ///< Exit status, timeout, duration.
  bool stopped = false;   ///< Ended early because the stop descriptor became readable.
  std::string output;     ///< The last bytes it printed (at most the cap given).
  bool truncated = false; ///< Earlier output was dropped to keep within the cap.
};

/// Runs `req` (its `output_fd` is replaced by a pipe read here) until it ends, at most
/// `timeout` (then SIGTERM, SIGKILL after `grace`), or until `stop_fd` (when >= 0) is readable
/// (then the same signals at once). What it left running in its process group ends with it.
/// Errors only when it cannot be started.
caf::expected<captured_result> run_captured(spawn_request req, std::chrono::milliseconds timeout,
                                            std::chrono::milliseconds grace,
                                            std::size_t max_output, int stop_fd = -1);

} // namespace sf::io
