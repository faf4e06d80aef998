#include "config/unit_prompt.hpp"

namespace sf {

namespace {

/// `text` without leading blank lines and trailing whitespace.
std::string trimmed(const std::string& text) {
  auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos)
    return {};
  // Keep the first line's indentation: it may be Markdown (code, nested lists).
  first = text.rfind('\n', first);
  first = first == std::string::npos ? 0 : first + 1;
  auto last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

/// `<id>: <title>`, or the id alone when there is no title.
std::string heading(const std::string& id, const std::string& title) {
  return title.empty() ? id : id + ": " + title;
}

} // namespace

std::string build_prompt(const milestone& m, const slice& s, const unit& u) {
  std::string out = "# " + heading(m.id, m.title) + "\n";
  auto add = [&out](const std::string& part) {
    if (!part.empty())
      out += "\n" + part + "\n";
  };
  add(trimmed(m.body));
  add("## Slice " + heading(s.id, s.title));
  add("## Unit " + heading(u.id, u.title));
  add(trimmed(u.prompt));
  std::string closing =
      "---\n"
      "Work in the current directory: it is a git worktree of the project, on the branch "
      "milestone/" +
      m.id +
      ". Do only this unit's part of the milestone. Do not commit: "
      "sf-actors commits your changes when you finish.";
  // A milestone's verify applies to its agent units only; a shell unit has none of its own.
  if (auto verify = u.is_agent() ? m.verify_of(u) : std::string{}; !verify.empty())
    closing += "\nWhen you finish, this command must succeed in the worktree: " + verify;
  add(closing);
  return out;
}

} // namespace sf
