#include "cli/plan_graph_json.hpp"

#include <set>
#include <string>

namespace sf::cli {

nlohmann::json graph_to_json(const plan& p) {
  auto milestones = nlohmann::json::array();
  auto edges = nlohmann::json::array();
  std::set<std::string> missing;
  for (const auto& m : p.milestones) {
    milestones.push_back({{"id", m.id},
                          {"title", m.title},
                          {"status", to_string(m.status)},
                          {"dependsOn", m.depends_on}});
    for (const auto& dep : m.depends_on) {
      const bool absent = p.find(dep) == nullptr;
      if (absent)
        missing.insert(dep);
      edges.push_back({{"from", dep}, {"to", m.id}, {"missing", absent}});
    }
  }
  return {{"milestones", std::move(milestones)},
          {"edges", std::move(edges)},
          {"missing", missing}};
}

} // namespace sf::cli
