#pragma once
/// `.sf/auto.lock` in a worktree: one worker per milestone, holding an flock for its lifetime.

#include "io/os/unique_fd.hpp"

#include <caf/expected.hpp>

#include <string>

namespace sf::worker {

/// A held lock; released when destroyed (closing the fd drops the flock).
class auto_lock {
public:
  /// Path of the lock file in `worktree`.
  static std::string path_in(const std::string& worktree);

  /// Takes the lock without waiting and writes our pid into it. `ec::already_running`, naming
  /// the holder's pid (as written in the file) and `mid`, when another process holds it.
  static caf::expected<auto_lock> acquire(const std::string& worktree, const std::string& mid);

  auto_lock(auto_lock&&) noexcept = default;
  auto_lock& operator=(auto_lock&&) noexcept = default;

  /// Releases the lock now (also done by the destructor).
  void release() { fd_.reset(); }

private:
  explicit auto_lock(io::unique_fd fd) : fd_(std::move(fd)) {}

  io::unique_fd fd_;
};

} // namespace sf::worker
