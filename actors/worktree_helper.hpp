#pragma once
/// A one-shot actor on a thread of its own that makes (or finds) one milestone's worktree.

#include "io/git/worktree_setup.hpp"
#include "messages/interfaces.hpp"

#include <chrono>
#include <atomic>
#include <functional>
#include <memory>
#include <string>

namespace sf {

/// How long a requester waits for a `worktree_helper`'s answer: a checkout of a very large
/// tree on a slow disk, plus the durable registry write, stays well below it.
constexpr auto worktree_helper_timeout = std::chrono::minutes(10);

/// How long to wait for a helper that also runs `setup`: the checkout, plus the setup's
/// timeout and grace.
std::chrono::milliseconds worktree_helper_wait(const io::worktree_setup& setup);

/// Answers one `make_worktree` with the path of the worktree of `milestone` under `root` (created or
/// reused by `io::ensure_worktree`), after running `setup` there unless it ran there before, and
/// `before_spawn` if given, then ends. A failed setup is the answer (an error naming it). Creating
/// a worktree checks out the whole tree (seconds for a large repository), so spawn it detached:
/// the scheduler's threads must not wait for it. Supervisors use it right before they start a
/// worker; the coordinator, ahead of time, for a milestone that only waits for a slot.
/// Setting `cancel` (may be null) stops a checkout in progress: the half-made worktree is undone
/// and the answer is an `ec::unavailable` error, so a stop never waits for a large checkout.
worktree_helper_actor::behavior_type worktree_helper(worktree_helper_actor::pointer self,
                                                     std::string root, std::string milestone,
                                                     io::worktree_setup setup,
                                                     std::function<void()> before_spawn,
                                                     std::shared_ptr<std::atomic<bool>> cancel);

} // namespace sf
