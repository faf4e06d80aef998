#include "io/files/run_file.hpp"

#include "core/sf_paths.hpp"
#include "io/files/agent_json.hpp"
#include "io/files/parallel_dir.hpp"
#include "io/files/status_file.hpp"
#include "io/os/safe_file.hpp"
#include "messages/error.hpp"

#include <nlohmann/json.hpp>

namespace sf::io {

namespace {

constexpr std::size_t max_run_file_bytes = 8 << 20;

} // namespace

std::string run_file_path(const std::string& root) {
  return core::parallel_file(root, "run.json");
}

caf::error write_run_file(const std::string& root, const run_status& st, int64_t pid) {
  auto dir = ensure_parallel_dir(root);
  if (!dir)
    return dir.error();
  nlohmann::json workers = nlohmann::json::array();
  for (const auto& w : st.workers) {
    workers.push_back({{"milestoneId", w.milestone},
                       {"title", w.title},
                       {"state", core::to_string(w.state)},
                       {"completedUnits", w.completed_units},
                       {"totalUnits", w.total_units},
                       {"currentUnit", w.current_unit},
                       {"cost", w.cost},
                       {"lastHeartbeat", w.last_heartbeat},
                       {"pid", w.pid},
                       {"note", w.note},
                       {"adopted", w.adopted}});
    // Agents only: rows of shell workers keep their older shape.
    if (w.tokens)
      workers.back()["tokens"] = tokens_to_json(*w.tokens);
    if (w.agent)
      workers.back()["agent"] = agent_to_json(*w.agent);
  }
  nlohmann::json overlaps = nlohmann::json::array();
  for (const auto& o : st.overlaps)
    overlaps.push_back({{"milestones", {o.first, o.second}}, {"files", o.files}});
  nlohmann::json j = {{"coordinatorPid", pid},
                      {"updatedAt", now_ms()},
                      {"workers", workers},
                      {"totalCost", st.total_cost},
                      {"budgetCeiling", st.budget_ceiling},
                      {"budgetReached", st.budget_reached},
                      {"active", st.active},
                      {"message", st.message},
                      {"overlaps", overlaps},
                      {"totalTokens", tokens_to_json(st.total_tokens)}};
  // Atomic, not durable: run.json is a view for `status`, rewritten on every change and by
  // the next coordinator; nothing is recovered from it (workers.json and the ledger are).
  return write_file_replace(dir->fd.get(), dir->path, "run.json", j.dump(1), 0600);
}

caf::expected<run_file> read_run_file(const std::string& root) {
  auto text = read_file_capped(run_file_path(root), max_run_file_bytes);
  if (!text)
    return text.error();
  auto j = nlohmann::json::parse(*text, nullptr, false);
  auto bad = [&](const char* field) {
    return make_error(ec::invalid_input, run_file_path(root) + ": field `" + field +
                                           "` is missing or has the wrong type; delete the file "
                                           "(it is rewritten by the next run)");
  };
  if (j.is_discarded() || !j.is_object())
    return bad("(whole file)");
  run_file out;
  try {
    out.coordinator_pid = j.value("coordinatorPid", int64_t{0});
    out.updated_at = j.value("updatedAt", int64_t{0});
    out.status.total_cost = j.value("totalCost", 0.0);
    out.status.budget_ceiling = j.value("budgetCeiling", 0.0);
    out.status.budget_reached = j.value("budgetReached", false);
    out.status.active = j.value("active", false);
    out.status.message = j.value("message", std::string{});
    if (auto t = j.find("totalTokens"); t != j.end() && !t->is_null())
      if (!tokens_from_json(*t, out.status.total_tokens).empty())
        return bad("totalTokens");
    if (!j.contains("workers") || !j["workers"].is_array())
      return bad("workers");
    for (const auto& w : j["workers"]) {
      worker_snapshot s;
      s.milestone = w.value("milestoneId", std::string{});
      s.title = w.value("title", std::string{});
      auto state = core::parse_milestone_state(w.value("state", std::string{}));
      if (!state)
        return bad("workers[].state");
      s.state = *state;
      s.completed_units = w.value("completedUnits", int64_t{0});
      s.total_units = w.value("totalUnits", int64_t{0});
      s.current_unit = w.value("currentUnit", std::string{});
      s.cost = w.value("cost", 0.0);
      s.last_heartbeat = w.value("lastHeartbeat", int64_t{0});
      s.pid = w.value("pid", int64_t{0});
      s.note = w.value("note", std::string{});
      s.adopted = w.value("adopted", false); // Absent in files of older versions.
      // Absent for shell workers and in files of older versions.
      if (auto t = w.find("tokens"); t != w.end() && !t->is_null()) {
        core::token_counts counts;
        if (!tokens_from_json(*t, counts).empty())
          return bad("workers[].tokens");
        s.tokens = counts;
      }
      if (auto a = w.find("agent"); a != w.end() && !a->is_null()) {
        agent_activity agent;
        if (!agent_from_json(*a, agent).empty())
          return bad("workers[].agent");
        s.agent = std::move(agent);
      }
      out.status.workers.push_back(std::move(s));
    }
  } catch (const nlohmann::json::exception&) {
    // `value` throws on a present field of the wrong type.
    return bad("workers[]");
  }
  // Absent in files of older versions.
  if (j.contains("overlaps")) {
    if (!j["overlaps"].is_array())
      return bad("overlaps");
    try {
      for (const auto& o : j["overlaps"]) {
        const auto& ids = o.at("milestones");
        if (!ids.is_array() || ids.size() != 2)
          return bad("overlaps[].milestones");
        out.status.overlaps.push_back({ids[0].get<std::string>(), ids[1].get<std::string>(),
                                       o.at("files").get<std::vector<std::string>>()});
      }
    } catch (const nlohmann::json::exception&) {
      return bad("overlaps[]");
    }
  }
  return out;
}

} // namespace sf::io
