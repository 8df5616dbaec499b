// Hostile input never crashes, hangs or eats memory: it is an error.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <random>

#include "config/loader.h"
#include "config/loader_testing.h"
#include "tests/support/subprocess.h"

namespace watchd {
namespace {

using testing::AllErrors;
using testing::HasError;
using watchd::testing::TempDir;

LoadResult Load(const std::string& text) {
  // What the text does to the loader, not which commands this machine has.
  return LoadConfigFromString(text, "w.yaml", {.check_commands = false});
}

// Every error names the file, or is about reading it.
void ExpectWellFormedErrors(const LoadResult& r) {
  for (const ConfigError& e : r.errors) {
    EXPECT_EQ(e.location.file, "w.yaml") << e.ToString();
    EXPECT_GE(e.location.line, 1) << e.ToString();
    EXPECT_GE(e.location.column, 1) << e.ToString();
    EXPECT_FALSE(e.message.empty());
  }
}

TEST(LoaderHostileTest, TooLargeText) {
  std::string text(8 << 20, '#');
  EXPECT_TRUE(Load(text).ok());
  text += "#";
  LoadResult r = Load(text);
  ASSERT_EQ(r.errors.size(), 1u) << AllErrors(r);
  EXPECT_EQ(r.errors[0].ToString(),
            "w.yaml: file too large (8388609 bytes; the limit is 8 MiB)");
}

TEST(LoaderHostileTest, TooLargeFiles) {
  TempDir dir;
  std::string big = dir.File("big.yaml");
  ASSERT_TRUE(watchd::testing::WriteFile(big, ""));
  ASSERT_EQ(truncate(big.c_str(), off_t{1} << 40), 0);  // sparse: a terabyte
  LoadResult r = LoadConfig(big);
  ASSERT_EQ(r.errors.size(), 1u) << AllErrors(r);
  EXPECT_EQ(r.errors[0].ToString(),
            big + ": file too large (1099511627776 bytes; the limit is 8 MiB)");
}

TEST(LoaderHostileTest, TooLargeIncludedFile) {
  TempDir dir;
  std::string big = dir.File("big.yaml");
  ASSERT_TRUE(
      watchd::testing::WriteFile(big, std::string((8 << 20) + 1, '\n')));
  ASSERT_TRUE(
      watchd::testing::WriteFile(dir.File("w.yaml"), "include: big.yaml\n"));
  LoadResult r = LoadConfig(dir.File("w.yaml"));
  ASSERT_EQ(r.errors.size(), 1u) << AllErrors(r);
  EXPECT_EQ(r.errors[0].ToString(),
            dir.File("w.yaml") + ":1:10: " + big +
                ": file too large (8388609 bytes; the limit "
                "is 8 MiB)");
}

TEST(LoaderHostileTest, DeepFlowNesting) {
  for (char open : {'[', '{'}) {
    LoadResult r = Load(std::string(100000, open));
    ASSERT_EQ(r.errors.size(), 1u) << AllErrors(r);
    EXPECT_EQ(r.errors[0].ToString(),
              "w.yaml:1:64: nesting deeper than 64 levels");
  }
  std::string mixed = "services: ";
  for (int i = 0; i < 50000; ++i) mixed += "{a: [";
  LoadResult r = Load(mixed);
  ASSERT_EQ(r.errors.size(), 1u) << AllErrors(r);
  // "services:" counts two levels, then each bracket one: the 63rd is too many.
  EXPECT_EQ(r.errors[0].ToString(),
            "w.yaml:1:166: nesting deeper than 64 levels");
}

TEST(LoaderHostileTest, DeepNestingInAFile) {
  TempDir dir;
  ASSERT_TRUE(
      watchd::testing::WriteFile(dir.File("w.yaml"), std::string(100000, '[')));
  LoadResult r = LoadConfig(dir.File("w.yaml"));
  ASSERT_EQ(r.errors.size(), 1u) << AllErrors(r);
  EXPECT_EQ(r.errors[0].ToString(),
            dir.File("w.yaml") + ":1:64: nesting deeper than 64 levels");
}

TEST(LoaderHostileTest, DeepBlockNesting) {
  std::string dashes;
  for (int i = 0; i < 100000; ++i) dashes += "- ";
  LoadResult r = Load(dashes + "x\n");
  EXPECT_TRUE(HasError(r, "w.yaml:1:127", "nesting deeper than 64 levels"));
  std::string indented;
  for (int i = 0; i < 2000; ++i) indented += std::string(i, ' ') + "k:\n";
  r = Load(indented);
  EXPECT_TRUE(HasError(r, "w.yaml:64:65", "nesting deeper than 64 levels"));
}

TEST(LoaderHostileTest, NestingJustUnderTheLimitParses) {
  // 60 open brackets plus "services" and the value: within the limit, and
  // yaml-cpp recurses through them without trouble (also under ASan).
  LoadResult r =
      Load("services: " + std::string(60, '[') + std::string(60, ']') + "\n");
  EXPECT_TRUE(HasError(r, "w.yaml:1:11", "expected a map, found a list"));
  EXPECT_EQ(r.errors.size(), 1u) << AllErrors(r);
}

TEST(LoaderHostileTest, BinaryGarbage) {
  std::mt19937 rng(42);
  for (int round = 0; round < 200; ++round) {
    std::string text(1 + rng() % 4096, '\0');
    for (char& c : text) c = static_cast<char>(rng());
    LoadResult r = Load(text);
    EXPECT_FALSE(r.ok());
    ExpectWellFormedErrors(r);
  }
}

TEST(LoaderHostileTest, InvalidEncoding) {
  LoadResult r = Load("services:\n  web: {program: caf\xe9}\n");
  ASSERT_EQ(r.errors.size(), 1u) << AllErrors(r);
  EXPECT_EQ(
      r.errors[0].ToString(),
      "w.yaml:2:21: not valid UTF-8 (byte 0xe9); configuration files must "
      "be UTF-8 text");
  r = Load(std::string("a: 1\0", 5));
  ASSERT_EQ(r.errors.size(), 1u) << AllErrors(r);
  EXPECT_EQ(r.errors[0].ToString(),
            "w.yaml:1:5: control character 0x00 is not allowed in YAML");
  // UTF-16 with a BOM is not UTF-8.
  r =
      Load(std::string("\xff\xfe"
                       "a\0:\0 \0"
                       "1\0",
                       10));
  EXPECT_TRUE(HasError(r, "w.yaml:1:1", "not valid UTF-8"));
}

TEST(LoaderHostileTest, Utf8AndCrlfAreFine) {
  LoadResult r = Load(
      "\xef\xbb\xbfservices:\r\n"
      "  caf\xc3\xa9-api: {checks: {ping: {tcp: {host: x, port: 1}}}}\r\n");
  EXPECT_TRUE(HasError(r, "w.yaml:2:3", "invalid service name"));
  r = Load(
      "services:\r\n  web:\r\n    program: 'caf\xc3\xa9 \xf0\x9f\x99\x82'\r\n");
  ASSERT_TRUE(r.ok()) << AllErrors(r);
  EXPECT_EQ(r.config.services[0].program, "caf\xc3\xa9 \xf0\x9f\x99\x82");
}

// "Billion laughs": each level refers nine times to the one before.
std::string Laughs(int levels) {
  std::string text = "daemon: {state_file: &l0 lol}\nx:\n";
  for (int i = 1; i <= levels; ++i) {
    text += "  - &l" + std::to_string(i) + " [";
    for (int k = 0; k < 9; ++k)
      text += (k ? ", *l" : "*l") + std::to_string(i - 1);
    text += "]\n";
  }
  return text;
}

TEST(LoaderHostileTest, BillionLaughsInIgnoredAndScalarPlaces) {
  std::string text = Laughs(12) +
                     "services:\n"
                     "  a:\n"
                     "    depends_on: *l12\n"
                     "    checks: {d: {dns: {name: x, expect: *l12}}}\n";
  LoadResult r = Load(text);
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(HasError(r, "w.yaml:2:1", "unknown key 'x'"));
  // Each of the nine items is a list where a string belongs: reported, not
  // expanded.
  EXPECT_LE(r.errors.size(), 20u) << AllErrors(r);
}

TEST(LoaderHostileTest, AliasBombThroughTheSchemaHitsTheBudget) {
  // One service with 1000 checks, then 5000 services that are that service:
  // five million checks if expanded.
  std::string text = "services:\n  s0: &svc\n    checks:\n";
  for (int i = 0; i < 1000; ++i) {
    text += "      c" + std::to_string(i) + ": {tcp: {host: x, port: 1}}\n";
  }
  for (int i = 1; i <= 5000; ++i)
    text += "  s" + std::to_string(i) + ": *svc\n";
  LoadResult r = Load(text);
  ASSERT_EQ(r.errors.size(), 1u) << AllErrors(r);
  EXPECT_NE(r.errors[0].message.find(
                "configuration too large once its aliases are expanded"),
            std::string::npos);
  size_t checks = 0;
  for (const ServiceConfig& s : r.config.services) checks += s.checks.size();
  EXPECT_LT(checks, 100000u);
}

TEST(LoaderHostileTest, SelfReferentialAnchors) {
  LoadResult r = Load("services: &s {a: *s}\n");
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(HasError(r, "w.yaml:1:15", "unknown key 'a'"));
  r = Load("services: {a: &a {checks: {c: {exec: &e [x, *e]}}}, b: *a}\n");
  EXPECT_FALSE(r.ok());
  ExpectWellFormedErrors(r);
}

TEST(LoaderHostileTest, ErrorCountIsCapped) {
  std::string text = "daemon:\n";
  for (int i = 0; i < 5000; ++i) text += "  k" + std::to_string(i) + ": 1\n";
  LoadResult r = Load(text);
  ASSERT_EQ(r.errors.size(), 1001u);
  EXPECT_EQ(r.errors.back().ToString(), "w.yaml: 4000 more errors not shown");
  EXPECT_TRUE(HasError(r, "w.yaml:2:3", "unknown key 'k0'"));
}

TEST(LoaderHostileTest, HostileRegexes) {
  std::string deep;
  for (int i = 0; i < 33; ++i) deep += "(";
  deep += "a";
  for (int i = 0; i < 33; ++i) deep += ")";
  std::string ok_depth = deep.substr(1, deep.size() - 2);
  LoadResult r = Load(
      "services:\n"
      "  a:\n"
      "    checks:\n"
      "      a: {tcp: {host: x, port: 1, expect: '" +
      std::string(100000, '(') +
      "'}}\n"
      "      b: {tcp: {host: x, port: 1, expect: '" +
      deep +
      "'}}\n"
      "      c: {tcp: {host: x, port: 1, expect: '" +
      ok_depth +
      "'}}\n"
      "      d: {tcp: {host: x, port: 1, expect: '" +
      std::string(1024, 'a') +
      "'}}\n"
      "      e: {tcp: {host: x, port: 1, expect: 'a{1000}{1000}'}}\n"
      "      f: {tcp: {host: x, port: 1, expect: '(a)\\1'}}\n");
  EXPECT_TRUE(HasError(r, "w.yaml:4:43", "regex longer than 1024 bytes"));
  EXPECT_TRUE(HasError(r, "w.yaml:5:43", "regex nests groups deeper than 32"));
  EXPECT_TRUE(HasError(r, "w.yaml:8:43", "invalid regex 'a{1000}{1000}'"));
  EXPECT_TRUE(HasError(r, "w.yaml:9:43", "invalid regex '(a)\\1'"));
  EXPECT_EQ(r.errors.size(), 4u) << AllErrors(r);
}

TEST(LoaderHostileTest, HugeKeysAndValues) {
  // YAML limits implicit keys to 1024 characters; values are unlimited.
  std::string key(1000, 'k');
  std::string value(1 << 20, 'v');
  LoadResult r = Load("daemon: {" + key + ": 1}\nservices: {" + key +
                      ": {program: " + value + "}}\n");
  ASSERT_EQ(r.errors.size(), 2u) << AllErrors(r);
  EXPECT_TRUE(HasError(r, "w.yaml:1:10", "unknown key 'kkkk"));
  EXPECT_TRUE(HasError(r, "w.yaml:2:12", "invalid service name"));
  r = Load("services: {a: {program: " + value + "}}\n");
  ASSERT_TRUE(r.ok()) << AllErrors(r);
  EXPECT_EQ(r.config.services[0].program, value);
  r = Load("daemon: {" + std::string(2000, 'k') + ": 1}\n");
  EXPECT_FALSE(r.ok());
  ExpectWellFormedErrors(r);
}

TEST(LoaderHostileTest, ManyDocumentsAndOddStreams) {
  for (std::string text :
       {"a: 1\n---\nb: 2\n", "--- \n...\n--- x\n",
        "%YAML 1.2\n---\nservices: {}\n", "? [a]\n: b\n", "!!binary abc\n",
        "&a\n", "*a\n", "[]: x\n", "{}\n", "services: {? [x] : y}\n",
        "services:\n  - a\n  b: c\n", "\"\\x\"\n"}) {
    LoadResult r = Load(text);
    ExpectWellFormedErrors(r);
  }
  EXPECT_TRUE(Load("%YAML 1.2\n---\nservices: {}\n").ok());
  EXPECT_TRUE(Load("{}\n").ok());
}

TEST(LoaderHostileTest, RandomMutationsOfAValidConfig) {
  const std::string base =
      "daemon: {metrics_listen: '127.0.0.1:9109', log_level: info}\n"
      "defaults: {interval: 10s, timeout: 2s, jitter: 10%}\n"
      "supervisors:\n"
      "  main: {type: supervisord, url: 'unix:///run/s.sock'}\n"
      "  cmd: {type: command, restart: [/bin/x, '{program}']}\n"
      "services:\n"
      "  web:\n"
      "    supervisor: main\n"
      "    depends_on: [db]\n"
      "    restart_limit: {max: 3, within: 10m, then: unmonitor}\n"
      "    checks:\n"
      "      h: {http: {url: 'http://127.0.0.1/', expect_status: [200], "
      "expect_body: 'o+k', headers: {A: b}}, on_failure: restart}\n"
      "      t: {tcp: {host: x, port: 80, send: \"a\\n\", expect: '^b'}}\n"
      "      p: {process: {}}\n"
      "      m: {memory: {rss_max: 1GiB}}\n"
      "  db:\n"
      "    pidfile: /run/db.pid\n"
      "    checks:\n"
      "      d: {dns: {name: x.org, type: A, server: '::1', expect: "
      "[1.2.3.4]}}\n"
      "      e: {exec: [/bin/true]}\n";
  ASSERT_TRUE(Load(base).ok()) << AllErrors(Load(base));
  const std::string alphabet = " \n\t:-[]{},'\"#&*!|>?%@`\\0aZ9.\xc3\xa9";
  std::mt19937 rng(7);
  for (int round = 0; round < 3000; ++round) {
    std::string text = base;
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < edits; ++k) {
      size_t at = rng() % text.size();
      switch (rng() % 3) {
        case 0:
          text.erase(at, 1 + rng() % 3);
          break;
        case 1:
          text.insert(at, 1, alphabet[rng() % alphabet.size()]);
          break;
        default:
          text[at] = alphabet[rng() % alphabet.size()];
          break;
      }
    }
    LoadResult r = Load(text);
    if (!r.ok()) ExpectWellFormedErrors(r);
  }
}

}  // namespace
}  // namespace watchd
