#pragma once
/// A log file that never grows past its cap: the file and its one rotated copy `<path>.1`
/// together hold at most `max_bytes`. Used by `sf-log-relay`, the small program between a
/// worker's output pipe and `.sf/parallel/<MID>.log`, so it depends on nothing but the C++
/// standard library and Linux (no CAF, no libgit2: the relay starts in well under a
/// millisecond).

#include <cstddef>
#include <string>

namespace sf::io {

/// Appends to `path`, rotating it to `<path>.1` whenever it reaches half the cap, so
/// `size(path) + size(path.1) <= max_bytes` at every moment. Several writers (one per relay
/// of the same milestone) may append at once: each write happens under an `flock` of the
/// file, and a writer that finds its file rotated by another follows the name. The log is
/// opened with O_NOFOLLOW | O_NONBLOCK and must be a regular file (a planted link, FIFO or
/// folder is refused, never followed or blocked on). Output that cannot be written (refused
/// file, full disk) is dropped and counted; a note saying so is written once writing works
/// again. Not thread-safe: one owner.
class capped_log {
public:
  /// A log at `path` holding at most `max_bytes` (at least 2) with its rotated copy.
  capped_log(std::string path, std::size_t max_bytes);

  /// Closes the file.
  ~capped_log();

  capped_log(const capped_log&) = delete;
  capped_log& operator=(const capped_log&) = delete;

  /// Appends `size` bytes, rotating as needed; what cannot be written is dropped.
  void append(const char* data, std::size_t size);

  /// Writes the note about dropped bytes if one is pending (call before exiting).
  void finish();

  /// Bytes dropped so far.
  std::size_t dropped() const { return dropped_; }

  /// Why bytes were last dropped (empty when none were).
  const std::string& last_error() const { return error_; }

  /// The most one of the two files may hold: half the cap.
  std::size_t file_limit() const { return half_; }

private:
  bool open_current();
  bool still_named() const;
  void rotate();
  void append_raw(const char* data, std::size_t size);
  void drop(std::size_t size, std::string why);

  std::string path_;
  std::size_t half_;
  int fd_ = -1;
  std::size_t dropped_ = 0;
  std::size_t noted_ = 0; ///< Dropped bytes already told about in the log.
  std::string error_;
};

} // namespace sf::io
