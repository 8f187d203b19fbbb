#include "runtime/store/fault_injection.h"

#include <sqlite3.h>

#include <atomic>
#include <cstring>
#include <mutex>

namespace orderflow::runtime::fault_injection {

namespace {

constexpr const char* kName = "orderflow-faults";

// What to fail, and on which files. The path filter changes rarely (a test
// sets it up front); a mutex guards its text, the counters are atomics.
std::mutex filter_mutex;
std::string filter;  // GUARDED_BY(filter_mutex)
std::atomic<int> failing_syncs{0};
std::atomic<int> failing_writes{0};
std::atomic<int64_t> disk_left{-1};  // bytes before the disk is full; -1: no limit
std::atomic<int64_t> sync_count{0};
std::atomic<int64_t> write_count{0};

sqlite3_vfs* real_vfs = nullptr;

struct FaultFile {
  sqlite3_file base;  // first: SQLite sees a FaultFile as a sqlite3_file
  sqlite3_file* real;
  const char* name;  // valid until xClose, as SQLite promises
};

sqlite3_file* real_of(sqlite3_file* f) { return reinterpret_cast<FaultFile*>(f)->real; }
// Whether faults apply to the file: its path contains the filter's text.
bool watched(sqlite3_file* f) {
  const char* name = reinterpret_cast<FaultFile*>(f)->name;
  std::lock_guard lock(filter_mutex);
  return name && !filter.empty() && std::strstr(name, filter.c_str()) != nullptr;
}

// Takes one from a counter of faults still to inject; true when this call fails.
bool take(std::atomic<int>& counter) {
  int n = counter.load();
  while (n > 0)
    if (counter.compare_exchange_weak(n, n - 1)) return true;
  return false;
}

int x_close(sqlite3_file* f) {
  int rc = real_of(f)->pMethods ? real_of(f)->pMethods->xClose(real_of(f)) : SQLITE_OK;
  return rc;
}
int x_read(sqlite3_file* f, void* buf, int amount, sqlite3_int64 offset) {
  return real_of(f)->pMethods->xRead(real_of(f), buf, amount, offset);
}
int x_write(sqlite3_file* f, const void* buf, int amount, sqlite3_int64 offset) {
  ++write_count;
  if (watched(f)) {
    if (take(failing_writes)) return SQLITE_IOERR_WRITE;
    int64_t left = disk_left.load();
    if (left >= 0) {
      if (left < amount) return SQLITE_FULL;
      disk_left.fetch_sub(amount);
    }
  }
  return real_of(f)->pMethods->xWrite(real_of(f), buf, amount, offset);
}
int x_truncate(sqlite3_file* f, sqlite3_int64 size) { return real_of(f)->pMethods->xTruncate(real_of(f), size); }
int x_sync(sqlite3_file* f, int flags) {
  ++sync_count;
  if (watched(f) && take(failing_syncs)) return SQLITE_IOERR_FSYNC;
  return real_of(f)->pMethods->xSync(real_of(f), flags);
}
int x_file_size(sqlite3_file* f, sqlite3_int64* size) { return real_of(f)->pMethods->xFileSize(real_of(f), size); }
int x_lock(sqlite3_file* f, int level) { return real_of(f)->pMethods->xLock(real_of(f), level); }
int x_unlock(sqlite3_file* f, int level) { return real_of(f)->pMethods->xUnlock(real_of(f), level); }
int x_check_reserved_lock(sqlite3_file* f, int* out) {
  return real_of(f)->pMethods->xCheckReservedLock(real_of(f), out);
}
int x_file_control(sqlite3_file* f, int op, void* arg) { return real_of(f)->pMethods->xFileControl(real_of(f), op, arg); }
int x_sector_size(sqlite3_file* f) { return real_of(f)->pMethods->xSectorSize(real_of(f)); }
int x_device_characteristics(sqlite3_file* f) {
  return real_of(f)->pMethods->xDeviceCharacteristics(real_of(f));
}
int x_shm_map(sqlite3_file* f, int page, int size, int extend, void volatile** out) {
  return real_of(f)->pMethods->xShmMap(real_of(f), page, size, extend, out);
}
int x_shm_lock(sqlite3_file* f, int offset, int n, int flags) {
  return real_of(f)->pMethods->xShmLock(real_of(f), offset, n, flags);
}
void x_shm_barrier(sqlite3_file* f) { real_of(f)->pMethods->xShmBarrier(real_of(f)); }
int x_shm_unmap(sqlite3_file* f, int delete_flag) { return real_of(f)->pMethods->xShmUnmap(real_of(f), delete_flag); }
int x_fetch(sqlite3_file* f, sqlite3_int64 offset, int amount, void** out) {
  return real_of(f)->pMethods->xFetch(real_of(f), offset, amount, out);
}
int x_unfetch(sqlite3_file* f, sqlite3_int64 offset, void* p) {
  return real_of(f)->pMethods->xUnfetch(real_of(f), offset, p);
}

const sqlite3_io_methods kMethods = {
    3,          x_close,     x_read,       x_write,      x_truncate,      x_sync,
    x_file_size, x_lock,     x_unlock,     x_check_reserved_lock, x_file_control, x_sector_size,
    x_device_characteristics, x_shm_map, x_shm_lock, x_shm_barrier, x_shm_unmap, x_fetch,
    x_unfetch};

int x_open(sqlite3_vfs* vfs, const char* name, sqlite3_file* file, int flags, int* out_flags) {
  FaultFile* f = reinterpret_cast<FaultFile*>(file);
  f->real = reinterpret_cast<sqlite3_file*>(f + 1);
  f->base.pMethods = nullptr;
  f->name = name;
  int rc = real_vfs->xOpen(real_vfs, name, f->real, flags, out_flags);
  // The methods must be set even when opening failed: SQLite calls xClose.
  if (f->real->pMethods) f->base.pMethods = &kMethods;
  return rc;
}

int x_delete(sqlite3_vfs*, const char* name, int sync_dir) { return real_vfs->xDelete(real_vfs, name, sync_dir); }
int x_access(sqlite3_vfs*, const char* name, int flags, int* out) {
  return real_vfs->xAccess(real_vfs, name, flags, out);
}
int x_full_pathname(sqlite3_vfs*, const char* name, int n, char* out) {
  return real_vfs->xFullPathname(real_vfs, name, n, out);
}
void* x_dl_open(sqlite3_vfs*, const char* name) { return real_vfs->xDlOpen(real_vfs, name); }
void x_dl_error(sqlite3_vfs*, int n, char* out) { real_vfs->xDlError(real_vfs, n, out); }
void (*x_dl_sym(sqlite3_vfs*, void* handle, const char* symbol))(void) {
  return real_vfs->xDlSym(real_vfs, handle, symbol);
}
void x_dl_close(sqlite3_vfs*, void* handle) { real_vfs->xDlClose(real_vfs, handle); }
int x_randomness(sqlite3_vfs*, int n, char* out) { return real_vfs->xRandomness(real_vfs, n, out); }
int x_sleep(sqlite3_vfs*, int micros) { return real_vfs->xSleep(real_vfs, micros); }
int x_current_time(sqlite3_vfs*, double* out) { return real_vfs->xCurrentTime(real_vfs, out); }
int x_get_last_error(sqlite3_vfs*, int n, char* out) {
  return real_vfs->xGetLastError ? real_vfs->xGetLastError(real_vfs, n, out) : 0;
}
int x_current_time_int64(sqlite3_vfs*, sqlite3_int64* out) { return real_vfs->xCurrentTimeInt64(real_vfs, out); }

sqlite3_vfs vfs;

}  // namespace

const char* vfs_name() {
  static std::once_flag once;
  std::call_once(once, [] {
    real_vfs = sqlite3_vfs_find(nullptr);
    vfs = sqlite3_vfs{};
    vfs.iVersion = 2;
    vfs.szOsFile = static_cast<int>(sizeof(FaultFile)) + real_vfs->szOsFile;
    vfs.mxPathname = real_vfs->mxPathname;
    vfs.zName = kName;
    vfs.xOpen = x_open;
    vfs.xDelete = x_delete;
    vfs.xAccess = x_access;
    vfs.xFullPathname = x_full_pathname;
    vfs.xDlOpen = x_dl_open;
    vfs.xDlError = x_dl_error;
    vfs.xDlSym = x_dl_sym;
    vfs.xDlClose = x_dl_close;
    vfs.xRandomness = x_randomness;
    vfs.xSleep = x_sleep;
    vfs.xCurrentTime = x_current_time;
    vfs.xGetLastError = x_get_last_error;
    vfs.xCurrentTimeInt64 = x_current_time_int64;
    sqlite3_vfs_register(&vfs, 0);
  });
  return kName;
}

void fail_syncs(const std::string& path_part, int count) {
  {
    std::lock_guard lock(filter_mutex);
    filter = path_part;
  }
  failing_syncs = count;
}

void fail_writes(const std::string& path_part, int count) {
  {
    std::lock_guard lock(filter_mutex);
    filter = path_part;
  }
  failing_writes = count;
}

void fill_disk_after(const std::string& path_part, int64_t bytes) {
  {
    std::lock_guard lock(filter_mutex);
    filter = path_part;
  }
  disk_left = bytes;
}

void reset() {
  failing_syncs = 0;
  failing_writes = 0;
  disk_left = -1;
}

int64_t syncs() { return sync_count.load(); }
int64_t writes() { return write_count.load(); }

}  // namespace orderflow::runtime::fault_injection
