#pragma once
/// Named fault points: places in the coordinator where the chaos harness (`sf-actors chaos`)
/// can stop or kill the process at an exact moment, such as between writing a merge commit and
/// moving main. They do nothing unless `SF_FAULT_POINTS` is set in the process environment.
///
/// `SF_FAULT_POINTS=name=action[,name=action...]`, action `stop` (raise SIGSTOP, so a harness can
/// act while the process is frozen and then continue or kill it), `kill` (raise SIGKILL) or
/// `fail` (the actor at that point ends with an error, see `fault_point_fails`).
/// Each point fires at most once per process.

namespace sf::io {

/// Every fault point the code has, for `sf-actors chaos` to validate scenario files against.
extern const char* const fault_point_names[];

/// Number of entries in `fault_point_names`.
extern const int fault_point_count;

/// Fires the named point if the environment asks for it (first hit only).
void fault_point(const char* name);

/// True (first hit only) when the environment arms `name` with `fail`: the caller then ends
/// its actor with an error, as a bug would.
bool fault_point_fails(const char* name);

} // namespace sf::io
