#include "cli/eligibility_text.hpp"

#include "cli/one_line.hpp"

#include <algorithm>
#include <string_view>

namespace sf::cli {

namespace {

/// `text` as a Markdown code span that no backtick inside it can close early (CommonMark: the
/// fence must be longer than any backtick run in the content, padded when it touches a backtick).
std::string code_span(std::string_view text) {
  std::size_t longest = 0;
  std::size_t run = 0;
  for (char c : text) {
    run = c == '`' ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  std::string fence(longest + 1, '`');
  bool pad = !text.empty() && (text.front() == '`' || text.back() == '`');
  std::string out = fence;
  if (pad)
    out += ' ';
  out += one_line(text);
  if (pad)
    out += ' ';
  out += fence;
  return out;
}

/// One "## heading (n)" section of milestones with their reasons.
void entry_section(std::string& out, std::string_view heading,
                   const std::vector<eligibility_entry>& entries) {
  out += "## ";
  out += heading;
  out += " (" + std::to_string(entries.size()) + ")\n\n";
  if (entries.empty())
    out += "- none\n";
  for (const auto& e : entries) {
    out += "- **" + one_line(e.id) + "**";
    if (!e.title.empty())
      out += " — " + one_line(e.title);
    out += "\n";
    out += "  " + one_line(e.reason) + "\n";
  }
}

nlohmann::json entries_json(const std::vector<eligibility_entry>& entries) {
  auto arr = nlohmann::json::array();
  for (const auto& e : entries)
    arr.push_back({{"id", e.id}, {"title", e.title}, {"reason", e.reason}});
  return arr;
}

} // namespace

std::string render_eligibility_markdown(const eligibility_report& r) {
  std::string out = "# Parallel Eligibility Report\n\n";
  entry_section(out, "Eligible for Parallel Execution", r.eligible);
  out += "\n";
  entry_section(out, "Ineligible", r.ineligible);
  const auto total = r.overlaps.size() + r.overlaps_omitted;
  if (total == 0)
    return out;
  out += "\n## File Overlap Warnings (" + std::to_string(total) + ")\n\n";
  for (const auto& o : r.overlaps) {
    out += "- **" + one_line(o.a) + "** <-> **" + one_line(o.b) + "** — " +
           std::to_string(o.files.size()) + " shared file(s):\n";
    for (const auto& f : o.files)
      out += "  - " + code_span(f) + "\n";
  }
  if (r.overlaps_omitted > 0)
    out += "- ... and " + std::to_string(r.overlaps_omitted) +
           " more overlapping pair(s), not listed.\n";
  return out;
}

nlohmann::json eligibility_to_json(const eligibility_report& r) {
  auto overlaps = nlohmann::json::array();
  for (const auto& o : r.overlaps)
    overlaps.push_back({{"a", o.a}, {"b", o.b}, {"files", o.files}});
  return {{"eligible", entries_json(r.eligible)},
          {"ineligible", entries_json(r.ineligible)},
          {"overlaps", std::move(overlaps)},
          {"overlapsOmitted", r.overlaps_omitted}};
}

} // namespace sf::cli
