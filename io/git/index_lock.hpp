#pragma once
/// git's index lock protocol: `<git dir>/index.lock` created with O_EXCL is the right to write
/// the index; the new index is written beside it and renamed over `index`. A process that finds
/// the lock taken does not write around it. Holding this lock keeps every git command that
/// would touch the checkout's index (add, commit, stash, checkout, merge) out for the moment.

#include <caf/expected.hpp>

#include <sys/types.h>

#include <chrono>
#include <string>

namespace sf::io {

/// A held `index.lock`; released (removed) on destruction unless committed.
class index_lock {
public:
  /// Creates `<gitdir>/index.lock` (O_CREAT|O_EXCL). While another process holds it, waits with
  /// a growing backoff for at most `patience` (a background `git status` holds it for
  /// milliseconds), then fails with `ec::locked` naming the file and the fix. `checkout` names
  /// the checkout's folder in messages.
  static caf::expected<index_lock> acquire(const std::string& gitdir, const std::string& checkout,
                                           std::chrono::milliseconds patience);

  index_lock(index_lock&& other) noexcept;
  index_lock& operator=(index_lock&& other) noexcept;
  index_lock(const index_lock&) = delete;
  index_lock& operator=(const index_lock&) = delete;

  /// Releases the lock if it is still held.
  ~index_lock();

  /// `<gitdir>/index.lock`.
  const std::string& path() const noexcept { return lock_; }

  /// `<gitdir>/index`.
  const std::string& index_path() const noexcept { return index_; }

  /// Device and inode of the lock file we created, and the random token written into it, so a
  /// crash journal can later tell our stale lock from another process's (inode numbers are
  /// reused at once on ext4; the token is not).
  dev_t device() const noexcept { return dev_; }
  ino_t inode() const noexcept { return ino_; }
  const std::string& token() const noexcept { return token_; }

  /// Installs `new_index` (a complete index file in the same folder) as the index by renaming
  /// it over `index`, then frees the lock: the lock stays taken until the new index is in place.
  /// Refuses when the lock file is no longer ours (someone removed it meanwhile).
  caf::error commit(const std::string& new_index);

  /// Removes the lock file without changing the index, if it is still ours.
  void release() noexcept;

  /// Removes `<gitdir>/index.lock` when it is our own lock left by a crash: same device and
  /// inode, and holding `token`. True when it did.
  static bool remove_stale(const std::string& gitdir, dev_t dev, ino_t ino,
                           const std::string& token);

private:
  index_lock(std::string lock, std::string index, dev_t dev, ino_t ino, std::string token);
  bool still_ours() const noexcept;

  std::string lock_;
  std::string index_;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
  std::string token_;
  bool held_ = false;
};

} // namespace sf::io
