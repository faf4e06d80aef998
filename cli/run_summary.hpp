#pragma once
/// The last line of `sf-actors start --json`: how the run ended, per milestone and in counts
/// (docs/schemas/start-summary.schema.json).

#include "cli/event_printer.hpp"

#include <nlohmann/json.hpp>

namespace sf::cli {

/// The summary of the run `printer` followed, which ends with exit code `exit_code`.
nlohmann::json run_summary_json(const event_printer& printer, int exit_code);

} // namespace sf::cli
