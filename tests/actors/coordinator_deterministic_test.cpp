// The real coordinator on CAF's deterministic scheduler. Its parts (ledger, merge queue, branch
// reader, supervisors, worktree helpers) are scheduled actors, the reactor is polled by the
// test, and virtual time moves only when the test advances it: the one thread that runs actors
// is the test's, so the restart policy's backoff can be checked to the millisecond while the
// repository, the worktrees and the worker processes stay real.
#include "actors/coordinator.hpp"
#include "config/plan.hpp"
#include "config/preferences.hpp"
#include "io/os/fd_reactor.hpp"
#include "messages/register.hpp"
#include "support/project.hpp"
#include "support/run_ok.hpp"
#include "support/temp_dir.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using namespace sf;
using namespace sf::test;

namespace {

// One event as the subscriber saw it, with the virtual time it arrived.
struct seen_event {
  caf::timespan at;
  run_event ev;
};

event_sink_actor::behavior_type recording_sink(event_sink_actor::pointer self,
                                               std::shared_ptr<std::vector<seen_event>> out) {
  return {
    [self, out](atom::event, const run_event& ev) {
      out->push_back({self->clock().now().time_since_epoch(), ev});
    },
  };
}

// A coordinator of `project` whose every actor runs when the test says so.
struct det_coordinator {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::scheduler::test_coordinator* sched = nullptr;
  std::shared_ptr<io::fd_reactor> reactor;
  coordinator_actor coord;
  std::shared_ptr<std::vector<seen_event>> events = std::make_shared<std::vector<seen_event>>();

  explicit det_coordinator(const test_project& project) {
    add_message_types(cfg);
    cfg.set("scheduler.policy", caf::atom("testing"));
    sys = std::make_unique<caf::actor_system>(cfg);
    sched = &dynamic_cast<caf::scheduler::test_coordinator&>(sys->scheduler());
    // Whatever a failed REQUIRE leaves alive must not hang the destructor.
    sys->await_actors_before_shutdown(false);
    auto made = io::fd_reactor::create_manual();
    REQUIRE(made);
    reactor = std::move(*made);
    coordinator_config cc;
    cc.root = project.root();
    auto prefs = load_preferences(cc.root);
    REQUIRE(prefs);
    cc.prefs = std::move(*prefs);
    auto plan = load_plan(cc.root);
    REQUIRE(plan);
    cc.milestones = std::move(*plan);
    cc.parts_on_scheduler = true;
    cc.reactor = reactor;
    auto spawned = spawn_coordinator(*sys, std::move(cc));
    REQUIRE(spawned);
    coord = *spawned;
    caf::anon_send(coord, atom::subscribe_v, sys->spawn(recording_sink, events));
    sched->run();
  }

  ~det_coordinator() {
    caf::anon_send_exit(coord, caf::exit_reason::user_shutdown);
    sched->run();
  }

  // Delivers what is due now: queued messages and the reactor's ready fds, until neither has
  // anything left (timers wait for `advance`).
  void settle() {
    for (;;) {
      sched->run();
      if (reactor->poll(0ms) == 0 && !sched->has_job())
        return;
    }
  }

  // Moves virtual time on by `d`, then delivers what became due.
  void advance(caf::timespan d) {
    settle();
    sched->advance_time(d);
    settle();
  }

  // Delivers messages and reactor events (a real worker exits in real time) until `pred`
  // holds; false after `timeout` of real time.
  template <class Pred> bool until(Pred pred, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      settle();
      if (pred())
        return true;
      if (std::chrono::steady_clock::now() >= deadline)
        return false;
      reactor->poll(20ms);
    }
  }

  // A request to the coordinator from a scheduled helper; the answer arrives with `settle`.
  // The unused argument keeps CAF 0.17 from binding a reference through a null pointer, which
  // it does for function actors spawned without arguments (UBSan reports it).
  template <class Reply, class... Ts> std::shared_ptr<std::optional<Reply>> ask(Ts... xs) {
    auto out = std::make_shared<std::optional<Reply>>();
    sys->spawn(
      [out, c = coord, xs...](caf::event_based_actor* self, int) {
        self->request(c, 10s, xs...).then([out](const Reply& r) { *out = r; });
      },
      0);
    return out;
  }

  // States `mid` went through, in order (one entry per state event).
  std::vector<core::milestone_state> states_of(const std::string& mid) const {
    std::vector<core::milestone_state> out;
    for (const auto& e : *events)
      if (e.ev.milestone == mid && e.ev.state &&
          (e.ev.kind == core::event_kind::state_changed ||
           e.ev.kind == core::event_kind::completed))
        out.push_back(*e.ev.state);
    return out;
  }

  std::size_t count(const std::string& mid, core::milestone_state s) const {
    auto all = states_of(mid);
    return static_cast<std::size_t>(std::count(all.begin(), all.end(), s));
  }

  // Virtual time of the n-th (0-based) event of `mid` in state `s`.
  caf::timespan time_of(const std::string& mid, core::milestone_state s, std::size_t n) const {
    for (const auto& e : *events)
      if (e.ev.milestone == mid && e.ev.state && *e.ev.state == s && n-- == 0)
        return e.at;
    FAIL("no event " << n << " of " << mid << " in " << core::to_string(s));
    return {};
  }

  bool finished() const {
    for (const auto& e : *events)
      if (e.ev.kind == core::event_kind::finished)
        return true;
    return false;
  }
};

const std::vector<unit_spec> one_unit = {{"U01", "true", {}, -1}};

} // namespace

TEST_CASE("a crashed worker restarts exactly when its backoff ends, and a stop in the backoff "
          "cancels the restart",
          "[deterministic][coordinator]") {
  using state = core::milestone_state;
  // Every worker fails at once (exit 1): the restart policy decides what follows.
  test_project p({ms("M001", {}, one_unit)},
                 "  enabled: true\n  max_workers: 1\n  max_restarts: 3\n  restart_backoff: 2\n"
                 "  worker_command: \"false\"\n");
  det_coordinator det(p);
  auto started = det.ask<command_reply>(atom::start_v, std::vector<std::string>{"M001"});
  REQUIRE(det.until([&] { return det.count("M001", state::restarting) == 1; }, 60s));
  REQUIRE(started->has_value());
  CHECK((*started)->exit_code == 0);
  CHECK(det.count("M001", state::starting) == 1);
  // The first backoff is restart_backoff: one millisecond short of it, nothing has started.
  auto first_crash = det.time_of("M001", state::restarting, 0);
  det.advance(2s - 1ms - (det.sched->clock().now().time_since_epoch() - first_crash));
  CHECK(det.count("M001", state::starting) == 1);
  CHECK(det.states_of("M001").back() == state::restarting);
  det.advance(1ms);
  CHECK(det.count("M001", state::starting) == 2);
  CHECK(det.time_of("M001", state::starting, 1) - first_crash == 2s);
  // The second crash doubles the backoff; a stop inside it cancels the restart for good.
  REQUIRE(det.until([&] { return det.count("M001", state::restarting) == 2; }, 60s));
  auto second_crash = det.time_of("M001", state::restarting, 1);
  det.advance(4s - 1ms - (det.sched->clock().now().time_since_epoch() - second_crash));
  CHECK(det.count("M001", state::starting) == 2);
  auto stopped = det.ask<command_reply>(atom::stop_v, std::string{"M001"});
  det.settle();
  REQUIRE(stopped->has_value());
  REQUIRE_FALSE((*stopped)->lines.empty());
  CHECK((*stopped)->lines[0] == "M001: restart cancelled");
  CHECK(det.states_of("M001").back() == state::stopped);
  det.advance(1h);
  CHECK(det.count("M001", state::starting) == 2);
  CHECK(det.states_of("M001").back() == state::stopped);
  CHECK(det.finished());
}

TEST_CASE("a branch that already says complete is merged at the start, and no worker runs",
          "[deterministic][coordinator]") {
  using state = core::milestone_state;
  // A worker would fail at once, so a start that ran one would show it.
  test_project p({ms("M001", {}, one_unit)},
                 "  enabled: true\n  auto_merge: auto\n  worker_command: \"false\"\n");
  // The milestone's branch holds finished work a crashed run left unmerged.
  p.git("switch -q -c milestone/M001");
  auto done = ms("M001", {}, one_unit);
  done.status = "complete";
  write_file(p.path(".sf/milestones/M001/MILESTONE.md"), milestone_text(done));
  write_file(p.path("work.txt"), "finished work\n");
  p.git("add -A");
  p.git("commit -q -m 'M001/U01: finished work'");
  auto tip = p.git("rev-parse HEAD");
  p.git("switch -q main");
  det_coordinator det(p);
  auto started = det.ask<command_reply>(atom::start_v, std::vector<std::string>{"M001"});
  REQUIRE(det.until([&] { return det.finished(); }, 60s));
  CHECK(det.count("M001", state::starting) == 0);
  CHECK(det.states_of("M001").back() == state::merged);
  // The recorded tip is on main, with its work, in a merge commit the queue made.
  CHECK(run("git merge-base --is-ancestor " + tip.substr(0, 40) + " main", p.root()).exit_code ==
        0);
  CHECK(read_file(p.path("work.txt")) == "finished work\n");
  CHECK(p.git("log -1 --format=%s main").find("Merge milestone M001") == 0);
}
