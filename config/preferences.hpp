#pragma once
/// The `parallel:` and `agents:` blocks of `~/.sf/PREFERENCES.md` and `.sf/PREFERENCES.md`.

#include "config/agent_profile.hpp"
#include "config/hook_settings.hpp"

#include <caf/expected.hpp>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sf {

struct input_limits; // config/plan.hpp

/// When a milestone's branch merges back to main (in the order the error messages list them).
enum class merge_strategy { per_slice, per_milestone };

/// How merge-back is handled.
enum class auto_merge_mode { automatic, confirm, manual };

/// In which order completed milestones merge.
enum class merge_order { sequential, by_completion };

/// What happens to a milestone whose merge failed the gate (after its retry).
enum class gate_failure_action { hold, agent };

/// Spelling of each enum as written in the preferences file.
const char* to_string(merge_strategy v);
const char* to_string(auto_merge_mode v);
const char* to_string(merge_order v);
const char* to_string(gate_failure_action v);

/// Validated preferences with their defaults.
struct preferences {
  bool enabled = false;                         ///< Master toggle.
  int max_workers = 2;                          ///< Concurrent workers (1-64).
  std::optional<double> budget_ceiling;         ///< USD across all workers; none = unlimited.
  merge_strategy strategy = merge_strategy::per_milestone; ///< `merge_strategy`.
  auto_merge_mode auto_merge = auto_merge_mode::confirm;   ///< `auto_merge`.
  merge_order order = merge_order::sequential;  ///< `merge_order`.
  std::string worker_command;                   ///< Replaces the reference worker when set.
  double stale_timeout = 30;                    ///< Seconds without heartbeat before stale.
  double heartbeat_interval = 5;                ///< Seconds between worker heartbeats.
  double stop_grace = 10;                       ///< Seconds between SIGTERM and SIGKILL.
  std::string push_remote;                      ///< Remote to push main to after a merge.
  double push_timeout = 60;                     ///< Seconds a push may take before it is ended.
  std::string merge_gate;                       ///< Command testing each merge; empty = none.
  double merge_gate_timeout = 1800;             ///< Seconds a gate run may take.
  int gate_batch = 1;                           ///< Queued merges tested together (1-64).
  gate_failure_action on_gate_failure = gate_failure_action::hold; ///< `on_gate_failure`.
  int gate_fix_rounds = 2;                      ///< Agent fixes per milestone (1-10).
  std::string integration_branch;               ///< Branch merges land on; empty = decided once.
  bool delete_merged_branches = false;          ///< Delete `milestone/<MID>` after merging.
  int max_restarts = 3;                         ///< Restarts per milestone within the window.
  double restart_window = 600;                  ///< Seconds over which restarts are counted.
  double restart_backoff = 1;                   ///< Seconds before the first restart (doubles).
  std::string worktree_setup;                   ///< Run once when a worktree is created.
  double worktree_setup_timeout = 600;          ///< Seconds `worktree_setup` may take.
  bool git_hooks = true;                        ///< Run the repository's git hooks.
  std::map<hook_event, hook_command> hooks;     ///< `hooks:`, by event.
  agent_settings agents;                        ///< The top-level `agents:` block.

  std::vector<std::string> warnings;            ///< Non-fatal findings (unknown keys).
  std::map<std::string, std::string> origin;    ///< Key -> file that set it (`agents.` keys
                                                ///< spelled out: `agents.profiles.claude.model`).
};

/// Documentation of one key, used by `init`, `--help` and the README check.
struct preference_key {
  const char* name;          ///< Key under `parallel:`, or a dotted path from the top of the
                             ///< front matter for the `agents:` block (`agents.default`,
                             ///< `agents.profiles.<name>.model`).
  const char* type;          ///< Human type, e.g. "integer (1-64)".
  const char* default_value; ///< As written in YAML.
  const char* description;   ///< One line.
};

/// Every known key, in documentation order.
const std::vector<preference_key>& preference_keys();

/// Applies one file's text over `into`; `path` is for messages.
caf::error apply_preferences(preferences& into, std::string_view text, const std::string& path);

/// Loads `<home>/.sf/PREFERENCES.md` then `<root>/.sf/PREFERENCES.md`; missing files are skipped.
caf::expected<preferences> load_preferences(const std::string& root, const std::string& home);

/// Same, with explicit input limits (the other overloads use the defaults).
caf::expected<preferences> load_preferences(const std::string& root, const std::string& home,
                                            const input_limits& limits);

/// Checks rules that span keys (heartbeat_interval below stale_timeout), naming each key's file.
caf::error validate_preferences(const preferences& p);

/// Loads with `home` taken from $HOME (an unset or empty HOME skips the global file).
caf::expected<preferences> load_preferences(const std::string& root);

} // namespace sf
