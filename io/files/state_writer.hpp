#pragma once
/// One background thread that writes the coordinator's files (workers.json, events.jsonl,
/// run.json), so a disk write never sits between a worker's change and the typed event.

#include "messages/types.hpp"

#include <caf/error.hpp>

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <utility>
#include <string>
#include <thread>
#include <vector>

namespace sf::io {

/// Persists snapshots handed over by the coordinator, newest wins, in a fixed order.
///
/// Each round writes, in this order: the worker registry (durable: fsync of file and folder),
/// the queued event lines (one append), the run file (atomic rename, no fsync). So any file
/// that shows a worker was written after the registry that names it. Calls never block on
/// the disk except `flush` and the destructor, which wait until everything handed over has
/// been written.
class state_writer {
public:
  /// Receives every write error (on the writer thread).
  using error_handler = std::function<void(const caf::error&)>;

  /// Starts the thread; files go under `root/.sf/parallel/`.
  state_writer(std::string root, error_handler on_error);

  /// Writes what is still pending and joins the thread.
  ~state_writer();

  state_writer(const state_writer&) = delete;
  state_writer& operator=(const state_writer&) = delete;

  /// Replaces the registry to be written next (a newer snapshot supersedes an unwritten one).
  void registry(std::vector<worker_identity> workers);

  /// Queues one event line, stamped now.
  void event(const run_event& ev);

  /// Replaces the run file to be written next.
  void run(run_status status, int64_t pid);

  /// Blocks until everything handed over before the call is on disk (or failed).
  void flush();

  /// Blocks until the registry handed over last (before the call) is on disk (or failed).
  void wait_registry();

  /// Rounds written so far (for tests and benchmarks).
  uint64_t rounds() const;

private:
  /// Thread body: wait for work, take all of it, write it, repeat.
  void loop();

  std::string root_;
  error_handler on_error_;
  mutable std::mutex mtx_;
  std::condition_variable work_;
  std::condition_variable done_;
  std::optional<std::vector<worker_identity>> registry_;
  std::vector<std::pair<run_event, int64_t>> events_; ///< With their time (ms since epoch).
  std::optional<std::pair<run_status, int64_t>> run_;
  uint64_t handed_ = 0;  ///< Hand-overs so far.
  uint64_t registry_handed_ = 0;  ///< Registry snapshots handed over so far.
  uint64_t registry_written_ = 0; ///< Registry snapshots whose write has finished.
  uint64_t written_ = 0; ///< Hand-overs whose round has finished.
  uint64_t rounds_ = 0;
  bool stopping_ = false;
  std::thread thread_;
};

} // namespace sf::io
