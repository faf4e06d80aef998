#include "io/files/merge_report_json.hpp"

#include "messages/error.hpp"

namespace sf::io {

nlohmann::json merge_report_to_json(const merge_report& r) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& x : r.results)
    out.push_back({{"milestoneId", x.milestone},
                   {"slice", x.slice},
                   {"result", std::string(core::to_string(x.kind))},
                   {"commit", x.commit},
                   {"files", x.files},
                   {"text", x.text},
                   {"pushed", x.pushed},
                   {"pushError", x.push_error},
                   {"notes", x.notes}});
  return {{"results", out}, {"exitCode", r.exit_code}, {"queueRetries", r.queue_retries}};
}

namespace {

caf::error bad(const std::string& where, const std::string& field, const char* want) {
  return make_error(ec::invalid_input, where + ": field `" + field + "` must be " + want +
                                         "; the coordinator and this sf-actors differ in "
                                         "version, restart the run with this one");
}

template <class T>
caf::error take(const nlohmann::json& j, const char* key, T& to, const std::string& where,
                const char* want) {
  auto it = j.find(key);
  if (it == j.end())
    return {};
  try {
    to = it->get<T>();
  } catch (const nlohmann::json::exception&) {
    return bad(where, key, want);
  }
  return {};
}

} // namespace

caf::expected<merge_report> merge_report_from_json(const nlohmann::json& j,
                                                   const std::string& where) {
  if (!j.is_object())
    return bad(where, "merge", "an object");
  merge_report r;
  if (auto err = take(j, "exitCode", r.exit_code, where, "an integer"))
    return err;
  if (auto err = take(j, "queueRetries", r.queue_retries, where, "a boolean"))
    return err;
  auto results = j.find("results");
  if (results == j.end() || !results->is_array())
    return bad(where, "results", "an array");
  for (const auto& item : *results) {
    if (!item.is_object())
      return bad(where, "results[]", "objects");
    merge_outcome x;
    std::string kind;
    for (auto err : {take(item, "milestoneId", x.milestone, where, "a string"),
                     take(item, "slice", x.slice, where, "a string"),
                     take(item, "result", kind, where, "a string"),
                     take(item, "commit", x.commit, where, "a string"),
                     take(item, "files", x.files, where, "an array of strings"),
                     take(item, "text", x.text, where, "a string"),
                     take(item, "pushed", x.pushed, where, "a boolean"),
                     take(item, "pushError", x.push_error, where, "a string"),
                     take(item, "notes", x.notes, where, "a string")})
      if (err)
        return err;
    auto k = core::parse_merge_kind(kind);
    if (!k)
      return bad(where, "results[].result",
                 "a merge kind of docs/schemas/merge-output.schema.json");
    x.kind = *k;
    r.results.push_back(std::move(x));
  }
  return r;
}

} // namespace sf::io
