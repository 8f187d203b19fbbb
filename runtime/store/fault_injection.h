#pragma once
// The runtime's I/O seam for tests, as leveldb's fault-injecting Env: a
// SQLite VFS over the system's own that fails the writes or syncs it is
// told to, on the files whose path contains a given text. The store and the
// inbox open their files through it when SqliteOptions::vfs names it, so a
// test sees what a full disk or a dying device does to the real code path:
// the failed commit, the rolled-back batch, the retry.
//
// Thread safety: the settings are atomics; set them from the test's thread.
#include <cstdint>
#include <string>

namespace orderflow::runtime::fault_injection {

// Registers the VFS (once) and returns its name for SqliteOptions::vfs.
const char* vfs_name();

// From now on, the next `count` syncs (fsync: every commit in WAL mode with
// synchronous=FULL) of files whose path contains `path_part` fail with an
// I/O error.
void fail_syncs(const std::string& path_part, int count);
// The next `count` writes to such files fail with an I/O error.
void fail_writes(const std::string& path_part, int count);
// Writes to such files fail with "disk full" once `bytes` more have been written.
void fill_disk_after(const std::string& path_part, int64_t bytes);
// No more faults.
void reset();

// How many syncs and writes went through the VFS, for tests that check an
// operation did (or did not) touch the disk.
int64_t syncs();
int64_t writes();

}  // namespace orderflow::runtime::fault_injection
