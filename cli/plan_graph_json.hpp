#pragma once
/// The plan's dependency graph as data: `sf-actors graph --json` (docs/schemas/graph-output).

#include "config/plan.hpp"

#include <nlohmann/json.hpp>

namespace sf::cli {

/// Every milestone (id, title, status, dependsOn) sorted by id, and one edge per dependency,
/// from the dependency to its dependent; `missing` lists dependencies absent from the plan.
nlohmann::json graph_to_json(const plan& p);

} // namespace sf::cli
