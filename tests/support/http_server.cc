#include "tests/support/http_server.h"

#include "tests/support/net.h"
#include "tests/support/wait.h"

namespace watchd::testing {

HttpServer::HttpServer(std::vector<std::string> extra) : port_(FreePort()) {
  std::vector<std::string> argv = {"python3",
                                   SourcePath("tests/servers/http_server.py"),
                                   "--port", std::to_string(port_)};
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.insert(argv.end(), {"--ready-file", log_.File("ready")});
  started_ = process_.Start(argv, log_.File("server.log"));
}

bool HttpServer::WaitReady() {
  return started_ &&
         WaitFor([&] { return !ReadFile(log_.File("ready")).empty(); },
                 std::chrono::seconds(20));
}

std::string HttpServer::Url(const std::string& path, const std::string& scheme,
                            const std::string& host) const {
  return scheme + "://" + host + ":" + std::to_string(port_) + path;
}

}  // namespace watchd::testing
