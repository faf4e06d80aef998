#include "actors/coordinator.hpp"

#include "actors/branch_reader.hpp"
#include "actors/budget_ledger.hpp"
#include "actors/file_overlaps.hpp"
#include "actors/control_server.hpp"
#include "actors/fs_watcher.hpp"
#include "actors/hook_runner.hpp"
#include "actors/spawn_blocking.hpp"
#include "actors/merge_queue.hpp"
#include "actors/worker_supervisor.hpp"
#include "actors/worktree_helper.hpp"
#include "config/cost.hpp"
#include "config/eligibility.hpp"
#include "config/prose_milestone.hpp"
#include "core/milestone_state.hpp"
#include "core/sf_paths.hpp"
#include "io/files/control_file.hpp"
#include "io/files/coordinator_lock.hpp"
#include "io/files/event_log.hpp"
#include "io/files/merge_queue_file.hpp"
#include "io/files/parallel_dir.hpp"
#include "io/files/run_file.hpp"
#include "io/files/runtime_files.hpp"
#include "io/files/state_writer.hpp"
#include "io/files/status_file.hpp"
#include "io/files/worker_registry.hpp"
#include "io/git/integration_branch.hpp"
#include "io/git/merge.hpp"
#include "io/git/merge_step.hpp"
#include "io/git/milestone_branch.hpp"
#include "io/os/fault_point.hpp"
#include "io/os/fd_log_sink.hpp"
#include "io/os/fd_reactor.hpp"
#include "io/os/proc_scan.hpp"
#include "io/os/process.hpp"
#include "io/os/worker_launch.hpp"
#include "messages/error.hpp"

#include <caf/actor_cast.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <spdlog/spdlog.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <chrono>
#include <map>
#include <set>
#include <sstream>

namespace sf {

namespace {

using self_ptr = coordinator_actor::stateful_pointer<coordinator_state>;
using ms = core::milestone_state;

constexpr auto ledger_timeout = std::chrono::seconds(10);

bool is_active(const milestone_entry& e) { return core::holds_slot(e.state); }

// A linked part that blocks (disk, git): on a thread of its own (see spawn_blocking).
template <class Fn, class... Ts>
auto spawn_part(self_ptr self, Fn fn, Ts&&... xs) {
  return spawn_blocking<caf::linked>(self, self->state.cfg.parts_on_scheduler, fn,
                                     std::forward<Ts>(xs)...);
}

// `worktree_setup` as the worktree helpers run it.
io::worktree_setup worktree_setup_of(const coordinator_state& st) {
  io::worktree_setup setup;
  setup.command = st.cfg.prefs.worktree_setup;
  setup.timeout = std::chrono::milliseconds(
    static_cast<int64_t>(st.cfg.prefs.worktree_setup_timeout * 1000));
  setup.grace = std::chrono::milliseconds(static_cast<int64_t>(st.cfg.prefs.stop_grace * 1000));
  if (!setup.command.empty())
    setup.base_env = io::allowlisted_environment();
  return setup;
}

void publish(self_ptr self, run_event ev) {
  auto& st = self->state;
  // Subscribers first; the log line is written by the writer thread, never on this path.
  for (auto& sub : st.subscribers)
    self->send(sub, atom::event_v, ev);
  st.writer->event(ev);
}

// The pairs of milestones whose unmerged work changed the same files: every milestone of the
// run whose branch holds work not on main (running or done, not yet merged, not given up).
std::vector<file_overlap> overlapping_now(const coordinator_state& st) {
  std::map<std::string, std::vector<std::string>> changed;
  for (const auto& [id, e] : st.entries)
    if (e.in_run && !e.changed_files.empty() && e.state != ms::merged &&
        e.state != ms::failed && e.state != ms::idle)
      changed[id] = e.changed_files;
  return find_overlaps(changed);
}

run_status make_status(const coordinator_state& st) {
  run_status rs;
  for (const auto& [id, e] : st.entries) {
    if (!e.in_run && e.state == ms::idle)
      continue;
    worker_snapshot w;
    w.milestone = id;
    w.title = e.title;
    w.state = e.state;
    w.completed_units = e.progress.completed_units;
    w.total_units = e.progress.total_units > 0 ? e.progress.total_units : e.total_units;
    w.current_unit = e.progress.current_unit;
    w.cost = std::max(e.cost, e.progress.cost);
    w.last_heartbeat = e.progress.last_heartbeat;
    w.pid = e.supervisor ? e.progress.pid : 0;
    w.note = e.note;
    w.adopted = e.adopted;
    // Like the cost: the ledger sums sessions, the worker's file may be ahead of it.
    if (e.progress.tokens || e.tokens.sum() > 0)
      w.tokens = core::max_counts(e.tokens, e.progress.tokens.value_or(core::token_counts{}));
    if (e.supervisor)
      w.agent = e.progress.agent;
    rs.workers.push_back(std::move(w));
    if (is_active(e) || e.state == ms::queued)
      rs.active = true;
  }
  rs.total_cost = st.total_cost;
  rs.total_tokens = st.total_tokens;
  rs.budget_ceiling = st.cfg.prefs.budget_ceiling.value_or(0);
  rs.budget_reached = st.budget_reached;
  rs.message = st.message;
  rs.overlaps = overlapping_now(st);
  return rs;
}

// Hands a snapshot to the writer thread; snapshots it has not written yet are replaced.
void save_run(self_ptr self) {
  auto& st = self->state;
  st.writer->run(make_status(st), ::getpid());
}

// The merge queue's sequential order waits for lower ids that are still running or queued.
void notify_running(self_ptr self) {
  auto& st = self->state;
  std::vector<std::string> ids;
  for (const auto& [id, e] : st.entries)
    if (is_active(e) || (e.in_run && e.state == ms::queued))
      ids.push_back(id);
  if (ids == st.last_running)
    return;
  st.last_running = ids;
  self->send(st.merger, atom::running_v, std::move(ids));
}

// A move the table does not list is a coordinator bug. A user's run goes on (the state is
// still set, so no milestone is stranded); under SF_STRICT_MOVES (the test suite) it aborts,
// so a test fails on the first move the table does not describe.
void illegal_move(self_ptr self, const milestone_entry& e, ms to, const std::string& note) {
  auto line = fmt::format("coordinator: illegal move of {}: {} -> {} ({})", e.id,
                          core::to_string(e.state), core::to_string(to), note);
  self->state.log->error("{}", line);
  static const bool strict = std::getenv("SF_STRICT_MOVES") != nullptr;
  if (strict) {
    std::fprintf(stderr, "%s\n", line.c_str());
    std::abort();
  }
}

void set_state(self_ptr self, milestone_entry& e, ms state, std::string note) {
  if (e.state == state && e.note == note)
    return;
  if (!core::can_move(e.state, state))
    illegal_move(self, e, state, note);
  // A worker that runs again after a pause (whoever resumed it) is no longer paused.
  if (e.state == ms::paused && state == ms::running)
    e.pause_requested = false;
  e.state = state;
  e.note = std::move(note);
  run_event ev;
  ev.kind = e.state == ms::complete ? event_kind::completed : event_kind::state_changed;
  ev.milestone = e.id;
  ev.state = e.state;
  ev.text = e.note;
  ev.cost = e.progress.cost;
  ev.completed_units = e.progress.completed_units;
  ev.total_units = e.total_units;
  publish(self, std::move(ev));
  // After the event: the log is flushed on every line, a write this path need not wait for.
  self->state.log->info("coordinator: {} -> {}{}{}", e.id, core::to_string(e.state), e.note.empty() ? "" : ": ",
                        e.note);
  save_run(self);
  notify_running(self);
}

// The first dependency that is not complete on main, or empty when all are.
std::string first_blocker(const coordinator_state& st, const milestone_entry& e) {
  for (const auto& dep : e.depends_on)
    if (st.complete_on_main.count(dep) == 0)
      return dep;
  return {};
}

// True while a question is open on a terminal, or while a milestone of the run waits for merges
// the user has yet to confirm and for nothing that cannot come any more: the run stays open for
// the answer (the prompt, or `sf-actors merge` from another terminal) instead of ending after
// the first layer of a chain.
bool waits_for_answer(const coordinator_state& st) {
  if (st.awaiting_answer.empty())
    return false;
  // Someone is being asked right now (a terminal's prompt): the answer comes, yes or no.
  if (st.cfg.can_confirm)
    return true;
  for (const auto& [id, e] : st.entries) {
    if (!e.in_run || e.state != ms::waiting)
      continue;
    bool asked = false;
    bool hopeless = false;
    for (const auto& dep : e.depends_on) {
      if (st.complete_on_main.count(dep) != 0)
        continue;
      if (st.awaiting_answer.count(dep) != 0) {
        asked = true;
        continue;
      }
      // A dependency still on its way holds the run by itself; one that ended without its
      // work on main (failed, stopped, a conflict) never comes.
      auto it = st.entries.find(dep);
      if (it == st.entries.end() ||
          !(is_active(it->second) || it->second.state == ms::queued ||
            it->second.state == ms::waiting))
        hopeless = true;
    }
    if (asked && !hopeless)
      return true;
  }
  return false;
}

// Slots taken: workers, and milestones whose branch is read right before their start.
std::size_t active_count(const coordinator_state& st) {
  return st.reading.size() +
         static_cast<std::size_t>(std::count_if(st.entries.begin(), st.entries.end(),
                                                [](const auto& kv) { return is_active(kv.second); }));
}

void save_registry(self_ptr self) {
  auto& st = self->state;
  std::vector<worker_identity> workers;
  for (const auto& [id, e] : st.entries)
    if (e.identity)
      workers.push_back(*e.identity);
  // Written (durably) before any run file or event line handed over after this call.
  st.writer->registry(std::move(workers));
}

// A simple command runs through `exec`, so the worker itself (not a shell around it) is the
// process we watch and signal: a shell would die on SIGTERM at once and leave the worker to the
// group SIGKILL, without its grace period. Anything with shell syntax runs as written.
std::string shell_line_for(const std::string& command) {
  if (command.find_first_of(";&|<>()`$\\\n*?[]{}#~=!") != std::string::npos)
    return command;
  auto first = command.substr(0, command.find(' '));
  static const char* builtins[] = {"cd", "exec", "export", "set", "ulimit", "umask", "trap",
                                   "eval", ".", "source", "if", "while", "for", "case"};
  for (const char* b : builtins)
    if (first == b)
      return command;
  return "exec " + command;
}

void start_worker(self_ptr self, milestone_entry& e,
                  std::optional<worker_identity> adopt = std::nullopt) {
  auto& st = self->state;
  supervisor_config sc;
  sc.root = st.cfg.root;
  sc.milestone = e.id;
  if (st.cfg.prefs.worker_command.empty())
    sc.worker_argv = st.cfg.worker_argv;
  else
    sc.worker_argv = {"/bin/sh", "-c", shell_line_for(st.cfg.prefs.worker_command)};
  sc.base_env = io::allowlisted_environment();
  if (e.fixing_gate) {
    // The worker resumes the milestone's agent with the gate's report (worker/gate_fix.hpp).
    sc.base_env.push_back("SF_GATE_FAILURE_FILE=" + core::gate_failure_file(st.cfg.root, e.id));
    sc.base_env.push_back("SF_GATE_FIX_ROUND=" + std::to_string(e.gate_fixes));
  }
  sc.stale_timeout = std::chrono::milliseconds(
    static_cast<int64_t>(st.cfg.prefs.stale_timeout * 1000));
  sc.stop_grace = std::chrono::milliseconds(static_cast<int64_t>(st.cfg.prefs.stop_grace * 1000));
  sc.reactor = st.reactor;
  sc.log = st.log;
  sc.coordinator = caf::actor_cast<coordinator_actor>(self);
  sc.watcher = st.watcher;
  sc.routes = st.routes;
  sc.adopt = adopt;
  e.adopted = adopt.has_value();
  sc.log_relay = st.cfg.log_relay;
  sc.helper_on_scheduler = st.cfg.parts_on_scheduler;
  sc.setup = worktree_setup_of(st);
  if (!adopt) {
    // Write-ahead: the token is on disk before the process exists, so a coordinator killed
    // right after the spawn leaves a successor what it needs to find and adopt the worker.
    sc.spawn_token = io::new_spawn_token();
    worker_identity intent;
    intent.milestone = e.id;
    intent.token = sc.spawn_token;
    e.identity = intent;
    save_registry(self);
    // The writer thread makes it durable; the supervisor (on its own thread) waits for that
    // before it spawns, so this thread never waits for the disk.
    sc.before_spawn = [writer = st.writer] { writer->wait_registry(); };
  }
  if (auto it = st.retiring.find(e.id); it != st.retiring.end())
    sc.predecessor = it->second;
  st.prepared.erase(e.id); // A slot is taken: the next waiting milestone may be prepared.
  e.branch_read = false;
  e.stop_requested = false;
  e.stale_stop = false;
  e.progress = worker_progress{};
  e.progress.milestone = e.id;
  e.progress.total_units = e.total_units;
  // On the shared scheduler: a supervisor's blocking work (worktree creation, the durable
  // registry write) runs on a helper thread of its own.
  e.supervisor = self->spawn(worker_supervisor, std::move(sc));
  // Watched from birth: one that dies without reporting its worker's exit is handled by
  // `on_down` (its worker is ended and the milestone goes to the restart policy).
  self->monitor(*e.supervisor);
  if (adopt)
    set_state(self, e, ms::running, "adopted after a coordinator restart (pid " +
                                    std::to_string(adopt->pid) + ")");
  else
    set_state(self, e, ms::starting, "");
}

void publish_finished(self_ptr self) {
  auto& st = self->state;
  std::size_t complete = 0, failed = 0, other = 0;
  for (const auto& [id, e] : st.entries) {
    if (!e.in_run)
      continue;
    if (e.state == ms::complete || e.state == ms::merged)
      ++complete;
    else if (e.state == ms::failed || e.state == ms::gate_failed)
      ++failed;
    else
      ++other;
  }
  run_event ev;
  ev.kind = event_kind::finished;
  ev.cost = st.total_cost;
  ev.text = fmt::format("run finished: {} complete, {} failed, {} not finished", complete, failed,
                        other);
  if (!st.message.empty())
    ev.text += "; " + st.message;
  st.log->info("coordinator: {}", ev.text);
  save_run(self);
  // Whoever sees `finished` may read the files at once (tests, `status`): they must be final.
  // This is the one place the coordinator waits for the disk.
  st.writer->event(ev);
  st.writer->flush();
  for (auto& sub : st.subscribers)
    self->send(sub, atom::event_v, ev);
}

void check_finished(self_ptr self) {
  auto& st = self->state;
  // Merges still to come hold the run open, but not a stop: the queue file keeps them for the
  // next start. A push in flight ends within push_timeout, or at once on a stop.
  // A push is waited for even on a stop: the queue ends it at once and reports it.
  // A milestone whose branch is being read is about to start (or to merge); after a stop its
  // answer is old news and waits for nobody.
  if ((st.runs_started == 0 && !st.shutting_down) || st.finished_published ||
      (!st.pending_merges.empty() && !st.shutting_down) ||
      st.pushing || !st.retiring.empty() || !st.preparing.empty() ||
      (!st.reading.empty() && !st.shutting_down) ||
      (!st.shutting_down && waits_for_answer(st)))
    return;
  for (const auto& [id, e] : st.entries)
    if (is_active(e) || (e.in_run && e.state == ms::queued && !st.budget_reached &&
                         !st.shutting_down))
      return;
  st.finished_published = true;
  // The ledger answers in order, so this total includes every cost reported before. A start
  // that arrives meanwhile begins another run, which ends on its own.
  auto run = st.runs_started;
  self->request(st.ledger, ledger_timeout, atom::status_v)
    .then(
      [self, run](const budget_update& u) {
        if (self->state.runs_started != run)
          return;
        self->state.total_cost = u.total;
        self->state.total_tokens = u.total_tokens;
        publish_finished(self);
      },
      [self, run](const caf::error& err) {
        self->state.log->error("coordinator: ledger: {}", caf::to_string(err));
        if (self->state.runs_started == run)
          publish_finished(self);
      });
}

milestone_entry* find_entry(self_ptr self, const std::string& id) {
  auto it = self->state.entries.find(id);
  return it == self->state.entries.end() ? nullptr : &it->second;
}

// Declared ahead: filling slots may queue a merge instead of starting a worker.
void queue_merge(self_ptr self, milestone_entry& e, const std::string& slice);
bool must_change_files(const coordinator_state& st, const std::string& mid);
template <class Unreadable>
void merge_if_changed(self_ptr self, const std::string& mid, const std::string& tip,
                      Unreadable unreadable);
void enqueue_merge(self_ptr self, milestone_entry& e, const std::string& slice,
                   const std::string& tip);

void fill_slots(self_ptr self);

// A milestone that only waits for a slot gets its worktree made now, on a helper thread, so
// the slot's next worker starts without the checkout (a quarter of a start on the scheduling
// bench, seconds on large trees). Its dependencies are on main already, so the base is the
// same one a later creation would see, or older by unrelated merges only. At most one helper
// at a time (creations are serialised per project anyway), none while a worker starts, and
// `max_workers` made ahead.
void prepare_worktree(self_ptr self, const milestone_entry& e) {
  auto& st = self->state;
  // Made ahead for a run that ended (stopped, out of budget) before they started: not ahead
  // of anything any more. Their worktrees stay for the next start to reuse.
  for (auto it = st.prepared.begin(); it != st.prepared.end();) {
    auto entry = st.entries.find(*it);
    if (entry == st.entries.end() || !entry->second.in_run || entry->second.state != ms::queued)
      it = st.prepared.erase(it);
    else
      ++it;
  }
  if (!st.preparing.empty() || st.prepared.count(e.id) != 0 ||
      st.prepared.size() >= static_cast<std::size_t>(st.cfg.prefs.max_workers))
    return;
  // Creations are serialised: one made ahead must not delay a worker that starts now (or is
  // about to, its branch being read). The last one to report running calls fill_slots again.
  if (!st.reading.empty())
    return;
  for (const auto& [id, other] : st.entries)
    if (other.state == ms::starting)
      return;
  auto helper = spawn_blocking(self, st.cfg.parts_on_scheduler, worktree_helper, st.cfg.root,
                               e.id, worktree_setup_of(st), std::function<void()>{},
                               st.ahead_cancel);
  st.preparing.insert(e.id);
  st.prepared.insert(e.id);
  // Done either way: a failure is the supervisor's to report when it tries again at the start.
  auto done = [self, id = e.id] {
    self->state.preparing.erase(id);
    fill_slots(self); // The next waiting milestone may be prepared now.
    check_finished(self);
  };
  self->request(helper, worktree_helper_wait(worktree_setup_of(st)), atom::make_worktree_v)
    .then([done](const std::string&) { done(); },
          [self, done, id = e.id](const caf::error& err) {
            self->state.log->info("coordinator: making the worktree of {} ahead: {}", id,
                                  describe(err));
            done();
          });
}

// Reads the branch of a milestone that is about to start, on the branch reader's thread. A
// branch that already says complete (its worker finished, then the coordinator died before
// queueing the merge) is merged, not run again: the merge removes the worktree a new worker
// would be using. Otherwise the next fill_slots starts its worker.
void read_branch_then_start(self_ptr self, milestone_entry& e) {
  auto& st = self->state;
  st.reading.insert(e.id);
  auto settle = [self](const std::string& id, const branch_report& r) {
    auto& st = self->state;
    st.reading.erase(id);
    auto* e = find_entry(self, id);
    // Stopped, out of budget or otherwise moved while the branch was read: the answer is old.
    if (e != nullptr && e->in_run && (e->state == ms::queued || e->state == ms::waiting)) {
      if (r.exists && r.complete) {
        e->progress.completed_units = e->total_units;
        if (!r.merged && must_change_files(st, e->id)) {
          queue_merge(self, *e, "");
        } else if (!r.merged) {
          enqueue_merge(self, *e, "", r.tip);
        } else {
          // Already on main (the checkout we read the plan from may lag behind a crash).
          st.complete_on_main.insert(e->id);
          set_state(self, *e, ms::merged, "already on main");
        }
      } else {
        e->branch_read = true;
      }
    }
    fill_slots(self);
  };
  self->request(st.reader, branch_read_timeout, atom::read_branch_v, e.id)
    .then([settle, id = e.id](const branch_report& r) { settle(id, r); },
          [self, settle, id = e.id](const caf::error& err) {
            // Unreadable counts as holding no finished work, as a failed read always has.
            self->state.log->warn("coordinator: reading milestone/{}: {}", id, describe(err));
            settle(id, branch_report{});
          });
}

void fill_slots(self_ptr self) {
  auto& st = self->state;
  for (auto& [id, e] : st.entries) {
    if (!e.in_run || (e.state != ms::queued && e.state != ms::waiting))
      continue;
    auto blocker = first_blocker(st, e);
    if (!blocker.empty()) {
      auto it = st.entries.find(blocker);
      std::string why = "waiting for " + blocker;
      if (it != st.entries.end() && it->second.state == ms::complete)
        why += " (complete, not yet on main)";
      set_state(self, e, ms::waiting, why);
      continue;
    }
    if (st.budget_reached) {
      set_state(self, e, ms::queued, st.message);
      continue;
    }
    if (e.pause_requested) {
      set_state(self, e, ms::queued, "paused: starts after `sf-actors resume`");
      continue;
    }
    if (st.shutting_down || st.reading.count(e.id) != 0)
      continue;
    if (active_count(st) >= static_cast<std::size_t>(st.cfg.prefs.max_workers)) {
      set_state(self, e, ms::queued, "waiting for a free worker slot");
      prepare_worktree(self, e);
      continue;
    }
    if (!e.branch_read) {
      read_branch_then_start(self, e);
      continue;
    }
    start_worker(self, e);
  }
  check_finished(self);
}

// The line `fn` gave for `e`, kept as text and, with `e`'s state after it, as data.
void record_target(command_reply& reply, const milestone_entry& e, std::string line) {
  const auto prefix = e.id + ": ";
  auto text = line.rfind(prefix, 0) == 0 ? line.substr(prefix.size()) : line;
  reply.milestones.push_back({e.id, e.state, std::move(text)});
  reply.lines.push_back(std::move(line));
}

// Applies `fn` to one milestone or, when `mid` is empty, to every active one.
template <class Fn>
command_reply for_targets(self_ptr self, const std::string& mid, Fn fn) {
  command_reply reply;
  if (!mid.empty()) {
    auto* e = find_entry(self, mid);
    if (e == nullptr) {
      reply.lines.push_back("unknown milestone `" + mid + "`: it is not in .sf/milestones");
      reply.exit_code = 1;
      return reply;
    }
    record_target(reply, *e, fn(*e));
    return reply;
  }
  for (auto& [id, e] : self->state.entries)
    if (is_active(e) || (e.in_run && (e.state == ms::queued || e.state == ms::waiting)))
      record_target(reply, e, fn(e));
  if (reply.lines.empty())
    reply.lines.push_back("no worker is running");
  return reply;
}

command_reply do_stop(self_ptr self, const std::string& mid) {
  if (mid.empty()) {
    self->state.shutting_down = true;
    // A push or a merge waiting for the user must not keep the run from ending, nor a
    // worktree being made ahead of its start.
    self->send(self->state.merger, atom::shutdown_v);
    self->state.ahead_cancel->store(true);
  }
  auto reply = for_targets(self, mid, [self](milestone_entry& e) -> std::string {
    e.stop_requested = true;
    if (e.supervisor && is_active(e)) {
      self->send(*e.supervisor, atom::stop_v);
      set_state(self, e, ms::stopping, "stop requested");
      return e.id + ": stopping (signal file + SIGTERM)";
    }
    if (e.state == ms::queued || e.state == ms::waiting) {
      e.in_run = false;
      set_state(self, e, ms::stopped, "stopped before it started");
      return e.id + ": removed from the queue";
    }
    if (e.state == ms::restarting) {
      ++e.restart_gen; // Cancels the scheduled restart.
      set_state(self, e, ms::stopped, "stopped before its restart");
      return e.id + ": restart cancelled";
    }
    // Its worker exited and what that means is being read from its branch: it ends as
    // stopped unless its work turns out complete.
    if (is_active(e) && !e.supervisor)
      return e.id + ": its worker has ended; stopping";
    return e.id + ": not running (" + std::string(core::to_string(e.state)) + ")";
  });
  check_finished(self);
  return reply;
}

// Pause and resume: a running worker gets the signal (it takes effect between units); a
// milestone of the run that has not started is held (or let go) before it starts. Saying it
// twice is answered, not repeated.
std::string pause_one(self_ptr self, milestone_entry& e) {
  const bool not_started = e.in_run && (e.state == ms::queued || e.state == ms::waiting);
  if (e.supervisor && is_active(e)) {
    if (e.state == ms::paused)
      return e.id + ": already paused";
    if (e.pause_requested)
      return e.id + ": pause already requested (takes effect after the current unit)";
    e.pause_requested = true;
    self->send(*e.supervisor, atom::pause_v);
    return e.id + ": pause requested (takes effect after the current unit)";
  }
  if (not_started) {
    if (e.pause_requested)
      return e.id + ": already held; it starts after `sf-actors resume`";
    e.pause_requested = true;
    if (e.state == ms::queued)
      set_state(self, e, ms::queued, "paused: starts after `sf-actors resume`");
    return e.id + ": held before its start (" + std::string(core::to_string(e.state)) +
           "); it starts after `sf-actors resume`";
  }
  return e.id + ": not running (" + std::string(core::to_string(e.state)) + ")";
}

std::string resume_one(self_ptr self, milestone_entry& e) {
  const bool not_started = e.in_run && (e.state == ms::queued || e.state == ms::waiting);
  if (e.supervisor && is_active(e)) {
    if (e.state != ms::paused && !e.pause_requested)
      return e.id + ": not paused (" + std::string(core::to_string(e.state)) + ")";
    e.pause_requested = false;
    self->send(*e.supervisor, atom::resume_v);
    return e.id + ": resume requested";
  }
  if (not_started && e.pause_requested) {
    e.pause_requested = false;
    return e.id + ": released; it starts when it can";
  }
  return e.id + ": not paused (" + std::string(core::to_string(e.state)) + ")";
}

command_reply do_signal(self_ptr self, const std::string& mid, bool pause) {
  auto reply = for_targets(self, mid, [self, pause](milestone_entry& e) -> std::string {
    return pause ? pause_one(self, e) : resume_one(self, e);
  });
  if (!pause)
    fill_slots(self); // What was held may start now.
  return reply;
}

command_reply start_run(self_ptr self, const std::vector<std::string>& ids) {
  auto& st = self->state;
  command_reply reply;
  for (const auto& id : ids)
    if (st.entries.count(id) == 0) {
      reply.lines.push_back("unknown milestone `" + id + "`: it is not in .sf/milestones");
      reply.exit_code = 1;
      return reply;
    }
  // `sf-actors stop` can reach a background coordinator before its own start does (--detach
  // returns once the lock is held): that stop is for this run, which then never begins.
  if (st.runs_started == 0 && st.shutting_down) {
    reply.lines.push_back("stopped before the run started (a stop request came first)");
    return reply;
  }
  auto report = analyze_eligibility(st.cfg.milestones, ids);
  if (report.eligible.empty() && active_count(st) == 0) {
    reply.lines.push_back("No milestones are eligible for parallel execution.");
    for (const auto& e : report.ineligible)
      reply.lines.push_back("  " + e.id + ": " + e.reason);
    reply.exit_code = 4;
    return reply;
  }
  st.shutting_down = false;
  st.finished_published = false;
  ++st.runs_started;
  st.ahead_cancel = std::make_shared<std::atomic<bool>>(false);
  // Eligible milestones start now; blocked ones whose blockers are part of this run wait.
  std::set<std::string> requested;
  for (const auto& e : report.eligible)
    requested.insert(e.id);
  bool grew = true;
  while (grew) {
    grew = false;
    for (const auto& e : report.ineligible) {
      if (requested.count(e.id))
        continue;
      auto& entry = st.entries.at(e.id);
      if (st.complete_on_main.count(e.id))
        continue;
      const auto* m = st.cfg.milestones.find(e.id);
      if (m == nullptr || m->status == milestone_status::parked)
        continue;
      bool ok = !entry.depends_on.empty();
      for (const auto& dep : entry.depends_on)
        if (!st.complete_on_main.count(dep) && !requested.count(dep))
          ok = false;
      if (ok) {
        requested.insert(e.id);
        grew = true;
      }
    }
  }
  for (const auto& id : requested) {
    auto& e = st.entries.at(id);
    if (is_active(e)) {
      reply.lines.push_back(id + ": already running");
      continue;
    }
    e.in_run = true;
    set_state(self, e, ms::queued, "");
    reply.lines.push_back(id + ": queued");
  }
  fill_slots(self);
  return reply;
}

// A run whose budget period has already spent its ceiling could not spend anything: it is
// refused before anything starts, whoever asks (the CLI checks too, an embedding host need not).
caf::result<command_reply> do_start(self_ptr self, const std::vector<std::string>& ids) {
  auto rp = self->make_response_promise<command_reply>();
  self->request(self->state.ledger, ledger_timeout, atom::status_v)
    .then(
      [self, rp, ids](const budget_update& u) mutable {
        if (u.reached) {
          command_reply refused;
          refused.lines.push_back(ceiling_refusal(u.total, u.ceiling));
          refused.exit_code = 6; // As documented for `start` (README, Exit codes).
          rp.deliver(std::move(refused));
          return;
        }
        rp.deliver(start_run(self, ids));
      },
      [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
  return rp;
}

// Reads the branch tip (on the branch reader's thread) and hands the milestone or slice to the
// queue at that tip: the merge takes exactly what was committed when it completed. A whole
// milestone keeps its slot until then.
void queue_merge(self_ptr self, milestone_entry& e, const std::string& slice) {
  auto& st = self->state;
  auto unreadable = [self, slice](const std::string& id, const std::string& why) {
    self->state.log->warn("coordinator: reading milestone/{}: {}", id, why);
    auto* e = find_entry(self, id);
    if (e == nullptr || !slice.empty())
      return;
    set_state(self, *e, ms::complete, "complete, but its branch cannot be read: " + why);
    fill_slots(self);
  };
  self->request(st.reader, branch_read_timeout, atom::read_branch_v, e.id)
    .then(
      [self, slice, unreadable](const branch_report& r) {
        if (!r.error.empty() || !r.exists) {
          unreadable(r.milestone, r.exists || !r.error.empty()
                                    ? r.error
                                    : "branch milestone/" + r.milestone + " does not exist in " +
                                        self->state.cfg.root);
          return;
        }
        if (slice.empty() && must_change_files(self->state, r.milestone)) {
          merge_if_changed(self, r.milestone, r.tip, unreadable);
          return;
        }
        if (auto* e = find_entry(self, r.milestone)) {
          enqueue_merge(self, *e, slice, r.tip);
          if (slice.empty())
            fill_slots(self); // Its slot is free now.
        }
      },
      [unreadable, id = e.id](const caf::error& err) { unreadable(id, describe(err)); });
}

// Milestones whose work is not a fixed command: agent units, or prose and no units (a worker
// of its own reads the prose, or nothing does). A milestone with neither units nor text only
// gathers its dependencies and merges its status as before.
bool must_change_files(const coordinator_state& st, const std::string& mid) {
  const auto* m = st.cfg.milestones.find(mid);
  if (m == nullptr)
    return false;
  if (m->unit_count() == 0)
    return is_prose_only(*m);
  for (const auto& s : m->slices)
    for (const auto& u : s.units)
      if (u.is_agent())
        return true;
  return false;
}

// An agent can "finish" having changed nothing (it refused, misread the task, or lost its
// edits): such a milestone is reported, not offered to main as work.
template <class Unreadable>
void merge_if_changed(self_ptr self, const std::string& mid, const std::string& tip,
                      Unreadable unreadable) {
  self->request(self->state.reader, branch_read_timeout, atom::read_changes_v, mid)
    .then(
      [self, tip, unreadable](branch_changes& r) {
        if (!r.error.empty()) {
          unreadable(r.milestone, r.error);
          return;
        }
        auto* e = find_entry(self, r.milestone);
        if (e == nullptr)
          return;
        e->changed_files = r.files;
        if (r.files.empty()) {
          self->state.log->warn("coordinator: {} completed without changing a file", e->id);
          const auto* m = self->state.cfg.milestones.find(e->id);
          if (m != nullptr && m->unit_count() == 0)
            set_state(self, *e, ms::complete,
                      "complete, but it has no units and nothing worked on its text (its "
                      "branch changed no file outside .sf/), so there is nothing to merge and "
                      "its dependents wait; give it units, or an agents.default profile "
                      "(docs/agents.md)");
          else
            set_state(self, *e, ms::complete,
                      "complete, but its units changed no file outside .sf/, so there is "
                      "nothing to merge; see `sf-actors logs " +
                        e->id + "`");
        } else {
          enqueue_merge(self, *e, "", tip);
        }
        fill_slots(self); // Its slot is free now.
      },
      [unreadable, mid](const caf::error& err) { unreadable(mid, describe(err)); });
}

// Hands a completed milestone (or slice) at `tip` to the merge queue.
void enqueue_merge(self_ptr self, milestone_entry& e, const std::string& slice,
                   const std::string& tip) {
  auto& st = self->state;
  merge_item item;
  item.milestone = e.id;
  item.title = e.title;
  item.slice = slice;
  item.tip = tip;
  if (slice.empty())
    e.queued_tip = tip;
  item.units = e.unit_lines;
  // The item goes out before the state change: set_state tells the queue this milestone no
  // longer runs, and under sequential order a higher id waiting in the queue would take that
  // as leave to merge first.
  self->send(st.merger, atom::enqueue_v, std::move(item));
  if (slice.empty()) {
    bool automatic = st.cfg.prefs.auto_merge == auto_merge_mode::automatic;
    // The run is not over until the queue answers, even if that answer is "run merge yourself".
    st.pending_merges.insert(e.id);
    set_state(self, e, ms::complete,
              automatic ? "complete, queued for merge" : "complete, awaiting merge");
  }
}

// What an agent unit does now, as the end of a progress line: ": [tool] Edit x (attempt 2 of
// 3)"; empty for a shell unit.
std::string activity_line(const caf::optional<agent_activity>& a) {
  if (!a)
    return {};
  std::string out = a->activity.empty() ? std::string() : ": " + a->activity;
  if (a->attempt > 1)
    out += fmt::format(" (attempt {} of {})", a->attempt, a->max_attempts);
  return out;
}

// Crashed or hung: restart under the policy (at most max_restarts within restart_window,
// with doubling backoff), or give up with the reason and the end of the worker's log.
void crashed(self_ptr self, milestone_entry& e, const std::string& why) {
  auto& st = self->state;
  const auto& prefs = st.cfg.prefs;
  auto now = std::chrono::steady_clock::now();
  auto window = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
    std::chrono::duration<double>(prefs.restart_window));
  e.restarts.erase(std::remove_if(e.restarts.begin(), e.restarts.end(),
                                  [&](auto t) { return now - t > window; }),
                   e.restarts.end());
  if (st.shutting_down || st.budget_reached || e.stop_requested) {
    set_state(self, e, ms::stopped, why);
    return;
  }
  if (static_cast<int>(e.restarts.size()) >= prefs.max_restarts) {
    auto tail = io::tail_lines(core::worker_log(st.cfg.root, e.id), 5);
    std::string note = why + "; gave up after " + std::to_string(e.restarts.size()) +
                       " restart(s) within " + fmt::format("{:g}", prefs.restart_window) + " s";
    if (!tail.empty()) {
      std::string flat;
      for (char c : tail)
        flat += c == '\n' ? std::string(" | ") : std::string(1, c);
      note += "; last log lines: " + flat;
    }
    set_state(self, e, ms::failed, note);
    return;
  }
  auto delay = prefs.restart_backoff * static_cast<double>(1u << std::min<std::size_t>(
                                                                e.restarts.size(), 10));
  e.restarts.push_back(now);
  set_state(self, e, ms::restarting,
            fmt::format("{}; restart {} of {} in {:g} s", why, e.restarts.size(),
                        prefs.max_restarts, delay));
  self->delayed_send(self, std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::duration<double>(delay)),
                     atom::restart_due_v, e.id, ++e.restart_gen);
}

void settle_exit(self_ptr self, const worker_exit& x, bool complete, const std::string& tip);

void on_exit(self_ptr self, const worker_exit& x) {
  auto& st = self->state;
  auto* e = find_entry(self, x.milestone);
  if (e == nullptr)
    return;
  if (e->supervisor) {
    // It still cleans up after its worker; tracked (monitored since its spawn) until gone.
    st.retiring[e->id] = *e->supervisor;
  }
  e->supervisor.reset();
  e->identity.reset();
  // Exit 0, or an adopted worker whose exit status nobody can know: only then can it be
  // complete, and only then is its plan worth parsing (a crash is reported without it).
  bool clean = x.exit_code == 0 || (x.exit_code == -1 && x.term_signal == 0);
  if (x.pid == 0 || !clean) {
    settle_exit(self, x, false, "");
    return;
  }
  // Workers of the original system do not edit the plan; all units reported done is enough.
  // Not for a gate fix: whether the branch moved is what says if the worker fixed anything.
  if (e->total_units > 0 && e->progress.completed_units >= e->total_units && !e->fixing_gate) {
    settle_exit(self, x, true, ""); // The tip is read when the merge is queued.
    return;
  }
  // Otherwise the milestone's branch is the authority: what was committed, not a working
  // file that may be ahead of it, nor reports a worker that was never adopted never sent.
  // Read on the branch reader's thread; the milestone keeps its state and its slot meanwhile.
  self->request(st.reader, branch_read_timeout, atom::read_branch_v, e->id)
    .then(
      [self, x](const branch_report& r) {
        if (!r.error.empty())
          self->state.log->warn("coordinator: reading milestone/{}: {}", x.milestone, r.error);
        settle_exit(self, x, r.exists && r.complete, r.tip);
      },
      [self, x](const caf::error& err) {
        self->state.log->warn("coordinator: reading milestone/{}: {}", x.milestone,
                              describe(err));
        settle_exit(self, x, false, "");
      });
}

// What a worker's exit means for its milestone, once it is known whether its work is complete.
// The reference worker's exit code for a failed agent unit (worker/reference_worker.hpp).
constexpr int agent_failed_exit = 4;

void settle_exit(self_ptr self, const worker_exit& x, bool complete, const std::string& tip) {
  auto& st = self->state;
  auto* e = find_entry(self, x.milestone);
  if (e == nullptr)
    return;
  bool exec_failure = x.exit_code == 126 || x.exit_code == 127;
  // A worktree deleted under its worker makes the worker fail in whatever step it was in;
  // name the cause instead, and do not restart into a folder that is gone.
  struct stat wt_stat;
  auto wt_dir = core::worktree_dir(st.cfg.root, e->id);
  bool worktree_gone = !complete && x.pid != 0 && ::stat(wt_dir.c_str(), &wt_stat) != 0 &&
                       errno == ENOENT;
  bool winding_down = e->stop_requested || st.budget_reached || st.shutting_down;
  if (x.pid == 0 && winding_down) {
    set_state(self, *e, ms::stopped, x.text);
  } else if (x.pid == 0) {
    // No worker was started (the worktree or the spawn failed): the reason names the cause.
    set_state(self, *e, ms::failed, x.text);
  } else if (exec_failure && e->progress.last_heartbeat == 0) {
    // The worker could not run at all: a configuration error, reported once, never retried.
    set_state(self, *e, ms::failed,
              "the worker command cannot be executed (" + x.text +
                "); check parallel.worker_command and .sf/parallel/" + e->id + ".log");
  } else if (worktree_gone && !winding_down) {
    set_state(self, *e, ms::failed,
              "its worktree .sf/worktrees/" + e->id + " was deleted while the worker ran (" +
                x.text + "); the commits on milestone/" + e->id +
                " are kept; run 'sf-actors start' again to recreate the worktree from them");
  } else if (e->stale_stop) {
    crashed(self, *e, "hung (no heartbeat within stale_timeout), " + x.text);
  } else if (complete && e->fixing_gate && !tip.empty() && tip == e->gate_failed_tip) {
    // The worker ended without committing a fix (a worker_command of the user's own that does
    // not read SF_GATE_FAILURE_FILE, say): testing the same tip again would fail again.
    e->fixing_gate = false;
    set_state(self, *e, ms::gate_failed,
              "failed the merge gate, and its worker exited without committing a fix (only a "
              "worker that reads SF_GATE_FAILURE_FILE can fix it, see docs/protocol.md); fix it "
              "in .sf/worktrees/" + e->id + ", commit, and run `sf-actors merge " + e->id +
                "` (.sf/parallel/" + e->id + ".gate-failure.md says what failed)");
  } else if (complete && !tip.empty() && !must_change_files(st, e->id)) {
    e->fixing_gate = false;
    enqueue_merge(self, *e, "", tip);
  } else if (complete) {
    e->fixing_gate = false;
    // Read again, with the check that agent work changed something.
    queue_merge(self, *e, "");
  } else if (winding_down) {
    set_state(self, *e, ms::stopped,
              st.budget_reached ? st.message
                                : x.exit_code == 0 ? "stopped on request" : "stopped: " + x.text);
  } else if (x.exit_code == 0) {
    set_state(self, *e, ms::stopped, "exited with code 0 before its units were complete");
  } else if (x.exit_code == agent_failed_exit && e->progress.state == core::worker_state::error) {
    // The reference worker's agent failed (an error result, a crash, its timeout): its session
    // stays recorded, so a restart resumes the agent with what it had done.
    crashed(self, *e, e->progress.error + " (" + x.text + ")");
  } else if (e->fixing_gate && !e->progress.error.empty() &&
             e->progress.state == core::worker_state::error) {
    // The fix of a gate failure failed (its agent changed nothing, say): the milestone is held
    // as failing the gate, with the worker's reason.
    e->fixing_gate = false;
    set_state(self, *e, ms::gate_failed,
              "failed the merge gate, and its agent's fix did not help: " + e->progress.error +
                "; fix it in .sf/worktrees/" + e->id + ", commit, and run `sf-actors merge " +
                e->id + "` (.sf/parallel/" + e->id + ".gate-failure.md says what failed)");
  } else if (!e->progress.error.empty() && e->progress.state == core::worker_state::error) {
    // The worker itself reported a failure (e.g. a unit failed): restarting repeats it.
    set_state(self, *e, ms::failed, e->progress.error + " (" + x.text + ")");
  } else {
    crashed(self, *e, "worker " + x.text);
  }
  save_registry(self);
  fill_slots(self);
}

// Warns once per pair and newly shared path: an event (and a log line) naming both
// milestones and the files, so a person sees the coming conflict while the work still runs.
void warn_overlaps(self_ptr self) {
  auto& st = self->state;
  for (auto& o : overlapping_now(st)) {
    auto& told = st.overlaps_told[{o.first, o.second}];
    if (std::includes(told.begin(), told.end(), o.files.begin(), o.files.end()))
      continue;
    told = o.files;
    run_event ev;
    ev.kind = event_kind::overlap;
    ev.milestone = o.second;
    ev.other = o.first;
    ev.text = overlap_text(o) + "; merging the second may conflict (`sf-actors merge --dry-run` "
                                "predicts it)";
    ev.files = o.files;
    st.log->warn("coordinator: {}", ev.text);
    publish(self, std::move(ev));
  }
  save_run(self);
}

// Asks the branch reader which files `mid`'s branch changed; an unreadable branch keeps what
// was known (the next unit asks again).
void read_changes(self_ptr self, const std::string& mid) {
  self->request(self->state.reader, branch_read_timeout, atom::read_changes_v, mid)
    .then(
      [self](branch_changes& r) {
        auto* e = find_entry(self, r.milestone);
        if (e == nullptr)
          return;
        if (!r.error.empty()) {
          self->state.log->warn("coordinator: reading the changes of milestone/{}: {}",
                                r.milestone, r.error);
          return;
        }
        e->changed_files = std::move(r.files);
        warn_overlaps(self);
      },
      [self, mid](const caf::error& err) {
        self->state.log->warn("coordinator: reading the changes of milestone/{}: {}", mid,
                              describe(err));
      });
}

// An agent that needs a person is told once per reason: when the worker first reports it or
// the reason changes, not on every heartbeat that repeats it.
void tell_attention(self_ptr self, const worker_progress& before, const worker_progress& p) {
  std::string why = p.agent ? p.agent->needs_attention : "";
  std::string was = before.agent ? before.agent->needs_attention : "";
  if (why.empty() || why == was)
    return;
  run_event ev;
  ev.kind = event_kind::needs_attention;
  ev.milestone = p.milestone;
  ev.text = why;
  ev.cost = p.cost;
  ev.tokens = p.tokens;
  self->state.log->warn("coordinator: {} needs attention: {}", p.milestone, why);
  publish(self, std::move(ev));
}

void on_progress(self_ptr self, worker_progress p) {
  auto& st = self->state;
  if (io::fault_point_fails("coordinator.progress")) {
    self->quit(make_error(ec::unavailable, "the fault point coordinator.progress ended the "
                                           "coordinator"));
    return;
  }
  auto* e = find_entry(self, p.milestone);
  if (e == nullptr || !e->supervisor)
    return;
  auto before = e->progress;
  e->progress = p;
  // per-slice: each finished slice (but the last, which the milestone merge carries) merges
  // as soon as the worker reports it, so other milestones see the progress early.
  if (st.cfg.prefs.strategy == merge_strategy::per_slice) {
    while (e->slices_queued + 1 < e->slice_ends.size() &&
           p.completed_units >= e->slice_ends[e->slices_queued]) {
      auto slice = e->slice_ids[e->slices_queued++];
      queue_merge(self, *e, slice);
    }
  }
  bool was_starting = e->state == ms::starting;
  // A stale milestone is being stopped: a status that was on its way does not make it run.
  if (e->state != ms::stopping && e->state != ms::stale) {
    auto state = p.state == core::worker_state::paused ? ms::paused : ms::running;
    set_state(self, *e, state, p.state == core::worker_state::error ? p.error : "");
  }
  if (was_starting && e->state != ms::starting)
    fill_slots(self); // A worktree may be made ahead now (see prepare_worktree).
  if (before.completed_units != p.completed_units || before.current_unit != p.current_unit ||
      before.cost != p.cost || before.tokens != p.tokens ||
      activity_line(before.agent) != activity_line(p.agent)) {
    run_event ev;
    ev.kind = event_kind::progress;
    ev.milestone = p.milestone;
    ev.state = e->state;
    ev.text = p.current_unit.empty() ? "" : "running " + p.current_unit + activity_line(p.agent);
    ev.cost = p.cost;
    ev.completed_units = p.completed_units;
    ev.total_units = p.total_units > 0 ? p.total_units : e->total_units;
    ev.tokens = p.tokens;
    publish(self, std::move(ev));
    save_run(self);
  } else if (before.agent != p.agent) {
    save_run(self); // What the agent does now, for `status`.
  }
  tell_attention(self, before, p);
  // A unit committed: what the branch changed may now meet another milestone's work.
  if (p.completed_units > before.completed_units)
    read_changes(self, p.milestone);
  if (before.cost == p.cost && before.tokens == p.tokens)
    return;
  self->request(st.ledger, ledger_timeout, atom::cost_v, p.milestone, p.session, p.cost,
                p.tokens.value_or(core::token_counts{}))
    .then(
      [self](const budget_update& u) {
        auto& st = self->state;
        st.total_cost = u.total;
        st.total_tokens = u.total_tokens;
        if (auto* e = find_entry(self, u.milestone)) {
          e->cost = u.milestone_cost;
          e->tokens = u.milestone_tokens;
        }
        run_event ev;
        ev.kind = event_kind::budget;
        ev.milestone = u.milestone;
        ev.cost = u.total;
        if (u.reached && !st.budget_reached) {
          st.budget_reached = true;
          st.message = fmt::format("budget ceiling reached (${:.2f} of ${:.2f})", u.total,
                                   u.ceiling);
          st.log->warn("coordinator: {}", st.message);
          ev.text = st.message;
          publish(self, std::move(ev));
          for (auto& [id, e] : st.entries)
            if (e.supervisor && is_active(e) && e.state != ms::stopping) {
              self->send(*e.supervisor, atom::stop_v);
              set_state(self, e, ms::stopping, st.message);
            }
          fill_slots(self);
          return;
        }
        ev.text = fmt::format("total cost ${:.2f}", u.total);
        publish(self, std::move(ev));
        save_run(self);
      },
      [self](const caf::error& err) {
        self->state.log->error("coordinator: budget ledger did not answer: {}",
                               caf::to_string(err));
      });
}

// The agent profile that fixes `m`'s gate failures: its last agent unit's, or for a milestone of
// prose only the default profile its worker gives it; empty when it has no agent.
std::string fixing_profile(const coordinator_state& st, const milestone& m) {
  std::string out;
  for (const auto& s : m.slices)
    for (const auto& u : s.units)
      if (u.is_agent())
        out = u.agent;
  if (out.empty() && !(m.unit_count() == 0 && is_prose_only(m)))
    return out;
  const auto* p = st.cfg.prefs.agents.find(out);
  return p == nullptr ? std::string() : p->name;
}

// Under `on_gate_failure: agent`: a milestone that failed the gate goes back to its agent, with
// the gate's report, before it is held; it merges again when the fix is committed. At most
// gate_fix_rounds times per run; a slice, a milestone without an agent, or a run that winds
// down is held as failing the gate at once. True when a fix was queued.
bool fix_gate_failure(self_ptr self, milestone_entry& e) {
  auto& st = self->state;
  const auto& prefs = st.cfg.prefs;
  if (prefs.on_gate_failure != gate_failure_action::agent || !e.in_run || st.shutting_down ||
      st.budget_reached || e.stop_requested)
    return false;
  const auto* m = st.cfg.milestones.find(e.id);
  auto profile = m == nullptr ? std::string() : fixing_profile(st, *m);
  if (profile.empty()) {
    st.log->info("coordinator: {} failed the merge gate and has no agent to fix it", e.id);
    return false;
  }
  if (e.gate_fixes >= prefs.gate_fix_rounds) {
    st.log->info("coordinator: {} failed the merge gate after {} fix(es) by its agent", e.id,
                 e.gate_fixes);
    return false;
  }
  ++e.gate_fixes;
  e.fixing_gate = true;
  e.gate_failed_tip = e.queued_tip;
  e.branch_read = true; // Its branch is complete: the worker starts for the fix, not a merge.
  set_state(self, e, ms::queued,
            fmt::format("failed the merge gate; its agent ({}) is asked to fix it, round {} of "
                        "{} (.sf/parallel/{}.gate-failure.md)",
                        profile, e.gate_fixes, prefs.gate_fix_rounds, e.id));
  return true;
}

void on_merged(self_ptr self, const merge_outcome& x) {
  auto& st = self->state;
  auto* e = find_entry(self, x.milestone);
  if (x.kind == core::merge_kind::queued) {
    // Left in the queue by an earlier coordinator: finish it before declaring the run done.
    if (x.slice.empty() && st.cfg.prefs.auto_merge == auto_merge_mode::automatic) {
      st.pending_merges.insert(x.milestone);
      st.finished_published = false;
    }
    // This notice can arrive after the coordinator found the branch on main already
    // (`merged`); the queue's answer for the item follows, and the state stays.
    if (e != nullptr && x.slice.empty()) {
      e->in_run = true;
      if (e->state != ms::merged)
        set_state(self, *e, ms::complete, "complete, queued for merge");
    }
    return;
  }
  bool push_news = x.kind == core::merge_kind::pushing || x.kind == core::merge_kind::pushed || x.kind == core::merge_kind::push_failed;
  if (push_news) {
    // Pushes run beside the queue; the run waits for one in flight, or about to start, before
    // it ends (a retry after a failure does not hold it: the next merge or start pushes again).
    st.pushing = x.kind == core::merge_kind::pushing || x.push_pending;
    // A milestone that finished as the run was stopped merges, and its merge reopens the
    // queue (and so its pushes): a push it starts must not hold the end of the run either.
    if (st.shutting_down && st.pushing)
      self->send(st.merger, atom::shutdown_v);
    run_event ev;
    ev.kind = event_kind::merge;
    ev.milestone = x.milestone;
    ev.merge = x.kind;
    ev.text = x.text;
    publish(self, std::move(ev));
    check_finished(self);
    return;
  }
  bool obstacle = core::is_obstacle(x.kind);
  // Under auto_merge: confirm a completion waits for the user's yes (the prompt, or `sf-actors
  // merge`); any other answer of the queue settles it.
  const bool confirm_mode = st.cfg.prefs.auto_merge == auto_merge_mode::confirm;
  if (x.slice.empty()) {
    if (x.kind == core::merge_kind::confirm ||
        (x.kind == core::merge_kind::waiting && confirm_mode))
      st.awaiting_answer.insert(x.milestone);
    else if (!obstacle)
      st.awaiting_answer.erase(x.milestone);
  }
  run_event ev;
  ev.kind = x.kind == core::merge_kind::confirm ? event_kind::merge_ready : event_kind::merge;
  ev.milestone = x.milestone;
  ev.merge = x.kind;
  merge_report one;
  one.results.push_back(x);
  ev.text = x.slice.empty() ? "" : "slice " + x.slice + ": ";
  if (x.kind == core::merge_kind::merged) {
    ev.text += "merged into main" + std::string(x.pushed ? " (pushed)" : "");
    if (!x.notes.empty())
      ev.text += "; " + x.notes;
  } else if (x.kind == core::merge_kind::already_merged) {
    ev.text += "already on main";
  } else if (x.kind == core::merge_kind::gate_failed) {
    ev.text += "GATE FAILED: " + x.text;
  } else if (x.kind == core::merge_kind::conflict) {
    // The same words as the merge report, so the user recognises the retry line.
    ev.text += "CONFLICT (" + std::to_string(x.files.size()) + " file(s)): ";
    for (std::size_t i = 0; i < x.files.size(); ++i)
      ev.text += (i ? ", " : "") + x.files[i];
    ev.text += "; resolve them in .sf/worktrees/" + x.milestone +
               " and run `sf-actors merge " + x.milestone + "` to retry";
  } else if (obstacle) {
    ev.text += "not merged yet: " + x.text + "; the merge goes on by itself once that is done";
  } else {
    ev.text += x.text;
  }
  if (!x.push_error.empty())
    ev.text += "; push failed: " + x.push_error;
  // The state says what waits before the question is asked (its prompt follows the event).
  if (e != nullptr && x.slice.empty() && x.kind == core::merge_kind::confirm)
    set_state(self, *e, ms::complete,
              "complete, awaiting your confirmation: answer the prompt, or run `sf-actors "
              "merge " + x.milestone + "`");
  publish(self, ev);
  // An obstacle is not an answer: the queue retries by itself, and the run waits for it
  // (a stop ends the run all the same, see check_finished).
  bool final_kind = x.kind != core::merge_kind::waiting && x.kind != core::merge_kind::confirm &&
                    !obstacle && !core::is_gate_news(x.kind);
  // Under auto_merge: auto a "waiting" is a pause in the queue; otherwise it is the answer.
  bool automatic = st.cfg.prefs.auto_merge == auto_merge_mode::automatic;
  // A gate at work holds the run open whatever auto_merge says: its answer is still to come.
  if (x.slice.empty() && core::is_gate_news(x.kind)) {
    st.pending_merges.insert(x.milestone);
    st.finished_published = false;
  } else if (x.slice.empty() && (final_kind || !automatic)) {
    st.pending_merges.erase(x.milestone);
  }
  if (e != nullptr && x.slice.empty()) {
    if (x.kind == core::merge_kind::merged || x.kind == core::merge_kind::already_merged) {
      st.complete_on_main.insert(x.milestone);
      set_state(self, *e, ms::merged, ev.text);
    } else if (x.kind == core::merge_kind::conflict) {
      std::string files;
      for (const auto& f : x.files)
        files += (files.empty() ? "" : ", ") + f;
      set_state(self, *e, ms::conflict, "merge conflict in " + files);
    } else if (x.kind == core::merge_kind::gate_failed) {
      if (!fix_gate_failure(self, *e))
        set_state(self, *e, ms::gate_failed, x.text);
    } else if (core::is_gate_news(x.kind)) {
      set_state(self, *e, ms::complete, "complete, " + x.text);
    } else if (x.kind == core::merge_kind::halted) {
      set_state(self, *e, ms::complete, x.text);
    } else if (obstacle) {
      set_state(self, *e, ms::complete, ev.text);
    } else if (x.kind != core::merge_kind::waiting && x.kind != core::merge_kind::confirm) {
      set_state(self, *e, ms::complete, "not merged: " + x.text);
    } else if (x.kind == core::merge_kind::waiting) {
      set_state(self, *e, ms::complete, "complete, " + x.text);
    }
  }
  fill_slots(self);
  check_finished(self);
}

caf::result<merge_report> do_merge(self_ptr self, const std::string& mid, bool dry_run) {
  auto rp = self->make_response_promise<merge_report>();
  self->request(self->state.merger, std::chrono::minutes(10), atom::merge_v, mid, dry_run)
    .then([rp](merge_report& r) mutable { rp.deliver(std::move(r)); },
          [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
  return rp;
}

// Ends what the dead workers of an earlier coordinator left running (found by their spawn
// tokens, checked through a pidfd), before any milestone of theirs may start again.
// A monitored supervisor went down. A retiring one is done, so its milestone may start again
// and the run may end; one that still had a worker died of a bug: its worker and everything
// the worker started end (a milestone never has two workers), and the restart policy decides.
void on_down(self_ptr self, const caf::down_msg& dm) {
  auto& st = self->state;
  for (auto it = st.retiring.begin(); it != st.retiring.end(); ++it)
    if (it->second.address() == dm.source) {
      st.retiring.erase(it);
      check_finished(self);
      return;
    }
  for (auto& [id, e] : st.entries) {
    if (!e.supervisor || e.supervisor->address() != dm.source)
      continue;
    auto why = "its supervisor ended unexpectedly (" +
               (dm.reason ? describe(dm.reason) : std::string("no reason given")) + ")";
    st.log->error("coordinator: {}: {}", id, why);
    // By its recorded identity first: a worker just spawned may not show its token yet.
    int n = 0;
    if (e.identity && e.identity->pid > 0)
      n += io::kill_identified({e.identity->pid, e.identity->start_time, e.identity->boot_id})
             ? 1
             : 0;
    if (e.identity && !e.identity->token.empty())
      n += io::kill_token_holders(st.cfg.root, e.identity->token);
    if (n > 0)
      why += fmt::format("; ended its worker ({} process(es) in all)", n);
    e.supervisor.reset();
    e.identity.reset();
    save_registry(self);
    crashed(self, e, why);
    fill_slots(self);
    return;
  }
}

} // namespace

coordinator_state::~coordinator_state() {
  // Supervisors end with their coordinator (their workers run on, to be adopted by the next
  // one): a supervisor nobody listens to would keep its actor system from shutting down.
  for (auto& [id, e] : entries)
    if (e.supervisor)
      caf::anon_send_exit(*e.supervisor, caf::exit_reason::user_shutdown);
  for (auto& [id, sup] : retiring)
    caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
  // The reactor thread must stop before the actors it notifies are gone.
  if (reactor)
    reactor->stop();
  // Joins the writer after it wrote what was handed over (unless a supervisor still holds it,
  // which then does): the last state reaches the disk.
  writer.reset();
}

coordinator_actor::behavior_type
coordinator(coordinator_actor::stateful_pointer<coordinator_state> self, coordinator_config cfg,
            std::shared_ptr<io::coordinator_lock> lock, std::shared_ptr<io::fd_reactor> reactor,
            std::shared_ptr<spdlog::logger> log, run_recovery recovery) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.lock = std::move(lock);
  st.reactor = std::move(reactor);
  st.log = std::move(log);
  st.log->flush_on(spdlog::level::info);
  st.log->info("coordinator: pid {} for {}", ::getpid(), st.cfg.root);
  if (!st.cfg.prefs.git_hooks)
    st.log->info("coordinator: git_hooks: false: the repository's git hooks do not run "
                 "(pre-merge-commit on merges, pre-commit and commit-msg on unit commits)");
  if (st.cfg.log_relay.empty())
    st.log->warn("coordinator: sf-log-relay was not found next to sf-actors; workers write "
                 "their output straight to .sf/parallel/<MID>.log, which is then capped only "
                 "when a status file is read; install sf-log-relay next to sf-actors");
  st.writer = std::make_shared<io::state_writer>(
    st.cfg.root, [log = st.log](const caf::error& err) {
      log->error("coordinator: {}", describe(err));
    });
  for (const auto& m : st.cfg.milestones.milestones) {
    milestone_entry e;
    e.id = m.id;
    e.title = m.title;
    e.total_units = static_cast<int64_t>(m.unit_count());
    e.depends_on = m.depends_on;
    int64_t cumulative = 0;
    for (const auto& sl : m.slices) {
      cumulative += static_cast<int64_t>(sl.units.size());
      e.slice_ends.push_back(cumulative);
      e.slice_ids.push_back(sl.id);
      for (const auto& u : sl.units)
        e.unit_lines.push_back(u.id + " " + u.title);
    }
    if (m.status == milestone_status::complete) {
      e.progress.completed_units = e.total_units;
      st.complete_on_main.insert(m.id);
      e.state = ms::complete;
    }
    st.entries.emplace(m.id, std::move(e));
  }
  // A milestone left in the merge queue by a coordinator that died is complete: it must not
  // be started again while the queue merges it (the merge removes its worktree).
  for (const auto& mid : recovery.queued) {
    auto it = st.entries.find(mid);
    if (it == st.entries.end() || it->second.state == ms::complete)
      continue;
    it->second.state = ms::complete;
    it->second.progress.completed_units = it->second.total_units;
    it->second.in_run = true;
  }
  auto handle = caf::actor_cast<coordinator_actor>(self);
  self->set_down_handler([self](caf::down_msg& dm) { on_down(self, dm); });
  // The ledger, watcher and merge queue are linked: one that fails takes the coordinator
  // with it, and the run's files say why (the host sees the coordinator go down).
  self->set_exit_handler([self](caf::exit_msg& em) {
    auto& st = self->state;
    if (!em.reason)
      return; // A normal end of a linked actor is no reason to end (CAF's default too).
    if (em.reason != caf::exit_reason::user_shutdown &&
        em.reason != caf::exit_reason::kill) {
      st.message = "the coordinator ended because a part of it failed: " +
                   caf::to_string(em.reason);
      st.log->error("coordinator: {}", st.message);
      save_run(self);
      st.writer->flush();
    }
    self->quit(em.reason);
  });
  // The ledger fsyncs each new cost (money must survive a crash): on a thread of its own, so
  // the wait never holds one of the two scheduler threads the coordinator needs.
  st.ledger = spawn_part(self, budget_ledger, st.cfg.root,
                         st.cfg.prefs.budget_ceiling.value_or(0), st.log);
  // Branch reads open the repository and parse YAML: on a thread of their own too.
  st.reader = spawn_part(self, branch_reader, st.cfg.root);
  st.routes = std::make_shared<watch_routes>();
  // Other terminals' requests reach us typed, through the control server.
  st.control = self->spawn<caf::linked>(control_server, st.cfg.root, st.log, handle);
  st.watcher =
    self->spawn<caf::linked>(fs_watcher, st.cfg.root, st.reactor, st.log, st.control, st.routes);
  // Hooks wait on the user's commands: on a thread of their own, fed like any subscriber.
  // Not linked: the runner outlives us by at most one hook timeout, so the hooks of the last
  // events still run.
  if (!st.cfg.prefs.hooks.empty()) {
    hook_runner_config hc;
    hc.root = st.cfg.root;
    hc.hooks = st.cfg.prefs.hooks;
    hc.budget_ceiling = st.cfg.prefs.budget_ceiling.value_or(0);
    hc.base_env = inherited_environment();
    hc.log = st.log;
    hc.coordinator = caf::actor_cast<caf::actor>(self);
    auto hooks = spawn_blocking(self, st.cfg.parts_on_scheduler, hook_runner, std::move(hc));
    st.subscribers.push_back(caf::actor_cast<event_sink_actor>(hooks));
  }
  merge_queue_config mq;
  mq.root = st.cfg.root;
  mq.prefs = st.cfg.prefs;
  mq.can_confirm = st.cfg.can_confirm;
  mq.log = st.log;
  mq.coordinator = handle;
  mq.reactor = st.reactor;
  mq.log_relay = st.cfg.log_relay;
  mq.gate_env = inherited_environment();
  // Merges block on git I/O: the queue gets its own thread.
  st.merger = spawn_part(self, merge_queue, std::move(mq));
  // Workers of a coordinator that died are adopted, never spawned twice: spawn_coordinator
  // proved each is the very process that was spawned, and ended what dead ones left running.
  for (const auto& line : recovery.not_adopted)
    st.log->info("coordinator: {}", line);
  if (!recovery.registry_warning.empty())
    st.log->warn("coordinator: {}", recovery.registry_warning);
  if (recovery.orphans_ended > 0) {
    run_event ev;
    ev.kind = event_kind::message;
    ev.text = fmt::format("ended {} process(es) left running by dead workers of {}",
                          recovery.orphans_ended, recovery.orphans_of);
    st.log->warn("coordinator: {}", ev.text);
    publish(self, std::move(ev));
  }
  for (const auto& who : recovery.adoptable) {
    auto it = st.entries.find(who.milestone);
    if (it == st.entries.end())
      continue;
    it->second.in_run = true;
    it->second.identity = who;
    start_worker(self, it->second, who);
  }
  save_registry(self);
  st.last_running = {std::string(1, '\x01')}; // Forces the first running-set message.
  notify_running(self);
  self->request(st.ledger, ledger_timeout, atom::status_v)
    .then(
      [self](const budget_update& u) {
        self->state.total_cost = u.total;
        self->state.total_tokens = u.total_tokens;
      },
      [self](const caf::error& err) {
        self->state.log->error("coordinator: ledger: {}", caf::to_string(err));
      });
  return {
    [self](atom::start, const std::vector<std::string>& ids) { return do_start(self, ids); },
    [self](atom::stop, const std::string& mid) { return do_stop(self, mid); },
    [self](atom::pause, const std::string& mid) { return do_signal(self, mid, true); },
    [self](atom::resume, const std::string& mid) { return do_signal(self, mid, false); },
    [self](atom::status) { return make_status(self->state); },
    [self](atom::subscribe, const event_sink_actor& sink) {
      self->state.subscribers.push_back(sink);
    },
    [self](atom::progress, worker_progress& p) { on_progress(self, std::move(p)); },
    [self](atom::exited, const worker_exit& x) { on_exit(self, x); },
    [self](atom::stale, const std::string& mid, const std::string& reason) {
      auto* e = find_entry(self, mid);
      if (e == nullptr || !e->supervisor || !is_active(*e) || e->state == ms::stopping)
        return;
      // A hung worker is stopped (SIGTERM, then SIGKILL) and then handled by the restart policy.
      e->stale_stop = true;
      set_state(self, *e, ms::stale, reason + "; stopping it");
      self->send(*e->supervisor, atom::stop_v);
    },
    [self](atom::spawned, const worker_identity& who) {
      if (auto* e = find_entry(self, who.milestone); e != nullptr && e->supervisor) {
        e->identity = who;
        save_registry(self);
      }
    },
    [self](atom::restart_due, const std::string& mid, uint64_t gen) {
      auto* e = find_entry(self, mid);
      if (e == nullptr || e->state != ms::restarting || gen != e->restart_gen)
        return;
      auto& st = self->state;
      if (st.shutting_down || st.budget_reached) {
        set_state(self, *e, ms::stopped, st.budget_reached ? st.message : "stopped on request");
        check_finished(self);
        return;
      }
      start_worker(self, *e);
    },
    [self](atom::merged, const merge_outcome& x) { on_merged(self, x); },
    [self](atom::decline, const std::string& mid) {
      auto& st = self->state;
      if (st.awaiting_answer.erase(mid) == 0)
        return;
      if (auto* e = find_entry(self, mid); e != nullptr && e->state == ms::complete)
        set_state(self, *e, ms::complete,
                  "complete, not merged (you declined); run `sf-actors merge " + mid +
                    "` when ready");
      fill_slots(self); // Its dependents say why they wait; the run may end now.
    },
    [self](atom::merge, const std::string& mid, bool dry_run) {
      return do_merge(self, mid, dry_run);
    },
    [self](atom::shutdown) {
      do_stop(self, "");
    },
  };
}

namespace {

// Reads what a coordinator that died left (holding the lock, before the new one exists): the
// merge queue file, and the worker registry with each recorded worker verified (pid, start
// time, boot, token, root, milestone). Tokens of recorded workers that are gone: what they
// started may still run (a unit in its own process group survives a SIGKILL of coordinator and
// worker together), so it is ended here, before any milestone can start again.
run_recovery recover_run(const coordinator_config& cfg) {
  run_recovery out;
  std::set<std::string> in_plan;
  for (const auto& m : cfg.milestones.milestones)
    in_plan.insert(m.id);
  if (auto queued = io::read_merge_queue(cfg.root))
    for (const auto& item : *queued)
      if (item.slice.empty())
        out.queued.push_back(item.milestone);
  std::set<std::string> dead_tokens;
  std::set<std::string> dead_of;
  auto dead = [&](const worker_identity& who) {
    if (who.token.empty())
      return;
    dead_tokens.insert(who.token);
    dead_of.insert(who.milestone);
  };
  auto known = io::read_worker_registry(cfg.root);
  if (!known) {
    if (code_of(known.error()) != ec::not_found)
      out.registry_warning = describe(known.error());
    return out;
  }
  for (const auto& who : *known) {
    if (in_plan.count(who.milestone) == 0) {
      // A milestone no longer in the plan adopts nothing, but what its dead worker started
      // still ends (a live worker of it runs on; doctor names it).
      if (!(who.pid != 0 && io::verify_worker(cfg.root, who)))
        dead(who);
      continue;
    }
    auto found = who.pid == 0 ? io::find_announced_worker(cfg.root, who)
                              : std::optional<worker_identity>{who};
    if (!found || !io::verify_worker(cfg.root, *found)) {
      out.not_adopted.push_back(fmt::format("{} pid {} from the registry is gone or not ours; "
                                            "not adopted",
                                            who.milestone, who.pid));
      dead(who);
      continue;
    }
    out.adoptable.push_back(*found);
  }
  out.orphans_ended = io::kill_token_holders(cfg.root, dead_tokens);
  for (const auto& mid : dead_of)
    out.orphans_of += (out.orphans_of.empty() ? "" : ", ") + mid;
  return out;
}

} // namespace

caf::expected<coordinator_actor> spawn_coordinator(caf::actor_system& sys, coordinator_config cfg) {
  auto dir = io::ensure_parallel_dir(cfg.root);
  if (!dir)
    return dir.error();
  auto lock = io::coordinator_lock::acquire(cfg.root);
  if (!lock)
    return lock.error();
  // One integration branch per project, decided before anything can merge into it.
  if (auto branch = io::record_integration_branch(cfg.root, cfg.prefs.integration_branch); !branch)
    return branch.error();
  if (auto err = io::ensure_control_dir(cfg.root))
    return err;
  // Holding the lock: a link, FIFO or folder among the run's files ends here, named, before
  // anything is opened through it.
  if (auto err = io::first_unsafe_runtime_file(cfg.root))
    return err;
  // The log is opened here, refusing links and FIFOs, rather than by spdlog from a path. Not in
  // spdlog's registry: two orchestrators in one process must not share a slot.
  auto log = io::open_file_logger(dir->fd.get(), dir->path, "coordinator.log", "sf:" + cfg.root);
  if (!log)
    return log.error();
  (*log)->set_level(cfg.log_level);
  // A merge an earlier coordinator was killed in may have left a checkout of main behind (and
  // our lock in it): finished before anything else merges. A lock held now is retried by the
  // first merge.
  if (auto done = io::recover_checkouts(cfg.root); !done)
    (*log)->warn("coordinator: {}", describe(done.error()));
  else if (!done->empty())
    (*log)->info("coordinator: {}", *done);
  // Holding the lock, no one else writes our own files: temp files of them are leftovers of
  // a coordinator that was killed mid-write.
  for (const char* own : {"run.json.", "workers.json.", "ledger.json.", "merge-queue.json.",
                          "events.jsonl."})
    io::remove_temp_files(cfg.root, own);
  std::shared_ptr<io::fd_reactor> reactor = cfg.reactor;
  if (!reactor) {
    auto made = io::fd_reactor::create();
    if (!made)
      return made.error();
    reactor = std::move(*made);
  }
  auto recovery = recover_run(cfg);
  auto shared_lock = std::make_shared<io::coordinator_lock>(std::move(*lock));
  return sys.spawn(coordinator, std::move(cfg), std::move(shared_lock), std::move(reactor),
                   std::move(*log), std::move(recovery));
}

} // namespace sf
