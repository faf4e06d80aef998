#include "cli/log_level.hpp"

#include <algorithm>

namespace sf::cli {

namespace {

// Steps away from info: positive is more detail, negative less, at most two either way.
int steps(const global_options& g) {
  return std::clamp(g.verbose - g.quiet, -2, 2);
}

} // namespace

spdlog::level::level_enum coordinator_log_level(const global_options& g) {
  switch (steps(g)) {
    case 2: return spdlog::level::trace;
    case 1: return spdlog::level::debug;
    case -1: return spdlog::level::warn;
    case -2: return spdlog::level::err;
    default: return spdlog::level::info;
  }
}

std::vector<std::string> log_level_args(const global_options& g) {
  int n = steps(g);
  return std::vector<std::string>(static_cast<std::size_t>(std::abs(n)), n > 0 ? "-v" : "-q");
}

} // namespace sf::cli
