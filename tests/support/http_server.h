// tests/servers/http_server.py run on a free 127.0.0.1 port for an
// end-to-end test (its paths: /ok, /hang, /drip, /big, ... see the script).
#ifndef WATCHD_TESTS_SUPPORT_HTTP_SERVER_H_
#define WATCHD_TESTS_SUPPORT_HTTP_SERVER_H_

#include <string>
#include <vector>

#include "tests/support/subprocess.h"

namespace watchd::testing {

class HttpServer {
 public:
  // `extra`: more arguments of the script (--no-accept, --tls-cert ...).
  explicit HttpServer(std::vector<std::string> extra = {});
  // True once the server listens: it writes its ready file then (a server
  // that never accepts cannot be probed by connecting). Call it before
  // port() and Url(): a server whose port was taken meanwhile is started
  // again on another.
  bool WaitReady();
  int port() const { return port_; }
  // What the server printed (why it did not start, say).
  std::string Log() const;
  std::string Url(const std::string& path, const std::string& scheme = "http",
                  const std::string& host = "127.0.0.1") const;

 private:
  void Start();

  std::vector<std::string> extra_;
  TempDir log_;
  int port_ = 0;
  bool started_ = false;
  Subprocess process_;
};

}  // namespace watchd::testing

#endif  // WATCHD_TESTS_SUPPORT_HTTP_SERVER_H_
