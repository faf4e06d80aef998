#include "io/files/parallel_dir.hpp"
#include "io/files/signal_file.hpp"
#include "io/io_test_util.hpp"
#include "messages/error.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <memory>

using namespace sf;
using namespace sf::io;
using sf::test::temp_dir;

namespace {

signal_message numbered(int64_t i) {
  signal_message m;
  m.kind = i % 2 ? signal_kind::pause : signal_kind::resume;
  m.sent_at = i;
  return m;
}

} // namespace

TEST_CASE("signal codec round trip and validation", "[io][signal]") {
  for (auto k : {signal_kind::pause, signal_kind::resume, signal_kind::stop, signal_kind::rebase}) {
    CHECK(parse_signal_kind(to_string(k)) == k);
    signal_message m{k, 1234, "coordinator"};
    auto back = decode_signal(encode_signal(m));
    REQUIRE(back);
    CHECK(back->kind == k);
    CHECK(back->sent_at == 1234);
    CHECK(back->from == "coordinator");
  }
  CHECK(encode_signal(numbered(5)) == R"({"signal":"pause","sentAt":5,"from":"coordinator"})");
  auto extra = decode_signal(R"({"signal":"stop","sentAt":1,"from":"x","future":[1]})");
  REQUIRE(extra);
  CHECK(extra->from == "x");
  CHECK_FALSE(parse_signal_kind("halt"));
  auto bad_kind = decode_signal(R"({"signal":"halt","sentAt":1})");
  REQUIRE_FALSE(bad_kind);
  CHECK(describe(bad_kind.error()).find("halt") != std::string::npos);
  CHECK(describe(decode_signal(R"({"signal":"stop","sentAt":"1"})").error()).find("sentAt") !=
        std::string::npos);
  CHECK_FALSE(decode_signal(R"({"signal":"stop","sentAt":-1})"));
  CHECK_FALSE(decode_signal(R"({"signal":"stop","sentAt":1,"from":3})"));
  CHECK_FALSE(decode_signal(R"({"signal":"stop","sen)"));
  CHECK_FALSE(decode_signal(std::string(max_signal_bytes + 1, ' ')));
}

TEST_CASE("send then consume, and a newer unclaimed signal replaces an older one", "[io][signal]") {
  temp_dir root;
  auto none = consume_signal(root.path(), "M001");
  REQUIRE(none);
  CHECK_FALSE(*none);

  REQUIRE_FALSE(send_signal(root.path(), "M001", signal_kind::pause));
  CHECK(sf::test::mode_of(signal_path(root.path(), "M001")) == 0600);
  REQUIRE_FALSE(send_signal(root.path(), "M001", signal_kind::stop));
  auto got = consume_signal(root.path(), "M001");
  REQUIRE(got);
  REQUIRE(*got);
  CHECK((*got)->kind == signal_kind::stop);
  CHECK((*got)->sent_at > 0);
  auto again = consume_signal(root.path(), "M001");
  REQUIRE(again);
  CHECK_FALSE(*again);
  CHECK(sf::test::list_dir(root / ".sf/parallel").empty());

  CHECK(code_of(send_signal(root.path(), "../M1", signal_kind::stop)) == ec::invalid_input);
  CHECK(code_of(consume_signal(root.path(), "a/b").error()) == ec::invalid_input);
}

TEST_CASE("a signal written during a claim is kept for the next consume", "[io][signal]") {
  temp_dir root;
  REQUIRE_FALSE(send_signal(root.path(), "M001", numbered(1)));
  auto claim = claim_signal(root.path(), "M001");
  REQUIRE(claim);
  REQUIRE(*claim);
  CHECK(is_temp_name((*claim)->name));
  CHECK_FALSE(parse_parallel_name((*claim)->name));
  // The coordinator writes again while the worker still holds its claim.
  REQUIRE_FALSE(send_signal(root.path(), "M001", numbered(2)));
  auto first = finish_claim(**claim);
  REQUIRE(first);
  CHECK(first->sent_at == 1);
  auto second = consume_signal(root.path(), "M001");
  REQUIRE(second);
  REQUIRE(*second);
  CHECK((*second)->sent_at == 2);
  auto third = consume_signal(root.path(), "M001");
  REQUIRE(third);
  CHECK_FALSE(*third);
  CHECK(sf::test::list_dir(root / ".sf/parallel").empty());
}

TEST_CASE("a malformed signal is removed and reported", "[io][signal]") {
  temp_dir root;
  REQUIRE(ensure_parallel_dir(root.path()));
  sf::test::write_file(signal_path(root.path(), "M001"), R"({"signal":"explode","sentAt":1})");
  auto got = consume_signal(root.path(), "M001");
  REQUIRE_FALSE(got);
  CHECK(code_of(got.error()) == ec::invalid_input);
  auto text = describe(got.error());
  CHECK(text.find(signal_path(root.path(), "M001")) != std::string::npos);
  CHECK(text.find("explode") != std::string::npos);
  CHECK(text.find("removed") != std::string::npos);
  // The bad file does not wedge the worker: the next signal flows.
  CHECK(sf::test::list_dir(root / ".sf/parallel").empty());
  REQUIRE_FALSE(send_signal(root.path(), "M001", numbered(7)));
  auto next = consume_signal(root.path(), "M001");
  REQUIRE(next);
  REQUIRE(*next);
  CHECK((*next)->sent_at == 7);
}

TEST_CASE("a symbolic link as the signal file is refused, its target untouched",
          "[io][signal][symlink]") {
  temp_dir root;
  REQUIRE(ensure_parallel_dir(root.path()));
  auto target = root / "precious.json";
  const std::string body = R"({"signal":"stop","sentAt":1,"from":"coordinator"})";
  sf::test::write_file(target, body);
  REQUIRE(::symlink(target.c_str(), signal_path(root.path(), "M001").c_str()) == 0);
  auto got = consume_signal(root.path(), "M001");
  REQUIRE_FALSE(got);
  CHECK(code_of(got.error()) == ec::unsafe_path);
  CHECK(describe(got.error()).find("M001.signal.json") != std::string::npos);
  CHECK(sf::test::read_file(target) == body);
  CHECK(sf::test::list_dir(root / ".sf/parallel").empty());
}

namespace {

// A folder on tmpfs when there is one: fsync is free there, so the race runs at full speed
// instead of being paced by the disk; the rename logic under test is the same.
class fast_dir {
public:
  fast_dir() {
    std::string tmpl = "/dev/shm/sf-race-XXXXXX";
    if (::access("/dev/shm", W_OK) == 0 && ::mkdtemp(tmpl.data()) != nullptr)
      path_ = tmpl;
    else
      fallback_ = std::make_unique<temp_dir>();
  }
  ~fast_dir() {
    std::error_code ignored;
    if (!path_.empty())
      std::filesystem::remove_all(path_, ignored);
  }
  fast_dir(const fast_dir&) = delete;
  fast_dir& operator=(const fast_dir&) = delete;
  const std::string& path() const { return fallback_ ? fallback_->path() : path_; }
  std::string operator/(const std::string& rel) const { return path() + "/" + rel; }

private:
  std::string path_;
  std::unique_ptr<temp_dir> fallback_;
};

// A forked writer sends signals 1..k while this process consumes until it sees k.
void run_two_process_race(const std::string& root, int64_t k) {
  REQUIRE(ensure_parallel_dir(root));
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // The test process is single-threaded, so plain library calls are safe in the child.
    for (int64_t i = 1; i <= k; ++i)
      if (send_signal(root, "M001", numbered(i)))
        ::_exit(1);
    ::_exit(0);
  }
  // A deadline turns a lost signal into a failure instead of a hang.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  int64_t last = 0;
  int64_t seen = 0;
  bool ordered = true;
  std::string failure;
  bool child_done = false;
  int child_status = 0;
  while (last < k && std::chrono::steady_clock::now() < deadline) {
    auto got = consume_signal(root, "M001");
    if (!got) {
      failure = describe(got.error());
      break;
    }
    if (*got) {
      ordered = ordered && (*got)->sent_at > last;
      last = (*got)->sent_at;
      ++seen;
      continue;
    }
    // Nothing pending: stop once the writer has exited and nothing more can come.
    if (child_done)
      break;
    if (::waitpid(child, &child_status, WNOHANG) == child)
      child_done = true;
  }
  if (!child_done) {
    if (last < k)
      ::kill(child, SIGKILL);
    REQUIRE(::waitpid(child, &child_status, 0) == child);
  }
  INFO("consumed " << seen << " signals, last sentAt " << last << ", error: " << failure);
  CHECK(failure.empty());
  REQUIRE(WIFEXITED(child_status));
  CHECK(WEXITSTATUS(child_status) == 0);
  CHECK(ordered);
  CHECK(last == k);
  CHECK(seen >= 1);
  CHECK(sf::test::count_temp_files(root + "/.sf/parallel") == 0);
  CHECK(sf::test::list_dir(root + "/.sf/parallel").empty());
}

} // namespace

TEST_CASE("signal race between two processes loses nothing", "[io][signal][race]") {
  fast_dir root;
  run_two_process_race(root.path(), 2000);
}

TEST_CASE("signal race on the regular temp folder (durable writes)", "[io][signal][race]") {
  temp_dir root;
  run_two_process_race(root.path(), 200);
}

TEST_CASE("interleaved sends and consumes in one process keep order", "[io][signal][race]") {
  fast_dir root;
  int64_t next = 1;
  int64_t last = 0;
  // A fixed pattern of bursts: some signals are replaced unseen, the newest always arrives.
  for (int round = 0; round < 50; ++round) {
    int burst = 1 + round % 4;
    for (int b = 0; b < burst; ++b)
      REQUIRE_FALSE(send_signal(root.path(), "M001", numbered(next++)));
    auto claim = claim_signal(root.path(), "M001");
    REQUIRE(claim);
    REQUIRE(*claim);
    // Every other round, one more signal lands between claim and read.
    bool sneak = round % 2 == 0;
    if (sneak)
      REQUIRE_FALSE(send_signal(root.path(), "M001", numbered(next++)));
    auto msg = finish_claim(**claim);
    REQUIRE(msg);
    CHECK(msg->sent_at > last);
    CHECK(msg->sent_at == next - 1 - (sneak ? 1 : 0));
    last = msg->sent_at;
    if (sneak) {
      auto extra = consume_signal(root.path(), "M001");
      REQUIRE(extra);
      REQUIRE(*extra);
      CHECK((*extra)->sent_at == next - 1);
      last = (*extra)->sent_at;
    }
  }
  CHECK(last == next - 1);
  CHECK(sf::test::list_dir(root / ".sf/parallel").empty());
}
