// The .sf/ merge driver through real git: `git merge main` in a milestone's worktree, the way a
// person resolves a conflict, merges metrics.json and MILESTONE.md as the merge queue would.
#include "io/git/merge_driver.hpp"
#include "support/run_ok.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <string>

using namespace sf::test;

namespace {

std::string git_in(const std::string& dir, const std::string& args) {
  return run_ok("git " + args, dir);
}

const char* milestone_v1 = "---\ntitle: First title\nstatus: pending\ndependsOn: []\n---\n\nBody.\n";

} // namespace

TEST_CASE("the .sf/ merge driver merges state files in a person's git merge", "[merge]") {
  temp_dir d;
  auto root = d.path();
  init_git_repo(root);
  write_file(d / ".sf/metrics.json", "{\n  \"milestones\": {}\n}\n");
  write_file(d / ".sf/milestones/M001/MILESTONE.md", milestone_v1);
  git_in(root, "add -A");
  git_in(root, "commit -q -m base");
  git_in(root, "branch milestone/M001");
  // Main: a record of M002, and the user retitles M001.
  write_file(d / ".sf/metrics.json",
             "{\n  \"milestones\": {\n    \"M002\": {\"units\": [\"U01\"]}\n  }\n}\n");
  write_file(d / ".sf/milestones/M001/MILESTONE.md",
             "---\ntitle: Better title\nstatus: pending\ndependsOn: []\n---\n\nBody.\n");
  git_in(root, "commit -q -am 'main side'");
  // The branch, in its worktree: its own record, and its milestone complete.
  auto wt = root + "/wt";
  git_in(root, "worktree add -q " + wt + " milestone/M001");
  write_file(wt + "/.sf/metrics.json",
             "{\n  \"milestones\": {\n    \"M001\": {\"units\": [\"U01\", \"U02\"]}\n  }\n}\n");
  write_file(wt + "/.sf/milestones/M001/MILESTONE.md",
             "---\ntitle: First title\nstatus: complete\ndependsOn: []\n---\n\nBody.\n");
  git_in(wt, "commit -q -am 'branch side'");

  SECTION("without the driver git conflicts") {
    auto r = run("git merge -q main", wt);
    CHECK(r.exit_code != 0);
    CHECK(run_ok("git diff --name-only --diff-filter=U", wt).find(".sf/metrics.json") !=
          std::string::npos);
    run_ok("git merge --abort", wt);
  }
  SECTION("with it both sides are kept as the queue keeps them") {
    REQUIRE_FALSE(sf::io::register_merge_driver(root, SF_CLI_PATH));
    // Registering twice changes nothing.
    REQUIRE_FALSE(sf::io::register_merge_driver(root, SF_CLI_PATH));
    auto attrs = read_file(root + "/.git/info/attributes");
    CHECK(attrs == "/.sf/** merge=sf-actors-state\n");
    auto r = run("git merge -q -m 'merge main' main", wt);
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    auto metrics = nlohmann::json::parse(read_file(wt + "/.sf/metrics.json"));
    CHECK(metrics["milestones"].contains("M001"));
    CHECK(metrics["milestones"].contains("M002"));
    CHECK(metrics["milestones"]["M001"]["units"].size() == 2);
    auto text = read_file(wt + "/.sf/milestones/M001/MILESTONE.md");
    CHECK(text.find("title: Better title") != std::string::npos); // the user's edit
    CHECK(text.find("status: complete") != std::string::npos);    // the branch's progress
    // Nothing of it is committed: config and attributes are the repository's own.
    CHECK(run_ok("git ls-files", root).find("attributes") == std::string::npos);
  }
}
