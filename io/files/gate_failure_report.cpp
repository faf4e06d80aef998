#include "io/files/gate_failure_report.hpp"

#include "core/milestone_id.hpp"
#include "io/files/parallel_dir.hpp"
#include "io/os/safe_file.hpp"

#include <sstream>
#include <vector>

namespace sf::io {

namespace {

// Enough of a compiler's or test runner's last words for an agent to act on, small enough for
// any prompt.
constexpr std::size_t max_tail_bytes = 8 * 1024;

// Lines shown in the one-line note.
constexpr std::size_t note_lines = 5;

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty())
      out.push_back(line);
  return out;
}

} // namespace

std::string gate_failure_note(const gate_failure& f) {
  auto lines = lines_of(f.log_tail);
  std::string tail;
  for (auto i = lines.size() > note_lines ? lines.size() - note_lines : 0; i < lines.size(); ++i)
    tail += (tail.empty() ? "" : " | ") + lines[i];
  return "merge gate `" + f.command + "` " + f.ended + "; main was not moved, and milestone/" +
         f.milestone + " and its worktree are kept: fix it there, commit, and run `sf-actors "
         "merge " + f.milestone + "`" +
         (tail.empty() ? "" : " | last lines of .sf/parallel/gate.log: " + tail);
}

std::string gate_failure_text(const gate_failure& f) {
  auto tail = f.log_tail;
  if (tail.size() > max_tail_bytes) {
    // Cut at a line start, so the first line shown is whole.
    auto from = tail.size() - max_tail_bytes;
    auto nl = tail.find('\n', from);
    tail = nl == std::string::npos ? tail.substr(from) : tail.substr(nl + 1);
  }
  if (!tail.empty() && tail.back() != '\n')
    tail += '\n';
  return "# " + f.milestone + " failed the merge gate\n\n"
         "- command: `" + f.command + "` (run with sh -c in .sf/worktrees/_gate)\n"
         "- result: " + f.ended + "\n"
         "- tested: " + f.tested + "\n\n"
         "Main was not moved. The end of the command's output (all of it is in "
         ".sf/parallel/gate.log):\n\n```\n" + tail + "```\n";
}

caf::error write_gate_failure(const std::string& root, const gate_failure& f) {
  if (!core::valid_milestone_id(f.milestone))
    return invalid_mid_error(f.milestone);
  auto dir = ensure_parallel_dir(root);
  if (!dir)
    return dir.error();
  auto name = f.milestone + ".gate-failure.md";
  // The rename would replace a planted link rather than follow it; refusing says why instead.
  if (auto err = check_regular_or_absent_at(dir->fd.get(), dir->path, name))
    return err;
  // Not fsynced: a report lost to a power cut is written again by the next failure.
  return write_file_replace(dir->fd.get(), dir->path, name, gate_failure_text(f), 0644);
}

} // namespace sf::io
