#include "docs/json_schema.hpp"

#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <stdexcept>

namespace sf::test {

namespace {

bool has_type(const nlohmann::json& doc, const std::string& type) {
  if (type == "object")
    return doc.is_object();
  if (type == "array")
    return doc.is_array();
  if (type == "string")
    return doc.is_string();
  if (type == "integer")
    return doc.is_number_integer();
  if (type == "number")
    return doc.is_number();
  if (type == "boolean")
    return doc.is_boolean();
  if (type == "null")
    return doc.is_null();
  // A schema that names a type we do not know is itself broken: say so loudly.
  throw std::logic_error("schema uses unsupported type `" + type + "`");
}

} // namespace

std::vector<std::string> schema_errors(const nlohmann::json& schema, const nlohmann::json& doc,
                                       const std::string& where) {
  std::vector<std::string> out;
  auto at = where.empty() ? std::string("/") : where;
  for (auto it = schema.begin(); it != schema.end(); ++it) {
    static const char* known[] = {"$schema", "title", "type", "required", "properties",
                                  "additionalProperties", "enum", "minimum", "maximum", "items",
                                  "oneOf", "description", "minItems", "maxItems"};
    bool ok = false;
    for (const char* k : known)
      ok = ok || it.key() == k;
    if (!ok)
      throw std::logic_error("schema keyword `" + it.key() + "` is not supported");
  }
  if (schema.contains("type") && !has_type(doc, schema["type"].get<std::string>())) {
    out.push_back(at + ": expected " + schema["type"].get<std::string>() + ", got " +
                  doc.type_name());
    return out;
  }
  if (schema.contains("enum")) {
    bool found = false;
    for (const auto& v : schema["enum"])
      found = found || v == doc;
    if (!found)
      out.push_back(at + ": " + doc.dump() + " is not one of " + schema["enum"].dump());
  }
  if (schema.contains("minimum") && doc.is_number() &&
      doc.get<double>() < schema["minimum"].get<double>())
    out.push_back(at + ": " + doc.dump() + " is below " + schema["minimum"].dump());
  if (schema.contains("maximum") && doc.is_number() &&
      doc.get<double>() > schema["maximum"].get<double>())
    out.push_back(at + ": " + doc.dump() + " is above " + schema["maximum"].dump());
  if (schema.contains("oneOf")) {
    int matches = 0;
    for (const auto& alt : schema["oneOf"])
      matches += schema_errors(alt, doc, where).empty() ? 1 : 0;
    if (matches != 1)
      out.push_back(at + ": matches " + std::to_string(matches) + " alternatives of oneOf");
  }
  if (doc.is_array() && schema.contains("minItems") &&
      doc.size() < schema["minItems"].get<std::size_t>())
    out.push_back(at + ": " + std::to_string(doc.size()) + " items, fewer than " +
                  schema["minItems"].dump());
  if (doc.is_array() && schema.contains("maxItems") &&
      doc.size() > schema["maxItems"].get<std::size_t>())
    out.push_back(at + ": " + std::to_string(doc.size()) + " items, more than " +
                  schema["maxItems"].dump());
  if (doc.is_array() && schema.contains("items"))
    for (std::size_t i = 0; i < doc.size(); ++i) {
      auto sub = schema_errors(schema["items"], doc[i], where + "/" + std::to_string(i));
      out.insert(out.end(), sub.begin(), sub.end());
    }
  if (doc.is_object()) {
    if (schema.contains("required"))
      for (const auto& key : schema["required"])
        if (!doc.contains(key.get<std::string>()))
          out.push_back(at + ": missing required `" + key.get<std::string>() + "`");
    static const nlohmann::json empty = nlohmann::json::object();
    const auto& props = schema.contains("properties") ? schema["properties"] : empty;
    for (auto it = doc.begin(); it != doc.end(); ++it) {
      auto path = where + "/" + it.key();
      if (props.contains(it.key())) {
        auto sub = schema_errors(props[it.key()], it.value(), path);
        out.insert(out.end(), sub.begin(), sub.end());
      } else if (schema.contains("additionalProperties")) {
        const auto& extra = schema["additionalProperties"];
        if (extra.is_boolean()) {
          if (!extra.get<bool>())
            out.push_back(path + ": property not allowed");
        } else {
          auto sub = schema_errors(extra, it.value(), path);
          out.insert(out.end(), sub.begin(), sub.end());
        }
      }
    }
  }
  return out;
}

nlohmann::json load_schema(const std::string& name) {
  return nlohmann::json::parse(
    read_file(std::string(SF_SOURCE_DIR) + "/docs/schemas/" + name + ".schema.json"));
}

void check_valid(const std::string& schema, const nlohmann::json& doc) {
  auto errors = schema_errors(load_schema(schema), doc);
  INFO(schema << ": " << doc.dump());
  for (const auto& e : errors)
    UNSCOPED_INFO(e);
  CHECK(errors.empty());
}

} // namespace sf::test
