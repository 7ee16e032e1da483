#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <unordered_set>
#include <vector>

namespace chfleet::ingest {

/// Which request slices are committed or being written, so that a retried request writes only what is still
/// missing: a slice's id is its request's fingerprint plus its region and shard.
///
/// Crash guarantee (async mode, when a file is attached): before a batch is sent, its id and the ids of its
/// slices, in order, are appended to the file ("B"); after the shard confirmed it, a "C" line. A batch
/// begun but not confirmed when the process died is rebuilt after the restart from the very same slices in
/// the same order, so the shard receives a byte-identical block that Replicated*MergeTree deduplication (and
/// insert_deduplication_token, same batch id) drops if the first attempt had landed. A first attempt cut
/// short landed nothing: batches are sent as one block the server takes whole or not at all
/// (clickhouse/WholeBody.h). Lines are written with write(2) and survive a killed process; a torn last line
/// is ignored.
class Ledger {
  public:
    /// A batch that was begun but not confirmed before a restart.
    struct PendingBatch {
        std::string batch_id;
        std::vector<std::string> slice_ids;
    };

    /// `window`: how many committed slice ids are remembered (the oldest are forgotten first).
    explicit Ledger(size_t window);
    ~Ledger();
    Ledger(const Ledger&) = delete;
    Ledger& operator=(const Ledger&) = delete;

    /// Attaches `path`: reads the ids it holds, rewrites it compacted, and returns the batches begun but
    /// not confirmed. Throws Exception(IoError) naming the file.
    std::vector<PendingBatch> attach(const std::string& path);

    enum class Claim { Claimed, Committed, InFlight };
    /// Marks `slice_id` as being written unless it is committed or already being written.
    Claim claim(const std::string& slice_id);
    /// Gives a claimed slice back (its write failed; a retry may write it).
    void release(const std::string& slice_id);
    bool isCommitted(const std::string& slice_id) const;

    /// Records that a batch made of `slice_ids` is about to be sent (a no-op without a file).
    void begin(const std::string& batch_id, const std::vector<std::string>& slice_ids);
    /// Records that the batch is committed: its slices become committed.
    void commit(const std::string& batch_id, const std::vector<std::string>& slice_ids);

  private:
    void remember(const std::string& slice_id);
    void appendLine(const std::string& line);
    void compact();

    size_t window_;
    mutable std::mutex mutex_;
    std::unordered_set<std::string> committed_;
    std::deque<std::string> order_;  ///< committed ids, oldest first, for forgetting
    std::unordered_set<std::string> in_flight_;
    std::map<std::string, std::vector<std::string>> begun_;  ///< batches sent but not confirmed
    int fd_ = -1;
    std::string path_;
    size_t file_bytes_ = 0;
};

}  // namespace chfleet::ingest
