#include "cli/completion_words.hpp"

#include <algorithm>

namespace sf::cli::completion {

std::string names_of(const std::vector<option_outline>& options, const char* sep) {
  std::string out;
  for (const auto& o : options)
    for (const auto& n : o.names)
      out += (out.empty() ? "" : sep) + n;
  return out;
}

std::string joined(const std::vector<std::string>& words, const char* sep) {
  std::string out;
  for (const auto& w : words)
    out += (out.empty() ? "" : sep) + w;
  return out;
}

std::vector<option_outline> after_verb(const std::vector<option_outline>& global) {
  std::vector<option_outline> out;
  for (const auto& o : global)
    if (std::find(o.names.begin(), o.names.end(), "--help") == o.names.end() &&
        std::find(o.names.begin(), o.names.end(), "--version") == o.names.end())
      out.push_back(o);
  return out;
}

std::vector<std::string> verb_names(const cli_outline& cli) {
  std::vector<std::string> out;
  for (const auto& v : cli.verbs)
    out.push_back(v.name);
  return out;
}

bool takes_file(const option_outline& o) {
  return o.value.find("FILE") != std::string::npos || o.value == "TEXT";
}

word_kind kind_of(const std::vector<option_outline>& positionals) {
  if (positionals.empty())
    return word_kind::file;
  if (positionals.front().value == "MID")
    return word_kind::milestone;
  return positionals.front().value == "VERB" ? word_kind::verb : word_kind::file;
}

} // namespace sf::cli::completion
