#include "bench/replay_plan.h"

#include <limits>
#include <string>

namespace rusty_malloc::replay {

using trace::Op;
using trace::Record;

bool MakePlan(const trace::Trace& trace, Plan* plan, std::string* error) {
  *plan = Plan();
  // Frees first: a use must know whether its own thread frees the block.
  plan->ids.resize(trace.max_id + 1);
  for (std::size_t t = 0; t < trace.threads.size(); ++t) {
    const std::vector<Record>& records = trace.threads[t].records;
    plan->records += records.size();
    for (std::size_t i = 0; i < records.size(); ++i) {
      const Op op = records[i].op;
      if (op != Op::kThreadStart && op != Op::kEnd) ++plan->calls;
      if (const std::uint64_t id = trace::FreedId(records[i]); id != 0) {
        plan->ids[id].freer = static_cast<std::uint32_t>(t + 1);
        plan->ids[id].freed_index = i;
      }
    }
  }
  for (std::size_t t = 0; t < trace.threads.size(); ++t) {
    const std::vector<Record>& records = trace.threads[t].records;
    for (std::size_t i = 0; i < records.size(); ++i) {
      const std::uint64_t id = trace::UsedId(records[i]);
      if (id == 0) continue;
      IdPlan& plan_id = plan->ids[id];
      if (plan_id.freer != t + 1) {
        if (plan_id.other_uses == std::numeric_limits<std::uint32_t>::max()) {
          *error = "offset " + std::to_string(records[i].offset) + ": id " +
                   std::to_string(id) + " used too often";
          return false;
        }
        ++plan_id.other_uses;
      } else if (plan_id.freed_index < i) {
        *error = "offset " + std::to_string(records[i].offset) + ": id " +
                 std::to_string(id) + " used after its thread freed it";
        return false;
      }
    }
  }
  return true;
}

}  // namespace rusty_malloc::replay
