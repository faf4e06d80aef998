// The command line behaves like git's: unknown verbs get a suggestion, `help` and `version`
// exist, `-C` works after the verb and refuses a folder that is not there.
#include "support/project.hpp"

#include <catch2/catch.hpp>

#include <filesystem>

using namespace sf::test;

namespace {

std::size_t lines_in(const std::string& text) {
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

} // namespace

TEST_CASE("an unknown command exits 2 with one line naming it and the closest verb",
          "[cli][surface]") {
  auto typo = run_cli("strat");
  CHECK(typo.exit_code == 2);
  CHECK(typo.out.empty());
  CHECK(typo.err ==
        "sf-actors: unknown command 'strat'; did you mean 'start'? See 'sf-actors help'.\n");
  // Found after global options too, and a word close to nothing gets no guess.
  auto far = run_cli("-C / -v xyzzyplugh");
  CHECK(far.exit_code == 2);
  CHECK(lines_in(far.err) == 1);
  CHECK(far.err.find("unknown command 'xyzzyplugh'") != std::string::npos);
  CHECK(far.err.find("did you mean") == std::string::npos);
  CHECK(run_cli("stauts").err.find("did you mean 'status'?") != std::string::npos);
}

TEST_CASE("help prints the overall help or one verb's, version prints --version",
          "[cli][surface]") {
  auto overall = run_cli("help");
  CHECK(overall.exit_code == 0);
  CHECK(overall.out == run_cli("--help").out);
  CHECK(overall.out.find("Subcommands:") != std::string::npos);
  for (const char* verb : {"start", "stop", "logs", "status"}) {
    INFO(verb);
    auto one = run_cli(std::string("help ") + verb);
    CHECK(one.exit_code == 0);
    CHECK(one.out == run_cli(std::string(verb) + " --help").out);
  }
  auto unknown = run_cli("help strat");
  CHECK(unknown.exit_code == 2);
  CHECK(unknown.err.find("unknown command 'strat'; did you mean 'start'?") != std::string::npos);
  auto version = run_cli("version");
  CHECK(version.exit_code == 0);
  CHECK(version.out == run_cli("--version").out);
  CHECK(version.out.rfind("sf-actors ", 0) == 0);
}

TEST_CASE("option -C works after the verb as before it", "[cli][surface]") {
  test_project p({ms("M001", {}, {{"U01", "true", {}, -1}})}, "  enabled: true\n");
  auto before = run(sh_quote(SF_CLI_PATH) + " -C " + sh_quote(p.root()) + " graph", "/");
  auto after = run(sh_quote(SF_CLI_PATH) + " graph -C " + sh_quote(p.root()), "/");
  CHECK(before.exit_code == 0);
  CHECK(after.exit_code == 0);
  CHECK(after.out == before.out);
  CHECK(after.out.find("M001") != std::string::npos);
  auto eligible = run(sh_quote(SF_CLI_PATH) + " eligibility --json -C " + sh_quote(p.root()), "/");
  CHECK(eligible.exit_code == 0);
  CHECK(eligible.out.find("\"M001\"") != std::string::npos);
}

TEST_CASE("option -C naming a missing folder exits 1 naming it, and init creates nothing",
          "[cli][surface]") {
  temp_dir d;
  const auto missing = d / "not-there";
  for (const std::string& args : {"-C " + sh_quote(missing) + " status",
                                 "status -C " + sh_quote(missing),
                                 "-C " + sh_quote(missing) + " init",
                                 "init -C " + sh_quote(missing)}) {
    INFO(args);
    auto r = run_cli(args, d.path());
    CHECK(r.exit_code == 1);
    CHECK(lines_in(r.err) == 1);
    CHECK(r.err.find(missing + ": no such folder") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(missing));
    CHECK(std::filesystem::is_empty(d.path()));
  }
  write_file(d / "a-file", "x\n");
  auto file = run_cli("-C " + sh_quote(d / "a-file") + " graph", d.path());
  CHECK(file.exit_code == 1);
  CHECK(file.err.find("a-file: not a folder") != std::string::npos);
}
