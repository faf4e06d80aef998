#include "cli/log_follow.hpp"

#include "io/os/safe_file.hpp"
#include "io/os/write_all.hpp"
#include "messages/error.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>

namespace sf::cli {

namespace {

// Copies from the current offset to the end of `fd`. A log cut shorter than what was read
// (truncated in place) is read again from its start.
caf::error copy_to_end(int fd, const std::string& label) {
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return make_error(ec::io_error, "cannot read " + label + ": " + io::errno_text(errno));
    if (n == 0)
      break;
    if (!io::write_all(STDOUT_FILENO, buf, static_cast<std::size_t>(n)))
      return make_error(ec::io_error, "cannot write the log to standard output: " +
                                        io::errno_text(errno));
  }
  struct stat st {};
  if (::fstat(fd, &st) == 0 && st.st_size < ::lseek(fd, 0, SEEK_CUR))
    ::lseek(fd, 0, SEEK_SET);
  return {};
}

// True when the name `dir/name` is (now) another file than `fd`, or none.
bool name_moved_on(const io::parallel_dir& dir, const std::string& name, int fd) {
  struct stat named {}, open {};
  if (::fstatat(dir.fd.get(), name.c_str(), &named, AT_SYMLINK_NOFOLLOW) != 0)
    return false; // Gone for now (between a rotation's rename and its new file).
  if (fd < 0 || ::fstat(fd, &open) != 0)
    return true;
  return named.st_ino != open.st_ino || named.st_dev != open.st_dev;
}

// The log and what was read of it; `fd` is not valid while the file does not exist.
struct followed_log {
  io::unique_fd fd;
  std::string label;
};

// Opens the name when it shows another file than the one followed (or none was open yet),
// after copying the rest of the old one.
caf::error catch_up(const io::parallel_dir& dir, const std::string& name, followed_log& log) {
  if (static_cast<bool>(log.fd))
    if (auto err = copy_to_end(log.fd.get(), log.label))
      return err;
  if (!name_moved_on(dir, name, static_cast<bool>(log.fd) ? log.fd.get() : -1))
    return {};
  auto next = io::open_regular_at(dir.fd.get(), dir.path, name, O_RDONLY);
  if (!next)
    return code_of(next.error()) == ec::not_found ? caf::error{} : next.error();
  log.fd = std::move(*next);
  return copy_to_end(log.fd.get(), log.label);
}

} // namespace

caf::error print_log(const io::parallel_dir& dir, const std::string& name) {
  auto fd = io::open_regular_at(dir.fd.get(), dir.path, name, O_RDONLY);
  if (!fd)
    return fd.error();
  return copy_to_end(fd->get(), dir.path + "/" + name);
}

caf::error follow_log(const io::parallel_dir& dir, const std::string& name) {
  // Blocked first, so the signals arrive on the descriptor instead of ending the process.
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGTERM);
  ::sigprocmask(SIG_BLOCK, &mask, nullptr);
  io::unique_fd sigfd{::signalfd(-1, &mask, SFD_CLOEXEC)};
  io::unique_fd watch{::inotify_init1(IN_NONBLOCK | IN_CLOEXEC)};
  if (!sigfd || !watch)
    return make_error(ec::io_error, "cannot follow " + dir.path + "/" + name + ": " +
                                      io::errno_text(errno));
  // Watching before the first read: nothing appended in between goes unnoticed.
  if (::inotify_add_watch(watch.get(), dir.path.c_str(),
                          IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_ONLYDIR) < 0)
    return make_error(ec::io_error, "cannot watch " + dir.path + ": " + io::errno_text(errno));
  followed_log log{io::unique_fd{}, dir.path + "/" + name};
  if (auto err = catch_up(dir, name, log))
    return err;
  for (;;) {
    pollfd fds[2] = {{sigfd.get(), POLLIN, 0}, {watch.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR)
        continue;
      return make_error(ec::io_error, "cannot wait for " + log.label + ": " +
                                        io::errno_text(errno));
    }
    if ((fds[0].revents & POLLIN) != 0)
      return {};
    alignas(inotify_event) char buf[sizeof(inotify_event) + NAME_MAX + 1];
    while (::read(watch.get(), buf, sizeof buf) > 0) {
      // Other files of the folder change too; catching up on them costs one read.
    }
    if (auto err = catch_up(dir, name, log))
      return err;
  }
}

} // namespace sf::cli
