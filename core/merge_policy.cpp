#include "core/merge_policy.hpp"

namespace sf::core {

std::string sequential_blocker(const std::string& milestone,
                               const std::set<std::string>& running) {
  // Ids sort in merge order: any lower id still running must merge first.
  for (const auto& id : running)
    if (id < milestone)
      return id + ", which has a lower id and is still running (merge_order: sequential)";
  return {};
}

} // namespace sf::core
