#include "io/event_log.hpp"

#include "io/parallel_dir.hpp"
#include "io/safe_file.hpp"
#include "io/status_file.hpp"
#include "messages/error.hpp"

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace sf::io {

std::string event_log_path(const std::string& root) { return root + "/.sf/parallel/events.jsonl"; }

caf::error append_event(const std::string& root, const run_event& ev) {
  auto dir = open_parallel_dir(root);
  if (!dir)
    return dir.error();
  nlohmann::json j = {{"at", now_ms()}, {"kind", to_string(ev.kind)}};
  if (!ev.milestone.empty())
    j["milestone"] = ev.milestone;
  if (!ev.state.empty())
    j["state"] = ev.state;
  if (!ev.text.empty())
    j["text"] = ev.text;
  j["cost"] = ev.cost;
  if (ev.total_units > 0) {
    j["completedUnits"] = ev.completed_units;
    j["totalUnits"] = ev.total_units;
  }
  auto line = j.dump() + "\n";
  unique_fd fd{::openat(dir->fd.get(), "events.jsonl",
                        O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600)};
  if (!fd)
    return make_error(ec::io_error, "cannot open " + event_log_path(root) + ": " + errno_text(errno));
  auto n = ::write(fd.get(), line.data(), line.size());
  if (n != static_cast<ssize_t>(line.size()))
    return make_error(ec::io_error, "cannot append to " + event_log_path(root) + ": " +
                                      errno_text(n < 0 ? errno : ENOSPC));
  return {};
}

} // namespace sf::io
