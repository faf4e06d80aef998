#include "actors/merge_queue.hpp"

#include "io/fault_point.hpp"
#include "io/merge_queue_file.hpp"
#include "io/merge_step.hpp"
#include "messages/error.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace sf {

std::string sequential_blocker(const merge_item& item, const std::set<std::string>& running) {
  // Ids sort in merge order: any lower id still running must merge first.
  for (const auto& id : running)
    if (id < item.milestone)
      return id + ", which has a lower id and is still running (merge_order: sequential)";
  return {};
}

namespace {

using self_ptr = merge_queue_actor::stateful_pointer<merge_queue_state>;

void persist(self_ptr self) {
  auto& st = self->state;
  if (auto err = io::write_merge_queue(st.cfg.root, st.items))
    st.cfg.log->error("merge_queue: {}", describe(err));
}

// Queue order: by id (slices in their order) or by completion.
void sort_items(merge_queue_state& st) {
  auto by_completion = st.cfg.prefs.order == merge_order::by_completion;
  std::stable_sort(st.items.begin(), st.items.end(), [by_completion](const auto& a, const auto& b) {
    if (by_completion)
      return a.sequence < b.sequence;
    if (a.milestone != b.milestone)
      return a.milestone < b.milestone;
    return a.sequence < b.sequence;
  });
}

io::merge_options options(const merge_queue_state& st, bool dry_run) {
  io::merge_options o;
  o.push_remote = st.cfg.prefs.push_remote;
  o.delete_merged_branch = st.cfg.prefs.delete_merged_branches;
  o.dry_run = dry_run;
  // The worktree goes after the coordinator has heard of the merge (see merge_item_now).
  o.cleanup = false;
  return o;
}

bool stops_queue(const merge_outcome& x) {
  return x.kind == "conflict" || x.kind == "dirty_checkout" || x.kind == "locked" ||
         x.kind == "failed";
}

void tell(self_ptr self, const merge_outcome& x) {
  self->send(self->state.cfg.coordinator, atom::merged_v, x);
}

// Merges one queued item and updates the queue; returns the outcome.
merge_outcome merge_item_now(self_ptr self, std::size_t index, bool dry_run) {
  auto& st = self->state;
  auto item = st.items[index];
  auto x = io::merge_one(st.cfg.root, item, options(st, dry_run));
  st.cfg.log->info("merge_queue: {}{} -> {}{}{}", item.milestone,
                   item.slice.empty() ? "" : "/" + item.slice, x.kind, x.text.empty() ? "" : ": ",
                   x.text);
  if (dry_run)
    return x;
  if (x.kind == "merged" || x.kind == "already_merged") {
    st.items.erase(st.items.begin() + static_cast<std::ptrdiff_t>(index));
    if (st.halted_by == item.milestone)
      st.halted_by.clear();
  } else if (x.kind == "conflict") {
    st.halted_by = item.milestone;
  }
  // Main has the merge: the coordinator hears of it first, so milestones waiting for this one
  // start now, and the queue saves and removes worktrees once nothing is left to merge
  // (`settle`). A crash before that save repeats nothing: an item whose tip is on main comes
  // back as `already_merged`.
  tell(self, x);
  st.unsaved = true;
  if (x.kind == "merged" || x.kind == "already_merged")
    st.to_clean.push_back(item);
  return x;
}

// After a round of merges: save the queue once, then remove the merged worktrees.
void settle(self_ptr self) {
  auto& st = self->state;
  if (st.unsaved) {
    io::fault_point("merge.before_queue_save");
    persist(self);
    st.unsaved = false;
  }
  auto done = std::move(st.to_clean);
  st.to_clean.clear();
  for (const auto& item : done) {
    auto notes = io::cleanup_merged(st.cfg.root, item, options(st, false));
    if (!notes.empty())
      st.cfg.log->warn("merge_queue: {}: {}", item.milestone, notes);
  }
}

bool auto_mode(const merge_queue_state& st) {
  return st.cfg.prefs.auto_merge == auto_merge_mode::automatic;
}

// Merges whatever may merge now, in order, until something must wait or fails.
void drain(self_ptr self) {
  auto& st = self->state;
  if (!auto_mode(st) || !st.halted_by.empty())
    return;
  sort_items(st);
  while (!st.items.empty()) {
    const auto& next = st.items.front();
    if (st.cfg.prefs.order == merge_order::sequential) {
      auto why = sequential_blocker(next, st.running);
      if (!why.empty()) {
        if (st.told_waiting.insert(next.milestone + why).second) {
          merge_outcome w;
          w.milestone = next.milestone;
          w.slice = next.slice;
          w.kind = "waiting";
          w.text = "waits for " + why;
          tell(self, w);
        }
        return;
      }
    }
    auto x = merge_item_now(self, 0, false);
    if (stops_queue(x))
      return;
  }
}

merge_report explicit_merge(self_ptr self, const std::string& mid, bool dry_run) {
  auto& st = self->state;
  merge_report report;
  sort_items(st);
  if (!mid.empty() && st.halted_by == mid)
    st.halted_by.clear(); // The user resolved it and asks again.
  for (std::size_t i = 0; i < st.items.size();) {
    if (!mid.empty() && st.items[i].milestone != mid) {
      ++i;
      continue;
    }
    if (mid.empty() && st.cfg.prefs.order == merge_order::sequential) {
      auto why = sequential_blocker(st.items[i], st.running);
      if (!why.empty()) {
        merge_outcome w;
        w.milestone = st.items[i].milestone;
        w.kind = "waiting";
        w.text = "waits for " + why;
        report.results.push_back(w);
        ++i;
        continue;
      }
    }
    auto size_before = st.items.size();
    auto x = merge_item_now(self, i, dry_run);
    report.results.push_back(x);
    if (!dry_run && stops_queue(x)) {
      report.exit_code = x.kind == "conflict" ? 5 : 1;
      break;
    }
    if (st.items.size() == size_before)
      ++i;
  }
  return report;
}

} // namespace

merge_queue_actor::behavior_type
merge_queue(merge_queue_actor::stateful_pointer<merge_queue_state> self, merge_queue_config cfg) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  // A queue left by an earlier coordinator is finished, not forgotten: merges are exactly-once
  // because a tip already on main is skipped.
  if (auto loaded = io::read_merge_queue(st.cfg.root)) {
    st.items = std::move(*loaded);
    for (const auto& it : st.items)
      st.next_sequence = std::max(st.next_sequence, it.sequence + 1);
  } else if (code_of(loaded.error()) != ec::not_found) {
    st.cfg.log->warn("merge_queue: {}", describe(loaded.error()));
  }
  for (const auto& it : st.items) {
    merge_outcome q;
    q.milestone = it.milestone;
    q.slice = it.slice;
    q.kind = "queued";
    tell(self, q);
  }
  return {
    [self](atom::enqueue, merge_item& item) {
      auto& st = self->state;
      item.sequence = st.next_sequence++;
      // A newer completion of the same milestone (or slice) replaces the older entry.
      st.items.erase(std::remove_if(st.items.begin(), st.items.end(),
                                    [&](const merge_item& x) {
                                      return x.milestone == item.milestone &&
                                             x.slice == item.slice;
                                    }),
                     st.items.end());
      st.items.push_back(item);
      persist(self);
      if (auto_mode(st)) {
        drain(self);
        settle(self);
        return;
      }
      merge_outcome w;
      w.milestone = item.milestone;
      w.slice = item.slice;
      if (st.cfg.prefs.auto_merge == auto_merge_mode::confirm && st.cfg.can_confirm) {
        w.kind = "confirm";
        w.text = "complete; confirm the merge into main";
      } else {
        w.kind = "waiting";
        w.text = st.cfg.prefs.auto_merge == auto_merge_mode::confirm
                   ? "auto_merge is confirm but no terminal can answer, so it waits as with "
                     "manual: run `sf-actors merge " + item.milestone + "`"
                   : "auto_merge is manual: run `sf-actors merge " + item.milestone + "`";
      }
      tell(self, w);
    },
    [self](atom::running, std::vector<std::string>& ids) {
      self->state.running = std::set<std::string>(ids.begin(), ids.end());
      drain(self);
      settle(self);
    },
    [self](atom::merge, const std::string& mid, bool dry_run) {
      auto report = explicit_merge(self, mid, dry_run);
      settle(self);
      return report;
    },
    [self](atom::status) {
      std::vector<merge_outcome> out;
      for (const auto& it : self->state.items) {
        merge_outcome w;
        w.milestone = it.milestone;
        w.slice = it.slice;
        w.kind = self->state.halted_by.empty() ? "queued" : "halted";
        out.push_back(w);
      }
      return out;
    },
  };
}

} // namespace sf
