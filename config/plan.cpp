#include "config/plan.hpp"

#include "config/agent_limit_values.hpp"
#include "config/cost.hpp"
#include "config/escape.hpp"
#include "config/yaml_input.hpp"
#include "core/milestone_id.hpp"
#include "core/name_table.hpp"
#include "core/sf_paths.hpp"
#include "messages/error.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>

namespace sf {

namespace {

// The one name table of milestone_status (the spelling of MILESTONE.md's `status:`).
constexpr core::name_table<milestone_status, 4> status_names = {
  {"pending", "active", "complete", "parked"}};

} // namespace

// Names are literals: the view's data is NUL-terminated.
const char* to_string(milestone_status s) { return status_names.name(s).data(); }

std::optional<milestone_status> parse_milestone_status(std::string_view text) {
  return status_names.parse(text);
}

std::vector<std::string> milestone::files() const {
  std::vector<std::string> out;
  for (const auto& s : slices)
    for (const auto& u : s.units)
      out.insert(out.end(), u.files.begin(), u.files.end());
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::size_t milestone::unit_count() const {
  std::size_t n = 0;
  for (const auto& s : slices)
    n += s.units.size();
  return n;
}

const std::string& milestone::verify_of(const unit& u) const {
  return u.verify.empty() ? verify : u.verify;
}

const milestone* plan::find(std::string_view id) const {
  auto it = std::lower_bound(milestones.begin(), milestones.end(), id,
                             [](const milestone& m, std::string_view x) { return m.id < x; });
  return it != milestones.end() && it->id == id ? &*it : nullptr;
}

namespace {

/// Messages for one MILESTONE.md.
struct context {
  const std::string& path;
  const std::string& id;
  std::size_t first_line;

  std::string at(const YAML::Node& node, std::size_t fallback) const {
    return path + ":" + std::to_string(line_of(node, first_line, fallback));
  }

  caf::error fail(const YAML::Node& node, std::size_t fallback, const std::string& text) const {
    return fail_at(line_of(node, first_line, fallback), text);
  }

  caf::error fail_at(std::size_t line, const std::string& text) const {
    return make_error(ec::invalid_input,
                      path + ":" + std::to_string(line) + ": milestone " + id + ": " + text);
  }
};

bool is_null(const YAML::Node& n) {
  return !n.IsDefined() || n.IsNull();
}

bool blank(const std::string& s) {
  return s.find_first_not_of(" \t\r\n") == std::string::npos;
}

/// Fields of a map, refusing duplicate keys (yaml-cpp would silently keep the first).
caf::expected<std::map<std::string, std::pair<YAML::Node, std::size_t>>>
fields_of(const YAML::Node& map, const context& cx, std::size_t fallback, const std::string& what) {
  std::map<std::string, std::pair<YAML::Node, std::size_t>> out;
  for (const auto& kv : map) {
    auto line = line_of(kv.first, cx.first_line, fallback);
    if (!kv.first.IsScalar())
      return cx.fail(kv.first, line, what + " has a key that is not a plain name");
    if (!out.emplace(kv.first.Scalar(), std::make_pair(kv.second, line)).second)
      return cx.fail(kv.first, line,
                     what + ": key \"" + escape_text(kv.first.Scalar()) +
                         "\" appears twice; keep one");
  }
  return out;
}

/// A required (or optional) scalar text field.
caf::error get_text(const std::map<std::string, std::pair<YAML::Node, std::size_t>>& f,
                    const char* key, bool required, const context& cx, std::size_t fallback,
                    const std::string& what, std::string& out) {
  auto it = f.find(key);
  if (it == f.end() || is_null(it->second.first)) {
    if (required)
      return make_error(ec::invalid_input, cx.path + ":" + std::to_string(fallback) +
                                               ": milestone " + cx.id + ": " + what + " has no " +
                                               key + "; add \"" + key + ": ...\"");
    return {};
  }
  const auto& [node, line] = it->second;
  if (!node.IsScalar())
    return cx.fail(node, line,
                   what + ": " + key + " is " + describe_value(node) + "; it must be text");
  if (required && blank(node.Scalar()))
    return cx.fail(node, line, what + ": " + key + " is empty; give it a value");
  out = node.Scalar();
  return {};
}

/// A list of scalars; null or absent is empty.
caf::error get_list(const std::map<std::string, std::pair<YAML::Node, std::size_t>>& f,
                    const char* key, const context& cx, const std::string& what,
                    std::vector<std::string>& out) {
  auto it = f.find(key);
  if (it == f.end() || is_null(it->second.first))
    return {};
  const auto& [node, line] = it->second;
  if (!node.IsSequence())
    return cx.fail(node, line,
                   what + ": " + key + " is " + describe_value(node) + "; it must be a list");
  for (const auto& item : node) {
    if (!item.IsScalar())
      return cx.fail(item, line,
                     what + ": an entry of " + key + " is " + describe_value(item) +
                         "; each entry must be text");
    out.push_back(item.Scalar());
  }
  return {};
}

/// `slices[i].units[j]`, the path of a unit's fields in messages.
std::string unit_path(std::size_t slice_index, std::size_t unit_index) {
  return "slices[" + std::to_string(slice_index) + "].units[" + std::to_string(unit_index) + "]";
}

/// Present and not null: a key the user wrote a value for.
bool given(const std::map<std::string, std::pair<YAML::Node, std::size_t>>& f, const char* key) {
  auto it = f.find(key);
  return it != f.end() && !is_null(it->second.first);
}

// Keys that only mean something to an agent, and what a shell unit does instead.
constexpr std::pair<const char*, const char*> agent_only_keys[] = {
  {"prompt", "drop it, or replace run: with agent: <profile>"},
  {"verify", "on a shell unit, put the check in the command (run: \"make && make test\")"},
  {"timeout", "on a shell unit, limit the command itself (run: \"timeout 600 make\")"},
  {"idle_timeout", "drop it, or replace run: with agent: <profile>"},
  {"max_attempts", "drop it, or replace run: with agent: <profile>"},
};

/// `timeout:`, `idle_timeout:` and `max_attempts:` of an agent unit.
caf::error parse_limits(const std::map<std::string, std::pair<YAML::Node, std::size_t>>& f,
                        const context& cx, const std::string& what, const std::string& at,
                        agent_limits& out) {
  for (auto [key, slot] : {std::pair{"timeout", &out.timeout},
                           std::pair{"idle_timeout", &out.idle_timeout}}) {
    if (!given(f, key))
      continue;
    const auto& [node, line] = f.at(key);
    *slot = limit_seconds(node);
    if (!*slot)
      return cx.fail(node, line,
                     what + ": " + at + "." + key + ": " + describe_value(node) +
                         " is not allowed; allowed: " + limit_seconds_allowed);
  }
  if (given(f, "max_attempts")) {
    const auto& [node, line] = f.at("max_attempts");
    out.max_attempts = max_attempts_value(node);
    if (!out.max_attempts)
      return cx.fail(node, line,
                     what + ": " + at + ".max_attempts: " + describe_value(node) +
                         " is not allowed; allowed: " + max_attempts_allowed);
  }
  return {};
}

/// The fields that make a unit a shell unit (`run:`) or an agent unit (`agent:` and its own).
caf::error parse_work(const std::map<std::string, std::pair<YAML::Node, std::size_t>>& f,
                      const context& cx, std::size_t line, const std::string& what,
                      const std::string& at, unit& out) {
  bool has_run = given(f, "run");
  bool has_agent = given(f, "agent");
  if (has_run && has_agent)
    return cx.fail(f.at("agent").first, f.at("agent").second,
                   what + ": " + at + " has both run: and agent:; keep run: for a shell command "
                                      "or agent: for a coding agent");
  if (!has_run && !has_agent)
    return cx.fail_at(line,
                   what + ": " + at + " has neither run: nor agent:; add run: (a shell command) "
                                      "or agent: (a profile from .sf/PREFERENCES.md)");
  if (has_run) {
    const auto& [node, rline] = f.at("run");
    if (node.IsScalar() && blank(node.Scalar()))
      return cx.fail(node, rline,
                     what + ": " + at + ".run is empty; add \"run: <shell command>\"");
    if (auto err = get_text(f, "run", true, cx, line, what, out.run))
      return err;
    for (const auto& [key, fix] : agent_only_keys)
      if (given(f, key))
        return cx.fail(f.at(key).first, f.at(key).second,
                       what + ": " + at + "." + key + " is only for agent: units; " + fix);
    return {};
  }
  const auto& [node, aline] = f.at("agent");
  if (node.IsScalar() && blank(node.Scalar()))
    return cx.fail(node, aline,
                   what + ": " + at + ".agent is empty; name a profile from "
                                      ".sf/PREFERENCES.md (agents.profiles), or default");
  if (auto err = get_text(f, "agent", true, cx, line, what, out.agent))
    return err;
  if (auto err = get_text(f, "prompt", false, cx, line, what, out.prompt))
    return err;
  if (auto err = get_text(f, "verify", false, cx, line, what, out.verify))
    return err;
  return parse_limits(f, cx, what, at, out.limits);
}

caf::error parse_unit(const YAML::Node& node, std::size_t fallback, const std::string& slice_id,
                      std::size_t slice_index, std::size_t unit_index, const context& cx,
                      unit& out) {
  auto line = line_of(node, cx.first_line, fallback);
  auto what = "slice " + escape_text(slice_id) + ": a unit";
  if (!node.IsMap())
    return cx.fail(node, line,
                   what + " is " + describe_value(node) +
                       "; it must be a map with id, title, run or agent, and files");
  auto f = fields_of(node, cx, line, what);
  if (!f)
    return f.error();
  if (auto err = get_text(*f, "id", true, cx, line, what, out.id))
    return err;
  what = "slice " + escape_text(slice_id) + ", unit " + escape_text(out.id);
  if (auto err = get_text(*f, "title", false, cx, line, what, out.title))
    return err;
  if (auto err = parse_work(*f, cx, line, what, unit_path(slice_index, unit_index), out))
    return err;
  if (auto err = get_list(*f, "files", cx, what, out.files))
    return err;
  auto cost = f->find("cost");
  if (cost != f->end() && !is_null(cost->second.first)) {
    const auto& [c, cline] = cost->second;
    char* end = nullptr;
    double v = 0;
    bool ok = is_plain_scalar(c) && !c.Scalar().empty();
    if (ok) {
      v = std::strtod(c.Scalar().c_str(), &end);
      ok = *end == '\0' && valid_cost(v);
    }
    if (!ok)
      return cx.fail(c, cline,
                     what + ": cost " + describe_value(c) +
                         " is not allowed; allowed: a number of USD from 0 to " + max_cost_text);
    out.cost = v;
  }
  return {};
}

caf::error parse_slice(const YAML::Node& node, std::size_t fallback, std::size_t index,
                       const context& cx, slice& out) {
  auto line = line_of(node, cx.first_line, fallback);
  if (!node.IsMap())
    return cx.fail(node, line,
                   "a slice is " + describe_value(node) +
                       "; it must be a map with id, title and units");
  auto f = fields_of(node, cx, line, "a slice");
  if (!f)
    return f.error();
  if (auto err = get_text(*f, "id", true, cx, line, "a slice", out.id))
    return err;
  auto what = "slice " + escape_text(out.id);
  if (auto err = get_text(*f, "title", false, cx, line, what, out.title))
    return err;
  auto units = f->find("units");
  if (units == f->end() || is_null(units->second.first))
    return {};
  const auto& [list, uline] = units->second;
  if (!list.IsSequence())
    return cx.fail(list, uline,
                   what + ": units is " + describe_value(list) + "; it must be a list");
  for (const auto& u : list) {
    unit parsed;
    if (auto err = parse_unit(u, uline, out.id, index, out.units.size(), cx, parsed))
      return err;
    out.units.push_back(std::move(parsed));
  }
  return {};
}

caf::error parse_fields(const YAML::Node& root, const context& cx, milestone& m) {
  auto fallback = cx.first_line;
  if (is_null(root))
    return make_error(ec::invalid_input, cx.path + ":" + std::to_string(fallback) + ": milestone " +
                                             cx.id +
                                             ": the front matter is empty; add at least "
                                             "\"title: ...\"");
  if (!root.IsMap())
    return cx.fail(root, fallback,
                   "the front matter is " + describe_value(root) +
                       "; it must be a map of keys such as \"title:\"");
  auto f = fields_of(root, cx, fallback, "the front matter");
  if (!f)
    return f.error();
  std::string declared_id;
  if (auto err = get_text(*f, "id", false, cx, fallback, "the front matter", declared_id))
    return err;
  if (f->count("id") && declared_id != cx.id) {
    const auto& [node, line] = f->at("id");
    return cx.fail(node, line,
                   "id \"" + escape_text(declared_id) + "\" differs from its folder name \"" +
                       cx.id + "\"; make them equal or drop the id field");
  }
  if (auto err = get_text(*f, "title", true, cx, fallback, "the front matter", m.title))
    return err;
  if (auto st = f->find("status"); st != f->end() && !is_null(st->second.first)) {
    const auto& [node, line] = st->second;
    auto parsed = node.IsScalar() ? parse_milestone_status(node.Scalar()) : std::nullopt;
    if (!parsed)
      return cx.fail(node, line,
                     "status " + describe_value(node) +
                         " is not allowed; allowed: \"pending\", \"active\", "
                         "\"complete\", \"parked\"");
    m.status = *parsed;
  }
  if (auto err = get_text(*f, "verify", false, cx, fallback, "the front matter", m.verify))
    return err;
  if (auto err = get_list(*f, "dependsOn", cx, "the front matter", m.depends_on))
    return err;
  for (const auto& dep : m.depends_on)
    if (!core::valid_milestone_id(dep)) {
      const auto& [node, line] = f->at("dependsOn");
      return cx.fail(node, line,
                     "dependsOn entry " + core::not_a_milestone_id(escape_text(dep)));
    }
  if (auto sl = f->find("slices"); sl != f->end() && !is_null(sl->second.first)) {
    const auto& [list, line] = sl->second;
    if (!list.IsSequence())
      return cx.fail(list, line, "slices is " + describe_value(list) + "; it must be a list");
    for (const auto& s : list) {
      slice parsed;
      if (auto err = parse_slice(s, line, m.slices.size(), cx, parsed))
        return err;
      m.slices.push_back(std::move(parsed));
    }
  }
  std::set<std::string> slice_ids;
  std::set<std::string> unit_ids;
  for (const auto& s : m.slices) {
    if (!slice_ids.insert(s.id).second)
      return make_error(ec::invalid_input, cx.path + ": milestone " + cx.id + ": slice id \"" +
                                               escape_text(s.id) +
                                               "\" is used twice; give each slice its own id");
    for (const auto& u : s.units)
      if (!unit_ids.insert(u.id).second)
        return make_error(ec::invalid_input,
                          cx.path + ": milestone " + cx.id + ": unit id \"" + escape_text(u.id) +
                              "\" is used twice (again in slice " + escape_text(s.id) +
                              "); give each unit its own id within the milestone");
  }
  return {};
}

std::string lower(std::string_view s) {
  std::string out{s};
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
  return out;
}

struct fd_guard {
  int fd;
  ~fd_guard() {
    if (fd >= 0)
      ::close(fd);
  }
};

/// Names in an open folder, sorted, without "." and "..".
caf::expected<std::vector<std::string>> list_folder(int fd, const std::string& path) {
  // fdopendir takes ownership, so hand it a duplicate and keep ours for openat.
  int dup_fd = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (dup_fd < 0)
    return make_error(ec::io_error, path + ": cannot list: " + std::strerror(errno));
  DIR* dir = ::fdopendir(dup_fd);
  if (dir == nullptr) {
    ::close(dup_fd);
    return make_error(ec::io_error, path + ": cannot list: " + std::strerror(errno));
  }
  std::vector<std::string> names;
  errno = 0;
  while (auto* ent = ::readdir(dir)) {
    std::string name = ent->d_name;
    if (name != "." && name != "..")
      names.push_back(std::move(name));
  }
  int err = errno;
  ::closedir(dir);
  if (err != 0)
    return make_error(ec::io_error, path + ": cannot list: " + std::strerror(err));
  std::sort(names.begin(), names.end());
  return names;
}

} // namespace

caf::expected<milestone> parse_milestone(std::string_view text, const std::string& id,
                                         const std::string& path, const input_limits& limits) {
  try {
    if (!core::valid_milestone_id(id))
      return make_error(ec::invalid_input, path + ": " + core::not_a_milestone_id(escape_text(id)));
    if (text.size() > limits.max_file_bytes)
      return make_error(ec::invalid_input, path + ": the file has " + std::to_string(text.size()) +
                                               " bytes, more than the limit of " +
                                               std::to_string(limits.max_file_bytes) +
                                               "; make it smaller");
    auto fm = split_front_matter(text, path);
    if (!fm)
      return fm.error();
    auto root = load_yaml(fm->yaml, fm->first_line, path, limits);
    if (!root)
      return root.error();
    milestone m;
    m.id = id;
    m.path = path;
    m.body = std::move(fm->body);
    context cx{path, id, fm->first_line};
    if (auto err = parse_fields(*root, cx, m))
      return err;
    return m;
  } catch (const std::exception& e) {
    return make_error(ec::invalid_input, path + ": cannot read the milestone: " + e.what());
  }
}

caf::expected<milestone> load_milestone_file(const std::string& path, const std::string& id,
                                             const input_limits& limits) {
  if (!core::valid_milestone_id(id))
    return make_error(ec::invalid_input, path + ": " + core::not_a_milestone_id(escape_text(id)));
  auto text = read_input_file(path, limits);
  if (!text)
    return text.error();
  return parse_milestone(*text, id, path, limits);
}

caf::error sort_and_validate(plan& p) {
  std::sort(p.milestones.begin(), p.milestones.end(),
            [](const milestone& a, const milestone& b) { return a.id < b.id; });
  return validate_plan(p);
}

caf::expected<plan> load_plan(const std::string& root, const input_limits& limits) {
  auto dir_path = core::milestones_dir(root);
  int fd = ::open(dir_path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT)
      return plan{};
    if (err == ELOOP || err == ENOTDIR)
      return make_error(ec::unsafe_path, dir_path + ": is not a plain folder (a symbolic link or "
                                                    "a file); replace it with a folder");
    return make_error(ec::io_error, dir_path + ": cannot open: " + std::strerror(err));
  }
  fd_guard guard{fd};
  auto names = list_folder(fd, dir_path);
  if (!names)
    return names.error();
  plan out;
  std::map<std::string, std::string> by_lower;
  for (const auto& name : *names) {
    struct stat st {};
    if (::fstatat(fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
      return make_error(ec::io_error, dir_path + ": cannot inspect \"" + escape_text(name) +
                                          "\": " + std::strerror(errno));
    if (S_ISLNK(st.st_mode))
      return make_error(ec::unsafe_path, dir_path + ": \"" + escape_text(name) +
                                             "\" is a symbolic link, which is refused; make it "
                                             "a real folder or remove it");
    if (!S_ISDIR(st.st_mode))
      continue;
    if (!core::valid_milestone_id(name))
      return make_error(ec::invalid_input, dir_path + ": folder " +
                                               core::not_a_milestone_id(escape_text(name)) +
                                               "; rename or remove it");
    auto [it, fresh] = by_lower.emplace(lower(name), name);
    if (!fresh)
      return make_error(ec::invalid_input, dir_path + ": folders \"" + it->second + "\" and \"" +
                                               name +
                                               "\" are the same milestone id up to case; "
                                               "rename or merge one of them");
    auto folder_path = dir_path + "/" + name;
    int sub = ::openat(fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub < 0)
      return make_error(ec::io_error, folder_path + ": cannot open: " + std::strerror(errno));
    fd_guard sub_guard{sub};
    auto file_path = folder_path + "/MILESTONE.md";
    auto text = read_input_file_at(sub, "MILESTONE.md", file_path, limits);
    if (!text) {
      if (code_of(text.error()) == ec::not_found)
        return make_error(ec::invalid_input, folder_path +
                                                 ": has no MILESTONE.md; add one or remove the "
                                                 "folder");
      return text.error();
    }
    auto m = parse_milestone(*text, name, file_path, limits);
    if (!m)
      return m.error();
    out.milestones.push_back(std::move(*m));
  }
  if (auto err = sort_and_validate(out))
    return err;
  return out;
}

caf::error validate_plan(const plan& p) {
  const auto& ms = p.milestones;
  std::map<std::string, std::string> by_lower;
  for (std::size_t i = 0; i < ms.size(); ++i) {
    if (!core::valid_milestone_id(ms[i].id))
      return make_error(ec::invalid_input, "milestone " + core::not_a_milestone_id(escape_text(ms[i].id)));
    auto [it, fresh] = by_lower.emplace(lower(ms[i].id), ms[i].id);
    if (!fresh)
      return make_error(ec::invalid_input, "milestones " + it->second + " and " + ms[i].id +
                                               " have the same id up to case; rename one");
    // plan::find is a binary search: an unsorted plan would make dependencies vanish.
    if (i > 0 && !(ms[i - 1].id < ms[i].id))
      return make_error(ec::invalid_input, "the plan is not sorted by id (" + ms[i - 1].id +
                                               " before " + ms[i].id + "); sort it");
  }
  // Resolve edges to indices once, so the walk below is linear in milestones plus edges.
  std::vector<std::vector<std::size_t>> edges(ms.size());
  for (std::size_t i = 0; i < ms.size(); ++i)
    for (const auto& dep : ms[i].depends_on) {
      const auto* target = p.find(dep);
      if (target == nullptr)
        return make_error(ec::invalid_input,
                          ms[i].path + ": " + ms[i].id + " depends on " + escape_text(dep) +
                              ", which is not in the plan; add .sf/milestones/" + escape_text(dep) +
                              "/MILESTONE.md or remove it from dependsOn");
      edges[i].push_back(static_cast<std::size_t>(target - ms.data()));
    }
  enum class mark : char { white, gray, black };
  std::vector<mark> color(ms.size(), mark::white);
  std::vector<std::pair<std::size_t, std::size_t>> stack; // node, next edge to follow
  for (std::size_t root = 0; root < ms.size(); ++root) {
    if (color[root] != mark::white)
      continue;
    stack.emplace_back(root, 0);
    color[root] = mark::gray;
    while (!stack.empty()) {
      auto& [node, next] = stack.back();
      if (next == edges[node].size()) {
        color[node] = mark::black;
        stack.pop_back();
        continue;
      }
      auto target = edges[node][next++];
      if (color[target] == mark::white) {
        color[target] = mark::gray;
        stack.emplace_back(target, 0);
      } else if (color[target] == mark::gray) {
        // The gray nodes on the stack from `target` upwards form the cycle.
        std::vector<std::size_t> cycle;
        auto from = std::find_if(stack.begin(), stack.end(),
                                 [&](const auto& e) { return e.first == target; });
        for (auto it = from; it != stack.end(); ++it)
          cycle.push_back(it->first);
        // Sorted ids make the smallest index the smallest id: start the text there.
        std::rotate(cycle.begin(), std::min_element(cycle.begin(), cycle.end()), cycle.end());
        std::string text;
        for (auto n : cycle)
          text += ms[n].id + " -> ";
        text += ms[cycle.front()].id;
        return make_error(ec::invalid_input, "dependency cycle: " + text +
                                                 "; remove one of these dependsOn entries (in " +
                                                 ms[cycle.front()].path + " or another of them)");
      }
    }
  }
  return {};
}

} // namespace sf
