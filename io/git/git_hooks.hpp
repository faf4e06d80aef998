#pragma once
/// The repository's own git hooks (githooks(5)), run as git runs them around the commits
/// sf-actors makes with libgit2, which runs none: `pre-commit` and `commit-msg` for unit
/// commits (worker/git_commit.hpp), `pre-merge-commit` for merges (io/git/merge_hook.hpp).
/// Not the `hooks:` preference: those are sf-actors' own event commands (actors/hook_runner.hpp).

#include <caf/expected.hpp>

#include <git2.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace sf::io {

/// Whether and how git hooks run (the `git_hooks` preference).
struct git_hook_settings {
  bool enabled = true;                        ///< false: no hook runs (`git_hooks: false`).
  std::chrono::milliseconds timeout{600000};  ///< A hook running longer is ended (git has none).
  std::chrono::milliseconds grace{10000};     ///< Between SIGTERM and SIGKILL.
  int stop_fd = -1; ///< Readable when the caller must stop: a running hook is ended.
  /// Hears git's hint about a hook skipped for want of the executable bit (for the log).
  std::function<void(const std::string&)> on_note;
};

/// One hook to run.
struct git_hook_call {
  std::string name;              ///< "pre-commit", "commit-msg", "pre-merge-commit".
  std::vector<std::string> args; ///< Its arguments (commit-msg: the message file).
  std::string top;               ///< The working tree's top: where it runs, and what a
                                 ///< relative `core.hooksPath` is relative to.
  std::vector<std::string> env;  ///< "K=V" added to our environment (GIT_INDEX_FILE, ...).
};

/// What became of one hook.
struct git_hook_result {
  bool ran = false;    ///< The hook exists, is executable and was started.
  bool ok = true;      ///< It exited 0 (or did not run).
  bool stopped = false; ///< The stop descriptor ended it.
  std::string path;    ///< The hook's file.
  std::string how;     ///< "exited with code 1", "timed out after 600 s (...)".
  std::string output;  ///< The last lines it printed (stdout and stderr).
  /// git's hint when the file exists but is not executable (so it was skipped); empty else.
  std::string hint;

  /// One line for a failed hook: "the pre-commit hook (<path>) exited with code 1: a | b".
  std::string failure(const std::string& name) const;
};

/// Most bytes of a hook's output kept; its last lines go into errors and reports.
constexpr std::size_t git_hook_output_cap = 64 * 1024;

/// Lines of a failed hook's output quoted in its failure.
constexpr std::size_t git_hook_tail_lines = 20;

/// The hooks folder as git finds it: `core.hooksPath` (a relative one taken from `top`), else
/// `hooks` in the repository's common git dir.
caf::expected<std::string> git_hooks_dir(git_repository* repo, const std::string& top);

/// True when the hooks folder has a file (or a link) named `name`, executable or not: the
/// caller prepares what the hook needs (a temporary index) only then.
caf::expected<bool> git_hook_exists(git_repository* repo, const std::string& name,
                                    const std::string& top);

/// Runs hook `call.name` of `repo` when it exists and is executable (a symbolic link to one
/// is followed, as git does), in `call.top`, with our environment (without GIT_DIR and the
/// like) plus `call.env`, stdin from /dev/null, in its own process group under the settings'
/// timeout. A hook that cannot start is a failed one; errors only for an unreadable config.
caf::expected<git_hook_result> run_git_hook(git_repository* repo, const git_hook_call& call,
                                            const git_hook_settings& settings);

} // namespace sf::io
