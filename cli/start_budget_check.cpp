#include "cli/start_budget_check.hpp"

#include "cli/budget_spent.hpp"

#include <fmt/format.h>

namespace sf::cli {

std::optional<std::string> budget_refusal(const std::string& root, const preferences& prefs) {
  if (!prefs.budget_ceiling)
    return std::nullopt;
  auto spent = count_budget_spent(root, reported_costs(root));
  double ceiling = *prefs.budget_ceiling;
  // The same epsilon as the ledger's, so `start` and a run agree on "reached".
  if (spent.total + 1e-9 < ceiling)
    return std::nullopt;
  return fmt::format("the budget ceiling is reached: spent ${:.2f} of ${:.2f} ceiling in this "
                     "budget period (all runs since it began); fix: raise "
                     "`parallel.budget_ceiling` in .sf/PREFERENCES.md or start a new period "
                     "with `sf-actors budget reset`",
                     spent.total, ceiling);
}

} // namespace sf::cli
