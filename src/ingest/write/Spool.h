#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace chfleet::ingest {

/// One request's rows for one shard, as the spool keeps them.
struct SpooledSlice {
    std::string region;
    int shard = 0;
    std::string id;  ///< the ledger id (empty: not deduplicated)
    uint64_t row_count = 0;
    std::string rows;  ///< TabSeparated
};

/// One accepted request, routed.
struct SpoolRecord {
    std::string table;    ///< logical table name
    std::string columns;  ///< the INSERT's column list
    std::vector<SpooledSlice> slices;
};

/// The durable queue of async mode: a request is answered 200 only once its routed rows are in a spool
/// segment on disk (written and fdatasync'ed). Segments are append-only files `segment-<n>.spool` of records
/// [magic, length, cityHash64 of the payload, payload]. Many concurrent requests share one fdatasync (one
/// writer thread writes whatever is queued, syncs once, then answers all of them).
///
/// Crash guarantee: every acknowledged record is whole on disk. At start-up recover() reads every segment;
/// a record that fails its length or checksum can only be the last one, being written when the process
/// died and never acknowledged: it is cut off and its bytes kept beside the segment (`.torn`). A segment
/// is deleted only once every slice in it was committed on its shard (release()) and it is no longer
/// written to.
class Spool {
  public:
    Spool(std::string dir, size_t segment_bytes);
    ~Spool();
    Spool(const Spool&) = delete;
    Spool& operator=(const Spool&) = delete;

    /// Reads the segments an earlier process left, calling `on_record(segment, record)` for each record in
    /// order, then starts writing a new segment. Every slice read counts as outstanding (see release()).
    /// Throws Exception(IoError) naming the folder or file.
    void recover(const std::function<void(uint64_t segment, SpoolRecord&& record)>& on_record);

    /// Makes `record` durable and returns its segment; all its slices count as outstanding. Blocks until
    /// the data is synced. Throws Exception(IoError) when the disk refuses.
    uint64_t append(const SpoolRecord& record);

    /// One slice of `segment` is committed on its shard.
    void release(uint64_t segment);

    size_t outstandingSlices() const;
    size_t bytesOnDisk() const;

    void stop();

  private:
    struct Pending {
        std::string bytes;
        size_t slices = 0;
        std::promise<uint64_t> done;
    };
    struct Segment {
        size_t outstanding = 0;
        size_t bytes = 0;
        bool sealed = false;
    };

    void writerLoop();
    void openSegment(uint64_t number);
    std::string segmentPath(uint64_t number) const;
    void dropIfDone(uint64_t number);  ///< with mutex_ held

    std::string dir_;
    size_t segment_bytes_;
    mutable std::mutex mutex_;
    std::condition_variable queued_;
    std::vector<Pending*> queue_;
    std::map<uint64_t, Segment> segments_;
    uint64_t current_ = 0;
    int fd_ = -1;
    bool stopping_ = false;
    std::thread writer_;
};

}  // namespace chfleet::ingest
