#pragma once
/// A small JSON Schema checker for the subset docs/schemas uses: type, required, properties,
/// additionalProperties (true, false or a schema), enum, minimum, items, oneOf.

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace sf::test {

/// Every violation of `schema` by `doc`, each as "<json pointer>: <what>"; empty when valid.
std::vector<std::string> schema_errors(const nlohmann::json& schema, const nlohmann::json& doc,
                                       const std::string& where = "");

/// Loads `docs/schemas/<name>.schema.json` from the source tree.
nlohmann::json load_schema(const std::string& name);

/// A Catch2 check that `doc` is valid against `docs/schemas/<schema>.schema.json`, listing
/// every violation when it is not.
void check_valid(const std::string& schema, const nlohmann::json& doc);

} // namespace sf::test
