#include "actors/merge_queue.hpp"

#include "core/merge_policy.hpp"
#include "core/utc_time.hpp"
#include "io/files/status_file.hpp"
#include "io/files/gate_failure_report.hpp"
#include "io/files/gate_record.hpp"
#include "io/files/merge_queue_file.hpp"
#include "io/git/git.hpp"
#include "io/git/integration_branch.hpp"
#include "io/git/merge.hpp"
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
    if (gate && gate->reactor_id != 0)
      cfg.reactor->unwatch(gate->reactor_id);
  }
  // A gate command never outlives the queue either (gate_run's destructor ends its group).
  gate.reset();
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
  o.git_hooks = io::merge_git_hooks(st.cfg.prefs);
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

// Everything queued behind the conflict that halted the queue says so, once (status, events,
// the report), instead of looking merely queued. `halted`, not `waiting`: nothing merges until
// the person acts, so the run need not wait for it (the queue file keeps it).
void tell_halted(self_ptr self) {
  auto& st = self->state;
  for (const auto& other : st.items) {
    if (other.milestone == st.halted_by)
      continue;
    merge_outcome w;
    w.milestone = other.milestone;
    w.slice = other.slice;
    w.kind = core::merge_kind::halted;
    w.text = "waits behind " + st.halted_by + " (conflict): resolve it and run `sf-actors merge " +
             st.halted_by + "`";
    if (st.told_waiting.insert(other.milestone + "/" + other.slice + w.text).second)
      tell(self, w);
  }
}

// Takes in the outcome `x` of queued item `index` (a merge made or predicted, or what the
// gate made of it): tells the coordinator, and for a merge removes the item and queues its
// clean-up and push. Returns `x`.
merge_outcome apply_outcome(self_ptr self, std::size_t index, merge_outcome x, bool dry_run) {
  auto& st = self->state;
  auto item = st.items[index];
  if (st.capture != nullptr)
    st.capture->push_back(x);
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
  if (x.kind == core::merge_kind::conflict) {
    // Told after the conflict itself: everything queued behind it waits for its resolution.
    tell(self, x);
    tell_halted(self);
    st.unsaved = true;
    return x;
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

// Merges one queued item (without the gate) and updates the queue; returns the outcome.
merge_outcome merge_item_now(self_ptr self, std::size_t index, bool dry_run) {
  auto& st = self->state;
  auto x = io::merge_one(st.cfg.root, st.items[index], options(st, dry_run));
  return apply_outcome(self, index, std::move(x), dry_run);
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

// ---- the merge gate ------------------------------------------------------------------------

bool gate_on(const merge_queue_state& st) {
  return !st.cfg.prefs.merge_gate.empty();
}

// The gate's name for a queued item: its milestone, or milestone/slice.
std::string item_key(const merge_item& it) {
  return it.slice.empty() ? it.milestone : it.milestone + "/" + it.slice;
}

std::optional<std::size_t> index_of(const merge_queue_state& st, const std::string& key) {
  for (std::size_t i = 0; i < st.items.size(); ++i)
    if (item_key(st.items[i]) == key)
      return i;
  return std::nullopt;
}

std::string joined_keys(const std::vector<merge_item>& batch) {
  std::string out;
  for (const auto& it : batch)
    out += (out.empty() ? "" : ", ") + item_key(it);
  return out;
}

// The same news about the gate for every item of a batch.
void tell_batch(self_ptr self, const std::vector<merge_item>& batch, core::merge_kind k,
                const std::string& text) {
  for (const auto& it : batch) {
    merge_outcome x;
    x.milestone = it.milestone;
    x.slice = it.slice;
    x.kind = k;
    x.text = text;
    if (self->state.capture != nullptr)
      self->state.capture->push_back(x);
    tell(self, x);
  }
}

std::string seconds_text(std::chrono::milliseconds ms) {
  return fmt::format("{:.1f} s", static_cast<double>(ms.count()) / 1000.0);
}

// Indices of the items the gate may test now, in merge order; in sequential order the first
// one that must wait for a running milestone ends the list (told once, as without a gate).
// Under `sequential` order: true when `next` waits for a running milestone of a lower id (the
// user is told once per reason).
bool waits_its_turn(self_ptr self, const merge_item& next) {
  auto& st = self->state;
  if (st.cfg.prefs.order != merge_order::sequential)
    return false;
  auto why = core::sequential_blocker(next.milestone, st.running);
  if (why.empty())
    return false;
  if (st.told_waiting.insert(next.milestone + why).second) {
    merge_outcome w;
    w.milestone = next.milestone;
    w.slice = next.slice;
    w.kind = core::merge_kind::waiting;
    w.text = "waits for " + why;
    tell(self, w);
  }
  return true;
}

std::vector<std::size_t> gate_candidates(self_ptr self) {
  auto& st = self->state;
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < st.items.size(); ++i) {
    const auto& next = st.items[i];
    if (!may_merge(st, next) || st.gate_held.count(item_key(next)) != 0)
      continue;
    if (waits_its_turn(self, next))
      break;
    out.push_back(i);
  }
  return out;
}

void watch_gate(self_ptr self, uint64_t gen) {
  auto& st = self->state;
  auto handle = caf::actor_cast<merge_queue_actor>(self);
  if (st.cfg.reactor)
    if (auto id = st.cfg.reactor->watch_once(st.gate->run->pidfd(), [handle, gen] {
          caf::anon_send(handle, atom::gate_done_v, gen);
        })) {
      st.gate->reactor_id = *id;
      return;
    }
  // No reactor (deterministic tests), or it cannot watch the pidfd: look every 10 ms.
  self->delayed_send(self, std::chrono::milliseconds(10), atom::gate_done_v, gen);
}

// Starts the gate command on `chain.tip`, the merge of `batch` on main.
void start_gate(self_ptr self, std::vector<merge_item> batch, io::composed_merge chain) {
  auto& st = self->state;
  io::gate_request req;
  req.root = st.cfg.root;
  req.command = st.cfg.prefs.merge_gate;
  req.commit = chain.tip;
  req.base = chain.base;
  for (const auto& it : batch)
    req.milestones.push_back(item_key(it));
  req.base_env = st.cfg.gate_env;
  req.relay = st.cfg.log_relay;
  req.timeout = std::chrono::milliseconds(static_cast<int64_t>(st.cfg.prefs.merge_gate_timeout * 1000));
  req.grace = std::chrono::milliseconds(static_cast<int64_t>(st.cfg.prefs.stop_grace * 1000));
  io::fault_point("gate.before_start");
  auto run = io::gate_run::start(req);
  if (!run) {
    // Nothing was tested: the queue stops at the first item until the cause is fixed.
    merge_outcome x;
    x.milestone = batch.front().milestone;
    x.slice = batch.front().slice;
    x.kind = core::merge_kind::failed;
    x.text = describe(run.error());
    if (auto i = index_of(st, item_key(batch.front())))
      apply_outcome(self, *i, std::move(x), false);
    return;
  }
  auto gen = ++st.gate_gen;
  st.gate.emplace();
  st.gate->batch = std::move(batch);
  st.gate->chain = std::move(chain);
  st.gate->run.emplace(std::move(*run));
  watch_gate(self, gen);
  self->delayed_send(self, req.timeout, atom::gate_late_v, gen);
  const auto& b = st.gate->batch;
  tell_batch(self, b, core::merge_kind::gate_running,
             "merge gate `" + req.command + "` runs on " +
               (b.size() == 1 ? "its merge" : "the merge of " + joined_keys(b)) + " (" +
               st.gate->chain.tip.substr(0, 12) + " on " + st.gate->chain.main + " " +
               st.gate->chain.base.substr(0, 12) + ") since " +
               core::utc_text(io::now_ms()) + ", output in .sf/parallel/gate.log");
}

void drain_gated(self_ptr self);

// Moves main to the merge the gate passed; every item of the batch is merged by that one move.
void land_gate(self_ptr self) {
  auto& st = self->state;
  auto& g = *st.gate;
  auto o = options(st, false);
  o.gated_commit = g.chain.tip;
  o.gated_base = g.chain.base;
  const auto& last = g.batch.back();
  auto x = io::merge_one(st.cfg.root, last, o);
  if (x.kind == core::merge_kind::merged) {
    auto batch = std::move(g.batch);
    auto chain = std::move(g.chain);
    st.gate.reset();
    for (std::size_t k = 0; k < batch.size(); ++k) {
      auto i = index_of(st, item_key(batch[k]));
      if (!i)
        continue;
      merge_outcome m;
      m.milestone = batch[k].milestone;
      m.slice = batch[k].slice;
      m.kind = core::merge_kind::merged;
      m.commit = chain.steps[k].commit;
      m.files = k + 1 == batch.size() ? x.files : std::vector<std::string>{};
      m.text = "merged milestone/" + batch[k].milestone + " into " + chain.main + " as " +
               m.commit.substr(0, 12) + " after the merge gate passed" +
               (batch.size() == 1 ? "" : " (with " + joined_keys(batch) + ")");
      if (k + 1 == batch.size())
        m.notes = x.notes;
      apply_outcome(self, *i, std::move(m), false);
    }
    return;
  }
  auto i = index_of(st, item_key(last));
  if (core::is_obstacle(x.kind) && i) {
    // Tested already: once the obstacle ends, main moves without another gate run.
    apply_outcome(self, *i, x, false);
    watch_obstacle(self, x);
    return;
  }
  auto batch = std::move(g.batch);
  st.gate.reset();
  if (x.main_moved || x.kind == core::merge_kind::already_merged) {
    // What was tested is not what main would get now: compose and test again.
    tell_batch(self, batch, core::merge_kind::gate_retry, x.text);
    return;
  }
  if (i)
    apply_outcome(self, *i, std::move(x), false);
}

// The gate command ended (or the reactor woke us early).
void on_gate_done(self_ptr self, uint64_t gen) {
  auto& st = self->state;
  if (gen != st.gate_gen || !st.gate || !st.gate->run)
    return;
  st.gate->reactor_id = 0;
  auto out = st.gate->run->poll();
  if (!out) {
    watch_gate(self, gen);
    return;
  }
  auto tail = st.gate->run->log_tail(io::gate_tail_lines);
  st.gate->run.reset();
  io::fault_point("gate.after_run");
  std::vector<std::string> keys;
  for (const auto& it : st.gate->batch)
    keys.push_back(item_key(it));
  if (st.shutting_down) {
    // Stopped with the run: nothing is decided; the next start tests again.
    tell_batch(self, st.gate->batch, core::merge_kind::gate_retry,
               "the merge gate was stopped because the run ended (" + out->describe() +
                 "); it runs again at the next start or merge");
    st.gate.reset();
    return;
  }
  auto verdict = st.bisect.record(keys, out->ok());
  if (verdict.land) {
    st.gate->passed = true;
    tell_batch(self, st.gate->batch, core::merge_kind::gate_passed,
               "merge gate passed in " + seconds_text(out->took));
    land_gate(self);
    if (!st.gate)
      drain_gated(self);
    settle(self);
    return;
  }
  io::gate_failure failure;
  failure.command = st.cfg.prefs.merge_gate;
  failure.ended = out->describe() + " after " + seconds_text(out->took);
  failure.tested = (st.gate->batch.size() == 1 ? "its merge" : "the merge of " + joined_keys(st.gate->batch)) +
                   " as " + st.gate->chain.tip + " on " + st.gate->chain.main + " " +
                   st.gate->chain.base.substr(0, 12);
  failure.log_tail = std::move(tail);
  std::string why = "merge gate `" + failure.command + "` " + failure.ended;
  auto batch = std::move(st.gate->batch);
  st.gate.reset();
  if (verdict.retry) {
    tell_batch(self, batch, core::merge_kind::gate_retry, why + "; running it once more");
  } else if (verdict.failed.empty()) {
    tell_batch(self, batch, core::merge_kind::gate_retry,
               why + " on the merge of " + joined_keys(batch) +
                 "; testing smaller batches to find the culprit");
  }
  for (const auto& key : verdict.failed) {
    auto i = index_of(st, key);
    if (!i)
      continue;
    st.gate_held.insert(key);
    merge_outcome x;
    x.milestone = st.items[*i].milestone;
    x.slice = st.items[*i].slice;
    x.kind = core::merge_kind::gate_failed;
    failure.milestone = x.milestone;
    x.text = io::gate_failure_note(failure);
    // Kept beside the note for the person, or the agent, that fixes it.
    if (auto err = io::write_gate_failure(st.cfg.root, failure))
      st.cfg.log->warn("merge queue: {}", describe(err));
    apply_outcome(self, *i, std::move(x), false);
  }
  drain_gated(self);
  settle(self);
}

// Ends the running gate: SIGTERM now, SIGKILL after stop_grace (at the gate_late that follows).
void stop_gate(self_ptr self) {
  auto& st = self->state;
  if (!st.gate || !st.gate->run || st.gate->late)
    return;
  st.gate->late = true;
  st.gate->run->stop();
  auto grace = std::chrono::milliseconds(static_cast<int64_t>(st.cfg.prefs.stop_grace * 1000));
  self->delayed_send(self, grace + std::chrono::milliseconds(50), atom::gate_late_v, st.gate_gen);
}

// Past merge_gate_timeout the gate is stopped; past its grace it is killed.
void on_gate_late(self_ptr self, uint64_t gen) {
  auto& st = self->state;
  if (gen != st.gate_gen || !st.gate || !st.gate->run)
    return;
  if (!st.gate->late) {
    stop_gate(self);
    return;
  }
  (void) st.gate->run->poll(); // escalates to SIGKILL
}

// What the gate may start now: the next batch composed on main and tested, or what needs no
// test (already on main) or cannot be tested (a conflict), reported as without a gate.
void drain_gated(self_ptr self) {
  auto& st = self->state;
  if (st.gate) {
    if (st.gate->passed && !st.gate->run)
      land_gate(self);
    if (st.gate)
      return;
  }
  while (st.halted_by.empty() && !st.shutting_down && !st.gate) {
    auto idx = gate_candidates(self);
    if (idx.empty())
      return;
    std::vector<std::string> keys;
    for (auto i : idx)
      keys.push_back(item_key(st.items[i]));
    auto pick = st.bisect.next(keys, static_cast<std::size_t>(st.cfg.prefs.gate_batch));
    std::vector<merge_item> batch;
    for (const auto& k : pick)
      batch.push_back(st.items[*index_of(st, k)]);
    auto first = *index_of(st, pick.front());
    auto hooks = io::merge_git_hooks(st.cfg.prefs);
    auto log = st.cfg.log;
    hooks.on_note = [log](const std::string& hint) { log->info("merge_queue: {}", hint); };
    auto chain = io::compose_merges(st.cfg.root, batch, hooks);
    if (!chain) {
      merge_outcome x;
      x.milestone = batch.front().milestone;
      x.slice = batch.front().slice;
      x.kind = core::merge_kind::failed;
      x.text = describe(chain.error());
      apply_outcome(self, first, std::move(x), false);
      return;
    }
    const auto& step = chain->steps.front();
    if (step.kind != core::merge_kind::merged) {
      // Nothing to test: on main already, or a conflict the user resolves first.
      merge_outcome x;
      x.milestone = batch.front().milestone;
      x.slice = batch.front().slice;
      x.kind = step.kind;
      x.files = step.files;
      x.watch = step.watch;
      x.text = step.kind == core::merge_kind::conflict
                 ? step.text + ": " + io::conflict_preview(step.files) + "; resolve them on milestone/" +
                     x.milestone + ", commit, and merge " + x.milestone + " again"
               : step.kind == core::merge_kind::blocked ? step.text
                                                        : step.text + "; nothing to do";
      st.bisect.forget(pick.front());
      auto told = apply_outcome(self, first, std::move(x), false);
      if (core::is_obstacle(told.kind)) {
        // The pre-merge-commit hook refused it: tried again when the hook changes.
        watch_obstacle(self, told);
        return;
      }
      continue;
    }
    // The batch ends before the first item that did not merge on top of the ones before it.
    std::size_t n = 0;
    while (n < chain->steps.size() && chain->steps[n].kind == core::merge_kind::merged)
      ++n;
    batch.resize(n);
    chain->steps.resize(n);
    chain->tip = chain->steps.back().commit;
    start_gate(self, std::move(batch), std::move(*chain));
    if (!st.gate)
      return; // it could not start: reported as failed, tried again at the next change
  }
}

// Merges whatever may merge now, in order, until something must wait or fails.
void drain(self_ptr self) {
  auto& st = self->state;
  if (!st.halted_by.empty()) {
    tell_halted(self);
    return;
  }
  sort_items(st);
  if (gate_on(st)) {
    drain_gated(self);
    return;
  }
  for (std::size_t i = 0; i < st.items.size();) {
    const auto& next = st.items[i];
    if (!may_merge(st, next)) {
      ++i;
      continue;
    }
    if (waits_its_turn(self, next))
      return;
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

// `merge` while a gate is configured: what is asked for is approved and handed to the gate;
// the report says what happened at once (already merged, a conflict) and what the gate tests.
merge_report gated_merge(self_ptr self, const std::string& mid) {
  auto& st = self->state;
  merge_report report;
  report.queue_retries = true;
  if (!mid.empty() && st.halted_by == mid)
    st.halted_by.clear();
  std::vector<std::string> asked;
  for (const auto& it : st.items)
    if (mid.empty() || it.milestone == mid) {
      st.approved.insert(it.milestone);
      // Asked for again after a gate failure: the user fixed it (or wants another try).
      st.gate_held.erase(item_key(it));
      asked.push_back(item_key(it));
    }
  st.obstacle_told.clear();
  if (st.blocked)
    clear_obstacle(self);
  std::vector<merge_outcome> seen;
  st.capture = &seen;
  drain(self);
  st.capture = nullptr;
  std::set<std::string> told;
  for (auto& x : seen) {
    auto key = x.slice.empty() ? x.milestone : x.milestone + "/" + x.slice;
    if (std::find(asked.begin(), asked.end(), key) == asked.end())
      continue;
    told.insert(key);
    if (x.kind == core::merge_kind::conflict)
      report.exit_code = 5;
    else if (core::stops_queue(x.kind) && report.exit_code == 0)
      report.exit_code = 1;
    report.results.push_back(std::move(x));
  }
  for (const auto& key : asked) {
    if (told.count(key) != 0)
      continue;
    auto i = index_of(st, key);
    if (!i)
      continue;
    merge_outcome w;
    w.milestone = st.items[*i].milestone;
    w.slice = st.items[*i].slice;
    w.kind = core::merge_kind::waiting;
    w.text = st.gate ? "waits for the merge gate, which tests " + joined_keys(st.gate->batch)
                     : "waits in the merge queue";
    report.results.push_back(std::move(w));
  }
  return report;
}

merge_report explicit_merge(self_ptr self, const std::string& mid, bool dry_run) {
  auto& st = self->state;
  if (!dry_run && gate_on(st)) {
    sort_items(st);
    return gated_merge(self, mid);
  }
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
  // A gate command an earlier coordinator left running would test beside ours in .sf/gate.
  if (auto line = io::end_left_gate(st.cfg.root); !line.empty())
    st.cfg.log->warn("merge_queue: {}", line);
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
      // A newer completion is new work: whatever the gate knew of the old one is void.
      st.gate_held.erase(item_key(item));
      st.bisect.forget(item_key(item));
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
      auto& st = self->state;
      std::vector<merge_outcome> out;
      for (const auto& it : st.items) {
        merge_outcome w;
        w.milestone = it.milestone;
        w.slice = it.slice;
        w.kind = st.halted_by.empty() ? core::merge_kind::queued : core::merge_kind::halted;
        auto key = item_key(it);
        if (st.gate_held.count(key) != 0)
          w.kind = core::merge_kind::gate_failed;
        if (st.gate)
          for (const auto& b : st.gate->batch)
            if (item_key(b) == key) {
              w.kind = st.gate->run ? core::merge_kind::gate_running : core::merge_kind::gate_passed;
              if (st.gate->run)
                w.text = "merge gate running for " + seconds_text(st.gate->run->elapsed());
            }
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
    [self](atom::gate_done, uint64_t gen) { on_gate_done(self, gen); },
    [self](atom::gate_late, uint64_t gen) { on_gate_late(self, gen); },
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
      stop_gate(self); // A running gate decides nothing now.
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
