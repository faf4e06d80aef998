#include "io/files/ledger_period.hpp"

#include "config/cost.hpp"
#include "core/utc_time.hpp"
#include "io/files/ledger_file.hpp"
#include "io/files/parallel_dir.hpp"
#include "io/os/safe_file.hpp"
#include "messages/error.hpp"

namespace sf::io {

namespace {

constexpr const char* archive_prefix = "ledger-";
constexpr const char* archive_suffix = ".json";

} // namespace

bool is_ledger_archive_name(const std::string& name) {
  const std::string prefix = archive_prefix, suffix = archive_suffix;
  return name.size() > prefix.size() + suffix.size() && name.rfind(prefix, 0) == 0 &&
         name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0 &&
         name.find(".tmp") == std::string::npos;
}

caf::expected<budget_period_reset> start_budget_period(const std::string& root, int64_t now_ms) {
  auto dir = ensure_parallel_dir(root);
  if (!dir)
    return dir.error();
  budget_period_reset out;
  out.new_start = now_ms;
  ledger_record next;
  next.period_start = now_ms;
  auto text = read_file_capped(dir->fd.get(), dir->path, "ledger.json", max_ledger_bytes);
  if (!text && code_of(text.error()) != ec::not_found)
    return text.error();
  if (text) {
    auto old = parse_ledger_record(*text, ledger_path(root));
    if (!old)
      return make_error(ec::invalid_input,
                        describe(old.error()) + " (a new period carries what the old one "
                                                "counted, so it needs a readable ledger): `mv " +
                          ledger_path(root) + " " + ledger_path(root) +
                          ".bad` and run `sf-actors budget reset` again");
    out.old_total = old->total();
    out.old_start = old->period_start;
    next.carried = old->carried;
    for (const auto& [key, cost] : old->costs)
      next.carried[key] = add_costs_capped(next.carried[key], cost);
    next.carried_tokens = old->carried_tokens;
    for (const auto& [key, t] : old->tokens)
      next.carried_tokens[key] = next.carried_tokens[key] + t;
    auto name = std::string(archive_prefix) + core::utc_stamp(now_ms) + archive_suffix;
    // The exact bytes: whoever audits the old period reads what the ledger said.
    if (auto err = write_file_atomic(dir->fd.get(), dir->path, name, *text, 0600))
      return err;
    out.archive = dir->path + "/" + name;
  }
  if (auto err = write_ledger_record(root, next))
    return err;
  return out;
}

} // namespace sf::io
