// The budget ledger counts tokens as it counts costs: per key, running totals whose growth
// alone counts, a report that lowers any count ignored, and shell workers' keys left without
// token entries; `budget` and `status` add what the status files report beyond the ledger.
#include "actors/budget_ledger.hpp"
#include "cli/budget_spent.hpp"
#include "docs/json_schema.hpp"
#include "io/files/ledger_file.hpp"
#include "io/files/parallel_dir.hpp"
#include "io/files/status_file.hpp"
#include "messages/error.hpp"
#include "messages/register.hpp"
#include "support/temp_dir.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <chrono>

using namespace std::chrono_literals;
using namespace sf;
using core::token_counts;
using sf::test::temp_dir;

namespace {

// A ledger actor of `root` in a real actor system, asked one report at a time.
struct ledger_client {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  budget_ledger_actor ledger;

  explicit ledger_client(const std::string& root) {
    add_message_types(cfg);
    sys = std::make_unique<caf::actor_system>(cfg);
    auto log =
        std::make_shared<spdlog::logger>("ledger", std::make_shared<spdlog::sinks::null_sink_mt>());
    ledger = sys->spawn(budget_ledger, root, 0.0, log);
  }

  ~ledger_client() { caf::anon_send_exit(ledger, caf::exit_reason::user_shutdown); }

  budget_update report(const std::string& mid, const std::string& session, double usd,
                       token_counts t) {
    budget_update out;
    caf::scoped_actor self{*sys};
    self->request(ledger, 10s, atom::cost_v, mid, session, usd, t)
        .receive([&](const budget_update& u) { out = u; },
                 [](const caf::error& err) { FAIL(describe(err)); });
    return out;
  }
};

} // namespace

TEST_CASE("ledger: tokens are running totals per key, only their growth counts",
          "[actors][ledger][agent]") {
  temp_dir dir;
  REQUIRE(io::ensure_parallel_dir(dir.path()));
  {
    ledger_client c(dir.path());
    auto u = c.report("M001", "", 0.10, {100, 10, 0});
    CHECK(u.milestone_tokens == token_counts{100, 10, 0});
    CHECK(u.total_tokens == token_counts{100, 10, 0});
    CHECK_FALSE(u.anomaly);
    u = c.report("M001", "", 0.20, {250, 30, 40});
    CHECK(u.milestone_tokens == token_counts{250, 30, 40});
    // Two sessions of another worker add up.
    c.report("M002", "s1", 0.0, {5, 5, 5});
    u = c.report("M002", "s2", 0.0, {1, 2, 3});
    CHECK(u.milestone_tokens == token_counts{6, 7, 8});
    CHECK(u.total_tokens == token_counts{256, 37, 48});
    // Lower in one count: ignored (the cost, which grew, still counts).
    u = c.report("M001", "", 0.30, {240, 31, 40});
    CHECK(u.anomaly);
    CHECK(u.milestone_tokens == token_counts{250, 30, 40});
    CHECK(u.milestone_cost == Approx(0.30));
    // A shell worker reports no tokens: its key gets none.
    u = c.report("M003", "", 0.05, {});
    CHECK(u.milestone_tokens == token_counts{});
    CHECK_FALSE(u.anomaly);
  }
  auto rec = io::read_ledger_record(dir.path());
  REQUIRE(rec);
  CHECK(rec->tokens.count("M003") == 0);
  CHECK(rec->tokens.at("M001") == token_counts{250, 30, 40});
  CHECK(rec->total_tokens() == token_counts{256, 37, 48});
  sf::test::check_valid("ledger",
                        nlohmann::json::parse(sf::test::read_file(io::ledger_path(dir.path()))));

  // A new period carries the old tokens: the same running totals add nothing, growth counts.
  rec->carried_tokens = {{"M001", rec->tokens.at("M001")}};
  rec->tokens.clear();
  rec->carried.clear();
  rec->costs.clear();
  REQUIRE_FALSE(io::write_ledger_record(dir.path(), *rec));
  ledger_client again(dir.path());
  auto u = again.report("M001", "", 0.30, {250, 30, 40});
  CHECK(u.milestone_tokens == token_counts{});
  u = again.report("M001", "", 0.30, {260, 30, 45});
  CHECK(u.milestone_tokens == token_counts{10, 0, 5});
}

TEST_CASE("budget counts a status file's tokens beyond the ledger's", "[cli][budget][agent]") {
  temp_dir dir;
  io::ledger_record rec;
  rec.period_start = 1000;
  rec.tokens = {{"M001", {100, 10, 1}}, {"M002", {7, 7, 7}}};
  rec.carried_tokens = {{"M003", {50, 50, 50}}};
  REQUIRE_FALSE(io::write_ledger_record(dir.path(), rec));
  std::map<std::string, cli::reported_cost> reported = {
      {"M001", {0, 2000, {150, 10, 0}}},   // ahead of the ledger in input only
      {"M002", {0, 500, {900, 900, 900}}}, // written before the period began: not counted
      {"M003", {0, 2000, {60, 40, 50}}}};  // beyond what earlier periods counted
  auto spent = cli::count_budget_spent(dir.path(), reported);
  CHECK(spent.per_milestone_tokens.at("M001") == token_counts{150, 10, 1});
  CHECK(spent.per_milestone_tokens.at("M002") == token_counts{7, 7, 7});
  CHECK(spent.per_milestone_tokens.at("M003") == token_counts{10, 0, 0});
  CHECK(spent.total_tokens == token_counts{167, 17, 8});
}
