#include "core/merge_kind.hpp"

#include "core/name_table.hpp"

namespace sf::core {

namespace {

using mk = merge_kind;

// The one name table of the enum (core/name_table.hpp).
constexpr name_table<merge_kind, all_merge_kinds.size()> names = {
    {"merged", "already_merged", "conflict", "dirty_checkout", "locked", "blocked", "failed",
     "interrupted", "waiting", "confirm", "queued", "halted", "would_merge", "would_conflict",
     "pushing", "pushed", "push_failed", "gate_running", "gate_passed", "gate_retry",
     "gate_failed"}};

} // namespace

std::string_view to_string(merge_kind k) {
  return names.name(k);
}

std::optional<merge_kind> parse_merge_kind(std::string_view name) {
  return names.parse(name);
}

bool is_obstacle(merge_kind k) {
  return k == mk::dirty_checkout || k == mk::locked || k == mk::blocked;
}

bool stops_queue(merge_kind k) {
  return k == mk::conflict || k == mk::failed || k == mk::interrupted || is_obstacle(k);
}

bool is_on_main(merge_kind k) {
  return k == mk::merged || k == mk::already_merged;
}

bool is_gate_news(merge_kind k) {
  return k == mk::gate_running || k == mk::gate_passed || k == mk::gate_retry;
}

bool is_push_news(merge_kind k) {
  return k == mk::pushing || k == mk::pushed || k == mk::push_failed;
}

} // namespace sf::core
