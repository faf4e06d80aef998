#pragma once
/// Frees replaced and removed files' blocks on a background thread instead of in the call.
///
/// A rename over an existing file, or an unlink, drops the old inode's last link; the kernel
/// frees its blocks inside that call. On ext4 mounted with `discard` (this project's machines)
/// that waits ~1.1 ms for the device while using ~0.04 ms of CPU. Holding the old inode open
/// across the call moves the freeing to the last close, which a background closer does.

#include "io/os/unique_fd.hpp"

#include <cstddef>
#include <string>
#include <vector>

namespace sf::io {

/// An O_PATH descriptor on `name` under `dirfd` that keeps its inode alive (a symbolic link
/// is held itself, never followed); empty when the file does not exist or cannot be opened.
unique_fd hold_inode(int dirfd, const char* name);

/// The same for an absolute or working-directory-relative path.
unique_fd hold_inode(const std::string& path);

/// Closes `fd` on the background closer thread; inline when that thread cannot be started or
/// already has a long queue, so nothing piles up without bound.
void release_later(unique_fd fd);

/// unlinkat(dirfd, name, 0) whose block freeing is left to the closer; returns its result
/// (0, or -1 with errno set).
int unlink_deferred(int dirfd, const char* name);

/// unlink(path), the same way.
int unlink_deferred(const std::string& path);

/// Inodes held for the span of an operation that replaces or removes their files (a libgit2
/// index or ref write, a checkout); the destructor hands them all to the closer.
class held_inodes {
public:
  held_inodes() = default;
  held_inodes(const held_inodes&) = delete;
  held_inodes& operator=(const held_inodes&) = delete;
  ~held_inodes();

  /// Holds the file at `path` if it exists.
  void add(const std::string& path);

  /// Holds everything under the folder `path` and the folder itself, links not followed, up to
  /// `limit` entries in all (past that the removal frees the rest inline, keeping the number of
  /// open descriptors bounded).
  void add_tree(const std::string& path, std::size_t limit = 128);

private:
  void add_walk(int parent, const char* name, std::size_t& budget);
  void add_held(unique_fd fd, std::size_t& budget);

  std::vector<unique_fd> fds_;
};

/// Blocks until every descriptor handed to `release_later` so far has been closed.
void wait_released();

} // namespace sf::io
