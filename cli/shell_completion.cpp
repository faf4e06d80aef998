#include "cli/shell_completion.hpp"

#include <algorithm>
#include <sstream>
#include <utility>

namespace sf::cli {

namespace {

// Every option name, joined by `sep`.
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

// The global options that mean something after a verb: not the program's help and version.
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

// An option whose value is a path (CLI11 names strings TEXT unless told otherwise).
bool takes_file(const option_outline& o) {
  return o.value.find("FILE") != std::string::npos || o.value == "TEXT";
}

// How a positional argument is completed, by the name of its value.
enum class word_kind { milestone, verb, file };

word_kind kind_of(const std::vector<option_outline>& positionals) {
  if (positionals.empty())
    return word_kind::file;
  if (positionals.front().value == "MID")
    return word_kind::milestone;
  return positionals.front().value == "VERB" ? word_kind::verb : word_kind::file;
}

// In single quotes for sh: ' becomes '\''.
std::string sh_single(const std::string& s) {
  std::string out = "'";
  for (char c : s)
    out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

const char* bash_head = R"(# bash completion for sf-actors, generated from its command table by
# `sf-actors generate-docs bash`; do not edit.

# Milestone ids of the project the command line acts on (-C, else the working folder).
_sf_actors_milestones() {
  local root=. i d
  for ((i = 1; i < COMP_CWORD; i++)); do
    [[ ${COMP_WORDS[i]} == -C ]] && root=${COMP_WORDS[i + 1]}
  done
  root=$(cd -- "$root" 2>/dev/null && pwd -P) || return
  while [[ ! -d $root/.sf && $root != / ]]; do root=${root%/*}; root=${root:-/}; done
  for d in "$root"/.sf/milestones/*/; do
    [[ -d $d ]] && d=${d%/} && printf '%s\n' "${d##*/}"
  done
}

_sf_actors() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]} verb= i
  for ((i = 1; i < COMP_CWORD; i++)); do
    case ${COMP_WORDS[i]} in
      -C) ((i++)) ;;
      -*) ;;
      *) verb=${COMP_WORDS[i]}; break ;;
    esac
  done
  if [[ $prev == -C ]]; then
    COMPREPLY=($(compgen -d -- "$cur"))
    return
  fi
  local options words=
  case $verb in
)";

void bash_verb(std::ostream& out, const verb_outline& v, const std::string& global,
               const std::string& verbs) {
  out << "    " << v.name << ")\n";
  out << "      options=" << sh_single(names_of(v.options, " ") + " " + global) << "\n";
  // An option's value: one of its choices, a file, or nothing to offer.
  bool any_value = false;
  for (const auto& o : v.options) {
    if (o.value.empty())
      continue;
    if (!std::exchange(any_value, true))
      out << "      case $prev in\n";
    out << "        " << joined(o.names, "|") << ") ";
    if (!o.choices.empty())
      out << "COMPREPLY=($(compgen -W " << sh_single(joined(o.choices, " ")) << " -- \"$cur\")); ";
    else if (takes_file(o))
      out << "COMPREPLY=($(compgen -f -- \"$cur\")); ";
    out << "return ;;\n";
  }
  if (any_value)
    out << "      esac\n";
  switch (kind_of(v.positionals)) {
    case word_kind::milestone: out << "      words=$(_sf_actors_milestones)\n"; break;
    case word_kind::verb: out << "      words=" << sh_single(verbs) << "\n"; break;
    case word_kind::file:
      if (!v.positionals.empty())
        out << "      [[ $cur != -* ]] && COMPREPLY=($(compgen -f -- \"$cur\")) && return\n";
      break;
  }
  out << "      ;;\n";
}

} // namespace

std::string bash_completion(const cli_outline& cli) {
  std::ostringstream out;
  const auto verbs = joined(verb_names(cli), " ");
  out << bash_head;
  out << "    '')\n      options=" << sh_single(names_of(cli.global, " ")) << "\n      words="
      << sh_single(verbs) << "\n      ;;\n";
  const auto global = names_of(after_verb(cli.global), " ");
  for (const auto& v : cli.verbs)
    bash_verb(out, v, global, verbs);
  out << R"(    *) return ;;
  esac
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$options" -- "$cur"))
  else
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
  fi
}

complete -F _sf_actors sf-actors
)";
  return out.str();
}

namespace {

// For a zsh `_arguments` spec inside single quotes: brackets and colons are its syntax.
std::string zsh_text(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\'')
      out += "'\\''";
    else if (c == '[' || c == ']' || c == ':' || c == '\\')
      out += std::string("\\") + c;
    else
      out += c;
  }
  return out;
}

// One `_arguments` spec per option name: '--format[Output format]:value:(mermaid dot)'.
void zsh_option_specs(std::ostream& out, const std::vector<option_outline>& options,
                      const char* indent) {
  for (const auto& o : options)
    for (const auto& n : o.names) {
      out << indent << "'" << n << "[" << zsh_text(o.help) << "]";
      if (n == "-C")
        out << ":folder:_directories";
      else if (!o.choices.empty())
        out << ":" << zsh_text(o.value) << ":(" << joined(o.choices, " ") << ")";
      else if (takes_file(o))
        out << ":" << zsh_text(o.value) << ":_files";
      else if (!o.value.empty())
        out << ":" << zsh_text(o.value) << ": "; // A number or a name: nothing to offer.
      out << "' \\\n";
    }
}

} // namespace

std::string zsh_completion(const cli_outline& cli) {
  std::ostringstream out;
  out << "#compdef sf-actors\n"
         "# zsh completion for sf-actors, generated from its command table by\n"
         "# `sf-actors generate-docs zsh`; do not edit.\n\n"
         "_sf_actors_milestones() {\n"
         "  local root=${opt_args[-C]:-.}\n"
         "  root=${root:A}\n"
         "  while [[ ! -d $root/.sf && $root != / ]]; do root=${root:h}; done\n"
         "  local -a ids\n"
         "  ids=($root/.sf/milestones/*(N/:t))\n"
         "  _describe -t milestones 'milestone' ids\n"
         "}\n\n"
         "_sf-actors() {\n"
         "  local curcontext=$curcontext state line ret=1\n"
         "  typeset -A opt_args\n"
         "  local -a verbs\n"
         "  verbs=(\n";
  for (const auto& v : cli.verbs)
    out << "    '" << v.name << ":" << zsh_text(v.help) << "'\n";
  out << "  )\n"
         "  _arguments -C \\\n";
  zsh_option_specs(out, cli.global, "    ");
  out << "    '1: :->verb' \\\n"
         "    '*:: :->args' && ret=0\n"
         "  case $state in\n"
         "    verb) _describe -t commands 'sf-actors command' verbs && ret=0 ;;\n"
         "    args)\n"
         "      case $words[1] in\n";
  for (const auto& v : cli.verbs) {
    out << "        " << v.name << ")\n          _arguments \\\n";
    zsh_option_specs(out, v.options, "            ");
    zsh_option_specs(out, after_verb(cli.global), "            ");
    switch (kind_of(v.positionals)) {
      case word_kind::milestone: out << "            '*: :_sf_actors_milestones' \\\n"; break;
      case word_kind::verb:
        out << "            '1: :_describe -t commands command verbs' \\\n";
        break;
      case word_kind::file:
        if (!v.positionals.empty())
          out << "            '*: :_files' \\\n";
        break;
    }
    out << "            && ret=0 ;;\n";
  }
  out << "      esac ;;\n"
         "  esac\n"
         "  return ret\n"
         "}\n\n"
         "_sf-actors \"$@\"\n";
  return out.str();
}

} // namespace sf::cli
