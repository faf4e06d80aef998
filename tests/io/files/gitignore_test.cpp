#include "io/files/gitignore.hpp"
#include "io/io_test_util.hpp"
#include "messages/error.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

using namespace sf;
using namespace sf::io;
using sf::test::run;
using sf::test::sh_quote;
using sf::test::temp_dir;

namespace {

bool git_ignores(const std::string& repo, const std::string& rel) {
  return run("git check-ignore -q " + sh_quote(rel), repo).exit_code == 0;
}

std::size_t count_of(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1))
    ++n;
  return n;
}

} // namespace

TEST_CASE("gitignore rules are added once and git honours them", "[io][gitignore]") {
  temp_dir repo;
  sf::test::init_git_repo(repo.path());
  auto changed = ensure_runtime_ignored(repo.path());
  REQUIRE(changed);
  CHECK(*changed);
  auto first = sf::test::read_file(repo / ".gitignore");
  for (const auto& rule : runtime_ignore_rules())
    CHECK(count_of(first, rule + "\n") >= 1);
  CHECK(count_of(first, "# sf-actors") == 1);

  auto again = ensure_runtime_ignored(repo.path());
  REQUIRE(again);
  CHECK_FALSE(*again);
  CHECK(sf::test::read_file(repo / ".gitignore") == first);

  // Real files, so git knows which paths are folders.
  for (const char* f : {".sf/parallel/M001.status.json", ".sf/worktrees/M001/src/a.c",
                        ".sf/worktrees/M001/.sf/auto.lock", ".sf/auto.lock", "sub/.sf/auto.lock",
                        ".sf/milestones/M001/MILESTONE.md", ".sf/metrics.json", "auto.lock"})
    sf::test::write_file(repo / f, "x");
  CHECK(git_ignores(repo.path(), ".sf/parallel/M001.status.json"));
  CHECK(git_ignores(repo.path(), ".sf/parallel"));
  CHECK(git_ignores(repo.path(), ".sf/worktrees/M001/src/a.c"));
  CHECK(git_ignores(repo.path(), ".sf/worktrees/M001/.sf/auto.lock"));
  CHECK(git_ignores(repo.path(), ".sf/auto.lock"));
  CHECK(git_ignores(repo.path(), "sub/.sf/auto.lock"));
  // Committed state stays visible.
  CHECK_FALSE(git_ignores(repo.path(), ".sf/milestones/M001/MILESTONE.md"));
  CHECK_FALSE(git_ignores(repo.path(), ".sf/metrics.json"));
  CHECK_FALSE(git_ignores(repo.path(), "auto.lock"));
}

TEST_CASE("gitignore keeps existing content, mode and a missing final newline", "[io][gitignore]") {
  temp_dir repo;
  sf::test::init_git_repo(repo.path());
  const std::string original = "node_modules/\n/.sf/parallel/\n*.log";
  sf::test::write_file(repo / ".gitignore", original);
  REQUIRE(::chmod((repo / ".gitignore").c_str(), 0640) == 0);
  auto changed = ensure_runtime_ignored(repo.path());
  REQUIRE(changed);
  CHECK(*changed);
  auto text = sf::test::read_file(repo / ".gitignore");
  // The old bytes are a prefix; only a newline separates them from the new block.
  CHECK(text.rfind(original + "\n# sf-actors", 0) == 0);
  CHECK(count_of(text, "/.sf/parallel/\n") == 1);
  CHECK(count_of(text, "/.sf/worktrees/\n") == 1);
  CHECK(sf::test::mode_of(repo / ".gitignore") == 0640);
  sf::test::write_file(repo / "a.log", "x");
  sf::test::write_file(repo / ".sf/worktrees/M002/f", "x");
  CHECK(git_ignores(repo.path(), "a.log"));
  CHECK(git_ignores(repo.path(), ".sf/worktrees/M002/f"));
  CHECK(sf::test::count_temp_files(repo.path()) == 0);

  auto again = ensure_runtime_ignored(repo.path());
  REQUIRE(again);
  CHECK_FALSE(*again);
  CHECK(sf::test::read_file(repo / ".gitignore") == text);
}

TEST_CASE("gitignore refuses a symbolic link", "[io][gitignore][symlink]") {
  temp_dir repo;
  auto target = repo / "other-ignore";
  sf::test::write_file(target, "keep\n");
  REQUIRE(::symlink(target.c_str(), (repo / ".gitignore").c_str()) == 0);
  auto changed = ensure_runtime_ignored(repo.path());
  REQUIRE_FALSE(changed);
  CHECK(code_of(changed.error()) == ec::unsafe_path);
  CHECK(describe(changed.error()).find(".gitignore") != std::string::npos);
  CHECK(sf::test::read_file(target) == "keep\n");
}
