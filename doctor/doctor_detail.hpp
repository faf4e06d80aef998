#pragma once
/// Internals shared by the doctor's source files (not a public interface).

#include "doctor/doctor.hpp"
#include "io/os/proc_scan.hpp"
#include "messages/types.hpp"

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace sf::io::detail {

/// What every check needs to know about the project, gathered once.
struct doctor_context {
  std::string root;                    ///< Canonical project root.
  const preferences* prefs = nullptr;  ///< Preferences (stale timeout).
  const plan* milestones = nullptr;    ///< The plan, or nullptr when unknown.
  std::vector<project_process> procs;  ///< Live processes of this project.
  bool coordinator_running = false;    ///< Some process holds the coordinator lock.
  int64_t coordinator_pid = 0;         ///< Pid the held lock records.
  int64_t now = 0;                     ///< ms since the Unix epoch.
  /// Spawn tokens of workers in `workers.json` that are gone, with their entry: what still
  /// carries one of them is an orphan of a dead worker, never a live worker.
  std::map<std::string, worker_identity> dead_tokens;
  /// Spawn tokens of workers in `workers.json` that are alive and verified, with their pid.
  std::map<std::string, int64_t> live_tokens;

  /// A live process of this project working on `mid` (not an orphan of a dead worker), or
  /// nullptr.
  const project_process* live_worker(const std::string& mid) const;
};

/// Age (ms) a leftover must reach before doctor assumes nothing is still writing it.
constexpr int64_t temp_age_ms = 60'000;

/// Age (ms) a git lock must reach before doctor assumes no git command is still running.
constexpr int64_t git_lock_age_ms = 10'000;

/// Canonical root and the processes, lock and clock every check uses.
doctor_context make_context(const std::string& root, const preferences& prefs,
                            const plan* milestones);

/// `path` relative to `root` when it lies inside it, else unchanged.
std::string relative_to(const std::string& root, const std::string& path);

/// Modification time of `path` in ms since the Unix epoch (not following links); -1 if absent.
int64_t mtime_ms(const std::string& path);

/// Checks worktree folders, worktree admin entries and `.trash-*` folders.
void check_worktrees(const doctor_context& ctx, std::vector<finding>& out);

/// Checks git `*.lock` files of the repository at the project root.
void check_git_locks(const doctor_context& ctx, std::vector<finding>& out);

/// Applies the fix of a worktree, admin entry, trash folder or git lock finding.
fix_result fix_git_finding(const doctor_context& ctx, const finding& f);

} // namespace sf::io::detail
