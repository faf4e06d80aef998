// Claude Code `-p --output-format stream-json --verbose` (AGENTS.md section 1).
#include "agents/adapter_streams.hpp"
#include "agents/json_fields.hpp"
#include "agents/json_stream.hpp"
#include "agents/readable_text.hpp"
#include "core/token_counts.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <map>

namespace sf::agents {

namespace {

using nlohmann::json;

// Claude splits input into uncached, cache-written and cache-read; cache writes are billed as
// input, so they count as input here.
agent_usage claude_tokens(const json& usage) {
  agent_usage u;
  u.input = core::add_counts_capped(count_at(usage, "input_tokens"),
                                    count_at(usage, "cache_creation_input_tokens"));
  u.output = count_at(usage, "output_tokens");
  u.cached = count_at(usage, "cache_read_input_tokens");
  return u;
}

// The argument that says what a tool call does, by the input names the built-in tools use.
std::string main_argument(const json& input) {
  for (const char* key : {"command", "file_path", "notebook_path", "path", "pattern", "url",
                          "query", "description", "prompt", "skill"}) {
    auto v = text_at(input, key);
    if (!v.empty())
      return v;
  }
  return {};
}

// Text of a tool_result's content: a string, or text blocks.
std::string result_text(const json& block) {
  auto it = block.find("content");
  if (it == block.end())
    return {};
  if (it->is_string())
    return it->get<std::string>();
  std::string out;
  if (it->is_array())
    for (const auto& part : *it)
      if (auto t = text_at(part, "text"); !t.empty())
        out += (out.empty() ? "" : "\n") + t;
  return out;
}

class claude_stream final : public json_stream {
protected:
  void on_event(const json& ev) override {
    // Older builds minted a new id on resume: the newest one seen is the one to resume.
    if (auto id = text_at(ev, "session_id"); !id.empty())
      report_.session_id = id;
    auto type = text_at(ev, "type");
    if (type == "system")
      on_system(ev);
    else if (type == "assistant")
      on_assistant(child_at(ev, "message"));
    else if (type == "user")
      on_user(child_at(ev, "message"));
    else if (type == "result")
      on_result(ev);
  }

private:
  void on_system(const json& ev) {
    auto subtype = text_at(ev, "subtype");
    if (subtype == "init") {
      if (auto m = text_at(ev, "model"); !m.empty())
        report_.model = m;
      set_activity("started");
      say("[session]", report_.session_id + (report_.model.empty() ? "" : " " + report_.model));
    } else if (subtype == "api_retry") {
      std::string what = "retrying the API (attempt " + std::to_string(count_at(ev, "attempt")) +
                         " of " + std::to_string(count_at(ev, "max_retries"));
      if (auto status = count_at(ev, "error_status"))
        what += ", status " + std::to_string(status);
      if (auto err = text_at(ev, "error"); !err.empty())
        what += ", " + err;
      what += ")";
      set_activity(what);
      report_.retrying = true;
      say("[retry]", what);
    } else if (subtype == "permission_denied") {
      auto tool = text_at(ev, "tool_name");
      if (!tool.empty() && !result_seen_)
        report_.permission_denials.push_back(tool);
      say("[denied]", tool.empty() ? "a tool call" : tool);
    }
  }

  void on_assistant(const json& msg) {
    if (auto m = text_at(msg, "model"); !m.empty())
      report_.model = m;
    count_usage(msg);
    const json& content = child_at(msg, "content");
    if (!content.is_array())
      return;
    for (const auto& block : content) {
      auto kind = text_at(block, "type");
      if (kind == "text") {
        auto text = text_at(block, "text");
        set_activity(text);
        say("[assistant]", text);
      } else if (kind == "thinking") {
        say("[thinking]", text_at(block, "thinking"));
      } else if (kind == "tool_use") {
        auto name = text_at(block, "name");
        auto arg = main_argument(child_at(block, "input"));
        if (name == "Bash") {
          set_activity("bash: " + arg);
          say("[bash]", arg);
        } else {
          set_activity(arg.empty() ? name : name + " " + arg);
          say("[tool]", arg.empty() ? name : name + " " + arg);
        }
      }
    }
  }

  // Each content block tends to come as its own line repeating the message's id and usage:
  // a message counts once, with the last usage it showed.
  void count_usage(const json& msg) {
    if (result_seen_)
      return;
    const json& usage = child_at(msg, "usage");
    if (!usage.is_object())
      return;
    auto id = text_at(msg, "id");
    agent_usage now = claude_tokens(usage);
    agent_usage& before = by_message_[id];
    auto& u = report_.usage;
    u.input = core::add_counts_capped(u.input, now.input - before.input);
    u.output = core::add_counts_capped(u.output, now.output - before.output);
    u.cached = core::add_counts_capped(u.cached, now.cached - before.cached);
    before = now;
  }

  void on_user(const json& msg) {
    const json& content = child_at(msg, "content");
    if (!content.is_array())
      return;
    for (const auto& block : content)
      if (text_at(block, "type") == "tool_result" && flag_at(block, "is_error"))
        say("[tool error]", result_text(block));
  }

  void on_result(const json& ev) {
    result_seen_ = true;
    report_.finished = true;
    report_.outcome = text_at(ev, "subtype");
    report_.is_error = flag_at(ev, "is_error") || report_.outcome.rfind("error", 0) == 0;
    report_.result = text_at(ev, "result");
    const json& usage = child_at(ev, "usage");
    if (usage.is_object()) {
      auto usd = report_.usage.usd;
      report_.usage = claude_tokens(usage);
      report_.usage.usd = usd;
    }
    if (auto usd = usd_at(ev, "total_cost_usd"))
      report_.usage.usd = usd;
    const json& denials = child_at(ev, "permission_denials");
    if (denials.is_array() && !denials.empty()) {
      report_.permission_denials.clear();
      for (const auto& d : denials)
        report_.permission_denials.push_back(text_at(d, "tool_name"));
    }
    if (report_.is_error)
      report_.error = error_text(ev);
    auto summary = report_.is_error ? report_.error : report_.result;
    set_activity((report_.is_error ? "failed: " : "finished: ") + one_line(summary));
    say(report_.is_error ? "[error]" : "[result]",
        report_.is_error ? report_.outcome + ": " + report_.error : report_.result);
    say("[cost]", cost_line());
  }

  std::string error_text(const json& ev) const {
    std::string text;
    const json& errors = child_at(ev, "errors");
    if (errors.is_array())
      for (const auto& e : errors)
        if (e.is_string())
          text += (text.empty() ? "" : "; ") + e.get<std::string>();
    if (text.empty())
      text = report_.result;
    if (text.empty())
      text = report_.outcome;
    return text;
  }

  std::string cost_line() const {
    const auto& u = report_.usage;
    std::string usd = u.usd ? fmt::format("USD {}, ", *u.usd) : "";
    return usd + fmt::format("{} input, {} cached, {} output tokens", u.input, u.cached, u.output);
  }

  std::map<std::string, agent_usage> by_message_;
  bool result_seen_ = false;
};

} // namespace

std::unique_ptr<agent_stream> make_claude_stream() {
  return std::make_unique<claude_stream>();
}

} // namespace sf::agents
