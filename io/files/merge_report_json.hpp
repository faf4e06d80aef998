#pragma once
/// The JSON form of a merge report: what `sf-actors merge --json` prints and what a coordinator
/// sends back in a `merge` control response, so the CLI renders both the same way
/// (docs/schemas/merge-output.schema.json).

#include "messages/types.hpp"

#include <caf/expected.hpp>
#include <nlohmann/json.hpp>

#include <string>

namespace sf::io {

/// `{"results": [...], "exitCode": N, "queueRetries": bool}`.
nlohmann::json merge_report_to_json(const merge_report& r);

/// The inverse; `ec::invalid_input` naming `where` and the field when a field is missing or of
/// the wrong type, or a result names a kind this version does not know.
caf::expected<merge_report> merge_report_from_json(const nlohmann::json& j,
                                                   const std::string& where);

} // namespace sf::io
