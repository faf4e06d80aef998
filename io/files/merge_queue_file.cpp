#include "io/files/merge_queue_file.hpp"

#include "config/plan.hpp"
#include "core/milestone_id.hpp"
#include "core/sf_paths.hpp"
#include "io/files/parallel_dir.hpp"
#include "io/os/safe_file.hpp"
#include "messages/error.hpp"

#include <nlohmann/json.hpp>

namespace sf::io {

namespace {

std::string queue_path(const std::string& root) {
  return core::parallel_file(root, "merge-queue.json");
}

bool hex_oid(const std::string& s) {
  if (s.size() != 40)
    return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return false;
  return true;
}

} // namespace

caf::error write_merge_queue(const std::string& root, const std::vector<merge_item>& items) {
  auto dir = ensure_parallel_dir(root);
  if (!dir)
    return dir.error();
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& it : items)
    arr.push_back({{"milestone", it.milestone},
                   {"title", it.title},
                   {"slice", it.slice},
                   {"tip", it.tip},
                   {"units", it.units},
                   {"sequence", it.sequence}});
  nlohmann::json j = {{"version", 1}, {"items", arr}};
  return write_file_atomic(dir->fd.get(), dir->path, "merge-queue.json", j.dump(1), 0600);
}

caf::expected<std::vector<merge_item>> read_merge_queue(const std::string& root) {
  auto text = read_file_capped(queue_path(root), 4 << 20);
  if (!text)
    return text.error();
  auto bad = [&](const std::string& what) {
    return make_error(ec::invalid_input, queue_path(root) + ": " + what +
                                           "; move the file aside (completed milestones can be "
                                           "merged again with `sf-actors merge`)");
  };
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("items") || !j["items"].is_array())
    return bad("not a merge queue (expected {\"items\":[...]})");
  std::vector<merge_item> items;
  for (const auto& x : j["items"]) {
    if (!x.is_object() || !x.contains("milestone") || !x["milestone"].is_string() ||
        !x.contains("tip") || !x["tip"].is_string())
      return bad("an item lacks `milestone` or `tip`");
    merge_item it;
    it.milestone = x["milestone"].get<std::string>();
    it.tip = x["tip"].get<std::string>();
    // Both end up in refs and paths: validate before anyone uses them.
    if (!core::valid_milestone_id(it.milestone) || !hex_oid(it.tip))
      return bad("an item has an invalid milestone id or tip");
    if (x.contains("title") && x["title"].is_string())
      it.title = x["title"].get<std::string>();
    if (x.contains("slice") && x["slice"].is_string())
      it.slice = x["slice"].get<std::string>();
    if (x.contains("sequence") && x["sequence"].is_number_integer())
      it.sequence = x["sequence"].get<int64_t>();
    if (x.contains("units") && x["units"].is_array())
      for (const auto& u : x["units"])
        if (u.is_string())
          it.units.push_back(u.get<std::string>());
    items.push_back(std::move(it));
  }
  return items;
}

} // namespace sf::io
