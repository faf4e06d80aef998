#include "io/files/ledger_file.hpp"

#include "config/cost.hpp"
#include "core/sf_paths.hpp"
#include "io/files/parallel_dir.hpp"
#include "io/files/status_file.hpp"
#include "io/os/safe_file.hpp"
#include "messages/error.hpp"

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <cerrno>
#include <cmath>

namespace sf::io {

std::string ledger_path(const std::string& root) {
  return core::parallel_file(root, "ledger.json");
}

caf::expected<std::map<std::string, double>> read_ledger(const std::string& root,
                                                         std::vector<std::string>* problems) {
  auto text = read_file_capped(ledger_path(root), 4 << 20);
  if (!text)
    return text.error();
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("costs") || !j["costs"].is_object())
    return make_error(ec::invalid_input, ledger_path(root) +
                                           ": not a ledger (expected {\"costs\":{...}}); move it "
                                           "aside to start a new ledger");
  std::map<std::string, double> costs;
  auto note = [&](const std::string& line) {
    if (problems != nullptr)
      problems->push_back(ledger_path(root) + ": " + line);
  };
  for (auto it = j["costs"].begin(); it != j["costs"].end(); ++it) {
    double v = it.value().is_number() ? it.value().get<double>() : std::nan("");
    if (valid_cost(v)) {
      costs[it.key()] = v;
    } else if (v > max_cost_usd) {
      costs[it.key()] = max_cost_usd;
      note("the cost of `" + it.key() + "` is above the maximum of " + max_cost_text +
           " USD and counts as that maximum");
    } else {
      note("the cost of `" + it.key() + "` is not a number of USD from 0 to " + max_cost_text +
           " and is left out");
    }
  }
  return costs;
}

caf::expected<std::string> set_ledger_aside(const std::string& root) {
  auto aside = ledger_path(root) + ".bad-" + std::to_string(now_ms());
  if (::rename(ledger_path(root).c_str(), aside.c_str()) != 0)
    return make_error(ec::io_error, "cannot move " + ledger_path(root) + " aside: " +
                                      errno_text(errno));
  return aside;
}

caf::error write_ledger(const std::string& root, const std::map<std::string, double>& costs) {
  auto dir = ensure_parallel_dir(root);
  if (!dir)
    return dir.error();
  double total = 0;
  for (const auto& [mid, cost] : costs)
    total += cost;
  nlohmann::json j = {{"costs", costs}, {"total", total}};
  return write_file_atomic(dir->fd.get(), dir->path, "ledger.json", j.dump(1), 0600);
}

caf::error remove_ledger(const std::string& root) {
  if (::unlink(ledger_path(root).c_str()) != 0 && errno != ENOENT)
    return make_error(ec::io_error, "cannot remove " + ledger_path(root) + ": " + errno_text(errno));
  return {};
}

} // namespace sf::io
