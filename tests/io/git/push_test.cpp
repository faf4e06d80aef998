// Pushing main after a merge: `git push` in its own session, with the remote's own words on
// failure and a deadline for a remote that never answers.
#include "io/git/push.hpp"
#include "messages/error.hpp"
#include "support/run_ok.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>

using sf::test::sh_quote;

namespace {

std::string sh(const std::string& cmd, const std::string& cwd) {
  return sf::test::run_ok(cmd, cwd);
}

/// A repository on main with one commit, and a bare repository beside it.
std::string make_repo(const sf::test::temp_dir& tmp) {
  auto root = tmp / "repo";
  sf::test::init_git_repo(root);
  sh("echo one > a.txt && git add -A && git commit -qm one", root);
  sh("git init -q --bare " + sh_quote(tmp / "bare.git"), tmp.path());
  return root;
}

sf::io::push_request req(const std::string& root, const std::string& remote,
                         const std::string& branch = "main") {
  return sf::io::push_request{root, remote, branch};
}

constexpr auto patient = std::chrono::seconds(60);

} // namespace

TEST_CASE("push_branch updates a remote by path or name and reports its refusals", "[push]") {
  sf::test::temp_dir tmp;
  auto root = make_repo(tmp);
  auto bare = tmp / "bare.git";
  auto head = sh("git rev-parse main", root);
  SECTION("by path") {
    auto err = sf::io::push_branch(req(root, bare), patient);
    INFO(sf::describe(err));
    REQUIRE(!err);
    CHECK(sh("git -C " + sh_quote(bare) + " rev-parse main", tmp.path()) == head);
  }
  SECTION("by a path relative to the project") {
    REQUIRE(!sf::io::push_branch(req(root, "../bare.git"), patient));
    CHECK(sh("git -C " + sh_quote(bare) + " rev-parse main", tmp.path()) == head);
  }
  SECTION("by configured name") {
    sh("git remote add origin " + sh_quote(bare), root);
    REQUIRE(!sf::io::push_branch(req(root, "origin"), patient));
    CHECK(sh("git -C " + sh_quote(bare) + " rev-parse main", tmp.path()) == head);
  }
  SECTION("a missing folder says so, not that the protocol is unknown") {
    auto err = sf::io::push_branch(req(root, tmp / "nowhere.git"), patient);
    REQUIRE(err);
    auto text = sf::describe(err);
    CHECK(text.find("nowhere.git") != std::string::npos);
    CHECK(text.find("does not appear to be a git repository") != std::string::npos);
    CHECK(text.find("unsupported") == std::string::npos);
    CHECK(sf::io::push_branch(req(root, "nosuchremote"), patient));
  }
  SECTION("a rejected non-fast-forward update is an error and changes nothing there") {
    REQUIRE(!sf::io::push_branch(req(root, bare), patient));
    sh("git commit -q --amend -m rewritten", root);
    auto err = sf::io::push_branch(req(root, bare), patient);
    REQUIRE(err);
    CHECK(sf::describe(err).find("rejected") != std::string::npos);
    CHECK(sh("git -C " + sh_quote(bare) + " rev-parse main", tmp.path()) == head);
  }
}

TEST_CASE("a remote that accepts and never answers is ended at the timeout", "[push]") {
  sf::test::temp_dir tmp;
  auto root = make_repo(tmp);
  // A listening socket nobody reads from: the kernel completes the connection and git waits
  // for the server's first words forever.
  int srv = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(srv >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(srv, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::listen(srv, 4) == 0);
  socklen_t len = sizeof addr;
  REQUIRE(::getsockname(srv, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  auto url = "git://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/repo.git";
  auto child = sf::io::start_push(req(root, url));
  REQUIRE(child);
  auto pid = child->pid();
  auto err = sf::io::wait_push(req(root, url), *child, std::chrono::milliseconds(500));
  ::close(srv);
  REQUIRE(err);
  CHECK(sf::describe(err).find("push_timeout") != std::string::npos);
  // Ended, reaped, and nothing of its session is left.
  CHECK(child->reaped());
  CHECK(::kill(-pid, 0) != 0);
}
