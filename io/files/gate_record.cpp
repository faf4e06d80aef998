#include "io/files/gate_record.hpp"

#include "core/sf_paths.hpp"
#include "io/os/safe_file.hpp"
#include "messages/error.hpp"

#include <nlohmann/json.hpp>

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>

namespace sf::io {

namespace {

constexpr const char* file_name = "gate.json";

std::string record_path(const std::string& root) {
  return core::parallel_file(root, file_name);
}

} // namespace

caf::error write_gate_record(const std::string& root, const gate_record& r) {
  nlohmann::json j = {{"pid", r.process.pid},
                      {"start_time", r.process.start_time},
                      {"boot_id", r.process.boot_id},
                      {"commit", r.commit},
                      {"milestones", r.milestones}};
  return write_file_replace(core::parallel_dir(root), file_name, j.dump() + "\n", 0600);
}

caf::expected<std::optional<gate_record>> read_gate_record(const std::string& root) {
  auto path = record_path(root);
  auto text = read_file_capped(path, 64 << 10);
  if (!text) {
    if (code_of(text.error()) == ec::not_found)
      return std::optional<gate_record>{};
    return std::move(text.error());
  }
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("pid") || !j["pid"].is_number_integer() ||
      !j.contains("start_time") || !j["start_time"].is_number_unsigned() ||
      !j.contains("boot_id") || !j["boot_id"].is_string())
    return make_error(ec::invalid_input, path + " is not a gate record (pid, start_time, "
                                                "boot_id); it is removed");
  gate_record r;
  r.process.pid = j["pid"].get<int64_t>();
  r.process.start_time = j["start_time"].get<uint64_t>();
  r.process.boot_id = j["boot_id"].get<std::string>();
  if (j.contains("commit") && j["commit"].is_string())
    r.commit = j["commit"].get<std::string>();
  if (j.contains("milestones") && j["milestones"].is_array())
    for (const auto& m : j["milestones"])
      if (m.is_string())
        r.milestones.push_back(m.get<std::string>());
  return std::optional<gate_record>{std::move(r)};
}

void remove_gate_record(const std::string& root) {
  (void) ::unlink(record_path(root).c_str());
}

std::string end_left_gate(const std::string& root) {
  auto rec = read_gate_record(root);
  if (!rec) {
    remove_gate_record(root);
    return describe(rec.error());
  }
  if (!*rec)
    return {};
  const auto& r = **rec;
  std::string line;
  if (r.process.pid > 1 && identity_matches(r.process)) {
    // Taken through a pidfd and checked again, so a reused pid is never signalled.
    if (auto child = adopt_process(r.process)) {
      (void) child->signal_group(SIGKILL);
      pollfd pfd{child->pidfd(), POLLIN, 0};
      (void) ::poll(&pfd, 1, 5000);
      std::string ids;
      for (const auto& m : r.milestones)
        ids += (ids.empty() ? "" : ", ") + m;
      line = "ended the merge gate an earlier coordinator left running (pid " +
             std::to_string(r.process.pid) + (ids.empty() ? "" : ", testing " + ids) +
             "); it is tested again";
    }
  }
  remove_gate_record(root);
  return line;
}

} // namespace sf::io
