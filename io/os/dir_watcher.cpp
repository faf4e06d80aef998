#include "io/os/dir_watcher.hpp"

#include "messages/error.hpp"

#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sf::io {

namespace {

constexpr uint32_t watch_mask = IN_MOVED_TO | IN_CLOSE_WRITE | IN_DELETE | IN_MOVED_FROM |
                                IN_DELETE_SELF | IN_ONLYDIR;

} // namespace

caf::expected<dir_watcher> dir_watcher::create(const std::string& dir) {
  unique_fd fd{::inotify_init1(IN_NONBLOCK | IN_CLOEXEC)};
  if (!fd)
    return make_error(ec::io_error, std::string("cannot create inotify instance: ") +
                                        std::strerror(errno) +
                                        "; raise fs.inotify.max_user_instances");
  if (::inotify_add_watch(fd.get(), dir.c_str(), watch_mask) < 0) {
    int err = errno;
    return make_error(err == ENOENT ? ec::not_found : ec::io_error,
                      "cannot watch folder " + dir + ": " + std::strerror(err) +
                          (err == ENOSPC ? "; raise fs.inotify.max_user_watches" : ""));
  }
  return dir_watcher{std::move(fd), dir};
}

dir_watcher::dir_watcher(unique_fd fd, std::string dir) : fd_(std::move(fd)), dir_(std::move(dir)) {
}

std::vector<dir_event> dir_watcher::read_events() {
  std::vector<dir_event> out;
  bool overflowed = false;
  // Aligned so the kernel's records can be read in place as inotify_event.
  alignas(inotify_event) char buf[64 * 1024];
  for (;;) {
    ssize_t n = ::read(fd_.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && errno == EAGAIN)
      break;
    if (n <= 0) {
      if (!overflowed)
        out.push_back({dir_event::overflow, {}});
      break;
    }
    for (char* p = buf; p < buf + n;) {
      auto* ev = reinterpret_cast<inotify_event*>(p);
      p += sizeof(inotify_event) + ev->len;
      if (ev->mask & IN_Q_OVERFLOW) {
        // One is enough: the caller rescans everything anyway.
        if (!overflowed)
          out.push_back({dir_event::overflow, {}});
        overflowed = true;
        continue;
      }
      // IN_IGNORED follows IN_DELETE_SELF (and an unmount): report the loss once.
      if (ev->mask & (IN_DELETE_SELF | IN_IGNORED | IN_UNMOUNT)) {
        if (!gone_)
          out.push_back({dir_event::watched_dir_gone, {}});
        gone_ = true;
        continue;
      }
      std::string name = ev->len > 0 ? std::string(ev->name) : std::string();
      if (name.empty() || name.find(".tmp") != std::string::npos)
        continue;
      if (ev->mask & (IN_MOVED_TO | IN_CLOSE_WRITE))
        out.push_back({dir_event::changed, std::move(name)});
      else if (ev->mask & (IN_DELETE | IN_MOVED_FROM))
        out.push_back({dir_event::removed, std::move(name)});
    }
  }
  return out;
}

} // namespace sf::io
