// The report a milestone that failed the merge gate leaves in .sf/parallel: what the status line
// says, what the file holds, and that it is written safely.
#include "core/sf_paths.hpp"
#include "io/files/gate_failure_report.hpp"
#include "io/files/runtime_files.hpp"
#include "messages/error.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <string>

using sf::test::read_file;
using sf::test::temp_dir;

namespace {

sf::io::gate_failure failure(std::string tail) {
  sf::io::gate_failure f;
  f.milestone = "M003";
  f.command = "make test";
  f.ended = "exited with code 2 after 4.2 s";
  f.tested = "its merge as 0123abcd on main 89ab";
  f.log_tail = std::move(tail);
  return f;
}

bool has(const std::string& s, const std::string& needle) {
  return s.find(needle) != std::string::npos;
}

} // namespace

TEST_CASE("a gate failure's note holds its cause, the way on and the last five lines",
          "[io][gate]") {
  std::string tail;
  for (int i = 1; i <= 8; ++i)
    tail += "line " + std::to_string(i) + "\n";
  auto note = sf::io::gate_failure_note(failure(tail + "\n"));
  CHECK(note.rfind("merge gate `make test` exited with code 2 after 4.2 s; main was not moved", 0) == 0);
  CHECK(has(note, "run `sf-actors merge M003`"));
  CHECK(has(note, "last lines of .sf/parallel/gate.log: line 4 | line 5 | line 6 | line 7 | line 8"));
  CHECK_FALSE(has(note, "line 3"));
  CHECK(note.find('\n') == std::string::npos);
  CHECK_FALSE(has(sf::io::gate_failure_note(failure("")), "last lines"));
}

TEST_CASE("a gate failure's report keeps at most 8 KiB of whole lines", "[io][gate]") {
  std::string tail;
  for (int i = 0; i < 400; ++i)
    tail += "output line number " + std::to_string(i) + " of the failing test run\n";
  REQUIRE(tail.size() > 8 * 1024);
  auto text = sf::io::gate_failure_text(failure(tail));
  CHECK(has(text, "# M003 failed the merge gate"));
  CHECK(has(text, "- command: `make test`"));
  CHECK(has(text, "- tested: its merge as 0123abcd on main 89ab"));
  CHECK(has(text, "output line number 399 of the failing test run\n```\n"));
  CHECK_FALSE(has(text, "output line number 0 "));
  auto body = text.substr(text.find("```\n") + 4);
  CHECK(body.size() <= 8 * 1024 + 4);
  CHECK(body.rfind("output line number ", 0) == 0); // cut at a line start
}

TEST_CASE("a gate failure's report is written under .sf/parallel, never through a link",
          "[io][gate]") {
  temp_dir root;
  REQUIRE_FALSE(sf::io::write_gate_failure(root.path(), failure("total 12\n")));
  auto path = sf::core::gate_failure_file(root.path(), "M003");
  CHECK(path == root.path() + "/.sf/parallel/M003.gate-failure.md");
  CHECK(has(read_file(path), "total 12\n```\n"));
  CHECK(sf::io::is_runtime_name("M003.gate-failure.md"));
  CHECK(sf::io::is_runtime_name("gate.json"));
  // A second failure replaces the first.
  REQUIRE_FALSE(sf::io::write_gate_failure(root.path(), failure("total 11\n")));
  CHECK_FALSE(has(read_file(path), "total 12"));
  // A planted link is refused and its target left alone.
  std::filesystem::remove(path);
  auto target = root.path() + "/elsewhere.txt";
  sf::test::write_file(target, "keep me\n");
  REQUIRE(::symlink(target.c_str(), path.c_str()) == 0);
  auto err = sf::io::write_gate_failure(root.path(), failure("x\n"));
  REQUIRE(err);
  CHECK(read_file(target) == "keep me\n");
  auto bad = failure("x\n");
  bad.milestone = "../M003";
  CHECK(sf::io::write_gate_failure(root.path(), bad));
}
