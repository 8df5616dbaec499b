#include "state/saved_state.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace watchd {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr char kBootId[] = "0f5b6c1e-8d2a-4c3b-9e7f-112233445566";

WallTime At(int64_t unix_ms) { return WallTime(milliseconds(unix_ms)); }

SavedState Sample() {
  SavedState state;
  SavedService& web = state.services["web"];
  web.paused = true;
  web.restarts = {At(1767225600000), At(1767225660123)};
  web.consecutive_restarts = 2;
  web.next_restart_allowed = At(1767225670123);
  web.process = SavedProcess{4242, 987654321, kBootId};
  web.checks["health"] = {SavedCheckState::kFailing, 3, 0};
  web.checks["port"] = {SavedCheckState::kPassing, 0, 17};
  SavedService& db = state.services["db"];
  db.limit_reached = true;
  db.checks["alive"] = {SavedCheckState::kPending, 1, 0};
  state.services["upstream"];  // no process, no checks
  return state;
}

std::string Error(std::string_view text) {
  auto state = ParseState(text);
  return state.ok() ? "" : state.status().message();
}

// The sample's text with `edit` applied to its JSON.
std::string Edited(const std::function<void(nlohmann::json&)>& edit) {
  nlohmann::json j = nlohmann::json::parse(SerializeState(Sample()));
  edit(j);
  return j.dump();
}

TEST(SavedStateTest, RoundTrips) {
  SavedState state = Sample();
  auto back = ParseState(SerializeState(state));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(*back, state);
}

TEST(SavedStateTest, EmptyStateRoundTrips) {
  auto back = ParseState(SerializeState(SavedState{}));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_TRUE(back->services.empty());
}

// An operator reading the file sees one service per line and real times.
TEST(SavedStateTest, TextIsVersionedAndReadable) {
  std::string text = SerializeState(Sample());
  EXPECT_EQ(text.rfind("{\"format\":\"watchd-state\",\"version\":1,", 0), 0u)
      << text;
  EXPECT_NE(text.find("\n\"web\":{\"paused\":true,"), std::string::npos);
  EXPECT_NE(text.find("\"2026-01-01T00:01:00.123Z\""), std::string::npos);
}

TEST(SavedStateTest, NamesThatNeedEscapingRoundTrip) {
  SavedState state;
  state.services["we\"b\\.x\n\xc3\xa9"].checks["a.b \x01 c"] = {
      SavedCheckState::kPassing, 0, 1};
  auto back = ParseState(SerializeState(state));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(*back, state);
}

// A name that is not UTF-8 cannot be matched again, but must not make the
// save throw or write a file that cannot be read.
TEST(SavedStateTest, NameThatIsNotUtf8IsReplacedNotThrown) {
  SavedState state;
  state.services["bad\xff"];
  auto back = ParseState(SerializeState(state));
  ASSERT_TRUE(back.ok()) << back.status().message();
  ASSERT_EQ(back->services.size(), 1u);
  EXPECT_EQ(back->services.begin()->first, "bad\xef\xbf\xbd");
}

TEST(SavedStateTest, TimesKeepMillisecondsAndDropTheRest) {
  SavedState state;
  state.services["s"].restarts = {
      WallTime(seconds(1767225600) + std::chrono::microseconds(123999))};
  auto back = ParseState(SerializeState(state));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->services["s"].restarts[0], At(1767225600123));
}

TEST(SavedStateTest, WallTimeFormat) {
  EXPECT_EQ(FormatWallTime(At(0)), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatWallTime(At(1767225599999)), "2025-12-31T23:59:59.999Z");
  // Before 1970 (a board whose clock starts at the epoch, minus uptime).
  EXPECT_EQ(FormatWallTime(At(-1)), "1969-12-31T23:59:59.999Z");
  for (int64_t ms : {int64_t{0}, int64_t{-1}, int64_t{951782400000},
                     int64_t{1767225599999}, int64_t{7258118399999}}) {
    auto back = ParseWallTime(FormatWallTime(At(ms)));
    ASSERT_TRUE(back.has_value()) << ms;
    EXPECT_EQ(*back, At(ms));
  }
}

TEST(SavedStateTest, WallTimeParsesOnlyItsOwnForm) {
  EXPECT_TRUE(ParseWallTime("2024-02-29T12:00:00.000Z").has_value());
  for (const char* bad : {"",
                          "2026-01-01T00:00:00Z",
                          "2026-01-01T00:00:00.000",
                          "2026-01-01 00:00:00.000Z",
                          "2026-01-01T00:00:00.000z",
                          "2026-01-01T00:00:00.000+00:00",
                          "2026-1-01T00:00:00.000Z",
                          " 2026-01-01T00:00:00.000Z",
                          "+026-01-01T00:00:00.000Z",
                          "2025-02-29T00:00:00.000Z",
                          "2026-02-30T00:00:00.000Z",
                          "2026-13-01T00:00:00.000Z",
                          "2026-00-01T00:00:00.000Z",
                          "2026-01-00T00:00:00.000Z",
                          "2026-01-01T24:00:00.000Z",
                          "2026-01-01T00:60:00.000Z",
                          "2026-01-01T00:00:60.000Z",
                          "1899-12-31T23:59:59.999Z",
                          "2201-01-01T00:00:00.000Z",
                          "9999-12-31T23:59:59.999Z"}) {
    EXPECT_FALSE(ParseWallTime(bad).has_value()) << bad;
  }
}

// The documented rule: a time keeps its distance from now, measured by
// each clock at its end.
TEST(SavedStateTest, ClockReadingCarriesTimesByTheirAge) {
  const TimePoint mono_save{std::chrono::hours(5)};
  const ClockReading save{mono_save, At(1767225600000)};
  const TimePoint restart = mono_save - std::chrono::minutes(3);
  const WallTime saved = save.ToWall(restart);
  EXPECT_EQ(saved, At(1767225600000 - 180000));

  // watchd down for a minute, then a new boot: the monotonic clock is far
  // behind, the restart is 4 minutes old.
  const ClockReading load{TimePoint{seconds(30)}, At(1767225660000)};
  EXPECT_EQ(load.ToMono(saved),
            TimePoint{seconds(30)} - std::chrono::minutes(4));
  EXPECT_EQ(load.PastToMono(saved), load.ToMono(saved));

  // The wall clock stepped back an hour meanwhile: the restart would be in
  // the future; it counts as now, not for longer than its window.
  const ClockReading stepped{TimePoint{seconds(30)},
                             At(1767225660000 - 3600000)};
  EXPECT_GT(stepped.ToMono(saved), stepped.mono);
  EXPECT_EQ(stepped.PastToMono(saved), stepped.mono);
}

TEST(SavedStateTest, BootIdForm) {
  EXPECT_TRUE(IsBootId(kBootId));
  EXPECT_FALSE(IsBootId(""));
  EXPECT_FALSE(IsBootId("0F5B6C1E-8D2A-4C3B-9E7F-112233445566"));
  EXPECT_FALSE(IsBootId("0f5b6c1e-8d2a-4c3b-9e7f-11223344556"));
  EXPECT_FALSE(IsBootId("0f5b6c1e-8d2a-4c3b-9e7f-1122334455667"));
  EXPECT_FALSE(IsBootId("0f5b6c1e08d2a-4c3b-9e7f-112233445566"));
  EXPECT_FALSE(IsBootId("0f5b6c1e-8d2a-4c3b-9e7f-11223344556g"));
}

TEST(SavedStateTest, NotJsonIsNamedWithItsPlace) {
  EXPECT_EQ(Error(""),
            "not valid JSON: parse error at line 1, column 1: syntax error "
            "while parsing value - unexpected end of input; expected '[', "
            "'{', or a literal");
  EXPECT_NE(Error("{\"format\": watchd}")
                .find("not valid JSON: parse error at line 1, column 12"),
            std::string::npos)
      << Error("{\"format\": watchd}");
  EXPECT_NE(Error("\x89PNG\r\n\x1a\n\0\0").find("not valid JSON"),
            std::string::npos);
  // Bytes after the document: a second write appended, not ours.
  EXPECT_NE(Error(SerializeState(Sample()) + "{}").find("not valid JSON"),
            std::string::npos);
}

TEST(SavedStateTest, ForeignJsonIsNotAStateFile) {
  const std::string foreign =
      "not a watchd state file (it has no \"format\": \"watchd-state\")";
  EXPECT_EQ(Error("[]"), foreign);
  EXPECT_EQ(Error("42"), foreign);
  EXPECT_EQ(Error("{\"services\": {}}"), foreign);
  EXPECT_EQ(Error("{\"format\": \"monit\", \"version\": 1}"), foreign);
}

TEST(SavedStateTest, OtherVersionsAreRefusedByNumber) {
  EXPECT_EQ(Error("{\"format\":\"watchd-state\",\"version\":999,"
                  "\"whatever\":[1,2]}"),
            "version 999 is not supported (this watchd reads version 1)");
  EXPECT_EQ(Error("{\"format\":\"watchd-state\",\"version\":0}"),
            "version 0 is not supported (this watchd reads version 1)");
  EXPECT_EQ(Error("{\"format\":\"watchd-state\",\"version\":\"1\"}"),
            "version \"1\" is not supported (this watchd reads version 1)");
  EXPECT_EQ(Error("{\"format\":\"watchd-state\",\"version\":1.0}"),
            "version 1.0 is not supported (this watchd reads version 1)");
  EXPECT_EQ(Error("{\"format\":\"watchd-state\"}"), "missing \"version\"");
}

struct BadEdit {
  const char* pointer;  // JSON pointer into the sample
  nlohmann::json value;
  const char* error;
};

// Each value replaced by one of a wrong type or range: the error names the
// place and what was expected, and nothing throws.
TEST(SavedStateTest, WrongTypesAndRangesNameTheirPlace) {
  const BadEdit edits[] = {
      {"/services", nlohmann::json::array(),
       "services: expected an object, not []"},
      {"/services/web", 1, "services.web: expected an object, not 1"},
      {"/services/web/paused", "yes",
       "services.web.paused: expected true or false, not \"yes\""},
      {"/services/web/paused", 1,
       "services.web.paused: expected true or false, not 1"},
      {"/services/db/limit_reached", nullptr,
       "services.db.limit_reached: expected true or false, not null"},
      {"/services/web/restarts", "2026-01-01T00:00:00.000Z",
       "services.web.restarts: expected an array, not "
       "\"2026-01-01T00:00:00.000Z\""},
      {"/services/web/restarts/1", 1767225600,
       "services.web.restarts[1]: expected a time as "
       "2026-01-31T23:59:59.999Z, not 1767225600"},
      {"/services/web/restarts/1", "2025-12-31T00:00:00.000Z",
       "services.web.restarts[1]: earlier than the restart before it"},
      {"/services/web/consecutive_restarts", -1,
       "services.web.consecutive_restarts: expected an integer from 0 to "
       "2147483647, not -1"},
      {"/services/web/consecutive_restarts", 2.5,
       "services.web.consecutive_restarts: expected an integer from 0 to "
       "2147483647, not 2.5"},
      {"/services/web/consecutive_restarts", 2147483648u,
       "services.web.consecutive_restarts: expected an integer from 0 to "
       "2147483647, not 2147483648"},
      {"/services/web/next_restart_allowed", "soon",
       "services.web.next_restart_allowed: expected a time as "
       "2026-01-31T23:59:59.999Z, not \"soon\""},
      {"/services/web/process", 4242,
       "services.web.process: expected an object or null, not 4242"},
      {"/services/web/process/pid", 0,
       "services.web.process.pid: expected an integer from 1 to 2147483647, "
       "not 0"},
      {"/services/web/process/pid", "4242",
       "services.web.process.pid: expected an integer from 1 to 2147483647, "
       "not \"4242\""},
      {"/services/web/process/start_time", -5,
       "services.web.process.start_time: expected an integer from 0 to "
       "18446744073709551615, not -5"},
      {"/services/web/process/boot_id", "not-a-boot-id",
       "services.web.process.boot_id: expected a boot id, not "
       "\"not-a-boot-id\""},
      {"/services/web/checks", nlohmann::json::array(),
       "services.web.checks: expected an object, not []"},
      {"/services/web/checks/health", "failing",
       "services.web.checks.health: expected an object, not \"failing\""},
      {"/services/web/checks/health/state", "hung",
       "services.web.checks.health.state: expected pending, passing or "
       "failing, not \"hung\""},
      {"/services/web/checks/port/consecutive_successes", true,
       "services.web.checks.port.consecutive_successes: expected an integer "
       "from 0 to 2147483647, not true"},
  };
  for (const BadEdit& e : edits) {
    std::string text = Edited([&](nlohmann::json& j) {
      j[nlohmann::json::json_pointer(e.pointer)] = e.value;
    });
    EXPECT_EQ(Error(text), e.error) << e.pointer << " in " << text;
  }
}

TEST(SavedStateTest, MissingAndUnknownKeysAreErrors) {
  EXPECT_EQ(Error(Edited([](nlohmann::json& j) { j.erase("services"); })),
            "the file: missing \"services\"");
  EXPECT_EQ(Error(Edited([](nlohmann::json& j) { j["extra"] = 1; })),
            "the file: unknown key \"extra\"");
  EXPECT_EQ(Error(Edited([](nlohmann::json& j) {
              j["services"]["web"].erase("paused");
            })),
            "services.web: missing \"paused\"");
  EXPECT_EQ(Error(Edited([](nlohmann::json& j) {
              j["services"]["web"]["pause"] = true;
            })),
            "services.web: unknown key \"pause\"");
  EXPECT_EQ(Error(Edited([](nlohmann::json& j) {
              j["services"]["web"]["process"].erase("boot_id");
            })),
            "services.web.process: missing \"boot_id\"");
  EXPECT_EQ(Error(Edited([](nlohmann::json& j) {
              j["services"]["db"]["checks"]["alive"]["latency"] = 0;
            })),
            "services.db.checks.alive: unknown key \"latency\"");
}

// A file cut short anywhere (a full disk under another writer, a copy
// interrupted) is an error, never a crash or a partial state (ASan build).
TEST(SavedStateTest, TruncatedAtEveryOffsetIsAnError) {
  const std::string text = SerializeState(Sample());
  // The last bytes are the newline after the closing brace.
  const size_t complete = text.find_last_of('}') + 1;
  for (size_t n = 0; n < complete; ++n) {
    auto state = ParseState(std::string_view(text).substr(0, n));
    EXPECT_FALSE(state.ok()) << "cut at " << n;
  }
  EXPECT_TRUE(ParseState(text.substr(0, complete)).ok());
}

// Every single byte changed to a few hostile values: an error or a valid
// state, never a crash or an exception (ASan build).
TEST(SavedStateTest, CorruptedBytesNeverCrash) {
  const std::string text = SerializeState(Sample());
  for (size_t i = 0; i < text.size(); ++i) {
    for (char c : {'\0', '"', '{', ']', '9', '\xff'}) {
      std::string bad = text;
      bad[i] = c;
      auto state = ParseState(bad);
      if (!state.ok()) {
        EXPECT_FALSE(state.status().message().empty());
      }
    }
  }
}

TEST(SavedStateTest, DeepNestingIsAnErrorNotAStackOverflow) {
  std::string deep = "{\"format\":\"watchd-state\",\"version\":1,\"services\":";
  deep += std::string(100000, '[') + std::string(100000, ']') + "}";
  EXPECT_EQ(Error(deep), "services: expected an object, not an array");
}

}  // namespace
}  // namespace watchd
