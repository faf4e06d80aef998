#pragma once
/// Which files under `.sf/` are sf-actors' runtime files, and the check that each one present
/// is a regular file: a link, FIFO, folder, socket or device planted under such a name is
/// reported (and the commands refuse to work through it) instead of followed or blocked on.

#include <caf/error.hpp>

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

namespace sf::io {

/// True for a name in `.sf/parallel` that sf-actors opens: `coordinator.lock`, `.log`, `.out`,
/// `events.jsonl`, `run.json`, `workers.json`, `ledger.json`, `merge-queue.json`, `push.log`,
/// `hooks.log` (and `.1`), and per
/// milestone `<MID>.log`, `<MID>.log.1`, `<MID>.status.json`, `<MID>.signal.json`,
/// `<MID>.prompt.md`. Temp names
/// (containing ".tmp") are not runtime files: their writers create them with O_EXCL.
bool is_runtime_name(std::string_view name);

/// True for a name in `.sf/parallel/control`: `<id>.request.json` or `<id>.response.json`.
bool is_control_name(std::string_view name);

/// A runtime file (or runtime folder) that is there but is not what sf-actors would create.
struct unsafe_file {
  std::string path; ///< Absolute path.
  mode_t mode = 0;  ///< Its type bits from lstat (a link, FIFO, folder, socket or device).
  caf::error error; ///< `not_regular_error` (or the folder check's error): one line with the fix.
};

/// Every runtime file of the project at `root` that exists but is not a regular file, in path
/// order. Looks at `.sf/parallel` and its `control/` folder (reported themselves when they are
/// links), `.sf/worktrees/.lock`, each worktree's `.sf/auto.lock` and the merge's checkout
/// journal in `.git`. Opens no file: it only reads folder entries and lstat results.
std::vector<unsafe_file> unsafe_runtime_files(const std::string& root);

/// The error of the first of `unsafe_runtime_files(root)`, or no error.
caf::error first_unsafe_runtime_file(const std::string& root);

} // namespace sf::io
