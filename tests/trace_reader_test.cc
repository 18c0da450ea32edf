// ParseTrace and ReadTraceFile (allocator/trace/trace_reader.h) on traces
// built in memory: every op's fields and times come back; every malformed
// or inconsistent trace is refused with the offset of what is wrong; a
// trace cut short keeps its complete frames and drops what it cannot use.

#include "allocator/trace/trace_reader.h"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "allocator/trace/trace_format.h"
#include "gtest/gtest.h"
#include "tests/trace_builder.h"

namespace rusty_malloc::trace {
namespace {

using testing::Rec;
using testing::TraceBuilder;
namespace rec = testing;

bool Parse(const TraceBuilder& builder, Trace* trace, std::string* error) {
  return ParseTrace(builder.bytes().data(), builder.size(), trace, error);
}

// Parses `builder`'s trace, which must be refused at `offset` for `why`.
void ExpectRefused(const TraceBuilder& builder, std::size_t offset,
                   const std::string& why) {
  Trace trace;
  std::string error;
  ASSERT_FALSE(Parse(builder, &trace, &error));
  EXPECT_EQ(error.rfind("offset " + std::to_string(offset) + ": ", 0), 0u)
      << error;
  EXPECT_NE(error.find(why), std::string::npos) << error;
}

TEST(TraceReaderTest, EveryOpRoundTrips) {
  TraceBuilder builder(Header{kVersion, 4242, 1'700'000'000'000'000'000});
  std::vector<std::size_t> a =
      builder.Frame(7, {rec::Start(1000),
                        {Op::kMalloc, 5, {10, 1}},
                        {Op::kCalloc, 6, {3, 4, 2}},
                        {Op::kRealloc, 7, {1, 20, 3}},
                        {Op::kAlignedAlloc, 8, {64, 100, 4}},
                        {Op::kNew, 9, {0, 8, 5}},
                        {Op::kNew, 10, {32, 16, 6}},
                        {Op::kUsableSize, 11, {3}}});
  std::vector<std::size_t> b = builder.Frame(9, {rec::Start(1500),
                                                 {Op::kFreeSized, 3, {3, 20}},
                                                 {Op::kFree, 4, {2}},
                                                 {Op::kDelete, 5, {5}},
                                                 {Op::kDeleteSized, 6, {6, 16}},
                                                 {Op::kFree, 7, {4}}});
  std::vector<std::size_t> c = builder.Frame(7, {{Op::kEnd, 100}});

  Trace trace;
  std::string error;
  ASSERT_TRUE(Parse(builder, &trace, &error)) << error;
  EXPECT_EQ(trace.header.pid, 4242u);
  EXPECT_EQ(trace.header.start_unix_ns, 1'700'000'000'000'000'000u);
  EXPECT_TRUE(trace.complete);
  EXPECT_EQ(trace.dropped_records, 0u);
  EXPECT_EQ(trace.ignored_tail_bytes, 0u);
  EXPECT_EQ(trace.max_id, 6u);
  ASSERT_EQ(trace.threads.size(), 2u);
  EXPECT_EQ(trace.threads[0].thread, 7u);
  EXPECT_EQ(trace.threads[1].thread, 9u);

  const std::vector<Record>& first = trace.threads[0].records;
  ASSERT_EQ(first.size(), 9u);
  const Record expected_first[] = {
      {Op::kThreadStart, 1000, 0, 0, 0, 0, 0, a[0]},
      {Op::kMalloc, 1005, 1, 0, 10, 0, 0, a[1]},
      {Op::kCalloc, 1011, 2, 0, 4, 3, 0, a[2]},
      {Op::kRealloc, 1018, 3, 1, 20, 0, 0, a[3]},
      {Op::kAlignedAlloc, 1026, 4, 0, 100, 0, 64, a[4]},
      {Op::kNew, 1035, 5, 0, 8, 0, 0, a[5]},
      {Op::kNew, 1045, 6, 0, 16, 0, 32, a[6]},
      {Op::kUsableSize, 1056, 3, 0, 0, 0, 0, a[7]},
      {Op::kEnd, 1156, 0, 0, 0, 0, 0, c[0]},
  };
  const std::vector<Record>& second = trace.threads[1].records;
  ASSERT_EQ(second.size(), 6u);
  const Record expected_second[] = {
      {Op::kThreadStart, 1500, 0, 0, 0, 0, 0, b[0]},
      {Op::kFreeSized, 1503, 3, 0, 20, 0, 0, b[1]},
      {Op::kFree, 1507, 2, 0, 0, 0, 0, b[2]},
      {Op::kDelete, 1512, 5, 0, 0, 0, 0, b[3]},
      {Op::kDeleteSized, 1518, 6, 0, 16, 0, 0, b[4]},
      {Op::kFree, 1525, 4, 0, 0, 0, 0, b[5]},
  };
  auto expect_equal = [](const Record& got, const Record& want) {
    EXPECT_EQ(got.op, want.op) << "at " << want.offset;
    EXPECT_EQ(got.time_ns, want.time_ns) << "at " << want.offset;
    EXPECT_EQ(got.id, want.id) << "at " << want.offset;
    EXPECT_EQ(got.old_id, want.old_id) << "at " << want.offset;
    EXPECT_EQ(got.size, want.size) << "at " << want.offset;
    EXPECT_EQ(got.count, want.count) << "at " << want.offset;
    EXPECT_EQ(got.align, want.align) << "at " << want.offset;
    EXPECT_EQ(got.offset, want.offset);
  };
  for (std::size_t i = 0; i < first.size(); ++i) {
    expect_equal(first[i], expected_first[i]);
  }
  for (std::size_t i = 0; i < second.size(); ++i) {
    expect_equal(second[i], expected_second[i]);
  }
}

TEST(TraceReaderTest, LargeVarintsRoundTrip) {
  TraceBuilder builder;
  builder.Frame(1,
                {rec::Start(~std::uint64_t{0} - 1),
                 rec::Calloc(std::uint64_t{1} << 40, std::uint64_t{1} << 40, 0),
                 rec::Malloc(~std::uint64_t{0}, 0), rec::End()});
  Trace trace;
  std::string error;
  ASSERT_TRUE(Parse(builder, &trace, &error)) << error;
  const std::vector<Record>& records = trace.threads[0].records;
  ASSERT_EQ(records.size(), 4u);
  EXPECT_EQ(records[0].time_ns, ~std::uint64_t{0} - 1);
  EXPECT_EQ(records[1].count, std::uint64_t{1} << 40);
  EXPECT_EQ(records[2].size, ~std::uint64_t{0});
  EXPECT_EQ(trace.max_id, 0u);
}

TEST(TraceReaderTest, WhatRecordsAllocateFreeAndUse) {
  const Record failed_realloc{Op::kRealloc, 0, 0, 5, 100};
  EXPECT_FALSE(Allocates(failed_realloc));
  EXPECT_EQ(FreedId(failed_realloc), 0u);  // The block stays.
  const Record realloc_to_zero{Op::kRealloc, 0, 0, 5, 0};
  EXPECT_EQ(FreedId(realloc_to_zero), 5u);
  const Record moved{Op::kRealloc, 0, 6, 5, 10};
  EXPECT_TRUE(Allocates(moved));
  EXPECT_EQ(FreedId(moved), 5u);
  const Record usable{Op::kUsableSize, 0, 6};
  EXPECT_EQ(UsedId(usable), 6u);
  EXPECT_EQ(FreedId(usable), 0u);
  EXPECT_FALSE(Allocates(Record{Op::kMalloc, 0, 0, 0, 1}));
}

TEST(TraceReaderTest, RefusesABadHeader) {
  TraceBuilder wrong_magic;
  wrong_magic.mutable_bytes()[0] = 'X';
  ExpectRefused(wrong_magic, 0, "not a trace");

  TraceBuilder wrong_version(Header{kVersion + 1});
  ExpectRefused(wrong_version, 0, "not a trace");

  TraceBuilder short_header;
  short_header.mutable_bytes().resize(kHeaderBytes - 1);
  ExpectRefused(short_header, 0, "not a trace");
}

TEST(TraceReaderTest, RefusesAnUnknownOp) {
  for (const unsigned char op : {0, kLastOp + 1, 0xff}) {
    TraceBuilder builder;
    builder.Frame(1, {rec::Start()});
    const std::size_t frame = builder.size();
    builder.Raw({1, 2, op, 0});
    ExpectRefused(builder, frame + 2, "unknown op " + std::to_string(op));
  }
}

TEST(TraceReaderTest, RefusesARecordCutShortByItsFrame) {
  TraceBuilder builder;
  builder.Frame(1, {rec::Start()});
  const std::size_t frame = builder.size();
  // kMalloc with its size but no id.
  builder.Raw({1, 3, static_cast<unsigned char>(Op::kMalloc), 0, 8});
  ExpectRefused(builder, frame + 2, "cut short");

  TraceBuilder unended_varint;
  unended_varint.Frame(1, {rec::Start()});
  const std::size_t at = unended_varint.size();
  unended_varint.Raw({1, 2, static_cast<unsigned char>(Op::kFree), 0x80});
  ExpectRefused(unended_varint, at + 2, "cut short");
}

TEST(TraceReaderTest, RefusesAThreadUsedBeforeItStarts) {
  TraceBuilder builder;
  builder.Frame(1, {rec::Start()});
  const std::vector<std::size_t> at = builder.Frame(2, {rec::Malloc(8, 1)});
  ExpectRefused(builder, at[0], "thread 2 used before it starts");
}

TEST(TraceReaderTest, RefusesAThreadStartedTwice) {
  TraceBuilder builder;
  builder.Frame(1, {rec::Start(), rec::Malloc(8, 1)});
  const std::vector<std::size_t> at = builder.Frame(1, {rec::Start()});
  ExpectRefused(builder, at[0], "thread 1 starts twice");
}

TEST(TraceReaderTest, RefusesAnythingAfterTheEnd) {
  TraceBuilder frame_after;
  frame_after.Frame(1, {rec::Start(), rec::End()});
  const std::size_t frame = frame_after.size();
  frame_after.Frame(2, {rec::Start()});
  ExpectRefused(frame_after, frame, "a frame after the end record");

  TraceBuilder record_after;
  const std::vector<std::size_t> at =
      record_after.Frame(1, {rec::Start(), rec::End(), rec::Malloc(8, 1)});
  ExpectRefused(record_after, at[1], "records after the end record");

  TraceBuilder bytes_after;
  bytes_after.Frame(1, {rec::Start(), rec::End()});
  const std::size_t tail = bytes_after.size();
  bytes_after.Raw({1, 5});  // A frame header promising more than there is.
  ExpectRefused(bytes_after, tail, "bytes after the end record");
}

TEST(TraceReaderTest, RefusesAnIdAllocatedTwice) {
  TraceBuilder builder;
  builder.Frame(1, {rec::Start(), rec::Malloc(8, 1)});
  const std::vector<std::size_t> at =
      builder.Frame(2, {rec::Start(), rec::New(0, 8, 1), rec::End()});
  ExpectRefused(builder, at[1], "id 1 allocated twice");
}

TEST(TraceReaderTest, RefusesAnIdFreedTwice) {
  TraceBuilder builder;
  builder.Frame(1, {rec::Start(), rec::Malloc(8, 1), rec::Free(1)});
  const std::vector<std::size_t> at =
      builder.Frame(2, {rec::Start(), rec::Realloc(1, 16, 2), rec::End()});
  ExpectRefused(builder, at[1], "id 1 freed twice");
}

TEST(TraceReaderTest, RefusesAnIdNeverAllocatedInACompleteTrace) {
  for (const Rec& use :
       {rec::Free(3), rec::FreeSized(3, 8), rec::Delete(3),
        rec::DeleteSized(3, 8), rec::UsableSize(3), rec::Realloc(3, 8, 1)}) {
    TraceBuilder builder;
    const std::vector<std::size_t> at =
        builder.Frame(1, {rec::Start(), rec::Malloc(8, 2), use, rec::End()});
    ExpectRefused(builder, at[2], "id 3 is never allocated");
  }
}

// The realloc's old id above every other id once read past the ids the
// reader had room for.
TEST(TraceReaderTest, RefusesAReallocOfAnIdAboveEveryOther) {
  TraceBuilder builder;
  const std::vector<std::size_t> at = builder.Frame(
      1, {rec::Start(), rec::Realloc(1'000'000, 8, 1), rec::End()});
  ExpectRefused(builder, at[1], "id 1000000 is never allocated");
}

TEST(TraceReaderTest, RefusesABlockUsedBeforeItsThreadAllocatesIt) {
  TraceBuilder builder;
  const std::vector<std::size_t> at = builder.Frame(
      1, {rec::Start(), rec::UsableSize(1), rec::Malloc(8, 1), rec::End()});
  ExpectRefused(builder, at[1], "id 1 used before its thread allocates it");

  TraceBuilder freed;
  const std::vector<std::size_t> free_at = freed.Frame(
      1, {rec::Start(), rec::Free(1), rec::Malloc(8, 1), rec::End()});
  ExpectRefused(freed, free_at[1], "id 1 used before its thread allocates it");

  // Its own old block: the realloc would wait for itself.
  TraceBuilder own;
  const std::vector<std::size_t> own_at =
      own.Frame(1, {rec::Start(), rec::Realloc(1, 8, 1), rec::End()});
  ExpectRefused(own, own_at[1], "id 1 used before its thread allocates it");
}

// Another thread's use before the allocation is in order: only the replay's
// waiting tells which came first.
TEST(TraceReaderTest, TakesABlockUsedByAnotherThreadFirst) {
  TraceBuilder builder;
  builder.Frame(2, {rec::Start(), rec::Free(1)});
  builder.Frame(1, {rec::Start(), rec::Malloc(8, 1), rec::End()});
  Trace trace;
  std::string error;
  EXPECT_TRUE(Parse(builder, &trace, &error)) << error;
}

TEST(TraceReaderTest, KeepsTheCompleteFramesOfATraceCutShort) {
  TraceBuilder builder;
  builder.Frame(
      1, {rec::Start(), rec::Malloc(8, 1), rec::Free(99), rec::UsableSize(98),
          rec::Realloc(97, 16, 2), rec::Realloc(96, 16, 0), rec::Free(2)});
  builder.Frame(2, {rec::Start(), rec::Free(1), rec::DeleteSized(95, 8)});
  const std::size_t cut_at = builder.size();
  builder.Frame(2, {rec::Malloc(32, 3), rec::Free(3)});
  builder.mutable_bytes().resize(builder.size() - 3);

  Trace trace;
  std::string error;
  ASSERT_TRUE(Parse(builder, &trace, &error)) << error;
  EXPECT_FALSE(trace.complete);
  EXPECT_EQ(trace.ignored_tail_bytes, builder.size() - cut_at);
  // Free(99), UsableSize(98) and DeleteSized(95) dropped; Realloc(97), now
  // a malloc, counted with them. Realloc(96) failed and freed nothing.
  EXPECT_EQ(trace.dropped_records, 4u);
  ASSERT_EQ(trace.threads.size(), 2u);
  const std::vector<Record>& first = trace.threads[0].records;
  ASSERT_EQ(first.size(), 5u);
  EXPECT_EQ(first[1].op, Op::kMalloc);
  EXPECT_EQ(first[2].op, Op::kRealloc);
  EXPECT_EQ(first[2].old_id, 0u);
  EXPECT_EQ(first[2].id, 2u);
  EXPECT_EQ(first[3].op, Op::kRealloc);
  EXPECT_EQ(first[3].old_id, 96u);
  EXPECT_EQ(first[4].op, Op::kFree);
  const std::vector<Record>& second = trace.threads[1].records;
  ASSERT_EQ(second.size(), 2u);
  EXPECT_EQ(second[1].op, Op::kFree);
  EXPECT_EQ(second[1].id, 1u);
}

TEST(TraceReaderTest, IgnoresAFrameHeaderCutShort) {
  TraceBuilder builder;
  builder.Frame(1, {rec::Start(), rec::Malloc(8, 1)});
  const std::size_t cut_at = builder.size();
  builder.Raw({0x81});  // A thread varint with its last byte missing.
  Trace trace;
  std::string error;
  ASSERT_TRUE(Parse(builder, &trace, &error)) << error;
  EXPECT_EQ(trace.ignored_tail_bytes, 1u);
  EXPECT_EQ(builder.size() - cut_at, 1u);
  EXPECT_EQ(trace.threads[0].records.size(), 2u);
}

// Cut short or not, a trace's own thread still cannot use a block before
// it allocates it, nor free it twice.
TEST(TraceReaderTest, ATraceCutShortIsStillChecked) {
  TraceBuilder builder;
  const std::vector<std::size_t> at = builder.Frame(
      1, {rec::Start(), rec::Malloc(8, 1), rec::Free(1), rec::Free(1)});
  ExpectRefused(builder, at[3], "id 1 freed twice");
}

TEST(TraceReaderTest, ReadsAFile) {
  TraceBuilder builder;
  builder.Frame(1, {rec::Start(), rec::Malloc(8, 1), rec::End()});
  const char* dir = std::getenv("TEST_TMPDIR");
  const std::string path =
      std::string(dir != nullptr ? dir : "/tmp") + "/trace_reader_test.trace";
  std::FILE* file = std::fopen(path.c_str(), "wb");
  ASSERT_NE(file, nullptr);
  ASSERT_EQ(std::fwrite(builder.bytes().data(), 1, builder.size(), file),
            builder.size());
  ASSERT_EQ(std::fclose(file), 0);

  Trace trace;
  std::string error;
  ASSERT_TRUE(ReadTraceFile(path.c_str(), &trace, &error)) << error;
  EXPECT_TRUE(trace.complete);
  EXPECT_EQ(trace.max_id, 1u);

  EXPECT_FALSE(ReadTraceFile((path + ".missing").c_str(), &trace, &error));
  EXPECT_EQ(error.rfind(path + ".missing: ", 0), 0u) << error;

  file = std::fopen(path.c_str(), "wb");
  ASSERT_NE(file, nullptr);
  ASSERT_EQ(std::fwrite("not a trace", 1, 11, file), 11u);
  ASSERT_EQ(std::fclose(file), 0);
  EXPECT_FALSE(ReadTraceFile(path.c_str(), &trace, &error));
  EXPECT_EQ(error.rfind(path + ": offset 0: ", 0), 0u) << error;
}

}  // namespace
}  // namespace rusty_malloc::trace
