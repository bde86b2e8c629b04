// DocumentStore over SQLite: schema and migrations, the connection pool, the parsed-document cache.
#include "agent/registry/document_store.h"

#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <iterator>
#include <map>
#include <mutex>
#include <unordered_map>

namespace exa::agent {
namespace {

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalizer {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using DbPtr = std::unique_ptr<sqlite3, DbCloser>;
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

// Long enough to ride out another process's checkpoint or write; our own writers never wait on
// SQLite's lock because they queue on the write mutex first.
constexpr int kBusyTimeoutMs = 10000;
// Idle read connections kept open; more are opened on demand and closed when returned.
constexpr size_t kMaxIdleReaders = 16;
// A collection whose JSON text exceeds this is not cached (parsed documents take ~4x the text):
// scans of it parse from the file each time instead of holding it all in memory.
constexpr size_t kMaxCachedTextBytes = size_t{64} << 20;

// Migration i takes the schema from version i to i + 1. Append only; never edit a shipped step.
constexpr const char* kMigrations[] = {
    // v1. `seq` aliases the rowid so insertion order survives VACUUM. `collections.generation`
    // counts row changes per collection, through triggers so that writers outside this class
    // (another process, an operator's sqlite3 shell) also invalidate the scan cache.
    R"sql(
      CREATE TABLE documents (
        seq INTEGER PRIMARY KEY,
        collection TEXT NOT NULL,
        id TEXT NOT NULL,
        doc TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        UNIQUE (collection, id)
      );
      CREATE INDEX documents_in_order ON documents (collection, seq);
      CREATE TABLE collections (
        name TEXT PRIMARY KEY,
        generation INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE TRIGGER documents_inserted AFTER INSERT ON documents BEGIN
        INSERT OR IGNORE INTO collections (name, generation) VALUES (NEW.collection, 0);
        UPDATE collections SET generation = generation + 1 WHERE name = NEW.collection;
      END;
      CREATE TRIGGER documents_updated AFTER UPDATE ON documents BEGIN
        INSERT OR IGNORE INTO collections (name, generation) VALUES (NEW.collection, 0);
        UPDATE collections SET generation = generation + 1 WHERE name = NEW.collection;
      END;
      CREATE TRIGGER documents_left AFTER UPDATE OF collection ON documents
        WHEN OLD.collection IS NOT NEW.collection BEGIN
        UPDATE collections SET generation = generation + 1 WHERE name = OLD.collection;
      END;
      CREATE TRIGGER documents_deleted AFTER DELETE ON documents BEGIN
        UPDATE collections SET generation = generation + 1 WHERE name = OLD.collection;
      END;
    )sql",
};
constexpr int kSchemaVersion = static_cast<int>(std::size(kMigrations));

ErrorCode codeFor(int rc) {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_CANTOPEN:
      return ErrorCode::kUnavailable;
    case SQLITE_FULL:
    case SQLITE_NOMEM:
    case SQLITE_TOOBIG:
      return ErrorCode::kResourceExhausted;
    case SQLITE_PERM:
    case SQLITE_READONLY:
    case SQLITE_AUTH:
      return ErrorCode::kPermissionDenied;
    default:
      return ErrorCode::kInternal;
  }
}

Error sqliteError(sqlite3* db, int rc, std::string_view what) {
  // errmsg describes the connection's last call, which is the failed one: we never call in
  // between. system_errno carries the OS reason behind I/O and open failures.
  const char* text = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  return Error{codeFor(rc), db != nullptr ? sqlite3_system_errno(db) : 0,
               "sqlite " + std::string(what) + ": " + text};
}

std::string describeKey(std::string_view collection, std::string_view id) {
  std::string key(collection);
  key += '/';
  key += id;
  return key;
}

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A prepared statement that knows its connection and a label for error messages.
class Statement {
 public:
  static Result<Statement> prepare(sqlite3* db, std::string_view sql) {
    sqlite3_stmt* raw = nullptr;
    int rc = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &raw, nullptr);
    StmtPtr stmt(raw);
    if (rc != SQLITE_OK) return sqliteError(db, rc, "prepare(" + std::string(sql) + ")");
    return Statement(db, std::move(stmt), sql);
  }

  // Binding errors (only misuse or TOOBIG) are kept and reported by the next step().
  Statement& bind(std::string_view text) {
    note(sqlite3_bind_text64(stmt_.get(), next_++, text.data(), text.size(), SQLITE_TRANSIENT,
                             SQLITE_UTF8));
    return *this;
  }
  Statement& bind(int64_t value) {
    note(sqlite3_bind_int64(stmt_.get(), next_++, value));
    return *this;
  }

  /// true: a row is ready; false: done.
  Result<bool> step() {
    if (bind_rc_ != SQLITE_OK) return sqliteError(db_, bind_rc_, "bind(" + sql_ + ")");
    int rc = sqlite3_step(stmt_.get());
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return sqliteError(db_, rc, "step(" + sql_ + ")");
  }
  /// Runs a statement that returns no rows.
  Status run() {
    EXA_ASSIGN_OR_RETURN(bool row, step());
    if (row) return makeError(ErrorCode::kInternal, "sqlite " + sql_ + ": unexpected row");
    return {};
  }
  /// The extended result code of the last failed step, to tell constraint failures apart.
  int extendedCode() const { return sqlite3_extended_errcode(db_); }

  int64_t integer(int col) const { return sqlite3_column_int64(stmt_.get(), col); }
  std::string_view text(int col) const {
    auto* data = reinterpret_cast<const char*>(sqlite3_column_text(stmt_.get(), col));
    if (data == nullptr) return {};
    return std::string_view(data, static_cast<size_t>(sqlite3_column_bytes(stmt_.get(), col)));
  }

 private:
  Statement(sqlite3* db, StmtPtr stmt, std::string_view sql)
      : db_(db), stmt_(std::move(stmt)), sql_(sql.substr(0, 60)) {}
  void note(int rc) {
    if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  }

  sqlite3* db_;
  StmtPtr stmt_;
  std::string sql_;
  int next_ = 1;
  int bind_rc_ = SQLITE_OK;
};

Status execSql(sqlite3* db, const char* sql, std::string_view what) {
  char* message = nullptr;
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, &message);
  if (rc == SQLITE_OK) return {};
  Error error{codeFor(rc), sqlite3_system_errno(db),
              "sqlite " + std::string(what) + ": " +
                  (message != nullptr ? message : sqlite3_errstr(rc))};
  sqlite3_free(message);
  return error;
}

// Rolls back unless committed, so every early return (and an exception thrown by a caller's
// update function) leaves no transaction open on a pooled or the write connection.
class Transaction {
 public:
  static Result<Transaction> begin(sqlite3* db, bool immediate) {
    EXA_TRY(execSql(db, immediate ? "BEGIN IMMEDIATE" : "BEGIN", "begin"));
    return Transaction(db);
  }
  Transaction(Transaction&& other) noexcept : db_(std::exchange(other.db_, nullptr)) {}
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction() {
    if (db_ != nullptr) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  Status commit() {
    sqlite3* db = std::exchange(db_, nullptr);
    Status done = execSql(db, "COMMIT", "commit");
    // A failed COMMIT can leave the transaction open (e.g. SQLITE_BUSY); don't leak it.
    if (!done && sqlite3_get_autocommit(db) == 0)
      sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    return done;
  }

 private:
  explicit Transaction(sqlite3* db) : db_(db) {}
  sqlite3* db_;
};

Result<DbPtr> openConnection(const std::string& path, bool writer, Durability durability) {
  sqlite3* raw = nullptr;
  // NOMUTEX: each connection is used by one thread at a time (the write mutex or a pool lease),
  // so SQLite's own per-connection mutex would be pure overhead.
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (writer ? SQLITE_OPEN_CREATE : 0);
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  DbPtr db(raw);  // a handle is allocated even when opening fails, and must be closed
  if (rc != SQLITE_OK) return sqliteError(raw, rc, "open(" + path + ")");
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, kBusyTimeoutMs);
  EXA_TRY(execSql(raw, "PRAGMA foreign_keys = OFF", "foreign_keys"));
  if (writer) {
    // journal_mode answers with the mode in force; anything but "wal" (say, a filesystem without
    // shared memory support) would silently lose concurrent reads and crash semantics.
    EXA_ASSIGN_OR_RETURN(auto mode, Statement::prepare(raw, "PRAGMA journal_mode = WAL"));
    EXA_ASSIGN_OR_RETURN(bool row, mode.step());
    if (!row || mode.text(0) != "wal")
      return makeError(ErrorCode::kUnavailable,
                       "sqlite journal_mode(" + path + "): WAL refused, got '" +
                           std::string(row ? mode.text(0) : "") + "'");
  } else {
    // A pooled reader must never write, whatever a future caller does with it.
    EXA_TRY(execSql(raw, "PRAGMA query_only = ON", "query_only"));
  }
  EXA_TRY(execSql(raw,
                  durability == Durability::kPowerLoss ? "PRAGMA synchronous = FULL"
                                                       : "PRAGMA synchronous = NORMAL",
                  "synchronous"));
  return db;
}

Status migrate(sqlite3* db, const std::string& path) {
  EXA_ASSIGN_OR_RETURN(auto tx, Transaction::begin(db, /*immediate=*/true));
  EXA_TRY(execSql(db, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)",
                  "create schema_version"));
  int version = 0;
  {
    EXA_ASSIGN_OR_RETURN(auto read,
                         Statement::prepare(db, "SELECT MAX(version) FROM schema_version"));
    EXA_ASSIGN_OR_RETURN(bool row, read.step());
    if (row) version = static_cast<int>(read.integer(0));  // NULL (empty table) reads as 0
  }
  if (version > kSchemaVersion)
    return makeError(ErrorCode::kUnavailable,
                     "document store " + path + " has schema version " + std::to_string(version) +
                         ", newer than this agent's " + std::to_string(kSchemaVersion));
  if (version == kSchemaVersion) return {};  // nothing written: the rollback is harmless
  for (int v = version; v < kSchemaVersion; ++v)
    EXA_TRY(execSql(db, kMigrations[v], "migrate to v" + std::to_string(v + 1)));
  EXA_TRY(execSql(db, "DELETE FROM schema_version", "schema_version"));
  EXA_ASSIGN_OR_RETURN(auto write,
                       Statement::prepare(db, "INSERT INTO schema_version (version) VALUES (?)"));
  EXA_TRY(write.bind(int64_t{kSchemaVersion}).run());
  return tx.commit();
}

// Generation of a collection inside the caller's transaction; 0 for one never written.
Result<int64_t> readGeneration(sqlite3* db, std::string_view collection) {
  EXA_ASSIGN_OR_RETURN(auto stmt,
                       Statement::prepare(db, "SELECT generation FROM collections WHERE name = ?"));
  EXA_ASSIGN_OR_RETURN(bool row, stmt.bind(collection).step());
  return row ? stmt.integer(0) : int64_t{0};
}

// The document as it will read back: dumped and re-parsed, so what we cache is byte for byte what
// get() returns (NaN becomes null, bad UTF-8 is replaced) and nothing too deep to read is stored.
struct Encoded {
  std::string text;
  std::shared_ptr<const Json> doc;
};

Result<Encoded> encode(const Json& doc) {
  std::string text = dumpJson(doc);
  auto parsed = parseJson(text);
  if (!parsed)
    return makeError(ErrorCode::kInvalidArgument, "document not storable: " +
                                                      parsed.error().message);
  return Encoded{std::move(text), std::make_shared<const Json>(std::move(parsed).value())};
}

Status checkId(std::string_view id) {
  if (id.empty()) return makeError(ErrorCode::kInvalidArgument, "document id is empty");
  return {};
}

Error notFound(std::string_view collection, std::string_view id) {
  return makeError(ErrorCode::kNotFound, "not found: " + describeKey(collection, id));
}

bool isUniqueViolation(int extended) {
  return extended == SQLITE_CONSTRAINT_UNIQUE || extended == SQLITE_CONSTRAINT_PRIMARYKEY;
}

}  // namespace

Error alreadyExistsError(std::string_view collection, std::string_view id) {
  return makeError(ErrorCode::kAlreadyExists,
                   std::string(kAlreadyExistsPrefix) + describeKey(collection, id));
}

bool isAlreadyExists(const Error& error) {
  return error.code == ErrorCode::kAlreadyExists;
}

using DocPtr = std::shared_ptr<const Json>;
using Snapshot = std::vector<DocPtr>;

struct DocumentStore::Impl {
  struct CachedDoc {
    DocPtr doc;
    size_t text_bytes;
  };
  using Change = std::pair<int64_t, CachedDoc>;  // {seq, the row's new document or null}
  // The parsed documents of one collection as of `generation`.
  struct CollectionCache {
    int64_t generation = 0;
    std::map<int64_t, CachedDoc> by_seq;  // seq order = insertion order
    size_t text_bytes = 0;
    // Immutable view handed to scans, so they run their predicates without holding any lock;
    // rebuilt lazily after a write (copying pointers, ~0.1 ms per 10k documents).
    std::shared_ptr<const Snapshot> snapshot;
  };

  // Returns a pooled read connection when it goes out of scope.
  class Lease {
   public:
    Lease(Impl* impl, DbPtr db) : impl_(impl), db_(std::move(db)) {}
    Lease(Lease&&) = default;
    ~Lease() {
      if (db_) impl_->release(std::move(db_));
    }
    sqlite3* get() const { return db_.get(); }

   private:
    Impl* impl_;
    DbPtr db_;
  };

  std::string path_;
  Durability durability_;

  std::mutex write_mu_;  // serialises writes and guards `writer_`
  DbPtr writer_;

  std::mutex pool_mu_;
  std::vector<DbPtr> idle_readers_;

  std::mutex cache_mu_;  // taken after write_mu_, never before
  std::unordered_map<std::string, CollectionCache> caches_;

  ~Impl() {
    // Readers first: the writer's close is then the last one, which checkpoints and removes -wal.
    idle_readers_.clear();
    writer_.reset();
  }

  Result<Lease> lease() {
    {
      std::lock_guard lock(pool_mu_);
      if (!idle_readers_.empty()) {
        DbPtr db = std::move(idle_readers_.back());
        idle_readers_.pop_back();
        return Lease(this, std::move(db));
      }
    }
    EXA_ASSIGN_OR_RETURN(DbPtr db, openConnection(path_, /*writer=*/false, durability_));
    return Lease(this, std::move(db));
  }

  void release(DbPtr db) {
    // Only a connection with no transaction open may be reused.
    if (sqlite3_get_autocommit(db.get()) == 0) return;
    std::lock_guard lock(pool_mu_);
    if (idle_readers_.size() < kMaxIdleReaders) idle_readers_.push_back(std::move(db));
  }

  // After a committed write of one row (`doc` null for a removal) took the collection to
  // `generation`. Called with write_mu_ held, so writes reach the cache in commit order.
  void applyWrite(std::string_view collection, int64_t generation, int64_t seq, DocPtr doc,
                  size_t text_bytes) {
    std::lock_guard lock(cache_mu_);
    auto it = caches_.find(std::string(collection));
    if (it == caches_.end()) return;
    CollectionCache& cache = it->second;
    if (cache.generation == generation) return;  // a scan already reloaded past our commit
    if (cache.generation != generation - 1) {    // someone else wrote in between: reload later
      caches_.erase(it);
      return;
    }
    auto old = cache.by_seq.find(seq);
    if (old != cache.by_seq.end()) {
      cache.text_bytes -= old->second.text_bytes;
      cache.by_seq.erase(old);
    }
    if (doc) {
      cache.by_seq.emplace(seq, CachedDoc{std::move(doc), text_bytes});
      cache.text_bytes += text_bytes;
    }
    cache.generation = generation;
    cache.snapshot.reset();
    if (cache.text_bytes > kMaxCachedTextBytes) caches_.erase(it);
  }

  // Calls `fn` on the documents of `collection` in insertion order until it returns false.
  Status visit(std::string_view collection,
               const std::function<Result<bool>(const DocPtr&)>& fn) {
    std::shared_ptr<const Snapshot> snapshot;
    {
      EXA_ASSIGN_OR_RETURN(Lease reader, lease());
      // One read transaction: the generation and the rows come from the same snapshot.
      EXA_ASSIGN_OR_RETURN(auto tx, Transaction::begin(reader.get(), /*immediate=*/false));
      EXA_ASSIGN_OR_RETURN(int64_t generation, readGeneration(reader.get(), collection));
      snapshot = cachedSnapshot(collection, generation);
      if (!snapshot) return loadAndVisit(reader.get(), collection, generation, fn);
    }
    for (const DocPtr& doc : *snapshot) {
      EXA_ASSIGN_OR_RETURN(bool more, fn(doc));
      if (!more) break;
    }
    return {};
  }

  // The cached documents if the cache is at least as new as `generation`, else null.
  std::shared_ptr<const Snapshot> cachedSnapshot(std::string_view collection,
                                                 int64_t generation) {
    std::lock_guard lock(cache_mu_);
    auto it = caches_.find(std::string(collection));
    // Generations only grow, so a newer cache holds writes committed after our read began.
    if (it == caches_.end() || it->second.generation < generation) return nullptr;
    CollectionCache& cache = it->second;
    if (!cache.snapshot) {
      auto built = std::make_shared<Snapshot>();
      built->reserve(cache.by_seq.size());
      for (const auto& [seq, entry] : cache.by_seq) built->push_back(entry.doc);
      cache.snapshot = std::move(built);
    }
    return cache.snapshot;
  }

  // Cache miss: streams the rows, feeding `fn`, and keeps reading to fill the cache unless the
  // collection is too big to cache, in which case it stops as soon as `fn` is satisfied.
  Status loadAndVisit(sqlite3* db, std::string_view collection, int64_t generation,
                      const std::function<Result<bool>(const DocPtr&)>& fn) {
    EXA_ASSIGN_OR_RETURN(auto rows, Statement::prepare(db,
        "SELECT seq, id, doc FROM documents WHERE collection = ? ORDER BY seq"));
    rows.bind(collection);
    CollectionCache fresh;
    fresh.generation = generation;
    bool caching = true;
    bool wanted = true;
    while (wanted || caching) {
      EXA_ASSIGN_OR_RETURN(bool row, rows.step());
      if (!row) break;
      std::string_view text = rows.text(2);
      if (caching && fresh.text_bytes + text.size() > kMaxCachedTextBytes) {
        caching = false;
        fresh.by_seq.clear();
        if (!wanted) break;
      }
      auto parsed = parseJson(text);
      if (!parsed)
        return makeError(ErrorCode::kInternal,
                         "stored document " + describeKey(collection, rows.text(1)) +
                             " unreadable: " + parsed.error().message);
      auto doc = std::make_shared<const Json>(std::move(parsed).value());
      if (caching) {
        fresh.by_seq.emplace(rows.integer(0), CachedDoc{doc, text.size()});
        fresh.text_bytes += text.size();
      }
      if (wanted) {
        EXA_ASSIGN_OR_RETURN(wanted, fn(doc));
      }
    }
    if (caching) {
      std::lock_guard lock(cache_mu_);
      auto [slot, inserted] = caches_.try_emplace(std::string(collection));
      // Another scan may have installed something as new or newer meanwhile.
      if (inserted || slot->second.generation < generation) slot->second = std::move(fresh);
    }
    return {};
  }

  // Writes one row: runs `body` in a BEGIN IMMEDIATE transaction on the write connection, then
  // moves the cache to the collection's new generation. `body` returns {seq, doc or null}.
  Status write(std::string_view collection,
               const std::function<Result<Change>(sqlite3*)>& body) {
    std::lock_guard lock(write_mu_);
    sqlite3* db = writer_.get();
    EXA_ASSIGN_OR_RETURN(auto tx, Transaction::begin(db, /*immediate=*/true));
    EXA_ASSIGN_OR_RETURN(auto change, body(db));
    EXA_ASSIGN_OR_RETURN(int64_t generation, readGeneration(db, collection));
    EXA_TRY(tx.commit());
    applyWrite(collection, generation, change.first, std::move(change.second.doc),
               change.second.text_bytes);
    return {};
  }
};

DocumentStore::DocumentStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DocumentStore::~DocumentStore() = default;

Result<std::unique_ptr<DocumentStore>> DocumentStore::open(const std::string& path,
                                                           Durability durability) {
  auto impl = std::make_unique<Impl>();
  impl->path_ = path;
  impl->durability_ = durability;
  EXA_ASSIGN_OR_RETURN(impl->writer_, openConnection(path, /*writer=*/true, durability));
  EXA_TRY(migrate(impl->writer_.get(), path));
  return std::unique_ptr<DocumentStore>(new DocumentStore(std::move(impl)));
}

Status DocumentStore::checkWritable() const {
  std::lock_guard lock(impl_->write_mu_);
  sqlite3* db = impl_->writer_.get();
  EXA_ASSIGN_OR_RETURN(auto tx, Transaction::begin(db, /*immediate=*/true));
  return execSql(db, "UPDATE schema_version SET version = version", "write probe");
}  // ~Transaction rolls back

Status DocumentStore::insert(std::string_view collection, std::string_view id, const Json& doc) {
  EXA_TRY(checkId(id));
  EXA_ASSIGN_OR_RETURN(Encoded encoded, encode(doc));
  return impl_->write(collection, [&](sqlite3* db) -> Result<Impl::Change> {
    EXA_ASSIGN_OR_RETURN(auto stmt, Statement::prepare(db,
        "INSERT INTO documents (collection, id, doc, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?)"));
    int64_t now = nowMs();
    auto done = stmt.bind(collection).bind(id).bind(encoded.text).bind(now).bind(now).run();
    if (!done) {
      if (isUniqueViolation(stmt.extendedCode())) return alreadyExistsError(collection, id);
      return std::move(done).error();
    }
    return Impl::Change{sqlite3_last_insert_rowid(db),
                                              Impl::CachedDoc{encoded.doc, encoded.text.size()}};
  });
}

Result<std::string> DocumentStore::getText(std::string_view collection,
                                           std::string_view id) const {
  EXA_ASSIGN_OR_RETURN(Impl::Lease reader, impl_->lease());
  EXA_ASSIGN_OR_RETURN(auto stmt, Statement::prepare(reader.get(),
      "SELECT doc FROM documents WHERE collection = ? AND id = ?"));
  EXA_ASSIGN_OR_RETURN(bool row, stmt.bind(collection).bind(id).step());
  if (!row) return notFound(collection, id);
  return std::string(stmt.text(0));
}

Result<Json> DocumentStore::get(std::string_view collection, std::string_view id) const {
  EXA_ASSIGN_OR_RETURN(std::string text, getText(collection, id));
  auto parsed = parseJson(text);
  if (!parsed)
    return makeError(ErrorCode::kInternal, "stored document " + describeKey(collection, id) +
                                               " unreadable: " + parsed.error().message);
  return parsed;
}

Status DocumentStore::replace(std::string_view collection, std::string_view id, const Json& doc) {
  EXA_ASSIGN_OR_RETURN(Encoded encoded, encode(doc));
  return impl_->write(collection, [&](sqlite3* db) -> Result<Impl::Change> {
    EXA_ASSIGN_OR_RETURN(auto stmt, Statement::prepare(db,
        "UPDATE documents SET doc = ?, updated_at = ? WHERE collection = ? AND id = ? "
        "RETURNING seq"));
    EXA_ASSIGN_OR_RETURN(bool row,
                         stmt.bind(encoded.text).bind(nowMs()).bind(collection).bind(id).step());
    if (!row) return notFound(collection, id);
    int64_t seq = stmt.integer(0);
    EXA_TRY(stmt.run());  // RETURNING statements finish on the step that reports DONE
    return Impl::Change{seq, Impl::CachedDoc{encoded.doc, encoded.text.size()}};
  });
}

Result<Json> DocumentStore::update(std::string_view collection, std::string_view id,
                                   const Updater& fn) {
  DocPtr stored;
  EXA_TRY(impl_->write(collection, [&](sqlite3* db) -> Result<Impl::Change> {
    EXA_ASSIGN_OR_RETURN(auto read, Statement::prepare(db,
        "SELECT seq, doc FROM documents WHERE collection = ? AND id = ?"));
    EXA_ASSIGN_OR_RETURN(bool row, read.bind(collection).bind(id).step());
    if (!row) return notFound(collection, id);
    int64_t seq = read.integer(0);
    auto current = parseJson(read.text(1));
    if (!current)
      return makeError(ErrorCode::kInternal, "stored document " + describeKey(collection, id) +
                                                 " unreadable: " + current.error().message);
    EXA_ASSIGN_OR_RETURN(auto next, fn(*current));
    auto& [new_id, new_doc] = next;
    EXA_TRY(checkId(new_id));
    EXA_ASSIGN_OR_RETURN(Encoded encoded, encode(new_doc));
    EXA_ASSIGN_OR_RETURN(auto write, Statement::prepare(db,
        "UPDATE documents SET id = ?, doc = ?, updated_at = ? WHERE seq = ?"));
    auto done = write.bind(new_id).bind(encoded.text).bind(nowMs()).bind(seq).run();
    if (!done) {
      if (isUniqueViolation(write.extendedCode())) return alreadyExistsError(collection, new_id);
      return std::move(done).error();
    }
    stored = encoded.doc;
    return Impl::Change{seq, Impl::CachedDoc{encoded.doc, encoded.text.size()}};
  }));
  return *stored;
}

Status DocumentStore::remove(std::string_view collection, std::string_view id) {
  return impl_->write(collection, [&](sqlite3* db) -> Result<Impl::Change> {
    EXA_ASSIGN_OR_RETURN(auto stmt, Statement::prepare(db,
        "DELETE FROM documents WHERE collection = ? AND id = ? RETURNING seq"));
    EXA_ASSIGN_OR_RETURN(bool row, stmt.bind(collection).bind(id).step());
    if (!row) return notFound(collection, id);
    int64_t seq = stmt.integer(0);
    EXA_TRY(stmt.run());
    return Impl::Change{seq, Impl::CachedDoc{nullptr, 0}};
  });
}

Result<std::vector<std::shared_ptr<const Json>>> DocumentStore::scanShared(
    std::string_view collection, const Predicate& keep, size_t limit) const {
  std::vector<DocPtr> kept;
  EXA_TRY(impl_->visit(collection, [&](const DocPtr& doc) -> Result<bool> {
    EXA_ASSIGN_OR_RETURN(bool wanted, keep(*doc));
    if (wanted) kept.push_back(doc);
    return limit == 0 || kept.size() < limit;
  }));
  return kept;
}

Result<std::vector<Json>> DocumentStore::scan(std::string_view collection, const Predicate& keep,
                                              size_t limit) const {
  std::vector<Json> kept;
  EXA_TRY(impl_->visit(collection, [&](const DocPtr& doc) -> Result<bool> {
    EXA_ASSIGN_OR_RETURN(bool wanted, keep(*doc));
    if (wanted) kept.push_back(*doc);
    return limit == 0 || kept.size() < limit;
  }));
  return kept;
}

Result<size_t> DocumentStore::count(std::string_view collection) const {
  EXA_ASSIGN_OR_RETURN(Impl::Lease reader, impl_->lease());
  EXA_ASSIGN_OR_RETURN(auto stmt, Statement::prepare(reader.get(),
      "SELECT COUNT(*) FROM documents WHERE collection = ?"));
  EXA_ASSIGN_OR_RETURN(bool row, stmt.bind(collection).step());
  if (!row) return makeError(ErrorCode::kInternal, "sqlite count: no row");
  return static_cast<size_t>(stmt.integer(0));
}

}  // namespace exa::agent
