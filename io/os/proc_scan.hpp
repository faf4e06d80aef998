#pragma once
/// Finding processes through /proc: workers of a project by their environment, git processes by
/// their working folder, and checking that a pid read from a file really is a project's worker.

#include "io/os/process.hpp"

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace sf::io {

/// A live process whose environment names a project root.
struct project_process {
  int64_t pid = 0;              ///< Process id.
  int64_t ppid = 0;             ///< Parent process id.
  std::string mid;              ///< `SF_MILESTONE_LOCK`, empty when unset.
  std::string spawn_token;      ///< `SF_SPAWN_TOKEN`, empty when unset.
  bool parallel_worker = false; ///< `SF_PARALLEL_WORKER=1`.
};

/// Live (non-zombie) processes, other than this one, whose `SF_PROJECT_ROOT` names `root`.
/// Processes whose environment cannot be read (other users, still starting) are skipped.
std::vector<project_process> find_project_processes(const std::string& root);

/// SIGKILLs every live process that carries `token` as its `SF_SPAWN_TOKEN` for `root`: a
/// worker's whole tree, also what left its process group (units in their own group, setsid
/// daemons). Each is re-checked through a pidfd before the signal, so a reused pid is never
/// hit; scans repeat until one finds nothing new (a process forking as it dies). A killed
/// process that is our own child is reaped. Returns how many were killed.
int kill_token_holders(const std::string& root, const std::string& token);

/// SIGKILLs the process `id` describes (pid, start time, boot), checked through a pidfd, and
/// reaps it when it is our child: for a worker whose environment may not be readable yet
/// (right after its exec), so a token scan would miss it. True when it was killed.
bool kill_identified(const process_identity& id);

/// The same for several spawn tokens at once, in one scan per round.
int kill_token_holders(const std::string& root, const std::set<std::string>& tokens);

/// Pids of live processes that may write git files under `dir`: `git`, `git-*` and `sf-actors`
/// (which uses libgit2), whose working folder is `dir` or below it; this process excluded.
std::vector<int64_t> find_git_writers(const std::string& dir);

/// How far a pid from a status file could be confirmed as the worker that wrote it.
enum class worker_verdict { verified, dead, zombie, unverified };

/// Verdict and, unless verified, a short reason ("pid 42 is not running").
struct worker_check {
  worker_verdict verdict = worker_verdict::unverified; ///< Outcome.
  std::string reason;                                   ///< Why it is not verified.
};

/// Checks that `pid` is alive and started with `SF_PROJECT_ROOT=<root>`, `SF_MILESTONE_LOCK=<mid>`
/// and, when `token` is given, `SF_SPAWN_TOKEN=<token>`.
worker_check verify_worker(const std::string& root, const std::string& mid, int64_t pid,
                           const std::optional<std::string>& token);

/// True when both paths name the same folder (after resolving links where they exist).
bool same_folder(const std::string& a, const std::string& b);

/// True when `path` is `dir` or lies below it (lexically, after normalizing both).
bool path_within(const std::string& path, const std::string& dir);

} // namespace sf::io
