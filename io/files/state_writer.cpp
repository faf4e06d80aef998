#include "io/files/state_writer.hpp"

#include "io/files/event_log.hpp"
#include "io/files/run_file.hpp"
#include "io/files/status_file.hpp"
#include "io/files/worker_registry.hpp"

namespace sf::io {

state_writer::state_writer(std::string root, error_handler on_error)
  : root_(std::move(root)), on_error_(std::move(on_error)) {
  thread_ = std::thread([this] { loop(); });
}

state_writer::~state_writer() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    stopping_ = true;
  }
  work_.notify_one();
  // The loop writes whatever is pending before it sees the stop.
  thread_.join();
}

void state_writer::registry(std::vector<worker_identity> workers) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    registry_ = std::move(workers);
    ++handed_;
    ++registry_handed_;
  }
  work_.notify_one();
}

void state_writer::event(const run_event& ev) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    events_.emplace_back(ev, now_ms());
    ++handed_;
  }
  work_.notify_one();
}

void state_writer::run(run_status status, int64_t pid) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    run_.emplace(std::move(status), pid);
    ++handed_;
  }
  work_.notify_one();
}

void state_writer::wait_registry() {
  std::unique_lock<std::mutex> lock{mtx_};
  auto target = registry_handed_;
  done_.wait(lock, [&] { return registry_written_ >= target; });
}

void state_writer::flush() {
  std::unique_lock<std::mutex> lock{mtx_};
  auto target = handed_;
  done_.wait(lock, [&] { return written_ >= target; });
}

uint64_t state_writer::rounds() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return rounds_;
}

void state_writer::loop() {
  std::unique_lock<std::mutex> lock{mtx_};
  for (;;) {
    work_.wait(lock, [&] { return stopping_ || handed_ != written_; });
    if (handed_ == written_ && stopping_)
      return;
    // Take everything at once: snapshots handed over while we write coalesce into one.
    auto registry = std::move(registry_);
    registry_.reset();
    auto events = std::move(events_);
    events_.clear();
    auto run = std::move(run_);
    run_.reset();
    auto target = handed_;
    auto registry_target = registry_handed_;
    lock.unlock();
    // The registry goes first: a file that shows a worker never precedes its identity.
    if (registry)
      if (auto err = write_worker_registry(root_, *registry))
        on_error_(err);
    if (!events.empty()) {
      std::string lines;
      for (const auto& [ev, at] : events)
        lines += format_event_line(ev, at);
      if (auto err = append_event_lines(root_, lines))
        on_error_(err);
    }
    if (run)
      if (auto err = write_run_file(root_, run->first, run->second))
        on_error_(err);
    lock.lock();
    written_ = target;
    registry_written_ = registry_target;
    ++rounds_;
    done_.notify_all();
  }
}

} // namespace sf::io
