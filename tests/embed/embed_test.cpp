// The embedding API: orchestrators inside a host's actor system, the owning runtime, and the
// installed package used by a separate CMake project.
#include "actors/orchestrator.hpp"
#include "io/files/ledger_file.hpp"
#include "io/files/merge_queue_file.hpp"
#include "messages/error.hpp"
#include "messages/register.hpp"
#include "support/project.hpp"

#include <catch2/catch.hpp>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>

using namespace std::chrono_literals;
using namespace sf::test;

namespace {

std::vector<unit_spec> quick_units(const std::string& mid, int n) {
  std::vector<unit_spec> out;
  for (int i = 1; i <= n; ++i) {
    auto file = mid + "-" + std::to_string(i) + ".txt";
    out.push_back({"U0" + std::to_string(i), "echo done > " + file, {file}, 0.01});
  }
  return out;
}

const char* auto_prefs = "  enabled: true\n  max_workers: 2\n  auto_merge: auto\n";

// Events of several orchestrators, by project root, with a wait for `finished`.
struct event_log {
  std::mutex mtx;
  std::condition_variable cv;
  std::map<std::string, std::vector<sf::run_event>> by_root;

  void add(const std::string& root, const sf::run_event& ev) {
    std::lock_guard<std::mutex> guard{mtx};
    by_root[root].push_back(ev);
    cv.notify_all();
  }

  bool finished(const std::string& root) {
    for (const auto& ev : by_root[root])
      if (ev.kind == sf::event_kind::finished)
        return true;
    return false;
  }

  bool wait_all(const std::vector<std::string>& roots, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> guard{mtx};
    return cv.wait_for(guard, timeout, [&] {
      for (const auto& r : roots)
        if (!finished(r))
          return false;
      return true;
    });
  }
};

std::string main_status(const test_project& p, const std::string& mid) {
  return run("git show main:.sf/milestones/" + mid + "/MILESTONE.md", p.root()).out;
}

sf::orchestrator_options options_for(const test_project& p) {
  sf::orchestrator_options opts;
  opts.root = p.root();
  // The project's own file only: a developer's ~/.sf/PREFERENCES.md must not leak in.
  auto prefs = sf::load_preferences(p.root(), p.root());
  REQUIRE(prefs);
  opts.prefs = *prefs;
  opts.worker_argv = {SF_CLI_PATH, "worker"};
  return opts;
}

std::string build_dir() {
  return std::filesystem::path(SF_CLI_PATH).parent_path().string();
}

} // namespace

TEST_CASE("two orchestrators for two roots run side by side in one actor system", "[embed]") {
  test_project a({ms("M001", {}, quick_units("a1", 2)), ms("M002", {}, quick_units("a2", 2))},
                 auto_prefs);
  test_project b({ms("M001", {}, quick_units("b1", 3))}, auto_prefs);
  caf::actor_system_config cfg;
  sf::add_message_types(cfg);
  cfg.set("scheduler.max-threads", 2);
  event_log log;
  {
    caf::actor_system sys{cfg};
    auto ca = sf::spawn_orchestrator(sys, options_for(a));
    REQUIRE(ca);
    auto cb = sf::spawn_orchestrator(sys, options_for(b));
    REQUIRE(cb);
    // A second orchestrator for a root that already has one is refused.
    auto again = sf::spawn_orchestrator(sys, options_for(a));
    REQUIRE_FALSE(again);
    CHECK(sf::code_of(again.error()) == sf::ec::already_running);

    auto ra = a.root(), rb = b.root();
    auto sa = sf::spawn_callback_sink(sys, [&log, ra](const sf::run_event& ev) { log.add(ra, ev); });
    auto sb = sf::spawn_callback_sink(sys, [&log, rb](const sf::run_event& ev) { log.add(rb, ev); });
    caf::anon_send(*ca, sf::atom::subscribe_v, sa);
    caf::anon_send(*cb, sf::atom::subscribe_v, sb);
    {
      caf::scoped_actor self{sys};
      for (auto* c : {&*ca, &*cb})
        self->request(*c, 30s, sf::atom::start_v, std::vector<std::string>{})
          .receive([](const sf::command_reply& r) { CHECK(r.exit_code == 0); },
                   [](const caf::error& err) { FAIL(sf::describe(err)); });
    }
    REQUIRE(log.wait_all({ra, rb}, 120s));
    for (auto h : {*ca, *cb})
      caf::anon_send_exit(h, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(sa, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(sb, caf::exit_reason::user_shutdown);
  }
  // Each orchestrator saw only its own milestones, and each project's main got its own work.
  auto saw = [&](const std::string& root, const std::string& mid) {
    for (const auto& ev : log.by_root[root])
      if (ev.milestone == mid)
        return true;
    return false;
  };
  CHECK(saw(a.root(), "M002"));
  CHECK_FALSE(saw(b.root(), "M002"));
  CHECK(main_status(a, "M001").find("status: complete") != std::string::npos);
  CHECK(main_status(a, "M002").find("status: complete") != std::string::npos);
  CHECK(main_status(b, "M001").find("status: complete") != std::string::npos);
  CHECK(run("git show main:b1-3.txt", b.root()).exit_code == 0);
  CHECK(run("git show main:b1-1.txt", a.root()).exit_code != 0);
  // Separate logs: neither project's coordinator log names the other root.
  auto log_a = read_file(a.path(".sf/parallel/coordinator.log"));
  auto log_b = read_file(b.path(".sf/parallel/coordinator.log"));
  CHECK(log_a.find(b.root()) == std::string::npos);
  CHECK(log_b.find(a.root()) == std::string::npos);
}

TEST_CASE("orchestrator_runtime runs a project and answers blocking calls", "[embed]") {
  test_project p({ms("M001", {}, quick_units("m1", 2)), ms("M002", {"M001"}, quick_units("m2", 1))},
                 auto_prefs);
  auto opts = options_for(p);
  sf::orchestrator_runtime rt{p.root(), opts};
  REQUIRE_FALSE(rt.error());
  std::mutex mtx;
  std::vector<sf::run_event> events;
  REQUIRE_FALSE(rt.subscribe([&](const sf::run_event& ev) {
    std::lock_guard<std::mutex> guard{mtx};
    events.push_back(ev);
  }));
  auto reply = rt.start();
  REQUIRE(reply);
  CHECK(reply->exit_code == 0);
  REQUIRE(rt.wait_finished(120s));
  // `finished` waits until every supervisor has cleaned up after its worker: of each
  // worker's files only its log is left.
  for (const auto& entry : std::filesystem::directory_iterator(p.path(".sf/parallel"))) {
    auto name = entry.path().filename().string();
    INFO(name);
    bool worker_file = name.rfind("M001.", 0) == 0 || name.rfind("M002.", 0) == 0;
    CHECK_FALSE((worker_file && entry.path().extension() != ".log"));
  }
  auto st = rt.status();
  REQUIRE(st);
  CHECK_FALSE(st->active);
  REQUIRE(st->workers.size() == 2);
  for (const auto& w : st->workers) {
    CHECK((w.state == sf::core::milestone_state::complete || w.state == sf::core::milestone_state::merged));
    CHECK(w.completed_units == w.total_units);
  }
  auto merged = rt.merge("", true);
  REQUIRE(merged);
  CHECK(merged->exit_code == 0);
  rt.shutdown();
  rt.shutdown(); // Idempotent.
  auto after = rt.status();
  REQUIRE_FALSE(after);
  CHECK(sf::code_of(after.error()) == sf::ec::unavailable);
  std::lock_guard<std::mutex> guard{mtx};
  bool progress = false;
  bool completed = false;
  bool merged_into_main = false;
  for (const auto& ev : events) {
    progress = progress || (ev.kind == sf::event_kind::progress && ev.milestone == "M002");
    // Events carry typed states: a milestone's for state changes, a merge kind for merges.
    if (ev.kind == sf::event_kind::state_changed || ev.kind == sf::event_kind::completed ||
        ev.kind == sf::event_kind::progress) {
      CHECK(ev.state);
      CHECK_FALSE(ev.merge);
    }
    if (ev.kind == sf::event_kind::merge) {
      CHECK(ev.merge);
      CHECK_FALSE(ev.state);
      merged_into_main = merged_into_main || (ev.milestone == "M001" &&
                                              ev.merge == sf::core::merge_kind::merged &&
                                              sf::state_name(ev) == "merged");
    }
    completed = completed || (ev.kind == sf::event_kind::completed && ev.milestone == "M001" &&
                              ev.state == sf::core::milestone_state::complete);
  }
  CHECK(progress);
  CHECK(completed);
  CHECK(merged_into_main);
  CHECK(main_status(p, "M002").find("status: complete") != std::string::npos);
}

TEST_CASE("a merge left in the queue that ends before the start does not end the run",
          "[embed]") {
  // As a coordinator killed just before it saved its queue leaves things: M001 and M002 are
  // complete on their branches, only M001 is in the queue file.
  test_project p({ms("M001", {}, quick_units("q1", 1)), ms("M002", {}, quick_units("q2", 1))},
                 "  enabled: true\n  auto_merge: manual\n");
  REQUIRE(run_cli("start --yes", p.root()).exit_code == 0);
  sf::merge_item left;
  left.milestone = "M001";
  left.title = "M001";
  left.tip = run("git rev-parse milestone/M001", p.root()).out.substr(0, 40);
  REQUIRE_FALSE(sf::io::write_merge_queue(p.root(), {left}));
  write_file(p.path(".sf/PREFERENCES.md"), "---\nparallel:\n  enabled: true\n  auto_merge: auto\n---\n");
  p.git("commit -qam auto-merge");

  sf::orchestrator_runtime rt{p.root(), options_for(p)};
  REQUIRE_FALSE(rt.error());
  event_log log;
  REQUIRE_FALSE(rt.subscribe([&](const sf::run_event& ev) { log.add(p.root(), ev); }));
  // The queue finishes M001 on its own; no run was asked for, so none is finished.
  auto m001_on_main = [&] {
    std::unique_lock<std::mutex> guard{log.mtx};
    return log.cv.wait_for(guard, 60s, [&] {
      for (const auto& ev : log.by_root[p.root()])
        if (ev.kind == sf::event_kind::merge && ev.milestone == "M001" && ev.merge &&
            sf::core::is_on_main(*ev.merge))
          return true;
      return false;
    });
  };
  REQUIRE(m001_on_main());
  auto reply = rt.start();
  REQUIRE(reply);
  CHECK(reply->exit_code == 0);
  REQUIRE(log.wait_all({p.root()}, 60s));
  std::lock_guard<std::mutex> guard{log.mtx};
  std::size_t finished = 0;
  bool m002_merged = false;
  for (const auto& ev : log.by_root[p.root()]) {
    if (ev.kind == sf::event_kind::merge && ev.milestone == "M002" &&
        ev.merge == sf::core::merge_kind::merged)
      m002_merged = true;
    if (ev.kind == sf::event_kind::finished) {
      ++finished;
      CHECK(m002_merged); // The run ends after M002 merged, never before.
      CHECK(ev.text.find("0 not finished") != std::string::npos);
    }
  }
  CHECK(finished == 1);
  CHECK(main_status(p, "M002").find("status: complete") != std::string::npos);
}

TEST_CASE("a stop that reaches the coordinator before its start ends the run unstarted",
          "[embed]") {
  // As `sf-actors stop` right after `start --detach`, which returns once the lock is held.
  test_project p({ms("M001", {}, quick_units("s1", 1))}, auto_prefs);
  sf::orchestrator_runtime rt{p.root(), options_for(p)};
  REQUIRE_FALSE(rt.error());
  auto stopped = rt.stop();
  REQUIRE(stopped);
  auto reply = rt.start();
  REQUIRE(reply);
  CHECK(reply->exit_code == 0);
  REQUIRE_FALSE(reply->lines.empty());
  CHECK(reply->lines[0] == "stopped before the run started (a stop request came first)");
  CHECK(rt.wait_finished(30s));
  CHECK_FALSE(std::filesystem::exists(p.path(".sf/worktrees/M001")));
  CHECK(run("git rev-parse --verify -q milestone/M001", p.root()).exit_code != 0);
}

TEST_CASE("an embedded start is refused when the budget period has spent its ceiling",
          "[embed][budget]") {
  test_project p({ms("M001", {}, quick_units("m1", 1))},
                 "  enabled: true\n  auto_merge: auto\n  budget_ceiling: 1.0\n");
  // An earlier run of this period spent the whole ceiling.
  REQUIRE_FALSE(sf::io::write_ledger(p.root(), {{"M001", 0.75}, {"M002", 0.25}}));
  sf::orchestrator_runtime rt{p.root(), options_for(p)};
  REQUIRE_FALSE(rt.error());
  auto reply = rt.start();
  REQUIRE(reply);
  CHECK(reply->exit_code == 6);
  REQUIRE(reply->lines.size() == 1);
  CHECK(reply->lines[0] ==
        "the budget ceiling is reached: spent $1.00 of $1.00 ceiling in this budget period (all "
        "runs since it began); fix: raise `parallel.budget_ceiling` in .sf/PREFERENCES.md or "
        "start a new period with `sf-actors budget reset`");
  // Nothing was started: no worker, no worktree, no branch.
  auto st = rt.status();
  REQUIRE(st);
  CHECK_FALSE(st->active);
  CHECK(st->workers.empty());
  CHECK_FALSE(std::filesystem::exists(p.path(".sf/worktrees/M001")));
  CHECK(run("git rev-parse --verify -q milestone/M001", p.root()).exit_code != 0);

  // The refusal spent nothing: the ledger says what it said.
  auto ledger = sf::io::read_ledger_record(p.root());
  REQUIRE(ledger);
  CHECK(ledger->total() == Approx(1.0));
  rt.shutdown();
}

TEST_CASE("orchestrator refuses a project with parallel mode off or a broken plan", "[embed]") {
  test_project off({ms("M001", {}, quick_units("x", 1))}, "  enabled: false\n");
  sf::orchestrator_runtime rt{off.root(), options_for(off)};
  REQUIRE(rt.error());
  CHECK(sf::code_of(rt.error()) == sf::ec::not_enabled);
  CHECK(sf::describe(rt.error()).find("parallel.enabled") != std::string::npos);
  auto st = rt.start();
  REQUIRE_FALSE(st);

  test_project broken({ms("M001", {}, quick_units("x", 1))}, auto_prefs);
  write_file(broken.path(".sf/milestones/M001/MILESTONE.md"), "---\ntitle: [unclosed\n---\n");
  sf::orchestrator_runtime rt2{broken.root(), options_for(broken)};
  REQUIRE(rt2.error());
  CHECK(sf::code_of(rt2.error()) == sf::ec::invalid_input);
  CHECK(sf::describe(rt2.error()).find("MILESTONE.md") != std::string::npos);
}

TEST_CASE("the installed runtime builds a host program that runs a project", "[embed]") {
  temp_dir prefix;
  // Only what an embedding host needs: no CLI, no harness, no fault worker.
  auto install = run("cmake --install " + sh_quote(build_dir()) + " --component runtime" +
                     " --prefix " + sh_quote(prefix.path()));
  INFO(install.out << install.err);
  REQUIRE(install.exit_code == 0);
  CHECK_FALSE(std::filesystem::exists(prefix / "bin/sf-actors"));
  CHECK(std::filesystem::exists(prefix / "bin/sf-worker"));
  CHECK(std::filesystem::exists(prefix / "bin/sf-log-relay"));
  CHECK(std::filesystem::exists(prefix / "lib/libsf_actors.a"));
  CHECK(std::filesystem::exists(prefix / "include/sf-actors/actors/orchestrator.hpp"));
  CHECK(std::filesystem::exists(prefix / "include/sf-actors/io/git/merge.hpp"));
  for (const char* absent : {"chaos", "doctor", "check_worker", "worker", "cli"})
    CHECK_FALSE(std::filesystem::exists(prefix / (std::string("include/sf-actors/") + absent)));
  // The archive's members name their sources: none comes from a program's own parts (the
  // harnesses, the fault worker, the CLI's verbs and text renderers).
  auto members = run("ar t " + sh_quote(prefix / "lib/libsf_actors.a"));
  REQUIRE(members.exit_code == 0);
  CHECK(members.out.find("orchestrator.cpp.o") != std::string::npos);
  // A leading newline anchors a part to a member's start: the chaos `runner.cpp`, not the
  // library's own `hook_runner.cpp`.
  for (const char* part : {"fault_knobs", "fault_worker", "\nrunner.cpp", "scenario.cpp",
                           "invariants.cpp", "doctor", "conformance", "reference_worker",
                           "unit_runner", "_command.cpp", "_text.cpp", "one_line"}) {
    INFO(part);
    CHECK(("\n" + members.out).find(part) == std::string::npos);
  }

  // pkg-config finds the headers and the libraries of the installed copy.
  auto pc = run("PKG_CONFIG_PATH=" + sh_quote(prefix / "lib/pkgconfig") +
                " pkg-config --cflags --libs sf-actors");
  REQUIRE(pc.exit_code == 0);
  CHECK(pc.out.find("include/sf-actors") != std::string::npos);
  CHECK(pc.out.find("-lsf_actors") != std::string::npos);
  CHECK(pc.out.find("-lgit2") != std::string::npos);

  temp_dir work;
  auto configure = run("cmake -S " + sh_quote(std::string(SF_SOURCE_DIR) + "/examples/embed") +
                       " -B " + sh_quote(work / "build") + " -DCMAKE_BUILD_TYPE=Debug" +
                       " -DCMAKE_PREFIX_PATH=" + sh_quote(prefix.path()));
  INFO(configure.out << configure.err);
  REQUIRE(configure.exit_code == 0);
  auto build = run("cmake --build " + sh_quote(work / "build") + " -j2");
  INFO(build.out << build.err);
  REQUIRE(build.exit_code == 0);

  test_project p({ms("M001", {}, quick_units("e1", 2)), ms("M002", {}, quick_units("e2", 1))},
                 auto_prefs);
  // PATH without the build tree: the example must find the installed worker by itself.
  auto ran = run("HOME=" + sh_quote(p.root()) + " PATH=/usr/bin:/bin " +
                 sh_quote(work / "build/embed_example") + " " + sh_quote(p.root()));
  INFO(ran.out << ran.err);
  REQUIRE(ran.exit_code == 0);
  CHECK(ran.out.find("[progress] M001") != std::string::npos);
  CHECK(ran.out.find("[finished]") != std::string::npos);
  CHECK(ran.out.find("[merge] M002") != std::string::npos);
  CHECK(ran.out.find("2 complete, 0 failed") != std::string::npos);
  CHECK(main_status(p, "M001").find("status: complete") != std::string::npos);
  CHECK(main_status(p, "M002").find("status: complete") != std::string::npos);
}

TEST_CASE("the default worker is the sf-worker found in the install hint first", "[embed]") {
  auto dir = std::filesystem::path(SF_CLI_PATH).parent_path().string();
  auto argv = sf::default_worker_argv(dir);
  REQUIRE(argv);
  CHECK(*argv == std::vector<std::string>{dir + "/sf-worker"});
}

TEST_CASE("without sf-worker the default worker is `sf-actors worker` from the same folder",
          "[embed]") {
  temp_dir bin;
  std::filesystem::copy_file(SF_CLI_PATH, bin / "sf-actors");
  std::filesystem::permissions(bin / "sf-actors", std::filesystem::perms::owner_all);
  auto argv = sf::default_worker_argv(bin.path());
  REQUIRE(argv);
  CHECK(*argv == std::vector<std::string>{bin / "sf-actors", "worker"});
}
