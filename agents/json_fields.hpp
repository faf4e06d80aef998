#pragma once
/// Tolerant reads of the JSON events agents print: a missing or mistyped field is a default,
/// never an exception (vendors add and change fields between minor versions).

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sf::agents {

/// The line as a JSON object, or a discarded value when it is not one.
nlohmann::json parse_event(std::string_view line);

/// `j[key]` when `j` is an object holding a string there, else "".
std::string text_at(const nlohmann::json& j, const char* key);

/// `j[key]` when it is a non-negative integer, else 0 (a negative count is nonsense).
std::int64_t count_at(const nlohmann::json& j, const char* key);

/// `j[key]` when it is a boolean, else `fallback`.
bool flag_at(const nlohmann::json& j, const char* key, bool fallback = false);

/// `j[key]` as USD when it is finite and >= 0; more than `max_cost_usd` counts as that
/// maximum; empty when absent or invalid.
std::optional<double> usd_at(const nlohmann::json& j, const char* key);

/// `j[key]` when it is an object or array, else a null value; never inserts.
const nlohmann::json& child_at(const nlohmann::json& j, const char* key);

} // namespace sf::agents
