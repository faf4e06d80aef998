#include "actors/worker_supervisor.hpp"

#include "actors/fs_watcher.hpp"
#include "actors/spawn_blocking.hpp"
#include "actors/worker_cleanup.hpp"
#include "actors/worktree_helper.hpp"
#include "io/files/agent_json.hpp"
#include "io/files/parallel_dir.hpp"
#include "io/files/signal_file.hpp"
#include "io/files/status_file.hpp"
#include "io/git/worktree.hpp"
#include "io/os/fault_point.hpp"
#include "io/os/fd_reactor.hpp"
#include "io/os/inode_release.hpp"
#include "io/os/proc_scan.hpp"
#include "io/os/worker_launch.hpp"
#include "messages/error.hpp"

#include <caf/actor_cast.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <spdlog/spdlog.h>

#include <poll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>

namespace sf {

namespace {

worker_progress to_progress(const io::worker_status& s, const std::string& token) {
  worker_progress p;
  p.milestone = s.milestone_id;
  p.state = s.state;
  p.completed_units = s.completed_units;
  p.total_units = s.total_units.value_or(0);
  if (s.unit)
    p.current_unit = s.unit->id;
  p.current_slice = s.current_slice.value_or("");
  p.cost = s.cost;
  p.last_heartbeat = s.last_heartbeat;
  p.pid = s.pid;
  p.error = s.error.value_or("");
  // Our protocol's workers report the milestone's cost across restarts; others start each
  // session at zero, so their sessions add up in the ledger.
  if (!s.protocol)
    p.session = token;
  if (s.tokens)
    p.tokens = *s.tokens;
  if (s.agent)
    p.agent = io::as_activity(*s.agent);
  return p;
}

// A heartbeat alone is news for the coordinator only once a second: the deadline is kept
// here, and 64 workers beating every 100 ms would otherwise send it 640 messages a second.
constexpr auto heartbeat_forward = std::chrono::seconds(1);

// Everything but the heartbeat: a heartbeat alone is forwarded by time of arrival.
bool same_progress(const worker_progress& a, const worker_progress& b) {
  return a.state == b.state && a.completed_units == b.completed_units &&
         a.total_units == b.total_units && a.current_unit == b.current_unit &&
         a.current_slice == b.current_slice && a.cost == b.cost && a.error == b.error &&
         a.tokens == b.tokens && a.agent == b.agent;
}

using self_ptr = worker_supervisor_actor::stateful_pointer<worker_supervisor_state>;

// A fresh heartbeat moves the deadline but sets no new timer: the one pending timer, when it
// fires, re-arms itself for the rest of the time. One timer per stale_timeout instead of one
// per heartbeat (each timer wakes the clock thread).
void note_heartbeat(self_ptr self) {
  auto& st = self->state;
  st.heartbeat_seen_at = self->clock().now();
  if (st.deadline_armed)
    return;
  st.deadline_armed = true;
  self->delayed_send(self, st.cfg.stale_timeout, atom::heartbeat_due_v, ++st.heartbeat_gen);
}

void on_status_changed(self_ptr self) {
  auto& st = self->state;
  if (!st.child)
    return;
  if (io::fault_point_fails("supervisor.status")) {
    self->quit(
      make_error(ec::unavailable, "the fault point supervisor.status ended this supervisor"));
    return;
  }
  auto status = io::read_status(st.cfg.root, st.cfg.milestone);
  if (!status) {
    if (code_of(status.error()) == ec::not_found)
      return;
    // Reported once per distinct reason; the file counts as "no fresh heartbeat".
    auto text = describe(status.error());
    if (text != st.last_read_error) {
      st.cfg.log->warn("worker_supervisor {}: {}", st.cfg.milestone, text);
      st.last_read_error = text;
    }
    return;
  }
  st.last_read_error.clear();
  if (st.accepted_pids.count(status->pid) == 0) {
    // A worker started through /bin/sh -c may write the pid of the shell's child.
    if (!io::pid_belongs_to_worker(st.child->pid(), status->pid)) {
      st.cfg.log->warn("worker_supervisor {}: status file names pid {} but our worker is pid {}; "
                       "ignored",
                       st.cfg.milestone, status->pid, st.child->pid());
      return;
    }
    // Remembered, so the final status written just before exit is still accepted after the
    // writing process is gone.
    st.accepted_pids.insert(status->pid);
  }
  if (status->spawn_token && *status->spawn_token != st.spawn_token) {
    st.cfg.log->warn("worker_supervisor {}: status file carries another spawn's token; ignored",
                     st.cfg.milestone);
    return;
  }
  // The worker's clock may step (NTP, a suspended VM): a heartbeat is any new value, earlier
  // or later, and its age is measured on our monotonic clock from its arrival.
  bool beat = status->last_heartbeat != st.last_heartbeat;
  if (beat) {
    st.last_heartbeat = status->last_heartbeat;
    st.stale_reported = false;
    note_heartbeat(self);
  }
  auto p = to_progress(*status, st.spawn_token);
  // Units and cost are cumulative within one spawn: a heartbeat with lower counters keeps the
  // worker alive but is not allowed to undo progress already reported.
  p.completed_units = std::max(p.completed_units, st.last.completed_units);
  p.cost = std::max(p.cost, st.last.cost);
  auto now = self->clock().now();
  bool news = !same_progress(p, st.last);
  if (news || (beat && now - st.forwarded_at >= heartbeat_forward)) {
    st.last = p;
    st.forwarded_at = now;
    self->send(st.cfg.coordinator, atom::progress_v, std::move(p));
  }
  // Without a relay (not installed) the log is only capped here, at each status read.
  if (st.cfg.log_relay.empty() || st.cfg.adopt)
    if (auto err = io::cap_log(io::worker_log_path(st.cfg.root, st.cfg.milestone),
                               io::worker_log_cap))
      st.cfg.log->warn("worker_supervisor {}: {}", st.cfg.milestone, describe(err));
}

// Registers the pidfd with the reactor and the status file with the watcher, and tells the
// coordinator who the worker is.
caf::error watch_child(self_ptr self) {
  auto& st = self->state;
  auto& cfg = st.cfg;
  auto handle = caf::actor_cast<worker_supervisor_actor>(self);
  // One-shot: an exited process's pidfd stays readable, and one message is all we need.
  auto id = cfg.reactor->watch_once(st.child->pidfd(),
                                    [handle] { caf::anon_send(handle, atom::pidfd_ready_v); });
  if (!id)
    return id.error();
  st.reactor_id = *id;
  worker_identity who;
  who.milestone = cfg.milestone;
  who.pid = st.child->pid();
  who.start_time = st.child->start_time();
  if (auto boot = io::read_boot_id())
    who.boot_id = *boot;
  who.token = st.spawn_token;
  io::fault_point("worker.after_spawn");
  self->send(cfg.coordinator, atom::spawned_v, std::move(who));
  // The reactor routes status changes by this table: we must be in it before the first read,
  // or a status written between that read and the watcher's `watch` would go unnoticed.
  if (cfg.routes) {
    std::lock_guard<std::mutex> guard{cfg.routes->mtx};
    cfg.routes->to[cfg.milestone] = handle;
  }
  self->send(cfg.watcher, atom::watch_v, cfg.milestone, handle);
  note_heartbeat(self);
  on_status_changed(self);
  return {};
}

void finish(self_ptr self, worker_exit x);

// The worker exited between the coordinator's check and our pidfd: that is an exit like any
// other, of unknown status (it was not our child); the coordinator reads the outcome from
// the milestone's branch.
void adopted_worker_gone(self_ptr self) {
  const auto& who = *self->state.cfg.adopt;
  worker_exit x;
  x.milestone = who.milestone;
  x.pid = who.pid;
  x.exit_code = -1;
  x.text = "exited before it could be adopted (exit status unknown)";
  finish(self, std::move(x));
}

// Adopts the worker, or ends this supervisor through `adopted_worker_gone` when it is gone.
caf::error adopt_worker(self_ptr self) {
  auto& st = self->state;
  const auto& who = *st.cfg.adopt;
  io::process_identity id;
  id.pid = who.pid;
  id.start_time = who.start_time;
  id.boot_id = who.boot_id;
  // The recorded token is ours (from workers.json): whatever carries it is this worker's.
  st.spawn_token = who.token;
  io::fault_point("worker.before_adopt");
  auto child = io::adopt_process(id);
  if (!child) {
    if (io::identity_matches(id))
      return child.error();
    adopted_worker_gone(self);
    return {};
  }
  // The pid and start time match; the token proves it is the very spawn we recorded.
  auto token = io::read_environ_value(who.pid, "SF_SPAWN_TOKEN");
  if (!token || *token != who.token) {
    // A zombie's environment reads as empty: it may have exited after the pidfd was taken.
    pollfd pfd{child->pidfd(), POLLIN, 0};
    if (::poll(&pfd, 1, 0) > 0 || !io::identity_matches(id)) {
      adopted_worker_gone(self);
      return {};
    }
    return make_error(ec::process_error, "pid " + std::to_string(who.pid) +
                                           " does not carry the recorded spawn token");
  }
  st.child.emplace(std::move(*child));
  st.cfg.log->info("worker_supervisor {}: adopted pid {}", st.cfg.milestone, who.pid);
  return watch_child(self);
}

// Tells the coordinator that no worker was started (pid 0), and ends this supervisor.
void report_unstarted(self_ptr self, const std::string& text) {
  auto& st = self->state;
  worker_exit x;
  x.milestone = st.cfg.milestone;
  x.text = text;
  if (st.stopping)
    st.cfg.log->info("worker_supervisor {}: {}", st.cfg.milestone, text);
  else
    st.cfg.log->error("worker_supervisor {}: {}", st.cfg.milestone, text);
  self->send(st.cfg.coordinator, atom::exited_v, std::move(x));
  self->quit();
}

caf::error launch_worker(self_ptr self, const std::string& wt_path) {
  auto& st = self->state;
  auto& cfg = st.cfg;
  // Leftovers of an earlier worker must not steer this one (a stale "stop" would end it).
  io::unlink_deferred(io::signal_path(cfg.root, cfg.milestone));
  io::unlink_deferred(io::status_path(cfg.root, cfg.milestone));
  io::remove_temp_files(cfg.root, cfg.milestone + ".");
  io::worker_launch launch{cfg.root, cfg.milestone, wt_path, cfg.worker_argv, cfg.base_env,
                           st.spawn_token};
  auto launched = io::spawn_worker(launch, cfg.log_relay);
  if (!launched)
    return launched.error();
  st.child.emplace(std::move(launched->worker));
  if (launched->relay)
    st.relay = std::make_shared<io::child_process>(std::move(*launched->relay));
  cfg.log->info("worker_supervisor {}: spawned pid {} in {}", cfg.milestone, st.child->pid(),
                wt_path);
  if (auto err = watch_child(self)) {
    // Without exit notification we cannot supervise it: end it rather than lose track.
    (void) st.child->signal_group(SIGKILL);
    pollfd pfd{st.child->pidfd(), POLLIN, 0};
    ::poll(&pfd, 1, 5000);
    int status = 0;
    st.child->try_reap(status);
    st.child.reset();
    return err;
  }
  return {};
}

// The worktree and the durable registry entry come from the helper; then the spawn.
void prepare_and_launch(self_ptr self) {
  auto& st = self->state;
  if (st.stopping) {
    report_unstarted(self, "stopped before its worker was spawned");
    return;
  }
  st.spawn_token = st.cfg.spawn_token.empty() ? io::new_spawn_token() : st.cfg.spawn_token;
  auto helper = spawn_blocking(self, st.cfg.helper_on_scheduler, worktree_helper, st.cfg.root,
                               st.cfg.milestone, st.cfg.setup, st.cfg.before_spawn,
                               st.creation_cancel);
  self->request(helper, worktree_helper_wait(st.cfg.setup), atom::make_worktree_v)
    .then(
      [self](const std::string& wt_path) {
        if (self->state.stopping)
          report_unstarted(self, "stopped before its worker was spawned");
        else if (auto err = launch_worker(self, wt_path))
          report_unstarted(self, "cannot start worker: " + describe(err));
      },
      [self](const caf::error& err) {
        // A late answer of the helper is dropped with us; its worktree stays for a retry.
        if (err == caf::sec::request_timeout)
          report_unstarted(self, fmt::format("cannot start worker: its worktree was not ready "
                                             "within {} min; check the disk and "
                                             ".sf/worktrees/{}",
                                             std::chrono::duration_cast<std::chrono::minutes>(
                                               worktree_helper_wait(self->state.cfg.setup))
                                               .count(),
                                             self->state.cfg.milestone));
        else
          report_unstarted(self, "cannot start worker: " + describe(err));
      });
}

// The relay ends by itself once the last holder of the worker's output pipe is gone, usually
// right after the worker: reaped now if it is done, else by the reactor when it is.
void release_relay(worker_supervisor_state& st) {
  if (!st.relay)
    return;
  auto relay = std::move(st.relay);
  int status = 0;
  if (relay->try_reap(status) || !st.cfg.reactor)
    return;
  (void) st.cfg.reactor->watch_once(relay->pidfd(), [relay] {
    int ignored = 0;
    (void) relay->try_reap(ignored);
  });
}

// The worker is gone: report it, then clean up after it and end this supervisor.
void finish(self_ptr self, worker_exit x) {
  auto& st = self->state;
  if (st.reactor_id != 0) {
    st.cfg.reactor->unwatch(st.reactor_id);
    st.reactor_id = 0;
  }
  if (st.cfg.routes) {
    // Only our own entry: a restarted supervisor of this milestone may be there already.
    auto me = caf::actor_cast<worker_supervisor_actor>(self);
    std::lock_guard<std::mutex> guard{st.cfg.routes->mtx};
    if (auto it = st.cfg.routes->to.find(st.cfg.milestone);
        it != st.cfg.routes->to.end() && it->second == me)
      st.cfg.routes->to.erase(it);
  }
  self->send(st.cfg.watcher, atom::unwatch_v, st.cfg.milestone);
  auto pid = x.pid;
  auto text = x.text;
  // The report goes first: what follows touches the disk (ext4 unlinks took 0.4-4 ms when
  // measured) and scans /proc. The coordinator starts this milestone's next supervisor only
  // once this one is gone, so the files removed and processes killed below are never the
  // next worker's.
  self->send(st.cfg.coordinator, atom::exited_v, std::move(x));
  st.cfg.log->info("worker_supervisor {}: pid {} {}", st.cfg.milestone, pid, text);
  st.child.reset();
  release_relay(st);
  // Whatever way it ended (done, failed, stopped, hung, adopted), no runtime file of it stays
  // and nothing it started outlives it. That work touches the disk and /proc: a helper thread
  // does it, and this supervisor ends once it is done.
  auto helper = spawn_blocking(self, st.cfg.helper_on_scheduler, worker_cleanup, st.cfg.root,
                               st.cfg.milestone, st.spawn_token);
  self->request(helper, worker_cleanup_timeout, atom::clean_up_v)
    .then(
      [self](int killed) {
        auto& st = self->state;
        if (killed > 0)
          st.cfg.log->warn("worker_supervisor {}: killed {} process(es) the worker left behind",
                           st.cfg.milestone, killed);
        self->quit();
      },
      [self](const caf::error& err) {
        self->state.cfg.log->warn("worker_supervisor {}: cleaning up after the worker: {}",
                                  self->state.cfg.milestone, describe(err));
        self->quit();
      });
}

} // namespace

worker_supervisor_state::~worker_supervisor_state() {
  if (reactor_id != 0 && cfg.reactor)
    cfg.reactor->unwatch(reactor_id);
  release_relay(*this);
}

worker_supervisor_actor::behavior_type
worker_supervisor(worker_supervisor_actor::stateful_pointer<worker_supervisor_state> self,
                  supervisor_config cfg) {
  self->state.cfg = std::move(cfg);
  auto& cf = self->state.cfg;
  if (cf.adopt) {
    if (auto err = adopt_worker(self))
      report_unstarted(self, "cannot start worker: " + describe(err));
  } else if (cf.predecessor) {
    // The previous supervisor of this milestone still removes its worker's files: the new
    // worker's must not be among them.
    self->set_down_handler([self](caf::down_msg&) { prepare_and_launch(self); });
    self->monitor(*cf.predecessor);
    cf.predecessor.reset();
  } else {
    prepare_and_launch(self);
  }
  return {
    [self](atom::file) { on_status_changed(self); },
    [self](atom::pause) {
      auto& st = self->state;
      if (auto err = io::send_signal(st.cfg.root, st.cfg.milestone, io::signal_kind::pause))
        st.cfg.log->error("worker_supervisor {}: {}", st.cfg.milestone, describe(err));
    },
    [self](atom::resume) {
      auto& st = self->state;
      if (auto err = io::send_signal(st.cfg.root, st.cfg.milestone, io::signal_kind::resume))
        st.cfg.log->error("worker_supervisor {}: {}", st.cfg.milestone, describe(err));
    },
    [self](atom::stop) {
      auto& st = self->state;
      if (st.stopping)
        return;
      st.stopping = true;
      // A worktree still being checked out stops at its next file: a stop never waits for it.
      st.creation_cancel->store(true);
      if (!st.child)
        return; // Not spawned yet: checked before the spawn.
      if (auto err = io::send_signal(st.cfg.root, st.cfg.milestone, io::signal_kind::stop))
        st.cfg.log->error("worker_supervisor {}: {}", st.cfg.milestone, describe(err));
      // SIGTERM gives an immediate answer; SIGKILL follows if the grace period passes.
      if (auto err = st.child->signal_group(SIGTERM))
        st.cfg.log->warn("worker_supervisor {}: {}", st.cfg.milestone, describe(err));
      self->delayed_send(self, st.cfg.stop_grace, atom::kill_v, ++st.stop_gen);
    },
    [self](atom::kill, uint64_t gen) {
      auto& st = self->state;
      if (gen != st.stop_gen || !st.child)
        return;
      st.cfg.log->warn("worker_supervisor {}: pid {} ignored SIGTERM for {} ms; sending SIGKILL",
                       st.cfg.milestone, st.child->pid(), st.cfg.stop_grace.count());
      if (auto err = st.child->signal_group(SIGKILL))
        st.cfg.log->warn("worker_supervisor {}: {}", st.cfg.milestone, describe(err));
    },
    [self](atom::heartbeat_due, uint64_t gen) {
      auto& st = self->state;
      if (gen != st.heartbeat_gen)
        return;
      st.deadline_armed = false;
      if (!st.child || st.stale_reported)
        return;
      auto due = st.heartbeat_seen_at + st.cfg.stale_timeout;
      if (auto now = self->clock().now(); now < due) {
        st.deadline_armed = true;
        self->delayed_send(self, due - now, atom::heartbeat_due_v, ++st.heartbeat_gen);
        return;
      }
      // A lost inotify event must not make a live worker look hung: read the file once more,
      // which re-arms the deadline if the heartbeat moved on.
      on_status_changed(self);
      if (st.deadline_armed)
        return;
      st.stale_reported = true;
      auto secs = std::chrono::duration<double>(st.cfg.stale_timeout).count();
      auto reason = fmt::format("no heartbeat for {:.1f} s (stale_timeout)", secs);
      // A worker that keeps writing a status we refuse looks silent: say why.
      if (!st.last_read_error.empty())
        reason += "; its status file was refused: " + st.last_read_error;
      st.cfg.log->warn("worker_supervisor {}: pid {} is stale: {}", st.cfg.milestone,
                       st.child->pid(), reason);
      self->send(st.cfg.coordinator, atom::stale_v, st.cfg.milestone, reason);
    },
    [self](atom::pidfd_ready) {
      auto& st = self->state;
      if (!st.child)
        return;
      // Kill what the worker left in its group while its zombie still pins the group id.
      (void) st.child->signal_group(SIGKILL);
      int status = 0;
      if (!st.child->try_reap(status))
        return; // Spurious readiness; the reactor fires again when it really exits.
      // Read the final status the worker wrote before it exited.
      on_status_changed(self);
      worker_exit x;
      x.milestone = st.cfg.milestone;
      x.pid = st.child->pid();
      if (status == -1)
        x.exit_code = -1; // An adopted worker: not our child, so its status is unknown.
      else if (WIFEXITED(status))
        x.exit_code = WEXITSTATUS(status);
      else if (WIFSIGNALED(status))
        x.term_signal = WTERMSIG(status);
      x.text = io::describe_exit(status);
      finish(self, std::move(x));
    },
  };
}

} // namespace sf
