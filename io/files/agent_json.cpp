#include "io/files/agent_json.hpp"

#include <limits>

namespace sf::io {

namespace {

using json = nlohmann::json;

// A count within int64 and >= min; nlohmann keeps large values as unsigned.
bool read_count(const json& v, int64_t min, int64_t max, int64_t& out) {
  if (v.is_number_unsigned()) {
    auto u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(max))
      return false;
    out = static_cast<int64_t>(u);
  } else if (v.is_number_integer()) {
    out = v.get<int64_t>();
  } else {
    return false;
  }
  return out >= min && out <= max;
}

} // namespace

json tokens_to_json(const core::token_counts& t) {
  return {{"input", t.input}, {"output", t.output}, {"cached", t.cached}};
}

std::string tokens_from_json(const json& j, core::token_counts& out) {
  if (!j.is_object())
    return std::string("must be ") + tokens_shape;
  core::token_counts t;
  for (auto [key, field] : {std::pair{"input", &t.input}, std::pair{"output", &t.output},
                            std::pair{"cached", &t.cached}}) {
    auto it = j.find(key);
    if (it != j.end() && !read_count(*it, 0, std::numeric_limits<int64_t>::max(), *field))
      return std::string("member '") + key + "' must be an integer >= 0";
  }
  out = t;
  return {};
}

json agent_to_json(const agent_activity& a) {
  return {{"profile", a.profile},
          {"adapter", a.adapter},
          {"activity", a.activity},
          {"attempt", a.attempt},
          {"maxAttempts", a.max_attempts},
          {"sessionId", a.session_id},
          {"priceMissing", a.price_missing},
          {"needsAttention", a.needs_attention.empty() ? json() : json(a.needs_attention)}};
}

std::string agent_from_json(const json& j, agent_activity& out) {
  if (!j.is_object())
    return "must be an object";
  agent_activity a;
  for (auto [key, field] :
       {std::pair{"profile", &a.profile}, std::pair{"adapter", &a.adapter},
        std::pair{"activity", &a.activity}, std::pair{"sessionId", &a.session_id}}) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null())
      continue;
    if (!it->is_string())
      return std::string("member '") + key + "' must be a string";
    *field = it->get<std::string>();
  }
  for (auto [key, field] :
       {std::pair{"attempt", &a.attempt}, std::pair{"maxAttempts", &a.max_attempts}}) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null())
      continue;
    int64_t v = 0;
    if (!read_count(*it, 1, std::numeric_limits<int>::max(), v))
      return std::string("member '") + key + "' must be an integer >= 1";
    *field = static_cast<int>(v);
  }
  if (auto it = j.find("priceMissing"); it != j.end() && !it->is_null()) {
    if (!it->is_boolean())
      return "member 'priceMissing' must be true or false";
    a.price_missing = it->get<bool>();
  }
  if (auto it = j.find("needsAttention"); it != j.end() && !it->is_null()) {
    if (!it->is_string())
      return "member 'needsAttention' must be a string or null";
    a.needs_attention = it->get<std::string>();
  }
  out = std::move(a);
  return {};
}

agent_activity as_activity(const agent_progress& g) {
  return {g.profile,      g.adapter,    g.activity,      g.attempt,
          g.max_attempts, g.session_id, g.price_missing, g.needs_attention.value_or("")};
}

agent_progress as_progress(agent_activity a) {
  agent_progress g;
  g.profile = std::move(a.profile);
  g.adapter = std::move(a.adapter);
  g.activity = std::move(a.activity);
  g.attempt = a.attempt;
  g.max_attempts = a.max_attempts;
  g.session_id = std::move(a.session_id);
  g.price_missing = a.price_missing;
  if (!a.needs_attention.empty())
    g.needs_attention = std::move(a.needs_attention);
  return g;
}

} // namespace sf::io
