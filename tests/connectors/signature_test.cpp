// Checking a webhook's signature: a channel's own scheme (the body signed
// into a header) and Standard Webhooks (an id and a time signed with the
// body), against the Standard Webhooks specification's example.
#include <gtest/gtest.h>

#include "connectors/connector.h"

namespace orderflow::connectors {
namespace {

// The example of spec/standard-webhooks.md (github.com/standard-webhooks/standard-webhooks).
const std::string kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const std::string kBody = R"({"test": 2432232314})";
const int64_t kSent = 1614265330;

std::map<std::string, std::string> signed_headers(const std::string& signature) {
  return {{"webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek"},
          {"webhook-timestamp", std::to_string(kSent)},
          {"webhook-signature", signature}};
}

TEST(StandardWebhooks, TheSpecificationsExampleIsGenuine) {
  auto headers = signed_headers("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
  EXPECT_EQ(verify_standard_webhook(kSecret, {kBody, headers, (kSent + 10) * 1000}), std::nullopt);
}

TEST(StandardWebhooks, AnyOfSeveralSignaturesWillDo) {
  auto headers = signed_headers("v1,aGVsbG8gd29ybGQ= v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
  EXPECT_EQ(verify_standard_webhook(kSecret, {kBody, headers, kSent * 1000}), std::nullopt);
}

TEST(StandardWebhooks, ChangedBodyStaleTimeAndMissingHeadersAreRefused) {
  auto headers = signed_headers("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
  auto changed = verify_standard_webhook(kSecret, {R"({"test": 2432232315})", headers, kSent * 1000});
  ASSERT_TRUE(changed);
  EXPECT_EQ(changed->kind, "bad_signature");
  auto replayed = verify_standard_webhook(kSecret, {kBody, headers, (kSent + 6 * 60) * 1000});
  ASSERT_TRUE(replayed);
  EXPECT_EQ(replayed->kind, "stale");
  EXPECT_NE(replayed->message.find("360 s"), std::string::npos) << replayed->message;
  auto ahead = verify_standard_webhook(kSecret, {kBody, headers, (kSent - 6 * 60) * 1000});
  ASSERT_TRUE(ahead);
  EXPECT_EQ(ahead->kind, "stale");
  headers.erase("webhook-id");
  auto unsigned_ = verify_standard_webhook(kSecret, {kBody, headers, kSent * 1000});
  ASSERT_TRUE(unsigned_);
  EXPECT_EQ(unsigned_->kind, "unsigned");
  EXPECT_EQ(unsigned_->message, "the webhook-id header is missing");
}

// A channel's own scheme, through the connector: Shopify's base64 HMAC of the body.
TEST(ChannelSignatures, ShopifySignsTheBodyIntoItsHeader) {
  const Connector& shopify = *find_connector("shopify");
  WebhookSecret secret{"shpss_secret", "", ""};
  std::string body = R"({"id": 1})";
  std::map<std::string, std::string> headers = {{"x-shopify-hmac-sha256", base64(hmac_sha256("shpss_secret", body))}};
  EXPECT_EQ(shopify.verify_webhook(secret, {body, headers, 0}), std::nullopt);
  auto wrong = shopify.verify_webhook(secret, {R"({"id": 2})", headers, 0});
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->kind, "bad_signature");
  EXPECT_EQ(wrong->message, "the x-shopify-hmac-sha256 signature does not match the body");
  std::map<std::string, std::string> none;
  auto missing = shopify.verify_webhook(secret, {body, none, 0});
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->kind, "unsigned");
}

TEST(Base64, DecodesWhatItEncodes) {
  for (std::string bytes : {std::string(""), std::string("a"), std::string("ab"), std::string("abc"),
                            std::string("\0\xff\x10", 3)})
    EXPECT_EQ(from_base64(base64(bytes)), bytes);
  EXPECT_EQ(from_base64("not base64!"), std::nullopt);
}

}  // namespace
}  // namespace orderflow::connectors
