// Measures the running runtime in-process: a coordinator inside an sf::runtime, with an event
// sink that stamps every run event on arrival (steady_clock).
//
//   exit    SIGKILL a worker, time from kill() to the coordinator's state event
//   status  rename a new status file into .sf/parallel/, time to the progress event
//   load    N fake workers heartbeating every 100 ms: our CPU share and peak RSS
//   idle    8 quiet workers: our CPU share
//   stop    16 workers stopped at once, time until every process has exited (workers that
//           obey SIGTERM, and workers that ignore it, which need the SIGKILL after stop_grace)
//   sched   a 24-milestone DAG run by the reference worker with auto merge, against the
//           zero-overhead list schedule of the same DAG
//   pause   `sf-actors pause M` against a detached coordinator, until the status says paused
//
// Fake workers are this program run as `runtime_bench --fake-worker MODE_FILE`: separate
// processes, so their CPU never counts in our getrusage(RUSAGE_SELF). Quiet ones write one
// status file and then exec `sleep`, a small process for the kernel to end.
//
// Usage: runtime_bench [--quick] [--only name,name...]
// Prints "name value unit" lines; lines starting with '#' are notes.

#include "actors/coordinator.hpp"
#include "actors/orchestrator.hpp"
#include "actors/runtime.hpp"
#include "bench/bench_session.hpp"
#include "bench/bench_util.hpp"
#include "config/plan.hpp"
#include "config/preferences.hpp"
#include "io/files/coordinator_lock.hpp"
#include "io/files/gitignore.hpp"
#include "io/files/status_file.hpp"
#include "io/git/worktree.hpp"
#include "io/os/dir_watcher.hpp"
#include "messages/error.hpp"
#include "messages/interfaces.hpp"

#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;

namespace {

using sf::bench::finished_event;
using sf::bench::make_project;
using sf::bench::milestone_def;
using sf::bench::ms_since;
using sf::bench::quote;
using sf::bench::recorder;
using sf::bench::self_exe;
using sf::bench::session;
using sf::bench::stamped;
using sf::bench::state_of;
using sf::bench::stats;
using sf::bench::summarize;
using sf::bench::write_text;
bool sh(const std::string& cmd) { return sf::bench::sh(cmd, "runtime_bench"); }

using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

// ---------------------------------------------------------------------------------------------
// Small helpers

double ms_between(clock_type::time_point a, clock_type::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}



void print_stats(const std::string& name, const std::vector<double>& v) {
  auto s = summarize(v);
  std::printf("%s_trials %zu count\n", name.c_str(), v.size());
  std::printf("%s_min %.3f ms\n", name.c_str(), s.min);
  std::printf("%s_median %.3f ms\n", name.c_str(), s.median);
  std::printf("%s_p99 %.3f ms\n", name.c_str(), s.p99);
  std::printf("%s_max %.3f ms\n", name.c_str(), s.max);
  std::fflush(stdout);
}

/// CPU seconds (user + system) of every thread of this process.
double cpu_seconds() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  auto tv = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return tv(ru.ru_utime) + tv(ru.ru_stime);
}

/// A field of /proc/self/status in kB (VmHWM, VmRSS), or -1.
long proc_status_kb(const std::string& key) {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind(key + ":", 0) == 0)
      return std::atol(line.c_str() + key.size() + 1);
  return -1;
}

/// Resets VmHWM to the current RSS, so a phase's peak is its own (Linux >= 4.0).
void reset_peak_rss() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
}

int pidfd_open(pid_t pid) {
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}

// ---------------------------------------------------------------------------------------------
// Fake worker: writes its status (original protocol fields) and then heartbeats or waits.

void write_status_file(const std::string& root, const sf::io::worker_status& s,
                       const std::string& tmp_suffix) {
  auto path = sf::io::status_path(root, s.milestone_id);
  auto tmp = path + ".tmp." + tmp_suffix;
  if (write_text(tmp, sf::io::encode_status(s)))
    ::rename(tmp.c_str(), path.c_str());
}

int fake_worker(const std::string& mode_file) {
  const char* mid = std::getenv("SF_MILESTONE_LOCK");
  const char* root = std::getenv("SF_PROJECT_ROOT");
  if (mid == nullptr || root == nullptr) {
    std::fprintf(stderr, "fake worker: SF_MILESTONE_LOCK and SF_PROJECT_ROOT must be set\n");
    return 2;
  }
  long interval_ms = 0;
  int ignore_term = 0;
  {
    std::ifstream in(mode_file);
    in >> interval_ms >> ignore_term;
  }
  if (ignore_term != 0)
    ::signal(SIGTERM, SIG_IGN);
  sf::io::worker_status s;
  s.milestone_id = mid;
  s.pid = ::getpid();
  s.state = sf::core::worker_state::running;
  s.started_at = sf::io::now_ms();
  s.last_heartbeat = s.started_at;
  s.worktree_path = fs::current_path().string();
  char suffix[32];
  std::snprintf(suffix, sizeof suffix, "%x", static_cast<unsigned>(::getpid()));
  write_status_file(root, s, suffix);
  if (interval_ms <= 0) {
    // Quiet: no heartbeat at all. Becoming `sleep` keeps the pid (and an ignored SIGTERM) but
    // sheds this program's mappings: the kernel took 0.6-1.2 ms to tear down this binary
    // before its pidfd turned readable, which would time the victim rather than our runtime.
    ::execl("/bin/sleep", "sleep", "infinity", static_cast<char*>(nullptr));
    for (;;)
      ::pause(); // No sleep binary: stay as we are; SIGTERM (unless ignored) or SIGKILL ends us.
  }
  timespec next{};
  ::clock_gettime(CLOCK_MONOTONIC, &next);
  for (;;) {
    next.tv_nsec += interval_ms * 1000000L;
    while (next.tv_nsec >= 1000000000L) {
      next.tv_nsec -= 1000000000L;
      ++next.tv_sec;
    }
    // Absolute deadlines keep the period exact however long a write takes.
    while (::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, nullptr) == EINTR) {
    }
    s.last_heartbeat = sf::io::now_ms();
    write_status_file(root, s, suffix);
  }
}


sf::preferences fake_prefs(const std::string& root, double stop_grace) {
  sf::preferences p;
  p.enabled = true;
  p.max_workers = 64;
  p.auto_merge = sf::auto_merge_mode::manual;
  p.stale_timeout = 3600; // Quiet fake workers never heartbeat; they must not go stale.
  p.heartbeat_interval = 1800;
  p.stop_grace = stop_grace;
  p.max_restarts = 0; // A killed worker fails at once: one state event per kill.
  p.worker_command = "exec " + quote(self_exe()) + " --fake-worker " + quote(root + "/fake.mode");
  return p;
}

bool set_mode(const std::string& root, int interval_ms, bool ignore_term) {
  return write_text(root + "/fake.mode",
                    std::to_string(interval_ms) + " " + (ignore_term ? "1" : "0") + "\n");
}

std::string fake_id(int i) {
  char id[16];
  std::snprintf(id, sizeof id, "F%02d", i);
  return id;
}

std::vector<std::string> fake_ids(int n) {
  std::vector<std::string> ids;
  for (int i = 1; i <= n; ++i)
    ids.push_back(fake_id(i));
  return ids;
}

/// Creates the worktrees before anything is timed, for the rows that measure the coordinator
/// and not worktree creation (which has its own row).
bool precreate_worktrees(const std::string& root, const std::vector<std::string>& ids) {
  for (const auto& id : ids)
    if (auto wt = sf::io::ensure_worktree(root, id); !wt) {
      std::fprintf(stderr, "runtime_bench: %s\n", sf::describe(wt.error()).c_str());
      return false;
    }
  return true;
}

std::optional<int64_t> worker_pid(const std::string& root, const std::string& mid) {
  auto st = sf::io::read_status(root, mid);
  if (!st || st->pid <= 0)
    return std::nullopt;
  return st->pid;
}

/// Waits (polling /proc, at most 2 s) until the quiet fake worker `pid` has become `sleep`. It
/// writes its status just before that exec, so a kill on the `running` event could land while
/// the kernel still tears down this big binary, which times the victim, not the runtime.
bool wait_exec_done(int64_t pid) {
  auto comm = "/proc/" + std::to_string(pid) + "/comm";
  auto deadline = clock_type::now() + 2s;
  while (clock_type::now() < deadline) {
    std::ifstream in(comm);
    std::string name;
    if (std::getline(in, name) && name == "sleep")
      return true;
    timespec pause{0, 200 * 1000};
    ::nanosleep(&pause, nullptr);
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Phases on fake workers

bool bench_exit(session& s, const std::string& root, int trials) {
  std::vector<double> ms;
  const std::string mid = "F01";
  for (int t = 0; t < trials; ++t) {
    if (!s.start_and_wait_running({mid}, 10s))
      return false;
    auto pid = worker_pid(root, mid);
    if (!pid) {
      std::fprintf(stderr, "runtime_bench: no pid in %s's status\n", mid.c_str());
      return false;
    }
    if (!wait_exec_done(*pid))
      std::fprintf(stderr, "runtime_bench: worker %lld did not become sleep; killing it as is\n",
                   static_cast<long long>(*pid));
    auto from = s.rec->size();
    auto t0 = clock_type::now();
    ::kill(static_cast<pid_t>(*pid), SIGKILL);
    // max_restarts is 0, so the next state of the milestone is `failed`.
    auto ev = s.rec->wait(from, [&](const sf::run_event& e) {
      return e.milestone == mid && e.kind == sf::event_kind::state_changed;
    }, 10s);
    if (!ev) {
      std::fprintf(stderr, "runtime_bench: no state event within 10 s of SIGKILL\n");
      return false;
    }
    ms.push_back(ms_between(t0, ev->at));
  }
  print_stats("runtime_exit_latency", ms);
  return true;
}

bool bench_status(session& s, const std::string& root, int trials) {
  const std::string mid = "F01";
  if (!s.start_and_wait_running({mid}, 10s))
    return false;
  auto pid = worker_pid(root, mid);
  if (!pid)
    return false;
  sf::io::worker_status st;
  st.milestone_id = mid;
  st.pid = *pid;
  st.state = sf::core::worker_state::running;
  st.started_at = sf::io::now_ms();
  st.worktree_path = root + "/.sf/worktrees/" + mid;
  auto path = sf::io::status_path(root, mid);
  auto tmp = path + ".tmp.bench";
  std::vector<double> ms;
  for (int t = 0; t < trials; ++t) {
    // A new current unit each time, so every file is a progress change the coordinator reports.
    auto unit = "T" + std::to_string(t);
    st.unit = sf::io::current_unit{"task", unit, sf::io::now_ms()};
    st.last_heartbeat = sf::io::now_ms();
    if (!write_text(tmp, sf::io::encode_status(st)))
      return false;
    auto from = s.rec->size();
    auto t0 = clock_type::now();
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
      std::perror("rename");
      return false;
    }
    auto ev = s.rec->wait(from, [&](const sf::run_event& e) {
      return e.milestone == mid && e.kind == sf::event_kind::progress &&
             e.text == "running " + unit;
    }, 10s);
    if (!ev) {
      std::fprintf(stderr, "runtime_bench: no progress event within 10 s of a status rename\n");
      return false;
    }
    ms.push_back(ms_between(t0, ev->at));
  }
  print_stats("runtime_status_latency", ms);
  return s.stop_all(30s);
}

/// CPU share of this process over `window` while `workers` fake workers run in `mode`.
bool bench_cpu(session& s, const std::string& root, const std::string& name, int workers,
               int interval_ms, std::chrono::seconds window) {
  if (!set_mode(root, interval_ms, false))
    return false;
  reset_peak_rss();
  if (!s.start_and_wait_running(fake_ids(workers), 60s))
    return false;
  auto c0 = cpu_seconds();
  auto w0 = clock_type::now();
  // The measurement window is wall time by definition; nothing to wait on but the clock.
  std::this_thread::sleep_for(window);
  auto c1 = cpu_seconds();
  auto wall = std::chrono::duration<double>(clock_type::now() - w0).count();
  long hwm = proc_status_kb("VmHWM");
  std::printf("%s_workers %d count\n", name.c_str(), workers);
  std::printf("%s_seconds %.1f s\n", name.c_str(), wall);
  std::printf("%s_cpu %.3f %%\n", name.c_str(), 100.0 * (c1 - c0) / wall);
  std::printf("%s_peak_rss %.1f MB\n", name.c_str(), static_cast<double>(hwm) / 1024.0);
  std::fflush(stdout);
  return s.stop_all(60s);
}

/// Time from the stop request until every worker process has exited, per trial.
bool bench_stop(session& s, const std::string& root, const std::string& name, int workers,
                bool ignore_term, int trials) {
  if (!set_mode(root, 0, ignore_term))
    return false;
  std::vector<double> ms;
  for (int t = 0; t < trials; ++t) {
    auto ids = fake_ids(workers);
    if (!s.start_and_wait_running(ids, 60s))
      return false;
    std::vector<int> fds;
    for (const auto& id : ids) {
      auto pid = worker_pid(root, id);
      int fd = pid ? pidfd_open(static_cast<pid_t>(*pid)) : -1;
      if (fd < 0) {
        std::fprintf(stderr, "runtime_bench: cannot watch %s's worker\n", id.c_str());
        for (int f : fds)
          ::close(f);
        return false;
      }
      fds.push_back(fd);
    }
    auto from = s.rec->size();
    auto t0 = clock_type::now();
    s.request_stop();
    std::size_t gone = 0;
    std::vector<pollfd> pfds;
    for (int fd : fds)
      pfds.push_back({fd, POLLIN, 0});
    auto deadline = t0 + 60s;
    while (gone < pfds.size() && clock_type::now() < deadline) {
      if (::poll(pfds.data(), pfds.size(), 1000) <= 0)
        continue;
      for (auto& p : pfds)
        if (p.fd >= 0 && (p.revents & POLLIN) != 0) {
          p.fd = -1; // Negative fds are skipped by poll.
          ++gone;
        }
    }
    auto t1 = clock_type::now();
    for (int fd : fds)
      ::close(fd);
    if (gone < pfds.size()) {
      std::fprintf(stderr, "runtime_bench: %zu worker(s) still alive 60 s after stop\n",
                   pfds.size() - gone);
      return false;
    }
    ms.push_back(ms_between(t0, t1));
    if (!s.rec->wait(from, finished_event(), 30s))
      return false;
  }
  auto st = summarize(ms);
  std::printf("%s_trials %zu count\n", name.c_str(), ms.size());
  std::printf("%s_min %.1f ms\n", name.c_str(), st.min);
  std::printf("%s_median %.1f ms\n", name.c_str(), st.median);
  std::printf("%s_max %.1f ms\n", name.c_str(), st.max);
  std::fflush(stdout);
  return true;
}

// ---------------------------------------------------------------------------------------------
// Scheduling efficiency

struct dag_node {
  std::string id;
  std::vector<int> deps;
};

/// The benchmark DAG: four layers of six; each milestone after the first layer waits for two
/// of the layer before it.
std::vector<dag_node> make_dag(int count) {
  std::vector<dag_node> nodes;
  const int width = 6;
  for (int i = 0; i < count; ++i) {
    char id[16];
    std::snprintf(id, sizeof id, "M%02d", i + 1);
    dag_node n{id, {}};
    if (i >= width) {
      int base = (i / width - 1) * width;
      n.deps.push_back(base + i % width);
      n.deps.push_back(base + (i + 1) % width);
    }
    nodes.push_back(std::move(n));
  }
  return nodes;
}

/// Makespan of greedy list scheduling with zero overhead: whenever a slot is free, the lowest
/// id whose dependencies have finished starts (the coordinator's own order).
double list_schedule(const std::vector<dag_node>& dag, int slots, double duration) {
  std::vector<double> finish(dag.size(), -1);
  std::vector<bool> started(dag.size(), false);
  std::vector<double> running; // Finish times of busy slots.
  double now = 0;
  std::size_t done = 0;
  while (done < dag.size()) {
    for (std::size_t i = 0; i < dag.size() && static_cast<int>(running.size()) < slots; ++i) {
      if (started[i])
        continue;
      bool ready = std::all_of(dag[i].deps.begin(), dag[i].deps.end(),
                               [&](int d) { return finish[d] >= 0 && finish[d] <= now; });
      if (!ready)
        continue;
      started[i] = true;
      finish[i] = now + duration;
      running.push_back(finish[i]);
    }
    if (running.empty())
      return -1; // A cycle: cannot happen with make_dag.
    now = *std::min_element(running.begin(), running.end());
    auto before = running.size();
    running.erase(std::remove(running.begin(), running.end(), now), running.end());
    done += before - running.size();
  }
  return now;
}

/// Where a milestone's time goes, averaged over the run (ms, from the sink's stamps):
/// slot given -> worker running, running -> complete minus the units' own work, complete ->
/// merged, and merged -> the next dependent starting.
/// Per unit: its span beyond the unit's own duration (process start, metrics, commit) and the
/// gap to the next unit's start (status write, signal check), from the progress events.
void print_unit_overheads(const std::map<std::string, std::vector<stamped>>& progress,
                          double unit_ms) {
  std::vector<double> span, gap;
  for (const auto& [id, evs] : progress) {
    std::map<int64_t, clock_type::time_point> started, done; // By unit number, from 1.
    for (const auto& e : evs) {
      if (!e.ev.text.empty())
        started.emplace(e.ev.completed_units + 1, e.at);
      else
        done.emplace(e.ev.completed_units, e.at);
    }
    for (const auto& [k, t] : started) {
      if (auto d = done.find(k); d != done.end())
        span.push_back(ms_between(t, d->second) - unit_ms);
      if (auto next = started.find(k + 1), d = done.find(k); next != started.end() && d != done.end())
        gap.push_back(ms_between(d->second, next->second));
    }
  }
  auto quantile = [](std::vector<double> v, double q) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0.0 : sf::bench::quantile_of_sorted(v, q);
  };
  std::printf("runtime_sched_unit_span_median %.1f ms\n", quantile(span, 0.5));
  std::printf("runtime_sched_unit_span_p90 %.1f ms\n", quantile(span, 0.9));
  std::printf("runtime_sched_unit_gap_median %.1f ms\n", quantile(gap, 0.5));
  std::printf("runtime_sched_unit_gap_p90 %.1f ms\n", quantile(gap, 0.9));
}

void print_sched_phases(recorder& rec, std::size_t first, const std::vector<std::string>& ids,
                        double work_seconds, int units) {
  struct times {
    std::optional<clock_type::time_point> starting, running, complete, merged;
  };
  std::map<std::string, times> t;
  std::map<std::string, std::vector<stamped>> progress;
  std::size_t idx = first;
  while (auto ev = rec.wait(idx, [](const sf::run_event&) { return true; }, 0s)) {
    if (ev->ev.kind == sf::event_kind::progress)
      progress[ev->ev.milestone].push_back(*ev);
    auto& m = t[ev->ev.milestone];
    auto st = sf::state_name(ev->ev);
    if (st == "starting" && !m.starting)
      m.starting = ev->at;
    else if (st == "running" && !m.running)
      m.running = ev->at;
    else if (st == "complete" && !m.complete)
      m.complete = ev->at;
    else if (st == "merged" && !m.merged)
      m.merged = ev->at;
  }
  double start = 0, work = 0, merge = 0;
  int n = 0;
  for (const auto& id : ids) {
    const auto& m = t[id];
    if (!m.starting || !m.running || !m.complete || !m.merged)
      continue;
    start += ms_between(*m.starting, *m.running);
    work += ms_between(*m.running, *m.complete) - work_seconds * 1000;
    merge += ms_between(*m.complete, *m.merged);
    ++n;
  }
  if (n == 0)
    return;
  std::printf("runtime_sched_phase_start %.1f ms\n", start / n);
  std::printf("runtime_sched_phase_worker_overhead %.1f ms\n", work / n);
  std::printf("runtime_sched_phase_merge %.1f ms\n", merge / n);
  print_unit_overheads(progress, work_seconds * 1000 / units);
}

bool bench_sched(const std::string& dir, int count, int units, double unit_seconds) {
  auto root = dir + "/sched";
  auto dag = make_dag(count);
  std::vector<milestone_def> plan;
  char run[64];
  std::snprintf(run, sizeof run, "sleep %g", unit_seconds);
  for (const auto& n : dag) {
    milestone_def m{n.id, {}, units, run};
    for (int d : n.deps)
      m.deps.push_back(dag[static_cast<std::size_t>(d)].id);
    plan.push_back(std::move(m));
  }
  const int slots = 4;
  std::vector<std::string> ids;
  for (const auto& n : dag)
    ids.push_back(n.id);
  if (!make_project(root, plan,
                    "  enabled: true\n  max_workers: 4\n  auto_merge: auto\n"
                    "  merge_order: by-completion\n",
                    "runtime_bench"))
    return false;
  auto prefs = sf::load_preferences(root, root);
  if (!prefs) {
    std::fprintf(stderr, "runtime_bench: %s\n", sf::describe(prefs.error()).c_str());
    return false;
  }
  auto cli = fs::path(self_exe()).parent_path() / "sf-actors";
  session s{"runtime_bench"};
  if (!s.open(root, *prefs, {cli.string(), "worker"}))
    return false;
  auto from = s.rec->size();
  const auto first = from;
  auto t0 = clock_type::now();
  if (!s.start({}))
    return false;
  double ideal = list_schedule(dag, slots, units * unit_seconds);
  auto limit = std::chrono::duration_cast<clock_type::duration>(
    std::chrono::duration<double>(ideal * 4 + 120));
  auto fin = s.rec->wait(from, finished_event(), limit);
  if (!fin) {
    std::fprintf(stderr, "runtime_bench: the scheduling run did not finish in time\n");
    return false;
  }
  double makespan = ms_between(t0, fin->at) / 1000.0;
  std::size_t merged = 0, idx = first;
  while (s.rec->wait(idx, [](const sf::run_event& e) {
    return e.kind == sf::event_kind::state_changed &&
           e.state == sf::core::milestone_state::merged;
  }, 0s))
    ++merged;
  std::printf("runtime_sched_milestones %d count\n", count);
  std::printf("runtime_sched_units_per_milestone %d count\n", units);
  std::printf("runtime_sched_unit_seconds %g s\n", unit_seconds);
  std::printf("runtime_sched_merged %zu count\n", merged);
  std::printf("runtime_sched_makespan %.3f s\n", makespan);
  std::printf("runtime_sched_ideal %.3f s\n", ideal);
  std::printf("runtime_sched_ratio %.4f x\n", makespan / ideal);
  print_sched_phases(*s.rec, first, ids, units * unit_seconds, units);
  std::fflush(stdout);
  if (merged != dag.size()) {
    std::fprintf(stderr, "runtime_bench: only %zu of %zu milestones merged\n", merged, dag.size());
    return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Pause round trip through the CLI

/// Waits until `pred` holds for the milestone's status, re-reading whenever `.sf/parallel/`
/// changes; false on timeout.
bool wait_status(const std::string& root, const std::string& mid,
                 const std::function<bool(const sf::io::worker_status&)>& pred,
                 clock_type::duration timeout) {
  auto deadline = clock_type::now() + timeout;
  auto watcher = sf::io::dir_watcher::create(root + "/.sf/parallel");
  for (;;) {
    auto st = sf::io::read_status(root, mid);
    if (st && pred(*st))
      return true;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
    if (left.count() <= 0)
      return false;
    if (!watcher) {
      watcher = sf::io::dir_watcher::create(root + "/.sf/parallel");
      if (!watcher) {
        // The folder does not exist yet: look again shortly.
        std::this_thread::sleep_for(5ms);
        continue;
      }
      continue;
    }
    pollfd pfd{watcher->fd(), POLLIN, 0};
    ::poll(&pfd, 1, static_cast<int>(std::min<long long>(left.count(), 200)));
    (void) watcher->read_events();
  }
}

bool bench_pause(const std::string& dir, int trials, int units) {
  auto root = dir + "/pause";
  if (!make_project(root, {{"P01", {}, units, "true"}},
                    "  enabled: true\n  max_workers: 1\n  auto_merge: manual\n",
                    "runtime_bench"))
    return false;
  auto cli = (fs::path(self_exe()).parent_path() / "sf-actors").string();
  auto run_cli = [&](const std::string& args) {
    return sh("cd " + quote(root) + " && HOME=" + quote(root) + " " + quote(cli) + " " + args +
              " >/dev/null");
  };
  if (!run_cli("start --yes --detach P01"))
    return false;
  int64_t coordinator_pid = 0;
  sf::io::coordinator_lock::is_held(root, &coordinator_pid);
  auto running = [](const sf::io::worker_status& s) { return s.state == sf::core::worker_state::running; };
  auto paused = [](const sf::io::worker_status& s) { return s.state == sf::core::worker_state::paused; };
  bool ok = wait_status(root, "P01", running, 30s);
  std::vector<double> ms;
  for (int t = 0; ok && t < trials; ++t) {
    auto st = sf::io::read_status(root, "P01");
    if (st && st->completed_units + 5 >= units) {
      std::printf("# pause: the worker ran out of units after %d trials\n", t);
      break;
    }
    auto t0 = clock_type::now();
    ok = run_cli("pause P01") && wait_status(root, "P01", paused, 30s);
    ms.push_back(ms_between(t0, clock_type::now()));
    ok = ok && run_cli("resume P01") && wait_status(root, "P01", running, 30s);
  }
  if (!ok)
    std::fprintf(stderr, "runtime_bench: pause round trip failed (see %s/.sf/parallel)\n",
                 root.c_str());
  run_cli("stop");
  // The detached coordinator exits once its worker is gone.
  if (coordinator_pid > 0) {
    int fd = pidfd_open(static_cast<pid_t>(coordinator_pid));
    if (fd >= 0) {
      pollfd pfd{fd, POLLIN, 0};
      ::poll(&pfd, 1, 30000);
      ::close(fd);
    }
  }
  if (ok)
    print_stats("runtime_pause_rtt", ms);
  return ok;
}

// ---------------------------------------------------------------------------------------------

struct options {
  bool quick = false;
  std::set<std::string> only;
  bool wants(const std::string& name) const { return only.empty() || only.count(name) != 0; }
};

int usage() {
  std::fprintf(stderr, "usage: runtime_bench [--quick] [--only exit,status,load,idle,stop,sched,"
                       "pause]\n");
  return 2;
}

} // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::string(argv[1]) == "--fake-worker")
    return fake_worker(argv[2]);
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--quick") {
      o.quick = true;
    } else if (a == "--only" && i + 1 < argc) {
      std::stringstream in(argv[++i]);
      for (std::string name; std::getline(in, name, ',');)
        o.only.insert(name);
    } else {
      return usage();
    }
  }
  // Children we spawn must not inherit a blocked or ignored SIGTERM from a caller.
  ::signal(SIGPIPE, SIG_IGN);
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/sf-runtime-bench-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  std::string dir = fs::canonical(tmpl).string();
  std::printf("# runtime_bench %s under %s\n", o.quick ? "quick" : "full", dir.c_str());
  bool ok = true;
  const int latency_trials = o.quick ? 10 : 60;
  bool fake = o.wants("exit") || o.wants("status") || o.wants("load") || o.wants("idle") ||
              o.wants("stop");
  if (fake) {
    auto root = dir + "/fake";
    int load_workers = o.quick ? 16 : 64;
    std::vector<milestone_def> plan;
    for (const auto& id : fake_ids(load_workers))
      plan.push_back({id, {}, 1, "true"});
    ok = make_project(root, plan, "  enabled: true\n", "runtime_bench") && set_mode(root, 0, false) &&
         precreate_worktrees(root, fake_ids(load_workers));
    if (ok) {
      session s{"runtime_bench"};
      ok = s.open(root, fake_prefs(root, 10), {});
      if (ok && o.wants("exit"))
        ok = bench_exit(s, root, latency_trials);
      if (ok && o.wants("status"))
        ok = bench_status(s, root, latency_trials);
      if (ok && o.wants("load"))
        ok = bench_cpu(s, root, "runtime_load", load_workers, 100, o.quick ? 3s : 60s);
      if (ok && o.wants("idle"))
        ok = bench_cpu(s, root, "runtime_idle", 8, 0, o.quick ? 3s : 60s);
      if (ok && o.wants("stop"))
        ok = bench_stop(s, root, "runtime_stop16_term", 16, false, o.quick ? 1 : 5);
      s.close();
    }
    if (ok && o.wants("stop")) {
      const double grace = 1.0;
      session s{"runtime_bench"};
      ok = s.open(root, fake_prefs(root, grace), {});
      std::printf("runtime_stop_grace %.1f s\n", grace);
      if (ok)
        ok = bench_stop(s, root, "runtime_stop16_kill", 16, true, o.quick ? 1 : 3);
      s.close();
    }
  }
  if (ok && o.wants("sched"))
    ok = o.quick ? bench_sched(dir, 8, 3, 0.1) : bench_sched(dir, 24, 6, 1.0);
  if (ok && o.wants("pause"))
    ok = bench_pause(dir, o.quick ? 5 : 50, o.quick ? 300 : 1500);
  std::error_code ec;
  // SF_BENCH_KEEP=1 keeps the projects (events.jsonl, logs) to see where the time went.
  if (ok && !sf::bench::keep_scratch())
    fs::remove_all(dir, ec);
  else // Kept: the logs and events under .sf/parallel/ tell what went wrong (or where to look).
    std::fprintf(stderr, "runtime_bench: %s; files kept in %s\n", ok ? "done" : "failed",
                 dir.c_str());
  return ok ? 0 : 1;
}
