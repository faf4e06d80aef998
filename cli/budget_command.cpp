// `sf-actors budget [--json]` and `sf-actors budget reset`
#include "cli/budget_spent.hpp"
#include "cli/command.hpp"
#include "cli/status_view.hpp"
#include "config/cost.hpp"
#include "core/utc_time.hpp"
#include "io/files/agent_json.hpp"
#include "io/files/coordinator_lock.hpp"
#include "io/files/ledger_period.hpp"
#include "io/files/status_file.hpp"
#include "messages/error.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <iostream>

namespace sf::cli {

namespace {

nlohmann::json budget_json(const budget_spent& spent, double ceiling) {
  nlohmann::json milestones = nlohmann::json::array();
  for (const auto& [mid, cost] : spent.per_milestone) {
    auto t = spent.per_milestone_tokens.find(mid);
    milestones.push_back({{"milestoneId", mid},
                          {"cost", cost},
                          {"tokens", io::tokens_to_json(t == spent.per_milestone_tokens.end()
                                                          ? core::token_counts{}
                                                          : t->second)}});
  }
  auto start = spent.ledger.period_start;
  return {{"spent", spent.total},
          {"tokens", io::tokens_to_json(spent.total_tokens)},
          {"ceiling", ceiling > 0 ? nlohmann::json(ceiling) : nlohmann::json()},
          {"remaining", ceiling > 0 ? nlohmann::json(std::max(0.0, ceiling - spent.total))
                                    : nlohmann::json()},
          {"reached", ceiling_reached(spent.total, ceiling)},
          {"periodStart", start > 0 ? nlohmann::json(start) : nlohmann::json()},
          {"periodStartUtc", start > 0 ? nlohmann::json(core::utc_text(start)) : nlohmann::json()},
          {"covers", "all_runs_until_reset"},
          {"milestones", milestones},
          {"problems", spent.problem.empty() ? nlohmann::json::array()
                                             : nlohmann::json::array({spent.problem})}};
}

std::string budget_text(const budget_spent& spent, double ceiling) {
  std::string out = "Budget period: " +
                    budget_period_text(spent.ledger.period_start, spent.ledger_exists) + "\n";
  out += fmt::format("Spent: ${:.2f}", spent.total);
  if (ceiling <= 0)
    out += " (no budget ceiling)\n";
  else if (ceiling_reached(spent.total, ceiling))
    out += fmt::format(" of ${:.2f} ceiling: reached; raise `parallel.budget_ceiling` or run "
                       "`sf-actors budget reset`\n",
                       ceiling);
  else
    out += fmt::format(" of ${:.2f} ceiling (${:.2f} left)\n", ceiling, ceiling - spent.total);
  if (spent.total_tokens.sum() > 0)
    out += fmt::format("Tokens: {} in, {} out, {} cached\n", spent.total_tokens.input,
                       spent.total_tokens.output, spent.total_tokens.cached);
  for (const auto& [mid, cost] : spent.per_milestone)
    out += fmt::format("- {}: ${:.2f}\n", mid, cost);
  return out;
}

int reset_budget(const std::string& root, bool json) {
  // Held while the ledger is replaced: no coordinator (so no ledger actor) can start meanwhile.
  auto lock = io::coordinator_lock::acquire(root);
  if (!lock) {
    if (code_of(lock.error()) == ec::already_running) {
      int64_t pid = 0;
      (void) io::coordinator_lock::is_held(root, &pid);
      return fail("a coordinator (pid " + std::to_string(pid) + ") runs for " + root +
                    " and records costs in its ledger; stop it first (`sf-actors stop`), then "
                    "run `sf-actors budget reset` again",
                  exit_busy);
    }
    return fail(lock.error());
  }
  auto done = io::start_budget_period(root, io::now_ms());
  if (!done)
    return fail(done.error());
  if (json) {
    // docs/schemas/budget-reset-output.schema.json
    auto stamp = [](int64_t ms) { return ms > 0 ? nlohmann::json(ms) : nlohmann::json(); };
    std::cout << nlohmann::json{
                   {"periodStart", done->new_start},
                   {"periodStartUtc", core::utc_text(done->new_start)},
                   {"archive",
                    done->archive.empty() ? nlohmann::json() : nlohmann::json(done->archive)},
                   {"previousPeriodStart", stamp(done->old_start)},
                   {"previousSpent", done->old_total}}
                   .dump(2)
              << '\n';
    return exit_ok;
  }
  std::cout << "New budget period since " << core::utc_text(done->new_start) << ", "
            << budget_scope_text << ".\n";
  if (done->archive.empty())
    std::cout << "No ledger existed: nothing had been spent.\n";
  else
    std::cout << fmt::format("The last period (since {}) spent ${:.2f}; its ledger is kept as {}.\n",
                             done->old_start > 0 ? core::utc_text(done->old_start)
                                                 : std::string("a time it did not record"),
                             done->old_total, done->archive);
  return exit_ok;
}

} // namespace

std::function<int()> setup_budget(CLI::App& app, global_options& g) {
  app.add_flag("--json", g.json, "Print the budget as JSON");
  auto* reset = app.add_subcommand("reset", "Start a new budget period (the old ledger is kept); "
                                            "refused while a coordinator runs");
  reset->add_flag("--json", g.json, "Print the new period and the kept ledger as JSON");
  return [&g, reset]() -> int {
    int code = exit_ok;
    auto root = project_root(g);
    if (reset->parsed())
      return reset_budget(root, g.json);
    preferences prefs;
    if (!load_preferences_or_report(root, prefs, code))
      return code;
    auto spent = count_budget_spent(root, reported_costs(root));
    double ceiling = prefs.budget_ceiling.value_or(0);
    if (g.json)
      std::cout << budget_json(spent, ceiling).dump(2) << '\n';
    else
      std::cout << budget_text(spent, ceiling);
    if (!spent.problem.empty()) {
      if (!g.json)
        std::cerr << "sf-actors: " << spent.problem << '\n';
      return exit_failure;
    }
    return exit_ok;
  };
}

} // namespace sf::cli
