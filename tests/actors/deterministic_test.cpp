// Timing-sensitive actor logic on CAF's deterministic scheduler: every message is delivered
// when the test says so and time moves only when the test advances the virtual clock, so
// deadlines, lost or late updates and message interleavings are exact, with no sleeps.
#include "actors/budget_ledger.hpp"
#include "actors/control_server.hpp"
#include "actors/merge_queue.hpp"
#include "actors/worker_supervisor.hpp"
#include "actors/worktree_helper.hpp"
#include "io/files/control_file.hpp"
#include "io/files/ledger_file.hpp"
#include "io/files/parallel_dir.hpp"
#include "io/files/status_file.hpp"
#include "io/os/fd_reactor.hpp"
#include "io/os/process.hpp"
#include "messages/register.hpp"
#include "support/run_ok.hpp"
#include "support/temp_dir.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/send.hpp>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <chrono>
#include <limits>
#include <cmath>
#include <filesystem>
#include <thread>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

using namespace std::chrono_literals;
using namespace sf;
using namespace sf::test;

namespace {

// An actor system on the test coordinator: nothing runs until the test says so.
struct det_system {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::scheduler::test_coordinator* sched = nullptr;
  caf::timespan origin{0}; ///< Virtual time at the start (the test clock does not start at 0).

  det_system() {
    add_message_types(cfg);
    cfg.set("scheduler.policy", caf::atom("testing"));
    sys = std::make_unique<caf::actor_system>(cfg);
    sched = &dynamic_cast<caf::scheduler::test_coordinator&>(sys->scheduler());
    // Whatever a failed REQUIRE leaves alive must not hang the destructor.
    sys->await_actors_before_shutdown(false);
    origin = sched->clock().now().time_since_epoch();
  }

  ~det_system() { sched->run(); }

  // Runs every queued message, then moves virtual time on and runs what became due.
  void advance(caf::timespan d) {
    sched->run();
    sched->advance_time(d);
    sched->run();
  }

  // Virtual time elapsed between the start and `t` (a time since the clock's epoch).
  caf::timespan since_start(caf::timespan t) const { return t - origin; }
};

std::shared_ptr<spdlog::logger> quiet_log() {
  return std::make_shared<spdlog::logger>("det", std::make_shared<spdlog::sinks::null_sink_mt>());
}

// What the stand-in coordinator received, with the virtual time of staleness reports.
struct coordinator_record {
  std::vector<worker_progress> progress;
  std::vector<std::pair<caf::timespan, std::string>> stale;
  std::vector<worker_identity> spawned;
  std::vector<worker_exit> exits;
  std::vector<merge_outcome> merged;
};

// Implements the whole coordinator interface and only records what the actors under test say.
coordinator_actor::behavior_type fake_coordinator(coordinator_actor::pointer self,
                                                  std::shared_ptr<coordinator_record> rec) {
  return {
    [](atom::start, const std::vector<std::string>&) { return command_reply{}; },
    [](atom::stop, const std::string& mid) { return command_reply{{mid + ": stopping"}, 0, {}}; },
    [](atom::pause, const std::string& mid) { return command_reply{{mid + ": paused"}, 0, {}}; },
    [](atom::resume, const std::string& mid) { return command_reply{{mid + ": resumed"}, 3, {}}; },
    [](atom::status) { return run_status{}; },
    [](atom::subscribe, const event_sink_actor&) {},
    [rec](atom::progress, const worker_progress& p) { rec->progress.push_back(p); },
    [rec](atom::exited, const worker_exit& x) { rec->exits.push_back(x); },
    [rec](atom::spawned, const worker_identity& w) { rec->spawned.push_back(w); },
    [](atom::restart_due, const std::string&, uint64_t) {},
    [self, rec](atom::stale, const std::string&, const std::string& reason) {
      rec->stale.emplace_back(self->clock().now().time_since_epoch(), reason);
    },
    [rec](atom::merged, const merge_outcome& x) { rec->merged.push_back(x); },
    [](atom::merge, const std::string& mid, bool dry_run) {
      merge_outcome x;
      x.milestone = mid;
      x.kind = dry_run ? core::merge_kind::would_conflict : core::merge_kind::conflict;
      x.text = "M009";
      x.files = {"a.txt"};
      return merge_report{{x}, 5, true};
    },
    [](atom::decline, const std::string&) {},
    [](atom::shutdown) {},
  };
}

// Implements the watcher interface; routing is the test's job (it sends `file` itself).
// The unused argument keeps CAF 0.17 from binding a reference through a null pointer, which it
// does for function actors spawned without arguments (UBSan reports it).
fs_watcher_actor::behavior_type fake_watcher(fs_watcher_actor::pointer, int) {
  return {
    [](atom::watch, const std::string&, const worker_supervisor_actor&) {},
    [](atom::unwatch, const std::string&) {},
    [](atom::changed, const std::vector<std::string>&, bool) {},
    [](atom::control, const std::vector<std::string>&) {},
  };
}

// A supervisor of a real idle process, adopted (no worktree needed), whose status file the
// test writes and whose inotify notifications the test delivers, or loses, by hand.
struct supervised_worker {
  det_system det;
  temp_dir dir;
  std::shared_ptr<coordinator_record> rec = std::make_shared<coordinator_record>();
  io::child_process child;
  std::shared_ptr<io::fd_reactor> reactor;
  coordinator_actor coord;
  fs_watcher_actor watcher;
  worker_supervisor_actor sup;

  explicit supervised_worker(std::chrono::milliseconds stale_timeout) {
    REQUIRE(io::ensure_parallel_dir(dir.path()));
    io::spawn_request req;
    req.argv = {"/bin/sleep", "600"};
    req.env = {"SF_SPAWN_TOKEN=det-token"};
    auto spawned = io::spawn_process(req);
    REQUIRE(spawned);
    child = std::move(*spawned);
    // The kernel fills a new process's environment late in exec, after posix_spawn returned;
    // adopting before that fails the token check, so wait until the token is readable.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (;;) {
      auto token = io::read_environ_value(child.pid(), "SF_SPAWN_TOKEN");
      if (token && *token == "det-token")
        break;
      REQUIRE(std::chrono::steady_clock::now() < deadline);
      std::this_thread::yield();
    }
    auto r = io::fd_reactor::create();
    REQUIRE(r);
    reactor = std::move(*r);
    coord = det.sys->spawn(fake_coordinator, rec);
    watcher = det.sys->spawn(fake_watcher, 0);
    supervisor_config sc;
    sc.helper_on_scheduler = true; // Its helpers must not send from threads of their own.
    sc.root = dir.path();
    sc.milestone = "M001";
    sc.stale_timeout = stale_timeout;
    sc.reactor = reactor;
    sc.log = quiet_log();
    sc.coordinator = coord;
    sc.watcher = watcher;
    worker_identity who;
    who.milestone = "M001";
    who.pid = child.pid();
    who.start_time = child.start_time();
    auto boot = io::read_boot_id();
    REQUIRE(boot);
    who.boot_id = *boot;
    who.token = "det-token";
    sc.adopt = who;
    write_status(1000, 0, 0.0);
    sup = det.sys->spawn(worker_supervisor, std::move(sc));
    det.sched->run();
    // The pidfd is registered now; stopping the reactor keeps its thread from ever sending
    // into the single-threaded test scheduler (the process does not exit during the test).
    reactor->stop();
    REQUIRE(rec->spawned.size() == 1);
  }

  ~supervised_worker() {
    caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(coord, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(watcher, caf::exit_reason::user_shutdown);
    det.sched->run();
    (void) child.signal(SIGKILL);
    ::waitpid(child.pid(), nullptr, 0);
  }

  // Writes the worker's status file as the worker would (atomically).
  void write_status(int64_t heartbeat, int64_t units, double cost) {
    io::worker_status s;
    s.milestone_id = "M001";
    s.pid = child.pid();
    s.state = sf::core::worker_state::running;
    s.completed_units = units;
    s.total_units = 10;
    s.cost = cost;
    s.last_heartbeat = heartbeat;
    s.started_at = 1;
    s.worktree_path = dir.path();
    REQUIRE_FALSE(io::write_status(dir.path(), s));
  }

  // The watcher's notification that the status file changed.
  void notify() {
    caf::anon_send(sup, atom::file_v);
    det.sched->run();
  }
};

} // namespace

TEST_CASE("a silent worker is stale exactly at stale_timeout, not a tick before",
          "[deterministic]") {
  supervised_worker w(30s);
  REQUIRE(w.rec->progress.size() == 1);
  CHECK(w.rec->progress.back().last_heartbeat == 1000);
  w.det.advance(30s - 1ms);
  CHECK(w.rec->stale.empty());
  w.det.advance(1ms);
  REQUIRE(w.rec->stale.size() == 1);
  CHECK(w.det.since_start(w.rec->stale[0].first) == 30s);
  CHECK(w.rec->stale[0].second == "no heartbeat for 30.0 s (stale_timeout)");
  // Reported once per silence, however long it lasts.
  w.det.advance(10min);
  CHECK(w.rec->stale.size() == 1);
}

TEST_CASE("a heartbeat just before the deadline re-arms it and the old timer is ignored",
          "[deterministic]") {
  supervised_worker w(30s);
  w.det.advance(30s - 1ms);
  w.write_status(2000, 1, 0.1);
  w.notify();
  // The first deadline fires now and must be recognised as cancelled.
  w.det.advance(1ms);
  CHECK(w.rec->stale.empty());
  w.det.advance(30s - 2ms);
  CHECK(w.rec->stale.empty());
  w.det.advance(1ms);
  REQUIRE(w.rec->stale.size() == 1);
  CHECK(w.det.since_start(w.rec->stale[0].first) == 60s - 1ms);
  // A heartbeat after staleness starts a new deadline, and a new report after it.
  w.write_status(3000, 2, 0.2);
  w.notify();
  w.det.advance(30s);
  CHECK(w.rec->stale.size() == 2);
}

TEST_CASE("a lost status notification is recovered by the next one and by the deadline read",
          "[deterministic]") {
  supervised_worker w(30s);
  // The notification of this write is lost...
  w.det.advance(10s);
  w.write_status(2000, 1, 0.1);
  // ...the next one reports the newest file; the lost state is skipped, not replayed late.
  w.det.advance(10s);
  w.write_status(3000, 2, 0.2);
  w.notify();
  REQUIRE(w.rec->progress.size() == 2);
  CHECK(w.rec->progress.back().completed_units == 2);
  CHECK(w.rec->progress.back().last_heartbeat == 3000);
  // Every notification of a live worker is lost: the deadline reads the file itself before
  // calling the worker hung, and finds the fresh heartbeat.
  w.det.advance(10s);
  w.write_status(4000, 3, 0.3);
  w.det.advance(20s);
  CHECK(w.rec->stale.empty());
  REQUIRE(w.rec->progress.size() == 3);
  CHECK(w.rec->progress.back().completed_units == 3);
  // A full timeout after that read, with nothing new in the file, it is stale.
  w.det.advance(30s - 1ms);
  CHECK(w.rec->stale.empty());
  w.det.advance(1ms);
  REQUIRE(w.rec->stale.size() == 1);
  CHECK(w.det.since_start(w.rec->stale[0].first) == 80s);
}

TEST_CASE("an earlier heartbeat after a later one still counts, and progress never moves back",
          "[deterministic]") {
  supervised_worker w(30s);
  w.write_status(3000, 4, 0.40);
  w.notify();
  REQUIRE(w.rec->progress.size() == 2);
  // The worker's clock stepped back: an earlier value is still a new heartbeat. Its lower
  // counters are not news, and a heartbeat alone waits for the once-a-second forward.
  w.det.advance(10s);
  w.write_status(2000, 2, 0.20);
  w.notify();
  REQUIRE(w.rec->progress.size() == 3);
  CHECK(w.rec->progress.back().last_heartbeat == 2000);
  CHECK(w.rec->progress.back().completed_units == 4);
  CHECK(w.rec->progress.back().cost == Approx(0.40));
  // Real progress after the step is reported, from the highest counters seen.
  w.det.advance(10s);
  w.write_status(2100, 5, 0.30);
  w.notify();
  REQUIRE(w.rec->progress.size() == 4);
  CHECK(w.rec->progress.back().completed_units == 5);
  CHECK(w.rec->progress.back().cost == Approx(0.40));
  for (std::size_t i = 1; i < w.rec->progress.size(); ++i) {
    CHECK(w.rec->progress[i].completed_units >= w.rec->progress[i - 1].completed_units);
    CHECK(w.rec->progress[i].cost >= w.rec->progress[i - 1].cost);
  }
  // The deadline counts from the arrival of the last heartbeat (t=20 s).
  w.det.advance(30s - 1ms);
  CHECK(w.rec->stale.empty());
  w.det.advance(1ms);
  REQUIRE(w.rec->stale.size() == 1);
  CHECK(w.det.since_start(w.rec->stale[0].first) == 50s);
}

TEST_CASE("a heartbeat stamped an hour ahead does not make a healthy worker stale",
          "[deterministic]") {
  supervised_worker w(30s);
  constexpr int64_t hour = 3'600'000;
  // A clock step forward by an hour, then back: each value is a fresh heartbeat.
  w.det.advance(20s);
  w.write_status(1000 + hour, 1, 0.1);
  w.notify();
  w.det.advance(20s);
  w.write_status(41000, 2, 0.2);
  w.notify();
  w.det.advance(20s);
  w.write_status(61000, 2, 0.2);
  w.notify();
  // 60 s in, 20 s since the last arrival: alive, and its progress reached the coordinator.
  w.det.advance(20s);
  CHECK(w.rec->stale.empty());
  REQUIRE_FALSE(w.rec->progress.empty());
  CHECK(w.rec->progress.back().completed_units == 2);
  CHECK(w.rec->progress.back().last_heartbeat == 61000);
  // Silence from then on is measured on our clock: stale 30 s after the last arrival.
  w.det.advance(10s - 1ms);
  CHECK(w.rec->stale.empty());
  w.det.advance(1ms);
  REQUIRE(w.rec->stale.size() == 1);
  CHECK(w.det.since_start(w.rec->stale[0].first) == 90s);
}

TEST_CASE("a heartbeat alone reaches the coordinator at most once a second and still counts",
          "[deterministic]") {
  supervised_worker w(30s);
  REQUIRE(w.rec->progress.size() == 1);
  // Half a second after the last forwarded one, nothing else new: not sent on...
  w.det.advance(500ms);
  w.write_status(1500, 0, 0.0);
  w.notify();
  CHECK(w.rec->progress.size() == 1);
  // ...but it moved the deadline to t=30.5 s.
  w.det.advance(30s - 1ms);
  CHECK(w.rec->stale.empty());
  // More than a second after the last one sent, it is sent.
  w.write_status(2000, 0, 0.0);
  w.notify();
  REQUIRE(w.rec->progress.size() == 2);
  CHECK(w.rec->progress.back().last_heartbeat == 2000);
  // Anything else new goes at once, whatever the time since.
  w.write_status(2001, 1, 0.0);
  w.notify();
  REQUIRE(w.rec->progress.size() == 3);
  CHECK(w.rec->progress.back().completed_units == 1);
  // The last heartbeat arrived at t=30.5 s - 1 ms: stale exactly 30 s later.
  w.det.advance(30s - 1ms);
  CHECK(w.rec->stale.empty());
  w.det.advance(1ms);
  REQUIRE(w.rec->stale.size() == 1);
  CHECK(w.det.since_start(w.rec->stale[0].first) == 60s + 500ms - 1ms);
}

namespace {

// Stands in for a supervisor that is still cleaning up after its worker.
worker_supervisor_actor::behavior_type idle_supervisor(worker_supervisor_actor::pointer, int) {
  return {
    [](atom::file) {},         [](atom::pause) {},          [](atom::resume) {},
    [](atom::stop) {},         [](atom::pidfd_ready) {},    [](atom::heartbeat_due, uint64_t) {},
    [](atom::kill, uint64_t) {},
  };
}

} // namespace

TEST_CASE("a new supervisor waits for its predecessor, and a stop meanwhile spawns nothing",
          "[deterministic]") {
  det_system det;
  temp_dir dir;
  init_git_repo(dir.path());
  REQUIRE(io::ensure_parallel_dir(dir.path()));
  auto rec = std::make_shared<coordinator_record>();
  auto coord = det.sys->spawn(fake_coordinator, rec);
  auto watcher = det.sys->spawn(fake_watcher, 0);
  auto old_sup = det.sys->spawn(idle_supervisor, 0);
  supervisor_config sc;
  sc.root = dir.path();
  sc.milestone = "M001";
  sc.worker_argv = {"/bin/sleep", "600"};
  sc.log = quiet_log();
  sc.coordinator = coord;
  sc.watcher = watcher;
  sc.predecessor = old_sup;
  auto sup = det.sys->spawn(worker_supervisor, std::move(sc));
  det.sched->run();
  // The old supervisor lives: no worktree, no worker, no report.
  CHECK_FALSE(std::filesystem::exists(dir.path() + "/.sf/worktrees/M001"));
  CHECK(rec->spawned.empty());
  CHECK(rec->exits.empty());
  caf::anon_send(sup, atom::stop_v);
  det.sched->run();
  CHECK(rec->exits.empty());
  // Once it is gone, the stop is honoured before anything is made.
  caf::anon_send_exit(old_sup, caf::exit_reason::user_shutdown);
  det.sched->run();
  REQUIRE(rec->exits.size() == 1);
  CHECK(rec->exits[0].pid == 0);
  CHECK(rec->exits[0].text == "stopped before its worker was spawned");
  CHECK(rec->spawned.empty());
  CHECK_FALSE(std::filesystem::exists(dir.path() + "/.sf/worktrees/M001"));
  caf::anon_send_exit(coord, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(watcher, caf::exit_reason::user_shutdown);
  det.sched->run();
}

namespace {

// One cost report as a worker's supervisor would pass it on.
struct cost_report {
  std::string mid;
  std::string session;
  double usd;
};

// Sends one cost request to the ledger from an actor of its own, so the test scheduler can
// deliver the reports in any order; the answer lands in `*out`.
caf::actor cost_client(caf::actor_system& sys, budget_ledger_actor ledger, cost_report r,
                       std::shared_ptr<std::vector<budget_update>> out, std::size_t slot) {
  // Arguments, not captures: see fake_watcher.
  auto behavior = [](caf::event_based_actor* self, budget_ledger_actor ledger, cost_report r,
                     std::shared_ptr<std::vector<budget_update>> out,
                     std::size_t slot) -> caf::behavior {
    self->request(ledger, 10s, atom::cost_v, r.mid, r.session, r.usd, core::token_counts{})
      .then([self, out, slot](const budget_update& u) {
        (*out)[slot] = u;
        self->quit();
      });
    return {[](int) {}};
  };
  return sys.spawn(behavior, std::move(ledger), std::move(r), std::move(out), slot);
}

} // namespace

TEST_CASE("interleaved cost reports always add up to the latest per session",
          "[deterministic]") {
  // Two reports of M001 that may arrive in either order, and two sessions of M002.
  const std::vector<cost_report> reports = {{"M001", "", 0.30},
                                            {"M001", "", 0.50},
                                            {"M002", "s1", 0.20},
                                            {"M002", "s2", 0.25},
                                            {"M001", "", 0.40}};
  const double ceiling = 0.90;
  std::vector<std::size_t> order(reports.size());
  for (std::size_t i = 0; i < order.size(); ++i)
    order[i] = i;
  det_system det;
  std::size_t permutations = 0;
  do {
    ++permutations;
    temp_dir dir;
    REQUIRE(io::ensure_parallel_dir(dir.path()));
    auto ledger = det.sys->spawn(budget_ledger, dir.path(), ceiling, quiet_log());
    det.sched->run();
    auto answers = std::make_shared<std::vector<budget_update>>(reports.size());
    std::vector<caf::actor> clients;
    for (std::size_t i = 0; i < reports.size(); ++i)
      clients.push_back(cost_client(*det.sys, ledger, reports[i], answers, i));
    // The scheduler lets each client send in the chosen order, one message at a time.
    for (auto i : order) {
      REQUIRE(det.sched->prioritize(clients[i]));
      det.sched->run_once();
    }
    det.sched->run();
    // What the ledger must have said: the highest value per key so far, lower ones ignored.
    std::map<std::string, double> latest;
    std::size_t reached_count = 0;
    for (auto i : order) {
      const auto& r = reports[i];
      const auto& u = (*answers)[i];
      auto key = r.session.empty() ? r.mid : r.mid + "/" + r.session;
      bool backwards = latest.count(key) != 0 && r.usd < latest[key];
      if (!backwards)
        latest[key] = r.usd;
      double total = 0, mid_cost = 0;
      for (const auto& [k, v] : latest) {
        total += v;
        if (k == r.mid || k.rfind(r.mid + "/", 0) == 0)
          mid_cost += v;
      }
      INFO("permutation " << permutations << ", report " << i);
      CHECK(u.milestone == r.mid);
      CHECK(u.anomaly == backwards);
      CHECK(u.total == Approx(total));
      CHECK(u.milestone_cost == Approx(mid_cost));
      CHECK(u.reached == (total + 1e-9 >= ceiling));
      reached_count += u.reached ? 1 : 0;
    }
    // The final total never depends on the order.
    CHECK(latest.size() == 3);
    auto last_total = 0.0;
    for (const auto& kv : latest)
      last_total += kv.second;
    CHECK(last_total == Approx(0.95));
    CHECK(reached_count >= 1);
    caf::anon_send_exit(ledger, caf::exit_reason::user_shutdown);
    det.sched->run();
  } while (std::next_permutation(order.begin(), order.end()));
  CHECK(permutations == 120);
}

TEST_CASE("the ledger refuses a cost that is not finite, negative or past the maximum, and its "
          "total stays a number", "[deterministic][cost]") {
  const std::vector<cost_report> reports = {{"M001", "", 1.7e308},
                                            {"M002", "", 1.7e308},
                                            {"M003", "", 0.5},
                                            {"M004", "", std::numeric_limits<double>::infinity()},
                                            {"M005", "", -1},
                                            {"M006", "", 1000000.5}};
  det_system det;
  temp_dir dir;
  REQUIRE(io::ensure_parallel_dir(dir.path()));
  auto ledger = det.sys->spawn(budget_ledger, dir.path(), 0.0, quiet_log());
  det.sched->run();
  auto answers = std::make_shared<std::vector<budget_update>>(reports.size());
  for (std::size_t i = 0; i < reports.size(); ++i)
    cost_client(*det.sys, ledger, reports[i], answers, i);
  det.sched->run();
  for (std::size_t i = 0; i < reports.size(); ++i) {
    INFO("report " << i);
    CHECK((*answers)[i].anomaly == (reports[i].mid != "M003"));
    CHECK(std::isfinite((*answers)[i].total));
  }
  CHECK((*answers)[2].total == Approx(0.5));
  auto persisted = io::read_ledger(dir.path());
  REQUIRE(persisted);
  CHECK(*persisted == std::map<std::string, double>{{"M003", 0.5}});
  caf::anon_send_exit(ledger, caf::exit_reason::user_shutdown);
  det.sched->run();
}

TEST_CASE("a ledger with one bad entry keeps the others, and an unreadable one is set aside",
          "[deterministic][cost]") {
  det_system det;
  temp_dir dir;
  REQUIRE(io::ensure_parallel_dir(dir.path()));
  auto path = io::ledger_path(dir.path());
  SECTION("one bad entry") {
    write_file(path, R"({"costs":{"M000":99.5,"M001":1500000,"M002":"lots"}})");
    std::vector<std::string> problems;
    auto read = io::read_ledger(dir.path(), &problems);
    REQUIRE(read);
    CHECK(*read == std::map<std::string, double>{{"M000", 99.5}, {"M001", 1e6}});
    CHECK(problems.size() == 2);
    // The ledger actor continues from them: money spent is never forgotten.
    auto ledger = det.sys->spawn(budget_ledger, dir.path(), 100.0, quiet_log());
    det.sched->run();
    auto answers = std::make_shared<std::vector<budget_update>>(1);
    cost_client(*det.sys, ledger, {"M003", "", 0.5}, answers, 0);
    det.sched->run();
    CHECK((*answers)[0].total == Approx(99.5 + 1e6 + 0.5));
    CHECK((*answers)[0].reached);
    caf::anon_send_exit(ledger, caf::exit_reason::user_shutdown);
    det.sched->run();
  }
  SECTION("no ledger at all") {
    write_file(path, "not json");
    auto ledger = det.sys->spawn(budget_ledger, dir.path(), 0.0, quiet_log());
    det.sched->run();
    bool kept = false;
    for (const auto& e : std::filesystem::directory_iterator(dir.path() + "/.sf/parallel"))
      kept = kept || (e.path().filename().string().rfind("ledger.json.bad-", 0) == 0 &&
                      read_file(e.path().string()) == "not json");
    CHECK(kept);
    caf::anon_send_exit(ledger, caf::exit_reason::user_shutdown);
    det.sched->run();
  }
}

TEST_CASE("after a new budget period a running total counts only beyond what was carried",
          "[deterministic][cost][budget]") {
  det_system det;
  temp_dir dir;
  REQUIRE(io::ensure_parallel_dir(dir.path()));
  // What `budget reset` leaves: M001 had reported 1.20 before the period began.
  io::ledger_record start;
  start.carried = {{"M001", 1.2}};
  start.period_start = 1000;
  REQUIRE_FALSE(io::write_ledger_record(dir.path(), start));
  auto ledger = det.sys->spawn(budget_ledger, dir.path(), 1.0, quiet_log());
  det.sched->run();
  const std::vector<cost_report> reports = {{"M001", "", 1.2},  // the same total: nothing new
                                            {"M001", "", 0.5},  // below it: ignored
                                            {"M001", "", 1.3},  // 0.10 spent in this period
                                            {"M002", "", 0.4}}; // a milestone new to it
  auto answers = std::make_shared<std::vector<budget_update>>(reports.size());
  for (std::size_t i = 0; i < reports.size(); ++i) {
    cost_client(*det.sys, ledger, reports[i], answers, i);
    det.sched->run();
  }
  CHECK((*answers)[0].total == Approx(0));
  CHECK_FALSE((*answers)[0].anomaly);
  CHECK((*answers)[1].anomaly);
  CHECK((*answers)[2].milestone_cost == Approx(0.1));
  CHECK((*answers)[3].total == Approx(0.5));
  CHECK_FALSE((*answers)[3].reached);
  auto persisted = io::read_ledger_record(dir.path());
  REQUIRE(persisted);
  CHECK(persisted->costs["M001"] == Approx(0.1));
  CHECK(persisted->carried == std::map<std::string, double>{{"M001", 1.2}});
  CHECK(persisted->period_start == 1000);
  caf::anon_send_exit(ledger, caf::exit_reason::user_shutdown);
  det.sched->run();
}

namespace {

// A repository whose milestone branches each add their own file, merged by a queue that runs
// on the test scheduler (spawned without `detached`).
struct merge_fixture {
  det_system det;
  temp_dir dir;
  std::shared_ptr<coordinator_record> rec = std::make_shared<coordinator_record>();
  coordinator_actor coord;
  merge_queue_actor queue;
  std::map<std::string, std::string> tips;

  explicit merge_fixture(merge_order order) {
    const auto& root = dir.path();
    init_git_repo(root);
    write_file(root + "/.git/info/exclude", ".sf/\n");
    for (std::string mid : {"M001", "M002", "M003"}) {
      run_ok("git checkout -q -b milestone/" + mid + " main && echo " + mid + " > " + mid +
               ".txt && git add " + mid + ".txt && git commit -q -m " + mid +
               " && git checkout -q main",
             root);
      tips[mid] = run_ok("git rev-parse milestone/" + mid, root);
    }
    REQUIRE(io::ensure_parallel_dir(root));
    coord = det.sys->spawn(fake_coordinator, rec);
    merge_queue_config mq;
    mq.root = root;
    mq.prefs.auto_merge = auto_merge_mode::automatic;
    mq.prefs.order = order;
    mq.log = quiet_log();
    mq.coordinator = coord;
    queue = det.sys->spawn(merge_queue, std::move(mq));
    det.sched->run();
  }

  ~merge_fixture() {
    caf::anon_send_exit(queue, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(coord, caf::exit_reason::user_shutdown);
    det.sched->run();
  }

  void running(std::vector<std::string> ids) {
    caf::anon_send(queue, atom::running_v, std::move(ids));
    det.sched->run();
  }

  // The milestone completed: the coordinator queues it and then sends the new running set.
  void complete(const std::string& mid, std::vector<std::string> still_running) {
    merge_item item;
    item.milestone = mid;
    item.title = "Milestone " + mid;
    item.tip = tips[mid];
    caf::anon_send(queue, atom::enqueue_v, item);
    det.sched->run();
    running(std::move(still_running));
  }

  // Milestones merged so far, in the order the queue reported them.
  std::vector<std::string> merged() const {
    std::vector<std::string> out;
    for (const auto& x : rec->merged)
      if (x.kind == sf::core::merge_kind::merged)
        out.push_back(x.milestone);
    return out;
  }

  // Milestones in main's first-parent merge commits, oldest first (read with the git CLI).
  std::vector<std::string> on_main() const {
    std::vector<std::string> out;
    auto log = run_ok("git log --first-parent --merges --reverse --format=%H main", dir.path());
    std::size_t pos = 0;
    while (pos < log.size()) {
      auto end = log.find('\n', pos);
      auto commit = log.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
      auto second_parent = run_ok("git rev-parse " + commit + "^2", dir.path());
      for (const auto& [mid, tip] : tips)
        if (tip == second_parent)
          out.push_back(mid);
      if (end == std::string::npos)
        break;
      pos = end + 1;
    }
    return out;
  }
};

} // namespace

TEST_CASE("sequential order merges by id when completions arrive out of order",
          "[deterministic]") {
  merge_fixture f(merge_order::sequential);
  f.running({"M001", "M002", "M003"});
  f.complete("M003", {"M001", "M002"});
  CHECK(f.merged().empty());
  REQUIRE_FALSE(f.rec->merged.empty());
  CHECK(f.rec->merged.back().kind == sf::core::merge_kind::waiting);
  CHECK(f.rec->merged.back().text.find("M001") != std::string::npos);
  f.complete("M001", {"M002"});
  CHECK(f.merged() == std::vector<std::string>{"M001"});
  f.complete("M002", {});
  CHECK(f.merged() == std::vector<std::string>{"M001", "M002", "M003"});
  CHECK(f.on_main() == std::vector<std::string>{"M001", "M002", "M003"});
}

TEST_CASE("by-completion order merges in completion order when ids arrive out of order",
          "[deterministic]") {
  merge_fixture f(merge_order::by_completion);
  f.running({"M001", "M002", "M003"});
  f.complete("M003", {"M001", "M002"});
  CHECK(f.merged() == std::vector<std::string>{"M003"});
  f.complete("M001", {"M002"});
  f.complete("M002", {});
  CHECK(f.merged() == std::vector<std::string>{"M003", "M001", "M002"});
  CHECK(f.on_main() == std::vector<std::string>{"M003", "M001", "M002"});
  for (const auto& x : f.rec->merged)
    CHECK(x.kind != sf::core::merge_kind::waiting);
}

TEST_CASE("by-completion order follows arrival even when completions race in one batch",
          "[deterministic]") {
  merge_fixture f(merge_order::by_completion);
  f.running({"M001", "M002", "M003"});
  // Three completions sit in the queue's mailbox before it runs once: it must take them in
  // arrival order and merge each as it comes.
  for (std::string mid : {"M002", "M003", "M001"}) {
    merge_item item;
    item.milestone = mid;
    item.tip = f.tips[mid];
    caf::anon_send(f.queue, atom::enqueue_v, item);
  }
  f.det.sched->run();
  CHECK(f.merged() == std::vector<std::string>{"M002", "M003", "M001"});
  CHECK(f.on_main() == std::vector<std::string>{"M002", "M003", "M001"});
}

TEST_CASE("a worker gone before its adoption is an exit of unknown status, not a failed start",
          "[deterministic]") {
  det_system det;
  temp_dir dir;
  REQUIRE(io::ensure_parallel_dir(dir.path()));
  auto rec = std::make_shared<coordinator_record>();
  auto coord = det.sys->spawn(fake_coordinator, rec);
  auto watcher = det.sys->spawn(fake_watcher, 0);
  // The worker the registry recorded: alive when the coordinator checked it, gone by now.
  io::spawn_request req;
  req.argv = {"/bin/sleep", "600"};
  req.env = {"SF_SPAWN_TOKEN=gone-token"};
  auto child = io::spawn_process(req);
  REQUIRE(child);
  worker_identity who;
  who.milestone = "M001";
  who.pid = child->pid();
  who.start_time = child->start_time();
  auto boot = io::read_boot_id();
  REQUIRE(boot);
  who.boot_id = *boot;
  who.token = "gone-token";
  REQUIRE_FALSE(child->signal(SIGKILL));
  int status = 0;
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!child->try_reap(status)) {
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    std::this_thread::yield();
  }
  supervisor_config sc;
  sc.helper_on_scheduler = true; // Its helpers must not send from threads of their own.
  sc.root = dir.path();
  sc.milestone = "M001";
  sc.log = quiet_log();
  sc.coordinator = coord;
  sc.watcher = watcher;
  sc.adopt = who;
  auto sup = det.sys->spawn(worker_supervisor, std::move(sc));
  det.sched->run();
  REQUIRE(rec->exits.size() == 1);
  // The recorded worker exited: its milestone's branch, not this race, decides the outcome.
  CHECK(rec->exits[0].pid == who.pid);
  CHECK(rec->exits[0].exit_code == -1);
  CHECK(rec->exits[0].term_signal == 0);
  CHECK(rec->exits[0].text.find("before it could be adopted") != std::string::npos);
  CHECK(rec->spawned.empty());
  caf::anon_send_exit(coord, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(watcher, caf::exit_reason::user_shutdown);
  det.sched->run();
}

TEST_CASE("a worktree that is never ready ends the start with an error after the timeout",
          "[deterministic]") {
  det_system det;
  temp_dir dir;
  init_git_repo(dir.path());
  REQUIRE(io::ensure_parallel_dir(dir.path()));
  auto rec = std::make_shared<coordinator_record>();
  auto coord = det.sys->spawn(fake_coordinator, rec);
  auto watcher = det.sys->spawn(fake_watcher, 0);
  // The helper thread makes the worktree, then waits in before_spawn until the test lets go.
  auto release = std::make_shared<std::promise<void>>();
  auto returned = std::make_shared<std::atomic<bool>>(false);
  auto entered = std::make_shared<std::atomic<bool>>(false);
  supervisor_config sc;
  sc.root = dir.path();
  sc.milestone = "M001";
  sc.worker_argv = {"/bin/sleep", "600"};
  sc.log = quiet_log();
  sc.coordinator = coord;
  sc.watcher = watcher;
  sc.before_spawn = [gate = release->get_future().share(), returned, entered] {
    *entered = true;
    gate.wait();
    *returned = true;
  };
  auto sup = det.sys->spawn(worker_supervisor, std::move(sc));
  det.sched->run();
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (!*entered) {
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    std::this_thread::sleep_for(1ms);
  }
  det.advance(worktree_helper_timeout - 1ms);
  CHECK(rec->exits.empty());
  det.advance(1ms);
  REQUIRE(rec->exits.size() == 1);
  CHECK(rec->exits[0].pid == 0);
  CHECK(rec->exits[0].text.find("not ready within 10 min") != std::string::npos);
  CHECK(rec->spawned.empty());
  release->set_value();
  while (!*returned) {
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    std::this_thread::sleep_for(1ms);
  }
  det.sched->run();
  caf::anon_send_exit(coord, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(watcher, caf::exit_reason::user_shutdown);
  det.sched->run();
}

namespace {

// Writes a control request the way the CLI does, under a fixed id.
std::string put_request(const temp_dir& root, const std::string& id, const std::string& json) {
  auto name = id + ".request.json";
  write_file(root / (".sf/parallel/control/" + name), json);
  return name;
}

nlohmann::json response(const temp_dir& root, const std::string& id) {
  auto path = root / (".sf/parallel/control/" + id + ".response.json");
  REQUIRE(std::filesystem::exists(path));
  return nlohmann::json::parse(read_file(path));
}

} // namespace

TEST_CASE("the control server turns request files into typed requests and answers them typed",
          "[actors][deterministic]") {
  det_system det;
  temp_dir root;
  REQUIRE(io::ensure_parallel_dir(root.path()));
  REQUIRE_FALSE(io::ensure_control_dir(root.path()));
  auto rec = std::make_shared<coordinator_record>();
  auto coord = det.sys->spawn(fake_coordinator, rec);
  auto server = det.sys->spawn(control_server, root.path(), quiet_log(), coord);
  std::vector<std::string> names = {
    put_request(root, "00000000000000a1", R"({"command":"pause","milestone":"M001"})"),
    put_request(root, "00000000000000a2", R"({"command":"resume","milestone":"M002"})"),
    put_request(root, "00000000000000a3",
                R"({"command":"merge","milestone":"M003","dryRun":true})"),
    put_request(root, "00000000000000a4", R"({"command":"bogus"})"),
    "00000000000000a0.response.json", // An answer's own file: not a request, ignored.
  };
  caf::anon_send(server, atom::control_v, names);
  det.sched->run();

  auto paused = response(root, "00000000000000a1");
  CHECK(paused["lines"] == nlohmann::json::array({"M001: paused"}));
  CHECK(paused["exitCode"] == 0);
  CHECK_FALSE(paused.contains("merge"));
  // The coordinator's exit code travels as it is.
  CHECK(response(root, "00000000000000a2")["exitCode"] == 3);
  // A merge answer is the report itself, not its text.
  auto merged = response(root, "00000000000000a3");
  CHECK(merged["exitCode"] == 5);
  CHECK(merged["lines"].empty());
  REQUIRE(merged["merge"]["results"].size() == 1);
  CHECK(merged["merge"]["results"][0]["result"] == "would_conflict");
  CHECK(merged["merge"]["results"][0]["milestoneId"] == "M003");
  CHECK(merged["merge"]["results"][0]["files"] == nlohmann::json::array({"a.txt"}));
  CHECK(merged["merge"]["queueRetries"] == true);
  auto unknown = response(root, "00000000000000a4");
  CHECK(unknown["exitCode"] == 2);
  CHECK(unknown["lines"][0].get<std::string>().find("unknown control command `bogus`") == 0);
  // Every request was consumed, answered once.
  for (const auto& n : names)
    if (n.find(".request.json") != std::string::npos)
      CHECK_FALSE(std::filesystem::exists(root / (".sf/parallel/control/" + n)));

  // A request that arrives as the coordinator ends gets no answer: the asking CLI sees the
  // coordinator's lock go and acts on the files itself, so a stop racing the end succeeds.
  caf::anon_send_exit(coord, caf::exit_reason::user_shutdown);
  det.sched->run();
  caf::anon_send(server, atom::control_v,
                 std::vector<std::string>{put_request(root, "00000000000000b1",
                                                      R"({"command":"stop"})"),
                                          put_request(root, "00000000000000b2",
                                                      R"({"command":"merge"})")});
  det.sched->run();
  for (const char* id : {"00000000000000b1", "00000000000000b2"}) {
    INFO(id);
    CHECK_FALSE(std::filesystem::exists(root / (".sf/parallel/control/" + std::string(id) +
                                                ".response.json")));
    CHECK_FALSE(std::filesystem::exists(root / (".sf/parallel/control/" + std::string(id) +
                                                ".request.json")));
  }
  caf::anon_send_exit(server, caf::exit_reason::user_shutdown);
  det.sched->run();
}
