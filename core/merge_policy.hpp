#pragma once
/// merge_policy: the merge queue's rules, shared by the merge_queue actor and `sf-actors merge`
/// without a coordinator: the order items merge in, and what holds an item back under
/// `merge_order: sequential`. What stops the queue after an outcome is core::stops_queue.

#include <algorithm>
#include <set>
#include <string>
#include <vector>

namespace sf::core {

/// Puts queue items (anything with `milestone` and `sequence`) in merge order: by completion
/// (`sequence`), or by milestone id with a milestone's slices in their completion order.
template <class Item>
void sort_for_merge(std::vector<Item>& items, bool by_completion) {
  std::stable_sort(items.begin(), items.end(), [by_completion](const Item& a, const Item& b) {
    if (!by_completion && a.milestone != b.milestone)
      return a.milestone < b.milestone;
    return a.sequence < b.sequence;
  });
}

/// Under sequential order, why `milestone` may not merge yet: the first lower id still
/// running (empty when none is).
std::string sequential_blocker(const std::string& milestone, const std::set<std::string>& running);

} // namespace sf::core
