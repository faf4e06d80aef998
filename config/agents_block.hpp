#pragma once
/// Reading the `agents:` block of one preferences file (profiles, the default, prices) over
/// what an earlier file (`~/.sf/PREFERENCES.md`) set.

#include "config/agent_profile.hpp"

#include <caf/error.hpp>
#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <map>
#include <string>
#include <vector>

namespace sf {

/// The file being read and where findings go.
struct agents_block_source {
  const std::string& path;                    ///< The file, for messages and `origin`.
  std::size_t first_line;                     ///< File line of the front matter's first line.
  std::map<std::string, std::string>& origin; ///< Gets `agents.<path>` -> `path` per value set.
  std::vector<std::string>& warnings;         ///< Gets one line per unknown key.
};

/// Applies `block` (the value of `agents:`, a map or null; its key on `line`) over `into`:
/// `default` replaces, each profile's fields replace key by key, each price entry replaces
/// whole. A bad value is a one-line error naming file, line, key and what is allowed; on error
/// `into` may be half-changed, so callers work on a copy.
caf::error apply_agents_block(agent_settings& into, const YAML::Node& block, std::size_t line,
                              const agents_block_source& src);

/// Checks what spans files: `agents.default` names a profile that exists.
caf::error validate_agents(const agent_settings& a,
                           const std::map<std::string, std::string>& origin);

/// The profile names, comma-separated, for messages ("none" when there is none).
std::string profile_names(const agent_settings& a);

} // namespace sf
