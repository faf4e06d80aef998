#include "actors/merge_queue.hpp"

#include "core/merge_policy.hpp"
#include "io/files/merge_queue_file.hpp"
#include "io/git/git.hpp"
#include "io/git/integration_branch.hpp"
#include "io/git/merge_step.hpp"
#include "io/git/push.hpp"
#include "io/os/fault_point.hpp"
#include "io/os/fd_reactor.hpp"
#include "messages/error.hpp"

#include <caf/send.hpp>
#include <spdlog/spdlog.h>

#include <signal.h>

#include <algorithm>
#include <optional>

namespace sf {

merge_queue_state::~merge_queue_state() {
  if (cfg.reactor) {
    if (obstacle_watch_id != 0)
      cfg.reactor->unwatch(obstacle_watch_id);
    if (push_reactor_id != 0)
      cfg.reactor->unwatch(push_reactor_id);
  }
  // A push never outlives the run: its whole session goes with the queue.
  if (push && !push->reaped())
    (void) push->signal_group(SIGKILL);
}

namespace {

using self_ptr = merge_queue_actor::stateful_pointer<merge_queue_state>;

// Files behind an obstacle often change in bursts (a rebase rewrites many): one retry after
// the burst settles, not one per file.
constexpr auto obstacle_debounce = std::chrono::milliseconds(100);
// The backstop for changes the watches cannot see (a folder that did not exist yet, an
// overflow): rare retries, doubling up to a minute.
constexpr auto backstop_first = std::chrono::milliseconds(2000);
constexpr auto backstop_max = std::chrono::milliseconds(60000);
// A failed push is tried again this many times, after 5 s, then 30 s.
constexpr int push_retries = 2;

void persist(self_ptr self) {
  auto& st = self->state;
  if (auto err = io::write_merge_queue(st.cfg.root, st.items))
    st.cfg.log->error("merge_queue: {}", describe(err));
}

void sort_items(merge_queue_state& st) {
  core::sort_for_merge(st.items, st.cfg.prefs.order == merge_order::by_completion);
}

io::merge_options options(const merge_queue_state& st, bool dry_run) {
  io::merge_options o;
  o.push_remote = st.cfg.prefs.push_remote;
  o.push_timeout = std::chrono::milliseconds(
    static_cast<int64_t>(st.cfg.prefs.push_timeout * 1000));
  // The queue pushes beside itself (start_push), never inside a merge.
  o.push_inline = false;
  // Its thread must not wait long for another sf-actors merge: past a moment that is an
  // obstacle like a lock, retried by the backstop timer.
  o.turn_patience = std::chrono::milliseconds(2000);
  o.delete_merged_branch = st.cfg.prefs.delete_merged_branches;
  o.dry_run = dry_run;
  // The worktree goes after the coordinator has heard of the merge (see merge_item_now).
  o.cleanup = false;
  return o;
}

void tell(self_ptr self, const merge_outcome& x) {
  self->send(self->state.cfg.coordinator, atom::merged_v, x);
}

bool auto_mode(const merge_queue_state& st) {
  return st.cfg.prefs.auto_merge == auto_merge_mode::automatic;
}

// Stops watching the last obstacle; its pending timers become stale by generation.
void clear_obstacle(self_ptr self) {
  auto& st = self->state;
  if (st.cfg.reactor && st.obstacle_watch_id != 0)
    st.cfg.reactor->unwatch(st.obstacle_watch_id);
  st.obstacle_watch_id = 0;
  st.obstacle_watch.reset();
  ++st.obstacle_gen;
  st.retry_pending = false;
  st.blocked = false;
}

// Watches the folders whose change may end the obstacle `x`, and arms the backstop timer.
void watch_obstacle(self_ptr self, const merge_outcome& x) {
  auto& st = self->state;
  clear_obstacle(self);
  st.blocked = true;
  auto gen = st.obstacle_gen;
  auto handle = caf::actor_cast<merge_queue_actor>(self);
  if (st.cfg.reactor) {
    auto w = io::change_watch::create(x.watch);
    if (!w) {
      st.cfg.log->info("merge_queue: cannot watch what holds the merge ({}); the backstop "
                       "timer retries",
                       describe(w.error()));
    } else if (auto id = st.cfg.reactor->watch_once(w->fd(), [handle, gen] {
                 caf::anon_send(handle, atom::obstacle_v, gen);
               })) {
      st.obstacle_watch.emplace(std::move(*w));
      st.obstacle_watch_id = *id;
    }
  }
  self->delayed_send(self, st.backstop, atom::retry_v, gen);
  st.backstop = std::min(st.backstop * 2, backstop_max);
}

// Merges one queued item and updates the queue; returns the outcome.
merge_outcome merge_item_now(self_ptr self, std::size_t index, bool dry_run) {
  auto& st = self->state;
  auto item = st.items[index];
  auto x = io::merge_one(st.cfg.root, item, options(st, dry_run));
  if (dry_run)
    return x;
  bool repeat = core::is_obstacle(x.kind) && st.obstacle_told == x.milestone + "\n" + x.text;
  if (!repeat)
    st.cfg.log->info("merge_queue: {}{} -> {}{}{}", item.milestone,
                     item.slice.empty() ? "" : "/" + item.slice, core::to_string(x.kind),
                     x.text.empty() ? "" : ": ", x.text);
  if (x.kind == core::merge_kind::merged || x.kind == core::merge_kind::already_merged) {
    st.items.erase(st.items.begin() + static_cast<std::ptrdiff_t>(index));
    if (st.halted_by == item.milestone)
      st.halted_by.clear();
    st.approved.erase(item.milestone);
    st.obstacle_told.clear();
    st.backstop = backstop_first;
    if (st.blocked)
      clear_obstacle(self);
  } else if (x.kind == core::merge_kind::conflict) {
    st.halted_by = item.milestone;
  }
  if (x.kind == core::merge_kind::merged && !st.cfg.prefs.push_remote.empty() && !st.push_announced) {
    // Told before the merge itself, so the run does not end before the push has.
    st.push_announced = true;
    merge_outcome notice;
    notice.milestone = item.milestone;
    notice.kind = core::merge_kind::pushing;
    notice.text = "main will be pushed to '" + st.cfg.prefs.push_remote + "'";
    tell(self, notice);
  }
  // Main has the merge: the coordinator hears of it first, so milestones waiting for this one
  // start now, and the queue saves and removes worktrees once nothing is left to merge
  // (`settle`). A crash before that save repeats nothing: an item whose tip is on main comes
  // back as `already_merged`. An obstacle is told once, not on every retry.
  if (!repeat)
    tell(self, x);
  if (core::is_obstacle(x.kind)) {
    st.obstacle_told = x.milestone + "\n" + x.text;
    return x;
  }
  st.unsaved = true;
  if (x.kind == core::merge_kind::merged || x.kind == core::merge_kind::already_merged)
    st.to_clean.push_back(item);
  if (x.kind == core::merge_kind::merged) {
    st.push_wanted = true;
    st.push_carries.push_back(item.milestone);
  }
  return x;
}

void start_push(self_ptr self);

// After a round of merges: save the queue once, remove the merged worktrees, push.
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
  if (st.push_wanted && !st.push)
    start_push(self);
}

bool may_merge(const merge_queue_state& st, const merge_item& item) {
  return auto_mode(st) || st.approved.count(item.milestone) != 0;
}

// Merges whatever may merge now, in order, until something must wait or fails.
void drain(self_ptr self) {
  auto& st = self->state;
  if (!st.halted_by.empty())
    return;
  sort_items(st);
  for (std::size_t i = 0; i < st.items.size();) {
    const auto& next = st.items[i];
    if (!may_merge(st, next)) {
      ++i;
      continue;
    }
    if (st.cfg.prefs.order == merge_order::sequential) {
      auto why = core::sequential_blocker(next.milestone, st.running);
      if (!why.empty()) {
        if (st.told_waiting.insert(next.milestone + why).second) {
          merge_outcome w;
          w.milestone = next.milestone;
          w.slice = next.slice;
          w.kind = core::merge_kind::waiting;
          w.text = "waits for " + why;
          tell(self, w);
        }
        return;
      }
    }
    auto size_before = st.items.size();
    auto x = merge_item_now(self, i, false);
    if (core::is_obstacle(x.kind)) {
      watch_obstacle(self, x);
      return;
    }
    if (core::stops_queue(x.kind))
      return;
    if (st.items.size() == size_before)
      ++i;
  }
}

merge_report explicit_merge(self_ptr self, const std::string& mid, bool dry_run) {
  auto& st = self->state;
  merge_report report;
  report.queue_retries = true;
  sort_items(st);
  if (!mid.empty() && st.halted_by == mid)
    st.halted_by.clear(); // The user resolved it and asks again.
  if (!dry_run) {
    // Asked for by name or as "all": from now on the queue merges them by itself, also after
    // an obstacle clears.
    for (const auto& it : st.items)
      if (mid.empty() || it.milestone == mid)
        st.approved.insert(it.milestone);
    // A retry the user asks for now replaces the one the watches would make.
    st.obstacle_told.clear();
    if (st.blocked)
      clear_obstacle(self);
  }
  std::string stopped_by;
  for (std::size_t i = 0; i < st.items.size();) {
    const auto& item = st.items[i];
    if (!mid.empty() && item.milestone != mid) {
      ++i;
      continue;
    }
    if (!stopped_by.empty()) {
      // Nothing may merge past a stop; say so for every milestone it holds back.
      merge_outcome w;
      w.milestone = item.milestone;
      w.slice = item.slice;
      w.kind = core::merge_kind::waiting;
      w.text = "waits behind " + stopped_by;
      report.results.push_back(w);
      ++i;
      continue;
    }
    if (mid.empty() && st.cfg.prefs.order == merge_order::sequential) {
      auto why = core::sequential_blocker(item.milestone, st.running);
      if (!why.empty()) {
        merge_outcome w;
        w.milestone = item.milestone;
        w.kind = core::merge_kind::waiting;
        w.text = "waits for " + why;
        report.results.push_back(w);
        ++i;
        continue;
      }
    }
    auto size_before = st.items.size();
    auto x = merge_item_now(self, i, dry_run);
    report.results.push_back(x);
    if (!dry_run && core::stops_queue(x.kind)) {
      // Exit 5 is for conflicts; an obstacle or a failure is 1 (the report says which).
      report.exit_code = x.kind == core::merge_kind::conflict ? 5 : 1;
      stopped_by = x.milestone + " (" + std::string(core::to_string(x.kind)) + ")";
      if (core::is_obstacle(x.kind))
        watch_obstacle(self, x);
    }
    if (st.items.size() == size_before)
      ++i;
  }
  return report;
}

// ---- pushing ------------------------------------------------------------------------------

void start_push(self_ptr self) {
  auto& st = self->state;
  st.push_wanted = false;
  st.push_announced = false;
  if (st.cfg.prefs.push_remote.empty())
    return;
  merge_outcome x;
  if (st.shutting_down) {
    x.milestone = st.push_carries.empty() ? std::string{} : st.push_carries.back();
    x.kind = core::merge_kind::push_failed;
    x.text = "the run ended before main was pushed to '" + st.cfg.prefs.push_remote +
             "'; push it yourself, or the next merge does";
    tell(self, x);
    return;
  }
  x.milestone = st.push_carries.empty() ? std::string{} : st.push_carries.back();
  std::string main;
  if (auto repo = io::open_repo(st.cfg.root)) {
    if (auto name = io::resolve_main_branch(repo->get()))
      main = *name;
    else
      x.text = describe(name.error());
  } else {
    x.text = describe(repo.error());
  }
  io::push_request req{st.cfg.root, st.cfg.prefs.push_remote, main};
  caf::expected<io::child_process> child = caf::error{};
  if (!main.empty())
    child = io::start_push(req);
  if (!main.empty() && !child)
    x.text = describe(child.error());
  if (main.empty() || !child) {
    x.kind = core::merge_kind::push_failed;
    tell(self, x);
    return;
  }
  st.push.emplace(std::move(*child));
  st.pushing_for = std::move(st.push_carries);
  st.push_carries.clear();
  st.push_timed_out = false;
  st.push_stopped = false;
  auto gen = ++st.push_gen;
  auto handle = caf::actor_cast<merge_queue_actor>(self);
  std::optional<uint64_t> watched;
  if (st.cfg.reactor)
    if (auto id = st.cfg.reactor->watch_once(st.push->pidfd(), [handle, gen] {
          caf::anon_send(handle, atom::pushed_v, gen);
        }))
      watched = *id;
  if (watched) {
    st.push_reactor_id = *watched;
  } else {
    // No reactor (deterministic tests), or it cannot watch the pidfd: look every 10 ms.
    self->delayed_send(self, std::chrono::milliseconds(10), atom::pushed_v, gen);
  }
  self->delayed_send(self, std::chrono::milliseconds(static_cast<int64_t>(
                             st.cfg.prefs.push_timeout * 1000)),
                     atom::push_late_v, gen);
  x.kind = core::merge_kind::pushing;
  std::string ids;
  for (const auto& id : st.pushing_for)
    ids += (ids.empty() ? "" : ", ") + id;
  x.text = "pushing " + main + " to '" + st.cfg.prefs.push_remote + "'" +
           (ids.empty() ? "" : " (with " + ids + ")");
  tell(self, x);
}

void on_pushed(self_ptr self, uint64_t gen) {
  auto& st = self->state;
  if (gen != st.push_gen || !st.push)
    return;
  int status = 0;
  if (!st.push->try_reap(status)) {
    // Polling (no reactor, or it could not watch), or a wake-up before the exit: look again.
    self->delayed_send(self, std::chrono::milliseconds(10), atom::pushed_v, gen);
    return;
  }
  st.push_reactor_id = 0;
  st.push.reset();
  std::string main = "main";
  if (auto repo = io::open_repo(st.cfg.root))
    if (auto name = io::resolve_main_branch(repo->get()))
      main = *name;
  io::push_request req{st.cfg.root, st.cfg.prefs.push_remote, main};
  merge_outcome x;
  x.milestone = st.pushing_for.empty() ? std::string{} : st.pushing_for.back();
  caf::error err;
  if (st.push_stopped)
    err = make_error(ec::process_error, "the push of " + main + " to '" + req.remote +
                                          "' was stopped because the run ended; push it "
                                          "yourself (git push " + req.remote + " " + main + ")");
  else if (st.push_timed_out)
    err = make_error(ec::process_error,
                     fmt::format("pushing {} to '{}' did not end within {:g} s (push_timeout) "
                                 "and was stopped; check that the remote answers",
                                 main, req.remote, st.cfg.prefs.push_timeout));
  else
    err = io::push_outcome(req, status);
  x.push_pending = st.push_wanted && !st.shutting_down;
  if (!err) {
    st.push_failures = 0;
    x.kind = core::merge_kind::pushed;
    x.pushed = true;
    x.text = "pushed " + main + " to '" + req.remote + "'";
    st.cfg.log->info("merge_queue: {}", x.text);
    tell(self, x);
  } else {
    ++st.push_failures;
    x.kind = core::merge_kind::push_failed;
    x.push_error = describe(err);
    x.text = x.push_error;
    bool again = !st.shutting_down && st.push_failures <= push_retries;
    if (again)
      x.text += st.push_failures == 1
                  ? "; trying again in 5 s if the run goes on (the next merge pushes too)"
                  : "; trying again in 30 s if the run goes on (the next merge pushes too)";
    st.cfg.log->warn("merge_queue: {}", x.text);
    tell(self, x);
    // What the failed push carried is still to be pushed.
    st.push_carries.insert(st.push_carries.begin(), st.pushing_for.begin(), st.pushing_for.end());
    if (again)
      self->delayed_send(self, std::chrono::seconds(st.push_failures == 1 ? 5 : 30),
                         atom::repush_v, st.push_gen);
  }
  st.pushing_for.clear();
  if (st.push_wanted && !st.shutting_down)
    start_push(self);
}

void end_push(self_ptr self, bool stopped) {
  auto& st = self->state;
  if (!st.push || st.push->reaped())
    return;
  if (stopped)
    st.push_stopped = true;
  else
    st.push_timed_out = true;
  // Verified ours through the pidfd: the push's whole session (git, ssh, helpers) ends.
  (void) st.push->signal_group(SIGKILL);
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
    q.kind = core::merge_kind::queued;
    tell(self, q);
  }
  return {
    [self](atom::enqueue, merge_item& item) {
      auto& st = self->state;
      st.shutting_down = false; // A new completion: the run goes on (an embedder restarted it).
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
        if (!st.blocked)
          drain(self);
        settle(self);
        return;
      }
      merge_outcome w;
      w.milestone = item.milestone;
      w.slice = item.slice;
      if (st.cfg.prefs.auto_merge == auto_merge_mode::confirm && st.cfg.can_confirm) {
        w.kind = core::merge_kind::confirm;
        w.text = "complete; confirm the merge into main";
      } else {
        w.kind = core::merge_kind::waiting;
        w.text = st.cfg.prefs.auto_merge == auto_merge_mode::confirm
                   ? "awaiting your confirmation (auto_merge is confirm): run `sf-actors "
                     "merge " + item.milestone + "` to merge it"
                   : "auto_merge is manual: run `sf-actors merge " + item.milestone + "`";
      }
      tell(self, w);
    },
    [self](atom::running, std::vector<std::string>& ids) {
      self->state.running = std::set<std::string>(ids.begin(), ids.end());
      if (!self->state.blocked)
        drain(self);
      settle(self);
    },
    [self](atom::merge, const std::string& mid, bool dry_run) {
      if (!dry_run)
        self->state.shutting_down = false;
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
        w.kind = self->state.halted_by.empty() ? core::merge_kind::queued : core::merge_kind::halted;
        out.push_back(w);
      }
      return out;
    },
    [self](atom::obstacle, uint64_t gen) {
      auto& st = self->state;
      if (gen != st.obstacle_gen)
        return;
      // Drain what the kernel queued, keep watching, and retry once the burst is over.
      auto handle = caf::actor_cast<merge_queue_actor>(self);
      if (st.obstacle_watch) {
        st.obstacle_watch->drain();
        st.obstacle_watch_id = 0;
        if (auto again = st.cfg.reactor->watch_once(st.obstacle_watch->fd(), [handle, gen] {
              caf::anon_send(handle, atom::obstacle_v, gen);
            }))
          st.obstacle_watch_id = *again;
      }
      if (!st.retry_pending) {
        st.retry_pending = true;
        self->delayed_send(self, obstacle_debounce, atom::retry_v, gen);
      }
    },
    [self](atom::retry, uint64_t gen) {
      auto& st = self->state;
      if (gen != st.obstacle_gen || st.shutting_down)
        return;
      clear_obstacle(self);
      drain(self);
      settle(self);
    },
    [self](atom::pushed, uint64_t gen) { on_pushed(self, gen); },
    [self](atom::push_late, uint64_t gen) {
      if (gen == self->state.push_gen)
        end_push(self, false);
    },
    [self](atom::repush, uint64_t gen) {
      auto& st = self->state;
      if (gen != st.push_gen || st.push || st.shutting_down)
        return;
      st.push_wanted = true;
      start_push(self);
    },
    [self](atom::shutdown) {
      auto& st = self->state;
      st.shutting_down = true;
      clear_obstacle(self);
      if (st.push) {
        end_push(self, true); // Its end is reported when the reactor sees it go.
      } else if (st.push_announced || st.push_wanted) {
        // Announced, never started: the coordinator waits for word on it.
        st.push_announced = false;
        st.push_wanted = false;
        merge_outcome x;
        x.milestone = st.push_carries.empty() ? std::string{} : st.push_carries.back();
        x.kind = core::merge_kind::push_failed;
        x.text = "the run ended before main was pushed to '" + st.cfg.prefs.push_remote +
                 "'; push it yourself, or the next merge does";
        tell(self, x);
      }
    },
  };
}

} // namespace sf
