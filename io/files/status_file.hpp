#pragma once
/// Codec and atomic read/write of `.sf/parallel/<MID>.status.json` (written by workers).

#include "core/token_counts.hpp"
#include "core/worker_state.hpp"

#include <caf/expected.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>
#include <string_view>

namespace sf::io {

/// Largest status file read; larger ones are refused before parsing.
constexpr std::size_t max_status_bytes = 64 * 1024;

/// The unit a worker is running.
struct current_unit {
  std::string type;       ///< Kind of unit (the reference worker writes "unit").
  std::string id;         ///< Unit id.
  int64_t started_at = 0; ///< ms since the Unix epoch.
};

/// Tokens an agent used (core/token_counts.hpp; the alias keeps `io::token_counts` callers).
using token_counts = core::token_counts;

/// What a worker running an agent unit says about it (`agent` in the status file).
struct agent_progress {
  std::string profile;        ///< The profile's name in the preferences.
  std::string adapter;        ///< claude | codex | aider | generic.
  std::string activity;       ///< Its last progress line (a tool, a command, a message).
  int attempt = 1;            ///< This attempt of the unit, from 1.
  int max_attempts = 1;       ///< Attempts allowed (verify retries).
  std::string session_id;     ///< The agent's session (resumed after a crash); may be empty.
  bool price_missing = false; ///< It reports tokens only and its model has no price: the
                              ///< cost counts nothing for them.
  std::optional<std::string> needs_attention; ///< Why a person should look (silent for long).
};

/// A worker's heartbeat and progress, as in the protocol's status file.
struct worker_status {
  // Fields of the original protocol (all required on read).
  std::string milestone_id;                 ///< Must equal the file's <MID>.
  int64_t pid = 0;                          ///< Worker process id (never trusted alone).
  core::worker_state state = core::worker_state::running; ///< running | paused | stopped | error.
  std::optional<current_unit> unit;         ///< `currentUnit`, null when idle.
  int64_t completed_units = 0;              ///< Units completed so far.
  double cost = 0;                          ///< Cumulative USD.
  int64_t last_heartbeat = 0;               ///< ms since the Unix epoch.
  int64_t started_at = 0;                   ///< ms since the Unix epoch.
  std::string worktree_path;                ///< Absolute worktree path.
  // Our own optional extras (absent in files of the original system).
  std::optional<int64_t> total_units;       ///< `totalUnits`.
  std::optional<std::string> current_slice; ///< `currentSlice`.
  std::optional<std::string> error;         ///< `error`: reason when state is error.
  std::optional<std::string> spawn_token;   ///< `spawnToken`: per-spawn secret from the env.
  std::optional<int> protocol;              ///< `protocol`: our format version (1).
  std::optional<token_counts> tokens;       ///< `tokens`: cumulative, like `cost` (agents).
  std::optional<agent_progress> agent;      ///< `agent`: while an agent unit runs.
};

/// Parses status JSON; rejects oversize input, wrong types, missing fields, mismatched id.
/// `expected_mid` empty skips the id check. Unknown fields are ignored.
caf::expected<worker_status> decode_status(std::string_view json, std::string_view expected_mid);

/// Serialises a status (original fields first, extras only when set).
std::string encode_status(const worker_status& s);

/// Path `<root>/.sf/parallel/<mid>.status.json`.
std::string status_path(const std::string& root, const std::string& mid);

/// Reads and decodes a status file, refusing symbolic links; not_found when absent.
caf::expected<worker_status> read_status(const std::string& root, const std::string& mid);

/// Writes a status file atomically, without fsync (creates `.sf/parallel` 0700 if needed).
caf::error write_status(const std::string& root, const worker_status& s);

/// Milestones that have a status file in `<root>/.sf/parallel` now (names checked, not contents).
std::vector<std::string> status_file_milestones(const std::string& root);

/// Milliseconds since the Unix epoch (wall clock, as the protocol uses).
int64_t now_ms();

} // namespace sf::io
