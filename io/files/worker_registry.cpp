#include "io/files/worker_registry.hpp"

#include "config/plan.hpp"
#include "core/milestone_id.hpp"
#include "core/sf_paths.hpp"
#include "io/files/parallel_dir.hpp"
#include "io/os/proc_scan.hpp"
#include "io/os/process.hpp"
#include "io/os/safe_file.hpp"
#include "messages/error.hpp"

#include <nlohmann/json.hpp>

namespace sf::io {

namespace {

std::string registry_path(const std::string& root) {
  return core::parallel_file(root, "workers.json");
}

} // namespace

caf::error write_worker_registry(const std::string& root,
                                 const std::vector<worker_identity>& workers) {
  auto dir = ensure_parallel_dir(root);
  if (!dir)
    return dir.error();
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& w : workers)
    arr.push_back({{"milestone", w.milestone},
                   {"pid", w.pid},
                   {"startTime", w.start_time},
                   {"bootId", w.boot_id},
                   {"token", w.token}});
  nlohmann::json j = {{"version", 1}, {"workers", arr}};
  return write_file_atomic(dir->fd.get(), dir->path, "workers.json", j.dump(1), 0600);
}

caf::expected<std::vector<worker_identity>> read_worker_registry(const std::string& root) {
  auto text = read_file_capped(registry_path(root), 1 << 20);
  if (!text)
    return text.error();
  auto j = nlohmann::json::parse(*text, nullptr, false);
  auto bad = make_error(ec::invalid_input, registry_path(root) +
                                             ": not a worker registry; move it aside (live "
                                             "workers are then found by `sf-actors doctor`)");
  if (j.is_discarded() || !j.is_object() || !j.contains("workers") || !j["workers"].is_array())
    return bad;
  std::vector<worker_identity> out;
  for (const auto& x : j["workers"]) {
    if (!x.is_object() || !x.value("milestone", nlohmann::json()).is_string() ||
        !x.value("pid", nlohmann::json()).is_number_integer() ||
        !x.value("startTime", nlohmann::json()).is_number_unsigned() ||
        !x.value("bootId", nlohmann::json()).is_string() ||
        !x.value("token", nlohmann::json()).is_string())
      return bad;
    worker_identity w;
    w.milestone = x["milestone"].get<std::string>();
    w.pid = x["pid"].get<int64_t>();
    w.start_time = x["startTime"].get<uint64_t>();
    w.boot_id = x["bootId"].get<std::string>();
    w.token = x["token"].get<std::string>();
    // pid 0: a spawn announced before it happened (see find_announced_worker).
    if (!core::valid_milestone_id(w.milestone) || (w.pid <= 1 && w.pid != 0))
      return bad;
    out.push_back(std::move(w));
  }
  return out;
}

std::optional<worker_identity> find_announced_worker(const std::string& root,
                                                    const worker_identity& intent) {
  if (intent.token.empty())
    return std::nullopt;
  auto procs = find_project_processes(root);
  for (const auto& p : procs) {
    if (p.spawn_token != intent.token || p.mid != intent.milestone)
      continue;
    // Units and their children inherit the token: the worker is the one whose parent lacks it,
    // and a unit of the reference worker says it is one (its worker may be dead, its parent
    // then init).
    bool parent_has_it = false;
    for (const auto& q : procs)
      parent_has_it = parent_has_it || (q.pid == p.ppid && q.spawn_token == intent.token);
    if (parent_has_it || read_environ_value(p.pid, "SF_UNIT_ID"))
      continue;
    auto id = read_identity(p.pid);
    if (!id)
      continue;
    worker_identity who = intent;
    who.pid = id->pid;
    who.start_time = id->start_time;
    who.boot_id = id->boot_id;
    if (verify_worker(root, who))
      return who;
  }
  return std::nullopt;
}

bool verify_worker(const std::string& root, const worker_identity& who) {
  process_identity id;
  id.pid = who.pid;
  id.start_time = who.start_time;
  id.boot_id = who.boot_id;
  if (who.token.empty() || !identity_matches(id))
    return false;
  auto token = read_environ_value(who.pid, "SF_SPAWN_TOKEN");
  auto project = read_environ_value(who.pid, "SF_PROJECT_ROOT");
  auto mid = read_environ_value(who.pid, "SF_MILESTONE_LOCK");
  return token && *token == who.token && project && *project == root && mid &&
         *mid == who.milestone;
}

} // namespace sf::io
