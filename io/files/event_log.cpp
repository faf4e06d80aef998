#include "io/files/event_log.hpp"

#include "core/sf_paths.hpp"
#include "io/files/agent_json.hpp"
#include "io/files/parallel_dir.hpp"
#include "io/files/status_file.hpp"
#include "io/os/safe_file.hpp"
#include "messages/error.hpp"

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace sf::io {

std::string event_log_path(const std::string& root) {
  return core::parallel_file(root, "events.jsonl");
}

std::string format_event_line(const run_event& ev, int64_t at_ms) {
  nlohmann::json j = {{"at", at_ms}, {"kind", to_string(ev.kind)}};
  if (!ev.milestone.empty())
    j["milestone"] = ev.milestone;
  if (auto name = state_name(ev); !name.empty())
    j["state"] = std::string(name);
  if (!ev.text.empty())
    j["text"] = ev.text;
  j["cost"] = ev.cost;
  if (ev.total_units > 0) {
    j["completedUnits"] = ev.completed_units;
    j["totalUnits"] = ev.total_units;
  }
  if (!ev.files.empty())
    j["files"] = ev.files;
  if (!ev.other.empty())
    j["with"] = ev.other;
  if (ev.tokens)
    j["tokens"] = tokens_to_json(*ev.tokens);
  return j.dump() + "\n";
}

caf::error append_event_lines(const std::string& root, const std::string& lines) {
  if (lines.empty())
    return {};
  auto dir = open_parallel_dir(root);
  if (!dir)
    return dir.error();
  auto opened =
    open_regular_at(dir->fd.get(), dir->path, "events.jsonl", O_WRONLY | O_CREAT | O_APPEND, 0600);
  if (!opened)
    return opened.error();
  unique_fd fd = std::move(*opened);
  // O_APPEND and one write: concurrent appenders never interleave inside a line.
  auto n = ::write(fd.get(), lines.data(), lines.size());
  if (n != static_cast<ssize_t>(lines.size()))
    return make_error(ec::io_error, "cannot append to " + event_log_path(root) + ": " +
                                      errno_text(n < 0 ? errno : ENOSPC));
  return {};
}

caf::error append_event(const std::string& root, const run_event& ev) {
  return append_event_lines(root, format_event_line(ev, now_ms()));
}

} // namespace sf::io
