#pragma once
/// Misbehaviour for the chaos harness's fault worker (`sf-actors chaos worker`): the reference
/// worker with knobs that make it crash, hang, lie or overspend at chosen moments. A worker
/// without knobs behaves exactly like `sf-actors worker`.

#include <caf/expected.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace sf::chaos {

/// How one milestone's fault worker misbehaves. Counts are units finished in this session.
struct fault_knobs {
  int sessions = 1;            ///< Misbehave in the first N spawns of the milestone; 0 = all.
  int crash_after = -1;        ///< SIGKILL itself after this many units.
  int hang_after = -1;         ///< SIGSTOP itself after this many units.
  int silent_after = -1;       ///< Stop heartbeating (and ignore signals) after this many units.
  bool ignore_sigterm = false; ///< SIGTERM is ignored; only SIGKILL ends it.
  bool leave_child = false;    ///< Starts a child in its process group that never exits.
  std::string bad_status;      ///< After the first unit: "corrupt", "truncated", "huge" or
                               ///< "huge-cost" (a valid status claiming 1.7e308 USD).
  double cost_drop = 0;        ///< After the first unit, report this much less than spent.
  std::string forge_milestone; ///< Also writes status files in this other milestone's name.
  int64_t forge_pid = 0;       ///< Writes this pid into its status files instead of its own.
  bool overspend = false;      ///< Never stops for the budget on its own.
  double heartbeat_scale = 1;  ///< Heartbeat interval multiplied by this (slow heartbeats).
};

/// Calls `f(name, field)` for every knob of `k`: the one list of names that the scenario parser,
/// the knobs file writer and its reader share.
template <class Knobs, class F>
void for_each_knob(Knobs& k, F&& f) {
  f("sessions", k.sessions);
  f("crash_after", k.crash_after);
  f("hang_after", k.hang_after);
  f("silent_after", k.silent_after);
  f("ignore_sigterm", k.ignore_sigterm);
  f("leave_child", k.leave_child);
  f("bad_status", k.bad_status);
  f("cost_drop", k.cost_drop);
  f("forge_milestone", k.forge_milestone);
  f("forge_pid", k.forge_pid);
  f("overspend", k.overspend);
  f("heartbeat_scale", k.heartbeat_scale);
}

/// What a fault worker was given: its knobs (when active this session) and where to record.
struct fault_plan {
  std::optional<fault_knobs> knobs; ///< Empty: behave well this session.
  std::string journal;              ///< Appends "<MID> <unit> <commit>" per committed unit.
  int session = 1;                  ///< 1 for the first spawn of this milestone, then 2, ...
};

/// Reads the knobs file the harness wrote (JSON: {"journal", "counters", "milestones":
/// {MID: knobs}}) for `milestone`, counting this spawn in the counters folder.
caf::expected<fault_plan> load_fault_plan(const std::string& path, const std::string& milestone);

/// Appends one line to the journal (O_APPEND, one write).
void journal_unit(const fault_plan& plan, const std::string& milestone, const std::string& unit,
                  const std::string& commit);

/// Writes a deliberately broken status file for `milestone` ("corrupt", "truncated", "huge",
/// "huge-cost").
void write_bad_status(const std::string& root, const std::string& milestone,
                      const std::string& kind);

/// Starts a child in the caller's process group that sleeps until killed.
void leave_child_behind();

} // namespace sf::chaos
