#pragma once
/// A Catch2 check that a real output matches its schema in docs/schemas, naming each violation.

#include "docs/json_schema.hpp"

#include <catch2/catch.hpp>

#include <string>

namespace sf::test {

/// Checks `doc` against `docs/schemas/<schema>.schema.json`; on failure prints the document and
/// every violation.
inline void check_valid(const std::string& schema, const nlohmann::json& doc) {
  auto errors = schema_errors(load_schema(schema), doc);
  INFO(schema << ": " << doc.dump());
  for (const auto& e : errors)
    UNSCOPED_INFO(e);
  CHECK(errors.empty());
}

} // namespace sf::test
