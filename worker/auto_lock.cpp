#include "worker/auto_lock.hpp"

#include "core/sf_paths.hpp"
#include "io/os/safe_file.hpp"
#include "messages/error.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <string>

namespace sf::worker {

std::string auto_lock::path_in(const std::string& worktree) {
  return core::auto_lock_file(worktree);
}

caf::expected<auto_lock> auto_lock::acquire(const std::string& worktree, const std::string& mid) {
  auto path = path_in(worktree);
  // O_CLOEXEC: a unit inheriting this fd would keep the lock held after we die.
  // open_regular adds O_CLOEXEC: a unit inheriting this fd would keep the lock held after we
  // die. A link, FIFO or folder planted there is refused, never followed or blocked on.
  auto opened = io::open_regular(path, O_RDWR | O_CREAT, 0644);
  if (!opened)
    return opened.error();
  io::unique_fd fd = std::move(*opened);
  int rc;
  do {
    rc = ::flock(fd.get(), LOCK_EX | LOCK_NB);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    if (errno != EWOULDBLOCK)
      return make_error(ec::io_error, "cannot lock " + path + ": " + io::errno_text(errno));
    char buf[32] = {};
    ssize_t n = ::pread(fd.get(), buf, sizeof(buf) - 1, 0);
    std::string pid = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "unknown";
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' '))
      pid.pop_back();
    return make_error(ec::already_running, "another worker (pid " + pid +
                                               ") already runs milestone " + mid + " in " +
                                               worktree);
  }
  std::string text = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd.get(), 0) != 0 ||
      ::pwrite(fd.get(), text.data(), text.size(), 0) != static_cast<ssize_t>(text.size()))
    return make_error(ec::io_error, "cannot write our pid into " + path + ": " +
                                        io::errno_text(errno) + "; check free space");
  return auto_lock{std::move(fd)};
}

} // namespace sf::worker
