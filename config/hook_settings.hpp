#pragma once
/// `parallel.hooks`: commands run when something happens in a run (a unit done, a conflict),
/// which is how users get notifications.

#include <optional>
#include <string>
#include <string_view>

namespace sf {

/// The events a hook can be attached to (in the order the messages list them).
enum class hook_event {
  unit_done,          ///< A unit finished and was committed.
  milestone_complete, ///< A milestone's last unit is done.
  needs_attention,    ///< An agent went silent for its `idle_timeout`.
  conflict,           ///< A merge stopped at a conflict.
  budget_reached,     ///< The budget ceiling was reached.
  failed,             ///< A worker or unit failed.
};

/// Spelling of an event as written under `hooks:` (`unit_done`, ...).
const char* to_string(hook_event e);

/// Parses an event name; empty when unknown.
std::optional<hook_event> parse_hook_event(std::string_view text);

/// Every event name, quoted and comma-separated, for messages.
std::string hook_event_names();

/// Seconds a hook may run when its entry gives no `timeout`.
inline constexpr double default_hook_timeout = 30;

/// One hook: a shell command and how long it may take.
struct hook_command {
  std::string command;                   ///< Run with `/bin/sh -c`.
  double timeout = default_hook_timeout; ///< Seconds before it is stopped.
};

} // namespace sf
