// The SQLite store: idempotent intake, timers, deployments, and every way
// the database can be unusable giving a clear error instead of a crash.
#include <gmock/gmock.h>
#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <map>
#include <thread>

#include "runtime/engine/deployments.h"
#include "runtime/store/inbox.h"
#include "tests/runtime/engine_fixture.h"

namespace orderflow::runtime::testing {
namespace {

using ::testing::HasSubstr;

journal::Record record(const std::string& order, int64_t at, std::vector<journal::Entry> entries) {
  return journal::Record{0, order, at, std::move(entries)};
}

// As the engine does: each record points back at the order's previous one,
// and the order row at its last, which is where an order's history starts.
void append_to_order(Store& store, journal::Record& r) {
  StoredOrder order = store.orders().get(r.order_id).value_or(StoredOrder{.order_id = r.order_id});
  r.previous = order.last_seq;
  store.journal().append(r);
  order.last_seq = r.seq;
  store.orders().put(order);
}

TEST(SqliteStore, ClaimsAnIntakeKeyOnce) {
  TempDir dir;
  auto store = open_sqlite_store(dir.file("a.db"));
  store->begin();
  EXPECT_FALSE(store->orders().claimed({"shopify", "450789469", "order"}));
  store->orders().claim({"shopify", "450789469", "order"}, "SHOP-1");
  store->orders().claim({"shopify", "450789469", "refund-1"}, "SHOP-1");
  store->commit();
  EXPECT_TRUE(store->orders().claimed({"shopify", "450789469", "order"}));
  EXPECT_TRUE(store->orders().claimed({"shopify", "450789469", "refund-1"}));
  EXPECT_FALSE(store->orders().claimed({"amazon", "450789469", "order"}));
}

TEST(SqliteStore, JournalRecordsComeBackAsTheyWent) {
  TempDir dir;
  auto store = open_sqlite_store(dir.file("a.db"));
  store->begin();
  journal::Record first = record("A", 1, {journal::Received{"amazon", "A-1", 1, "v1", "test", R"({"id":"A"})"},
                                          journal::StateChanged{"", "new", true, 1, "received", {{{"new", 2}}}}});
  append_to_order(*store, first);
  journal::Record second = record("A", 2, {journal::TimerSet{7, "escalation", 99, 1}});
  append_to_order(*store, second);
  store->commit();
  EXPECT_EQ(store->journal().last_seq(), second.seq);
  std::vector<journal::Record> back = store->journal().of_order("A");
  ASSERT_EQ(back.size(), 2u);
  ASSERT_EQ(back[0].entries.size(), 2u);
  EXPECT_EQ(std::get<journal::Received>(back[0].entries[0]).external_id, "A-1");
  EXPECT_EQ(std::get<journal::StateChanged>(back[0].entries[1]).lines[0][0], (LineState{"new", 2}));
  EXPECT_EQ(std::get<journal::TimerSet>(back[1].entries[0]).due, 99);
  EXPECT_EQ(store->journal().after(first.seq, 10).size(), 1u);
}

// Waits up to five seconds for the checkpoint thread to copy the WAL into
// `path`; returns the file's size then.
uintmax_t size_once_checkpointed(const std::string& path) {
  for (int i = 0; i < 500 && std::filesystem::file_size(path) <= 4096; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return std::filesystem::file_size(path);
}

// The checkpoint thread's connection once read nothing, so its checkpoints
// did nothing: both WALs grew for as long as `serve` ran (1 GB of inbox WAL
// after 100,000 webhooks) and the files stayed empty.
TEST(SqliteStore, WalIsCopiedIntoTheDatabaseAsItGrows) {
  TempDir dir;
  auto store = open_sqlite_store(dir.file("a.db"));
  std::string body(3000, 'x');
  for (int batch = 0; batch < 40; ++batch) {
    store->begin();
    for (int i = 0; i < 50; ++i) {
      std::string id = "O-" + std::to_string(batch * 50 + i);
      journal::Record r = record(id, 1, {journal::Received{"amazon", id, 1, "v1", "test", body}});
      append_to_order(*store, r);
    }
    store->commit();
  }
  EXPECT_GT(size_once_checkpointed(dir.file("a.db")), 1u << 20);
}

TEST(SqliteInbox, WalIsCopiedIntoTheInboxAsItGrows) {
  TempDir dir;
  auto inbox = open_sqlite_inbox(dir.file("a.db-inbox"));
  std::string body(5000, 'x');
  for (int batch = 0; batch < 100; ++batch) {
    inbox->begin();
    for (int i = 0; i < 50; ++i) {
      InboxEntry e{0, "shopify:" + std::to_string(batch * 50 + i), "shopify", "webhook:shopify", 1, body};
      ASSERT_TRUE(inbox->add(e));
    }
    inbox->commit();
  }
  EXPECT_GT(size_once_checkpointed(dir.file("a.db-inbox")), 1u << 20);
}

TEST(SqliteInbox, ARedeliveryIsKnownAcrossARestart) {
  TempDir dir;
  InboxEntry first{0, inbox_key("shopify", "{\"id\":1}"), "shopify", "webhook:shopify", 1, "{\"id\":1}"};
  {
    auto inbox = open_sqlite_inbox(dir.file("a.db-inbox"));
    inbox->begin();
    ASSERT_TRUE(inbox->add(first));
    InboxEntry same_batch = first;
    EXPECT_FALSE(inbox->add(same_batch)) << "twice in one batch";
    inbox->commit();
  }
  auto inbox = open_sqlite_inbox(dir.file("a.db-inbox"));
  InboxEntry again = first;
  EXPECT_FALSE(inbox->add(again));
  std::vector<InboxEntry> stored = inbox->after(0, 10);
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].key, first.key);
}

TEST(SqliteInbox, AFailedBatchLeavesItsBodiesUnknown) {
  TempDir dir;
  auto inbox = open_sqlite_inbox(dir.file("a.db-inbox"));
  InboxEntry e{0, "shopify|x", "shopify", "webhook:shopify", 1, "{}"};
  inbox->begin();
  ASSERT_TRUE(inbox->add(e));
  inbox->rollback();
  EXPECT_EQ(inbox->last_seq(), 0);
  inbox->begin();
  EXPECT_TRUE(inbox->add(e)) << "sent again after a 503, it is new";
  inbox->commit();
  EXPECT_EQ(inbox->after(0, 10).size(), 1u);
}

// An inbox written by version 1 (keys under a UNIQUE index in `inbox`).
TEST(SqliteInbox, VersionOneIsUpgradedKeepingBodiesAndKeys) {
  TempDir dir;
  std::string path = dir.file("a.db-inbox");
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, R"sql(
      CREATE TABLE inbox(seq INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, channel TEXT NOT NULL,
                         source TEXT NOT NULL, received_at INTEGER NOT NULL, body BLOB NOT NULL);
      CREATE TABLE cursors(name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
      INSERT INTO inbox VALUES(1, 'shopify|a', 'shopify', 'webhook:shopify', 5, '{"id":1}');
      INSERT INTO inbox VALUES(2, 'shopify|b', 'shopify', 'webhook:shopify', 6, '{"id":2}');
      INSERT INTO cursors VALUES('decided', '1');
      PRAGMA user_version=1;)sql", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  auto inbox = open_sqlite_inbox(path);
  std::vector<InboxEntry> kept = inbox->after(0, 10);
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_EQ(kept[1].key, "shopify|b");
  EXPECT_EQ(kept[1].body, "{\"id\":2}");
  EXPECT_EQ(inbox->cursor("decided"), "1");
  InboxEntry again{0, "shopify|a", "shopify", "webhook:shopify", 7, "{\"id\":1}"};
  EXPECT_FALSE(inbox->add(again));
  InboxEntry next{0, "shopify|c", "shopify", "webhook:shopify", 8, "{\"id\":3}"};
  ASSERT_TRUE(inbox->add(next));
  EXPECT_EQ(next.seq, 3);
}

TEST(SqliteStore, TimersComeDueInOrder) {
  TempDir dir;
  auto store = open_sqlite_store(dir.file("a.db"));
  store->begin();
  store->orders().add_timer({1, "B", 300, "hold_timeout", 1});
  store->orders().add_timer({2, "A", 100, "escalation", 1});
  store->orders().add_timer({3, "C", 200, "escalation", 2});
  store->commit();
  EXPECT_EQ(store->orders().next_due(), 100);
  auto due = store->orders().due_timers(250, 10);
  ASSERT_EQ(due.size(), 2u);
  EXPECT_EQ(due[0].order_id, "A");
  EXPECT_EQ(due[1].order_id, "C");
  store->orders().remove_timer(due[0]);
  EXPECT_EQ(store->orders().next_due(), 200);
  EXPECT_EQ(store->orders().last_timer_id(), 3);
}

// Every kind of entry, with every field set, encodes and decodes to itself.
TEST(JournalCodec, EveryEntryRoundTrips) {
  std::vector<journal::Entry> entries = {
      journal::Received{"amazon", "407-1", 3, "2026.11-3", "webhook:amazon", R"({"id":"AMZ-1","lines":[]})"},
      journal::StateChanged{"accepted", "allocated", true, 3, "by policy", {{{"allocated", 1}, {"packed", 2}}, {}}},
      journal::Decided{"routing", "2026.11-1", 3, "route", "", std::string("Standard"), {"Standard"},
                       int64_t{86400000}, int64_t{1795146120000}, "cancel", "COD not confirmed", "high",
                       {"gift"}, {{"notify", "ops", "Standard", "high"}},
                       {{"BLR-DS1", {{0, "KURTA-M-IND", 2}, {1, "SCARF", 1}}}}, "", true,
                       {{"BLR-DS1", "KURTA-M-IND", 150, 3, 2}}, {{"MAA-WH1", "inactive"}}, ""},
      journal::EventApplied{"cancel", "shopify-refund-1", "shopify", "wrong size", "", {{int64_t{0}, "", "", 1}},
                            R"({"delivered_at":"2026-11-21T10:00:00Z"})", {{0, 1}}, int64_t{1795146000000}},
      journal::Escalated{{"Dispatch deadline close"}, {{"notify", "ops-oncall", "Dispatch deadline close", "high"}}, 3,
                         "high", {"sla_breached"}, ""},
      journal::TimerSet{12, "hold_timeout", -5, 2},
      journal::TimerFired{12, "hold_timeout", 100, 3600000, true},
      journal::TimerCancelled{13, "escalation"},
      journal::Refused{"ship", "e-9", "order 'X' is held", std::nullopt},
      journal::Migrated{1, 2},
      journal::Reserved{{{0, "KURTA-M-IND", "BLR-DS1", 2}}},
      journal::StockSettled{{{0, "KURTA-M-IND", "BLR-DS1", 1}}, {{1, "SCARF", "DEL-WH1", 1}}, "BLR-DS1"},
  };
  std::string bytes = journal::encode(entries);
  EXPECT_EQ(bytes[0], 1) << "the format version comes first";
  std::vector<journal::Entry> back = journal::decode(bytes);
  ASSERT_EQ(back.size(), entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    EXPECT_EQ(back[i].index(), entries[i].index());
    EXPECT_EQ(journal::to_json(back[i]).dump(), journal::to_json(entries[i]).dump()) << journal::kind_name(entries[i]);
  }
  // The readable form says what a person looks for.
  nlohmann::ordered_json decided = journal::to_json(entries[2]);
  EXPECT_EQ(decided["rule"], "Standard");
  EXPECT_EQ(decided["until"], "2026-11-20T03:42:00Z");
  EXPECT_EQ(decided["hold_for"], "24h");
}

TEST(JournalCodec, DamagedBytesAreAnErrorNotACrash) {
  std::string bytes = journal::encode({journal::Received{"amazon", "407-1", 3, "v", "s", "{}"}});
  EXPECT_THROW(journal::decode(""), journal::CodecError);
  EXPECT_THROW(journal::decode(std::string("\x07") + bytes.substr(1)), journal::CodecError);
  for (size_t cut = 1; cut < bytes.size(); ++cut) {
    try {
      journal::decode(bytes.substr(0, cut));
    } catch (const journal::CodecError&) {
    }
  }
  std::string huge = bytes.substr(0, 2) + std::string("\xff\xff\xff\xff\x0f") + bytes.substr(3);
  EXPECT_THROW(journal::decode(huge), journal::CodecError);
}

// A database written before the typed journal is refused with what to do,
// and `orderflow migrate` brings it up to date: every entry read and kept,
// the orders as they were, its stored explanations still shown.
TEST(SqliteStore, OlderSchemaIsMigratedKeepingItsHistory) {
  TempDir dir;
  std::string path = dir.file("v2.db");
  {
    std::ifstream in(std::string(ORDERFLOW_SOURCE_DIR) + "/tests/runtime/fixtures/schema-v2.sql");
    std::stringstream sql;
    sql << in.rdbuf();
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, sql.str().c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    sqlite3_close(db);
  }
  try {
    open_sqlite_store(path);
    FAIL() << "opened a version-2 database without migrating it";
  } catch (const StoreError& e) {
    EXPECT_THAT(e.what(), HasSubstr("orderflow migrate --db"));
  }
  EXPECT_EQ(upgrade_sqlite_store(path), 18);
  EXPECT_EQ(upgrade_sqlite_store(path), 0) << "a current database is left alone";
  auto store = open_sqlite_store(path);
  std::vector<Entry> amazon = entries_of(*store, "AMZ-407-1184403");
  ASSERT_EQ(amazon.size(), 12u);
  EXPECT_EQ(amazon[0].kind, "received");
  EXPECT_EQ(amazon[2].body["rule"], "otherwise");
  EXPECT_TRUE(amazon[2].body.contains("trace")) << "the explanation it stored is kept";
  EXPECT_EQ(amazon[8].body["event"], "pack");
  // Records keep the number of their last entry, so the sender's place in the journal still holds.
  EXPECT_EQ(store->journal().last_seq(), 18);
  std::optional<StoredOrder> order = store->orders().get("AMZ-407-1184403");
  ASSERT_TRUE(order);
  EXPECT_EQ(order->state, "packed");
  EXPECT_THAT(order->order, HasSubstr("KURTA-M-IND"));
  ASSERT_EQ(order->timers.size(), 1u);
  EXPECT_EQ(store->orders().get("FK-OD33120099812")->hold->reason, "cod_confirmation");
  EXPECT_EQ(store->orders().due_timers(INT64_MAX, 10).size(), 3u);
  EXPECT_GE(store->orders().last_timer_id(), 4);
}

// A database of schema 3 (made by the build before the journal's records
// were chained, from the example's orders and its first day's events) is
// refused until migrated; migrating keeps every record and its number,
// and each order's history is then found by walking its chain.
TEST(SqliteStore, VersionThreeIsMigratedToChainedRecords) {
  TempDir dir;
  std::string path = dir.file("v3.db");
  std::map<std::string, std::vector<int64_t>> seqs_before;
  std::map<std::string, std::string> states_before;
  {
    std::ifstream in(std::string(ORDERFLOW_SOURCE_DIR) + "/tests/runtime/fixtures/schema-v3.sql");
    std::stringstream sql;
    sql << in.rdbuf();
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, sql.str().c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v2(db, "SELECT order_id, seq FROM journal ORDER BY seq", -1, &s, nullptr);
    while (sqlite3_step(s) == SQLITE_ROW)
      seqs_before[reinterpret_cast<const char*>(sqlite3_column_text(s, 0))].push_back(sqlite3_column_int64(s, 1));
    sqlite3_finalize(s);
    sqlite3_prepare_v2(db, "SELECT order_id, state FROM orders", -1, &s, nullptr);
    while (sqlite3_step(s) == SQLITE_ROW)
      states_before[reinterpret_cast<const char*>(sqlite3_column_text(s, 0))] =
          reinterpret_cast<const char*>(sqlite3_column_text(s, 1));
    sqlite3_finalize(s);
    sqlite3_close(db);
  }
  ASSERT_EQ(states_before.size(), 16u);
  try {
    open_sqlite_store(path);
    FAIL() << "opened a version-3 database without migrating it";
  } catch (const StoreError& e) {
    EXPECT_THAT(e.what(), HasSubstr("orderflow migrate --db"));
  }
  EXPECT_EQ(upgrade_sqlite_store(path), 36);
  EXPECT_EQ(upgrade_sqlite_store(path), 0) << "a current database is left alone";
  auto store = open_sqlite_store(path);
  size_t multi = 0;
  for (const auto& [order_id, seqs] : seqs_before) {
    std::vector<int64_t> after;
    for (const journal::Record& r : store->journal().of_order(order_id)) after.push_back(r.seq);
    EXPECT_EQ(after, seqs) << order_id;
    multi += seqs.size() > 1;
    EXPECT_EQ(store->orders().get(order_id)->state, states_before[order_id]) << order_id;
  }
  EXPECT_GT(multi, 5u) << "the fixture has orders with several records";
  EXPECT_EQ(store->orders().due_timers(INT64_MAX, 100).size(), 6u);
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
      journal::Record e = record("ORDER-" + std::to_string(i), i, {journal::Refused{"x", "", std::string(200, 'p'), {}}});
      store->journal().append(e);
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
    store->journal().of_order("ORDER-7");
    store->journal().scan([](const journal::Record&) {});
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
  journal::Record kept = record("KEPT", 1, {journal::Migrated{1, 2}});
  append_to_order(*store, kept);
  store->commit();
  try {
    store->begin();
    for (int i = 0; i < 10000; ++i) {
      journal::Record e = record("BIG", i, {journal::Refused{"x", "", std::string(4000, 'x'), {}}});
      append_to_order(*store, e);
    }
    FAIL() << "a capped database never filled up";
  } catch (const StoreError& e) {
    EXPECT_THAT(e.what(), HasSubstr("is full"));
    EXPECT_EQ(e.code() & 0xff, SQLITE_FULL);
  }
  store->rollback();
  EXPECT_EQ(store->journal().of_order("KEPT").size(), 1u);
  EXPECT_TRUE(store->journal().of_order("BIG").empty());
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
  int64_t id = store->deployments().add(d);
  store->deployments().set_live(id);
  store->commit();
  EXPECT_EQ(store->deployments().live(), id);
  auto back = store->deployments().get(id);
  ASSERT_TRUE(back);
  ASSERT_EQ(back->files.size(), 2u);
  EXPECT_EQ(back->files[1].path, "data/fx.csv");
  EXPECT_EQ(back->files[0].text, "policy acceptance \"x\"\n");
}

// A deployment is the bundle: its policies and what they read, not the
// notes and run logs that share its folder (which `diff` would show).
TEST(Deploy, KeepsWhatTheBundleReadsAndSaysWhatItLeftOut) {
  TempDir dir;
  std::filesystem::path bundle = dir.file("bundle");
  std::filesystem::copy(kExample, bundle, std::filesystem::copy_options::recursive);
  std::ofstream(bundle / "notes.txt") << "call the Flipkart account manager about the buffer\n";
  std::ofstream(bundle / "run-2026-11-20.log.txt") << "orderflow run ...\n";
  auto store = open_sqlite_store(dir.file("a.db"));
  DeployResult r = deploy_bundle(*store, bundle.string(), 0, EngineChoice{"interp"});
  ASSERT_EQ(r.status, DeployResult::Status::Deployed) << r.message << r.diagnostics;
  auto deployed = store->deployments().get(r.id);
  ASSERT_TRUE(deployed);
  std::set<std::string> kept;
  for (const DeploymentFile& f : deployed->files) kept.insert(f.path);
  EXPECT_TRUE(kept.count("acceptance.flow"));
  EXPECT_TRUE(kept.count("data/stock.csv"));                        // named by `use stock`
  EXPECT_TRUE(kept.count("channels.csv"));                          // read beside the policies
  EXPECT_TRUE(kept.count("orders/flipkart-cod-high-value.json"));   // a test's order
  EXPECT_FALSE(kept.count("notes.txt"));
  EXPECT_FALSE(kept.count("run-2026-11-20.log.txt"));
  EXPECT_FALSE(kept.count("events/day-one.jsonl"));
  EXPECT_THAT(r.message, HasSubstr("left out"));
  EXPECT_THAT(r.message, HasSubstr("notes.txt"));
  // What it keeps is enough to load it again.
  EXPECT_TRUE(load_deployment(*store, r.id, EngineChoice{"interp"}));
}

// Schema 5 added the deployment's note. A version-4 file is read as it is,
// and gains the column the first time it is opened to write: no `migrate`.
TEST(SqliteStore, VersionFourGainsDeploymentNotesWhenOpened) {
  TempDir dir;
  std::string path = dir.file("v4.db");
  {
    auto store = open_sqlite_store(path);
    ASSERT_EQ(deploy_bundle(*store, kExample, 0, EngineChoice{"interp"}).status, DeployResult::Status::Deployed);
  }
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "ALTER TABLE deployments DROP COLUMN note; PRAGMA user_version=4;", nullptr, nullptr,
                           nullptr),
              SQLITE_OK)
        << sqlite3_errmsg(db);
    sqlite3_close(db);
  }
  {
    SqliteOptions read_only;
    read_only.read_only = true;
    auto store = open_sqlite_store(path, read_only);
    ASSERT_EQ(store->deployments().list(false).size(), 1u);
    EXPECT_EQ(store->deployments().list(false)[0].note, "");
  }
  auto store = open_sqlite_store(path);
  Deployment d = *store->deployments().get(1);
  d.note = "deployed despite 1 failing policy test: \"reviewed\"";
  store->begin();
  int64_t id = store->deployments().add(d);
  store->commit();
  EXPECT_EQ(store->deployments().get(id)->note, d.note);
}

// Schema 6 counts returned units kept out of stock. A version-5 file reads
// as having none, and gains the columns the first time it is opened to write.
TEST(SqliteStore, VersionFiveGainsStockKeptApartWhenOpened) {
  TempDir dir;
  std::string path = dir.file("v5.db");
  {
    auto store = open_sqlite_store(path);
    store->begin();
    store->stock().put({"BLR-WH", "KURTA-M", 10, 2, 1});
    StockChange c;
    c.node = "BLR-WH";
    c.sku = "KURTA-M";
    c.on_hand_change = 10;
    c.cause = "count";
    store->stock().log(c);
    store->commit();
  }
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db,
                           "ALTER TABLE stock DROP COLUMN quarantined; ALTER TABLE stock DROP COLUMN written_off; "
                           "ALTER TABLE stock DROP COLUMN to_vendor; "
                           "ALTER TABLE stock_log DROP COLUMN quarantined_change; "
                           "ALTER TABLE stock_log DROP COLUMN written_off_change; "
                           "ALTER TABLE stock_log DROP COLUMN to_vendor_change; PRAGMA user_version=5;",
                           nullptr, nullptr, nullptr),
              SQLITE_OK)
        << sqlite3_errmsg(db);
    sqlite3_close(db);
  }
  {
    SqliteOptions read_only;
    read_only.read_only = true;
    auto store = open_sqlite_store(path, read_only);
    StockRow row = *store->stock().row("BLR-WH", "KURTA-M");
    EXPECT_EQ(row.on_hand, 10);
    EXPECT_EQ(row.quarantined, 0);
  }
  auto store = open_sqlite_store(path);
  StockRow row{"BLR-WH", "KURTA-M", 10, 2, 1, 1, 0, 0};
  store->begin();
  store->stock().put(row);
  store->commit();
  EXPECT_EQ(*store->stock().row("BLR-WH", "KURTA-M"), row);
  int changes = 0;
  store->stock().scan_log([&](const StockChange& c) { changes += c.on_hand_change == 10 && c.quarantined_change == 0; });
  EXPECT_EQ(changes, 1);
}

}  // namespace
}  // namespace orderflow::runtime::testing
