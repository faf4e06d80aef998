#pragma once
/// `.sf/parallel/coordinator.lock`: at most one coordinator per project root.

#include "io/os/safe_file.hpp"

#include <caf/expected.hpp>

#include <cstdint>
#include <string>

namespace sf::io {

/// Holds the flock on the lock file for as long as it lives (the fd is O_CLOEXEC, so workers
/// never inherit it and a dead coordinator never keeps the lock).
class coordinator_lock {
public:
  /// Takes the lock; `ec::already_running` naming the holder's pid when another holds it.
  static caf::expected<coordinator_lock> acquire(const std::string& root);

  /// True when some live process holds the lock of `root`; `pid` gets the pid it recorded.
  static bool is_held(const std::string& root, int64_t* pid = nullptr);

  /// Path of the lock file.
  static std::string path(const std::string& root);

private:
  explicit coordinator_lock(unique_fd fd) : fd_(std::move(fd)) {}
  unique_fd fd_;
};

} // namespace sf::io
