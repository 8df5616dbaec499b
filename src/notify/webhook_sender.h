// A webhook target: each message is an HTTP POST of JSON (webhook_json.h)
// through libcurl on the loop. Refused connections, timeouts, 408, 429
// and 5xx answers are worth a retry; other non-2xx answers are not.
#ifndef WATCHD_NOTIFY_WEBHOOK_SENDER_H_
#define WATCHD_NOTIFY_WEBHOOK_SENDER_H_

#include <memory>
#include <string>

#include "config/config.h"
#include "notify/curl_sender.h"

namespace watchd {

class WebhookSender : public CurlSender {
 public:
  WebhookSender(CurlMulti* curl, const WebhookTargetConfig& config);
  ~WebhookSender() override;

 protected:
  Status Configure(CURL* easy, const std::vector<Notification>& batch) override;
  Delivery Judge(CURL* easy, CURLcode code) override;

 private:
  struct SlistDeleter {
    void operator()(curl_slist* list) const { curl_slist_free_all(list); }
  };

  static size_t Discard(char* data, size_t size, size_t count, void* self);

  WebhookTargetConfig config_;
  std::unique_ptr<curl_slist, SlistDeleter> headers_;
  std::string body_;  // of the message in flight: curl does not copy it
};

}  // namespace watchd

#endif  // WATCHD_NOTIFY_WEBHOOK_SENDER_H_
