#include "cli/completion_words.hpp"
#include "cli/shell_completion.hpp"

#include <sstream>

namespace sf::cli {

using namespace completion;

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
