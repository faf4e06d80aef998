#pragma once
/// The invariants every chaos scenario must keep, checked from the files, the repository and
/// /proc after the run, whatever the faults were.

#include "chaos/scenario.hpp"

#include <sys/types.h>

#include <map>
#include <set>
#include <string>
#include <vector>

namespace sf::chaos {

/// One row of the results table.
struct check_result {
  std::string name;        ///< Invariant (or "outcome: ...").
  enum verdict_type { pass, fail, not_applicable } verdict = pass; ///< Result.
  std::string detail;      ///< Why, in one line.
};

/// The invariants' names, in table order.
const std::vector<std::string>& invariant_names();

/// What the harness saw during the run, for the checks.
struct run_record {
  std::string root;                        ///< Project root.
  std::string workdir;                     ///< Harness folder (journal, logs, victim).
  std::set<std::string> harness_commits;   ///< Commits the harness made on main (the plan).
  std::set<std::string> user_commits;      ///< Commits made as "the user" on main.
  std::set<std::string> user_files;        ///< Files the user left with uncommitted edits.
  std::map<std::string, std::string> user_staged; ///< Files the user staged -> staged blob id.
  std::set<std::string> user_kept;         ///< The user's commits that must stay reachable.
  std::vector<std::string> user_lost;      ///< User work found lost during the run (why).
  std::string main_branch = "main";        ///< The integration branch of the repository.
  pid_t bystander = -1;                    ///< The process outside the run.
  std::string bystander_log;               ///< Signals it received.
  bool clean_stop = false;                 ///< The last coordinator exited by itself.
  int last_exit = -1;                      ///< Its exit code (128+signal when killed).
  std::vector<std::string> logs;           ///< Coordinator and CLI logs, for messages.
  std::string victim;                      ///< File a planted symlink points at ("" = none).
  std::string victim_text;                 ///< Its content before the run.
  bool timed_out = false;                  ///< The scenario hit its timeout.
  std::map<std::string, int64_t> worker_peak_kib; ///< Peak RSS seen per milestone's worker.
};

/// Where the fake agent of `mid` logs its runs (one JSON line each) in the scenario's folder.
std::string agent_runs_file(const std::string& workdir, const std::string& mid);

/// Every invariant, then the scenario's expected outcome.
std::vector<check_result> check_all(const scenario& s, const run_record& r);

/// Pids of live processes that belong to the run in `root` (their environment names it).
std::vector<pid_t> run_processes(const std::string& root);

/// Everything the run logged: coordinator/CLI logs, events.jsonl and worker logs.
std::string all_logs(const run_record& r);

} // namespace sf::chaos
