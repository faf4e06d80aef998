#include "io/ledger_file.hpp"

#include "config/cost.hpp"
#include "io/parallel_dir.hpp"
#include "io/safe_file.hpp"
#include "messages/error.hpp"

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <cerrno>
#include <cmath>

namespace sf::io {

std::string ledger_path(const std::string& root) { return root + "/.sf/parallel/ledger.json"; }

caf::expected<std::map<std::string, double>> read_ledger(const std::string& root) {
  auto text = read_file_capped(ledger_path(root), 4 << 20);
  if (!text)
    return text.error();
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("costs") || !j["costs"].is_object())
    return make_error(ec::invalid_input, ledger_path(root) +
                                           ": not a ledger (expected {\"costs\":{...}}); move it "
                                           "aside to start a new ledger");
  std::map<std::string, double> costs;
  for (auto it = j["costs"].begin(); it != j["costs"].end(); ++it) {
    if (!it.value().is_number() || !valid_cost(it.value().get<double>()))
      return make_error(ec::invalid_input, ledger_path(root) + ": cost of `" + it.key() +
                                             "` must be a number of USD from 0 to " +
                                             max_cost_text + "; move the file aside to start "
                                             "a new ledger");
    costs[it.key()] = it.value().get<double>();
  }
  return costs;
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
