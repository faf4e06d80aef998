#pragma once
/// `sf-actors doctor`: finds what crashed workers and coordinators left behind, and cleans up
/// what is safe to clean. It never trusts a pid read from a file, and signals only processes it
/// proved are left by a dead worker of this project (its spawn token, checked through a pidfd).

#include "config/plan.hpp"
#include "config/preferences.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace sf::io {

/// What kind of leftover a finding is.
enum class finding_kind {
  stale_status,        ///< A status file no verified live worker owns, or with an old heartbeat.
  bad_status,          ///< A status file that does not parse.
  silent_worker,       ///< A verified live worker whose heartbeat expired (never touched).
  leftover_signal,     ///< A signal file no live worker will consume.
  leftover_temp,       ///< A `*.tmp*` file in `.sf/parallel` whose writer is gone.
  finished_worktree,   ///< A worktree whose milestone is merged, complete, or not planned.
  half_worktree,       ///< A folder in `.sf/worktrees` that is not a finished, valid worktree.
  prunable_worktree,   ///< A registered worktree whose folder is gone.
  idle_branch,         ///< A milestone branch with no work of its own, behind main.
  trash_folder,        ///< A `.trash-*` folder an interrupted worktree removal left.
  stale_git_lock,      ///< A git `*.lock` file.
  interrupted_merge,   ///< A checkout of main a merge was cut short in (its journal and lock).
  orphan_worker,       ///< A worker process of this project while no coordinator runs.
  orphan_process,      ///< A process a dead worker left running (units, daemons), by its token.
  coordinator_lock,    ///< The lock file of a coordinator that is gone.
  unsafe_file,         ///< A runtime file that is a link, FIFO, folder, socket or device.
  check_failed,        ///< A check could not run (the description says why).
};

/// Short label shown in brackets, e.g. "stale status".
const char* to_string(finding_kind k);

/// The label as `doctor --json` spells it, in snake_case: "stale_status".
std::string id_of(finding_kind k);

/// Every kind, in declaration order.
inline constexpr finding_kind all_finding_kinds[] = {
  finding_kind::stale_status,      finding_kind::bad_status,        finding_kind::silent_worker,
  finding_kind::leftover_signal,   finding_kind::leftover_temp,     finding_kind::finished_worktree,
  finding_kind::half_worktree,     finding_kind::prunable_worktree, finding_kind::idle_branch,
  finding_kind::trash_folder,      finding_kind::stale_git_lock,    finding_kind::interrupted_merge,
  finding_kind::orphan_worker,     finding_kind::orphan_process,    finding_kind::coordinator_lock,
  finding_kind::unsafe_file,       finding_kind::check_failed};

/// One problem: what, where, how to fix it, and whether `apply_fix` may do it unattended.
struct finding {
  finding_kind kind = finding_kind::check_failed; ///< Category.
  std::string path;        ///< Path relative to the project root (absolute when outside it).
  std::string description; ///< One line: what is wrong.
  std::string fix;         ///< One sentence: how to fix it.
  bool safe = false;       ///< True when `apply_fix` may do the fix without asking.
  std::string keep_reason; ///< Why the fix is not applied automatically (when not safe).
  std::string mid;         ///< Milestone concerned, when there is one.
  int64_t pid = 0;         ///< Process concerned, when there is one.
  std::string seen;        ///< File content at diagnosis; the fix removes only that content.
  std::string token;       ///< Spawn token of the dead worker (orphan_process only; not shown).
};

/// Outcome of `apply_fix`.
struct fix_result {
  bool fixed = false; ///< The problem is gone.
  std::string text;   ///< What was done ("removed the file") or why it was kept.
};

/// Runs every check on the project at `root`. `milestones` is the plan, or nullptr when it
/// could not be read (worktrees are then judged by their branches only). Never fails as a
/// whole: a check that cannot run becomes a `check_failed` finding.
std::vector<finding> diagnose(const std::string& root, const preferences& prefs,
                              const plan* milestones);

/// Re-checks `f` and applies its fix when it is safe and still needed. The only processes it
/// signals are those of an `orphan_process` finding whose worker is still gone.
fix_result apply_fix(const std::string& root, const finding& f);

} // namespace sf::io
