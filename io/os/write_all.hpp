#pragma once
/// Writing a whole buffer to a descriptor, across short writes and signals. Header-only: the
/// log relay links it without the rest of the library.

#include <unistd.h>

#include <cerrno>
#include <cstddef>

namespace sf::io {

/// Writes all `size` bytes of `data` to `fd`; false (errno set) on the first failure.
inline bool write_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

} // namespace sf::io
