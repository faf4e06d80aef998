// metrics.json on main keeps every milestone's records even when the branch being merged
// already contains main and dropped an entry while resolving its own merge.
#include "io/git/merge.hpp"
#include "messages/error.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace sf::test;

TEST_CASE("merge keeps main's metrics records when the branch already merged main",
          "[mergequeue]") {
  temp_dir tmp;
  auto root = tmp.path();
  init_git_repo(root);
  write_file(root + "/.sf/metrics.json", "{\"version\":1,\"milestones\":{}}\n");
  write_file(root + "/.sf/STATE.md", "base\n");
  REQUIRE(run("git add -A && git commit -qm plan && git branch milestone/M003", root)
            .exit_code == 0);
  // M002's record lands on main; M003 then merges main in but keeps only its own metrics.
  write_file(root + "/.sf/metrics.json",
             "{\"version\":1,\"milestones\":{\"M002\":{\"units\":[1]}}}\n");
  REQUIRE(run("git commit -qam m2 && git switch -q milestone/M003 && git merge -q main", root)
            .exit_code == 0);
  write_file(root + "/.sf/metrics.json",
             "{\"version\":1,\"milestones\":{\"M003\":{\"units\":[1,2]}}}\n");
  write_file(root + "/.sf/STATE.md", "by M003\n");
  auto tip = run("git commit -qam m3 && git rev-parse HEAD && git switch -q main", root);
  REQUIRE(tip.exit_code == 0);
  sf::io::merge_request req;
  req.root = root;
  req.mid = "M003";
  req.tip = tip.out.substr(0, 40);
  auto r = sf::io::merge_milestone(req);
  REQUIRE(r);
  REQUIRE(r->kind == sf::core::merge_kind::merged);
  auto shown = run("git show main:.sf/metrics.json", root);
  auto j = nlohmann::json::parse(shown.out);
  CHECK(j["milestones"]["M002"]["units"].size() == 1);
  CHECK(j["milestones"]["M003"]["units"].size() == 2);
  // Other state files still follow the branch as a whole.
  CHECK(run("git show main:.sf/STATE.md", root).out == "by M003\n");
  CHECK(read_file(root + "/.sf/metrics.json") == shown.out);
}
