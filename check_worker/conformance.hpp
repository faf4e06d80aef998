#pragma once
/// `sf-actors check-worker`: runs a third-party worker program against a throwaway project
/// and checks that it speaks the file protocol (status, heartbeats, pause, resume, stop,
/// SIGTERM, exit codes).

#include <caf/expected.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace sf::worker {

/// How to run the checks.
struct conformance_options {
  std::vector<std::string> argv;            ///< The worker's command line (exec'd, no shell).
  std::vector<std::string> base_env;        ///< "K=V" passed through, as the coordinator does.
  std::chrono::milliseconds interval{1000}; ///< `heartbeat_interval` given to the worker.
  std::chrono::milliseconds timeout{10000}; ///< Longest wait for any expected event; also
                                            ///< the grace period after a stop request.
  std::string log_relay;                    ///< `sf-log-relay`, as the coordinator uses it;
                                            ///< empty: output goes to the log directly.
};

/// Outcome of one check.
enum class check_outcome { pass, fail, skip };

/// Spelling of an outcome: `PASS`, `FAIL`, `SKIP`.
const char* to_string(check_outcome o);

/// One check and what happened.
struct check_result {
  std::string id;                              ///< Stable name, e.g. `heartbeat`.
  std::string title;                           ///< What is checked, for humans.
  check_outcome outcome = check_outcome::skip; ///< Result.
  std::string detail;                          ///< One line: what was seen.
};

/// Every check, in order, and the end of the worker's output.
struct conformance_report {
  std::vector<check_result> checks;  ///< Always the seven checks, in order.
  std::vector<std::string> log_tail; ///< Last lines the worker printed (all runs).
  bool interrupted = false;          ///< The checker was asked to end before finishing.

  /// Number of checks with outcome `o`.
  std::size_t count(check_outcome o) const;

  /// True when no check failed and the run was not interrupted.
  bool passed() const;
};

/// Runs every check; errors only when the sandbox cannot be built (the worker's failures are
/// results, not errors). Blocks SIGINT, SIGTERM and SIGHUP meanwhile, so that an interrupted
/// check still kills the worker and removes the sandbox.
caf::expected<conformance_report> check_worker(const conformance_options& opts);

} // namespace sf::worker
