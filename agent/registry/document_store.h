// DocumentStore: the bundled registry's records (policies, executors, jobs, functions, graphs,
// assets) as JSON documents in named collections, kept in one SQLite file.
//
// Durability. The file is in WAL mode. With Durability::kProcessCrash (synchronous=NORMAL, the
// default) a write that returned success survives kill -9 of the agent: the commit is in the WAL
// in the kernel's page cache before the call returns. A power cut or kernel panic may lose the
// last commits made since the most recent checkpoint (at most ~1000 pages of WAL), never the
// file's consistency. Durability::kPowerLoss (synchronous=FULL) fsyncs the WAL on every commit
// and so survives power loss too, at 2.5-4.5 ms per write on the dev VM's ext4 (vs ~0.15 ms).
//
// Concurrency. Writes are serialised by a mutex over one write connection (so our own writers
// never meet SQLITE_BUSY); reads take a connection from a pool, and WAL lets them run beside the
// writer. busy_timeout covers other processes on the same file.
//
// Cache. scan() works from parsed documents cached per collection: re-parsing 10,000 policies
// (~20 MB of JSON) costs ~330 ms, the cache makes it ~3.5 ms. Writes through this object patch
// the cache; a per-collection generation, bumped by triggers on every row change, tells a scan
// when some other writer (another process, the sqlite3 shell) changed the collection, and the
// cache for it is then rebuilt. The first scan of a collection pays the parse, so the agent warms
// the registry's collections at startup. The cache takes ~3x the JSON text in memory; a
// collection over 64 MiB of text is not cached and each scan of it parses from the file.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/json_util.h"
#include "common/result.h"

namespace exa::agent {

/// insert() and a moving update() fail with ErrorCode::kAlreadyExists (HTTP 409) when the id is
/// taken; the message starts with this prefix.
inline constexpr std::string_view kAlreadyExistsPrefix = "already exists: ";

Error alreadyExistsError(std::string_view collection, std::string_view id);
bool isAlreadyExists(const Error& error);

enum class Durability {
  kProcessCrash,  ///< synchronous=NORMAL: survives kill -9; power loss may drop the last commits
  kPowerLoss,     ///< synchronous=FULL: every commit fsynced
};

class DocumentStore {
 public:
  using Updater = std::function<Result<std::pair<std::string, Json>>(const Json&)>;
  using Predicate = std::function<Result<bool>(const Json&)>;

  /// Opens (creating if needed) the file and brings its schema to the current version; a file
  /// written by a newer schema is refused rather than misread.
  static Result<std::unique_ptr<DocumentStore>> open(
      const std::string& path, Durability durability = Durability::kProcessCrash);
  ~DocumentStore();
  DocumentStore(const DocumentStore&) = delete;
  DocumentStore& operator=(const DocumentStore&) = delete;

  /// An empty id is kInvalidArgument; a taken one is alreadyExistsError().
  Status insert(std::string_view collection, std::string_view id, const Json& doc);
  /// kNotFound when absent.
  Result<Json> get(std::string_view collection, std::string_view id) const;
  /// The stored JSON text, unparsed: equal text means an unchanged document, which lets a hot
  /// path keep what it derived from the document without parsing it again.
  Result<std::string> getText(std::string_view collection, std::string_view id) const;
  /// Keeps the document's place in insertion order; kNotFound when absent.
  Status replace(std::string_view collection, std::string_view id, const Json& doc);
  /// Atomic read-modify-write in one BEGIN IMMEDIATE transaction: `fn` gets the current document
  /// and returns {id, new document}, or an error, which aborts with nothing written. An id other
  /// than `id` moves the record (its identity fields changed), keeping its place in insertion
  /// order; a clash with an existing id aborts with alreadyExistsError(). Returns the document
  /// as stored. `fn` runs under the write lock: it must not call back into this store.
  Result<Json> update(std::string_view collection, std::string_view id, const Updater& fn);
  /// kNotFound when absent.
  Status remove(std::string_view collection, std::string_view id);

  /// Every document of `collection` that `keep` accepts, in insertion order, at most `limit`
  /// (0 = all). An error from `keep` ends the scan and is returned.
  Result<std::vector<Json>> scan(std::string_view collection, const Predicate& keep,
                                 size_t limit = 0) const;
  /// scan() without copying: the cached documents themselves, immutable and shared. For callers
  /// that only serialise the result: copying 10,000 policies costs ~70-120 ms, sharing ~1 ms.
  Result<std::vector<std::shared_ptr<const Json>>> scanShared(std::string_view collection,
                                                               const Predicate& keep,
                                                               size_t limit = 0) const;
  Result<size_t> count(std::string_view collection) const;
  /// Takes the write lock and rolls back (for /health): a read-only or wedged store fails here.
  /// A full disk shows only on a real commit.
  Status checkWritable() const;

 private:
  struct Impl;
  explicit DocumentStore(std::unique_ptr<Impl> impl);

  std::unique_ptr<Impl> impl_;
};

}  // namespace exa::agent
