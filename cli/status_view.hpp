#pragma once
/// The data behind `sf-actors status`: the run file, the status files and the plan, merged.

#include "config/plan.hpp"
#include "messages/types.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace sf::cli {

/// Everything `status` shows.
struct status_view {
  run_status run;               ///< Workers and budget.
  bool coordinator_running = false; ///< A coordinator holds the lock.
  int64_t coordinator_pid = 0;  ///< Its pid, when running.
  std::vector<std::string> problems; ///< Files that could not be read, one line each.
  std::size_t unsafe_files = 0; ///< Runtime files that are links, FIFOs or folders (in problems).
  int64_t budget_period_start = 0; ///< When the budget period began (ms); 0 = not recorded.
  bool ledger_exists = false;      ///< A ledger file records this period's costs.
};

/// What the ceiling covers, as `status` and `budget` say it.
constexpr const char* budget_scope_text = "all runs until `sf-actors budget reset`";

/// "since 2026-12-03 09:50:12 UTC, all runs until `sf-actors budget reset`", or what is known.
std::string budget_period_text(int64_t period_start, bool ledger_exists);

/// Collects the view from `<root>/.sf/parallel/` (works with or without a coordinator). A
/// runtime file that is not a regular file is one problem line, never opened.
status_view collect_status(const std::string& root, const plan& p, double budget_ceiling);

/// Human-readable rendering; `now_ms` makes heartbeat ages testable.
std::string render_status(const status_view& v, int64_t now_ms);

/// The documented JSON shape.
nlohmann::json status_to_json(const status_view& v);

} // namespace sf::cli
