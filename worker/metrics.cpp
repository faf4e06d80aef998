#include "worker/metrics.hpp"

#include "config/cost.hpp"
#include "core/sf_paths.hpp"
#include "io/git/git.hpp"
#include "io/os/safe_file.hpp"
#include "messages/error.hpp"

#include <algorithm>
#include <iostream>

namespace sf::worker {

namespace {

using nlohmann::json;

caf::error shape_error(const std::string& path, const std::string& what) {
  return make_error(ec::invalid_input, path + ": " + what +
                                           "; fix or remove the file (it is rebuilt from "
                                           "the units that complete next)");
}

/// A unit entry with the fields we need, or an error naming the entry.
caf::expected<unit_record> to_record(const json& u, const std::string& path,
                                     const std::string& where) {
  if (!u.is_object())
    return shape_error(path, where + " is not an object");
  unit_record r;
  auto id = u.find("id");
  if (id == u.end() || !id->is_string() || id->get<std::string>().empty())
    return shape_error(path, where + " has no string `id`");
  r.id = id->get<std::string>();
  if (auto s = u.find("slice"); s != u.end() && s->is_string())
    r.slice = s->get<std::string>();
  if (auto t = u.find("title"); t != u.end() && t->is_string())
    r.title = t->get<std::string>();
  if (auto c = u.find("cost"); c != u.end()) {
    if (!c->is_number() || !valid_cost(c->get<double>()))
      return shape_error(path, where + " has a `cost` that is not a number of USD from 0 to " +
                                   max_cost_text);
    r.cost = c->get<double>();
  }
  if (auto v = u.find("startedAt"); v != u.end() && v->is_number_integer())
    r.started_at = v->get<int64_t>();
  if (auto v = u.find("finishedAt"); v != u.end() && v->is_number_integer())
    r.finished_at = v->get<int64_t>();
  if (auto t = u.find("tokens"); t != u.end()) {
    io::token_counts c;
    for (auto [key, field] : {std::pair<const char*, int64_t*>{"input", &c.input},
                              {"output", &c.output}, {"cached", &c.cached}}) {
      auto v = t->is_object() ? t->find(key) : t->end();
      if (v == t->end() || !v->is_number_integer() || v->get<int64_t>() < 0)
        return shape_error(path, where + " has `tokens` without a count `" + key +
                                     "` (a whole number from 0)");
      *field = v->get<int64_t>();
    }
    r.tokens = c;
  }
  if (auto v = u.find("agent"); v != u.end() && v->is_string())
    r.agent = v->get<std::string>();
  if (auto v = u.find("attempt"); v != u.end() && v->is_number_integer())
    r.attempt = v->get<int>();
  if (auto v = u.find("outcome"); v != u.end() && v->is_string())
    r.outcome = v->get<std::string>();
  return r;
}

} // namespace

std::string metrics_file::path_in(const std::string& worktree) {
  return core::metrics_file(worktree);
}

caf::expected<metrics_file> metrics_file::parse(const std::string& text,
                                                const std::string& path) {
  auto doc = json::parse(text, nullptr, false);
  if (doc.is_discarded())
    return shape_error(path, "is not valid JSON");
  if (!doc.is_object())
    return shape_error(path, "is not a JSON object");
  auto ms = doc.find("milestones");
  if (ms == doc.end()) {
    doc["milestones"] = json::object();
  } else if (!ms->is_object()) {
    return shape_error(path, "`milestones` is not an object");
  }
  // Validate every milestone's unit lists now, so later reads cannot meet a bad shape.
  for (auto& [mid, m] : doc["milestones"].items()) {
    if (!m.is_object())
      return shape_error(path, "milestones." + mid + " is not an object");
    for (const std::string list : {"units", "failedUnits"}) {
      auto units = m.find(list);
      if (units == m.end())
        continue;
      auto where = "milestones." + mid + "." + list;
      if (!units->is_array())
        return shape_error(path, where + " is not an array");
      std::size_t i = 0;
      for (const auto& u : *units) {
        auto rec = to_record(u, path, where + "[" + std::to_string(i++) + "]");
        if (!rec)
          return rec.error();
      }
    }
  }
  if (!doc.contains("version"))
    doc["version"] = 1;
  metrics_file out;
  out.doc_ = std::move(doc);
  return out;
}

caf::expected<metrics_file> metrics_file::load(const std::string& worktree) {
  auto path = path_in(worktree);
  auto text = io::read_file_capped(path, max_metrics_bytes);
  if (!text) {
    if (code_of(text.error()) == ec::not_found)
      return metrics_file{};
    return text.error();
  }
  if (text->empty()) {
    // `save` does not fsync (the commit after it does): an empty file is what a power loss
    // leaves, and the copy at HEAD holds every unit that was committed.
    auto committed = committed_text(worktree);
    if (!committed)
      return committed.error();
    if (!*committed)
      return metrics_file{};
    std::cerr << "sf-actors worker: " << path << " was empty; using the copy committed at HEAD\n";
    return parse(**committed, path + " (HEAD)");
  }
  return parse(*text, path);
}

caf::expected<metrics_file> metrics_file::load_committed(const std::string& worktree) {
  auto text = committed_text(worktree);
  if (!text)
    return text.error();
  if (!*text)
    return metrics_file{};
  return parse(**text, path_in(worktree) + " (HEAD)");
}

caf::expected<std::optional<std::string>> metrics_file::committed_text(
    const std::string& worktree) {
  auto repo = io::open_repo(worktree);
  if (!repo)
    return repo.error();
  git_object* raw = nullptr;
  if (git_revparse_single(&raw, repo->get(), "HEAD:.sf/metrics.json") != 0)
    return std::optional<std::string>{}; // No commit yet, or none holding the file.
  io::object_ptr obj{raw};
  if (git_object_type(obj.get()) != GIT_OBJECT_BLOB)
    return std::optional<std::string>{};
  auto* blob = reinterpret_cast<git_blob*>(obj.get());
  auto size = static_cast<std::size_t>(git_blob_rawsize(blob));
  if (size > max_metrics_bytes)
    return make_error(ec::invalid_input, worktree + "/.sf/metrics.json at HEAD is larger than " +
                                           std::to_string(max_metrics_bytes) + " bytes");
  return std::optional<std::string>{
      std::string(static_cast<const char*>(git_blob_rawcontent(blob)), size)};
}

namespace {

std::vector<unit_record> records_of(const json& doc, const std::string& mid, const char* list) {
  std::vector<unit_record> out;
  const auto& ms = doc["milestones"];
  auto m = ms.find(mid);
  if (m == ms.end() || !m->contains(list) || !(*m)[list].is_array())
    return out;
  for (const auto& u : (*m)[list])
    if (auto rec = to_record(u, "", ""))
      out.push_back(std::move(*rec));
  return out;
}

json tokens_json(const io::token_counts& t) {
  return {{"input", t.input}, {"output", t.output}, {"cached", t.cached}};
}

json record_json(const unit_record& rec) {
  json j = {{"id", rec.id},
            {"slice", rec.slice},
            {"title", rec.title},
            {"cost", rec.cost},
            {"startedAt", rec.started_at},
            {"finishedAt", rec.finished_at}};
  // Agent units only: the files of shell-only plans stay as they were.
  if (rec.tokens)
    j["tokens"] = tokens_json(*rec.tokens);
  if (!rec.agent.empty())
    j["agent"] = rec.agent;
  if (rec.attempt > 0)
    j["attempt"] = rec.attempt;
  if (!rec.outcome.empty())
    j["outcome"] = rec.outcome;
  return j;
}

} // namespace

std::vector<unit_record> metrics_file::units(const std::string& mid) const {
  return records_of(doc_, mid, "units");
}

std::vector<unit_record> metrics_file::failed_units(const std::string& mid) const {
  return records_of(doc_, mid, "failedUnits");
}

double metrics_file::cost(const std::string& mid) const {
  double sum = 0;
  for (const auto& u : units(mid))
    sum = add_costs_capped(sum, u.cost);
  for (const auto& u : failed_units(mid))
    sum = add_costs_capped(sum, u.cost);
  return sum;
}

io::token_counts metrics_file::tokens(const std::string& mid) const {
  io::token_counts sum;
  for (const auto* list : {"units", "failedUnits"})
    for (const auto& u : records_of(doc_, mid, list))
      if (u.tokens)
        sum = sum + *u.tokens; // Held within int64_t (a lying agent's counts).
  return sum;
}

std::optional<agent_session_record> metrics_file::agent_session(const std::string& mid,
                                                                const std::string& unit) const {
  auto m = doc_["milestones"].find(mid);
  if (m == doc_["milestones"].end() || !m->is_object())
    return std::nullopt;
  auto sessions = m->find("agentSessions");
  if (sessions == m->end() || !sessions->is_object())
    return std::nullopt;
  auto it = sessions->find(unit);
  if (it == sessions->end() || !it->is_object())
    return std::nullopt;
  agent_session_record rec;
  rec.session_id = it->value("sessionId", std::string{});
  rec.attempt = std::max(1, it->value("attempt", 1));
  if (auto snap = it->find("snapshot"); snap != it->end() && snap->is_object()) {
    rec.snapshot.input = snap->value("input", int64_t{0});
    rec.snapshot.output = snap->value("output", int64_t{0});
    rec.snapshot.cached = snap->value("cached", int64_t{0});
  }
  return rec;
}

void metrics_file::set_agent_session(const std::string& mid, const std::string& unit,
                                     const agent_session_record& rec) {
  auto& m = doc_["milestones"][mid];
  if (!m.is_object())
    m = json::object();
  m["agentSessions"][unit] = {{"sessionId", rec.session_id},
                              {"attempt", rec.attempt},
                              {"snapshot", tokens_json({rec.snapshot.input, rec.snapshot.output,
                                                        rec.snapshot.cached})}};
}

void metrics_file::clear_agent_session(const std::string& mid, const std::string& unit) {
  auto m = doc_["milestones"].find(mid);
  if (m == doc_["milestones"].end() || !m->is_object())
    return;
  if (auto sessions = m->find("agentSessions"); sessions != m->end() && sessions->is_object()) {
    sessions->erase(unit);
    if (sessions->empty())
      m->erase("agentSessions");
  }
}

void metrics_file::finish_agent_session(const std::string& mid, const std::string& unit,
                                        const std::string& profile,
                                        const agent_session_record& at_end) {
  clear_agent_session(mid, unit);
  auto& m = doc_["milestones"][mid];
  if (!m.is_object())
    m = json::object();
  m["lastAgentSession"] = {{"unit", unit},
                           {"profile", profile},
                           {"sessionId", at_end.session_id},
                           {"snapshot", tokens_json({at_end.snapshot.input, at_end.snapshot.output,
                                                     at_end.snapshot.cached})}};
}

std::optional<metrics_file::finished_session>
metrics_file::last_agent_session(const std::string& mid) const {
  auto m = doc_["milestones"].find(mid);
  if (m == doc_["milestones"].end() || !m->is_object())
    return std::nullopt;
  auto it = m->find("lastAgentSession");
  if (it == m->end() || !it->is_object())
    return std::nullopt;
  finished_session out;
  out.unit = it->value("unit", std::string{});
  out.profile = it->value("profile", std::string{});
  out.session.session_id = it->value("sessionId", std::string{});
  if (auto snap = it->find("snapshot"); snap != it->end() && snap->is_object()) {
    out.session.snapshot.input = snap->value("input", int64_t{0});
    out.session.snapshot.output = snap->value("output", int64_t{0});
    out.session.snapshot.cached = snap->value("cached", int64_t{0});
  }
  return out;
}

void metrics_file::record(const std::string& mid, const unit_record& rec) {
  append(mid, "units", rec);
}

void metrics_file::record_failed(const std::string& mid, const unit_record& rec) {
  append(mid, "failedUnits", rec);
}

void metrics_file::append(const std::string& mid, const char* list, const unit_record& rec) {
  auto& m = doc_["milestones"][mid];
  if (!m.is_object())
    m = json::object();
  if (!m.contains(list) || !m[list].is_array())
    m[list] = json::array();
  m[list].push_back(record_json(rec));
  m["cost"] = cost(mid);
  if (rec.tokens || m.contains("tokens"))
    m["tokens"] = tokens_json(tokens(mid));
}

void metrics_file::adopt_failed(const std::string& mid, const metrics_file& other) {
  auto known = failed_units(mid);
  for (const auto& rec : other.failed_units(mid)) {
    bool seen = std::any_of(known.begin(), known.end(), [&](const unit_record& k) {
      return k.id == rec.id && k.started_at == rec.started_at;
    });
    if (!seen)
      record_failed(mid, rec);
  }
}

std::string metrics_file::dump() const {
  return doc_.dump(2) + "\n";
}

caf::error metrics_file::save(const std::string& worktree) const {
  // Atomic but not fsynced: the unit's commit, right after, makes the record durable, and a
  // record that never reached a commit must not count the unit as done (see `load`). On a root
  // without a journal and with `discard`, the fsyncs and the discard of the old copy were a
  // tenth of each unit's overhead.
  return io::write_file_replace(worktree + "/.sf", "metrics.json", dump(), 0644);
}

} // namespace sf::worker
