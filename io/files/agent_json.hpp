#pragma once
/// JSON of what agents report (tokens, the agent unit's progress), one shape for the status
/// file, run.json, `status --json`, the event log and the ledger.

#include "core/token_counts.hpp"
#include "io/files/status_file.hpp"
#include "messages/types.hpp"

#include <nlohmann/json.hpp>

#include <string>

namespace sf::io {

/// `{"input": n, "output": n, "cached": n}`.
nlohmann::json tokens_to_json(const core::token_counts& t);

/// Reads a tokens object into `out`: each count a non-negative integer, a missing one 0.
/// Gives what is wrong (to follow a field name), empty when it read.
std::string tokens_from_json(const nlohmann::json& j, core::token_counts& out);

/// What `tokens_from_json` accepts, for error lines.
constexpr const char* tokens_shape = "an object of integers >= 0 'input', 'output', 'cached'";

/// `{"profile", "adapter", "activity", "attempt", "maxAttempts", "sessionId", "priceMissing",
/// "needsAttention"}`, `needsAttention` null when nothing needs a person.
nlohmann::json agent_to_json(const agent_activity& a);

/// Reads an agent object into `out` (strings, integers >= 1, a boolean, a string or null);
/// gives what is wrong, naming the member, empty when it read.
std::string agent_from_json(const nlohmann::json& j, agent_activity& out);

/// The status file's agent fields as the typed messages carry them (no attention: empty).
agent_activity as_activity(const agent_progress& g);

/// The typed agent fields as the status file holds them.
agent_progress as_progress(agent_activity a);

} // namespace sf::io
