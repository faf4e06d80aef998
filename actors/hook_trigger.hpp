#pragma once
/// hook_trigger: which hook (`parallel.hooks`) a run event fires. Pure logic, so every rule
/// is tested without processes.

#include "config/hook_settings.hpp"
#include "messages/types.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace sf {

/// Reads the events of one run in order and names the hook each fires; it remembers what a
/// rule needs across events (units done per milestone, whether the budget was told).
class hook_trigger {
public:
  /// `budget_ceiling` in USD; 0 or less means none (no `budget_reached`).
  explicit hook_trigger(double budget_ceiling);

  /// The hook `ev` fires, if any: `unit_done` for progress whose completed units grew,
  /// `milestone_complete` for `completed`, `needs_attention`, `conflict` for a merge that
  /// stopped at one, `budget_reached` once for the first budget event at the ceiling, and
  /// `failed` for a change to state failed; a milestone already complete (or failed) that
  /// reports that state again with another note fires nothing.
  std::optional<hook_event> fire(const run_event& ev);

private:
  double ceiling_;
  bool budget_told_ = false;
  std::map<std::string, int64_t> units_done_; ///< By milestone, as its last progress said.
  std::map<std::string, core::milestone_state> last_state_; ///< By milestone, from its events.
};

} // namespace sf
