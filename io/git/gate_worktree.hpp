#pragma once
/// The merge gate's worktree `.sf/worktrees/_gate`: one long-lived, detached checkout in which the gate
/// command tests each merge before main moves. It is reused from one gate run to the next, so
/// ignored files (dependencies, build outputs) stay warm; only tracked and untracked files are
/// brought to the commit under test.

#include <caf/error.hpp>

#include <chrono>
#include <string>

namespace sf::io {

/// The ref that keeps the commit under test alive (it is on no branch until main moves).
inline constexpr const char* gate_ref = "refs/sf/gate";

/// Points `gate_ref` at `commit` (hex) and checks it out, detached, in `<root>/.sf/worktrees/_gate`:
/// tracked files are reset to it and untracked ones removed, ignored ones stay. A missing or
/// broken worktree is made again (a broken folder is moved aside to `.sf/worktrees/_gate.broken-<ms>`,
/// never deleted); a link in its place is refused. `stop_fd` (when >= 0) ends git's work.
caf::error prepare_gate_worktree(const std::string& root, const std::string& commit,
                                 std::chrono::milliseconds timeout, int stop_fd = -1);

} // namespace sf::io
