#pragma once
/// inotify watch on one folder, reporting files that were (re)written or removed.

#include "io/os/unique_fd.hpp"

#include <caf/expected.hpp>

#include <string>
#include <vector>

namespace sf::io {

/// One thing that happened in the watched folder.
struct dir_event {
  /// What happened.
  enum kind_t {
    changed,          ///< A file was renamed into place or closed after writing.
    removed,          ///< A file was deleted or renamed away.
    overflow,         ///< The kernel dropped events: rescan the folder.
    watched_dir_gone, ///< The folder itself was deleted or unmounted; the watch is dead.
  };
  kind_t kind;      ///< What happened.
  std::string name; ///< File name inside the folder; empty for overflow/watched_dir_gone.
};

/// Watches one folder (not recursive). Names containing ".tmp" are never reported, since
/// writers use them for files that are not complete yet. Move-only; not thread-safe.
class dir_watcher {
public:
  /// Starts watching `dir`, which must be an existing directory.
  static caf::expected<dir_watcher> create(const std::string& dir);

  dir_watcher(dir_watcher&&) noexcept = default;
  dir_watcher& operator=(dir_watcher&&) noexcept = default;

  /// The non-blocking inotify fd: readable when events are queued (give it to fd_reactor).
  int fd() const noexcept { return fd_.get(); }

  /// The watched folder.
  const std::string& dir() const noexcept { return dir_; }

  /// Drains all queued events without blocking, in order. A read failure other than
  /// "nothing queued" is reported as one `overflow` event, so the caller rescans.
  std::vector<dir_event> read_events();

private:
  dir_watcher(unique_fd fd, std::string dir);

  unique_fd fd_;
  std::string dir_;
  bool gone_ = false;
};

} // namespace sf::io
