#include "worker/unit_env.hpp"

#include <algorithm>
#include <utility>

namespace sf::worker {

namespace {

void unset_var(std::vector<std::string>& env, const std::string& key) {
  auto prefix = key + "=";
  auto named = [&](const std::string& e) { return e.compare(0, prefix.size(), prefix) == 0; };
  env.erase(std::remove_if(env.begin(), env.end(), named), env.end());
}

void set_var(std::vector<std::string>& env, const std::string& key, const std::string& value) {
  unset_var(env, key);
  env.push_back(key + "=" + value);
}

} // namespace

std::vector<std::string> with_unit_vars(std::vector<std::string> env, const unit_vars& v) {
  set_var(env, "SF_UNIT_ID", v.unit_id);
  set_var(env, "SF_SLICE_ID", v.slice_id);
  set_var(env, "SF_MILESTONE_FILE", v.milestone_file);
  if (!v.prompt_file.empty())
    set_var(env, "SF_PROMPT_FILE", v.prompt_file);
  else
    unset_var(env, "SF_PROMPT_FILE"); // Not written: an inherited path would be another's.
  if (v.prompt.size() <= max_prompt_env_bytes) {
    set_var(env, "SF_PROMPT", v.prompt);
  } else {
    unset_var(env, "SF_PROMPT"); // An inherited one would be some other unit's text.
  }
  return env;
}

} // namespace sf::worker
