// The reference worker end to end: real git repositories, real worker and unit processes.
#include "io/files/ledger_file.hpp"
#include "io/files/parallel_dir.hpp"
#include "io/files/signal_file.hpp"
#include "io/files/status_file.hpp"
#include "io/git/worktree.hpp"
#include "io/os/dir_watcher.hpp"
#include "io/os/process.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <atomic>
#include <thread>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using sf::test::read_file;
using sf::test::run;
using sf::test::sh_quote;
using sf::test::write_file;

/// A repository with milestone M001 planned, committed, and its worktree created.
struct project {
  sf::test::temp_dir tmp;
  std::string root = tmp / "repo";
  std::string wt;

  /// `units` is the YAML of `slices:` (indented two spaces); `prefs` extra `parallel:` keys.
  explicit project(const std::string& slices, const std::string& prefs = "") {
    sf::test::init_git_repo(root);
    write_file(root + "/.sf/milestones/M001/MILESTONE.md",
               "---\ntitle: First\nstatus: active\nslices:\n" + slices +
                   "---\n# First\n\nNotes stay as written.\n");
    write_file(root + "/.sf/PREFERENCES.md", "---\nparallel:\n  enabled: true\n"
                                             "  heartbeat_interval: 0.2\n" + prefs + "---\n");
    auto r = run("git add -A && git commit -q -m plan", root);
    REQUIRE(r.exit_code == 0);
    auto info = sf::io::ensure_worktree(root, "M001");
    REQUIRE(info);
    wt = info->path;
    REQUIRE(sf::io::ensure_parallel_dir(root));
  }

  /// Where units leave traces outside the worktree (so they are never committed).
  std::string trace(const std::string& name) const { return tmp / name; }

  std::string env_prefix() const {
    return "SF_MILESTONE_LOCK=M001 SF_PARALLEL_WORKER=1 SF_PROJECT_ROOT=" + sh_quote(root) +
           " SF_SPAWN_TOKEN=tok-1 TRACE=" + sh_quote(tmp.path()) + " ";
  }

  /// Runs the worker to its end.
  sf::test::command_result run_worker() const {
    return run(env_prefix() + sh_quote(SF_CLI_PATH) + " worker", wt);
  }

  /// Starts the worker in the background (its own process group).
  sf::io::child_process spawn_worker() const {
    sf::io::spawn_request req;
    req.argv = {SF_CLI_PATH, "worker"};
    req.cwd = wt;
    const char* path = std::getenv("PATH");
    const char* home = std::getenv("HOME");
    req.env = {std::string("PATH=") + (path ? path : "/usr/bin:/bin"),
               std::string("HOME=") + (home ? home : "/nonexistent"), "SF_MILESTONE_LOCK=M001",
               "SF_PARALLEL_WORKER=1", "SF_PROJECT_ROOT=" + root, "SF_SPAWN_TOKEN=tok-1",
               "TRACE=" + tmp.path()};
    req.log_path = tmp / "worker.log";
    auto child = sf::io::spawn_process(req);
    REQUIRE(child);
    return std::move(*child);
  }

  std::optional<sf::io::worker_status> status() const {
    auto s = sf::io::read_status(root, "M001");
    if (!s)
      return std::nullopt;
    return *s;
  }

  /// Waits (on inotify of .sf/parallel, re-checking at least every 50 ms) until `pred` holds.
  bool wait_for(const std::function<bool()>& pred, std::chrono::milliseconds limit = 10s) const {
    auto watcher = sf::io::dir_watcher::create(root + "/.sf/parallel");
    REQUIRE(watcher);
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!pred()) {
      if (std::chrono::steady_clock::now() >= deadline)
        return false;
      pollfd p{watcher->fd(), POLLIN, 0};
      (void) ::poll(&p, 1, 50);
      (void) watcher->read_events();
    }
    return true;
  }

  bool wait_state(sf::core::worker_state state) const {
    return wait_for([&] {
      auto s = status();
      return s && s->state == state;
    });
  }

  /// Commit subjects on the milestone branch, newest first.
  std::vector<std::string> log() const {
    auto r = run("git log --format=%s milestone/M001", root);
    std::vector<std::string> out;
    std::istringstream in(r.out);
    for (std::string line; std::getline(in, line);)
      out.push_back(line);
    return out;
  }

  std::string show(const std::string& file) const {
    return run("git show milestone/M001:" + file, root).out;
  }
};

/// Waits for a spawned worker to exit (pidfd, with a deadline) and returns its status.
int wait_exit(sf::io::child_process& child, std::chrono::milliseconds limit = 10s) {
  pollfd p{child.pidfd(), POLLIN, 0};
  REQUIRE(::poll(&p, 1, static_cast<int>(limit.count())) == 1);
  int status = 0;
  REQUIRE(child.try_reap(status));
  return status;
}

std::string unit(const std::string& id, const std::string& run_cmd,
                 const std::string& extra = "") {
  return "      - id: " + id + "\n        title: Unit " + id + "\n        run: " + run_cmd +
         "\n" + extra;
}

std::string slice(const std::string& id, const std::string& units) {
  return "  - id: " + id + "\n    title: Slice " + id + "\n    units:\n" + units;
}

/// Unit command that appends its id to $TRACE/runs.
std::string append_run(const std::string& id) {
  return "'echo " + id + " >> \"$TRACE/runs\"'";
}

/// True once `pid` has exited: gone, or a zombie waiting for whoever adopted it to reap it.
bool process_gone(pid_t pid) {
  auto st = sf::io::read_proc_stat(pid);
  return !st || st->state == 'Z' || st->state == 'X';
}

} // namespace

TEST_CASE("the worker runs every unit in order, commits each and completes", "[worker]") {
  project p(slice("S01", unit("U1", "'echo SF_COST 0.25; echo SF_COST 0.5; echo a > a.txt; "
                                    "echo U1 >> \"$TRACE/runs\"'") +
                             unit("U2", "'echo SF_COST 9; echo b > b.txt; echo U2 >> "
                                        "\"$TRACE/runs\"'",
                                  "        cost: 1.5\n")) +
            slice("S02", unit("U3", "'rm a.txt; echo U3 >> \"$TRACE/runs\"'")));
  auto r = p.run_worker();
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(read_file(p.trace("runs")) == "U1\nU2\nU3\n");
  auto log = p.log();
  REQUIRE(log.size() >= 3);
  CHECK(log[0] == "M001/U3: Unit U3");
  CHECK(log[1] == "M001/U2: Unit U2");
  CHECK(log[2] == "M001/U1: Unit U1");
  // The last unit's commit marks the milestone complete; the one before does not.
  CHECK(run("git log -1 --format=%b milestone/M001", p.root).out == "M001 is complete.\n");
  auto md = p.show(".sf/milestones/M001/MILESTONE.md");
  CHECK(md.find("status: complete\n") != std::string::npos);
  CHECK(md.find("status: active") == std::string::npos);
  CHECK(md.find("Notes stay as written.") != std::string::npos);
  CHECK(run("git show milestone/M001~1:.sf/milestones/M001/MILESTONE.md", p.root)
          .out.find("status: complete") == std::string::npos);
  // The deletion by U3 is committed; the lock file never is.
  CHECK(run("git cat-file -e milestone/M001:a.txt", p.root).exit_code != 0);
  CHECK(run("git cat-file -e milestone/M001:b.txt", p.root).exit_code == 0);
  CHECK(run("git cat-file -e milestone/M001:.sf/auto.lock", p.root).exit_code != 0);
  CHECK(run("git status --porcelain", p.wt).out.empty());
  // The output of units reaches the worker's log (its stdout).
  CHECK(r.out.find("SF_COST 0.25") != std::string::npos);

  auto metrics = nlohmann::json::parse(p.show(".sf/metrics.json"));
  auto& m = metrics["milestones"]["M001"];
  REQUIRE(m["units"].size() == 3);
  CHECK(m["units"][0]["id"] == "U1");
  CHECK(m["units"][0]["slice"] == "S01");
  CHECK(m["units"][0]["cost"].get<double>() == Approx(0.75));
  CHECK(m["units"][1]["cost"].get<double>() == Approx(1.5));
  CHECK(m["units"][2]["slice"] == "S02");
  CHECK(m["units"][2]["cost"].get<double>() == Approx(0.0));
  CHECK(m["cost"].get<double>() == Approx(2.25));
  CHECK(m["units"][0]["finishedAt"].get<int64_t>() >= m["units"][0]["startedAt"].get<int64_t>());

  auto s = p.status();
  REQUIRE(s);
  CHECK(s->state == sf::core::worker_state::stopped);
  CHECK_FALSE(s->unit);
  CHECK(s->completed_units == 3);
  CHECK(s->total_units == 3);
  CHECK(s->cost == Approx(2.25));
  CHECK(s->spawn_token == std::string("tok-1"));
  CHECK(s->protocol == 1);
  CHECK(s->worktree_path == p.wt);
  CHECK_FALSE(s->error);
}

TEST_CASE("a restarted worker resumes after the last completed unit", "[worker]") {
  project p(slice("S01", unit("U1", append_run("U1"), "        cost: 0.5\n") +
                             unit("U2", "'echo U2 >> \"$TRACE/runs\"; if [ ! -f \"$TRACE/ok\" ]; "
                                        "then touch \"$TRACE/ok\"; echo half > half.txt; exit 4; "
                                        "fi'") +
                             unit("U3", append_run("U3"))));
  auto first = p.run_worker();
  CHECK(first.exit_code == 1);
  auto s = p.status();
  REQUIRE(s);
  CHECK(s->state == sf::core::worker_state::error);
  CHECK(s->error == std::string("unit U2 failed: exited with code 4"));
  CHECK(s->cost == Approx(0.5));
  // The failed unit's change stays in the worktree, uncommitted.
  CHECK(run("git status --porcelain", p.wt).out.find("half.txt") != std::string::npos);

  auto second = p.run_worker();
  INFO(second.err);
  CHECK(second.exit_code == 0);
  CHECK(read_file(p.trace("runs")) == "U1\nU2\nU2\nU3\n");
  s = p.status();
  REQUIRE(s);
  CHECK(s->state == sf::core::worker_state::stopped);
  CHECK(s->completed_units == 3);
  CHECK(s->cost == Approx(0.5));
  auto log = p.log();
  REQUIRE(log.size() >= 3);
  CHECK(log[0] == "M001/U3: Unit U3");
  CHECK(log[1] == "M001/U2: Unit U2");
  CHECK(log[2] == "M001/U1: Unit U1");
  CHECK(p.show(".sf/milestones/M001/MILESTONE.md").find("status: complete") != std::string::npos);

  // A third run finds nothing to do and adds no commit.
  auto third = p.run_worker();
  INFO(third.err);
  CHECK(third.exit_code == 0);
  CHECK(p.log() == log);
  CHECK(read_file(p.trace("runs")) == "U1\nU2\nU2\nU3\n");
}

TEST_CASE("a worker that finds every unit done commits what the last run left", "[worker]") {
  project p(slice("S01", unit("U1", append_run("U1")) + unit("U2", append_run("U2"))));
  auto first = p.run_worker();
  INFO(first.err);
  REQUIRE(first.exit_code == 0);
  // As if the last unit's commit had failed: its changes (the metrics record and the mark)
  // are in the worktree, not on the branch.
  REQUIRE(run("git reset -q --soft HEAD~1", p.wt).exit_code == 0);
  REQUIRE(p.show(".sf/milestones/M001/MILESTONE.md").find("status: complete") ==
          std::string::npos);

  auto second = p.run_worker();
  INFO(second.err);
  CHECK(second.exit_code == 0);
  CHECK(read_file(p.trace("runs")) == "U1\nU2\n"); // No unit ran twice.
  // U2 finished but its commit is missing: it gets its own commit, with its own message.
  auto log = p.log();
  REQUIRE(log.size() >= 2);
  CHECK(log[0] == "M001/U2: Unit U2");
  CHECK(log[1] == "M001/U1: Unit U1");
  CHECK(run("git log -1 --format=%b milestone/M001", p.root).out == "M001 is complete.\n");
  CHECK(p.show(".sf/milestones/M001/MILESTONE.md").find("status: complete") != std::string::npos);
  auto metrics = nlohmann::json::parse(p.show(".sf/metrics.json"));
  CHECK(metrics["milestones"]["M001"]["units"].size() == 2);
  CHECK(run("git status --porcelain", p.wt).out.empty());
}

namespace {

/// Files a commit of the milestone branch changed (`rev` like "milestone/M001~1"), sorted.
std::string files_of(const std::string& root, const std::string& rev) {
  return run("git show --name-only --format= " + rev + " | sort", root).out;
}

/// Occurrences of `subject` among the branch's commit subjects.
std::size_t commits_named(const std::vector<std::string>& log, const std::string& subject) {
  return static_cast<std::size_t>(std::count(log.begin(), log.end(), subject));
}

} // namespace

TEST_CASE("an index.lock held for a moment is waited out while heartbeating, and each unit keeps "
          "its own commit", "[worker][index_lock]") {
  project p(slice("S01", unit("U1", "'echo one > one.txt'") +
                             unit("U2", "'until [ -e \"$TRACE/go\" ]; do sleep 0.01; done; "
                                        "echo two > two.txt'") +
                             unit("U3", "'echo three > three.txt'")));
  const std::string lock = p.root + "/.git/worktrees/M001/index.lock";
  auto child = p.spawn_worker();
  REQUIRE(p.wait_for([&] {
    auto s = p.status();
    return s && s->unit && s->unit->id == "U2";
  }));
  // An editor's background `git status` takes the worktree's index lock as U2 ends.
  write_file(lock, "");
  write_file(p.trace("go"), "");
  auto worker_log = [&] {
    try {
      return read_file(p.tmp / "worker.log");
    } catch (const std::exception&) {
      return std::string{};
    }
  };
  REQUIRE(p.wait_for([&] { return worker_log().find("waiting for " + lock) != std::string::npos; }));
  // Still alive for the coordinator: heartbeats go on while the commit waits.
  auto first = p.status();
  REQUIRE(first);
  for (int beat = 0; beat < 2; ++beat) {
    auto seen = p.status()->last_heartbeat;
    REQUIRE(p.wait_for([&] {
      auto s = p.status();
      return s && s->last_heartbeat > seen;
    }));
  }
  auto waiting = p.status();
  REQUIRE(waiting);
  CHECK(waiting->state == sf::core::worker_state::running);
  CHECK(waiting->completed_units == 1);
  CHECK(commits_named(p.log(), "M001/U2: Unit U2") == 0);
  REQUIRE(::unlink(lock.c_str()) == 0);
  int status = wait_exit(child);
  INFO(worker_log());
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  auto log = p.log();
  REQUIRE(log.size() == 5); // three units on the two commits init_git_repo and the plan made
  CHECK(log[0] == "M001/U3: Unit U3");
  CHECK(log[1] == "M001/U2: Unit U2");
  CHECK(log[2] == "M001/U1: Unit U1");
  CHECK(files_of(p.root, "milestone/M001~2") == ".sf/metrics.json\none.txt\n");
  CHECK(files_of(p.root, "milestone/M001~1") == ".sf/metrics.json\ntwo.txt\n");
  CHECK(files_of(p.root, "milestone/M001") ==
        ".sf/metrics.json\n.sf/milestones/M001/MILESTONE.md\nthree.txt\n");
  CHECK(run("git status --porcelain", p.wt).out.empty());
}

TEST_CASE("an index.lock another process takes and drops over and over never fails a unit",
          "[worker][index_lock]") {
  std::string units;
  for (int i = 1; i <= 10; ++i)
    units += unit("U" + std::to_string(i), "'echo " + std::to_string(i) + " > f" +
                                               std::to_string(i) + ".txt'");
  project p(slice("S01", units));
  const std::string lock = p.root + "/.git/worktrees/M001/index.lock";
  // An IDE polling `git status` in the worktree: the lock comes and goes all the time, so a
  // commit can find it taken and gone again before it looks a second time.
  std::atomic<bool> done{false};
  std::thread flapper{[&] {
    while (!done) {
      int fd = ::open(lock.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
      if (fd >= 0) {
        ::close(fd);
        ::unlink(lock.c_str());
      }
      std::this_thread::sleep_for(std::chrono::microseconds(300));
    }
  }};
  struct joiner {
    std::atomic<bool>& done;
    std::thread& t;
    ~joiner() {
      done = true;
      t.join();
    }
  } join_at_end{done, flapper};
  auto child = p.spawn_worker();
  int status = wait_exit(child, 60s);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  auto log = p.log();
  CHECK(log.size() == 12);
  CHECK(run("git status --porcelain", p.wt).out.empty());
}

TEST_CASE("an index.lock held for good fails the unit naming the lock, and the next run commits "
          "that unit once, before the next", "[worker][index_lock]") {
  project p(slice("S01", unit("U1", "'echo one > one.txt; echo U1 >> \"$TRACE/runs\"'") +
                             unit("U2", "'until [ -e \"$TRACE/go\" ]; do sleep 0.01; done; "
                                        "echo two > two.txt; echo U2 >> \"$TRACE/runs\"'") +
                             unit("U3", "'echo three > three.txt; echo U3 >> \"$TRACE/runs\"'")),
            "  stale_timeout: 1\n");
  const std::string lock = p.root + "/.git/worktrees/M001/index.lock";
  // U1 commits before the lock shows up; the lock is then never released.
  auto first_run = [&] {
    auto child = p.spawn_worker();
    REQUIRE(p.wait_for([&] {
      auto s = p.status();
      return s && s->unit && s->unit->id == "U2";
    }));
    write_file(lock, "");
    write_file(p.trace("go"), "");
    return wait_exit(child, 20s);
  };
  int status = first_run();
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 1);
  auto s = p.status();
  REQUIRE(s);
  CHECK(s->state == sf::core::worker_state::error);
  REQUIRE(s->error);
  CHECK(s->error->find(lock) != std::string::npos);
  CHECK(s->error->find("another git process holds") != std::string::npos);
  // U2 is not on the branch; only the worktree's metrics file records it.
  auto log = p.log();
  CHECK(commits_named(log, "M001/U2: Unit U2") == 0);
  CHECK(commits_named(log, "M001/U1: Unit U1") == 1);
  auto worktree_metrics = nlohmann::json::parse(read_file(p.wt + "/.sf/metrics.json"));
  CHECK(worktree_metrics["milestones"]["M001"]["units"].size() == 2);

  REQUIRE(::unlink(lock.c_str()) == 0);
  auto second = p.run_worker();
  INFO(second.err);
  CHECK(second.exit_code == 0);
  CHECK(read_file(p.trace("runs")) == "U1\nU2\nU3\n"); // U2 did not run again
  log = p.log();
  REQUIRE(log.size() == 5); // three units on the two commits init_git_repo and the plan made
  CHECK(log[0] == "M001/U3: Unit U3");
  CHECK(log[1] == "M001/U2: Unit U2");
  CHECK(log[2] == "M001/U1: Unit U1");
  CHECK(files_of(p.root, "milestone/M001~1") == ".sf/metrics.json\ntwo.txt\n");
  CHECK(files_of(p.root, "milestone/M001") ==
        ".sf/metrics.json\n.sf/milestones/M001/MILESTONE.md\nthree.txt\n");
  auto metrics = nlohmann::json::parse(p.show(".sf/metrics.json"));
  CHECK(metrics["milestones"]["M001"]["units"].size() == 3);
}

TEST_CASE("a worktree metrics file ahead of HEAD gets that unit's own commit before the next "
          "unit runs", "[worker][index_lock]") {
  project p(slice("S01", unit("U1", "'echo one > one.txt; echo U1 >> \"$TRACE/runs\"'") +
                             unit("U2", "'echo two > two.txt; echo U2 >> \"$TRACE/runs\"'")));
  // What a run whose U1 commit failed leaves: U1's file and its record, uncommitted.
  write_file(p.wt + "/one.txt", "one\n");
  write_file(p.wt + "/.sf/metrics.json",
             R"({"version":1,"milestones":{"M001":{"units":[{"id":"U1","slice":"S01",)"
             R"("title":"Unit U1","cost":0.25,"startedAt":1,"finishedAt":2}],"cost":0.25}}})");
  auto r = p.run_worker();
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.err.find("unit U1 finished in an earlier run but its commit is missing") !=
        std::string::npos);
  CHECK(read_file(p.trace("runs")) == "U2\n"); // U1 is not run again
  auto log = p.log();
  REQUIRE(log.size() == 4); // two units on the two commits init_git_repo and the plan made
  CHECK(log[0] == "M001/U2: Unit U2");
  CHECK(log[1] == "M001/U1: Unit U1");
  CHECK(files_of(p.root, "milestone/M001~1") == ".sf/metrics.json\none.txt\n");
  CHECK(files_of(p.root, "milestone/M001") ==
        ".sf/metrics.json\n.sf/milestones/M001/MILESTONE.md\ntwo.txt\n");
  auto s = p.status();
  REQUIRE(s);
  CHECK(s->completed_units == 2);
  CHECK(s->cost == Approx(0.25));
}

TEST_CASE("a failing unit ends the worker with an error naming it", "[worker]") {
  project p(slice("S01", unit("U1", "'echo one > one.txt'") + unit("U2", "'exit 7'") +
                             unit("U3", append_run("U3"))));
  auto r = p.run_worker();
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("unit U2 failed: exited with code 7") != std::string::npos);
  auto s = p.status();
  REQUIRE(s);
  CHECK(s->state == sf::core::worker_state::error);
  CHECK(s->error == std::string("unit U2 failed: exited with code 7"));
  CHECK(s->completed_units == 1);
  auto log = p.log();
  REQUIRE_FALSE(log.empty());
  CHECK(log[0] == "M001/U1: Unit U1");
  CHECK(run("git cat-file -e milestone/M001:one.txt", p.root).exit_code == 0);
  CHECK_FALSE(run("test -e " + sh_quote(p.trace("runs"))).exit_code == 0);
  CHECK(p.show(".sf/milestones/M001/MILESTONE.md").find("status: active") != std::string::npos);
}

TEST_CASE("a pause signal holds the next unit until resume", "[worker]") {
  // U1 sends the pause itself, so it arrives exactly between U1 and U2.
  std::string send_pause = "'echo U1 >> \"$TRACE/runs\"; d=\"$SF_PROJECT_ROOT/.sf/parallel\"; "
                           "printf %s \"{\\\"signal\\\":\\\"pause\\\",\\\"sentAt\\\":1,"
                           "\\\"from\\\":\\\"coordinator\\\"}\" > \"$d/x.tmp\" && "
                           "mv \"$d/x.tmp\" \"$d/M001.signal.json\"'";
  project p(slice("S01", unit("U1", send_pause) + unit("U2", append_run("U2"))));
  auto worker = p.spawn_worker();
  REQUIRE(p.wait_state(sf::core::worker_state::paused));
  auto paused = p.status();
  REQUIRE(paused);
  CHECK(paused->completed_units == 1);
  CHECK_FALSE(paused->unit);
  // Heartbeats go on while paused, and U2 has still not started.
  REQUIRE(p.wait_for([&] {
    auto s = p.status();
    return s && s->last_heartbeat > paused->last_heartbeat;
  }));
  CHECK(p.status()->state == sf::core::worker_state::paused);
  CHECK(read_file(p.trace("runs")) == "U1\n");
  REQUIRE_FALSE(sf::io::send_signal(p.root, "M001", sf::io::signal_kind::resume));
  CHECK(WEXITSTATUS(wait_exit(worker)) == 0);
  CHECK(read_file(p.trace("runs")) == "U1\nU2\n");
  auto s = p.status();
  REQUIRE(s);
  CHECK(s->state == sf::core::worker_state::stopped);
  CHECK(s->completed_units == 2);
}

TEST_CASE("a stop signal ends the worker between units", "[worker]") {
  std::string send_stop = "'echo U1 >> \"$TRACE/runs\"; d=\"$SF_PROJECT_ROOT/.sf/parallel\"; "
                          "printf %s \"{\\\"signal\\\":\\\"stop\\\",\\\"sentAt\\\":1}\" > "
                          "\"$d/x.tmp\" && mv \"$d/x.tmp\" \"$d/M001.signal.json\"'";
  project p(slice("S01", unit("U1", send_stop) + unit("U2", append_run("U2"))));
  auto r = p.run_worker();
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(read_file(p.trace("runs")) == "U1\n");
  auto s = p.status();
  REQUIRE(s);
  CHECK(s->state == sf::core::worker_state::stopped);
  CHECK(s->completed_units == 1);
  CHECK(p.log()[0] == "M001/U1: Unit U1");
  CHECK(p.show(".sf/milestones/M001/MILESTONE.md").find("status: active") != std::string::npos);
}

TEST_CASE("a malformed signal file is reported and skipped", "[worker]") {
  project p(slice("S01", unit("U1", append_run("U1"))));
  write_file(p.root + "/.sf/parallel/M001.signal.json", "{\"signal\": \"dance\"}");
  auto r = p.run_worker();
  CHECK(r.exit_code == 0);
  CHECK(r.err.find("M001.signal.json") != std::string::npos);
  CHECK(read_file(p.trace("runs")) == "U1\n");
}

TEST_CASE("SIGTERM kills the running unit's process group and stops", "[worker]") {
  project p(slice("S01", unit("U1", "'echo keep > partial.txt; sleep 30 & "
                                    "echo $! > \"$SF_PROJECT_ROOT/.sf/parallel/sleep-pid\"; "
                                    "wait'") +
                             unit("U2", append_run("U2"))));
  auto worker = p.spawn_worker();
  std::string pid_file = p.root + "/.sf/parallel/sleep-pid";
  REQUIRE(p.wait_for([&] {
    std::ifstream in(pid_file);
    long pid = 0;
    return static_cast<bool>(in >> pid) && pid > 0;
  }));
  pid_t sleeper = std::stoi(read_file(pid_file));
  auto running = p.status();
  REQUIRE(running);
  REQUIRE(running->unit);
  CHECK(running->unit->id == "U1");
  CHECK(running->current_slice == std::string("S01"));
  REQUIRE_FALSE(worker.signal(SIGTERM));
  int st = wait_exit(worker);
  CHECK(WIFEXITED(st));
  CHECK(WEXITSTATUS(st) == 0);
  // The unit's background job got the group's signal too (it may linger as a zombie until
  // the process that adopted it reaps it, which is not the worker).
  CHECK(p.wait_for([&] { return process_gone(sleeper); }, 3s));
  auto s = p.status();
  REQUIRE(s);
  CHECK(s->state == sf::core::worker_state::stopped);
  CHECK_FALSE(s->unit);
  CHECK(s->completed_units == 0);
  CHECK_FALSE(run("test -e " + sh_quote(p.trace("runs"))).exit_code == 0);
  // The interrupted unit's work is left in place.
  CHECK(read_file(p.wt + "/partial.txt") == "keep\n");
}

TEST_CASE("a second worker for the same milestone exits 3", "[worker]") {
  project p(slice("S01", unit("U1", "'echo $$ > \"$SF_PROJECT_ROOT/.sf/parallel/unit-pid\"; "
                                    "exec sleep 30'")));
  auto worker = p.spawn_worker();
  REQUIRE(p.wait_for([&] {
    auto s = p.status();
    return s && s->unit && s->unit->id == "U1";
  }));
  auto second = p.run_worker();
  CHECK(second.exit_code == 3);
  CHECK(second.err.find("another worker (pid " + std::to_string(worker.pid()) +
                        ") already runs milestone M001 in " + p.wt) != std::string::npos);
  // The refused worker did not overwrite the status of the running one.
  auto s = p.status();
  REQUIRE(s);
  CHECK(s->pid == worker.pid());
  REQUIRE_FALSE(worker.signal(SIGTERM));
  CHECK(WEXITSTATUS(wait_exit(worker)) == 0);
  CHECK(p.status()->state == sf::core::worker_state::stopped);
}

TEST_CASE("the worker stops itself at the budget ceiling", "[worker]") {
  std::string units;
  for (int i = 1; i <= 5; ++i)
    units += unit("U" + std::to_string(i), append_run("U" + std::to_string(i)),
                  "        cost: 0.4\n");
  project p(slice("S01", units), "  budget_ceiling: 1.0\n");
  auto r = p.run_worker();
  INFO(r.err);
  CHECK(r.exit_code == 0);
  // Checked before each unit: 0.0, 0.4, 0.8 are below 1.0; 1.2 is not.
  CHECK(read_file(p.trace("runs")) == "U1\nU2\nU3\n");
  auto s = p.status();
  REQUIRE(s);
  CHECK(s->state == sf::core::worker_state::stopped);
  CHECK(s->error == std::string("budget ceiling reached ($1.20 of $1.00)"));
  CHECK(s->completed_units == 3);
  CHECK(s->cost == Approx(1.2));
  CHECK(p.log()[0] == "M001/U3: Unit U3");
}

TEST_CASE("the coordinator's ledger counts toward the budget", "[worker]") {
  project p(slice("S01", unit("U1", append_run("U1"), "        cost: 0.4\n") +
                             unit("U2", append_run("U2"), "        cost: 0.4\n")),
            "  budget_ceiling: 1.0\n");
  // Our own stale ledger entry is replaced by our live cost.
  REQUIRE_FALSE(sf::io::write_ledger(p.root, {{"M002", 0.7}, {"M001", 5.0}}));
  auto r = p.run_worker();
  CHECK(r.exit_code == 0);
  CHECK(read_file(p.trace("runs")) == "U1\n");
  auto s = p.status();
  REQUIRE(s);
  CHECK(s->error == std::string("budget ceiling reached ($1.10 of $1.00)"));
}

TEST_CASE("heartbeats advance while a unit runs", "[worker]") {
  project p(slice("S01", unit("U1", "'read line < \"$TRACE/fifo\"; echo \"$line\" > got.txt'")));
  REQUIRE(run("mkfifo " + sh_quote(p.trace("fifo"))).exit_code == 0);
  auto worker = p.spawn_worker();
  std::optional<sf::io::worker_status> first;
  REQUIRE(p.wait_for([&] {
    first = p.status();
    return first && first->unit;
  }));
  REQUIRE(p.wait_for([&] {
    auto s = p.status();
    return s && s->unit && s->last_heartbeat > first->last_heartbeat;
  }, 3s));
  // Opening the fifo for writing blocks until the unit reads it, so this ends the unit.
  REQUIRE(run("echo go > " + sh_quote(p.trace("fifo"))).exit_code == 0);
  CHECK(WEXITSTATUS(wait_exit(worker)) == 0);
  CHECK(run("git show milestone/M001:got.txt", p.root).out == "go\n");
}

TEST_CASE("the worker refuses a missing or invalid environment", "[worker]") {
  sf::test::temp_dir dir;
  auto cli = sh_quote(SF_CLI_PATH);
  auto none = run("env -u SF_MILESTONE_LOCK -u SF_PROJECT_ROOT " + cli + " worker", dir.path());
  CHECK(none.exit_code == 2);
  CHECK(none.err.find("SF_MILESTONE_LOCK is not set") != std::string::npos);
  auto bad = run("SF_MILESTONE_LOCK=../x SF_PROJECT_ROOT=/ " + cli + " worker", dir.path());
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("not a valid milestone id") != std::string::npos);
  auto rel = run("SF_MILESTONE_LOCK=M001 SF_PROJECT_ROOT=rel " + cli + " worker", dir.path());
  CHECK(rel.exit_code == 2);
  CHECK(rel.err.find("not an absolute path") != std::string::npos);
}

TEST_CASE("a broken plan is reported in the status file", "[worker]") {
  project p(slice("S01", unit("U1", append_run("U1"))));
  write_file(p.wt + "/.sf/milestones/M001/MILESTONE.md", "---\ntitle: [unclosed\n---\n");
  auto r = p.run_worker();
  CHECK(r.exit_code == 1);
  auto s = p.status();
  REQUIRE(s);
  CHECK(s->state == sf::core::worker_state::error);
  REQUIRE(s->error);
  CHECK(s->error->find("MILESTONE.md") != std::string::npos);
}

TEST_CASE("the prompt file exists while its unit runs and is gone once the unit failed",
          "[worker]") {
  // Exit 3 only when the file is there: the failure itself proves it existed during the run.
  project p(slice("S01", unit("U1", "'test -f \"$SF_PROMPT_FILE\" && exit 3'")));
  auto r = p.run_worker();
  CHECK(r.exit_code == 1);
  auto s = p.status();
  REQUIRE(s);
  REQUIRE(s->error);
  CHECK(s->error->find("unit U1 failed: exited with code 3") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(p.root + "/.sf/parallel/M001.prompt.md"));
}

TEST_CASE("an agent unit whose profile the preferences lack ends the worker saying so",
          "[worker]") {
  // `start` refuses such a plan up front (config/agent_units_check); a worker started by hand
  // must not run anything in its place either.
  project p(slice("S01", unit("U1", append_run("U1")) +
                             "      - id: U2\n        title: Agent\n        agent: claude\n"));
  auto r = p.run_worker();
  CHECK(r.exit_code == 1);
  auto s = p.status();
  REQUIRE(s);
  REQUIRE(s->error);
  CHECK(*s->error == "unit U2 names the agent profile `claude`, which .sf/PREFERENCES.md does "
                     "not define; add it under agents.profiles");
  CHECK(read_file(p.trace("runs")) == "U1\n");
  CHECK(s->completed_units == 1);
}
