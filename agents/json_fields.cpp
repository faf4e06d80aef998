#include "agents/json_fields.hpp"

#include "config/cost.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>

namespace sf::agents {

using nlohmann::json;

json parse_event(std::string_view line) {
  auto start = line.find_first_not_of(" \t");
  // Most junk (stderr noise, banners) is rejected without running the parser.
  if (start == std::string_view::npos || line[start] != '{')
    return json(json::value_t::discarded);
  json j = json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
  if (!j.is_object())
    return json(json::value_t::discarded);
  return j;
}

std::string text_at(const json& j, const char* key) {
  if (!j.is_object())
    return {};
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::int64_t count_at(const json& j, const char* key) {
  if (!j.is_object())
    return 0;
  auto it = j.find(key);
  if (it == j.end())
    return 0;
  if (it->is_number_unsigned())
    return static_cast<std::int64_t>(std::min<std::uint64_t>(it->get<std::uint64_t>(), INT64_MAX));
  if (it->is_number_integer())
    return std::max<std::int64_t>(0, it->get<std::int64_t>());
  return 0;
}

bool flag_at(const json& j, const char* key, bool fallback) {
  if (!j.is_object())
    return fallback;
  auto it = j.find(key);
  return it != j.end() && it->is_boolean() ? it->get<bool>() : fallback;
}

std::optional<double> usd_at(const json& j, const char* key) {
  if (!j.is_object())
    return std::nullopt;
  auto it = j.find(key);
  if (it == j.end() || !it->is_number())
    return std::nullopt;
  double v = it->get<double>();
  // As for SF_COST lines: an infinite or negative amount is no cost, a huge finite one the
  // maximum.
  if (!std::isfinite(v) || v < 0)
    return std::nullopt;
  return std::min(v, max_cost_usd);
}

const json& child_at(const json& j, const char* key) {
  static const json none;
  if (!j.is_object())
    return none;
  auto it = j.find(key);
  return it != j.end() && (it->is_object() || it->is_array()) ? *it : none;
}

} // namespace sf::agents
