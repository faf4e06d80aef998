#include "io/files/control_file.hpp"

#include "core/milestone_state.hpp"
#include "core/sf_paths.hpp"
#include "io/files/coordinator_lock.hpp"
#include "io/files/merge_report_json.hpp"
#include "io/files/parallel_dir.hpp"
#include "io/os/dir_watcher.hpp"
#include "io/os/inode_release.hpp"
#include "io/os/safe_file.hpp"
#include "messages/error.hpp"

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace sf::io {

namespace {

// A merge report names conflicting files, so a response may be long; requests are tiny.
constexpr std::size_t max_control_bytes = 4 * 1024 * 1024;
constexpr std::string_view request_suffix = ".request.json";
constexpr std::string_view response_suffix = ".response.json";

std::string control_path(const std::string& root) {
  return core::control_dir(root);
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() > suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool valid_request_id(std::string_view id) {
  if (id.empty() || id.size() > 64)
    return false;
  for (char c : id)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return false;
  return true;
}

caf::expected<unique_fd> open_control_dir(const std::string& root) {
  auto par = open_parallel_dir(root);
  if (!par)
    return par.error();
  return open_dir_nofollow_at(par->fd.get(), "control", control_path(root));
}

} // namespace

caf::error ensure_control_dir(const std::string& root) {
  auto par = ensure_parallel_dir(root);
  if (!par)
    return par.error();
  if (::mkdirat(par->fd.get(), "control", 0700) != 0 && errno != EEXIST)
    return make_error(ec::io_error,
                      "cannot create " + control_path(root) + ": " + errno_text(errno));
  auto fd = open_dir_nofollow_at(par->fd.get(), "control", control_path(root));
  if (!fd)
    return fd.error();
  struct stat sb;
  if (::fstat(fd->get(), &sb) != 0)
    return make_error(ec::io_error, "cannot stat " + control_path(root) + ": " + errno_text(errno));
  if (sb.st_uid != ::geteuid())
    return make_error(ec::unsafe_path, control_path(root) +
                                         " belongs to another user; remove it and retry");
  if ((sb.st_mode & 0777) != 0700 && ::fchmod(fd->get(), 0700) != 0)
    return make_error(ec::io_error, "cannot chmod " + control_path(root) + ": " + errno_text(errno));
  return {};
}

caf::expected<control_request> read_control_request(const std::string& root,
                                                    const std::string& name) {
  if (!ends_with(name, request_suffix) || is_temp_name(name))
    return make_error(ec::not_found, "not a control request: " + name);
  auto id = name.substr(0, name.size() - request_suffix.size());
  if (!valid_request_id(id))
    return make_error(ec::invalid_input, "control request " + name + " has an invalid id");
  auto dir = open_control_dir(root);
  if (!dir)
    return dir.error();
  auto text = read_file_capped(dir->get(), control_path(root), name, max_control_bytes);
  // Consumed whatever it holds, so a bad request cannot be answered twice or pile up.
  unlink_deferred(dir->get(), name.c_str());
  if (!text)
    return text.error();
  auto where = control_path(root) + "/" + name;
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return make_error(ec::invalid_input, where + ": not a JSON object");
  control_request req;
  req.id = std::string(id);
  if (!j.contains("command") || !j["command"].is_string())
    return make_error(ec::invalid_input, where + ": field `command` must be a string");
  req.command = j["command"].get<std::string>();
  if (j.contains("milestone")) {
    if (!j["milestone"].is_string())
      return make_error(ec::invalid_input, where + ": field `milestone` must be a string");
    req.milestone = j["milestone"].get<std::string>();
  }
  if (j.contains("dryRun")) {
    if (!j["dryRun"].is_boolean())
      return make_error(ec::invalid_input, where + ": field `dryRun` must be a boolean");
    req.dry_run = j["dryRun"].get<bool>();
  }
  return req;
}

caf::error write_control_response(const std::string& root, const std::string& id,
                                  const control_response& response) {
  if (!valid_request_id(id))
    return make_error(ec::invalid_input, "invalid control request id `" + id + "`");
  nlohmann::json j = {{"id", id}, {"lines", response.lines}, {"exitCode", response.exit_code}};
  if (!response.milestones.empty()) {
    auto& list = j["milestones"] = nlohmann::json::array();
    for (const auto& m : response.milestones)
      list.push_back({{"milestoneId", m.milestone},
                      {"state", std::string(core::to_string(m.state))},
                      {"text", m.text}});
  }
  if (response.merge)
    j["merge"] = merge_report_to_json(*response.merge);
  // Atomic, not durable: the asking CLI waits for it now or never (as for the request).
  return write_file_replace(control_path(root), id + std::string(response_suffix), j.dump(),
                            0600);
}

caf::expected<control_response> send_control_request(const std::string& root,
                                                     const std::string& command,
                                                     const std::string& milestone,
                                                     std::chrono::milliseconds timeout,
                                                     bool dry_run) {
  if (auto err = ensure_control_dir(root))
    return err;
  // Watch before writing the request, so the response cannot slip past us.
  auto watcher = dir_watcher::create(control_path(root));
  if (!watcher)
    return watcher.error();
  auto id = random_hex(8);
  nlohmann::json j = {{"command", command}, {"milestone", milestone}, {"dryRun", dry_run}};
  auto response_name = id + std::string(response_suffix);
  if (auto err = write_file_replace(control_path(root), id + std::string(request_suffix),
                                    j.dump(), 0600))
    return err;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto dir = open_control_dir(root);
    if (!dir)
      return dir.error();
    auto text = read_file_capped(dir->get(), control_path(root), response_name, max_control_bytes);
    if (text) {
      ::unlinkat(dir->get(), response_name.c_str(), 0);
      auto r = nlohmann::json::parse(*text, nullptr, false);
      if (r.is_discarded() || !r.is_object() || !r.contains("lines") || !r["lines"].is_array())
        return make_error(ec::invalid_input, control_path(root) + "/" + response_name +
                                               ": malformed response");
      control_response out;
      for (const auto& line : r["lines"])
        if (line.is_string())
          out.lines.push_back(line.get<std::string>());
      if (r.contains("exitCode") && r["exitCode"].is_number_integer())
        out.exit_code = r["exitCode"].get<int>();
      if (r.contains("milestones") && r["milestones"].is_array())
        for (const auto& m : r["milestones"]) {
          auto state = m.is_object() && m.contains("state") && m["state"].is_string()
                         ? core::parse_milestone_state(m["state"].get<std::string>())
                         : std::nullopt;
          if (!state || !m.contains("milestoneId") || !m["milestoneId"].is_string() ||
              !m.contains("text") || !m["text"].is_string())
            return make_error(ec::invalid_input, control_path(root) + "/" + response_name +
                                                   ": malformed entry in `milestones`");
          out.milestones.push_back(
            {m["milestoneId"].get<std::string>(), *state, m["text"].get<std::string>()});
        }
      if (r.contains("merge")) {
        auto report = merge_report_from_json(r["merge"], control_path(root) + "/" + response_name);
        if (!report)
          return report.error();
        out.merge = std::move(*report);
      }
      return out;
    }
    if (code_of(text.error()) != ec::not_found)
      return text.error();
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      ::unlinkat(dir->get(), (id + std::string(request_suffix)).c_str(), 0);
      return make_error(ec::io_error, "the coordinator did not answer `" + command +
                                        "` within " + std::to_string(timeout.count()) +
                                        " ms; check .sf/parallel/coordinator.log");
    }
    // A coordinator that ends its run between our check and our request never answers: notice
    // its lock going away (checked at least every 200 ms) instead of waiting for the timeout.
    if (!coordinator_lock::is_held(root)) {
      ::unlinkat(dir->get(), (id + std::string(request_suffix)).c_str(), 0);
      return make_error(ec::not_found, "the coordinator ended before it answered `" + command +
                                         "`");
    }
    pollfd pfd{watcher->fd(), POLLIN, 0};
    ::poll(&pfd, 1, static_cast<int>(std::min<int64_t>(left.count(), 200)));
    (void) watcher->read_events();
  }
}

} // namespace sf::io
