#pragma once
/// The values an agent limit (`timeout:`, `idle_timeout:`, `max_attempts:`) may take, read the
/// same way from a plan's unit and from a preferences profile.

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <optional>

namespace sf {

/// Allowed values of `timeout:` and `idle_timeout:`, as error messages name them.
inline constexpr const char* limit_seconds_allowed =
    "a number of seconds greater than 0, at most 1000000";

/// Allowed values of `max_attempts:`, as error messages name them.
inline constexpr const char* max_attempts_allowed = "an integer from 1 to 20";

/// Most runs of one agent unit (`max_attempts:`).
inline constexpr int max_attempts_limit = 20;

/// A plain number of seconds in (0, 1000000] as milliseconds (at least 1); empty otherwise.
std::optional<std::chrono::milliseconds> limit_seconds(const YAML::Node& node);

/// A plain integer from 1 to `max_attempts_limit`; empty otherwise.
std::optional<int> max_attempts_value(const YAML::Node& node);

} // namespace sf
