#pragma once
/// A milestone written as prose only: no units, a body that says what to do. With a default
/// agent profile in the preferences it is one agent unit of that profile, so describing the
/// work in words is enough; without one it stays a milestone with nothing to run.

#include "config/agent_profile.hpp"
#include "config/plan.hpp"

#include <string>

namespace sf {

/// The id of the slice and of the unit a prose-only milestone is given.
inline constexpr const char* prose_slice_id = "S01";
inline constexpr const char* prose_unit_id = "U01";

/// True when `m` has no unit and its body has text other than white space.
bool is_prose_only(const milestone& m);

/// When `m` is prose-only and `agents` has a default profile: gives `m` one slice with one
/// `agent: default` unit, both titled like the milestone (the body reaches the agent as part
/// of every prompt), and sets `m.prose_unit`. Returns whether it did.
bool add_prose_unit(milestone& m, const agent_settings& agents);

/// For a prose-only milestone that still has no unit after `add_prose_unit`: one line saying
/// nothing will work on it, and the fix; empty otherwise (a milestone without units or text
/// only gathers its dependencies).
std::string nothing_to_run(const milestone& m);

/// `add_prose_unit` for every milestone of `p`; how each reader of plan and preferences
/// together (coordinator, worker, start, eligibility, status) sees the same units.
void add_prose_units(plan& p, const agent_settings& agents);

} // namespace sf
