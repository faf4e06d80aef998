#include "cli/status_view.hpp"

#include "actors/file_overlaps.hpp"
#include "cli/budget_spent.hpp"
#include "config/cost.hpp"
#include "core/utc_time.hpp"
#include "io/files/agent_json.hpp"
#include "io/files/coordinator_lock.hpp"
#include "io/files/parallel_dir.hpp"
#include "io/files/run_file.hpp"
#include "io/files/runtime_files.hpp"
#include "io/files/status_file.hpp"
#include "messages/error.hpp"

#include <dirent.h>

#include <algorithm>
#include <iomanip>
#include <map>
#include <set>
#include <sstream>

namespace sf::cli {

namespace {

std::string money(double v) {
  std::ostringstream s;
  s << '$' << std::fixed << std::setprecision(2) << v;
  return s.str();
}

// "1200 in, 300 out, 5000 cached".
std::string tokens_text(const core::token_counts& t) {
  return std::to_string(t.input) + " in, " + std::to_string(t.output) + " out, " +
         std::to_string(t.cached) + " cached";
}

// The agent lines of a row: what it does now, its attempt, and what a person must know.
void render_agent(std::ostringstream& out, const agent_activity& a) {
  out << "  agent " << (a.adapter.empty() ? std::string("(unnamed)") : a.adapter);
  if (!a.profile.empty())
    out << " (profile " << a.profile << ")";
  out << ", attempt " << a.attempt << " of " << a.max_attempts;
  if (!a.activity.empty())
    out << ": " << a.activity;
  out << '\n';
  if (!a.needs_attention.empty())
    out << "  needs attention: " << a.needs_attention << '\n';
  if (a.price_missing)
    out << "  price missing: its model has no entry in `agents.prices`, so its tokens add "
           "nothing to the cost\n";
}

std::string bar(int64_t done, int64_t total) {
  constexpr int width = 10;
  int filled = total > 0 ? static_cast<int>(std::min<int64_t>(done, total) * width / total) : 0;
  return "[" + std::string(static_cast<std::size_t>(filled), '#') +
         std::string(static_cast<std::size_t>(width - filled), '-') + "]";
}

} // namespace

status_view collect_status(const std::string& root, const plan& p, double budget_ceiling) {
  status_view v;
  auto unsafe = io::unsafe_runtime_files(root);
  for (const auto& f : unsafe)
    v.problems.push_back(describe(f.error));
  v.unsafe_files = unsafe.size();
  // A file reported above is not reported again by the read that refuses it.
  auto add_problem = [&](std::string text) {
    for (const auto& f : unsafe)
      if (text.find(f.path) != std::string::npos)
        return;
    v.problems.push_back(std::move(text));
  };
  v.coordinator_running = io::coordinator_lock::is_held(root, &v.coordinator_pid);
  if (!v.coordinator_running)
    v.coordinator_pid = 0;
  std::map<std::string, worker_snapshot> rows;
  std::map<std::string, reported_cost> reported; // Each status file's running total.
  int64_t run_updated_at = 0;
  if (auto rf = io::read_run_file(root)) {
    v.run = rf->status;
    run_updated_at = rf->updated_at;
    for (auto& w : rf->status.workers)
      rows[w.milestone] = w;
  } else if (code_of(rf.error()) != ec::not_found) {
    add_problem(describe(rf.error()));
  }
  if (!v.coordinator_running) {
    // Nobody supervises these workers now: what a dead coordinator last wrote is history, and
    // whether the ceiling is reached now is the ledger's to say (a reset may have followed).
    v.run.active = false;
    v.run.budget_reached = false;
  }
  // Status files are fresher than the run file for progress, cost and heartbeat.
  if (auto dir = io::open_parallel_dir(root)) {
    if (DIR* d = ::opendir(dir->path.c_str())) {
      while (auto* ent = ::readdir(d)) {
        auto parsed = io::parse_parallel_name(ent->d_name);
        if (!parsed || parsed->kind != io::parallel_file_kind::status)
          continue;
        auto st = io::read_status(root, parsed->mid);
        if (!st) {
          add_problem(describe(st.error()));
          continue;
        }
        bool in_run_file = rows.count(parsed->mid) > 0;
        auto& w = rows[parsed->mid];
        w.milestone = parsed->mid;
        // The coordinator's verdict (complete, failed, waiting...) outlives the worker's last
        // word; while a worker is active its own file is fresher.
        if (!in_run_file || core::has_live_worker(w.state)) {
          w.state = core::as_milestone_state(st->state);
          if (st->state == core::worker_state::error && st->error && w.note.empty())
            w.note = *st->error;
        }
        w.completed_units = st->completed_units;
        if (st->total_units)
          w.total_units = *st->total_units;
        w.current_unit = st->unit ? st->unit->id : "";
        w.cost = std::max(w.cost, st->cost);
        reported[parsed->mid] = {st->cost, st->last_heartbeat,
                                 st->tokens.value_or(core::token_counts{})};
        if (st->tokens)
          w.tokens = core::max_counts(w.tokens.value_or(core::token_counts{}), *st->tokens);
        // The worker's own word on its agent is the freshest; a worker that ended runs none.
        if (st->agent && core::has_live_worker(w.state))
          w.agent = io::as_activity(*st->agent);
        else
          w.agent = caf::none;
        w.last_heartbeat = st->last_heartbeat;
        w.pid = st->pid;
        if (st->error && w.note.empty())
          w.note = *st->error;
      }
      ::closedir(d);
    }
  }
  v.run.workers.clear();
  for (auto& [mid, w] : rows) {
    if (const auto* m = p.find(mid)) {
      if (w.title.empty())
        w.title = m->title;
      if (w.total_units == 0)
        w.total_units = static_cast<int64_t>(m->unit_count());
    }
    v.run.workers.push_back(w);
  }
  // The total is the budget period's: the ledger outlives runs (see budget_spent.hpp).
  auto spent = count_budget_spent(root, reported);
  if (!spent.problem.empty())
    add_problem(spent.problem);
  v.ledger_exists = spent.ledger_exists;
  v.budget_period_start = spent.ledger.period_start;
  // A finished run's last word (often "budget ceiling reached") belongs to an earlier period
  // once `budget reset` followed it.
  if (!v.coordinator_running && !v.run.message.empty() && run_updated_at > 0 &&
      run_updated_at < v.budget_period_start)
    v.run.message = "before this budget period began: " + v.run.message;
  v.run.total_cost = spent.total;
  v.run.total_tokens = spent.total_tokens;
  v.run.budget_ceiling = budget_ceiling;
  return v;
}

std::string budget_period_text(int64_t period_start, bool ledger_exists) {
  std::string since = period_start > 0 ? "since " + core::utc_text(period_start)
                      : ledger_exists  ? "since a time the ledger does not record"
                                       : "nothing spent yet";
  return since + ", " + budget_scope_text;
}

namespace {

// The run file's overlaps whose milestones are both still unmerged: a merge made since (by
// `sf-actors merge` without a coordinator) ends a warning.
std::vector<file_overlap> open_overlaps(const status_view& v) {
  std::set<std::string> merged;
  for (const auto& w : v.run.workers)
    if (w.state == core::milestone_state::merged)
      merged.insert(w.milestone);
  std::vector<file_overlap> out;
  for (const auto& o : v.run.overlaps)
    if (merged.count(o.first) == 0 && merged.count(o.second) == 0)
      out.push_back(o);
  return out;
}

} // namespace

std::string render_status(const status_view& v, int64_t now_ms) {
  std::ostringstream out;
  out << "# Parallel Status\n\n";
  if (v.run.workers.empty())
    out << "No workers have run yet. Start some with `sf-actors start`.\n";
  for (const auto& w : v.run.workers) {
    out << "- **" << w.milestone << "** — " << w.title << ": " << core::to_string(w.state)
        << (w.adopted && core::has_live_worker(w.state) ? " (adopted)" : "") << "\n  "
        << bar(w.completed_units, w.total_units) << ' ' << w.completed_units << '/'
        << w.total_units << " units";
    if (!w.current_unit.empty())
      out << ", running " << w.current_unit;
    out << ", " << money(w.cost);
    if (core::has_live_worker(w.state) && w.last_heartbeat > 0) {
      double age = static_cast<double>(std::max<int64_t>(0, now_ms - w.last_heartbeat)) / 1000.0;
      out << ", heartbeat " << std::fixed << std::setprecision(1) << age << " s ago";
    }
    if (w.pid > 0)
      out << ", pid " << w.pid;
    out << '\n';
    if (w.tokens)
      out << "  tokens: " << tokens_text(*w.tokens) << '\n';
    if (w.agent)
      render_agent(out, *w.agent);
    if (!w.note.empty())
      out << "  " << w.note << '\n';
  }
  if (auto overlaps = open_overlaps(v); !overlaps.empty()) {
    out << "\nOverlapping changes (the later merge may conflict):\n";
    for (const auto& o : overlaps)
      out << "- " << overlap_text(o) << '\n';
  }
  out << "\nTotal cost: " << money(v.run.total_cost);
  if (v.run.budget_ceiling > 0)
    out << " of " << money(v.run.budget_ceiling) << " ceiling";
  else
    out << " (no budget ceiling)";
  if (v.run.total_tokens.sum() > 0)
    out << "\nTotal tokens: " << tokens_text(v.run.total_tokens);
  out << '\n' << "Budget period: " << budget_period_text(v.budget_period_start, v.ledger_exists)
      << '\n';
  if (v.run.budget_reached || ceiling_reached(v.run.total_cost, v.run.budget_ceiling))
    out << "budget ceiling reached (" << money(v.run.total_cost) << " of "
        << money(v.run.budget_ceiling) << ")\n";
  else if (!v.run.message.empty())
    out << v.run.message << '\n';
  out << "Coordinator: "
      << (v.coordinator_running ? "running (pid " + std::to_string(v.coordinator_pid) + ")"
                                : std::string("not running"))
      << '\n';
  for (const auto& problem : v.problems)
    out << "warning: " << problem << '\n';
  return out.str();
}

nlohmann::json status_to_json(const status_view& v) {
  nlohmann::json workers = nlohmann::json::array();
  for (const auto& w : v.run.workers) {
    workers.push_back({{"milestoneId", w.milestone},
                       {"title", w.title},
                       {"state", core::to_string(w.state)},
                       {"completedUnits", w.completed_units},
                       {"totalUnits", w.total_units},
                       {"currentUnit", w.current_unit.empty() ? nlohmann::json()
                                                              : nlohmann::json(w.current_unit)},
                       {"cost", w.cost},
                       {"lastHeartbeat", w.last_heartbeat},
                       {"pid", w.pid},
                       {"note", w.note},
                       {"adopted", w.adopted},
                       {"tokens", w.tokens ? io::tokens_to_json(*w.tokens) : nlohmann::json()},
                       {"agent", w.agent ? io::agent_to_json(*w.agent) : nlohmann::json()}});
  }
  nlohmann::json overlaps = nlohmann::json::array();
  for (const auto& o : open_overlaps(v))
    overlaps.push_back({{"milestones", {o.first, o.second}}, {"files", o.files}});
  return {{"workers", workers},
          {"overlaps", overlaps},
          {"totalCost", v.run.total_cost},
          {"totalTokens", io::tokens_to_json(v.run.total_tokens)},
          {"budgetCeiling", v.run.budget_ceiling > 0 ? nlohmann::json(v.run.budget_ceiling)
                                                     : nlohmann::json()},
          {"budgetPeriod",
           {{"since", v.budget_period_start > 0 ? nlohmann::json(v.budget_period_start)
                                                 : nlohmann::json()},
            {"covers", "all_runs_until_reset"}}},
          {"budgetReached", v.run.budget_reached ||
                              ceiling_reached(v.run.total_cost, v.run.budget_ceiling)},
          {"coordinator",
           {{"running", v.coordinator_running},
            {"pid", v.coordinator_running ? nlohmann::json(v.coordinator_pid) : nlohmann::json()}}},
          {"problems", v.problems}};
}

} // namespace sf::cli
