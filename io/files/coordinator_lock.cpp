#include "io/files/coordinator_lock.hpp"

#include "core/sf_paths.hpp"
#include "io/files/parallel_dir.hpp"
#include "messages/error.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

namespace sf::io {

namespace {

constexpr const char* lock_name = "coordinator.lock";

int64_t recorded_pid(int fd) {
  char buf[32] = {};
  auto n = ::pread(fd, buf, sizeof buf - 1, 0);
  return n > 0 ? std::strtoll(buf, nullptr, 10) : 0;
}

} // namespace

std::string coordinator_lock::path(const std::string& root) {
  return core::parallel_file(root, lock_name);
}

caf::expected<coordinator_lock> coordinator_lock::acquire(const std::string& root) {
  auto dir = ensure_parallel_dir(root);
  if (!dir)
    return dir.error();
  unique_fd fd;
  // `doctor --fix` may unlink a dead coordinator's lock file while we open it: a lock on an
  // unlinked file protects nothing, so retry until the locked file is the one at the path.
  for (int attempt = 0;; ++attempt) {
    auto opened = open_regular_at(dir->fd.get(), dir->path, lock_name, O_RDWR | O_CREAT, 0600);
    if (!opened)
      return opened.error();
    fd = std::move(*opened);
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
      if (errno == EWOULDBLOCK)
        return make_error(ec::already_running,
                          "a coordinator (pid " + std::to_string(recorded_pid(fd.get())) +
                            ") already runs for " + root +
                            "; use `sf-actors status`, or `sf-actors stop` to end it");
      return make_error(ec::io_error, "cannot lock " + path(root) + ": " + errno_text(errno));
    }
    struct stat held, named;
    if (::fstat(fd.get(), &held) == 0 &&
        ::fstatat(dir->fd.get(), lock_name, &named, AT_SYMLINK_NOFOLLOW) == 0 &&
        held.st_ino == named.st_ino && held.st_dev == named.st_dev)
      break;
    if (attempt >= 10)
      return make_error(ec::io_error, "the lock file " + path(root) +
                                        " keeps being replaced; is `sf-actors doctor --fix` "
                                        "running in a loop?");
  }
  auto text = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd.get(), 0) != 0 ||
      ::pwrite(fd.get(), text.data(), text.size(), 0) != static_cast<ssize_t>(text.size()))
    return make_error(ec::io_error, "cannot write " + path(root) + ": " + errno_text(errno));
  return coordinator_lock{std::move(fd)};
}

bool coordinator_lock::is_held(const std::string& root, int64_t* pid) {
  auto dir = open_parallel_dir(root);
  if (!dir)
    return false;
  // A link, FIFO or folder there is no lock anyone holds (acquire refuses such a file); the
  // commands report it through check_runtime_files.
  auto opened = open_regular_at(dir->fd.get(), dir->path, lock_name, O_RDONLY);
  if (!opened)
    return false;
  unique_fd fd = std::move(*opened);
  if (::flock(fd.get(), LOCK_SH | LOCK_NB) == 0) {
    ::flock(fd.get(), LOCK_UN);
    return false;
  }
  if (pid != nullptr)
    *pid = recorded_pid(fd.get());
  return true;
}

} // namespace sf::io
