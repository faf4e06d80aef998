#include "cli/run_summary.hpp"

#include <string>

namespace sf::cli {

nlohmann::json run_summary_json(const event_printer& printer, int exit_code) {
  auto milestones = nlohmann::json::array();
  auto counts = nlohmann::json::object();
  for (const auto& [id, state] : printer.final_states()) {
    std::string name{core::to_string(state)};
    milestones.push_back({{"milestoneId", id}, {"state", name}});
    counts[name] = counts.value(name, 0) + 1;
  }
  auto finish = printer.finish();
  return {{"kind", "summary"},       {"milestones", std::move(milestones)},
          {"counts", std::move(counts)}, {"totalCost", finish.cost},
          {"text", finish.text},     {"exitCode", exit_code}};
}

} // namespace sf::cli
