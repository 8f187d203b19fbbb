// The SQLite store: idempotent intake, timers, deployments, and every way
// the database can be unusable giving a clear error instead of a crash.
#include <gmock/gmock.h>
#include <sqlite3.h>

#include "tests/runtime/engine_fixture.h"

namespace orderflow::runtime::testing {
namespace {

using ::testing::HasSubstr;

TEST(SqliteStore, ClaimsAnIntakeKeyOnce) {
  TempDir dir;
  auto store = open_sqlite_store(dir.file("a.db"));
  store->begin();
  EXPECT_TRUE(store->claim({"shopify", "450789469", "order"}, "SHOP-1"));
  EXPECT_FALSE(store->claim({"shopify", "450789469", "order"}, "SHOP-1"));
  EXPECT_TRUE(store->claim({"shopify", "450789469", "refund-1"}, "SHOP-1"));
  EXPECT_TRUE(store->claim({"amazon", "450789469", "order"}, "AMZ-1"));
  store->commit();
  EXPECT_EQ(store->claimed({"shopify", "450789469", "order"}), "SHOP-1");
}

TEST(SqliteStore, UndoingAMarkUndoesOnlyWhatCameAfterIt) {
  TempDir dir;
  auto store = open_sqlite_store(dir.file("a.db"));
  store->begin();
  JournalEntry first{0, "A", 1, "event", {{"n", 1}}};
  store->append(first);
  store->mark();
  JournalEntry second{0, "A", 2, "event", {{"n", 2}}};
  store->append(second);
  store->undo_to_mark();
  store->commit();
  auto journal = store->journal("A");
  ASSERT_EQ(journal.size(), 1u);
  EXPECT_EQ(journal[0].body["n"], 1);
}

TEST(SqliteStore, TimersComeDueInOrder) {
  TempDir dir;
  auto store = open_sqlite_store(dir.file("a.db"));
  store->begin();
  store->add_timer({0, "B", 300, "hold_timeout", 1});
  int64_t a = store->add_timer({0, "A", 100, "escalation", 1});
  store->add_timer({0, "C", 200, "escalation", 2});
  store->commit();
  EXPECT_EQ(store->next_due(), 100);
  auto due = store->due_timers(250, 10);
  ASSERT_EQ(due.size(), 2u);
  EXPECT_EQ(due[0].order_id, "A");
  EXPECT_EQ(due[1].order_id, "C");
  EXPECT_TRUE(store->delete_timer(a));
  EXPECT_FALSE(store->delete_timer(a));
  EXPECT_EQ(store->next_due(), 200);
}

TEST(SqliteStore, LockedDatabaseSaysSo) {
  TempDir dir;
  auto holder = open_sqlite_store(dir.file("a.db"));
  holder->begin();  // holds the write lock
  SqliteOptions options;
  options.busy_timeout_ms = 50;
  auto other = open_sqlite_store(dir.file("a.db"), options);
  try {
    other->begin();
    FAIL() << "a second writer got the lock";
  } catch (const StoreError& e) {
    EXPECT_THAT(e.what(), HasSubstr("is locked by another process"));
  }
  holder->rollback();
  EXPECT_NO_THROW(other->begin());
  other->rollback();
}

TEST(SqliteStore, FileThatIsNotADatabaseSaysSo) {
  TempDir dir;
  std::ofstream(dir.file("notes.db")) << std::string(8192, 'x');
  try {
    open_sqlite_store(dir.file("notes.db"));
    FAIL() << "opened a text file as a database";
  } catch (const StoreError& e) {
    EXPECT_THAT(e.what(), HasSubstr("is not an orderflow database"));
  }
}

TEST(SqliteStore, CorruptDatabaseGivesAClearErrorNotACrash) {
  TempDir dir;
  {
    auto store = open_sqlite_store(dir.file("a.db"));
    store->begin();
    for (int i = 0; i < 400; ++i) {
      JournalEntry e{0, "ORDER-" + std::to_string(i), i, "event", {{"payload", std::string(200, 'p')}}};
      store->append(e);
    }
    store->commit();
  }
  {
    // Scribble over every page but the first (the header stays valid).
    std::fstream f(dir.file("a.db"), std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(0, std::ios::end);
    auto size = static_cast<size_t>(f.tellg());
    ASSERT_GT(size, 8192u);
    for (size_t at = 4096; at + 512 < size; at += 1024) {
      f.seekp(static_cast<std::streamoff>(at));
      f << std::string(512, '\xA5');
    }
  }
  try {
    auto store = open_sqlite_store(dir.file("a.db"));
    store->journal("ORDER-7");
    store->scan_journal([](const JournalEntry&) {});
    FAIL() << "read a scribbled database without noticing";
  } catch (const StoreError& e) {
    EXPECT_THAT(e.what(), ::testing::AnyOf(HasSubstr("is corrupt"), HasSubstr("is not an orderflow database")));
  }
}

TEST(SqliteStore, FullDatabaseSaysSoAndKeepsWhatWasCommitted) {
  TempDir dir;
  SqliteOptions options;
  options.max_pages = 64;
  auto store = open_sqlite_store(dir.file("a.db"), options);
  store->begin();
  JournalEntry kept{0, "KEPT", 1, "event", {}};
  store->append(kept);
  store->commit();
  try {
    store->begin();
    for (int i = 0; i < 10000; ++i) {
      JournalEntry e{0, "BIG", i, "event", {{"payload", std::string(4000, 'x')}}};
      store->append(e);
    }
    FAIL() << "a capped database never filled up";
  } catch (const StoreError& e) {
    EXPECT_THAT(e.what(), HasSubstr("is full"));
    EXPECT_EQ(e.code() & 0xff, SQLITE_FULL);
  }
  store->rollback();
  EXPECT_EQ(store->journal("KEPT").size(), 1u);
  EXPECT_TRUE(store->journal("BIG").empty());
}

TEST(SqliteStore, FolderThatCannotBeWrittenSaysSo) {
  // /proc takes no new files, even from root.
  try {
    open_sqlite_store("/proc/orderflow-test/orders.db");
    FAIL() << "created a database where no file can be";
  } catch (const StoreError& e) {
    EXPECT_THAT(e.what(), HasSubstr("cannot open '/proc/orderflow-test/orders.db'"));
  }
  if (geteuid() != 0) {  // permissions do not bind root
    TempDir dir;
    std::filesystem::permissions(dir.path(), std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
    EXPECT_THROW(open_sqlite_store(dir.file("a.db")), StoreError);
  }
}

TEST(SqliteStore, ReadingADatabaseThatDoesNotExistSaysSo) {
  TempDir dir;
  SqliteOptions options;
  options.read_only = true;
  try {
    open_sqlite_store(dir.file("missing.db"), options);
    FAIL();
  } catch (const StoreError& e) {
    EXPECT_THAT(e.what(), HasSubstr("does not exist"));
  }
}

TEST(SqliteStore, DeploymentsKeepTheirFiles) {
  TempDir dir;
  auto store = open_sqlite_store(dir.file("a.db"));
  store->begin();
  Deployment d;
  d.content_hash = "abc";
  d.version = "2026.11-3";
  d.files = {{"acceptance.flow", "policy acceptance \"x\"\n"}, {"data/fx.csv", "from,to,rate\n"}};
  int64_t id = store->add_deployment(d);
  store->set_live(id);
  store->commit();
  EXPECT_EQ(store->live(), id);
  auto back = store->deployment(id);
  ASSERT_TRUE(back);
  ASSERT_EQ(back->files.size(), 2u);
  EXPECT_EQ(back->files[1].path, "data/fx.csv");
  EXPECT_EQ(back->files[0].text, "policy acceptance \"x\"\n");
}

}  // namespace
}  // namespace orderflow::runtime::testing
