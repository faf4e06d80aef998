#include "agents/cost_scanner.hpp"

#include "config/cost.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace sf::agents {

std::optional<double> parse_cost_line(std::string_view line) {
  constexpr std::string_view prefix = "SF_COST ";
  if (line.substr(0, prefix.size()) != prefix)
    return std::nullopt;
  auto rest = line.substr(prefix.size());
  while (!rest.empty() && rest.front() == ' ')
    rest.remove_prefix(1);
  while (!rest.empty() && (rest.back() == ' ' || rest.back() == '\t' || rest.back() == '\r'))
    rest.remove_suffix(1);
  if (rest.empty())
    return std::nullopt;
  double value = 0;
  // from_chars ignores the locale and never accepts a leading '+', hex or trailing junk.
  auto [ptr, err] = std::from_chars(rest.data(), rest.data() + rest.size(), value);
  if (err != std::errc{} || ptr != rest.data() + rest.size())
    return std::nullopt;
  // A finite cost past the maximum is money reported all the same: it counts as the maximum,
  // never as nothing. Negative and NaN are no cost at all.
  if (std::isnan(value) || value < 0 || std::isinf(value))
    return std::nullopt;
  return std::min(value, max_cost_usd);
}

line_handler cost_scanner::on_line() {
  return [this](std::string_view line) {
    if (auto cost = parse_cost_line(line)) {
      // Many valid lines may add up past the maximum: a unit costs at most that.
      total_ = add_costs_capped(total_, *cost);
      ++reports_;
    }
  };
}

} // namespace sf::agents
