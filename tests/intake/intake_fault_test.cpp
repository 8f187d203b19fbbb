// The inbox failing under the intake (its writes fail at the SQLite VFS,
// fault_injection.h): a webhook whose inbox batch fails to commit is
// answered 503 (send again) and nothing of it stays; the intake goes on,
// and the same webhook sent again is taken and decided.
#include <gmock/gmock.h>

#include <condition_variable>
#include <thread>
#include <fstream>
#include <sstream>

#include "connectors/connector.h"
#include "connectors/intake/intake.h"
#include "runtime/engine/engine_thread.h"
#include "runtime/store/fault_injection.h"
#include "tests/runtime/engine_fixture.h"

namespace orderflow::intake {
namespace {

using runtime::testing::EngineTest;

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
  runtime::SqliteOptions faulty;
  faulty.sync_full = false;
  faulty.vfs = runtime::fault_injection::vfs_name();
  auto inbox = runtime::open_sqlite_inbox(inbox_file, faulty);
  auto reader = runtime::open_sqlite_store(db(), {.read_only = true});
  IntakeConfig config;
  config.secrets["shopify"] = {"secret", "", ""};
  int64_t decided = engine_->inbox_decided();
  runtime::EngineThread thread(*engine_, clock_, {});
  Intake intake(thread, decided, *reader, *inbox, inbox_file, config);
  intake.start();

  runtime::fault_injection::fail_writes("-inbox", 1);
  HttpResponse failed = post(intake, text.str());
  runtime::fault_injection::reset();
  EXPECT_EQ(failed.status, 503) << failed.body;
  EXPECT_THAT(failed.body, ::testing::HasSubstr("send again"));
  EXPECT_EQ(runtime::open_sqlite_inbox(inbox_file, {.read_only = true})->last_seq(), 0)
      << "nothing of the failed batch stays in the inbox";

  HttpResponse again = post(intake, text.str());
  EXPECT_EQ(again.status, 200) << again.body;
  EXPECT_THAT(again.body, ::testing::HasSubstr("accepted")) << "the resend is new to the inbox";
  // Decided behind the answer, by the decider (which has the engine's connection: look through another).
  auto looking = runtime::open_sqlite_store(db(), {.read_only = true});
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!looking->orders().get("SHOPIFY-450789469") && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  intake.stop();
  thread.stop();
  EXPECT_TRUE(looking->orders().get("SHOPIFY-450789469").has_value());
  EXPECT_EQ(looking->settings().get("inbox_decided"), "1") << "the engine keeps how far it decided the inbox";
}

TEST_P(IntakeFaultTest, OldDecidedBodiesAreForgottenButStillKnown) {
  std::string inbox_file = runtime::inbox_path(db());
  auto inbox = runtime::open_sqlite_inbox(inbox_file, {.sync_full = false});
  auto reader = runtime::open_sqlite_store(db(), {.read_only = true});
  IntakeConfig config;
  config.inbox_keep_days = 30;
  int64_t decided = engine_->inbox_decided();
  runtime::EngineThread thread(*engine_, clock_, {});
  Intake intake(thread, decided, *reader, *inbox, inbox_file, config);
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
