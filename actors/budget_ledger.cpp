#include "actors/budget_ledger.hpp"

#include "config/cost.hpp"
#include "io/files/ledger_file.hpp"
#include "io/files/status_file.hpp"
#include "messages/error.hpp"

#include <spdlog/spdlog.h>

namespace sf {

namespace {

budget_update make_update(const budget_ledger_state& st, const std::string& mid) {
  budget_update u;
  u.milestone = mid;
  if (!mid.empty())
    u.milestone_cost = st.ledger.milestone_cost(mid);
  u.total = st.ledger.total();
  u.ceiling = st.ceiling;
  u.reached = ceiling_reached(u.total, st.ceiling);
  if (!mid.empty())
    u.milestone_tokens = st.ledger.milestone_tokens(mid);
  u.total_tokens = st.ledger.total_tokens();
  return u;
}

// Workers report running totals; what an earlier period counted is not spent again. Gives
// whether the ledger changed; a report that is invalid or lower than before sets `anomaly`.
bool record_cost(budget_ledger_state& st, const std::string& mid, const std::string& key,
                 double cost, bool& anomaly) {
  // Status files are checked when read; this guards every other sender, so the sum stays a
  // finite number whoever reports.
  if (!valid_cost(cost)) {
    st.log->warn("budget_ledger: {} reported cost {} that {}; ignored", mid, cost,
                 cost_problem(cost));
    anomaly = true;
    return false;
  }
  double carried = st.ledger.carried.count(key) != 0 ? st.ledger.carried[key] : 0.0;
  auto& known = st.ledger.costs[key];
  if (cost + 1e-12 < carried + known) {
    st.log->warn("budget_ledger: {} reported cost {:.4f} below its earlier {:.4f}; ignored",
                 mid, cost, carried + known);
    anomaly = true;
    return false;
  }
  if (cost - carried == known)
    return false;
  known = cost - carried;
  return true;
}

// The same rule for tokens, count by count: a report that lowers any of them is ignored.
bool record_tokens(budget_ledger_state& st, const std::string& mid, const std::string& key,
                   const core::token_counts& tokens, bool& anomaly) {
  auto known = st.ledger.tokens.find(key);
  // Shell workers report none: their keys get no token entry at all.
  if (known == st.ledger.tokens.end() && tokens.sum() == 0)
    return false;
  core::token_counts carried;
  if (auto c = st.ledger.carried_tokens.find(key); c != st.ledger.carried_tokens.end())
    carried = c->second;
  core::token_counts before = known == st.ledger.tokens.end() ? core::token_counts{}
                                                              : known->second;
  if (!covers(tokens, carried + before)) {
    st.log->warn("budget_ledger: {} reported tokens ({} in, {} out, {} cached) below its "
                 "earlier ones; ignored",
                 mid, tokens.input, tokens.output, tokens.cached);
    anomaly = true;
    return false;
  }
  if (known != st.ledger.tokens.end() && tokens - carried == before)
    return false;
  st.ledger.tokens[key] = tokens - carried;
  return true;
}

} // namespace

budget_ledger_actor::behavior_type
budget_ledger(budget_ledger_actor::stateful_pointer<budget_ledger_state> self, std::string root,
              double ceiling, std::shared_ptr<spdlog::logger> log) {
  auto& st = self->state;
  st.root = std::move(root);
  st.ceiling = ceiling;
  st.log = std::move(log);
  // The period goes on across runs and coordinator restarts: money spent is never forgotten.
  std::vector<std::string> problems;
  st.ledger.period_start = io::now_ms();
  if (auto loaded = io::read_ledger_record(st.root, &problems)) {
    st.ledger = std::move(*loaded);
    for (const auto& p : problems)
      st.log->warn("budget_ledger: {}", p);
  } else if (code_of(loaded.error()) != ec::not_found) {
    // Never overwritten: the money it recorded may matter to whoever reads it.
    auto aside = io::set_ledger_aside(st.root);
    st.log->warn("budget_ledger: {}; {}; starting from zero", describe(loaded.error()),
                 aside ? "kept it as " + *aside : describe(aside.error()));
  }
  return {
    [self](atom::cost, const std::string& mid, const std::string& session, double cost,
           const core::token_counts& tokens) -> budget_update {
      auto& st = self->state;
      auto key = session.empty() ? mid : mid + "/" + session;
      bool anomaly = false;
      bool changed = record_cost(st, mid, key, cost, anomaly);
      changed = record_tokens(st, mid, key, tokens, anomaly) || changed;
      auto err = changed ? io::write_ledger_record(st.root, st.ledger) : caf::error{};
      if (err)
        st.log->error("budget_ledger: {}", describe(err));
      auto u = make_update(st, mid);
      u.anomaly = anomaly;
      return u;
    },
    [self](atom::status) -> budget_update { return make_update(self->state, ""); },
  };
}

} // namespace sf
