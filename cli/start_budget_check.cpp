#include "cli/start_budget_check.hpp"

#include "cli/budget_spent.hpp"

#include "config/cost.hpp"

namespace sf::cli {

std::optional<std::string> budget_refusal(const std::string& root, const preferences& prefs) {
  if (!prefs.budget_ceiling)
    return std::nullopt;
  auto spent = count_budget_spent(root, reported_costs(root));
  if (!ceiling_reached(spent.total, *prefs.budget_ceiling))
    return std::nullopt;
  return ceiling_refusal(spent.total, *prefs.budget_ceiling);
}

} // namespace sf::cli
