#pragma once
/// The eligibility report as the CLI prints it: Markdown for people, JSON for scripts.

#include "config/eligibility.hpp"

#include <nlohmann/json.hpp>

#include <string>

namespace sf::cli {

/// The report as Markdown, in the layout of the specification's example report.
/// An empty eligible or ineligible section keeps its heading with "(0)" and one "- none" line;
/// the overlap section is left out when there is no overlap. The overlap heading counts every
/// overlapping pair, and a last line says how many pairs are not listed when some were capped.
/// An entry without a title (an id from `only` that is not in the plan) prints its id alone.
/// Line breaks and other control characters in titles, reasons and paths become spaces.
std::string render_eligibility_markdown(const eligibility_report& r);

/// The report as JSON: `eligible`, `ineligible` (arrays of {id, title, reason}), `overlaps`
/// (arrays of {a, b, files}) and `overlapsOmitted`. Strings are copied as they are: dump with
/// `nlohmann::json::error_handler_t::replace` when titles may hold invalid UTF-8.
nlohmann::json eligibility_to_json(const eligibility_report& r);

} // namespace sf::cli
