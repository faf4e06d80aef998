#include "io/files/status_file.hpp"

#include "config/cost.hpp"
#include "core/milestone_id.hpp"
#include "core/sf_paths.hpp"
#include "io/files/agent_json.hpp"
#include "io/files/parallel_dir.hpp"
#include "io/os/safe_file.hpp"
#include "messages/error.hpp"

#include <nlohmann/json.hpp>

#include <dirent.h>

#include <chrono>
#include <cmath>
#include <limits>

namespace sf::io {

namespace {

using json = nlohmann::json;

caf::error field_error(const std::string& field, const std::string& expected) {
  return make_error(ec::invalid_input, "status field '" + field + "' must be " + expected +
                                           "; fix the worker that wrote it");
}

// nlohmann keeps large values as unsigned; anything past int64 is out of range for us.
bool as_int64(const json& v, int64_t& out) {
  if (v.is_number_unsigned()) {
    auto u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      return false;
    out = static_cast<int64_t>(u);
    return true;
  }
  if (v.is_number_integer()) {
    out = v.get<int64_t>();
    return true;
  }
  return false;
}

// Reads a required integer field with a lower bound.
caf::error get_int(const json& obj, const char* key, int64_t min, const char* expected,
                   int64_t& out) {
  auto it = obj.find(key);
  if (it == obj.end())
    return field_error(key, std::string(expected) + " (it is missing)");
  if (!as_int64(*it, out) || out < min)
    return field_error(key, expected);
  return {};
}

caf::error get_string(const json& obj, const char* key, std::string& out) {
  auto it = obj.find(key);
  if (it == obj.end())
    return field_error(key, "a string (it is missing)");
  if (!it->is_string())
    return field_error(key, "a string");
  out = it->get<std::string>();
  return {};
}

// Extras are optional: absent or null leaves them unset, any other wrong type is an error.
caf::error get_opt_string(const json& obj, const char* key, std::optional<std::string>& out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null())
    return {};
  if (!it->is_string())
    return field_error(key, "a string when present");
  out = it->get<std::string>();
  return {};
}

caf::error get_opt_int(const json& obj, const char* key, int64_t min, int64_t max,
                       const char* expected, std::optional<int64_t>& out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null())
    return {};
  int64_t v = 0;
  if (!as_int64(*it, v) || v < min || v > max)
    return field_error(key, expected);
  out = v;
  return {};
}

caf::error decode_unit(const json& obj, std::optional<current_unit>& out) {
  auto it = obj.find("currentUnit");
  if (it == obj.end())
    return field_error("currentUnit", "an object or null (it is missing)");
  if (it->is_null())
    return {};
  const char* shape = "null or an object with string 'type', string 'id' and integer "
                      "'startedAt' >= 0";
  if (!it->is_object())
    return field_error("currentUnit", shape);
  current_unit u;
  auto t = it->find("type");
  auto i = it->find("id");
  auto s = it->find("startedAt");
  if (t == it->end() || !t->is_string() || i == it->end() || !i->is_string() || s == it->end() ||
      !as_int64(*s, u.started_at) || u.started_at < 0)
    return field_error("currentUnit", shape);
  u.type = t->get<std::string>();
  u.id = i->get<std::string>();
  out = std::move(u);
  return {};
}

// `tokens` and `agent`: optional (absent or null in files of the original protocol).
caf::error decode_agent_fields(const json& obj, worker_status& s) {
  if (auto it = obj.find("tokens"); it != obj.end() && !it->is_null()) {
    core::token_counts t;
    if (auto why = tokens_from_json(*it, t); !why.empty())
      return field_error("tokens", std::string(tokens_shape) + " when present" +
                                     (why.rfind("member", 0) == 0 ? " (" + why + ")" : ""));
    s.tokens = t;
  }
  if (auto it = obj.find("agent"); it != obj.end() && !it->is_null()) {
    agent_activity a;
    if (auto why = agent_from_json(*it, a); !why.empty())
      return field_error("agent", "an object with string 'profile', 'adapter', 'activity', "
                                  "'sessionId', integer 'attempt' and 'maxAttempts' >= 1, "
                                  "boolean 'priceMissing' and 'needsAttention' a string or "
                                  "null (" + why + ")");
    s.agent = as_progress(std::move(a));
  }
  return {};
}

} // namespace

caf::expected<worker_status> decode_status(std::string_view text, std::string_view expected_mid) {
  if (text.size() > max_status_bytes)
    return make_error(ec::invalid_input, "status is " + std::to_string(text.size()) +
                                             " bytes, more than the limit of " +
                                             std::to_string(max_status_bytes) +
                                             "; the writer is broken or hostile");
  auto doc = json::parse(text.begin(), text.end(), nullptr, false);
  if (doc.is_discarded())
    return make_error(ec::invalid_input,
                      "status is not valid JSON (truncated or malformed); the writer must "
                      "write it atomically");
  if (!doc.is_object())
    return make_error(ec::invalid_input, "status must be a JSON object");
  worker_status s;
  if (auto err = get_string(doc, "milestoneId", s.milestone_id))
    return err;
  if (!core::valid_milestone_id(s.milestone_id))
    return field_error("milestoneId", std::string("a valid milestone id: ") +
                                                std::string(core::milestone_id_rule()));
  if (!expected_mid.empty() && s.milestone_id != expected_mid)
    return make_error(ec::invalid_input, "status field 'milestoneId' is '" + s.milestone_id +
                                             "' but the file belongs to '" +
                                             std::string(expected_mid) +
                                             "'; a worker wrote the wrong file");
  if (auto err = get_int(doc, "pid", 1, "an integer > 0", s.pid))
    return err;
  auto st = doc.find("state");
  auto state = st != doc.end() && st->is_string()
                 ? core::parse_worker_state(st->get<std::string>())
                 : std::nullopt;
  if (!state) {
    std::string names;
    for (auto w : core::all_worker_states)
      names += std::string(names.empty() ? "one of " : ", ") + "\"" +
               std::string(core::to_string(w)) + "\"";
    return field_error("state", names);
  }
  s.state = *state;
  if (auto err = decode_unit(doc, s.unit))
    return err;
  if (auto err = get_int(doc, "completedUnits", 0, "an integer >= 0", s.completed_units))
    return err;
  auto cost = doc.find("cost");
  if (cost == doc.end() || !cost->is_number())
    return field_error("cost", std::string("a number of USD from 0 to ") + max_cost_text);
  s.cost = cost->get<double>();
  if (!valid_cost(s.cost))
    return make_error(ec::invalid_input, "status field 'cost' " + cost_problem(s.cost) +
                                             " (" + cost->dump() + "); it must be a number of "
                                             "USD from 0 to " + max_cost_text +
                                             "; fix the worker that wrote it");
  if (auto err = get_int(doc, "lastHeartbeat", 0, "an integer >= 0 (ms)", s.last_heartbeat))
    return err;
  if (auto err = get_int(doc, "startedAt", 0, "an integer >= 0 (ms)", s.started_at))
    return err;
  if (auto err = get_string(doc, "worktreePath", s.worktree_path))
    return err;
  if (auto err = get_opt_int(doc, "totalUnits", 0, std::numeric_limits<int64_t>::max(),
                             "an integer >= 0 when present", s.total_units))
    return err;
  if (auto err = get_opt_string(doc, "currentSlice", s.current_slice))
    return err;
  if (auto err = get_opt_string(doc, "error", s.error))
    return err;
  if (auto err = get_opt_string(doc, "spawnToken", s.spawn_token))
    return err;
  std::optional<int64_t> protocol;
  if (auto err = get_opt_int(doc, "protocol", 1, std::numeric_limits<int>::max(),
                             "an integer >= 1 when present", protocol))
    return err;
  if (protocol)
    s.protocol = static_cast<int>(*protocol);
  if (auto err = decode_agent_fields(doc, s))
    return err;
  return s;
}

std::string encode_status(const worker_status& s) {
  // ordered_json keeps the original fields first, in the order of the protocol table.
  nlohmann::ordered_json j;
  j["milestoneId"] = s.milestone_id;
  j["pid"] = s.pid;
  j["state"] = core::to_string(s.state);
  if (s.unit)
    j["currentUnit"] = {
        {"type", s.unit->type}, {"id", s.unit->id}, {"startedAt", s.unit->started_at}};
  else
    j["currentUnit"] = nullptr;
  j["completedUnits"] = s.completed_units;
  j["cost"] = s.cost;
  j["lastHeartbeat"] = s.last_heartbeat;
  j["startedAt"] = s.started_at;
  j["worktreePath"] = s.worktree_path;
  if (s.total_units)
    j["totalUnits"] = *s.total_units;
  if (s.current_slice)
    j["currentSlice"] = *s.current_slice;
  if (s.error)
    j["error"] = *s.error;
  if (s.spawn_token)
    j["spawnToken"] = *s.spawn_token;
  if (s.protocol)
    j["protocol"] = *s.protocol;
  if (s.tokens)
    j["tokens"] = tokens_to_json(*s.tokens);
  if (s.agent)
    j["agent"] = agent_to_json(as_activity(*s.agent));
  // Replace invalid UTF-8 instead of throwing: no exception may leave this function.
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

std::string status_path(const std::string& root, const std::string& mid) {
  return core::status_file(root, mid);
}

caf::expected<worker_status> read_status(const std::string& root, const std::string& mid) {
  if (!core::valid_milestone_id(mid))
    return invalid_mid_error(mid);
  auto dir = open_parallel_dir(root);
  if (!dir)
    return dir.error();
  auto text = read_file_capped(dir->fd.get(), dir->path, mid + ".status.json", max_status_bytes);
  if (!text)
    return text.error();
  auto st = decode_status(*text, mid);
  if (!st)
    return make_error(code_of(st.error()), status_path(root, mid) + ": " + describe(st.error()));
  return st;
}

caf::error write_status(const std::string& root, const worker_status& s) {
  if (!core::valid_milestone_id(s.milestone_id))
    return invalid_mid_error(s.milestone_id);
  if (s.pid <= 0 || !valid_cost(s.cost))
    return make_error(ec::invalid_input, "refusing to write status of " + s.milestone_id +
                                             ": pid must be > 0 and cost from 0 to " +
                                             max_cost_text + " USD");
  auto dir = ensure_parallel_dir(root);
  if (!dir)
    return dir.error();
  // Rename without fsync: a reader still sees a whole snapshot, and after a power loss the
  // worker is gone anyway, so durability would buy nothing but ~2 fsyncs per heartbeat.
  return write_file_replace(dir->fd.get(), dir->path, s.milestone_id + ".status.json",
                            encode_status(s), 0600);
}

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::vector<std::string> status_file_milestones(const std::string& root) {
  std::vector<std::string> out;
  DIR* d = ::opendir(core::parallel_dir(root).c_str());
  if (d == nullptr)
    return out;
  while (auto* e = ::readdir(d))
    if (auto n = parse_parallel_name(e->d_name); n && n->kind == parallel_file_kind::status)
      out.push_back(n->mid);
  ::closedir(d);
  return out;
}

} // namespace sf::io
