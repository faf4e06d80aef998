// The merge gate end to end: a tiny project whose check really fails when two milestones
// combine badly although each passes alone (parts/*.txt must add up to at most 10). Real
// repositories, the real CLI and worker, a real gate command; git state is read with git.
#include "support/gate_project.hpp"
#include "support/gates.hpp"
#include "support/project.hpp"
#include "support/queue_run.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using namespace sf::test;

TEST_CASE("merge gate: two milestones that each pass never reach main together", "[gate]") {
  for (std::string order : {"sequential", "by-completion"}) {
    SECTION(order) {
      test_project p({part("M002", "a", 6), part("M003", "b", 6)},
                     gate_prefs("  merge_order: " + order + "\n"));
      add_check(p);
      auto r = start_to_end(p);
      INFO(r.output);
      CHECK(r.exit_code == 9);
      check_main_always_passes(p);
      // One of them merged; the other failed the gate twice (once more for flaky tests).
      auto merges = merges_on_main(p);
      REQUIRE(merges.size() == 1);
      std::string landed = contains(merges[0], "M002") ? "M002" : "M003";
      std::string held = landed == "M002" ? "M003" : "M002";
      CHECK(gate_runs(p) == 3);
      auto row = status_row(p, held);
      CHECK(row.value("state", "") == "gate_failed");
      CHECK(contains(row.value("note", ""), "exited with code 1"));
      CHECK(contains(row.value("note", ""), "total 12")); // the log's tail
      CHECK(status_row(p, landed).value("state", "") == "merged");
      // Nothing of the held milestone is lost: its branch and worktree stay.
      CHECK_FALSE(p.git("rev-parse --verify milestone/" + held).empty());
      CHECK(exists(p.path(".sf/worktrees/" + held + "/parts")));
      // The gate ran in its own worktree, never in the user's checkout.
      CHECK(exists(p.path(".sf/worktrees/_gate/check.sh")));
      CHECK(p.git("status --porcelain --untracked-files=no").empty());
    }
  }
}

TEST_CASE("merge gate: a dependent never starts on a milestone that failed the gate",
          "[gate]") {
  test_project p({part("M002", "a", 11), part("M003", "c", 1, {"M002"})}, gate_prefs(""));
  add_check(p);
  auto r = start_to_end(p);
  INFO(r.output);
  CHECK(r.exit_code == 9);
  CHECK(merges_on_main(p).empty());
  CHECK(status_row(p, "M002").value("state", "") == "gate_failed");
  CHECK(event_index(p.root(), "M003", "starting") == -1);
}

TEST_CASE("merge gate: the user fixes a gate failure on the branch and merges it", "[gate]") {
  test_project p({part("M002", "a", 11)}, gate_prefs(""));
  add_check(p);
  auto r = start_to_end(p);
  INFO(r.output);
  REQUIRE(r.exit_code == 9);
  auto wt = p.path(".sf/worktrees/M002");
  write_file(wt + "/parts/a.txt", "4\n");
  run("git add -A && git commit -q -m 'a smaller part'", wt);
  auto m = p.cli("merge M002");
  INFO(m.out << m.err);
  CHECK(m.exit_code == 0);
  CHECK(contains(m.out, "merged successfully"));
  CHECK(p.git("show main:parts/a.txt") == "4\n");
  check_main_always_passes(p);
}

TEST_CASE("merge gate: batches find the culprit and land the rest (merge without a coordinator)",
          "[gate]") {
  // Each is fine on main alone; M004 makes any tree with all three small parts too big.
  test_project p({part("M002", "a", 1), part("M003", "b", 1), part("M004", "c", 8),
                  part("M005", "d", 1)},
                 gate_prefs("  gate_batch: 4\n", "sh check.sh", "manual"));
  add_check(p);
  auto r = start_to_end(p);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  REQUIRE(merges_on_main(p).empty());
  auto m = p.cli("merge --json");
  INFO(m.out << m.err);
  CHECK(m.exit_code == 9);
  auto j = nlohmann::json::parse(m.out);
  std::vector<std::string> merged, failed;
  for (const auto& x : j["results"]) {
    if (x["result"] == "merged")
      merged.push_back(x["milestoneId"]);
    if (x["result"] == "gate_failed")
      failed.push_back(x["milestoneId"]);
  }
  CHECK(merged == std::vector<std::string>{"M002", "M003", "M004"});
  CHECK(failed == std::vector<std::string>{"M005"});
  // All four fail together; M002+M003 pass; M004 (known bad with M005) passes alone; M005
  // fails alone: 4 runs, within 2 + 2 log2(4).
  CHECK(gate_runs(p) == 4);
  check_main_always_passes(p);
  CHECK(parts_total(p, "main") == 10);
}

TEST_CASE("merge gate: main moved by the user during the gate is tested again", "[gate]") {
  test_project p({part("M002", "a", 5)}, gate_prefs("", "sh gate.sh"));
  add_check(p, hold("gate") + " && sh check.sh\n");
  auto child = p.spawn_cli({"start", "--yes"});
  REQUIRE(wait_for(p.root(), [&] { return gate_runs(p) == 1; }, 30s));
  // The user commits a part of their own on main while the gate tests the old main.
  write_file(p.path("parts/user.txt"), "5\n");
  p.git("add parts/user.txt");
  p.git("commit -q -m 'a part of mine'");
  release(p, "gate");
  auto r = finish(p, child, 1);
  INFO(r.output);
  CHECK(r.exit_code == 0);
  CHECK(gate_runs(p) == 2); // the first test was of a main that is gone
  CHECK(p.git("log --format=%s main").find("a part of mine") != std::string::npos);
  CHECK(parts_total(p, "main") == 10);
  check_main_always_passes(p);
}

TEST_CASE("merge gate: a gate that hangs is stopped at merge_gate_timeout and fails", "[gate]") {
  test_project p({part("M002", "a", 1)},
                 gate_prefs("  merge_gate_timeout: 0.5\n  stop_grace: 0.5\n", "exec sleep 600"));
  add_check(p);
  auto r = start_to_end(p);
  INFO(r.output);
  CHECK(r.exit_code == 9);
  CHECK(merges_on_main(p).empty());
  CHECK(gate_runs(p) == 2);
  CHECK(contains(status_row(p, "M002").value("note", ""), "timed out"));
  CHECK_FALSE(exists(p.path(".sf/parallel/gate.json")));
}

TEST_CASE("merge gate: a coordinator killed during the gate leaves nothing running twice",
          "[gate]") {
  test_project p({part("M002", "a", 2)}, gate_prefs("", "exec sh gate.sh"));
  add_check(p, "echo $$ >> \"$SF_PROJECT_ROOT/gate-pids\"\n" + hold("gate") +
                 " && sh check.sh\n");
  // The gate writes its pid once it runs, which can be just after gate.json appears.
  auto gate_pids = [&] {
    return exists(p.path("gate-pids")) ? split_lines(read_file(p.path("gate-pids")))
                                        : std::vector<std::string>{};
  };
  auto first = p.spawn_cli({"start", "--yes"});
  REQUIRE(wait_for(p.root(), [&] {
    return exists(p.path(".sf/parallel/gate.json")) && gate_pids().size() == 1;
  }, 30s));
  auto first_gate = std::stol(gate_pids().at(0));
  REQUIRE(::kill(static_cast<pid_t>(first.pid()), SIGKILL) == 0);
  (void) wait_exit(first, 10s);
  CHECK(alive(first_gate)); // the gate outlived its coordinator
  // The gate's worktree goes too: the next gate makes it again.
  run("git worktree remove --force .sf/worktrees/_gate", p.root());
  auto second = p.spawn_cli({"start", "--yes"});
  // The new coordinator ends the old gate (it would test beside the new one) and starts its own.
  REQUIRE(wait_for(p.root(), [&] { return gate_pids().size() == 2; }, 30s));
  CHECK_FALSE(alive(first_gate));
  release(p, "gate");
  auto r = finish(p, second, 2);
  INFO(r.output);
  CHECK(r.exit_code == 0);
  CHECK(merges_on_main(p).size() == 1);
  CHECK(p.git("show main:parts/a.txt") == "2\n");
}

TEST_CASE("merge gate: per-slice merges are gated one slice at a time", "[gate]") {
  test_project p({}, gate_prefs("  merge_strategy: per-slice\n"));
  add_check(p);
  write_file(p.path(".sf/milestones/M002/MILESTONE.md"),
             "---\ntitle: Two slices\nstatus: pending\ndependsOn: []\nslices:\n"
             "  - id: S01\n    title: First\n    units:\n"
             "      - id: U01\n        title: One\n        run: 'mkdir -p parts && echo 6 > parts/a.txt'\n"
             "  - id: S02\n    title: Second\n    units:\n"
             "      - id: U02\n        title: Two\n        run: 'echo 6 > parts/b.txt'\n---\n\n"
             "Two slices that are too big together.\n");
  p.git("add -A");
  p.git("commit -q -m plan");
  auto r = start_to_end(p);
  INFO(r.output);
  CHECK(r.exit_code == 9);
  check_main_always_passes(p);
  auto merges = merges_on_main(p);
  REQUIRE(merges.size() == 1);
  CHECK(merges[0].rfind("Merge slice S01", 0) == 0);
  CHECK(status_row(p, "M002").value("state", "") == "gate_failed");
}

TEST_CASE("merge gate: a running coordinator's queue batches, bisects and lands the rest",
          "[gate]") {
  test_project p({part("M002", "a", 1), part("M003", "b", 1), part("M004", "c", 8),
                  part("M005", "d", 1), ms("M009", {}, {unit("U01", hold("M009"))})},
                 "  enabled: true\n  max_workers: 5\n  auto_merge: manual\n"
                 "  merge_gate: sh check.sh\n  gate_batch: 4\n");
  add_check(p);
  auto child = p.spawn_cli({"start", "--yes"});
  // M009 keeps the coordinator up while the four others wait for `merge`.
  REQUIRE(wait_for(p.root(), [&] {
    for (std::string id : {"M002", "M003", "M004", "M005"})
      if (status_row(p, id).value("state", "") != "complete")
        return false;
    return status_row(p, "M009").value("state", "") == "running";
  }, 30s));
  auto m = p.cli("merge --json");
  INFO(m.out << m.err);
  CHECK(m.exit_code == 0);
  auto j = nlohmann::json::parse(m.out);
  std::size_t testing = 0;
  for (const auto& x : j["results"])
    testing += x["result"] == "gate_running" ? 1 : 0;
  CHECK(testing == 4); // one gate run for the whole batch
  REQUIRE(wait_for(p.root(), [&] {
    return status_row(p, "M005").value("state", "") == "gate_failed" &&
           status_row(p, "M004").value("state", "") == "merged";
  }, 30s));
  release(p, "M009");
  auto r = finish(p, child, 1);
  INFO(r.output);
  CHECK(r.exit_code == 9);
  for (std::string id : {"M002", "M003", "M004"})
    CHECK(status_row(p, id).value("state", "") == "merged");
  CHECK(gate_runs(p) == 4);
  check_main_always_passes(p);
  CHECK(parts_total(p, "main") == 10);
}

TEST_CASE("merge gate: what the gate command leaves running ends with it", "[gate]") {
  test_project p({part("M002", "a", 1)}, gate_prefs("", "sh gate.sh"));
  add_check(p, "sleep 300 &\necho $! > \"$SF_PROJECT_ROOT/left-behind\"\nsh check.sh\n");
  auto r = start_to_end(p);
  INFO(r.output);
  CHECK(r.exit_code == 0);
  CHECK(merges_on_main(p).size() == 1);
  auto left = std::stol(split_lines(read_file(p.path("left-behind"))).at(0));
  CHECK(wait_for(p.root(), [&] { return !alive(left); }, 10s));
}

TEST_CASE("merge gate: a gate worktree that cannot be made stops the merge with the reason",
          "[gate]") {
  test_project p({part("M002", "a", 1)}, gate_prefs(""));
  add_check(p);
  // A link where the gate's worktree goes is never followed.
  std::filesystem::create_directories(p.path(".sf/worktrees"));
  std::filesystem::create_directory_symlink("/tmp", p.path(".sf/worktrees/_gate"));
  auto r = start_to_end(p);
  INFO(r.output);
  CHECK(r.exit_code == 1);
  CHECK(merges_on_main(p).empty());
  CHECK(contains(r.output, ".sf/worktrees/_gate is not a folder"));
  CHECK(std::filesystem::is_symlink(p.path(".sf/worktrees/_gate")));
}
