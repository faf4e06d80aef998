#include "chaos/fault_knobs.hpp"

#include "core/sf_paths.hpp"
#include "io/files/status_file.hpp"
#include "io/os/safe_file.hpp"
#include "messages/error.hpp"

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace sf::chaos {

namespace {

caf::error knob_error(const std::string& path, const std::string& what) {
  return make_error(ec::invalid_input, path + ": " + what +
                                         "; the chaos harness writes this file, rerun the scenario");
}

/// Appends `line` with one write, so concurrent workers never interleave lines.
void append_line(const std::string& path, const std::string& line) {
  auto fd = io::open_regular(path, O_WRONLY | O_APPEND | O_CREAT, 0600);
  if (!fd)
    return;
  (void) !::write(fd->get(), line.data(), line.size());
}

} // namespace

caf::expected<fault_plan> load_fault_plan(const std::string& path, const std::string& milestone) {
  auto text = io::read_file_capped(path, 1 << 20);
  if (!text)
    return text.error();
  auto doc = nlohmann::json::parse(*text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object())
    return knob_error(path, "not a JSON object");
  fault_plan plan;
  plan.journal = doc.value("journal", "");
  auto counters = doc.value("counters", "");
  if (!counters.empty()) {
    // The counter file grows by one byte per spawn: its size is this spawn's number.
    auto file = counters + "/" + milestone + ".spawns";
    append_line(file, "x");
    struct stat st;
    if (::stat(file.c_str(), &st) == 0)
      plan.session = static_cast<int>(st.st_size);
  }
  auto all = doc.find("milestones");
  if (all == doc.end() || !all->is_object())
    return plan;
  auto mine = all->find(milestone);
  if (mine == all->end())
    return plan;
  if (!mine->is_object())
    return knob_error(path, "milestones." + milestone + " is not an object");
  fault_knobs k;
  try {
    for_each_knob(k, [&](const char* name, auto& field) { field = mine->value(name, field); });
  } catch (const nlohmann::json::exception& e) {
    return knob_error(path, "milestones." + milestone + ": " + e.what());
  }
  if (k.sessions == 0 || plan.session <= k.sessions)
    plan.knobs = k;
  return plan;
}

void journal_unit(const fault_plan& plan, const std::string& milestone, const std::string& unit,
                  const std::string& commit) {
  if (!plan.journal.empty())
    append_line(plan.journal, milestone + " " + unit + " " + commit + "\n");
}

void write_bad_status(const std::string& root, const std::string& milestone,
                      const std::string& kind) {
  io::worker_status s;
  s.milestone_id = milestone;
  s.pid = ::getpid();
  s.state = core::worker_state::running;
  s.last_heartbeat = io::now_ms();
  s.started_at = s.last_heartbeat;
  if (kind == "huge-cost")
    s.cost = 1.7e308; // Finite, valid JSON, and past any sane maximum: two of them overflow.
  std::string text = io::encode_status(s);
  if (kind == "truncated")
    text = text.substr(0, text.size() / 2);
  else if (kind == "corrupt")
    text = "{\"milestoneId\": \"" + milestone + "\", \"pid\": [oops, \"state\": }";
  else if (kind == "huge")
    text.insert(1, std::string(8u << 20, ' ')); // Valid JSON, far above any sane size cap.
  (void)io::write_file_atomic(core::parallel_dir(root), milestone + ".status.json", text, 0600);
}

void leave_child_behind() {
  pid_t pid = ::fork();
  if (pid == 0) {
    // Same process group as the worker; it lingers until someone kills the group.
    for (;;)
      ::pause();
  }
}

} // namespace sf::chaos
