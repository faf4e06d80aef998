// docs/agents.md's recipe, played as written in a new repository with the fake `claude` first
// on PATH: three agent milestones run at once, each verified, all merged under the budget.
#include "docs/readme_blocks.hpp"
#include "support/run_ok.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <sys/stat.h>

#include <filesystem>
#include <set>
#include <sstream>
#include <string>

using namespace sf::test;

namespace {

// `claude` for the recipe: the fake CLI, told which file the milestone's task names, as a real
// agent would pick it from the prompt; its runs logged in `log`. It pauses after each event
// as a real agent does, so the terminal has time to show what it does.
void write_claude(const std::string& bin, const std::string& log) {
  std::filesystem::create_directories(bin);
  write_file(bin + "/claude",
             "#!/bin/sh\n"
             "case $SF_MILESTONE_FILE in\n"
             "  */M001/*) f=hello.txt ;;\n"
             "  */M002/*) f=CONTRIBUTING.md ;;\n"
             "  */M003/*) f=CHANGELOG.md ;;\n"
             "  *) echo \"claude: no task for $SF_MILESTONE_FILE\" >&2; exit 2 ;;\n"
             "esac\n"
             "FAKE_AGENT_EDIT=$f FAKE_AGENT_DELAY=0.3 FAKE_AGENT_LOG=" + sh_quote(log) +
               " exec " + sh_quote(SF_AGENT_FIXTURES "/claude") + " \"$@\"\n");
  ::chmod((bin + "/claude").c_str(), 0755);
}

} // namespace

TEST_CASE("docs/agents.md's recipe runs three agents in parallel to verified, merged work",
          "[docs][agents]") {
  auto block = doc_block("docs/agents.md", "## Three agents in parallel, with Claude Code");
  temp_dir d;
  init_git_repo(d / "my-repo");
  write_claude(d / "bin", d / "claude-runs.jsonl");
  write_file(d / "recipe.sh", block);
  auto sf_bin = std::filesystem::path(SF_CLI_PATH).parent_path().string();
  auto r = run("HOME=" + sh_quote(d.path()) + " PATH=" + sh_quote(d / "bin") + ":" +
                 sh_quote(sf_bin) + ":\"$PATH\" bash -e recipe.sh",
               d.path());
  auto repo = d / "my-repo";
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);

  // Three agents ran, one per milestone, each in its own worktree, and all at once: every
  // milestone was running before the first one completed.
  std::istringstream runs{read_file(d / "claude-runs.jsonl")};
  std::set<std::string> cwds;
  for (std::string line; std::getline(runs, line);)
    cwds.insert(nlohmann::json::parse(line)["cwd"].get<std::string>());
  CHECK(cwds == std::set<std::string>{repo + "/.sf/worktrees/M001", repo + "/.sf/worktrees/M002",
                                      repo + "/.sf/worktrees/M003"});
  auto first_complete = r.out.find("complete, queued for merge");
  REQUIRE(first_complete != std::string::npos);
  for (std::string mid : {"M001", "M002", "M003"}) {
    INFO(mid);
    CHECK(r.out.find("[" + mid + "] running") < first_complete);
    CHECK(run_ok("git log --merges --format=%s main", repo).find("Merge milestone " + mid) !=
          std::string::npos);
  }
  // What the agents did as they went, on the terminal (which of their steps a line shows
  // depends on when the coordinator reads a status).
  CHECK(r.out.find(" units, $0.00, running U01: ") != std::string::npos);
  // The verified work is on main.
  for (std::string file : {"hello.txt", "CONTRIBUTING.md", "CHANGELOG.md"})
    CHECK(run_ok("git show main:" + file, repo) == "edited by fake claude (success)");
  // Under the budget: the status shows the three costs against the ceiling and the tokens.
  CHECK(r.out.find("Total cost: $0.55 of $5.00 ceiling") != std::string::npos);
  CHECK(r.out.find("tokens: 9905 in, 1822 out, 112503 cached") != std::string::npos);
  // The transcript of M002, not raw JSON.
  CHECK(r.out.find("=== M002/U01: Contributing guide") != std::string::npos);
  CHECK(r.out.find("[result] Fixed the uninitialised counter; tests pass.") != std::string::npos);
  CHECK(r.out.find("{\"type\":") == std::string::npos);
  auto budget = run(sh_quote(SF_CLI_PATH) + " budget --json", repo);
  REQUIRE(budget.exit_code == 0);
  CHECK(nlohmann::json::parse(budget.out)["spent"].get<double>() == Approx(3 * 0.18342));
  CHECK(run_ok("git status --porcelain", repo).empty());
}
