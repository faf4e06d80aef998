#pragma once
/// Running the git command line for the steps where git itself must act on a user's checkout
/// (moving its files from one tree to another with git's own filters, sparse rules and safety
/// checks), with its output captured and a deadline.

#include <caf/expected.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace sf::io {

/// How a git command ended.
struct git_cli_result {
  int exit_code = -1;  ///< Its exit code; -1 when it was killed at the deadline.
  std::string output;  ///< stdout and stderr together, at most its last 64 KiB.
};

/// This process's environment without GIT_DIR, GIT_WORK_TREE, GIT_INDEX_FILE, GIT_COMMON_DIR and
/// GIT_OBJECT_DIRECTORY, so git (or a git hook) finds the repository of the folder it runs in.
std::vector<std::string> environment_without_git_vars();

/// Runs `git <args>` in `dir` with this process's environment (any GIT_DIR, GIT_WORK_TREE or
/// GIT_INDEX_FILE of ours removed) plus `env` ("K=V" entries), stdin from /dev/null, in a
/// process group of its own that is killed if it runs past `timeout` (exit_code -1) or once
/// `stop_fd` (when >= 0) is readable (exit_code -2); the last 64 KiB of its output are kept.
/// Errors only when git cannot be started.
caf::expected<git_cli_result> run_git(const std::string& dir, const std::vector<std::string>& args,
                                      const std::vector<std::string>& env,
                                      std::chrono::milliseconds timeout, int stop_fd = -1);

/// One line for a git command that did not succeed: git's refusal, or that it timed out or was
/// stopped.
std::string git_failure(const git_cli_result& r, const std::string& what);

/// The lines of `output` that say what git refused ("error: ...", "fatal: ..." and the
/// indented file names that follow them), joined by "; ".
std::string git_refusal(const std::string& output);

} // namespace sf::io
