#include "tests/support/http_server.h"

#include "tests/support/net.h"
#include "tests/support/wait.h"

namespace watchd::testing {

HttpServer::HttpServer(std::vector<std::string> extra)
    : extra_(std::move(extra)) {
  Start();
}

void HttpServer::Start() {
  port_ = FreePort();
  std::vector<std::string> argv = {"python3",
                                   SourcePath("tests/servers/http_server.py"),
                                   "--port", std::to_string(port_)};
  argv.insert(argv.end(), extra_.begin(), extra_.end());
  argv.insert(argv.end(), {"--ready-file", log_.File("ready")});
  started_ = process_.Start(argv, log_.File("server.log"));
}

bool HttpServer::WaitReady() {
  // The port was free when chosen, but anything on the machine may take it
  // before the server binds it: then the server exits, and another port is
  // tried.
  for (int attempt = 0; attempt < 5 && started_; ++attempt) {
    auto ready = [&] { return !ReadFile(log_.File("ready")).empty(); };
    if (!WaitFor([&] { return ready() || !process_.running(); },
                 std::chrono::seconds(20))) {
      return false;
    }
    if (ready()) return true;
    Start();
  }
  return false;
}

std::string HttpServer::Log() const {
  return ReadFile(log_.File("server.log"));
}

std::string HttpServer::Url(const std::string& path, const std::string& scheme,
                            const std::string& host) const {
  return scheme + "://" + host + ":" + std::to_string(port_) + path;
}

}  // namespace watchd::testing
