#include "config/agents_block.hpp"

#include "config/agent_limit_values.hpp"
#include "config/cost.hpp"
#include "config/escape.hpp"
#include "config/yaml_input.hpp"
#include "messages/error.hpp"

#include <cstdlib>
#include <optional>

namespace sf {

namespace {

bool is_null(const YAML::Node& n) {
  return !n.IsDefined() || n.IsNull();
}

/// One value under `agents:`: its dotted key and where it is, for messages.
struct value_at {
  const agents_block_source& src;
  std::string key;  ///< `agents.profiles.claude.model`.
  std::string name; ///< Its own key in its map: `model`.
  YAML::Node node;  ///< A copy: iteration hands out temporaries (copies share the tree).
  std::size_t line;

  caf::error fail(const std::string& allowed) const {
    return make_error(ec::invalid_input, src.path + ":" + std::to_string(line) + ": " + key + ": " +
                                             describe_value(node) +
                                             " is not allowed; allowed: " + allowed);
  }
};

/// The entries of a map under `agents:`, each with its line; a key that is not plain text is
/// an error, a repeated key too (yaml-cpp would keep the first silently).
caf::expected<std::vector<value_at>> entries(const value_at& map) {
  std::vector<value_at> out;
  if (is_null(map.node))
    return out;
  if (!map.node.IsMap())
    return map.fail("a map");
  for (const auto& kv : map.node) {
    auto line = line_of(kv.first, map.src.first_line, map.line);
    if (!kv.first.IsScalar())
      return make_error(ec::invalid_input, map.src.path + ":" + std::to_string(line) + ": " +
                                               map.key + ": a key must be a plain name");
    auto key = map.key + "." + escape_text(kv.first.Scalar());
    for (const auto& seen : out)
      if (seen.key == key)
        return make_error(ec::invalid_input, map.src.path + ":" + std::to_string(line) + ": " +
                                                 key + " appears twice; keep one");
    out.push_back({map.src, std::move(key), kv.first.Scalar(), kv.second,
                   line_of(kv.second, map.src.first_line, line)});
  }
  return out;
}

void warn_unknown(const value_at& v, const std::string& known) {
  v.src.warnings.push_back(v.src.path + ":" + std::to_string(v.line) + ": " + v.key +
                           " is not a known key and is ignored; known: " + known);
}

caf::error get_text(const value_at& v, std::string& out) {
  if (is_null(v.node)) {
    out.clear();
    return {};
  }
  if (!v.node.IsScalar())
    return v.fail("a string");
  out = v.node.Scalar();
  return {};
}

caf::error get_words(const value_at& v, std::vector<std::string>& out) {
  out.clear();
  if (is_null(v.node))
    return {};
  if (!v.node.IsSequence())
    return v.fail("a list of strings such as [\"--max-turns\", \"40\"]");
  for (const auto& item : v.node) {
    if (!item.IsScalar())
      return v.fail("a list of strings, each entry text");
    out.push_back(item.Scalar());
  }
  return {};
}

/// A profile name: what an `agent:` unit writes, so plain enough to type and to show.
bool valid_profile_name(const std::string& s) {
  if (s.empty() || s.size() > 64 || s == "default")
    return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
          c == '-' || c == '.'))
      return false;
  return true;
}

caf::error apply_profile(agent_profile& p, const value_at& v) {
  auto fields = entries(v);
  if (!fields)
    return fields.error();
  for (const auto& f : *fields) {
    const auto& name = f.name;
    caf::error err;
    if (name == "adapter") {
      auto a = f.node.IsScalar() ? parse_agent_adapter(f.node.Scalar()) : std::nullopt;
      if (!a)
        return f.fail("\"claude\", \"codex\", \"aider\", \"generic\"");
      p.adapter = *a;
    } else if (name == "command") {
      err = get_words(f, p.command);
    } else if (name == "model") {
      err = get_text(f, p.model);
    } else if (name == "permission_mode") {
      err = get_text(f, p.permission_mode);
    } else if (name == "args") {
      err = get_words(f, p.extra_args);
    } else if (name == "timeout" || name == "idle_timeout") {
      auto& slot = name == "timeout" ? p.limits.timeout : p.limits.idle_timeout;
      slot = is_null(f.node) ? std::nullopt : limit_seconds(f.node);
      if (!is_null(f.node) && !slot)
        return f.fail(std::string(limit_seconds_allowed) + ", or null for none");
    } else if (name == "max_attempts") {
      p.limits.max_attempts = is_null(f.node) ? std::nullopt : max_attempts_value(f.node);
      if (!is_null(f.node) && !p.limits.max_attempts)
        return f.fail(max_attempts_allowed);
    } else {
      warn_unknown(f, "adapter, command, model, permission_mode, args, timeout, idle_timeout, "
                      "max_attempts");
      continue;
    }
    if (err)
      return err;
    f.src.origin[f.key] = f.src.path;
  }
  return {};
}

caf::error apply_profiles(agent_settings& into, const value_at& v) {
  auto profiles = entries(v);
  if (!profiles)
    return profiles.error();
  for (const auto& p : *profiles) {
    const auto& name = p.name;
    if (!valid_profile_name(name))
      return make_error(ec::invalid_input,
                        p.src.path + ":" + std::to_string(p.line) + ": " + v.key + ": \"" +
                            escape_text(name) +
                            "\" is not allowed as a profile name; use letters, digits, '_', "
                            "'-' or '.' (not \"default\", which names the default profile)");
    if (!is_null(p.node) && !p.node.IsMap())
      return p.fail("a map of adapter, command, model, ... (or {} for the defaults)");
    auto [it, fresh] = into.profiles.try_emplace(name);
    if (fresh) {
      it->second.name = name;
      // A profile named like an adapter is that adapter unless it says otherwise.
      it->second.adapter = parse_agent_adapter(name).value_or(agent_adapter::generic);
    }
    if (auto err = apply_profile(it->second, p))
      return err;
    p.src.origin[p.key] = p.src.path;
  }
  return {};
}

/// USD per million tokens: the same range as every other amount of money.
caf::error get_price(const value_at& v, double& out) {
  if (is_plain_scalar(v.node) && matches_number(v.node.Scalar())) {
    out = std::strtod(v.node.Scalar().c_str(), nullptr);
    if (valid_cost(out))
      return {};
  }
  return v.fail(std::string("a number of USD per million tokens from 0 to ") + max_cost_text);
}

caf::error apply_prices(agent_settings& into, const value_at& v) {
  auto models = entries(v);
  if (!models)
    return models.error();
  for (const auto& m : *models) {
    const auto& model = m.name;
    if (is_null(m.node)) {
      into.prices.erase(model); // A project can drop a price its home file set.
      m.src.origin[m.key] = m.src.path;
      continue;
    }
    if (!m.node.IsMap())
      return m.fail("a map such as {input: 1.25, output: 10, cached: 0.125}");
    auto fields = entries(m);
    if (!fields)
      return fields.error();
    token_price price;
    bool input = false;
    bool output = false;
    bool cached = false;
    for (const auto& f : *fields) {
      const auto& name = f.name;
      if (name != "input" && name != "output" && name != "cached") {
        warn_unknown(f, "input, output, cached");
        continue;
      }
      auto& slot = name == "input" ? price.input : name == "output" ? price.output : price.cached;
      if (auto err = get_price(f, slot))
        return err;
      (name == "input" ? input : name == "output" ? output : cached) = true;
    }
    if (!input || !output)
      return make_error(ec::invalid_input,
                        m.src.path + ":" + std::to_string(m.line) + ": " + m.key + " has no " +
                            (input ? "output" : "input") +
                            " price; give both input: and output: (USD per million tokens)");
    // Unknown cache pricing is charged as fresh input: a budget errs on the safe side.
    if (!cached)
      price.cached = price.input;
    into.prices[model] = price;
    m.src.origin[m.key] = m.src.path;
  }
  return {};
}

} // namespace

caf::error apply_agents_block(agent_settings& into, const YAML::Node& block, std::size_t line,
                              const agents_block_source& src) {
  value_at top{src, "agents", "agents", block, line_of(block, src.first_line, line)};
  auto keys = entries(top);
  if (!keys)
    return keys.error();
  for (const auto& k : *keys) {
    const auto& name = k.name;
    caf::error err;
    if (name == "default") {
      err = get_text(k, into.default_profile);
    } else if (name == "profiles") {
      err = apply_profiles(into, k);
    } else if (name == "prices") {
      err = apply_prices(into, k);
    } else if (name == "commit_subject") {
      err = get_text(k, into.commit_subject);
    } else {
      warn_unknown(k, "default, profiles, prices, commit_subject");
      continue;
    }
    if (err)
      return err;
    src.origin[k.key] = src.path;
  }
  return {};
}

std::string profile_names(const agent_settings& a) {
  std::string out;
  for (const auto& [name, p] : a.profiles)
    out += (out.empty() ? "" : ", ") + name;
  return out.empty() ? "none" : out;
}

caf::error validate_agents(const agent_settings& a,
                           const std::map<std::string, std::string>& origin) {
  if (a.default_profile.empty() || a.profiles.count(a.default_profile) != 0)
    return {};
  auto from = origin.find("agents.default");
  return make_error(ec::invalid_input,
                    (from == origin.end() ? std::string("the preferences") : from->second) +
                        ": agents.default is \"" + escape_text(a.default_profile) +
                        "\", which is not a profile; add it under agents.profiles or use one "
                        "of: " +
                        profile_names(a));
}

} // namespace sf
