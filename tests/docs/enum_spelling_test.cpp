// One spelling for every enum value: each value any schema in docs/schemas lists is lower
// snake_case, and a value spelled with other separators or capitals never appears elsewhere.
// The schemas are what the outputs and runtime files are validated against, so this holds for
// them too.
#include "docs/json_schema.hpp"

#include <catch2/catch.hpp>

#include <cctype>
#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <string>

using namespace sf::test;

namespace {

struct enum_value {
  std::string value;
  std::string where; // "<schema file>:<json pointer of the enum>"
};

// Every string of every `enum` inside `schema`, with where it is.
void collect_enums(const nlohmann::json& schema, const std::string& where,
                   std::vector<enum_value>& out) {
  if (schema.is_object()) {
    for (auto it = schema.begin(); it != schema.end(); ++it) {
      if (it.key() == "enum" && it.value().is_array()) {
        for (const auto& v : it.value())
          if (v.is_string())
            out.push_back({v.get<std::string>(), where});
      } else {
        collect_enums(it.value(), where + "/" + it.key(), out);
      }
    }
  } else if (schema.is_array()) {
    for (std::size_t i = 0; i < schema.size(); ++i)
      collect_enums(schema[i], where + "/" + std::to_string(i), out);
  }
}

std::vector<enum_value> all_enum_values() {
  std::vector<enum_value> out;
  for (const auto& e : std::filesystem::directory_iterator(SF_SOURCE_DIR "/docs/schemas")) {
    auto name = e.path().filename().string();
    const std::string suffix = ".schema.json";
    if (name.size() <= suffix.size() || name.substr(name.size() - suffix.size()) != suffix)
      continue;
    collect_enums(load_schema(name.substr(0, name.size() - suffix.size())), name + ":", out);
  }
  return out;
}

// The value without separators, lower case: two spellings of one word share it.
std::string folded(const std::string& value) {
  std::string out;
  for (char c : value)
    if (std::isalnum(static_cast<unsigned char>(c)))
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

} // namespace

TEST_CASE("every enum value of every schema is lower snake_case, spelled one way", "[docs]") {
  auto values = all_enum_values();
  REQUIRE(values.size() > 50); // States, merge kinds, event kinds, finding kinds, ...
  static const std::regex snake("^[a-z][a-z0-9]*(_[a-z0-9]+)*$");
  std::map<std::string, std::set<std::string>> spellings;
  for (const auto& v : values) {
    INFO(v.where << " lists \"" << v.value << "\"");
    CHECK(std::regex_match(v.value, snake));
    spellings[folded(v.value)].insert(v.value);
  }
  for (const auto& [word, spelled] : spellings) {
    INFO("spelled more than one way: " << nlohmann::json(spelled).dump());
    CHECK(spelled.size() == 1);
  }
}

TEST_CASE("the spelling check finds a value spelled another way", "[docs]") {
  std::vector<enum_value> found;
  collect_enums({{"properties", {{"a", {{"enum", {"push_failed", "n/a"}}}},
                                 {"b", {{"items", {{"enum", {"push-failed"}}}}}}}}},
                "x:", found);
  REQUIRE(found.size() == 3);
  CHECK(found[2].where == "x:/properties/b/items");
  CHECK(folded(found[0].value) == folded(found[2].value));
  CHECK_FALSE(std::regex_match(found[1].value, std::regex("^[a-z][a-z0-9]*(_[a-z0-9]+)*$")));
}
