#include "cli/completion_words.hpp"
#include "cli/shell_completion.hpp"

#include <sstream>
#include <utility>

namespace sf::cli {

using namespace completion;

namespace {

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

} // namespace sf::cli
