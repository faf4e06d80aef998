#include "cli/event_printer.hpp"

#include "cli/command.hpp"
#include "core/merge_kind.hpp"
#include "core/milestone_state.hpp"
#include "io/files/event_log.hpp"
#include "io/files/status_file.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>
#include <iomanip>
#include <utility>

namespace sf::cli {

event_printer::event_printer(std::ostream& out, bool ndjson)
  : out_(ndjson ? discard_ : out),
    ndjson_(ndjson ? &out : nullptr),
    done_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)),
    confirm_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
}

std::vector<std::string> event_printer::take_confirmations() {
  std::lock_guard<std::mutex> guard{mtx_};
  uint64_t count = 0;
  (void) ::read(confirm_.get(), &count, sizeof count);
  return std::exchange(to_confirm_, {});
}

std::string state_line(const std::string& state, const std::string& text) {
  if (text.empty() || text == state)
    return state;
  // The coordinator's text often opens with the state itself ("complete, queued for merge").
  if (text.rfind(state + ", ", 0) == 0 || text.rfind(state + ": ", 0) == 0 ||
      text.rfind(state + " ", 0) == 0)
    return text;
  return state + ": " + text;
}

std::map<std::string, core::milestone_state> event_printer::final_states() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return states_;
}

run_event event_printer::finish() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return finish_;
}

void event_printer::print(const run_event& ev) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (ndjson_ != nullptr)
    *ndjson_ << io::format_event_line(ev, io::now_ms()) << std::flush;
  if ((ev.kind == event_kind::state_changed || ev.kind == event_kind::completed) &&
      !ev.milestone.empty() && ev.state) {
    states_[ev.milestone] = *ev.state;
    last_progress_.erase(ev.milestone); // A new state (a restart): its progress is news again.
  }
  if (ev.kind == event_kind::finished)
    finish_ = ev;
  std::ostringstream text; // Held back while a question is open (see begin_question).
  auto money = [](double v) {
    std::ostringstream s;
    s << '$' << std::fixed << std::setprecision(2) << v;
    return s.str();
  };
  switch (ev.kind) {
    case event_kind::progress: {
      std::ostringstream line;
      line << "[" << ev.milestone << "] " << ev.completed_units << "/" << ev.total_units
           << " units, " << money(ev.cost) << (ev.text.empty() ? "" : ", " + ev.text) << '\n';
      // Tokens change with every message of an agent; the line only when what it shows does.
      auto& last = last_progress_[ev.milestone];
      if (line.str() != last)
        text << line.str();
      last = line.str();
      break;
    }
    case event_kind::state_changed:
    case event_kind::completed:
      if (ev.state == core::milestone_state::failed)
        any_failed_ = true;
      // A milestone that failed the gate and then merged (its agent fixed it) is no failure.
      if (ev.state == core::milestone_state::merged)
        gate_failed_.erase(ev.milestone);
      else if (ev.state == core::milestone_state::gate_failed)
        gate_failed_.insert(ev.milestone);
      text << "[" << ev.milestone << "] " << state_line(std::string(state_name(ev)), ev.text)
           << '\n';
      break;
    case event_kind::budget:
      if (ev.text.rfind("budget ceiling reached", 0) == 0) {
        budget_ = true;
        text << ev.text << '\n';
      }
      break;
    case event_kind::merge: {
      // A whole milestone's success, or what holds its merge, also arrives as its state change
      // (to "merged", or "complete" with the reason): one line is enough.
      const auto& k = ev.merge;
      if (!(k == core::merge_kind::merged || k == core::merge_kind::waiting ||
            k == core::merge_kind::gate_failed || k == core::merge_kind::halted ||
            (k && core::is_gate_news(*k)) ||
            (k && core::is_obstacle(*k))) ||
          ev.text.rfind("slice ", 0) == 0)
        text << "[" << ev.milestone << "] " << ev.text << '\n';
      // Exit 5 is for conflicts only; a merge that failed outright is a failure (1). An
      // obstacle (the user's changes, a lock, a rebase) is waited out by the queue.
      if (k == core::merge_kind::conflict)
        merge_problem_ = true;
      else if (k == core::merge_kind::failed)
        any_failed_ = true;
      else if (k == core::merge_kind::gate_failed)
        gate_failed_.insert(ev.milestone);
      else if (k == core::merge_kind::push_failed)
        push_failed_ = true;
      else if (k == core::merge_kind::pushed)
        push_failed_ = false;
      break;
    }
    case event_kind::merge_ready: {
      // The state line (complete, awaiting your confirmation) has said it already.
      to_confirm_.push_back(ev.milestone);
      uint64_t one = 1;
      (void) ::write(confirm_.get(), &one, sizeof one);
      break;
    }
    case event_kind::message:
      text << ev.text << '\n';
      break;
    case event_kind::overlap:
      text << "warning: " << ev.text << '\n';
      break;
    case event_kind::needs_attention:
      text << "warning: [" << ev.milestone << "] needs attention: " << ev.text << '\n';
      break;
    case event_kind::finished:
      // "failed": the run could not finish (its coordinator is gone); the text says why.
      if (ev.state == core::milestone_state::failed) {
        text << "error: " << ev.text << '\n';
        any_failed_ = true;
      } else {
        text << ev.text << " (total " << money(ev.cost) << ")\n";
      }
      exit_code_ = budget_                  ? exit_budget_reached
                   : any_failed_            ? exit_failure
                   : merge_problem_         ? exit_merge_conflict
                   : !gate_failed_.empty()  ? exit_gate_failed
                   : push_failed_           ? exit_push_failed
                                            : exit_ok;
      finished_ = true;
      uint64_t one = 1;
      (void) ::write(done_.get(), &one, sizeof one);
      break;
  }
  if (question_open_)
    held_ += text.str();
  else
    out_ << text.str() << std::flush;
}

void event_printer::begin_question() {
  std::lock_guard<std::mutex> guard{mtx_};
  question_open_ = true;
}

void event_printer::end_question() {
  std::lock_guard<std::mutex> guard{mtx_};
  question_open_ = false;
  out_ << std::exchange(held_, {}) << std::flush;
}

event_sink_actor::behavior_type event_sink(event_sink_actor::pointer,
                                           std::shared_ptr<event_printer> printer) {
  return {
    [printer](atom::event, const run_event& ev) { printer->print(ev); },
  };
}

} // namespace sf::cli
