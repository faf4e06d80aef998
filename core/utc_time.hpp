#pragma once
/// Moments shown to people and used in file names, always in UTC.

#include <cstdint>
#include <string>

namespace sf::core {

/// "2026-12-03 09:50:12 UTC" for `ms` since the Unix epoch.
std::string utc_text(int64_t ms);

/// "20261203T095012.345Z": sortable, and safe in a file name.
std::string utc_stamp(int64_t ms);

} // namespace sf::core
