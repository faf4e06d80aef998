#include "config/cost.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace sf {

bool valid_cost(double usd) {
  return std::isfinite(usd) && usd >= 0 && usd <= max_cost_usd;
}

std::string cost_problem(double usd) {
  if (!std::isfinite(usd))
    return "is not a finite number";
  if (usd < 0)
    return "is negative";
  if (usd > max_cost_usd)
    return std::string("is more than the maximum of ") + max_cost_text + " USD";
  return {};
}

double add_costs_capped(double a, double b) {
  return std::min(max_cost_usd, a + b);
}

bool ceiling_reached(double spent, double ceiling) {
  return ceiling > 0 && spent + 1e-9 >= ceiling;
}

std::string ceiling_refusal(double spent, double ceiling) {
  return fmt::format("the budget ceiling is reached: spent ${:.2f} of ${:.2f} ceiling in this "
                     "budget period (all runs since it began); fix: raise "
                     "`parallel.budget_ceiling` in .sf/PREFERENCES.md or start a new period "
                     "with `sf-actors budget reset`",
                     spent, ceiling);
}

} // namespace sf
