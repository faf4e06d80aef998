#include "io/git/merge_turn.hpp"

#include "io/files/parallel_dir.hpp"
#include "io/os/safe_file.hpp"
#include "messages/error.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/file.h>

#include <algorithm>
#include <cerrno>

namespace sf::io {

caf::expected<unique_fd> take_merge_turn(const std::string& root,
                                         std::chrono::milliseconds patience, int stop_fd) {
  auto dir = ensure_parallel_dir(root);
  if (!dir)
    return std::move(dir.error());
  auto path = dir->path + "/merge.lock";
  auto opened = open_regular_at(dir->fd.get(), dir->path, "merge.lock", O_RDWR | O_CREAT);
  if (!opened)
    return std::move(opened.error());
  unique_fd fd = std::move(*opened);
  auto deadline = std::chrono::steady_clock::now() + patience;
  auto pause = std::chrono::milliseconds(1);
  while (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR)
      return make_error(ec::io_error, "cannot lock " + path + ": " + errno_text(errno));
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline)
      return make_error(ec::locked, "another sf-actors merge of " + root + " holds " + path +
                                      "; let it finish, then merge again");
    // The wait doubles as the wait for a stop: a signal must not sit behind another merge.
    auto wait = std::min<std::chrono::steady_clock::duration>(pause, deadline - now);
    pollfd pfd{stop_fd, POLLIN, 0};
    if (::poll(&pfd, stop_fd >= 0 ? 1 : 0,
               static_cast<int>(
                 std::chrono::duration_cast<std::chrono::milliseconds>(wait).count() + 1)) > 0)
      return make_error(ec::unavailable, "stopped while waiting for another sf-actors merge");
    pause = std::min(pause * 2, std::chrono::milliseconds(50));
  }
  return fd;
}

bool merge_turn_busy(const std::string& root) {
  auto dir = open_parallel_dir(root);
  if (!dir)
    return false;
  auto opened = open_regular_at(dir->fd.get(), dir->path, "merge.lock", O_RDONLY);
  if (!opened)
    return false;
  if (::flock(opened->get(), LOCK_SH | LOCK_NB) == 0) {
    ::flock(opened->get(), LOCK_UN);
    return false;
  }
  return errno == EWOULDBLOCK;
}

} // namespace sf::io
