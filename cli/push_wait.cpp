#include "cli/push_wait.hpp"

#include "io/files/coordinator_lock.hpp"
#include "io/files/event_log.hpp"
#include "io/files/parallel_dir.hpp"
#include "io/os/dir_watcher.hpp"
#include "io/os/safe_file.hpp"

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

namespace sf::cli {

namespace {

// Complete lines of the event log after byte `from`; `from` moves past them.
std::string new_lines(const std::string& root, std::size_t& from) {
  auto fd = io::open_regular(io::event_log_path(root), O_RDONLY);
  if (!fd)
    return {};
  std::string out;
  char buf[8192];
  for (;;) {
    auto n = ::pread(fd->get(), buf, sizeof buf, static_cast<off_t>(from + out.size()));
    if (n <= 0)
      break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  auto end = out.rfind('\n');
  if (end == std::string::npos)
    return {};
  out.resize(end + 1);
  from += out.size();
  return out;
}

// The outcome among `lines`, if one is there.
std::optional<std::string> push_outcome_in(const std::string& lines) {
  std::size_t at = 0;
  while (at < lines.size()) {
    auto end = lines.find('\n', at);
    auto j = nlohmann::json::parse(lines.substr(at, end - at), nullptr, false);
    at = end + 1;
    if (!j.is_object() || j.value("kind", "") != "merge")
      continue;
    auto state = j.value("state", "");
    if (state == "pushed")
      return std::string{};
    if (state == "push_failed")
      return j.value("text", std::string("the push failed"));
  }
  return std::nullopt;
}

} // namespace

std::size_t event_log_size(const std::string& root) {
  struct stat st{};
  if (::lstat(io::event_log_path(root).c_str(), &st) != 0 || !S_ISREG(st.st_mode))
    return 0;
  return static_cast<std::size_t>(st.st_size);
}

std::optional<std::string> wait_push_outcome(const std::string& root, std::size_t from,
                                             std::chrono::milliseconds timeout) {
  auto dir = io::open_parallel_dir(root);
  if (!dir)
    return std::nullopt;
  auto watcher = io::dir_watcher::create(dir->path);
  if (!watcher)
    return std::nullopt;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    // Read after the watch is set, so a line written in between is not missed.
    if (auto outcome = push_outcome_in(new_lines(root, from)))
      return outcome;
    if (!io::coordinator_lock::is_held(root))
      return push_outcome_in(new_lines(root, from));
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      return std::nullopt;
    pollfd pfd{watcher->fd(), POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(left.count())) > 0)
      (void) watcher->read_events();
  }
}

} // namespace sf::cli
