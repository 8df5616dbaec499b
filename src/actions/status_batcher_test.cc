#include "actions/status_batcher.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/event_loop.h"
#include "core/fake_clock.h"

namespace watchd {
namespace {

using std::chrono::milliseconds;

// The requests a batcher makes, answered by the test.
class FakeFetch {
 public:
  struct Request {
    std::vector<std::string> programs;
    StatusBatcher::FetchDone done;
    bool cancelled = false;
  };

  class Handle final : public SupervisorCall {
   public:
    explicit Handle(Request* request) : request_(request) {}
    ~Handle() override { request_->cancelled = true; }

   private:
    Request* request_;
  };

  StatusBatcher::Fetch Get() {
    return [this](const std::vector<std::string>& programs,
                  StatusBatcher::FetchDone done) {
      requests_.push_back(
          std::make_unique<Request>(Request{programs, std::move(done)}));
      return std::make_unique<Handle>(requests_.back().get());
    };
  }

  size_t size() const { return requests_.size(); }
  Request& operator[](size_t i) { return *requests_.at(i); }

  // Answers request i: each program's pid is its number in `pids`.
  void Answer(size_t i, const std::map<std::string, pid_t>& pids) {
    std::vector<StatusReply> replies;
    for (const std::string& program : (*this)[i].programs) {
      replies.push_back({ProgramStatus{pids.at(program), "RUNNING"}});
    }
    Take(i)(std::move(replies));
  }

  void Fail(size_t i, const std::string& reason) {
    Take(i)(Status::Error(reason));
  }

 private:
  StatusBatcher::FetchDone Take(size_t i) {
    EXPECT_FALSE((*this)[i].cancelled);
    return std::move((*this)[i].done);
  }

  std::vector<std::unique_ptr<Request>> requests_;
};

class StatusBatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(loop_.Init().ok());
    batcher_ = StatusBatcher::Create(&loop_, fetch_.Get(), options_);
  }

  // One pass of the loop, without waiting: the due timers run.
  void Pass() { loop_.RunOnce(Duration::zero()); }

  // A GetStatus whose answer lands in answers_[tag].
  std::unique_ptr<SupervisorCall> Add(const std::string& program,
                                      const std::string& tag) {
    return batcher_->Add(program, [this, tag](StatusReply reply) {
      order_.push_back(tag);
      answers_.emplace(tag, std::move(reply));
    });
  }

  pid_t PidOf(const std::string& tag) {
    auto it = answers_.find(tag);
    if (it == answers_.end() || !it->second.status.ok()) return -1;
    return it->second.status->pid;
  }

  std::string ErrorOf(const std::string& tag) {
    auto it = answers_.find(tag);
    if (it == answers_.end() || it->second.status.ok()) return "";
    return it->second.status.status().message();
  }

  FakeClock clock_;
  EventLoop loop_{&clock_};
  FakeFetch fetch_;
  StatusBatcher::Options options_{milliseconds(100), 3};
  std::shared_ptr<StatusBatcher> batcher_;
  std::map<std::string, StatusReply> answers_;
  std::vector<std::string> order_;
};

TEST_F(StatusBatcherTest, CallsOfOnePassShareOneRequest) {
  auto a1 = Add("a", "a1");
  auto b = Add("b", "b");
  auto a2 = Add("a", "a2");
  EXPECT_EQ(fetch_.size(), 0u);
  Pass();
  ASSERT_EQ(fetch_.size(), 1u);
  EXPECT_EQ(fetch_[0].programs, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(answers_.empty());
  fetch_.Answer(0, {{"a", 10}, {"b", 20}});
  EXPECT_EQ(order_, (std::vector<std::string>{"a1", "b", "a2"}));
  EXPECT_EQ(PidOf("a1"), 10);
  EXPECT_EQ(PidOf("a2"), 10);
  EXPECT_EQ(PidOf("b"), 20);
  clock_.Advance(milliseconds(500));
  Pass();
  EXPECT_EQ(fetch_.size(), 1u);
}

TEST_F(StatusBatcherTest, CancellingOneCallerKeepsTheRequest) {
  auto a = Add("a", "a");
  auto b = Add("b", "b");
  Pass();
  ASSERT_EQ(fetch_.size(), 1u);
  a.reset();
  EXPECT_FALSE(fetch_[0].cancelled);
  fetch_.Answer(0, {{"a", 10}, {"b", 20}});
  EXPECT_EQ(order_, std::vector<std::string>{"b"});
  EXPECT_EQ(PidOf("b"), 20);
}

TEST_F(StatusBatcherTest, CancellingEveryCallerCancelsTheRequest) {
  auto a = Add("a", "a");
  auto b = Add("b", "b");
  Pass();
  ASSERT_EQ(fetch_.size(), 1u);
  b.reset();
  a.reset();
  EXPECT_TRUE(fetch_[0].cancelled);
  // A caller cancelled before its batch started is never asked about.
  auto c = Add("c", "c");
  c.reset();
  clock_.Advance(milliseconds(500));
  Pass();
  EXPECT_EQ(fetch_.size(), 1u);
  EXPECT_TRUE(answers_.empty());
}

TEST_F(StatusBatcherTest, CallsFromACallbackJoinTheNextBatch) {
  std::unique_ptr<SupervisorCall> again;
  auto a = batcher_->Add("a", [&](StatusReply reply) {
    answers_.emplace("a", std::move(reply));
    again = Add("a", "again");
  });
  auto b = Add("b", "b");
  Pass();
  fetch_.Answer(0, {{"a", 10}, {"b", 20}});
  EXPECT_EQ(PidOf("a"), 10);
  EXPECT_EQ(PidOf("b"), 20);
  EXPECT_EQ(answers_.count("again"), 0u);
  ASSERT_EQ(fetch_.size(), 1u);
  // Under load the next batch waits for the spacing, then goes.
  Pass();
  EXPECT_EQ(fetch_.size(), 1u);
  clock_.Advance(milliseconds(100));
  Pass();
  ASSERT_EQ(fetch_.size(), 2u);
  EXPECT_EQ(fetch_[1].programs, std::vector<std::string>{"a"});
  fetch_.Answer(1, {{"a", 11}});
  EXPECT_EQ(PidOf("again"), 11);
}

TEST_F(StatusBatcherTest, ACallbackMayDestroyItsOwnAndOtherCalls) {
  std::unique_ptr<SupervisorCall> a, b, c;
  a = batcher_->Add("a", [&](StatusReply) {
    order_.push_back("a");
    a.reset();
    b.reset();
  });
  b = Add("b", "b");
  c = Add("c", "c");
  Pass();
  fetch_.Answer(0, {{"a", 10}, {"b", 20}, {"c", 30}});
  EXPECT_EQ(order_, (std::vector<std::string>{"a", "c"}));
  EXPECT_EQ(PidOf("c"), 30);
}

TEST_F(StatusBatcherTest, AFailureAnswersEveryWaitingCaller) {
  auto a = Add("a", "a");
  auto b = Add("b", "b");
  Pass();
  // Queued behind the request in flight.
  auto c = Add("c", "c");
  clock_.Advance(milliseconds(500));
  Pass();
  ASSERT_EQ(fetch_.size(), 1u);
  fetch_.Fail(0, "timed out after 1s");
  EXPECT_EQ(order_, (std::vector<std::string>{"a", "b", "c"}));
  for (const char* tag : {"a", "b", "c"}) {
    EXPECT_EQ(ErrorOf(tag), "timed out after 1s") << tag;
    EXPECT_FALSE(answers_.at(tag).unknown_program) << tag;
  }
  clock_.Advance(milliseconds(500));
  Pass();
  EXPECT_EQ(fetch_.size(), 1u);
}

TEST_F(StatusBatcherTest, OneRequestAtATime) {
  auto a = Add("a", "a");
  Pass();
  auto b = Add("b", "b");
  clock_.Advance(milliseconds(500));
  Pass();
  ASSERT_EQ(fetch_.size(), 1u);
  fetch_.Answer(0, {{"a", 10}});
  EXPECT_EQ(answers_.count("b"), 0u);
  // The spacing has passed already: b goes on the next pass.
  Pass();
  ASSERT_EQ(fetch_.size(), 2u);
  EXPECT_EQ(fetch_[1].programs, std::vector<std::string>{"b"});
}

TEST_F(StatusBatcherTest, AnIdleBatcherAsksOnTheNextPass) {
  auto a = Add("a", "a");
  Pass();
  fetch_.Answer(0, {{"a", 10}});
  clock_.Advance(milliseconds(100));
  auto b = Add("b", "b");
  Pass();
  ASSERT_EQ(fetch_.size(), 2u);
}

TEST_F(StatusBatcherTest, AFullBatchLeavesTheRestForTheNextAtOnce) {
  std::vector<std::unique_ptr<SupervisorCall>> calls;
  for (const char* p : {"a", "b", "a", "c", "d", "b", "e"}) {
    calls.push_back(Add(p, std::string(p) + std::to_string(calls.size())));
  }
  Pass();
  ASSERT_EQ(fetch_.size(), 1u);
  EXPECT_EQ(fetch_[0].programs, (std::vector<std::string>{"a", "b", "c"}));
  fetch_.Answer(0, {{"a", 1}, {"b", 2}, {"c", 3}});
  EXPECT_EQ(order_, (std::vector<std::string>{"a0", "b1", "a2", "c3"}));
  // No spacing: callers are left waiting.
  Pass();
  ASSERT_EQ(fetch_.size(), 2u);
  EXPECT_EQ(fetch_[1].programs, (std::vector<std::string>{"d", "b", "e"}));
  fetch_.Answer(1, {{"d", 4}, {"b", 5}, {"e", 6}});
  EXPECT_EQ(PidOf("b5"), 5);
  EXPECT_EQ(PidOf("e6"), 6);
}

TEST_F(StatusBatcherTest, CallsOutliveTheirOwner) {
  auto a = Add("a", "a");
  std::weak_ptr<StatusBatcher> weak = batcher_;
  batcher_.reset();
  Pass();
  ASSERT_EQ(fetch_.size(), 1u);
  fetch_.Answer(0, {{"a", 10}});
  EXPECT_EQ(PidOf("a"), 10);
  EXPECT_FALSE(weak.expired());
  a.reset();
  EXPECT_TRUE(weak.expired());
}

TEST_F(StatusBatcherTest, ACallbackMayDropTheLastReference) {
  std::unique_ptr<SupervisorCall> a;
  a = batcher_->Add("a", [&](StatusReply) { a.reset(); });
  auto b = Add("b", "b");
  Pass();
  batcher_.reset();
  b.reset();
  fetch_.Answer(0, {{"a", 10}, {"b", 20}});
  EXPECT_EQ(a, nullptr);
  EXPECT_TRUE(answers_.empty());
}

TEST_F(StatusBatcherTest, GoingAwayCancelsTheRequest) {
  auto a = Add("a", "a");
  Pass();
  batcher_.reset();
  a.reset();
  EXPECT_TRUE(fetch_[0].cancelled);
}

}  // namespace
}  // namespace watchd
