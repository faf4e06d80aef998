#include "config/agent_limit_values.hpp"

#include "config/yaml_input.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace sf {

std::optional<std::chrono::milliseconds> limit_seconds(const YAML::Node& node) {
  if (!is_plain_scalar(node) || !matches_number(node.Scalar()))
    return std::nullopt;
  double v = std::strtod(node.Scalar().c_str(), nullptr);
  // Past a million seconds a duration no longer fits the clocks it feeds.
  if (!std::isfinite(v) || v <= 0 || v > 1000000)
    return std::nullopt;
  return std::chrono::milliseconds(std::max<long long>(1, std::llround(v * 1000)));
}

std::optional<int> max_attempts_value(const YAML::Node& node) {
  if (!is_plain_scalar(node) || !matches_int(node.Scalar()) || node.Scalar().size() > 3)
    return std::nullopt;
  int v = std::atoi(node.Scalar().c_str());
  if (v < 1 || v > max_attempts_limit)
    return std::nullopt;
  return v;
}

} // namespace sf
