#pragma once
/// Agent profiles: how an `agent:` unit's coding agent is started, watched and limited, as the
/// `agents:` block of the preferences declares it.

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sf {

/// Which built-in adapter reads an agent's output and knows how to start and resume it.
enum class agent_adapter {
  claude,  ///< Claude Code: `claude -p … --output-format stream-json --verbose`.
  codex,   ///< Codex CLI: `codex exec --json …`.
  aider,   ///< aider: `aider --message-file … --yes-always …`, plain-text `Tokens:` reports.
  generic, ///< Any command; cost from `SF_COST <usd>` lines, as shell units report it.
};

/// Spelling of an adapter as written in the preferences (`claude`, `codex`, `aider`, `generic`).
const char* to_string(agent_adapter a);

/// Parses an adapter name; empty when unknown.
std::optional<agent_adapter> parse_agent_adapter(std::string_view text);

/// Limits of one agent unit; a unit's own values override its profile's.
struct agent_limits {
  std::optional<std::chrono::milliseconds> timeout;      ///< Stopped and failed after this.
  std::optional<std::chrono::milliseconds> idle_timeout; ///< No output this long: attention.
  std::optional<int> max_attempts;                       ///< Runs of the agent (verify retries).
};

/// One entry of the `agents:` profiles.
struct agent_profile {
  std::string name;                    ///< Its key in the preferences.
  agent_adapter adapter = agent_adapter::generic; ///< `adapter:`.
  std::vector<std::string> command;    ///< argv prefix (`command:`); default per adapter.
  std::string model;                   ///< `model:`; empty = the agent's own default.
  std::string permission_mode;         ///< `permission_mode:` (Claude's mode, Codex's sandbox).
  std::vector<std::string> extra_args; ///< `args:`, appended before the prompt.
  agent_limits limits;                 ///< `timeout:`, `idle_timeout:`, `max_attempts:`.
};

/// USD per million tokens of one model (`agents.prices.<model>`).
struct token_price {
  double input = 0;  ///< Uncached input tokens.
  double output = 0; ///< Output tokens.
  double cached = 0; ///< Input tokens read from the provider's cache.
};

/// The whole `agents:` block.
struct agent_settings {
  std::map<std::string, agent_profile> profiles; ///< By name.
  std::string default_profile;                   ///< `agents.default`; the only one if unset.
  std::map<std::string, token_price> prices;     ///< By model name as the agent reports it.
  /// `agents.commit_subject`: the subject of an agent unit's commit, with `{milestone}`,
  /// `{unit}`, `{title}` and `{summary}` (the first line of the agent's final message, or
  /// the title when it said nothing) replaced; at most 72 characters are kept.
  std::string commit_subject = "{milestone}/{unit}: {summary}";

  /// The profile an `agent:` unit names (`default` or empty: the default profile); nullptr
  /// when there is none.
  const agent_profile* find(std::string_view name) const;
};

} // namespace sf
