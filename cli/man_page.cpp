#include "cli/man_page.hpp"

#include <sstream>

namespace sf::cli {

namespace {

// Text as roff reads it: backslashes and dashes escaped, no line taken for a request.
std::string roff(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\')
      out += "\\e";
    else if (c == '-')
      out += "\\-";
    else
      out += c;
  }
  if (!out.empty() && (out.front() == '.' || out.front() == '\''))
    out.insert(0, "\\&");
  return out;
}

// "[MID...]" or "<MID>" for a positional argument.
std::string positional_usage(const option_outline& p) {
  std::string word = p.value + (p.repeated ? "..." : "");
  return p.required ? word : "[" + word + "]";
}

void option_entries(std::ostream& out, const std::vector<option_outline>& options) {
  for (const auto& o : options) {
    out << ".TP\n";
    std::string head;
    for (const auto& n : o.names)
      head += (head.empty() ? "" : ", ") + std::string("\\fB") + roff(n) + "\\fR";
    if (!o.value.empty())
      head += " \\fI" + roff(o.value) + "\\fR";
    out << head << '\n' << roff(o.help) << '\n';
  }
}

// The documented exit codes (README, "Exit codes"; cli/command.hpp's exit_code).
const char* const exit_codes[][2] = {
  {"0", "Success."},
  {"1", "Bad input or a failed operation; the one-line message names the file, the field and "
        "the fix."},
  {"2", "Usage error: an unknown command or option, a missing --yes without a terminal."},
  {"3", "Parallel mode is not enabled."},
  {"4", "No milestone is eligible."},
  {"5", "A merge stopped on a conflict."},
  {"6", "The budget ceiling was reached."},
  {"7", "Another coordinator already runs for this project."},
};

} // namespace

std::string man_page(const cli_outline& cli, const std::string& version) {
  std::ostringstream out;
  out << ".\\\" Generated from the command table by `sf-actors generate-docs man`; do not edit.\n"
      << ".TH SF\\-ACTORS 1 \"\" \"" << roff(version) << "\" \"User Commands\"\n"
      << ".SH NAME\n" << roff(cli.name) << " \\- run the milestones of one repository in "
      << "parallel\n"
      << ".SH SYNOPSIS\n.B " << roff(cli.name) << "\n[\\fB\\-C\\fR \\fIdir\\fR] "
      << "[\\fB\\-v\\fR | \\fB\\-q\\fR] \\fIcommand\\fR [\\fIoptions\\fR] [\\fIarguments\\fR]\n"
      << ".SH DESCRIPTION\n" << roff(cli.description) << '\n'
      << ".PP\nThe global options below are accepted before or after the command.\n"
      << ".SH OPTIONS\n";
  option_entries(out, cli.global);
  out << ".SH COMMANDS\n";
  for (const auto& v : cli.verbs) {
    std::string usage = cli.name + " " + v.name + " [options]";
    for (const auto& p : v.positionals)
      usage += " " + positional_usage(p);
    out << ".SS \"" << roff(usage) << "\"\n" << roff(v.help) << '\n';
    option_entries(out, v.positionals);
    option_entries(out, v.options);
  }
  out << ".SH LOG LEVELS\n"
      << "The coordinator writes \\fI.sf/parallel/coordinator.log\\fR at level \\fBinfo\\fR "
         "(each milestone's moves, workers spawned, adopted and ended, merges, warnings). "
         "\\fB\\-v\\fR adds \\fBdebug\\fR lines (every control request), \\fB\\-vv\\fR "
         "\\fBtrace\\fR; \\fB\\-q\\fR keeps only \\fBwarn\\fR and \\fBerror\\fR lines, "
         "\\fB\\-qq\\fR only \\fBerror\\fR. \\fBstart \\-\\-detach\\fR passes the level to "
         "the background coordinator.\n"
      << ".SH EXIT STATUS\n";
  for (const auto& row : exit_codes)
    out << ".TP\n\\fB" << row[0] << "\\fR\n" << roff(row[1]) << '\n';
  out << ".SH FILES\n.TP\n\\fI.sf/PREFERENCES.md\\fR\nThe project's preferences "
         "(\\fI~/.sf/PREFERENCES.md\\fR is read first).\n"
         ".TP\n\\fI.sf/milestones/<MID>/MILESTONE.md\\fR\nThe plan.\n"
         ".TP\n\\fI.sf/parallel/\\fR\nRuntime files: status, signal and log files of the "
         "workers, the coordinator's lock, log and events.\n"
         ".TP\n\\fI.sf/worktrees/<MID>/\\fR\nOne git worktree per milestone.\n"
      << ".SH SEE ALSO\n\\fBgit\\fR(1), \\fBgit\\-worktree\\fR(1)\n";
  return out.str();
}

} // namespace sf::cli
