// The CLI's conventions: verbs, exit codes, -C, --json, init, eligibility and graph output.
#include "config/plan_builders.hpp"
#include "docs/json_schema.hpp"
#include "io/files/status_file.hpp"
#include "support/project.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <filesystem>

using namespace sf::test;

namespace {

// The spec's example plan: M001 complete, M002 and M003 sharing two files, M004 after M002.
std::vector<milestone_spec> spec_example() {
  auto m1 = ms("M001", {}, {{"U01", "true", {"src/core.ts"}, -1}});
  m1.title = "Core Types";
  m1.status = "complete";
  auto m2 = ms("M002", {}, {{"U01", "true", {"src/types.ts", "src/middleware.ts", "src/auth.ts"}, -1}});
  m2.title = "Auth System";
  auto m3 =
    ms("M003", {}, {{"U01", "true", {"src/types.ts", "src/middleware.ts", "src/dash.tsx"}, -1}});
  m3.title = "Dashboard UI";
  auto m4 = ms("M004", {"M002"}, {{"U01", "true", {"src/api.ts"}, -1}});
  m4.title = "API Integration";
  return {m1, m2, m3, m4};
}

// `args` (ending in --json) run on `p`: it succeeds, and its output matches `schema`.
nlohmann::json cli_json(const test_project& p, const std::string& args,
                        const std::string& schema) {
  auto r = p.cli(args);
  INFO(args << ": " << r.out << r.err);
  REQUIRE(r.exit_code == 0);
  auto data = nlohmann::json::parse(r.out, nullptr, false);
  check_valid(schema, data);
  return data;
}

} // namespace

TEST_CASE("eligibility on the spec's example prints the spec's report", "[cli]") {
  test_project p(spec_example(), "  enabled: true\n");
  auto r = p.cli("eligibility");
  CHECK(r.exit_code == 0);
  CHECK(r.out == sf::test::spec_example_report);
  auto data = cli_json(p, "eligibility --json", "eligibility-output");
  CHECK(data["eligible"].size() == 2);
  CHECK(data["ineligible"][1]["reason"] == "Blocked by incomplete dependencies: M002.");
  CHECK(data["overlaps"][0]["files"] == nlohmann::json({"src/types.ts", "src/middleware.ts"}));
}

TEST_CASE("option -C acts on another root, and a subfolder finds its root", "[cli]") {
  test_project p(spec_example(), "  enabled: true\n");
  auto r = run(sh_quote(SF_CLI_PATH) + " -C " + sh_quote(p.root()) + " eligibility", "/");
  CHECK(r.exit_code == 0);
  CHECK(r.out == sf::test::spec_example_report);
  std::filesystem::create_directories(p.path("src/deep"));
  auto sub = run(sh_quote(SF_CLI_PATH) + " eligibility", p.path("src/deep"));
  CHECK(sub.out == sf::test::spec_example_report);
}

TEST_CASE("graph prints mermaid and dot with statuses", "[cli]") {
  test_project p(spec_example(), "  enabled: true\n");
  auto m = p.cli("graph");
  CHECK(m.exit_code == 0);
  CHECK(m.out.find("M002 --> M004") != std::string::npos);
  CHECK(m.out.find("M001 Core Types (complete)") != std::string::npos);
  auto d = p.cli("graph --format dot");
  CHECK(d.exit_code == 0);
  CHECK(d.out.find("\"M002\" -> \"M004\"") != std::string::npos);
  CHECK(p.cli("graph --format svg").exit_code == 2);
  auto data = cli_json(p, "graph --json", "graph-output");
  REQUIRE(data["milestones"].size() == 4);
  CHECK(data["milestones"][0]["status"] == "complete");
  CHECK(data["milestones"][3]["dependsOn"] == nlohmann::json({"M002"}));
  CHECK(data["edges"] == nlohmann::json({{{"from", "M002"}, {"to", "M004"}, {"missing", false}}}));
  // One output at a time: the two are alternatives.
  CHECK(p.cli("graph --json --format dot").exit_code == 2);
}

TEST_CASE("not enabled: commands that need it exit 3 with the fix", "[cli]") {
  test_project p(spec_example(), "  enabled: false\n");
  // Not `stop`: it works whatever the switch says (stop_disabled_test.cpp).
  for (std::string verb : {"start --yes", "pause", "resume"}) {
    auto r = p.cli(verb);
    INFO(verb);
    CHECK(r.exit_code == 3);
    CHECK(r.err.find("Parallel mode is not enabled") != std::string::npos);
    CHECK(r.err.find("parallel.enabled: true") != std::string::npos);
  }
}

TEST_CASE("nothing eligible: exit 4 with each milestone's reason", "[cli]") {
  auto plan = spec_example();
  plan.resize(1); // only M001, which is complete
  auto parked = ms("M005", {}, {{"U01", "true", {}, -1}});
  parked.status = "parked";
  plan.push_back(parked);
  test_project p(plan, "  enabled: true\n");
  auto r = p.cli("start --yes");
  CHECK(r.exit_code == 4);
  CHECK(r.err.find("No milestones are eligible for parallel execution") != std::string::npos);
  CHECK(r.err.find("M001: Already complete.") != std::string::npos);
  CHECK(r.err.find("M005: Parked") != std::string::npos);
}

TEST_CASE("usage errors exit 2, and the version and help flags work", "[cli]") {
  test_project p(spec_example(), "  enabled: true\n");
  CHECK(p.cli("").exit_code == 2);
  CHECK(p.cli("frobnicate").exit_code == 2);
  CHECK(p.cli("start --max-workers 0 --yes").exit_code == 2);
  auto v = p.cli("--version");
  CHECK(v.exit_code == 0);
  CHECK(v.out.find("sf-actors " SF_VERSION) != std::string::npos);
  for (std::string verb : {"start", "status", "stop", "pause", "resume", "merge", "doctor",
                           "eligibility", "graph", "init", "worker"}) {
    auto h = p.cli(verb + " --help");
    INFO(verb);
    CHECK(h.exit_code == 0);
    CHECK(h.out.find(verb) != std::string::npos);
  }
  auto start_without_tty = p.cli("start");
  CHECK(start_without_tty.exit_code == 2);
  CHECK(start_without_tty.err.find("pass --yes") != std::string::npos);
}

TEST_CASE("bad input: one line naming the file, exit 1", "[cli]") {
  test_project p(spec_example(), "  enabled: true\n");
  write_file(p.path(".sf/milestones/M004/MILESTONE.md"),
             "---\ntitle: X\nstatus: finished\nslices: []\n---\n");
  auto r = p.cli("eligibility");
  CHECK(r.exit_code == 1);
  CHECK(r.err.find(".sf/milestones/M004/MILESTONE.md") != std::string::npos);
  CHECK(r.err.find("finished") != std::string::npos);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  write_file(p.path(".sf/PREFERENCES.md"), "---\nparallel:\n  max_workers: 99\n---\n");
  auto prefs = p.cli("start --yes");
  CHECK(prefs.exit_code == 1);
  CHECK(prefs.err.find("PREFERENCES.md:3") != std::string::npos);
  CHECK(prefs.err.find("max_workers") != std::string::npos);
}

TEST_CASE("unknown milestone is an error", "[cli]") {
  test_project p(spec_example(), "  enabled: true\n");
  CHECK(p.cli("eligibility M999").exit_code == 1);
  auto r = p.cli("pause M999");
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("unknown milestone `M999`") != std::string::npos);
}

TEST_CASE("init creates a disabled preferences file and an example, never overwriting",
          "[cli]") {
  temp_dir d;
  init_git_repo(d.path());
  auto r = run(sh_quote(SF_CLI_PATH) + " init", d.path());
  CHECK(r.exit_code == 0);
  auto prefs = read_file(d / ".sf/PREFERENCES.md");
  CHECK(prefs.find("enabled: false") != std::string::npos);
  for (std::string key : {"max_workers", "budget_ceiling", "merge_strategy", "auto_merge",
                          "merge_order", "worker_command", "stale_timeout", "heartbeat_interval",
                          "stop_grace"})
    CHECK(prefs.find("# " + key + ":") != std::string::npos);
  CHECK(read_file(d / ".gitignore").find(".sf/parallel/") != std::string::npos);
  // The example plan is valid, but a run uses only what is committed: until then it is named.
  auto before = run(sh_quote(SF_CLI_PATH) + " eligibility", d.path());
  CHECK(before.exit_code == 0);
  CHECK(before.err.find(".sf/milestones/M001/MILESTONE.md: not committed") != std::string::npos);
  CHECK(before.out.find("**M001**") == std::string::npos);
  REQUIRE(run("git add .sf .gitignore && git commit -q -m plan", d.path()).exit_code == 0);
  auto e = run(sh_quote(SF_CLI_PATH) + " eligibility", d.path());
  CHECK(e.exit_code == 0);
  CHECK(e.err.empty());
  CHECK(e.out.find("**M001**") != std::string::npos);
  // A second run keeps the user's edits.
  write_file(d / ".sf/PREFERENCES.md", "---\nparallel:\n  enabled: true\n---\n");
  auto again = run(sh_quote(SF_CLI_PATH) + " init", d.path());
  CHECK(again.exit_code == 0);
  CHECK(again.out.find("kept existing") != std::string::npos);
  CHECK(read_file(d / ".sf/PREFERENCES.md") == "---\nparallel:\n  enabled: true\n---\n");
}

TEST_CASE("status works without a coordinator and without any run", "[cli]") {
  test_project p(spec_example(), "  enabled: true\n  budget_ceiling: 5\n");
  auto r = p.cli("status");
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("Coordinator: not running") != std::string::npos);
  auto j = p.cli("status --json");
  auto data = nlohmann::json::parse(j.out);
  CHECK(data["workers"].empty());
  CHECK(data["coordinator"]["running"] == false);
  CHECK(data["budgetCeiling"] == 5.0);
}

TEST_CASE("status shows a worker that reported an error as failed, with its reason", "[cli]") {
  // No coordinator and no run.json: the worker's own file is all status has.
  test_project p(spec_example(), "  enabled: true\n");
  sf::io::worker_status s;
  s.milestone_id = "M001";
  s.pid = ::getpid();
  s.state = sf::core::worker_state::error;
  s.error = "cannot commit unit U02: the disk is full";
  s.worktree_path = p.path(".sf/worktrees/M001");
  REQUIRE_FALSE(sf::io::write_status(p.root(), s));
  auto j = p.cli("status --json");
  CHECK(j.exit_code == 0);
  auto data = nlohmann::json::parse(j.out);
  CHECK(sf::test::schema_errors(sf::test::load_schema("status-output"), data).empty());
  REQUIRE(data["workers"].size() == 1);
  CHECK(data["workers"][0]["state"] == "failed");
  CHECK(data["workers"][0]["note"] == "cannot commit unit U02: the disk is full");
  auto text = p.cli("status");
  CHECK(text.out.find("M001** — ") != std::string::npos);
  CHECK(text.out.find(": failed") != std::string::npos);
}

TEST_CASE("eligibility reports the same preference errors and warnings as start, with the same "
          "exit code", "[cli][eligibility]") {
  // Everything complete: `start` stops at "nothing eligible" after reading the preferences, so
  // both verbs can be compared on valid files too.
  auto plan = spec_example();
  plan.resize(1);
  struct input {
    const char* what;
    std::string prefs;
  };
  for (const auto& in :
       {input{"malformed YAML", "---\nparallel:\n  enabled: true\n  max_workers: [2\n---\n"},
        input{"a value out of range", "---\nparallel:\n  enabled: true\n  max_workers: 99\n---\n"},
        input{"a wrong type", "---\nparallel:\n  enabled: true\n  stale_timeout: soon\n---\n"},
        input{"no front matter end", "---\nparallel:\n  enabled: true\n"}}) {
    test_project p(plan, "  enabled: true\n");
    write_file(p.path(".sf/PREFERENCES.md"), in.prefs);
    auto start = p.cli("start --yes");
    auto elig = p.cli("eligibility");
    INFO(in.what << "\nstart: " << start.err << "\neligibility: " << elig.err);
    CHECK(start.exit_code != 0);
    CHECK(start.exit_code != 4); // refused for the preferences, not for the plan
    CHECK(elig.exit_code == start.exit_code);
    CHECK_FALSE(elig.err.empty());
    CHECK(elig.err == start.err);
    CHECK(elig.err.find("PREFERENCES.md") != std::string::npos);
    CHECK(elig.out.empty()); // no report on top of a refusal
  }
  // A warning (an unknown key) is printed by both, and neither refuses because of it.
  test_project p(plan, "  enabled: true\n  max_wrokers: 3\n");
  auto start = p.cli("start --yes");
  auto elig = p.cli("eligibility");
  INFO("start: " << start.err << "\neligibility: " << elig.err);
  CHECK(start.exit_code == 4);
  CHECK(elig.exit_code == 0);
  auto warning_of = [](const std::string& err) {
    auto at = err.find("sf-actors: warning: ");
    return at == std::string::npos ? std::string{} : err.substr(at, err.find('\n', at) - at);
  };
  CHECK(warning_of(start.err).find("max_wrokers") != std::string::npos);
  CHECK(warning_of(elig.err) == warning_of(start.err));
}

TEST_CASE("start names the real cause when the repository cannot hold a run", "[cli]") {
  auto plan = milestone_text(ms("M001", {}, {{"U01", "true", {"a.txt"}, -1}}));
  auto prefs = std::string{"---\nparallel:\n  enabled: true\n---\n"};
  auto one_line = [](const command_result& r) {
    return std::count(r.err.begin(), r.err.end(), '\n') == 1;
  };
  SECTION("not a git repository") {
    temp_dir d;
    write_file(d / ".sf/PREFERENCES.md", prefs);
    write_file(d / ".sf/milestones/M001/MILESTONE.md", plan);
    auto r = run_cli("start --yes", d.path());
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("is not a git repository") != std::string::npos);
    CHECK(r.err.find("git init") != std::string::npos);
    CHECK(r.err.find("worker_command") == std::string::npos);
    CHECK(one_line(r));
  }
  SECTION("a repository without a commit") {
    temp_dir d;
    REQUIRE(run("git init -q -b main .", d.path()).exit_code == 0);
    write_file(d / ".sf/PREFERENCES.md", prefs);
    write_file(d / ".sf/milestones/M001/MILESTONE.md", plan);
    auto r = run_cli("start --yes", d.path());
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("has no commit yet") != std::string::npos);
    CHECK(r.err.find("git commit") != std::string::npos);
    CHECK(r.err.find("worker_command") == std::string::npos);
    CHECK(one_line(r));
  }
  SECTION("a milestone branch with unrelated history, which is left alone") {
    test_project p({ms("M001", {}, {{"U01", "true", {"a.txt"}, -1}})}, "  enabled: true\n");
    p.git("checkout -q --orphan milestone/M001");
    p.git("rm -rq --cached .");
    write_file(p.path("theirs.txt"), "someone else's work\n");
    p.git("add theirs.txt");
    p.git("commit -qm foreign");
    p.git("checkout -q -f main");
    auto foreign = p.git("rev-parse milestone/M001");
    auto r = p.cli("start --yes");
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("milestone/M001") != std::string::npos);
    CHECK(r.err.find("shares no history with main") != std::string::npos);
    CHECK(r.err.find("git branch -m") != std::string::npos);
    CHECK(one_line(r));
    CHECK(p.git("rev-parse milestone/M001") == foreign);
  }
}
