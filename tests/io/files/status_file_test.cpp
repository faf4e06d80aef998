#include "io/files/parallel_dir.hpp"
#include "io/files/status_file.hpp"
#include "io/io_test_util.hpp"
#include "messages/error.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <unistd.h>

using namespace sf;
using namespace sf::io;
using sf::test::temp_dir;

namespace {

// Exactly the fields a worker of the original system writes.
const char* original_status = R"({
  "milestoneId": "M001",
  "pid": 4242,
  "state": "running",
  "currentUnit": {"type": "unit", "id": "U1", "startedAt": 1700000000000},
  "completedUnits": 3,
  "cost": 1.25,
  "lastHeartbeat": 1700000001000,
  "startedAt": 1699999999000,
  "worktreePath": "/repo/.sf/worktrees/M001"
})";

// Decodes `original_status` after `edit` changed it; returns the error line (empty if it decoded).
template <class F> std::string decode_error_after(F edit) {
  auto j = nlohmann::json::parse(original_status);
  edit(j);
  auto st = decode_status(j.dump(), "M001");
  return st ? std::string{} : describe(st.error());
}

} // namespace

TEST_CASE("a status file of the original system decodes", "[io][status]") {
  auto st = decode_status(original_status, "M001");
  REQUIRE(st);
  CHECK(st->milestone_id == "M001");
  CHECK(st->pid == 4242);
  CHECK(st->state == sf::core::worker_state::running);
  REQUIRE(st->unit);
  CHECK(st->unit->type == "unit");
  CHECK(st->unit->id == "U1");
  CHECK(st->unit->started_at == 1700000000000);
  CHECK(st->completed_units == 3);
  CHECK(st->cost == Approx(1.25));
  CHECK(st->last_heartbeat == 1700000001000);
  CHECK(st->started_at == 1699999999000);
  CHECK(st->worktree_path == "/repo/.sf/worktrees/M001");
  CHECK_FALSE(st->total_units);
  CHECK_FALSE(st->protocol);
  CHECK_FALSE(st->spawn_token);
}

TEST_CASE("status: null currentUnit and unknown fields are accepted", "[io][status]") {
  auto j = nlohmann::json::parse(original_status);
  j["currentUnit"] = nullptr;
  j["someFutureField"] = {{"nested", {1, 2, 3}}};
  j["anotherOne"] = "x";
  auto st = decode_status(j.dump(), "M001");
  REQUIRE(st);
  CHECK_FALSE(st->unit);
  CHECK(st->pid == 4242);
}

TEST_CASE("status: round trip with our extras, original fields first", "[io][status]") {
  worker_status s;
  s.milestone_id = "M007";
  s.pid = 99;
  s.state = sf::core::worker_state::error;
  s.unit = current_unit{"unit", "U9", 123};
  s.completed_units = 5;
  s.cost = 0.5;
  s.last_heartbeat = 1000;
  s.started_at = 900;
  s.worktree_path = "/w/.sf/worktrees/M007";
  s.total_units = 12;
  s.current_slice = "S2";
  s.error = "unit U9 failed";
  s.spawn_token = "abc123";
  s.protocol = 1;
  auto text = encode_status(s);
  CHECK(text.rfind("{\"milestoneId\":", 0) == 0);
  CHECK(text.find("\"worktreePath\"") < text.find("\"totalUnits\""));
  auto back = decode_status(text, "M007");
  REQUIRE(back);
  CHECK(back->pid == 99);
  CHECK(back->state == sf::core::worker_state::error);
  REQUIRE(back->unit);
  CHECK(back->unit->id == "U9");
  CHECK(back->unit->started_at == 123);
  CHECK(back->total_units == 12);
  CHECK(back->current_slice == "S2");
  CHECK(back->error == "unit U9 failed");
  CHECK(back->spawn_token == "abc123");
  CHECK(back->protocol == 1);
  // Without extras, none of their keys appear.
  worker_status plain = s;
  plain.total_units.reset();
  plain.current_slice.reset();
  plain.error.reset();
  plain.spawn_token.reset();
  plain.protocol.reset();
  auto plain_text = encode_status(plain);
  CHECK(plain_text.find("totalUnits") == std::string::npos);
  CHECK(plain_text.find("protocol") == std::string::npos);
}

TEST_CASE("status: truncated or non-object JSON is an error", "[io][status]") {
  std::string full = original_status;
  auto st = decode_status(full.substr(0, full.size() / 2), "M001");
  REQUIRE_FALSE(st);
  CHECK(code_of(st.error()) == ec::invalid_input);
  CHECK(describe(st.error()).find("JSON") != std::string::npos);
  CHECK_FALSE(decode_status("", "M001"));
  CHECK_FALSE(decode_status("[1,2]", "M001"));
}

TEST_CASE("status: wrong types name the field and the expected type", "[io][status]") {
  using json = nlohmann::json;
  auto err = decode_error_after([](json& j) { j["pid"] = "4242"; });
  CHECK(err.find("'pid'") != std::string::npos);
  CHECK(err.find("integer") != std::string::npos);
  CHECK(decode_error_after([](json& j) { j["pid"] = 0; }).find("'pid'") != std::string::npos);
  CHECK(decode_error_after([](json& j) { j["pid"] = 1.5; }).find("'pid'") != std::string::npos);

  err = decode_error_after([](json& j) { j["cost"] = -0.01; });
  CHECK(err.find("'cost' is negative") != std::string::npos);
  CHECK(err.find("from 0 to 1000000") != std::string::npos);
  // Finite but absurd: two of them once made the run's total infinite.
  err = decode_error_after([](json& j) { j["cost"] = 1.7e308; });
  CHECK(err.find("'cost' is more than the maximum of 1000000 USD") != std::string::npos);
  CHECK(decode_error_after([](json& j) { j["cost"] = 1000000.5; }).find("'cost'") !=
        std::string::npos);
  CHECK(decode_error_after([](json& j) { j["cost"] = 1000000; }).empty());
  CHECK(decode_error_after([](json& j) { j["cost"] = "1"; }).find("'cost'") != std::string::npos);

  err = decode_error_after([](json& j) { j["state"] = "sleeping"; });
  CHECK(err.find("'state'") != std::string::npos);
  CHECK(err.find("running") != std::string::npos);

  for (auto edit : {+[](json& j) { j["currentUnit"] = "U1"; },
                    +[](json& j) {
                      j["currentUnit"] = {{"type", "unit"}, {"id", "U1"}};
                    },
                    +[](json& j) { j["currentUnit"]["id"] = 7; },
                    +[](json& j) { j["currentUnit"]["startedAt"] = "now"; },
                    +[](json& j) { j["currentUnit"] = json::array(); }})
    CHECK(decode_error_after(edit).find("'currentUnit'") != std::string::npos);

  CHECK(decode_error_after([](json& j) { j["lastHeartbeat"] = -1; }).find("'lastHeartbeat'") !=
        std::string::npos);
  CHECK(decode_error_after([](json& j) { j["completedUnits"] = true; }).find("'completedUnits'") !=
        std::string::npos);
  CHECK(decode_error_after([](json& j) { j["worktreePath"] = 3; }).find("'worktreePath'") !=
        std::string::npos);
  CHECK(decode_error_after([](json& j) { j["totalUnits"] = "3"; }).find("'totalUnits'") !=
        std::string::npos);
  CHECK(decode_error_after([](json& j) { j["protocol"] = 1.5; }).find("'protocol'") !=
        std::string::npos);
  CHECK(decode_error_after([](json& j) { j["spawnToken"] = 5; }).find("'spawnToken'") !=
        std::string::npos);
}

TEST_CASE("status: each missing required field is named", "[io][status]") {
  for (const char* field : {"milestoneId", "pid", "state", "currentUnit", "completedUnits", "cost",
                            "lastHeartbeat", "startedAt", "worktreePath"}) {
    auto err = decode_error_after([&](nlohmann::json& j) { j.erase(field); });
    INFO(field);
    CHECK(err.find(std::string("'") + field + "'") != std::string::npos);
  }
}

TEST_CASE("status: oversize input is refused before parsing", "[io][status]") {
  // Valid JSON padded to 10 MB: only a size check can reject it.
  std::string big = original_status;
  big.append(10 * 1024 * 1024, ' ');
  auto st = decode_status(big, "M001");
  REQUIRE_FALSE(st);
  CHECK(describe(st.error()).find("limit") != std::string::npos);
}

TEST_CASE("status: milestoneId must match the file's id", "[io][status]") {
  auto st = decode_status(original_status, "M002");
  REQUIRE_FALSE(st);
  CHECK(describe(st.error()).find("M002") != std::string::npos);
  CHECK(decode_status(original_status, ""));
}

TEST_CASE("status: write then read through the parallel folder", "[io][status]") {
  temp_dir root;
  auto st = decode_status(original_status, "M001");
  REQUIRE(st);
  REQUIRE_FALSE(write_status(root.path(), *st));
  CHECK(sf::test::mode_of(status_path(root.path(), "M001")) == 0600);
  CHECK(sf::test::mode_of(root / ".sf/parallel") == 0700);
  CHECK(sf::test::count_temp_files(root / ".sf/parallel") == 0);
  auto back = read_status(root.path(), "M001");
  REQUIRE(back);
  CHECK(back->worktree_path == st->worktree_path);
  CHECK(back->cost == Approx(1.25));

  auto missing = read_status(root.path(), "M002");
  REQUIRE_FALSE(missing);
  CHECK(code_of(missing.error()) == ec::not_found);

  // A corrupt file is reported with its path.
  sf::test::write_file(status_path(root.path(), "M003"), "{\"milestoneId\": \"M003\", \"pi");
  auto bad = read_status(root.path(), "M003");
  REQUIRE_FALSE(bad);
  CHECK(describe(bad.error()).find(status_path(root.path(), "M003")) != std::string::npos);

  // Ids that are not safe in a path never reach the filesystem.
  auto evil = read_status(root.path(), "../x");
  REQUIRE_FALSE(evil);
  CHECK(code_of(evil.error()) == ec::invalid_input);
}

TEST_CASE("status: an oversize file on disk is refused", "[io][status]") {
  temp_dir root;
  sf::test::write_file(status_path(root.path(), "M001"),
                       std::string(original_status) + std::string(max_status_bytes, ' '));
  ::chmod((root / ".sf/parallel").c_str(), 0700);
  auto st = read_status(root.path(), "M001");
  REQUIRE_FALSE(st);
  CHECK(describe(st.error()).find("limit") != std::string::npos);
}

TEST_CASE("status: a symbolic link as the status file is refused", "[io][status][symlink]") {
  temp_dir root;
  REQUIRE(ensure_parallel_dir(root.path()));
  auto target = root / "elsewhere.json";
  sf::test::write_file(target, original_status);
  REQUIRE(::symlink(target.c_str(), status_path(root.path(), "M001").c_str()) == 0);
  auto st = read_status(root.path(), "M001");
  REQUIRE_FALSE(st);
  CHECK(code_of(st.error()) == ec::unsafe_path);
  CHECK(describe(st.error()).find("M001.status.json") != std::string::npos);
  CHECK(sf::test::read_file(target) == original_status);
}
