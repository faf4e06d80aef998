#include "config/cost.hpp"

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

} // namespace sf
