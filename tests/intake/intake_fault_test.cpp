// The inbox failing under the intake: a webhook whose inbox batch fails to
// commit is answered 503 (send again) and nothing of it stays; the intake
// goes on, and the same webhook sent again is taken and decided.
#include <gmock/gmock.h>

#include <condition_variable>
#include <thread>
#include <fstream>
#include <sstream>

#include "connectors/connector.h"
#include "connectors/intake/intake.h"
#include "tests/runtime/engine_fixture.h"

namespace orderflow::intake {
namespace {

using runtime::testing::EngineTest;

// Passes everything to a real inbox, failing the next commits when told.
class FaultyInbox final : public runtime::Inbox {
 public:
  explicit FaultyInbox(runtime::Inbox& inner) : i_(inner) {}
  std::atomic<int> fail_commits = 0;
  void begin() override { i_.begin(); }
  void commit() override {
    if (fail_commits > 0) {
      --fail_commits;
      throw runtime::StoreError("injected: disk I/O error", 10);
    }
    i_.commit();
  }
  void rollback() override { i_.rollback(); }
  bool in_transaction() const override { return i_.in_transaction(); }
  bool add(runtime::InboxEntry& e) override { return i_.add(e); }
  std::vector<runtime::InboxEntry> after(int64_t seq, size_t limit) override { return i_.after(seq, limit); }
  int64_t last_seq() override { return i_.last_seq(); }
  int64_t forget_bodies(int64_t d, int64_t before) override { return i_.forget_bodies(d, before); }
  std::optional<std::string> cursor(const std::string& name) override { return i_.cursor(name); }
  void set_cursor(const std::string& name, const std::string& value) override { i_.set_cursor(name, value); }
  void request_fetch(const runtime::FetchRequest& f) override { i_.request_fetch(f); }
  std::vector<runtime::FetchRequest> fetches(const std::string& c, size_t l) override { return i_.fetches(c, l); }
  void fetched(const std::string& c, const std::string& id) override { i_.fetched(c, id); }
  void log_told(const runtime::ToldRecord& t) override { i_.log_told(t); }
  std::vector<runtime::ToldRecord> told(size_t limit) override { return i_.told(limit); }

 private:
  runtime::Inbox& i_;
};

class IntakeFaultTest : public EngineTest {
 protected:
  HttpResponse post(Intake& intake, const std::string& body) {
    HttpRequest r{"POST", "/webhooks/shopify", {}, body};
    r.headers["x-shopify-hmac-sha256"] = connectors::base64(connectors::hmac_sha256("secret", body));
    std::mutex m;
    std::condition_variable done;
    std::optional<HttpResponse> answer;
    intake.handle(r, [&](HttpResponse a) {
      std::lock_guard lock(m);
      answer = std::move(a);
      done.notify_all();
    });
    std::unique_lock lock(m);
    done.wait_for(lock, std::chrono::seconds(10), [&] { return answer.has_value(); });
    return answer.value_or(HttpResponse{0, "no answer", ""});
  }
};

TEST_P(IntakeFaultTest, FailedInboxCommitAnswers503AndKeepsNothing) {
  std::ifstream in(std::string(ORDERFLOW_SHARED_DIR) + "/payloads/shopify/rest_fixture_order.json");
  std::stringstream text;
  text << in.rdbuf();
  std::string inbox_file = runtime::inbox_path(db());
  auto real = runtime::open_sqlite_inbox(inbox_file, {.sync_full = false});
  FaultyInbox inbox(*real);
  auto reader = runtime::open_sqlite_store(db(), {.read_only = true});
  IntakeConfig config;
  config.secrets["shopify"] = {"secret", "", ""};
  Intake intake(*engine_, *reader, inbox, inbox_file, config);
  intake.start();

  inbox.fail_commits = 1;
  HttpResponse failed = post(intake, text.str());
  EXPECT_EQ(failed.status, 503) << failed.body;
  EXPECT_THAT(failed.body, ::testing::HasSubstr("send again"));
  EXPECT_EQ(real->last_seq(), 0) << "nothing of the failed batch stays in the inbox";

  HttpResponse again = post(intake, text.str());
  EXPECT_EQ(again.status, 200) << again.body;
  EXPECT_THAT(again.body, ::testing::HasSubstr("accepted")) << "the resend is new to the inbox";
  // Decided behind the answer, by the decider (which has the engine's connection: look through another).
  auto looking = runtime::open_sqlite_store(db(), {.read_only = true});
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!looking->get_order("SHOPIFY-450789469") && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  intake.stop();
  EXPECT_TRUE(looking->get_order("SHOPIFY-450789469").has_value());
}

TEST_P(IntakeFaultTest, OldDecidedBodiesAreForgottenButStillKnown) {
  std::string inbox_file = runtime::inbox_path(db());
  auto inbox = runtime::open_sqlite_inbox(inbox_file, {.sync_full = false});
  auto reader = runtime::open_sqlite_store(db(), {.read_only = true});
  IntakeConfig config;
  config.inbox_keep_days = 30;
  Intake intake(*engine_, *reader, *inbox, inbox_file, config);
  const int64_t day = 86'400'000, now = 100 * day;
  runtime::InboxEntry old{0, "woocommerce|old", "woocommerce", "webhook:woocommerce", now - 40 * day, "{}"};
  runtime::InboxEntry recent{0, "woocommerce|recent", "woocommerce", "webhook:woocommerce", now - 5 * day, "{}"};
  runtime::InboxEntry undecided{0, "woocommerce|undecided", "woocommerce", "webhook:woocommerce", now - 40 * day, "{}"};
  ASSERT_TRUE(inbox->add(old));
  ASSERT_TRUE(inbox->add(recent));
  EXPECT_EQ(intake.decide_pending(), 2u);  // both dead letters ({} is no order), but decided
  ASSERT_TRUE(inbox->add(undecided));
  EXPECT_EQ(intake.forget_old_bodies(now), 1) << "only the old, decided body goes";
  std::vector<runtime::InboxEntry> left = inbox->after(0, 10);
  ASSERT_EQ(left.size(), 3u);
  EXPECT_EQ(left[0].body, "");
  EXPECT_EQ(left[1].body, "{}");
  EXPECT_EQ(left[2].body, "{}");
  runtime::InboxEntry again = old;
  EXPECT_FALSE(inbox->add(again)) << "a late redelivery of a forgotten body is still known";
}

INSTANTIATE_TEST_SUITE_P(Engines, IntakeFaultTest, ::testing::Values("interp"));

}  // namespace
}  // namespace orderflow::intake
