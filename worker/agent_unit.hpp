#pragma once
/// Runs one `agent:` unit: starts the profile's coding agent on the unit's prompt (or resumes
/// its recorded session), reads its stream while it works, enforces the unit's limits and the
/// budget, runs `verify:` after it and resumes the agent with the failure, attempt by attempt.

#include "agents/agent_usage.hpp"
#include "config/agent_profile.hpp"
#include "io/files/status_file.hpp"

#include <caf/expected.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace sf::worker {

/// One run of the agent (a unit takes one per attempt).
struct agent_attempt {
  int number = 1;                ///< From 1.
  double cost = 0;               ///< USD it cost (reported, or its tokens priced).
  io::token_counts tokens;       ///< Tokens it used.
  bool price_missing = false;    ///< Tokens without a price: `cost` leaves them out.
  std::string session_id;        ///< The agent's session (empty for adapters without one).
  int64_t started_at = 0;        ///< ms since the Unix epoch.
  int64_t finished_at = 0;       ///< ms since the Unix epoch.
  std::string outcome;           ///< "done", "verify failed", or why it ended.
};

/// How an agent unit ended.
enum class agent_end {
  done,        ///< The agent finished and `verify` (if any) passed.
  failed,      ///< The agent failed, or `verify` failed on the last attempt.
  interrupted, ///< The worker was asked to stop (its stop fd fired).
  budget,      ///< The budget ceiling was crossed while the agent ran: it was stopped.
  timed_out,   ///< The unit ran past its `timeout` and was stopped.
};

/// A session recorded for a unit, so a restarted worker resumes it instead of starting over.
struct agent_session_record {
  std::string session_id;   ///< Claude session id, Codex thread id; empty for aider.
  int attempt = 1;          ///< The attempt it belongs to.
  agents::agent_usage snapshot; ///< Codex: the thread's cumulative usage when last seen.
};

/// What one agent unit needs.
struct agent_unit_request {
  const agent_profile* profile = nullptr;             ///< The unit's profile (not null).
  const std::map<std::string, token_price>* prices = nullptr; ///< `agents.prices`.
  std::string root;                                   ///< Project root (the runtime folder).
  std::string milestone;                              ///< Milestone id.
  std::string unit_id;                                ///< For messages.
  std::string worktree;                               ///< The agent's cwd.
  std::string prompt;                                 ///< The built prompt.
  std::string prompt_file;                            ///< The same, as a file.
  std::string verify;                                 ///< Run after the agent; may be empty.
  agent_limits limits;                                ///< The unit's, over the profile's.
  std::vector<std::string> env;                       ///< The unit's whole environment.
  int stop_fd = -1;                                   ///< Readable: stop (a signalfd).
  int transcript_fd = 1;                              ///< Readable transcript lines go here.
  std::string raw_log_path;                           ///< The raw stream is kept here,
                                                      ///< capped (with its `.1` copy).
  std::chrono::milliseconds heartbeat{5000};          ///< Period of `on_progress`.
  std::chrono::milliseconds kill_grace{2000};         ///< SIGTERM to SIGKILL.
  std::optional<agent_session_record> resume;         ///< A session left by a crash.
  /// What the resumed session is told; empty = "you were interrupted, go on with the task".
  std::string resume_prompt;
  /// Called at every heartbeat and change: the status fields, and this unit's cost and tokens
  /// so far (every attempt).
  std::function<void(const io::agent_progress&, double unit_cost, const io::token_counts&)>
    on_progress;
  /// Asked when the unit's cost so far grows: a reason when the budget is crossed.
  std::function<std::optional<std::string>(double unit_cost)> over_budget;
  /// A session id became known (or its snapshot changed): record it for a resume.
  std::function<void(const agent_session_record&)> on_session;
  /// An attempt ended (after its `verify`); called before the next one starts, so its cost
  /// is never lost. `outcome` is "done" only for the attempt that completes the unit.
  std::function<void(const agent_attempt&)> on_attempt;
};

/// What the unit gave.
struct agent_unit_result {
  agent_end end = agent_end::failed;  ///< How it ended.
  std::string reason;                 ///< Why, when it did not end `done` (one line).
  std::vector<agent_attempt> attempts; ///< Every attempt, in order.
  std::string summary;                ///< The agent's final answer (for the commit message).
  /// The agent itself failed or ran past `timeout` (not `verify` running out of attempts, not
  /// a launch or file error): a later run that resumes its session may get further.
  bool agent_failed = false;
};

/// Runs the unit to its end. Errors only for failures to start or watch a process (a missing
/// agent program is a failed unit with the reason, not an error).
caf::expected<agent_unit_result> run_agent_unit(const agent_unit_request& req);

/// The limits that apply: each of the unit's own, else the profile's; `max_attempts` is 1
/// when neither sets it.
agent_limits effective_limits(const agent_limits& unit, const agent_limits& profile);

/// The commit message of an agent unit: the subject from `subject_template` (see
/// `agent_settings::commit_subject`; at most 72 characters, cut at a character boundary), then
/// the unit and its title and the agent's whole final message in the body.
std::string agent_commit_message(const std::string& subject_template, const std::string& mid,
                                 const std::string& unit_id, const std::string& title,
                                 const std::string& summary);

} // namespace sf::worker
