// The part of the webhook and mail senders that drives one libcurl
// transfer on the loop's CurlMulti, as the http probe does: a subclass
// sets the transfer's options and judges its end.
#ifndef WATCHD_NOTIFY_CURL_SENDER_H_
#define WATCHD_NOTIFY_CURL_SENDER_H_

#include <curl/curl.h>

#include <optional>
#include <string>
#include <vector>

#include "core/timer_wheel.h"
#include "notify/sender.h"

namespace watchd {

class CurlMulti;

class CurlSender : public Sender {
 public:
  explicit CurlSender(CurlMulti* curl);
  // Removes a transfer in flight (its `done` is not called).
  ~CurlSender() override;

  void Send(const std::vector<Notification>& batch, Done done) final;

 protected:
  // Sets what is particular to the target on `easy` (already set: no
  // signals, no proxy, a fresh connection, the error buffer). An error
  // fails the delivery for good.
  virtual Status Configure(CURL* easy,
                           const std::vector<Notification>& batch) = 0;
  // The outcome of the finished transfer; error() holds curl's detail.
  virtual Delivery Judge(CURL* easy, CURLcode code) = 0;

  // curl's message for the last transfer, or its generic text for `code`.
  std::string Error(CURLcode code) const;
  CurlMulti* curl() const { return curl_; }

 private:
  void OnTransferDone(CURLcode code);
  // Ends the delivery from the loop: Send never calls `done` itself.
  void FailLater(Delivery delivery);
  void OnTimer();
  // Moves the callback out and calls it: the sender's last act.
  void Finish(Delivery delivery);

  CurlMulti* curl_;
  CURL* easy_ = nullptr;  // while a transfer is in flight
  Done done_;
  std::optional<Delivery> deferred_;
  Timer timer_;
  char error_[CURL_ERROR_SIZE] = {};
};

}  // namespace watchd

#endif  // WATCHD_NOTIFY_CURL_SENDER_H_
