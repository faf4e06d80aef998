// The first run: `start` and `eligibility` use the plan committed on the integration branch and
// name every plan file a person has not committed, and an idle branch left by a failed start
// is brought up to main by the next one.
#include "support/project.hpp"
#include "support/run_ok.hpp"

#include <catch2/catch.hpp>

#include <algorithm>

using namespace sf::test;

namespace {

bool has(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

} // namespace

TEST_CASE("start refuses a plan that is not committed, naming each file and the fix", "[cli]") {
  test_project p({ms("M001", {}, {{"U1", "true", {}, -1}})},
                 "  enabled: true\n  auto_merge: manual\n");
  write_file(p.path(".sf/milestones/M002/MILESTONE.md"),
             milestone_text(ms("M002", {}, {{"U1", "true", {}, -1}})));
  auto text = read_file(p.path(".sf/PREFERENCES.md"));
  write_file(p.path(".sf/PREFERENCES.md"), text + "\nA note.\n");
  auto r = p.cli("start --yes");
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK(has(r.err, ".sf/milestones/M002/MILESTONE.md: not committed"));
  CHECK(has(r.err, ".sf/PREFERENCES.md: changed, not committed"));
  CHECK(has(r.err, "git add .sf && git commit"));
  CHECK(has(r.err, "--ignore-uncommitted"));
  CHECK(event_lines(p.root(), "\"starting\"").empty());
  CHECK(p.git("branch --list 'milestone/*'").empty());

  // eligibility reports on the committed plan and warns about the rest.
  auto e = p.cli("eligibility");
  CHECK(e.exit_code == 0);
  CHECK(has(e.out, "**M001**"));
  CHECK_FALSE(has(e.out, "M002"));
  CHECK(has(e.err, "warning: .sf/milestones/M002/MILESTONE.md: not committed"));

  // Told to, start runs exactly what is committed: M001, not M002.
  auto forced = p.cli("start --yes --ignore-uncommitted");
  INFO(forced.out << forced.err);
  CHECK(forced.exit_code == 0);
  CHECK(state_of(p.root(), "M001") == "complete");
  CHECK_FALSE(has(read_file(p.path(".sf/parallel/run.json")), "M002"));
  CHECK(read_file(p.path(".sf/milestones/M002/MILESTONE.md")) ==
        milestone_text(ms("M002", {}, {{"U1", "true", {}, -1}})));

  // Once committed, M002 runs without a flag.
  p.git("add .sf");
  p.git("commit -q -m 'plan M002'");
  auto after = p.cli("start --yes M002");
  INFO(after.out << after.err);
  CHECK(after.exit_code == 0);
  CHECK(state_of(p.root(), "M002") == "complete");
}

TEST_CASE("start names plan files a checked-out branch holds differently from main", "[cli]") {
  test_project p({ms("M001", {}, {{"U1", "true", {}, -1}})}, "  enabled: true\n");
  p.git("switch -q -c feature");
  write_file(p.path(".sf/milestones/M002/MILESTONE.md"),
             milestone_text(ms("M002", {}, {{"U1", "true", {}, -1}})));
  p.git("add .sf");
  p.git("commit -q -m 'M002 on a feature branch'");
  auto r = p.cli("start --yes");
  CHECK(r.exit_code == 1);
  CHECK(has(r.err, ".sf/milestones/M002/MILESTONE.md: committed on feature, not on main"));
  auto unknown = p.cli("start --yes --ignore-uncommitted M002");
  CHECK(unknown.exit_code == 1);
  CHECK(has(unknown.err, "not in the plan committed on main"));
}

TEST_CASE("a branch left by a failed start is made again from main by the next start",
          "[cli]") {
  // The first start fails before any unit: the worker program is broken.
  test_project p({ms("M001", {}, {{"U1", "cat fix.txt", {}, -1}})},
                 "  enabled: true\n  auto_merge: manual\n  max_restarts: 0\n"
                 "  worker_command: \"exec ./worker.sh\"\n");
  write_file(p.path("worker.sh"), "#!/bin/sh\nexit 3\n");
  run_ok("chmod +x worker.sh && git add worker.sh && git commit -q -m 'broken worker'", p.root());
  auto first = p.cli("start --yes");
  INFO(first.out << first.err);
  CHECK(first.exit_code != 0);
  CHECK(state_of(p.root(), "M001") == "failed");
  auto stale_tip = p.git("rev-parse milestone/M001");
  CHECK(stale_tip == p.git("rev-parse main"));
  // The person fixes it on main: the reference worker again, and the file the unit reads.
  write_file(p.path(".sf/PREFERENCES.md"),
             "---\nparallel:\n  enabled: true\n  auto_merge: manual\n---\n");
  write_file(p.path("fix.txt"), "fixed\n");
  p.git("add -A");
  p.git("commit -q -m fix");
  auto second = p.cli("start --yes");
  INFO(second.out << second.err);
  CHECK(second.exit_code == 0);
  CHECK(state_of(p.root(), "M001") == "complete");
  CHECK(p.git("merge-base --is-ancestor main milestone/M001").empty());
  CHECK(read_file(p.path(".sf/worktrees/M001/fix.txt")) == "fixed\n");
}
