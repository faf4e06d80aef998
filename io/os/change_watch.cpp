#include "io/os/change_watch.hpp"

#include "io/os/safe_file.hpp"
#include "messages/error.hpp"

#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>

namespace sf::io {

caf::expected<change_watch> change_watch::create(const std::vector<std::string>& dirs,
                                                 std::size_t max) {
  unique_fd fd{::inotify_init1(IN_NONBLOCK | IN_CLOEXEC)};
  if (!fd)
    return make_error(ec::io_error, "cannot start an inotify watch: " + errno_text(errno));
  std::size_t watched = 0;
  constexpr uint32_t mask = IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_CLOSE_WRITE |
                            IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_DONT_FOLLOW;
  for (const auto& dir : dirs) {
    if (watched >= max)
      break;
    if (::inotify_add_watch(fd.get(), dir.c_str(), mask) >= 0)
      ++watched;
  }
  if (watched == 0)
    return make_error(ec::not_found, "none of the folders to watch exists or can be watched");
  return change_watch{std::move(fd), watched};
}

void change_watch::drain() noexcept {
  alignas(inotify_event) char buf[8192];
  while (::read(fd_.get(), buf, sizeof buf) > 0) {
  }
}

} // namespace sf::io
