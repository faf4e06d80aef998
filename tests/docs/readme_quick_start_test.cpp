// The README's quick start, played exactly as written in a new repository, reaches merged work.
#include "docs/readme_blocks.hpp"
#include "support/run_ok.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>

using namespace sf::test;

namespace {

/// The first ```sh block after `## Quick start`.
std::string quick_start_block() { return readme_block("## Quick start"); }

} // namespace

TEST_CASE("the README quick start, run as written, merges three milestones into main",
          "[readme]") {
  auto block = quick_start_block();
  CHECK(block.find("git commit") != std::string::npos);
  temp_dir d;
  // What the quick start asks for: a git repository with a commit, named my-repo.
  init_git_repo(d / "my-repo");
  write_file(d / "quick-start.sh", block);
  auto bin = std::filesystem::path(SF_CLI_PATH).parent_path().string();
  auto r = run("PATH=" + sh_quote(bin) + ":\"$PATH\" bash -e quick-start.sh", d.path());
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("Next steps:") != std::string::npos);
  auto repo = d / "my-repo";
  // One merge commit per milestone on main, and the work of each in main's tree.
  auto merges = run_ok("git log --merges --format=%s main", repo);
  for (std::string mid : {"M001", "M002", "M003"})
    CHECK(merges.find("Merge milestone " + mid) != std::string::npos);
  auto release = run_ok("git show main:RELEASE.md", repo);
  CHECK(release.find("hello") != std::string::npos);
  CHECK(release.find("# Changelog") != std::string::npos);
  auto status = run(sh_quote(SF_CLI_PATH) + " status --json", repo);
  REQUIRE(status.exit_code == 0);
  auto j = nlohmann::json::parse(status.out);
  std::size_t merged = 0;
  for (const auto& w : j["workers"])
    merged += w.value("state", "") == "merged" ? 1 : 0;
  CHECK(merged == 3);
  // Nothing the run did is left for the person to commit.
  CHECK(run_ok("git status --porcelain", repo).empty());
}

TEST_CASE("README command (1), the demo, runs a real plan to merged work", "[readme]") {
  temp_dir d;
  auto bin = std::filesystem::path(SF_CLI_PATH).parent_path().string();
  auto r = run("SF_DEMO_BIN=" + sh_quote(bin) + " bash " + sh_quote(SF_SOURCE_DIR "/scripts/demo.sh") +
                 " " + sh_quote(d / "demo"),
               d.path());
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("run finished: 4 complete, 0 failed, 0 not finished") != std::string::npos);
  auto merges = run_ok("git log --merges --format=%s main", d / "demo");
  for (std::string mid : {"M002", "M003", "M004", "M005"}) {
    CHECK(merges.find("Merge milestone " + mid) != std::string::npos);
    // Each merge passed the demo's gate before main moved.
    CHECK(r.out.find("[" + mid + "] complete, merge gate passed") != std::string::npos);
  }
  CHECK(run_ok("git status --porcelain", d / "demo").empty());
}
