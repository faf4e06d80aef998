#pragma once
/// The check that joins the plan and the preferences: every `agent:` unit names a profile the
/// preferences declare, and that profile can be started.

#include "config/plan.hpp"
#include "config/preferences.hpp"

#include <caf/error.hpp>

namespace sf {

/// The first problem, in plan order: a unit naming a profile that does not exist, `agent:
/// default` with no profile or no default among several, or a profile of the generic adapter
/// without a `command`. One line: the milestone file, the unit's field, the fix.
caf::error check_agent_units(const plan& p, const preferences& prefs);

} // namespace sf
