#include "io/files/ledger_file.hpp"

#include "config/cost.hpp"
#include "core/sf_paths.hpp"
#include "io/files/agent_json.hpp"
#include "io/files/parallel_dir.hpp"
#include "io/files/status_file.hpp"
#include "io/os/safe_file.hpp"
#include "messages/error.hpp"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cmath>
#include <algorithm>
#include <cstdio>

namespace sf::io {

namespace {

/// The milestone a ledger key belongs to ("M001/abc" -> "M001").
std::string milestone_of(const std::string& key) {
  return key.substr(0, key.find('/'));
}

/// Reads the valid costs of `j[field]` (an object of numbers) into `out`; see read_ledger.
void read_costs(const nlohmann::json& j, const char* field, const std::string& path,
                std::map<std::string, double>& out, std::vector<std::string>* problems) {
  auto at = j.find(field);
  if (at == j.end() || !at->is_object())
    return;
  auto note = [&](const std::string& line) {
    if (problems != nullptr)
      problems->push_back(path + ": " + line);
  };
  for (auto it = at->begin(); it != at->end(); ++it) {
    double v = it.value().is_number() ? it.value().get<double>() : std::nan("");
    if (valid_cost(v)) {
      out[it.key()] = v;
    } else if (v > max_cost_usd) {
      out[it.key()] = max_cost_usd;
      note("the cost of `" + it.key() + "` is above the maximum of " + max_cost_text +
           " USD and counts as that maximum");
    } else {
      note("the cost of `" + it.key() + "` is not a number of USD from 0 to " + max_cost_text +
           " and is left out");
    }
  }
}

/// Reads the token counts of `j[field]` (an object of token objects); a bad entry is left out.
void read_tokens(const nlohmann::json& j, const char* field, const std::string& path,
                 std::map<std::string, core::token_counts>& out,
                 std::vector<std::string>* problems) {
  auto at = j.find(field);
  if (at == j.end() || !at->is_object())
    return;
  for (auto it = at->begin(); it != at->end(); ++it) {
    core::token_counts t;
    if (auto why = tokens_from_json(it.value(), t); why.empty())
      out[it.key()] = t;
    else if (problems != nullptr)
      problems->push_back(path + ": the tokens of `" + it.key() + "` " + why +
                          " and are left out");
  }
}

nlohmann::json tokens_by_key(const std::map<std::string, core::token_counts>& m) {
  auto out = nlohmann::json::object();
  for (const auto& [key, t] : m)
    out[key] = tokens_to_json(t);
  return out;
}

} // namespace

core::token_counts ledger_record::total_tokens() const {
  core::token_counts sum;
  for (const auto& [key, t] : tokens)
    sum = sum + t;
  return sum;
}

core::token_counts ledger_record::milestone_tokens(const std::string& mid) const {
  core::token_counts sum;
  for (const auto& [key, t] : tokens)
    if (milestone_of(key) == mid)
      sum = sum + t;
  return sum;
}

std::map<std::string, core::token_counts> ledger_record::milestone_token_counts() const {
  std::map<std::string, core::token_counts> out;
  for (const auto& [key, t] : tokens)
    out[milestone_of(key)] = out[milestone_of(key)] + t;
  return out;
}

double ledger_record::total() const {
  double sum = 0;
  for (const auto& [key, cost] : costs)
    sum += cost;
  return sum;
}

double ledger_record::milestone_cost(const std::string& mid) const {
  double sum = 0;
  for (const auto& [key, cost] : costs)
    if (milestone_of(key) == mid)
      sum += cost;
  return sum;
}

std::map<std::string, double> ledger_record::milestone_costs() const {
  std::map<std::string, double> out;
  for (const auto& [key, cost] : costs)
    out[milestone_of(key)] += cost;
  return out;
}

std::string ledger_path(const std::string& root) {
  return core::parallel_file(root, "ledger.json");
}

caf::expected<ledger_record> parse_ledger_record(const std::string& text, const std::string& path,
                                                 std::vector<std::string>* problems) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("costs") || !j["costs"].is_object())
    return make_error(ec::invalid_input, path +
                                           ": not a ledger (expected {\"costs\":{...}}); move it "
                                           "aside to start a new ledger");
  ledger_record rec;
  read_costs(j, "costs", path, rec.costs, problems);
  read_costs(j, "carried", path, rec.carried, problems);
  read_tokens(j, "tokens", path, rec.tokens, problems);
  read_tokens(j, "carriedTokens", path, rec.carried_tokens, problems);
  if (auto at = j.find("periodStart"); at != j.end() && at->is_number_integer())
    rec.period_start = std::max<int64_t>(0, at->get<int64_t>());
  return rec;
}

caf::expected<ledger_record> read_ledger_record(const std::string& root,
                                                std::vector<std::string>* problems) {
  auto text = read_file_capped(ledger_path(root), max_ledger_bytes);
  if (!text)
    return text.error();
  return parse_ledger_record(*text, ledger_path(root), problems);
}

caf::expected<std::map<std::string, double>> read_ledger(const std::string& root,
                                                         std::vector<std::string>* problems) {
  auto rec = read_ledger_record(root, problems);
  if (!rec)
    return rec.error();
  return std::move(rec->costs);
}

caf::expected<std::string> set_ledger_aside(const std::string& root) {
  auto aside = ledger_path(root) + ".bad-" + std::to_string(now_ms());
  if (::rename(ledger_path(root).c_str(), aside.c_str()) != 0)
    return make_error(ec::io_error, "cannot move " + ledger_path(root) + " aside: " +
                                      errno_text(errno));
  return aside;
}

caf::error write_ledger_record(const std::string& root, const ledger_record& rec) {
  auto dir = ensure_parallel_dir(root);
  if (!dir)
    return dir.error();
  nlohmann::json j = {{"costs", rec.costs},
                      {"total", rec.total()},
                      {"carried", rec.carried},
                      {"periodStart", rec.period_start}};
  // Only agents report tokens: a ledger of shell workers keeps its older shape.
  if (!rec.tokens.empty()) {
    j["tokens"] = tokens_by_key(rec.tokens);
    j["tokensTotal"] = tokens_to_json(rec.total_tokens());
  }
  if (!rec.carried_tokens.empty())
    j["carriedTokens"] = tokens_by_key(rec.carried_tokens);
  return write_file_atomic(dir->fd.get(), dir->path, "ledger.json", j.dump(1), 0600);
}

caf::error write_ledger(const std::string& root, const std::map<std::string, double>& costs) {
  ledger_record rec;
  rec.costs = costs;
  rec.period_start = now_ms();
  return write_ledger_record(root, rec);
}

} // namespace sf::io
