#pragma once
/// Renders chaos results: the terminal table, JSON, and docs/RELIABILITY.md.

#include "chaos/runner.hpp"

#include <string>
#include <vector>

namespace sf::chaos {

/// One table per scenario (invariant, result, detail), then a summary line if asked.
std::string render_table(const std::vector<scenario_result>& results, bool summary = true);

/// The same as JSON.
std::string render_json(const std::vector<scenario_result>& results);

/// docs/RELIABILITY.md: how the results were made, then scenario x invariant results.
std::string render_reliability_doc(const std::vector<scenario_result>& results,
                                   const std::string& command);

} // namespace sf::chaos
