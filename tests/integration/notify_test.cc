// Notifications end to end: the real watchd sending to a real webhook
// receiver, a real SMTP server (Debian's aiosmtpd) and a command, all on
// loopback.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/net.h"
#include "tests/support/subprocess.h"
#include "tests/support/wait.h"
#include "tests/support/watchd_process.h"

namespace watchd::testing {
namespace {

using nlohmann::json;
using std::chrono::seconds;

// tests/servers/hook_receiver.py on a port, recording into a file.
class HookReceiver {
 public:
  explicit HookReceiver(int port) : port_(port) {}

  bool Start(int fail_first = 0) {
    return StartTestServer(
        &server_, "tests/servers/hook_receiver.py",
        {"--port", std::to_string(port_), "--out", dir_.File("requests"),
         "--fail-first", std::to_string(fail_first)},
        dir_.File("ready"), dir_.File("log"));
  }
  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(port_) + "/hook";
  }

  // Every request so far, in arrival order.
  std::vector<json> Requests() const {
    std::vector<json> out;
    std::istringstream lines(ReadFile(dir_.File("requests")));
    std::string line;
    while (std::getline(lines, line)) {
      json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (!j.is_discarded()) out.push_back(std::move(j));
    }
    return out;
  }
  // The notifications of the requests answered 200, in order.
  std::vector<json> Notifications() const {
    std::vector<json> out;
    for (const json& r : Requests()) {
      if (r["status"] != 200) continue;
      if (r["body"].is_array()) {
        for (const json& n : r["body"]) out.push_back(n);
      } else {
        out.push_back(r["body"]);
      }
    }
    return out;
  }
  // The first delivered notification of `event` (for `service`, unless
  // ""), or null.
  json Find(const std::string& event, const std::string& service = "") const {
    for (const json& n : Notifications()) {
      if (n["event"] != event) continue;
      if (!service.empty() && n["service"] != service) continue;
      return n;
    }
    return nullptr;
  }
  bool WaitFor(const std::string& event, const std::string& service = "",
               std::chrono::milliseconds timeout = seconds(60)) const {
    return testing::WaitFor([&] { return !Find(event, service).is_null(); },
                            timeout, std::chrono::milliseconds(50));
  }

 private:
  int port_;
  TempDir dir_;
  Subprocess server_;
};

// An exec check that fails while `flag` exists.
std::string FlagService(const std::string& name, const std::string& flag) {
  return "  " + name +
         ":\n"
         "    checks:\n"
         "      flag:\n"
         "        exec: [/bin/sh, -c, \"test ! -e " +
         flag +
         "\"]\n"
         "        interval: 200ms\n"
         "        failures: 1\n"
         "        jitter: 0%\n";
}

// `count` services whose tcp check fails at once (nothing listens on
// `port`), all on the same beat.
std::string FailingServices(int count, int port) {
  std::string yaml;
  for (int i = 0; i < count; ++i) {
    char name[16];
    snprintf(name, sizeof(name), "s%03d", i);
    yaml += std::string("  ") + name +
            ":\n"
            "    checks:\n"
            "      port:\n"
            "        tcp: {host: 127.0.0.1, port: " +
            std::to_string(port) +
            "}\n"
            "        interval: 2s\n"
            "        failures: 1\n"
            "        jitter: 0%\n";
  }
  return yaml;
}

std::string HostName() {
  char name[256] = {};
  gethostname(name, sizeof(name) - 1);
  return name;
}

double Metric(WatchdProcess& watchd, const std::string& name,
              const std::map<std::string, std::string>& labels) {
  return FindMetric(watchd.Scrape(), name, labels).value_or(-1);
}

TEST(Notify, WebhookGetsFailingThenRecoveredAsJson) {
  HookReceiver hook(FreePort());
  ASSERT_TRUE(hook.Start());
  TempDir dir;
  const std::string flag = dir.File("flag");
  WatchdProcess watchd(FlagService("web", flag),
                       "notify:\n"
                       "  targets:\n"
                       "    hook: {webhook: {url: \"" +
                           hook.url() +
                           "\"}}\n"
                           "  coalesce: 0s\n");
  ASSERT_TRUE(watchd.Start()) << watchd.Log();
  ASSERT_TRUE(hook.WaitFor("started")) << watchd.Log();

  ASSERT_TRUE(WriteFile(flag, ""));
  ASSERT_TRUE(hook.WaitFor("failing", "web")) << watchd.Log();
  json failing = hook.Find("failing", "web");
  EXPECT_EQ(failing["state"], "failing");
  EXPECT_EQ(failing["previous_state"], "ok");
  EXPECT_EQ(failing["check"], "flag");
  EXPECT_NE(failing["reason"].get<std::string>().find("exit 1"),
            std::string::npos)
      << failing.dump();
  EXPECT_EQ(failing["host"], HostName());
  EXPECT_EQ(failing["reminder"], false);
  EXPECT_TRUE(
      std::regex_match(failing["time"].get<std::string>(),
                       std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")))
      << failing.dump();

  std::filesystem::remove(flag);
  ASSERT_TRUE(hook.WaitFor("recovered", "web")) << watchd.Log();
  json recovered = hook.Find("recovered", "web");
  EXPECT_EQ(recovered["state"], "ok");
  EXPECT_EQ(recovered["previous_state"], "failing");

  for (const json& r : hook.Requests()) {
    EXPECT_EQ(r["path"], "/hook");
    EXPECT_EQ(r["content_type"], "application/json");
  }
  EXPECT_TRUE(watchd.WaitForMetric("watchd_notifications_total",
                                   {{"target", "hook"}, {"result", "sent"}}, 3,
                                   seconds(10)));
  EXPECT_EQ(Metric(watchd, "watchd_notifications_dropped_total",
                   {{"target", "hook"}}),
            0);

  // SIGTERM: `stopping` is delivered before watchd exits.
  ASSERT_TRUE(watchd.process().Signal(SIGTERM));
  auto st = watchd.process().Wait(seconds(30));
  ASSERT_TRUE(st.has_value());
  EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0) << watchd.Log();
  json stopping = hook.Find("stopping");
  ASSERT_FALSE(stopping.is_null()) << watchd.Log();
  EXPECT_TRUE(stopping["service"].is_null());
}

TEST(Notify, RetriesUntilTheReceiverIsUp) {
  const int port = FreePort();
  HookReceiver hook(port);
  WatchdProcess watchd("",
                       "notify:\n"
                       "  targets:\n"
                       "    hook: {webhook: {url: \"" +
                           hook.url() +
                           "\"}}\n"
                           "  retry: {attempts: 100, initial: 200ms, within: "
                           "10m}\n");
  ASSERT_TRUE(watchd.Start()) << watchd.Log();
  // Down: the connection is refused, and the delivery waits for a retry.
  ASSERT_TRUE(watchd.WaitForLog("notify hook: ", seconds(30))) << watchd.Log();
  EXPECT_NE(watchd.Log().find("retrying in"), std::string::npos)
      << watchd.Log();
  // Up, but busy once (503): retried again, then delivered.
  ASSERT_TRUE(hook.Start(/*fail_first=*/1));
  ASSERT_TRUE(hook.WaitFor("started")) << watchd.Log();
  std::vector<json> requests = hook.Requests();
  ASSERT_GE(requests.size(), 2u);
  EXPECT_EQ(requests[0]["status"], 503);
  EXPECT_EQ(requests[0]["body"]["event"], "started");
  EXPECT_TRUE(watchd.WaitForMetric("watchd_notifications_total",
                                   {{"target", "hook"}, {"result", "sent"}}, 1,
                                   seconds(10)));
  EXPECT_EQ(Metric(watchd, "watchd_notifications_total",
                   {{"target", "hook"}, {"result", "failed"}}),
            0);
}

TEST(Notify, FiveHundredServicesFailingAtOnceMakeADigest) {
  constexpr int kServices = 500;
  HookReceiver hook(FreePort());
  ASSERT_TRUE(hook.Start());
  WatchdProcess watchd(FailingServices(kServices, FreePort()),
                       "notify:\n"
                       "  targets:\n"
                       "    hook:\n"
                       "      webhook: {url: \"" +
                           hook.url() +
                           "\"}\n"
                           "      events: [failing]\n"
                           "  coalesce: 3s\n");
  ASSERT_TRUE(watchd.Start()) << watchd.Log();
  auto failing = [&] {
    std::set<std::string> services;
    for (const json& n : hook.Notifications()) {
      if (n["event"] == "failing") services.insert(n["service"]);
    }
    return services;
  };
  ASSERT_TRUE(WaitFor([&] { return failing().size() == kServices; },
                      seconds(120), std::chrono::milliseconds(200)))
      << failing().size() << " services notified\n"
      << watchd.Log().substr(0, 4000);
  std::vector<json> requests = hook.Requests();
  EXPECT_LE(requests.size(), 3u) << "500 events, not 500 messages";
  size_t largest = 0;
  for (const json& r : requests) {
    if (r["body"].is_array()) largest = std::max(largest, r["body"].size());
  }
  EXPECT_GE(largest, 100u);
  EXPECT_TRUE(watchd.WaitForMetric("watchd_notifications_total",
                                   {{"target", "hook"}, {"result", "sent"}},
                                   kServices, seconds(10)));
}

// The mail files aiosmtpd's script wrote: NNN.eml with its NNN.json.
std::vector<std::string> Mails(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() == ".json") {
      names.push_back(e.path().stem().string());
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

TEST(Notify, MailReachesARealSmtpServerAfterATransientFailure) {
  TempDir dir;
  const std::string mail_dir = dir.File("mail");
  std::filesystem::create_directory(mail_dir);
  const int smtp_port = FreePort();
  Subprocess smtp;
  ASSERT_TRUE(smtp.Start(
      {"/usr/bin/python3", SourcePath("tests/servers/smtp_server.py"), "--port",
       std::to_string(smtp_port), "--out-dir", mail_dir, "--fail-first", "1",
       "--ready-file", dir.File("ready")},
      dir.File("smtp.log")));
  ASSERT_TRUE(WaitFor(
      [&] { return std::filesystem::exists(dir.File("ready")); }, seconds(30)))
      << ReadFile(dir.File("smtp.log"));

  const std::string flag = dir.File("flag");
  WatchdProcess watchd(
      FlagService("web", flag),
      "notify:\n"
      "  targets:\n"
      "    ops-mail:\n"
      "      mail:\n"
      "        url: smtp://127.0.0.1:" +
          std::to_string(smtp_port) +
          "\n"
          "        from: watchd@example.org\n"
          "        to: [ops@example.org, oncall@example.org]\n"
          "      events: [failing]\n"
          "  coalesce: 0s\n"
          "  retry: {attempts: 10, initial: 200ms, within: 1m}\n");
  ASSERT_TRUE(watchd.Start()) << watchd.Log();
  ASSERT_TRUE(WriteFile(flag, ""));
  ASSERT_TRUE(WaitFor([&] { return !Mails(mail_dir).empty(); }, seconds(60)))
      << watchd.Log() << ReadFile(dir.File("smtp.log"));
  // The first try got 451 and was retried.
  EXPECT_NE(watchd.Log().find("retrying in"), std::string::npos)
      << watchd.Log();

  const std::string base = mail_dir + "/" + Mails(mail_dir)[0];
  json envelope = json::parse(ReadFile(base + ".json"));
  EXPECT_EQ(envelope["mail_from"], "watchd@example.org");
  EXPECT_EQ(envelope["rcpt_tos"],
            json::array({"ops@example.org", "oncall@example.org"}));
  const std::string mail = ReadFile(base + ".eml");
  EXPECT_NE(mail.find("Subject: watchd: web failing\r\n"), std::string::npos)
      << mail;
  EXPECT_NE(mail.find("From: watchd@example.org\r\n"), std::string::npos);
  EXPECT_NE(mail.find("To: ops@example.org, oncall@example.org\r\n"),
            std::string::npos);
  EXPECT_NE(mail.find("\r\nDate: "), std::string::npos);
  EXPECT_NE(mail.find("\r\nMessage-ID: <"), std::string::npos);
  const std::string body = mail.substr(mail.find("\r\n\r\n") + 4);
  EXPECT_NE(body.find("Service: web\r\n"), std::string::npos) << body;
  EXPECT_NE(body.find("Event:   failing\r\n"), std::string::npos) << body;
  EXPECT_NE(body.find("State:   failing (was ok)\r\n"), std::string::npos)
      << body;
  EXPECT_NE(body.find("Check:   flag\r\n"), std::string::npos) << body;
  EXPECT_NE(body.find("Host:    " + HostName() + "\r\n"), std::string::npos)
      << body;
  smtp.Stop();
}

TEST(Notify, CommandGetsTheFieldsInArgumentsAndEnvironment) {
  TempDir dir;
  const std::string flag = dir.File("flag");
  const std::string out = dir.File("out");
  WatchdProcess watchd(
      FlagService("web", flag),
      "notify:\n"
      "  targets:\n"
      "    page:\n"
      "      command: [/bin/sh, -c, 'echo \"args $1 $2\" > \"$0.tmp\"; env | "
      "grep ^WATCHD_ | sort >> \"$0.tmp\"; mv \"$0.tmp\" \"$0\"', " +
          out +
          ", \"{service}\", \"{event}\"]\n"
          "      events: [failing]\n"
          "  coalesce: 0s\n");
  ASSERT_TRUE(watchd.Start()) << watchd.Log();
  ASSERT_TRUE(WriteFile(flag, ""));
  ASSERT_TRUE(
      WaitFor([&] { return std::filesystem::exists(out); }, seconds(60)))
      << watchd.Log();
  const std::string text = ReadFile(out);
  const std::vector<std::string> lines = {
      "args web failing",     "WATCHD_EVENT=failing",     "WATCHD_SERVICE=web",
      "WATCHD_STATE=failing", "WATCHD_PREVIOUS_STATE=ok", "WATCHD_CHECK=flag",
      "WATCHD_COUNT=1",       "WATCHD_HOST=" + HostName()};
  for (const std::string& line : lines) {
    EXPECT_NE(text.find(line + "\n"), std::string::npos) << line << " in:\n"
                                                         << text;
  }
  EXPECT_NE(text.find("WATCHD_REASON=check flag failing: exit 1\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("WATCHD_TIME=20"), std::string::npos) << text;
}

TEST(Notify, AFullQueueDropsAndCountsWhatItDrops) {
  constexpr int kServices = 20;
  const int closed = FreePort();
  WatchdProcess watchd(
      FailingServices(kServices, closed),
      "notify:\n"
      "  targets:\n"
      "    hook: {webhook: {url: \"http://127.0.0.1:" +
          std::to_string(FreePort()) +
          "/hook\"}}\n"
          "  queue_max: 3\n"
          "  retry: {attempts: 100, initial: 10m, within: 1h}\n");
  ASSERT_TRUE(watchd.Start()) << watchd.Log();
  // `started` waits for its retry; 20 failing events meet a queue of 3.
  ASSERT_TRUE(WaitFor(
      [&] {
        return Metric(watchd, "watchd_notifications_dropped_total",
                      {{"target", "hook"}}) >= kServices - 2 * 3;
      },
      seconds(60), std::chrono::milliseconds(100)))
      << watchd.ScrapeText() << watchd.Log();
  EXPECT_NE(watchd.Log().find("notify hook: 3 notifications already wait; "
                              "dropping the oldest"),
            std::string::npos)
      << watchd.Log();
  EXPECT_EQ(Metric(watchd, "watchd_notifications_total",
                   {{"target", "hook"}, {"result", "sent"}}),
            0);
  // Stopping does not wait for a retry due after its limit.
  ASSERT_TRUE(watchd.process().Signal(SIGTERM));
  auto st = watchd.process().Wait(seconds(10));
  ASSERT_TRUE(st.has_value()) << watchd.Log();
  EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0) << watchd.Log();
}

}  // namespace
}  // namespace watchd::testing
