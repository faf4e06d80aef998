#pragma once
/// merge_kind: what one merge attempt (or the queue, about an item) reports, with its one name
/// table and the rules every caller shares: which kinds are obstacles, which stop the queue.

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace sf::core {

/// The kind of a merge outcome. The first seven are what a merge itself can end in.
enum class merge_kind : uint8_t {
  merged,         ///< Main now points at a new merge commit (or would, on a dry run's check).
  already_merged, ///< The tip is already part of main; nothing changed.
  conflict,       ///< Code conflicts; main unchanged; the files are listed.
  dirty_checkout, ///< Changes of the user in the checkout of main are in the way.
  locked,         ///< A lock of git's is held (the checkout's index.lock, main's ref lock).
  blocked,        ///< A git operation (rebase, merge, ...) is in progress on main.
  failed,         ///< Main kept moving under us, or the merge could not be made.
  interrupted,    ///< The merging command was interrupted before this item.
  waiting,        ///< The queue holds the item: an order rule or an obstacle.
  confirm,        ///< `auto_merge: confirm`: the item waits for the user's yes.
  queued,         ///< Left in the queue by an earlier coordinator; merged in turn.
  halted,         ///< In the queue, which stopped at an earlier item.
  would_merge,    ///< Dry run: it would merge cleanly.
  would_conflict, ///< Dry run: it would conflict with another milestone.
  pushing,        ///< The queue pushes main to the remote.
  pushed,         ///< The push succeeded.
  push_failed,    ///< The push failed; the local merge stays.
  gate_running,   ///< The merge gate tests the item's merge (alone or in a batch).
  gate_passed,    ///< The gate passed; main moves to the tested merge next.
  gate_retry,     ///< The gate failed once; it runs again (flaky tests), or on a smaller batch.
  gate_failed,    ///< The gate failed on the item's merge: main unchanged, the branch kept.
};

/// Every kind, in declaration order.
inline constexpr std::array<merge_kind, 21> all_merge_kinds = {
    merge_kind::merged,         merge_kind::already_merged, merge_kind::conflict,
    merge_kind::dirty_checkout, merge_kind::locked,         merge_kind::blocked,
    merge_kind::failed,         merge_kind::interrupted,    merge_kind::waiting,
    merge_kind::confirm,        merge_kind::queued,         merge_kind::halted,
    merge_kind::would_merge,    merge_kind::would_conflict, merge_kind::pushing,
    merge_kind::pushed,         merge_kind::push_failed,    merge_kind::gate_running,
    merge_kind::gate_passed,    merge_kind::gate_retry,     merge_kind::gate_failed};

/// The kind's name in `merge --json`, events and logs.
std::string_view to_string(merge_kind k);

/// The kind named `name`, if any.
std::optional<merge_kind> parse_merge_kind(std::string_view name);

/// A change of the user's or of git's state holds main back; the merge retries once it ends.
bool is_obstacle(merge_kind k);

/// The queue stops at this item: nothing after it merges until it is dealt with.
bool stops_queue(merge_kind k);

/// The branch is on main after this outcome.
bool is_on_main(merge_kind k);

/// News from the merge gate (running, passed, retry), not an end of the item.
bool is_gate_news(merge_kind k);

/// News about a push rather than about a merge.
bool is_push_news(merge_kind k);

} // namespace sf::core
