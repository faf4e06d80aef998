#pragma once
/// Move-only owner of a file descriptor.

#include <unistd.h>

#include <utility>

namespace sf::io {

/// Owns one file descriptor and closes it on destruction; -1 means empty.
class unique_fd {
public:
  /// An empty holder.
  unique_fd() noexcept = default;

  /// Takes ownership of `fd` (may be -1).
  explicit unique_fd(int fd) noexcept : fd_(fd) {}

  /// Closes the held descriptor, if any.
  ~unique_fd() { reset(); }

  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;

  /// Takes the descriptor of `other`, leaving it empty.
  unique_fd(unique_fd&& other) noexcept : fd_(other.release()) {}

  /// Closes ours, then takes the descriptor of `other`.
  unique_fd& operator=(unique_fd&& other) noexcept {
    if (this != &other)
      reset(other.release());
    return *this;
  }

  /// The held descriptor, or -1.
  int get() const noexcept { return fd_; }

  /// True when a descriptor is held.
  explicit operator bool() const noexcept { return fd_ >= 0; }

  /// Gives up ownership without closing; returns the descriptor.
  int release() noexcept { return std::exchange(fd_, -1); }

  /// Closes the held descriptor and holds `fd` instead.
  void reset(int fd = -1) noexcept {
    // close() errors are not actionable here: on Linux the fd is released either way.
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = fd;
  }

private:
  int fd_ = -1;
};

} // namespace sf::io
