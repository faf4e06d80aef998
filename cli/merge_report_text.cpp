#include "cli/merge_report_text.hpp"

#include <sstream>

namespace sf::cli {

namespace {

// What happens next for an obstacle: a coordinator's queue retries by itself; without one the
// user runs the merge again.
std::string retry_hint(const merge_report& r, const merge_outcome& x) {
  if (r.queue_retries)
    return "the merge goes on by itself once that is done.";
  return "then run `sf-actors merge " + x.milestone + "`.";
}

// A note of the merge's (what it did to a checkout, or why a prediction may change) on its line.
void put_note(std::ostream& out, const merge_outcome& x) {
  if (!x.notes.empty())
    out << "  note: " << x.notes << '\n';
}

} // namespace

std::string render_merge_report(const merge_report& r) {
  std::ostringstream out;
  out << "# Merge Results\n\n";
  if (r.results.empty())
    out << "- nothing to merge: no completed milestone is waiting\n";
  for (const auto& x : r.results) {
    std::string who = "**" + x.milestone + "**" + (x.slice.empty() ? "" : " (" + x.slice + ")");
    if (x.kind == core::merge_kind::merged) {
      out << "- " << who << " — merged successfully" << (x.pushed ? " (pushed)" : "") << '\n';
      put_note(out, x);
      if (!x.push_error.empty())
        out << "  push failed: " << x.push_error << " (the local merge stays)\n";
    } else if (x.kind == core::merge_kind::would_merge) {
      out << "- " << who << " — would merge cleanly\n";
      put_note(out, x);
    } else if (x.kind == core::merge_kind::already_merged) {
      out << "- " << who << " — already merged (nothing to do)\n";
      put_note(out, x);
    } else if (x.kind == core::merge_kind::interrupted) {
      out << "- " << who << " — not merged: " << x.text << '\n';
    } else if (x.kind == core::merge_kind::conflict) {
      out << "- " << who << " — CONFLICT (" << x.files.size() << " file(s)):\n";
      for (const auto& f : x.files)
        out << "  - `" << f << "`\n";
      out << "  Resolve conflicts manually and run `sf-actors merge " << x.milestone
          << "` to retry.\n";
      put_note(out, x);
    } else if (x.kind == core::merge_kind::dirty_checkout) {
      out << "- " << who
          << " — not merged yet: uncommitted changes of yours in the checkout of main are "
             "in the way:\n";
      for (const auto& f : x.files)
        out << "  - `" << f << "`\n";
      out << "  Commit, stash or undo them; " << retry_hint(r, x) << "\n";
    } else if (x.kind == core::merge_kind::waiting) {
      out << "- " << who << " — waiting: " << x.text << '\n';
    } else if (x.kind == core::merge_kind::locked || x.kind == core::merge_kind::blocked) {
      out << "- " << who << " — not merged yet: " << x.text << "; " << retry_hint(r, x) << '\n';
    } else if (x.kind == core::merge_kind::pushing) {
      out << "- " << who << " — pushing: " << x.text << '\n';
    } else if (x.kind == core::merge_kind::pushed) {
      out << "- " << who << " — pushed: " << x.text << '\n';
    } else if (x.kind == core::merge_kind::push_failed) {
      out << "- " << who << " — push failed: " << x.text << " (the local merge stays)\n";
    } else if (x.kind == core::merge_kind::gate_failed) {
      out << "- " << who << " — GATE FAILED: " << x.text << '\n';
    } else if (x.kind == core::merge_kind::gate_running) {
      out << "- " << who << " — in the merge gate: " << x.text << '\n';
    } else if (x.kind == core::merge_kind::gate_passed || x.kind == core::merge_kind::gate_retry) {
      out << "- " << who << " — merge gate: " << x.text << '\n';
    } else if (x.kind == core::merge_kind::would_conflict) {
      out << "- " << who << " — would conflict with " << x.text << " in " << x.files.size()
          << " file(s):\n";
      for (const auto& f : x.files)
        out << "  - `" << f << "`\n";
      put_note(out, x);
    } else {
      out << "- " << who << " — failed: " << x.text << '\n';
    }
  }
  return out.str();
}

} // namespace sf::cli
