#include "actors/control_server.hpp"

#include "io/files/control_file.hpp"
#include "messages/error.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/sec.hpp>
#include <spdlog/spdlog.h>

namespace sf {

namespace {

using self_ptr = control_server_actor::stateful_pointer<control_server_state>;

void respond(const control_server_state& st, const std::string& id,
             const io::control_response& r) {
  if (auto err = io::write_control_response(st.root, id, r))
    st.log->error("control_server: {}", describe(err));
}

// A request the coordinator did not answer. One that is gone ended its run, and its lock goes
// with it: the asking CLI notices that and acts on the files as without a coordinator, so a
// `stop` racing the end of a run succeeds; nothing is written. Any other failure (a timeout)
// is answered with the reason.
void answer_failure(const control_server_state& st, const std::string& id,
                    const std::string& command, const caf::error& err) {
  if (err == caf::sec::request_receiver_down) {
    st.log->info("control_server: `{}` arrived as the coordinator ended; left to the asking "
                 "command",
                 command);
    return;
  }
  io::control_response r;
  r.lines.push_back("the coordinator did not answer `" + command + "`: " + caf::to_string(err) +
                    "; check .sf/parallel/coordinator.log");
  r.exit_code = 1;
  respond(st, id, r);
}

// Sends one request to the coordinator and answers its file with the reply.
template <class Atom>
void ask(self_ptr self, const io::control_request& req, Atom what) {
  self->request(self->state.coordinator, control_reply_timeout, what, req.milestone)
    .then(
      [self, id = req.id](const command_reply& reply) {
        io::control_response r;
        r.lines = reply.lines;
        r.exit_code = reply.exit_code;
        r.milestones = reply.milestones;
        respond(self->state, id, r);
      },
      [self, id = req.id, command = req.command](const caf::error& err) {
        answer_failure(self->state, id, command, err);
      });
}

void serve(self_ptr self, const io::control_request& req) {
  auto& st = self->state;
  st.log->debug("control_server: request {} `{}`{}{}", req.id, req.command,
                req.milestone.empty() ? "" : " for ", req.milestone);
  if (req.command == "merge") {
    self->request(st.coordinator, merge_reply_timeout, atom::merge_v, req.milestone, req.dry_run)
      .then(
        [self, id = req.id](const merge_report& report) {
          io::control_response r;
          r.exit_code = report.exit_code;
          r.merge = report;
          respond(self->state, id, r);
        },
        [self, id = req.id](const caf::error& err) {
          answer_failure(self->state, id, "merge", err);
        });
  } else if (req.command == "stop") {
    ask(self, req, atom::stop_v);
  } else if (req.command == "pause") {
    ask(self, req, atom::pause_v);
  } else if (req.command == "resume") {
    ask(self, req, atom::resume_v);
  } else {
    io::control_response r;
    r.lines.push_back("unknown control command `" + req.command +
                      "`; use stop, pause, resume or merge");
    r.exit_code = 2;
    respond(st, req.id, r);
  }
}

} // namespace

control_server_actor::behavior_type
control_server(control_server_actor::stateful_pointer<control_server_state> self,
               std::string root, std::shared_ptr<spdlog::logger> log,
               coordinator_actor coordinator) {
  auto& st = self->state;
  st.root = std::move(root);
  st.log = std::move(log);
  st.coordinator = std::move(coordinator);
  return {
    [self](atom::control, const std::vector<std::string>& names) {
      for (const auto& name : names) {
        auto req = io::read_control_request(self->state.root, name);
        if (!req) {
          // The response file of an answered request, or a request already taken.
          if (code_of(req.error()) != ec::not_found)
            self->state.log->warn("control_server: {}", describe(req.error()));
          continue;
        }
        serve(self, *req);
      }
    },
  };
}

} // namespace sf
