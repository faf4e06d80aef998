#pragma once
/// Typed messages exchanged by sf-actors' actors (never JSON: that stays in io/files/).

#include "core/event_kind.hpp"
#include "core/merge_kind.hpp"
#include "core/milestone_state.hpp"
#include "core/token_counts.hpp"
#include "core/worker_state.hpp"

#include <caf/meta/type_name.hpp>
#include <caf/optional.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace sf {

/// What a worker says about the agent unit it runs (the status file's `agent`).
struct agent_activity {
  std::string profile;         ///< The profile's name in the preferences.
  std::string adapter;         ///< claude | codex | aider | generic.
  std::string activity;        ///< Its last progress line (a tool, a command, a message).
  int attempt = 1;             ///< This attempt of the unit, from 1.
  int max_attempts = 1;        ///< Attempts allowed (verify retries).
  std::string session_id;      ///< The agent's session; may be empty.
  bool price_missing = false;  ///< Its model has no price: its tokens cost nothing in USD.
  std::string needs_attention; ///< Why a person should look; empty when nothing.
};

/// Same profile, activity, attempt, session and attention.
inline bool operator==(const agent_activity& a, const agent_activity& b) {
  return a.profile == b.profile && a.adapter == b.adapter && a.activity == b.activity &&
         a.attempt == b.attempt && a.max_attempts == b.max_attempts &&
         a.session_id == b.session_id && a.price_missing == b.price_missing &&
         a.needs_attention == b.needs_attention;
}

/// A worker's status as the supervisor learned it from the status file.
struct worker_progress {
  std::string milestone;      ///< Milestone id.
  core::worker_state state = core::worker_state::running; ///< As the status file says.
  int64_t completed_units = 0;///< Units done.
  int64_t total_units = 0;    ///< Units in the milestone (0 when unknown).
  std::string current_unit;   ///< Unit id being run, empty when idle.
  std::string current_slice;  ///< Slice id being run, empty when unknown.
  double cost = 0;            ///< Cumulative USD reported by the worker.
  int64_t last_heartbeat = 0; ///< ms since the Unix epoch.
  int64_t pid = 0;            ///< Worker pid as it reported it.
  std::string error;          ///< Reason, when state is error.
  std::string session;        ///< Empty when `cost` covers the whole milestone (our protocol);
                              ///< else the spawn it belongs to (costs of sessions add up).
  caf::optional<core::token_counts> tokens; ///< Cumulative, like `cost`; empty when the worker
                                            ///< reports none.
  caf::optional<agent_activity> agent;      ///< Set while an agent unit runs.
};

/// Who a spawned worker is, so a restarted coordinator can verify it before adopting it.
struct worker_identity {
  std::string milestone;   ///< Milestone id.
  int64_t pid = 0;         ///< Process id (also its process group id).
  uint64_t start_time = 0; ///< Clock ticks since boot at its start.
  std::string boot_id;     ///< Boot it started in.
  std::string token;       ///< Per-spawn secret in its environment (SF_SPAWN_TOKEN).
};

/// How a worker process ended.
struct worker_exit {
  std::string milestone; ///< Milestone id.
  int64_t pid = 0;       ///< The process that ended.
  int exit_code = -1;    ///< Exit status, -1 when killed by a signal.
  int term_signal = 0;   ///< Signal that killed it, 0 when it exited.
  std::string text;      ///< "exited with code 3", "killed by SIGKILL".
};

/// One row of `sf-actors status`.
struct worker_snapshot {
  std::string milestone;       ///< Milestone id.
  std::string title;           ///< Milestone title.
  core::milestone_state state = core::milestone_state::idle; ///< The coordinator's view.
  int64_t completed_units = 0; ///< Units done.
  int64_t total_units = 0;     ///< Units in total.
  std::string current_unit;    ///< Unit being run.
  double cost = 0;             ///< USD so far.
  int64_t last_heartbeat = 0;  ///< ms since the Unix epoch, 0 when none yet.
  int64_t pid = 0;             ///< Worker pid, 0 when none runs.
  std::string note;            ///< Why it is in this state (error, stale reason, waiting for).
  bool adopted = false;        ///< Its worker was adopted from an earlier coordinator that
                               ///< died, not spawned by this one.
  caf::optional<core::token_counts> tokens; ///< Tokens so far; empty when none are reported.
  caf::optional<agent_activity> agent;      ///< The agent unit it runs now, if any.
};

/// Two milestones of the run whose branches changed the same files: their merges may conflict.
struct file_overlap {
  std::string first;              ///< The milestone id that sorts first.
  std::string second;             ///< The other.
  std::vector<std::string> files; ///< The paths both changed, sorted.
};

/// The whole run, as `status` reports it.
struct run_status {
  std::vector<worker_snapshot> workers; ///< Sorted by milestone id.
  double total_cost = 0;                ///< Sum over workers.
  double budget_ceiling = 0;            ///< 0 when there is none.
  bool budget_reached = false;          ///< The ceiling stopped the run.
  bool active = false;                  ///< Some worker still runs or is queued.
  std::string message;                  ///< Run-level note, e.g. budget text.
  std::vector<file_overlap> overlaps;   ///< Unmerged pairs that changed the same files.
  core::token_counts total_tokens;      ///< Sum over workers (like `total_cost`).
};

/// The ledger's answer to a cost report.
struct budget_update {
  std::string milestone;     ///< Whose cost changed.
  double milestone_cost = 0; ///< Its accepted cumulative cost.
  double total = 0;          ///< Sum over the run.
  double ceiling = 0;        ///< 0 when there is none.
  bool reached = false;      ///< total >= ceiling.
  bool anomaly = false;      ///< The report was lower than before and was ignored.
  core::token_counts milestone_tokens; ///< Its accepted tokens (all sessions).
  core::token_counts total_tokens;     ///< Tokens over the run.
};

/// What a stop, pause or resume did to one milestone, as data for `--json`.
struct milestone_reply {
  std::string milestone;                                    ///< Milestone id.
  core::milestone_state state = core::milestone_state::idle; ///< Its state right after.
  std::string text; ///< Its line without the leading "<MID>: ".
};

/// What a command did, one line per milestone.
struct command_reply {
  std::vector<std::string> lines;          ///< Human-readable, e.g. "M002: paused".
  int exit_code = 0;                       ///< For the CLI (see cli/command.hpp).
  std::vector<milestone_reply> milestones; ///< The lines about one milestone each, as data.
};

/// What a milestone's branch `milestone/<MID>` holds, as the branch reader found it.
struct branch_report {
  std::string milestone; ///< Milestone id.
  bool exists = false;   ///< The branch exists.
  bool complete = false; ///< Its committed MILESTONE.md says `status: complete`.
  bool merged = false;   ///< Its tip is reachable from the integration branch.
  std::string tip;       ///< Hex oid of the tip, when it exists.
  std::string error;     ///< Why the branch could not be read; empty when it was.
};

/// Which files a milestone's branch changed since it left the integration branch.
struct branch_changes {
  std::string milestone;          ///< Milestone id.
  std::string tip;                ///< Hex oid of the tip the files were read at.
  std::vector<std::string> files; ///< Sorted paths outside `.sf/`.
  std::string error;              ///< Why the branch could not be read; empty when it was.
};

/// A milestone (or one of its slices) ready to merge, with the tip recorded at that moment.
struct merge_item {
  std::string milestone;          ///< Milestone id.
  std::string title;              ///< Its title, for the commit message.
  std::string slice;              ///< Slice id for a per-slice merge, empty for the milestone.
  std::string tip;                ///< Hex oid of the branch tip when it completed.
  std::vector<std::string> units; ///< "U01 title" lines, for the commit message.
  int64_t sequence = 0;           ///< Completion order (by-completion merges in this order).
};

/// The result of one merge attempt.
struct merge_outcome {
  std::string milestone;          ///< Milestone id.
  std::string slice;              ///< Slice id, empty for the whole milestone.
  core::merge_kind kind = core::merge_kind::failed; ///< What happened (core/merge_kind.hpp);
                                  ///< for would_conflict `text` names the other milestone.
  std::string commit;             ///< Merge commit (hex) when merged.
  std::vector<std::string> files; ///< Conflicting or dirty files.
  std::string text;               ///< One human-readable line.
  bool pushed = false;            ///< Main was pushed after the merge.
  std::string push_error;         ///< Why the push failed, if it did.
  /// For an obstacle (dirty_checkout, locked, blocked): folders whose change may end it.
  std::vector<std::string> watch;
  bool push_pending = false;      ///< (pushed, push_failed) another push follows at once.
  std::string notes;              ///< What the merge did to a checkout a person must know.
  /// (failed) a gated merge found main moved since the gate's test: it is tested again.
  bool main_moved = false;
};

/// Everything one `merge` request did.
struct merge_report {
  std::vector<merge_outcome> results; ///< In merge order.
  int exit_code = 0;                  ///< For the CLI.
  bool queue_retries = false;         ///< A coordinator's queue retries what an obstacle holds.
};

/// Kinds of events published to subscribers (core/event_kind.hpp).
using core::event_kind;

/// One event for subscribers (the CLI's progress view, embedding hosts).
struct run_event {
  event_kind kind = event_kind::message; ///< What happened.
  std::string milestone;                 ///< Whose, empty for run-level events.
  /// The milestone's new state (state_changed, completed, progress), or `failed` on a
  /// finished event when the run could not finish; empty otherwise.
  caf::optional<core::milestone_state> state;
  /// What a merge attempt gave (merge, merge_ready); empty otherwise.
  caf::optional<core::merge_kind> merge;
  std::string text;                      ///< Human-readable line.
  double cost = 0;                       ///< Milestone cost, or total for budget events.
  int64_t completed_units = 0;           ///< Progress.
  int64_t total_units = 0;               ///< Progress.
  std::vector<std::string> files;        ///< overlap: the paths both milestones changed.
  std::string other;                     ///< overlap: the other milestone.
  caf::optional<core::token_counts> tokens; ///< progress: the milestone's tokens, when known.
};

/// Names of the core's enums (event kinds, merge kinds) for callers in `sf`.
using core::to_string;

/// An event's state as the event log (its `state` field) and printers name it: the milestone
/// state's name, else the merge kind's; empty when the event has neither.
inline std::string_view state_name(const run_event& ev) {
  if (ev.state)
    return core::to_string(*ev.state);
  if (ev.merge)
    return core::to_string(*ev.merge);
  return {};
}

/// Serialization of `agent_activity`.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, agent_activity& x) {
  return f(caf::meta::type_name("sf::agent_activity"), x.profile, x.adapter, x.activity,
           x.attempt, x.max_attempts, x.session_id, x.price_missing, x.needs_attention);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, worker_progress& x) {
  return f(caf::meta::type_name("sf::worker_progress"), x.milestone, x.state, x.completed_units,
           x.total_units, x.current_unit, x.current_slice, x.cost, x.last_heartbeat, x.pid,
           x.error, x.session, x.tokens, x.agent);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, worker_identity& x) {
  return f(caf::meta::type_name("sf::worker_identity"), x.milestone, x.pid, x.start_time,
           x.boot_id, x.token);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, worker_exit& x) {
  return f(caf::meta::type_name("sf::worker_exit"), x.milestone, x.pid, x.exit_code,
           x.term_signal, x.text);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, worker_snapshot& x) {
  return f(caf::meta::type_name("sf::worker_snapshot"), x.milestone, x.title, x.state,
           x.completed_units, x.total_units, x.current_unit, x.cost, x.last_heartbeat, x.pid,
           x.note, x.adopted, x.tokens, x.agent);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, run_status& x) {
  return f(caf::meta::type_name("sf::run_status"), x.workers, x.total_cost, x.budget_ceiling,
           x.budget_reached, x.active, x.message, x.overlaps, x.total_tokens);
}

/// Serialization of `file_overlap`.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, file_overlap& x) {
  return f(caf::meta::type_name("sf::file_overlap"), x.first, x.second, x.files);
}

/// Serialization of `branch_changes`.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, branch_changes& x) {
  return f(caf::meta::type_name("sf::branch_changes"), x.milestone, x.tip, x.files, x.error);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, budget_update& x) {
  return f(caf::meta::type_name("sf::budget_update"), x.milestone, x.milestone_cost, x.total,
           x.ceiling, x.reached, x.anomaly, x.milestone_tokens, x.total_tokens);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, milestone_reply& x) {
  return f(caf::meta::type_name("sf::milestone_reply"), x.milestone, x.state, x.text);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, command_reply& x) {
  return f(caf::meta::type_name("sf::command_reply"), x.lines, x.exit_code, x.milestones);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, branch_report& x) {
  return f(caf::meta::type_name("sf::branch_report"), x.milestone, x.exists, x.complete,
           x.merged, x.tip, x.error);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, merge_item& x) {
  return f(caf::meta::type_name("sf::merge_item"), x.milestone, x.title, x.slice, x.tip, x.units,
           x.sequence);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, merge_outcome& x) {
  return f(caf::meta::type_name("sf::merge_outcome"), x.milestone, x.slice, x.kind, x.commit,
           x.files, x.text, x.pushed, x.push_error, x.watch, x.push_pending, x.notes,
           x.main_moved);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, merge_report& x) {
  return f(caf::meta::type_name("sf::merge_report"), x.results, x.exit_code, x.queue_retries);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, run_event& x) {
  return f(caf::meta::type_name("sf::run_event"), x.kind, x.milestone, x.state, x.merge, x.text,
           x.cost, x.completed_units, x.total_units, x.files, x.other, x.tokens);
}

} // namespace sf

namespace sf::core {

/// Serialization of `token_counts` (found by argument-dependent lookup in its namespace).
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, token_counts& x) {
  return f(caf::meta::type_name("sf::core::token_counts"), x.input, x.output, x.cached);
}

} // namespace sf::core
