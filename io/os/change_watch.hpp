#pragma once
/// One inotify instance watching several folders for any change at all: what a waiter needs
/// to know that something it depends on (a lock file, a git operation's marker, a user's file)
/// may be gone, without polling. One instance for all of them, because the user's own tools
/// need the few instances a user may have.

#include "io/os/unique_fd.hpp"

#include <caf/expected.hpp>

#include <cstddef>
#include <string>
#include <vector>

namespace sf::io {

/// Readable when a file was created, written, renamed or removed in a watched folder.
class change_watch {
public:
  /// Watches the folders of `dirs` that exist (at most `max` of them, in order): a folder that
  /// cannot be watched is skipped. Fails when inotify is unavailable or nothing could be watched.
  static caf::expected<change_watch> create(const std::vector<std::string>& dirs,
                                            std::size_t max = 64);

  change_watch(change_watch&&) noexcept = default;
  change_watch& operator=(change_watch&&) noexcept = default;

  /// The non-blocking inotify descriptor (give it to fd_reactor).
  int fd() const noexcept { return fd_.get(); }

  /// Number of folders watched.
  std::size_t size() const noexcept { return watched_; }

  /// Reads away whatever is queued, without blocking.
  void drain() noexcept;

private:
  change_watch(unique_fd fd, std::size_t watched) : fd_(std::move(fd)), watched_(watched) {}

  unique_fd fd_;
  std::size_t watched_ = 0;
};

} // namespace sf::io
