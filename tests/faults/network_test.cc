// Faults of the network and of the servers an http check talks to: each
// check against one fault, all in one watchd beside the sentinel. Asserted
// per fault: the verdict and its reason (from the transition in the log),
// the result counted in watchd_probes_total, and at the end that watchd is
// on schedule. See docs/reliability.md, "Fault matrix".
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <time.h>

#include <fstream>

#include "tests/support/http_server.h"
#include "tests/support/metrics_text.h"
#include "tests/support/net.h"
#include "tests/support/on_schedule.h"
#include "tests/support/subprocess.h"
#include "tests/support/wait.h"
#include "tests/support/watchd_process.h"

namespace watchd::testing {
namespace {

using std::chrono::seconds;

bool Run(const std::vector<std::string>& argv, const TempDir& dir) {
  Subprocess process;
  if (!process.Start(argv, dir.File("openssl.log"))) return false;
  std::optional<int> status = process.Wait(seconds(60));
  return status && WIFEXITED(*status) && WEXITSTATUS(*status) == 0;
}

// A self-signed certificate for `host` valid from `start` to `end`
// (openssl's YYYYMMDDHHMMSSZ), in dir as NAME.pem with key NAME.key.
bool MakeCertificate(const TempDir& dir, const std::string& name,
                     const std::string& host, const std::string& start,
                     const std::string& end) {
  const std::string conf = dir.File(name + ".cnf");
  std::ofstream(conf) << "[ca]\ndefault_ca = d\n[d]\ndatabase = "
                      << dir.File(name + ".index")
                      << "\nnew_certs_dir = " << dir.path()
                      << "\nserial = " << dir.File(name + ".serial")
                      << "\ndefault_md = sha256\npolicy = p\n"
                         "copy_extensions = copy\n[p]\ncommonName = supplied\n";
  std::ofstream(dir.File(name + ".index"));
  std::ofstream(dir.File(name + ".serial")) << "01\n";
  return Run({"openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes",
              "-subj", "/CN=" + host, "-addext", "subjectAltName=DNS:" + host,
              "-keyout", dir.File(name + ".key"), "-out",
              dir.File(name + ".csr")},
             dir) &&
         Run({"openssl", "ca", "-batch", "-config", conf, "-selfsign",
              "-keyfile", dir.File(name + ".key"), "-in",
              dir.File(name + ".csr"), "-out", dir.File(name + ".pem"),
              "-startdate", start, "-enddate", end},
             dir);
}

// Under AddressSanitizer this matrix makes the loop 250-500 ms late now
// and then (docs/reliability.md, "Not yet covered": which fault's handling
// costs that much is being found out); the plain build holds the bound
// every fault test holds.
#if defined(__SANITIZE_ADDRESS__)
constexpr std::chrono::milliseconds kLatenessBound{1000};
#else
constexpr std::chrono::milliseconds kLatenessBound{50};
#endif

struct Fault {
  std::string check;    // the check's name, in service "net"
  std::string http;     // the http: mapping's content
  std::string verdict;  // "failing" or "passing"
  std::string reason;   // in the transition's line ("" if passing)
  std::string result;   // the result label counted
};

std::string Services(const HttpServer& sentinel,
                     const std::vector<Fault>& faults) {
  std::string yaml = SentinelService(sentinel) + "  net:\n    checks:\n";
  for (const Fault& f : faults) {
    yaml += "      " + f.check + ":\n        http: {" + f.http +
            "}\n        interval: 1s\n        timeout: 1s\n"
            "        failures: 1\n";
  }
  return yaml;
}

TEST(NetworkFault, EachFaultHasItsVerdictReasonAndResult) {
  TempDir dir;
  const std::string two_hours_ago = [] {
    char buf[32];
    time_t t = time(nullptr) - 7200;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, sizeof(buf), "%Y%m%d%H%M%SZ", &tm);
    return std::string(buf);
  }();
  ASSERT_TRUE(MakeCertificate(dir, "expired", "localhost", "20200101000000Z",
                              "20200102000000Z"));
  ASSERT_TRUE(MakeCertificate(dir, "future", "localhost", "20990101000000Z",
                              "20991231000000Z"));
  ASSERT_TRUE(MakeCertificate(dir, "elsewhere", "other.example", two_hours_ago,
                              "20991231000000Z"));
  HttpServer sentinel, plain, no_accept({"--no-accept"});
  HttpServer expired({"--tls-cert", dir.File("expired.pem"), "--tls-key",
                      dir.File("expired.key")});
  HttpServer future({"--tls-cert", dir.File("future.pem"), "--tls-key",
                     dir.File("future.key")});
  HttpServer elsewhere({"--tls-cert", dir.File("elsewhere.pem"), "--tls-key",
                        dir.File("elsewhere.key")});
  for (HttpServer* s :
       {&sentinel, &plain, &no_accept, &expired, &future, &elsewhere}) {
    ASSERT_TRUE(s->WaitReady()) << s->Log();
  }
  // A TCP server that accepts and never says a word: the TLS handshake
  // stalls after the client's hello.
  Subprocess silent;
  const int silent_port = FreePort();
  ASSERT_TRUE(
      StartTestServer(&silent, "tests/servers/tcp_server.py",
                      {"--port", std::to_string(silent_port), "--mode", "hold"},
                      dir.File("silent.ready"), dir.File("silent.log")));
  // Raw responses no well-behaved server sends (tests/servers/hostile_http.py
  // names them; src/probes/http_paths_agree_test.cc runs every one through
  // both http paths).
  Subprocess hostile;
  ASSERT_TRUE(StartTestServer(&hostile, "tests/servers/hostile_http.py",
                              {"--port", "0"}, dir.File("hostile.ready"),
                              dir.File("hostile.log")));
  const std::string hostile_url =
      "http://127.0.0.1:" +
      std::to_string(std::stoi(ReadFile(dir.File("hostile.ready")))) + "/mode/";
  const int closed_port = FreePort();
  auto url = [](const std::string& u) { return "url: \"" + u + "\""; };
  auto trusting = [&](const std::string& name) {
    return ", ca_file: \"" + dir.File(name + ".pem") + "\"";
  };
  const std::vector<Fault> faults = {
      {"refused", url("http://127.0.0.1:" + std::to_string(closed_port) + "/"),
       "failing", "connection refused", "failure"},
      {"silent", url(plain.Url("/hang")), "failing",
       "timeout after 1s (waiting for response)", "timeout"},
      {"drip", url(plain.Url("/drip")), "failing",
       "timeout after 1s (reading body)", "timeout"},
      {"backlog", url(no_accept.Url("/ok")), "failing",
       "timeout after 1s (connecting)", "timeout"},
      {"tls-stall",
       url("https://127.0.0.1:" + std::to_string(silent_port) + "/"), "failing",
       "timeout after 1s (connecting)", "timeout"},
      {"gigabyte", url(hostile_url + "body-1g") + ", max_body: 64KiB",
       "passing", "", "success"},
      {"headers-100k", url(hostile_url + "headers-100k"), "failing",
       "malformed response: headers too long", "failure"},
      {"endless-chunks",
       url(hostile_url + "chunked-endless") + ", max_body: 64KiB", "passing",
       "", "success"},
      {"reset-mid-body", url(hostile_url + "reset-mid-body"), "failing",
       "connection reset", "failure"},
      {"expired",
       url(expired.Url("/ok", "https", "localhost")) + trusting("expired"),
       "failing", "certificate has expired", "failure"},
      {"not-yet-valid",
       url(future.Url("/ok", "https", "localhost")) + trusting("future"),
       "failing", "certificate is not yet valid", "failure"},
      {"wrong-host",
       url(elsewhere.Url("/ok", "https", "localhost")) + trusting("elsewhere"),
       "failing", "subject name", "failure"},
  };
  WatchdProcess watchd(Services(sentinel, faults));
  ASSERT_TRUE(watchd.Start()) << watchd.Log();

  for (const Fault& f : faults) {
    SCOPED_TRACE(f.check);
    const std::string transition =
        "net/" + f.check + " (http): pending -> " + f.verdict;
    ASSERT_TRUE(watchd.WaitForLog(transition, seconds(30))) << watchd.Log();
    std::string log = watchd.Log();
    size_t at = log.find(transition);
    std::string line = log.substr(at, log.find('\n', at) - at);
    EXPECT_NE(line.find(f.reason), std::string::npos) << line;
    EXPECT_GE(
        FindMetric(
            watchd.Scrape(), "watchd_probes_total",
            {{"service", "net"}, {"check", f.check}, {"result", f.result}})
            .value_or(0),
        1)
        << watchd.ScrapeText();
  }
  EXPECT_TRUE(StillOnSchedule(watchd, kLatenessBound));
}

}  // namespace
}  // namespace watchd::testing
