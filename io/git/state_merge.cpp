#include "io/git/state_merge.hpp"

#include "config/plan.hpp"
#include "config/yaml_input.hpp"
#include "core/milestone_id.hpp"
#include "core/sf_paths.hpp"
#include "io/git/git.hpp"
#include "messages/error.hpp"

#include <git2.h>
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include <set>
#include <vector>

namespace sf::io {

namespace {

// ---- metrics.json -------------------------------------------------------------------------

/// Parses a JSON object, or gives a null value when the text is not one.
nlohmann::json parse_object(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return nlohmann::json{};
  return j;
}

/// Copies into `out` every member of `theirs` that is new or different from `base`.
void take_changed(const nlohmann::json& base, const nlohmann::json& theirs, nlohmann::json& out,
                  const char* skip) {
  for (auto it = theirs.begin(); it != theirs.end(); ++it) {
    if (skip != nullptr && it.key() == skip)
      continue;
    bool unchanged = base.is_object() && base.contains(it.key()) && base[it.key()] == it.value();
    if (!unchanged)
      out[it.key()] = it.value();
  }
}

// ---- lines --------------------------------------------------------------------------------

bool binary(const std::string& s) {
  return s.find('\0') != std::string::npos;
}

// ---- MILESTONE.md -------------------------------------------------------------------------

// Fields a worker writes to record how far it got; on both-changed the branch's value wins.
const std::set<std::string>& progress_keys() {
  static const std::set<std::string> keys = {"status",      "done",       "completed",
                                             "completedAt", "startedAt",  "finishedAt",
                                             "progress"};
  return keys;
}

/// The value of `key` in the map `m`, or an undefined node (a const lookup never inserts).
YAML::Node member(const YAML::Node& m, const std::string& key) {
  if (!m.IsDefined() || !m.IsMap())
    return YAML::Node(YAML::NodeType::Undefined);
  for (const auto& kv : m)
    if (kv.first.IsScalar() && kv.first.Scalar() == key)
      return kv.second;
  return YAML::Node(YAML::NodeType::Undefined);
}

bool same_node(const YAML::Node& a, const YAML::Node& b) {
  if (!a.IsDefined() || !b.IsDefined())
    return a.IsDefined() == b.IsDefined();
  if (a.Type() != b.Type())
    return false;
  switch (a.Type()) {
    case YAML::NodeType::Scalar:
      return a.Scalar() == b.Scalar();
    case YAML::NodeType::Sequence:
      if (a.size() != b.size())
        return false;
      for (std::size_t i = 0; i < a.size(); ++i)
        if (!same_node(a[i], b[i]))
          return false;
      return true;
    case YAML::NodeType::Map:
      if (a.size() != b.size())
        return false;
      for (const auto& kv : a)
        if (!kv.first.IsScalar() || !same_node(kv.second, member(b, kv.first.Scalar())))
          return false;
      return true;
    default:
      return true; // Both null.
  }
}

/// The scalar `id` of a map entry of a sequence, empty when it has none.
std::string id_of(const YAML::Node& n) {
  auto id = member(n, "id");
  return id.IsDefined() && id.IsScalar() ? id.Scalar() : std::string{};
}

bool all_have_ids(const YAML::Node& seq) {
  if (!seq.IsDefined() || !seq.IsSequence())
    return false;
  for (const auto& n : seq)
    if (!n.IsMap() || id_of(n).empty())
      return false;
  return true;
}

YAML::Node merge_value(const YAML::Node& b, const YAML::Node& o, const YAML::Node& t,
                       const std::string& key);

YAML::Node merge_map(const YAML::Node& b, const YAML::Node& o, const YAML::Node& t) {
  YAML::Node out(YAML::NodeType::Map);
  std::vector<std::string> keys;
  std::set<std::string> seen;
  for (const auto* side : {&o, &t})
    if (side->IsDefined() && side->IsMap())
      for (const auto& kv : *side)
        if (kv.first.IsScalar() && seen.insert(kv.first.Scalar()).second)
          keys.push_back(kv.first.Scalar());
  for (const auto& k : keys) {
    auto v = merge_value(member(b, k), member(o, k), member(t, k), k);
    if (v.IsDefined())
      out[k] = v;
  }
  return out;
}

/// Slices and units: matched by id; ours' order, then what only theirs has.
YAML::Node merge_id_sequence(const YAML::Node& b, const YAML::Node& o, const YAML::Node& t) {
  auto find = [](const YAML::Node& seq, const std::string& id) -> YAML::Node {
    if (seq.IsDefined() && seq.IsSequence())
      for (const auto& n : seq)
        if (id_of(n) == id)
          return n;
    return YAML::Node(YAML::NodeType::Undefined);
  };
  YAML::Node out(YAML::NodeType::Sequence);
  std::set<std::string> done;
  for (const auto* side : {&o, &t}) {
    for (const auto& n : *side) {
      auto id = id_of(n);
      if (!done.insert(id).second)
        continue;
      auto v = merge_value(find(b, id), find(o, id), find(t, id), "id:" + id);
      if (v.IsDefined())
        out.push_back(v);
    }
  }
  return out;
}

// Three-way, value by value; on a change of both sides: maps and id lists go deeper, the
// branch wins progress fields and main wins the rest. A value one side removed and the other
// changed is kept: nothing a side added disappears.
YAML::Node merge_value(const YAML::Node& b, const YAML::Node& o, const YAML::Node& t,
                       const std::string& key) {
  if (same_node(o, t))
    return o;
  if (same_node(b, o))
    return t;
  if (same_node(b, t))
    return o;
  if (!o.IsDefined())
    return t;
  if (!t.IsDefined())
    return o;
  if (o.IsMap() && t.IsMap())
    return merge_map(b, o, t);
  if (all_have_ids(o) && all_have_ids(t))
    return merge_id_sequence(b.IsDefined() && b.IsSequence() ? b : YAML::Node(YAML::NodeType::Sequence), o, t);
  // Anything else both changed (a title, a list such as dependsOn or files) is the user's on
  // main, but for the fields that record progress.
  return progress_keys().count(key) != 0 ? t : o;
}

struct parsed_milestone {
  front_matter fm;
  YAML::Node node;
};

std::optional<parsed_milestone> parse_front(const std::string& text, const std::string& path) {
  auto fm = split_front_matter(text, path);
  if (!fm)
    return std::nullopt;
  try {
    auto node = YAML::Load(fm->yaml);
    if (!node.IsMap())
      return std::nullopt;
    return parsed_milestone{std::move(*fm), std::move(node)};
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::string compose(const std::string& yaml, const std::string& body) {
  std::string out = "---\n" + yaml;
  if (!out.empty() && out.back() != '\n')
    out += '\n';
  return out + "---\n" + body;
}

} // namespace

caf::expected<std::pair<bool, std::string>> merge_file_text(const std::string& base,
                                                           const std::string& ours,
                                                           const std::string& theirs,
                                                           const std::string& path,
                                                           bool union_both, unsigned int mode) {
  git_init_once(); // These merges are usable on their own, outside a repository's merge.
  auto input = [&](const std::string& text) {
    git_merge_file_input in = GIT_MERGE_FILE_INPUT_INIT;
    in.ptr = text.data();
    in.size = text.size();
    in.path = path.c_str();
    in.mode = mode;
    return in;
  };
  git_merge_file_input bi = input(base);
  git_merge_file_input oi = input(ours);
  git_merge_file_input ti = input(theirs);
  git_merge_file_options opts = GIT_MERGE_FILE_OPTIONS_INIT;
  if (union_both)
    opts.favor = GIT_MERGE_FILE_FAVOR_UNION;
  git_merge_file_result res{};
  if (git_merge_file(&res, &bi, &oi, &ti, &opts) != 0)
    return git_fail("merging the lines of", "'" + path + "'");
  std::pair<bool, std::string> out{res.automergeable != 0, std::string{res.ptr, res.len}};
  git_merge_file_result_free(&res);
  return out;
}

bool is_milestone_file(const std::string& path) {
  static const std::string prefix{core::tree_path::milestones};
  static const std::string suffix = "/MILESTONE.md";
  if (path.size() <= prefix.size() + suffix.size() || path.compare(0, prefix.size(), prefix) != 0 ||
      path.compare(path.size() - suffix.size(), suffix.size(), suffix) != 0)
    return false;
  return core::valid_milestone_id(
    path.substr(prefix.size(), path.size() - prefix.size() - suffix.size()));
}

caf::expected<std::string> merge_metrics_json(const std::string& base, const std::string& ours,
                                              const std::string& theirs) {
  auto o = parse_object(ours);
  auto t = parse_object(theirs);
  if (o.is_null() || t.is_null())
    return make_error(ec::invalid_input, std::string{".sf/metrics.json on "} +
                                           (o.is_null() ? "main" : "the milestone branch") +
                                           " is not a JSON object; fix or delete that file");
  auto b = parse_object(base);
  nlohmann::json out = o;
  // Top-level fields: theirs wins where it changed something; milestones are merged per key.
  take_changed(b, t, out, "milestones");
  auto sub = [](const nlohmann::json& j) {
    return j.is_object() && j.contains("milestones") && j["milestones"].is_object()
             ? j["milestones"]
             : nlohmann::json::object();
  };
  if (t.contains("milestones") || o.contains("milestones")) {
    nlohmann::json ms = sub(o);
    take_changed(sub(b), sub(t), ms, nullptr);
    out["milestones"] = std::move(ms);
  }
  return out.dump(2) + "\n";
}

caf::expected<std::optional<std::string>> merge_lines_keeping_both(const std::string& base,
                                                                   const std::string& ours,
                                                                   const std::string& theirs,
                                                                   const std::string& path) {
  if (ours == theirs || base == theirs)
    return std::optional<std::string>{ours};
  if (base == ours)
    return std::optional<std::string>{theirs};
  // Lines have no meaning in a binary file: both versions cannot be kept in one.
  if (binary(base) || binary(ours) || binary(theirs))
    return std::optional<std::string>{};
  auto merged = merge_file_text(base, ours, theirs, path, true);
  if (!merged)
    return std::move(merged.error());
  return std::optional<std::string>{std::move(merged->second)};
}

caf::expected<std::optional<std::string>> merge_milestone_text(const std::string& base,
                                                               const std::string& ours,
                                                               const std::string& theirs,
                                                               const std::string& path) {
  if (ours == theirs || base == theirs)
    return std::optional<std::string>{ours};
  if (base == ours)
    return std::optional<std::string>{theirs};
  auto o = parse_front(ours, path);
  auto t = parse_front(theirs, path);
  if (!o || !t)
    return merge_lines_keeping_both(base, ours, theirs, path);
  auto b = parse_front(base, path);
  YAML::Node base_node = b ? b->node : YAML::Node(YAML::NodeType::Map);
  std::string base_yaml = b ? b->fm.yaml : std::string{};
  std::string base_body = b ? b->fm.body : std::string{};
  auto body = merge_lines_keeping_both(base_body, o->fm.body, t->fm.body, path);
  if (!body)
    return std::move(body.error());
  if (!*body)
    return std::optional<std::string>{};
  auto merged = merge_map(base_node, o->node, t->node);
  std::string yaml;
  if (same_node(merged, o->node)) {
    yaml = o->fm.yaml;
  } else if (same_node(merged, t->node)) {
    yaml = t->fm.yaml;
  } else {
    // Keep the user's layout and comments when a plain line merge gives the same values.
    auto lines = merge_file_text(base_yaml, o->fm.yaml, t->fm.yaml, path, false);
    if (!lines)
      return std::move(lines.error());
    bool kept = false;
    if (lines->first) {
      try {
        kept = same_node(YAML::Load(lines->second), merged);
      } catch (const std::exception&) {
        kept = false;
      }
    }
    if (kept) {
      yaml = std::move(lines->second);
    } else {
      YAML::Emitter emit;
      emit << merged;
      yaml = std::string{emit.c_str()} + "\n";
    }
  }
  return std::optional<std::string>{compose(yaml, **body)};
}

} // namespace sf::io
