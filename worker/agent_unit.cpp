#include "worker/agent_unit.hpp"

#include "agents/agent_launch.hpp"
#include "agents/agent_stream.hpp"
#include "config/cost.hpp"
#include "io/files/prompt_file.hpp"
#include "io/os/capped_log.hpp"
#include "io/os/process.hpp"
#include "io/os/safe_file.hpp"
#include "messages/error.hpp"
#include "worker/unit_runner.hpp"

#include <fmt/format.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sf::worker {

namespace {

using clock_type = std::chrono::steady_clock;

// The tail of a command's output kept for the agent and the report; a verify command that
// prints megabytes must not fill the worker's memory or the next prompt.
constexpr std::size_t verify_tail_bytes = 4096;

void write_all(int fd, const std::string& text) {
  const char* p = text.data();
  std::size_t left = text.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return; // A broken log must not fail the unit; the worker reports its own log errors.
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

io::token_counts counts_of(const agents::agent_usage& u) {
  return {u.input, u.output, u.cached};
}

std::string seconds(std::chrono::milliseconds d) {
  return fmt::format("{:g} s", static_cast<double>(d.count()) / 1000.0);
}

// What the agent is told when it is resumed after a crash of its worker.
std::string continuation_prompt(const std::string& prompt) {
  return "Your previous run on this task was interrupted before it finished. Continue from "
         "where you stopped; the files in the current directory hold what you did so far.\n\n"
         "The task, as given before:\n\n" +
         prompt;
}

// What the agent is told when `verify` failed after its attempt.
std::string verify_failure_prompt(const std::string& verify, const std::string& exit_text,
                                  const std::string& tail, const std::string& prompt,
                                  bool resumed) {
  std::string out = "The verify command `" + verify + "` failed after your work (" + exit_text +
                    "). The end of its output:\n\n```\n" + tail +
                    (tail.empty() || tail.back() == '\n' ? "" : "\n") +
                    "```\n\nFix the cause so that the command passes.";
  if (!resumed)
    out += " The task, as given before:\n\n" + prompt;
  return out + "\n";
}

// Most kept of an agent's raw stream (with its rotated copy): the readable transcript is in
// the worker's log; the raw lines are for debugging an adapter, not an archive.
constexpr std::size_t max_raw_stream_bytes = 16u << 20;

io::token_counts plus(const io::token_counts& a, const io::token_counts& b) {
  return a + b; // Held within int64_t: a lying agent's counts must not wrap around.
}

class attempt_runner {
public:
  explicit attempt_runner(const agent_unit_request& req) : req_(req) {}

  caf::expected<agent_unit_result> run() {
    const auto& profile = *req_.profile;
    const int max_attempts = std::max(1, req_.limits.max_attempts.value_or(1));
    const auto deadline = req_.limits.timeout ? clock_type::now() + *req_.limits.timeout
                                              : clock_type::time_point::max();
    std::string session;
    agents::agent_usage snapshot;
    int attempt = 1;
    bool resume = false;
    std::string prompt_text = req_.prompt;
    std::string prompt_file = req_.prompt_file;
    if (req_.resume) {
      session = req_.resume->session_id;
      snapshot = req_.resume->snapshot;
      attempt = std::min(max_attempts, std::max(1, req_.resume->attempt));
      resume = can_resume(session);
      auto told = req_.resume_prompt.empty() ? continuation_prompt(req_.prompt) : req_.resume_prompt;
      if (resume && !use_prompt(told, prompt_text, prompt_file))
        resume = false;
      if (!resume) {
        prompt_text = req_.prompt;
        prompt_file = req_.prompt_file;
      }
    }
    for (;; ++attempt) {
      agent_attempt att;
      att.number = attempt;
      att.started_at = io::now_ms();
      agents::launch_request lr;
      lr.prompt_file = prompt_file;
      lr.prompt_text = prompt_text;
      lr.worktree = req_.worktree;
      lr.resume = resume;
      lr.session_id = session;
      if (!resume && profile.adapter == agent_adapter::claude) {
        // Picked here, recorded before the agent starts: a crash at any moment can resume it.
        lr.session_id = agents::make_session_uuid();
        session = lr.session_id;
        snapshot = {};
      } else if (!resume) {
        session.clear();
        snapshot = {};
      }
      record_session(session, attempt, snapshot);
      auto line = agents::build_launch(profile, lr);
      if (!line)
        return finish(agent_end::failed, describe(line.error()));
      auto ran = run_agent(*line, prompt_file, att, attempt, max_attempts, deadline, session,
                           snapshot);
      if (!ran)
        return ran.error();
      if (ran->end == agent_end::failed && resume && !fell_back_ && lost_session(ran->reason)) {
        // The agent no longer knows the session (its store was cleaned, or the run died before
        // the session was saved): the attempt starts over, once, with the unit's own prompt.
        fell_back_ = true;
        resume = false;
        prompt_text = req_.prompt;
        prompt_file = req_.prompt_file;
        if (!use_prompt(req_.prompt, prompt_text, prompt_file))
          return finish(agent_end::failed, ran->reason);
        --attempt;
        continue;
      }
      if (ran->end) {
        result_.agent_failed = *ran->end == agent_end::failed || *ran->end == agent_end::timed_out;
        return finish(*ran->end, ran->reason);
      }
      summary_ = ran->summary;
      if (req_.verify.empty()) {
        att.outcome = "done";
        keep(att);
        return finish(agent_end::done, "");
      }
      auto verified = run_verify(deadline);
      if (!verified)
        return verified.error();
      if (verified->end) {
        att.outcome = "stopped during verify";
        keep(att);
        return finish(*verified->end, verified->reason);
      }
      att.outcome = verified->passed ? "done" : "verify failed (" + verified->exit_text + ")";
      keep(att);
      if (verified->passed)
        return finish(agent_end::done, "");
      if (attempt >= max_attempts)
        return finish(agent_end::failed,
                      fmt::format("verify `{}` still failed after {} attempt{} ({})",
                                  req_.verify, attempt, attempt == 1 ? "" : "s",
                                  verified->exit_text));
      resume = can_resume(session);
      auto text = verify_failure_prompt(req_.verify, verified->exit_text, verified->tail,
                                        req_.prompt, resume);
      if (!use_prompt(text, prompt_text, prompt_file))
        return finish(agent_end::failed, "cannot write the prompt of attempt " +
                                            std::to_string(attempt + 1) + ": " + side_error_);
    }
  }

private:
  struct agent_outcome {
    std::optional<agent_end> end; // Set when the unit ends here.
    std::string reason;
    std::string summary;
  };

  struct verify_outcome {
    std::optional<agent_end> end;
    std::string reason;
    bool passed = false;
    std::string exit_text;
    std::string tail;
  };

  // What Claude Code and Codex print when asked to resume a session they do not have.
  static bool lost_session(const std::string& reason) {
    return reason.find("No conversation found with session ID") != std::string::npos ||
           reason.find("no rollout found for thread id") != std::string::npos;
  }

  bool can_resume(const std::string& session) const {
    const auto a = req_.profile->adapter;
    return agents::supports_resume(a) && (a == agent_adapter::aider || !session.empty());
  }

  // Points the next launch at `text`: the unit's prompt file holds what this attempt is told.
  bool use_prompt(const std::string& text, std::string& prompt_text, std::string& prompt_file) {
    auto path = io::write_prompt_file(req_.root, req_.milestone, text);
    if (!path) {
      side_error_ = describe(path.error());
      return false;
    }
    prompt_text = text;
    prompt_file = *path;
    return true;
  }

  void record_session(const std::string& session, int attempt,
                      const agents::agent_usage& snapshot) {
    if (req_.on_session)
      req_.on_session({session, attempt, snapshot});
  }

  double spent_before() const {
    double sum = 0;
    for (const auto& a : result_.attempts)
      sum = add_costs_capped(sum, a.cost);
    return sum;
  }

  io::token_counts tokens_before() const {
    io::token_counts sum;
    for (const auto& a : result_.attempts)
      sum = plus(sum, a.tokens);
    return sum;
  }

  // This attempt's usage: Codex reports its thread's running total, so a resumed thread's own
  // spend is the growth since the snapshot taken when it was last seen.
  agents::agent_usage own_usage(const agents::stream_report& rep, const std::string& session,
                                const agents::agent_usage& snapshot) const {
    if (req_.profile->adapter == agent_adapter::codex && !session.empty() &&
        rep.session_id == session)
      return agents::usage_since(rep.usage, snapshot);
    return rep.usage;
  }

  std::string model_of(const agents::stream_report& rep) const {
    return req_.profile->model.empty() ? rep.model : req_.profile->model;
  }

  void price(agent_attempt& att, const agents::agent_usage& usage,
             const agents::stream_report& rep) const {
    att.tokens = counts_of(usage);
    auto usd = agents::cost_usd(usage, model_of(rep), *req_.prices);
    att.cost = usd ? std::min(*usd, max_cost_usd) : 0.0;
    // Claude tells its USD only in its result: until then, unpriced tokens are not missing.
    const bool usd_to_come = req_.profile->adapter == agent_adapter::claude && !rep.finished;
    att.price_missing = !usd && !usd_to_come &&
                        (usage.input > 0 || usage.output > 0 || usage.cached > 0);
  }

  caf::expected<agent_outcome> run_agent(const agents::launch_line& line,
                                         const std::string& prompt_file, agent_attempt& att,
                                         int attempt, int max_attempts,
                                         clock_type::time_point deadline,
                                         std::string& session, agents::agent_usage& snapshot) {
    agent_outcome out;
    io::unique_fd input;
    if (line.stdin_is_prompt) {
      auto fd = io::open_regular(prompt_file, O_RDONLY);
      if (!fd)
        return finish_outcome(out, agent_end::failed, describe(fd.error()));
      input = std::move(*fd);
    }
    std::optional<io::capped_log> raw;
    if (!req_.raw_log_path.empty())
      raw.emplace(req_.raw_log_path, max_raw_stream_bytes);
    auto stream = agents::make_agent_stream(req_.profile->adapter);
    stream->on_transcript([this](const std::string& l) { write_all(req_.transcript_fd, l + "\n"); });
    io::agent_progress progress;
    progress.profile = req_.profile->name;
    progress.adapter = to_string(req_.profile->adapter);
    progress.attempt = attempt;
    progress.max_attempts = max_attempts;
    progress.session_id = session;
    const double before = spent_before();
    const auto tokens_so_far = tokens_before();
    double told_cost = -1;
    auto current = [&] {
      agent_attempt now = att;
      price(now, own_usage(stream->report(), session, snapshot), stream->report());
      return now;
    };
    auto tell = [&] {
      auto now = current();
      const auto& rep = stream->report();
      progress.activity = rep.retrying ? "waiting: the API is being retried" : rep.activity;
      if (!rep.session_id.empty() && rep.session_id != progress.session_id) {
        progress.session_id = rep.session_id;
        if (rep.session_id != session) {
          // Codex names its thread only in its stream: record it as soon as it is seen.
          session = rep.session_id;
          snapshot = {};
          record_session(session, attempt, snapshot);
        }
      }
      progress.price_missing = now.price_missing;
      if (req_.on_progress)
        req_.on_progress(progress, add_costs_capped(before, now.cost),
                         plus(tokens_so_far, now.tokens));
      return now;
    };
    unit_request ur;
    ur.argv = line.argv;
    ur.cwd = line.cwd.empty() ? req_.worktree : line.cwd;
    ur.env = agents::launch_environment(line, req_.env);
    ur.input_fd = input ? input.get() : -1;
    ur.copy_fd = devnull(); // The raw stream goes to its capped file, the transcript to the log.
    ur.stop_fd = req_.stop_fd;
    ur.heartbeat = req_.heartbeat;
    ur.kill_grace = req_.kill_grace;
    ur.on_heartbeat = [&] { (void) tell(); };
    // A new activity is told at once (at most four times a second), not at the next heartbeat.
    auto told_at = clock_type::now();
    ur.on_output = [&](std::string_view chunk) {
      if (raw)
        raw->append(chunk.data(), chunk.size());
      stream->feed(chunk);
      const auto& rep = stream->report();
      if ((rep.activity != progress.activity || rep.session_id != progress.session_id) &&
          clock_type::now() - told_at >= std::chrono::milliseconds(250)) {
        told_at = clock_type::now();
        (void) tell();
      }
    };
    ur.should_end = [&]() -> std::optional<std::string> {
      auto now = current();
      if (now.cost == told_cost || !req_.over_budget)
        return std::nullopt;
      told_cost = now.cost;
      return req_.over_budget(add_costs_capped(before, now.cost));
    };
    if (deadline != clock_type::time_point::max())
      ur.timeout = std::max(std::chrono::milliseconds(1),
                            std::chrono::ceil<std::chrono::milliseconds>(
                                deadline - clock_type::now()));
    if (req_.limits.idle_timeout) {
      ur.idle_timeout = *req_.limits.idle_timeout;
      ur.on_idle = [&](bool idle) {
        if (idle)
          progress.needs_attention = "no output from the agent for " +
                                     seconds(*req_.limits.idle_timeout) + "; it keeps running";
        else
          progress.needs_attention.reset();
        (void) tell();
      };
    }
    auto r = run_unit(ur);
    stream->finish();
    if (raw)
      raw->finish();
    if (!r)
      return r.error();
    const auto& rep = stream->report();
    auto usage = own_usage(rep, session, snapshot);
    price(att, usage, rep);
    att.session_id = rep.session_id.empty() ? session : rep.session_id;
    att.finished_at = io::now_ms();
    if (!rep.session_id.empty()) {
      session = rep.session_id;
      snapshot = rep.usage;
    }
    record_session(session, attempt + 1, snapshot);
    progress.needs_attention.reset();
    if (req_.on_progress)
      req_.on_progress(progress, add_costs_capped(before, att.cost),
                       plus(tokens_so_far, att.tokens));
    auto ended = [&](agent_end how, std::string why) {
      att.outcome = why.empty() ? "stopped" : why;
      keep(att);
      return finish_outcome(out, how, std::move(why));
    };
    if (r->interrupted)
      return ended(agent_end::interrupted, "");
    if (r->ended_by == "timeout")
      return ended(agent_end::timed_out,
                   "unit " + req_.unit_id + " ran past its timeout of " +
                     seconds(*req_.limits.timeout) + " and was stopped");
    if (!r->ended_by.empty())
      return ended(agent_end::budget, r->ended_by);
    if (!r->succeeded() || rep.is_error) {
      std::string why = !rep.error.empty()           ? rep.error
                        : !rep.last_plain_line.empty() ? rep.last_plain_line
                                                      : std::string();
      std::string how = r->succeeded() ? "reported an error" : io::describe_exit(r->exit_status);
      return ended(agent_end::failed, "agent `" + req_.profile->name + "` (" + progress.adapter +
                                        ") " + how + (why.empty() ? "" : ": " + why));
    }
    out.summary = rep.result; // The caller keeps the attempt once `verify` has spoken.
    return out;
  }

  caf::expected<verify_outcome> run_verify(clock_type::time_point deadline) {
    verify_outcome out;
    write_all(req_.transcript_fd, "[verify] " + req_.verify + "\n");
    std::string tail;
    unit_request ur;
    ur.command = req_.verify;
    ur.cwd = req_.worktree;
    ur.env = req_.env;
    ur.copy_fd = req_.transcript_fd;
    ur.stop_fd = req_.stop_fd;
    ur.heartbeat = req_.heartbeat;
    ur.kill_grace = req_.kill_grace;
    ur.on_output = [&tail](std::string_view chunk) {
      tail.append(chunk.data(), chunk.size());
      if (tail.size() > 2 * verify_tail_bytes)
        tail.erase(0, tail.size() - verify_tail_bytes);
    };
    if (deadline != clock_type::time_point::max())
      ur.timeout = std::max(std::chrono::milliseconds(1),
                            std::chrono::ceil<std::chrono::milliseconds>(
                                deadline - clock_type::now()));
    auto r = run_unit(ur);
    if (!r)
      return r.error();
    if (tail.size() > verify_tail_bytes)
      tail.erase(0, tail.size() - verify_tail_bytes);
    out.tail = tail;
    if (r->interrupted) {
      out.end = agent_end::interrupted;
      return out;
    }
    if (r->ended_by == "timeout") {
      out.end = agent_end::timed_out;
      out.reason = "unit " + req_.unit_id + " ran past its timeout of " +
                   seconds(*req_.limits.timeout) + " during `verify` and was stopped";
      return out;
    }
    out.passed = r->succeeded();
    out.exit_text = io::describe_exit(r->exit_status);
    return out;
  }

  int devnull() {
    if (!null_)
      null_.reset(::open("/dev/null", O_WRONLY | O_CLOEXEC));
    return null_.get();
  }

  void keep(const agent_attempt& att) {
    result_.attempts.push_back(att);
    if (req_.on_attempt)
      req_.on_attempt(att);
  }

  caf::expected<agent_outcome> finish_outcome(agent_outcome& out, agent_end how,
                                              std::string why) {
    out.end = how;
    out.reason = std::move(why);
    return out;
  }

  agent_unit_result finish(agent_end how, std::string why) {
    result_.end = how;
    result_.reason = std::move(why);
    result_.summary = summary_;
    return result_;
  }

  const agent_unit_request& req_;
  agent_unit_result result_;
  std::string summary_;
  std::string side_error_;
  bool fell_back_ = false; ///< A lost session was started over once already.
  io::unique_fd null_;
};

} // namespace

caf::expected<agent_unit_result> run_agent_unit(const agent_unit_request& req) {
  if (req.profile == nullptr || req.prices == nullptr)
    return make_error(ec::invalid_input, "run_agent_unit: no profile or price table given");
  attempt_runner runner{req};
  return runner.run();
}

agent_limits effective_limits(const agent_limits& unit, const agent_limits& profile) {
  agent_limits out;
  out.timeout = unit.timeout ? unit.timeout : profile.timeout;
  out.idle_timeout = unit.idle_timeout ? unit.idle_timeout : profile.idle_timeout;
  out.max_attempts = unit.max_attempts ? unit.max_attempts : profile.max_attempts;
  if (!out.max_attempts)
    out.max_attempts = 1;
  return out;
}

std::string agent_commit_message(const std::string& subject_template, const std::string& mid,
                                 const std::string& unit_id, const std::string& title,
                                 const std::string& summary) {
  constexpr std::size_t max_subject = 72;
  std::string first;
  for (char c : summary) {
    if (c == '\n' || c == '\r') {
      if (!first.empty())
        break;
      continue;
    }
    first += c;
  }
  const std::pair<const char*, std::string> fields[] = {
    {"{milestone}", mid}, {"{unit}", unit_id}, {"{title}", title},
    {"{summary}", first.empty() ? title : first}};
  std::string subject;
  for (std::size_t i = 0; i < subject_template.size();) {
    bool replaced = false;
    for (const auto& [name, value] : fields)
      if (subject_template.compare(i, std::strlen(name), name) == 0) {
        subject += value;
        i += std::strlen(name);
        replaced = true;
        break;
      }
    if (!replaced)
      subject += subject_template[i++];
  }
  if (subject.size() > max_subject) {
    subject.resize(max_subject - 3);
    // Never cut a UTF-8 sequence in half.
    while (!subject.empty() && (static_cast<unsigned char>(subject.back()) & 0xC0) == 0x80)
      subject.pop_back();
    if (!subject.empty() && (static_cast<unsigned char>(subject.back()) & 0x80) != 0)
      subject.pop_back();
    subject += "...";
  }
  std::string body = "Unit " + unit_id + ": " + title;
  if (!summary.empty())
    body += "\n\n" + summary;
  return subject + "\n\n" + body;
}

} // namespace sf::worker
