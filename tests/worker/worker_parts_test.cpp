// Pure parts of the reference worker: cost lines, front-matter edit, metrics document.
#include "agents/cost_scanner.hpp"
#include "io/os/unique_fd.hpp"
#include "messages/error.hpp"
#include "support/temp_dir.hpp"
#include "worker/git_commit.hpp"
#include "worker/metrics.hpp"
#include "worker/milestone_edit.hpp"
#include "worker/unit_runner.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

using sf::agents::cost_scanner;
using sf::agents::parse_cost_line;

namespace {

// A shell unit's record (no agent fields), in the order the fields are declared.
sf::worker::unit_record rec_of(std::string id, std::string slice, std::string title, double cost,
                               int64_t started, int64_t finished) {
  sf::worker::unit_record r;
  r.id = std::move(id);
  r.slice = std::move(slice);
  r.title = std::move(title);
  r.cost = cost;
  r.started_at = started;
  r.finished_at = finished;
  return r;
}

} // namespace

TEST_CASE("SF_COST lines are parsed strictly", "[worker][cost]") {
  CHECK(parse_cost_line("SF_COST 0.42") == 0.42);
  CHECK(parse_cost_line("SF_COST 3") == 3.0);
  CHECK(parse_cost_line("SF_COST 0.5 \r") == 0.5);
  CHECK(parse_cost_line("SF_COST 0") == 0.0);
  CHECK_FALSE(parse_cost_line("SF_COST -1"));
  CHECK_FALSE(parse_cost_line("SF_COST"));
  CHECK_FALSE(parse_cost_line("SF_COST abc"));
  CHECK_FALSE(parse_cost_line("SF_COST 1.5x"));
  CHECK_FALSE(parse_cost_line("SF_COST inf"));
  CHECK_FALSE(parse_cost_line("SF_COST nan"));
  CHECK_FALSE(parse_cost_line(" SF_COST 1"));
  CHECK_FALSE(parse_cost_line("cost: SF_COST 1"));
  // Finite but past the documented maximum: money reported all the same, held at it.
  CHECK(parse_cost_line("SF_COST 1.7e308") == 1e6);
  CHECK(parse_cost_line("SF_COST 1000000.01") == 1e6);
  CHECK(parse_cost_line("SF_COST 1000000") == 1e6);
}

TEST_CASE("a unit's reported cost is held at the maximum however many lines add up",
          "[worker][cost]") {
  cost_scanner s;
  for (int i = 0; i < 3; ++i)
    s.feed("SF_COST 900000\n");
  s.finish();
  CHECK(s.reports() == 3);
  CHECK(s.total() == 1e6);
}

TEST_CASE("the cost scanner sums lines split across chunks", "[worker][cost]") {
  cost_scanner s;
  s.feed("hello\nSF_CO");
  s.feed("ST 0.25\nSF_COST 0.5\nnoise SF_COST 9\n");
  s.feed("SF_COST 1");
  CHECK(s.reports() == 2);
  s.finish();
  CHECK(s.reports() == 3);
  CHECK(s.total() == Approx(1.75));
}

TEST_CASE("the cost scanner skips an overlong line whole", "[worker][cost]") {
  cost_scanner s;
  // The overlong line starts like a cost line; its tail must not be taken as a new line.
  s.feed("SF_COST 5" + std::string(sf::agents::max_line_bytes, '0'));
  s.feed(std::string(1000, '1') + "\nSF_COST 2\n");
  s.finish();
  CHECK(s.reports() == 1);
  CHECK(s.total() == Approx(2.0));
}

TEST_CASE("the front-matter status line is replaced or added", "[worker][milestone_edit]") {
  using sf::worker::set_front_matter_status;
  std::string text = "---\ntitle: T\nstatus: active\nslices:\n  - id: S1\n    status: x\n---\n"
                     "status: body line\n";
  auto out = set_front_matter_status(text, "complete", "M.md");
  REQUIRE(out);
  CHECK(*out == "---\ntitle: T\nstatus: complete\nslices:\n  - id: S1\n    status: x\n---\n"
                "status: body line\n");

  auto added = set_front_matter_status("---\ntitle: T\n---\n# Body\n", "complete", "M.md");
  REQUIRE(added);
  CHECK(*added == "---\ntitle: T\nstatus: complete\n---\n# Body\n");

  auto crlf = set_front_matter_status("---\r\ntitle: T\r\nstatus: pending\r\n---\r\nB\r\n",
                                      "complete", "M.md");
  REQUIRE(crlf);
  CHECK(*crlf == "---\r\ntitle: T\r\nstatus: complete\r\n---\r\nB\r\n");

  auto none = set_front_matter_status("# no front matter\n", "complete", "/x/M.md");
  REQUIRE_FALSE(none);
  CHECK(sf::describe(none.error()).find("/x/M.md") != std::string::npos);
  auto open = set_front_matter_status("---\ntitle: T\n", "complete", "/x/M.md");
  REQUIRE_FALSE(open);
  CHECK(sf::describe(open.error()).find("closing") != std::string::npos);
}

TEST_CASE("metrics keep other milestones and sum costs", "[worker][metrics]") {
  sf::test::temp_dir dir;
  sf::test::write_file(dir / ".sf/metrics.json",
                       R"({"version":1,"milestones":{"M002":{"units":[{"id":"U9","cost":2,)"
                       R"("extra":"kept"}],"cost":2}},"other":true})");
  auto m = sf::worker::metrics_file::load(dir.path());
  REQUIRE(m);
  CHECK(m->units("M001").empty());
  CHECK(m->cost("M002") == Approx(2.0));
  m->record("M001", rec_of("U1", "S1", "First", 0.25, 10, 20));
  m->record("M001", rec_of("U2", "S1", "Second", 0.5, 30, 40));
  REQUIRE_FALSE(m->save(dir.path()));
  auto again = sf::worker::metrics_file::load(dir.path());
  REQUIRE(again);
  auto units = again->units("M001");
  REQUIRE(units.size() == 2);
  CHECK(units[0].id == "U1");
  CHECK(units[1].slice == "S1");
  CHECK(units[1].finished_at == 40);
  CHECK(again->cost("M001") == Approx(0.75));
  auto text = sf::test::read_file(dir / ".sf/metrics.json");
  CHECK(text.find("\"extra\": \"kept\"") != std::string::npos);
  CHECK(text.find("\"other\": true") != std::string::npos);
  CHECK(text.find("\"cost\": 0.75") != std::string::npos);
}

TEST_CASE("failed attempts count in a milestone's cost and are adopted once",
          "[worker][metrics]") {
  sf::test::temp_dir dir;
  sf::worker::metrics_file committed;
  committed.record("M001", rec_of("U1", "S1", "First", 0.25, 10, 20));
  committed.record_failed("M001", rec_of("U2", "S1", "Second", 0.5, 30, 40));
  CHECK(committed.cost("M001") == Approx(0.75));
  CHECK(committed.units("M001").size() == 1);
  // The worktree's copy knows one more attempt than the commit does.
  auto worktree = committed;
  worktree.record_failed("M001", rec_of("U2", "S1", "Second", 0.5, 50, 60));
  std::filesystem::create_directories(dir / ".sf");
  REQUIRE_FALSE(worktree.save(dir.path()));
  auto read = sf::worker::metrics_file::load(dir.path());
  REQUIRE(read);
  committed.adopt_failed("M001", *read);
  committed.adopt_failed("M001", *read); // Twice: nothing is counted twice.
  CHECK(committed.failed_units("M001").size() == 2);
  CHECK(committed.cost("M001") == Approx(1.25));
  CHECK(committed.dump().find("\"cost\": 1.25") != std::string::npos);
  sf::test::write_file(dir / ".sf/metrics.json",
                       R"({"milestones":{"M1":{"failedUnits":[{"id":"U1","cost":-1}]}}})");
  auto bad = sf::worker::metrics_file::load(dir.path());
  REQUIRE_FALSE(bad);
  CHECK(sf::describe(bad.error()).find("milestones.M1.failedUnits[0]") != std::string::npos);
}

TEST_CASE("malformed metrics are refused with the path", "[worker][metrics]") {
  sf::test::temp_dir dir;
  sf::test::write_file(dir / ".sf/metrics.json", R"({"milestones":{"M1":{"units":[{"x":1}]}}})");
  auto m = sf::worker::metrics_file::load(dir.path());
  REQUIRE_FALSE(m);
  auto msg = sf::describe(m.error());
  CHECK(msg.find("metrics.json") != std::string::npos);
  CHECK(msg.find("units[0]") != std::string::npos);
  auto absent = sf::worker::metrics_file::load(dir / "nowhere");
  REQUIRE(absent);
  CHECK(absent->units("M1").empty());
}

TEST_CASE("the common git folder is found without libgit2 for checkouts and worktrees",
          "[worker][git]") {
  sf::test::temp_dir dir;
  const auto& root = dir.path();
  sf::test::init_git_repo(root);
  auto canonical = [](const std::string& p) { return std::filesystem::canonical(p).string(); };
  auto main_dir = sf::worker::common_git_dir(root);
  REQUIRE(main_dir);
  CHECK(canonical(*main_dir) == canonical(root + "/.git"));
  REQUIRE(sf::test::run("git worktree add -q -b side wt", root).exit_code == 0);
  auto linked = sf::worker::common_git_dir(root + "/wt");
  REQUIRE(linked);
  CHECK(canonical(*linked) == canonical(root + "/.git"));
  // The exclude rule lands in the common folder, once.
  REQUIRE_FALSE(sf::worker::ensure_excluded(root + "/wt", ".sf/auto.lock"));
  REQUIRE_FALSE(sf::worker::ensure_excluded(root + "/wt", ".sf/auto.lock"));
  auto text = sf::test::read_file(root + "/.git/info/exclude");
  CHECK(text.find(".sf/auto.lock\n") != std::string::npos);
  CHECK(text.find(".sf/auto.lock") == text.rfind(".sf/auto.lock"));
  // A folder that is no checkout is refused with the fix.
  sf::test::write_file(root + "/plain/.keep", "");
  auto none = sf::worker::common_git_dir(root + "/plain");
  REQUIRE_FALSE(none);
  CHECK(sf::describe(none.error()).find("not a git checkout") != std::string::npos);
}

TEST_CASE("an emptied metrics file falls back to the copy committed at HEAD", "[worker][metrics]") {
  sf::test::temp_dir dir;
  const auto& root = dir.path();
  sf::test::init_git_repo(root);
  // Nothing committed yet: an empty file is an empty document.
  sf::test::write_file(root + "/.sf/metrics.json", "");
  auto fresh = sf::worker::metrics_file::load(root);
  REQUIRE(fresh);
  CHECK(fresh->units("M001").empty());
  // A committed record survives the file being emptied (what a power loss before the next
  // commit can leave, since `save` does not fsync).
  sf::worker::metrics_file m;
  m.record("M001", rec_of("U1", "S1", "First", 0.5, 10, 20));
  REQUIRE_FALSE(m.save(root));
  REQUIRE(sf::test::run("git add .sf/metrics.json && git commit -q -m unit", root).exit_code == 0);
  sf::test::write_file(root + "/.sf/metrics.json", "");
  auto back = sf::worker::metrics_file::load(root);
  REQUIRE(back);
  auto units = back->units("M001");
  REQUIRE(units.size() == 1);
  CHECK(units[0].id == "U1");
  CHECK(back->cost("M001") == Approx(0.5));
}

TEST_CASE("a unit that prints without pause still gets its heartbeats and its timeout",
          "[worker][unit_runner]") {
  // `yes` writes faster than this reader, which takes its time over each chunk as an agent's
  // stream parser may: the watch loop must not read forever.
  sf::worker::unit_request req;
  req.command = "exec yes flooding-the-pipe";
  req.cwd = "/";
  req.env = {"PATH=/usr/bin:/bin"};
  sf::io::unique_fd devnull{::open("/dev/null", O_WRONLY | O_CLOEXEC)};
  REQUIRE(devnull.get() >= 0);
  req.copy_fd = devnull.get();
  std::size_t bytes = 0;
  req.on_output = [&](std::string_view chunk) {
    bytes += chunk.size();
    std::this_thread::sleep_for(std::chrono::milliseconds(1)); // A slow consumer: the subject.
  };
  int beats = 0;
  req.heartbeat = std::chrono::milliseconds(100);
  req.on_heartbeat = [&] { ++beats; };
  req.timeout = std::chrono::milliseconds(700);
  req.kill_grace = std::chrono::milliseconds(200);
  auto started = std::chrono::steady_clock::now();
  auto r = sf::worker::run_unit(req);
  REQUIRE(r);
  CHECK(r->ended_by == "timeout");
  CHECK(beats >= 3);
  CHECK(bytes > 0);
  // Ended by the timeout, not by some later limit (generous for a loaded machine).
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(20));
}
