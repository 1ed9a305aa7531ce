// Audit of heap allocations inside training steps (tests only).
//
// This library's own operator new and delete (alloc_audit.cpp) forward to malloc and free, and
// count the calls made on a thread while that thread's audit is open. train() opens it around
// every step (gather, forward, loss, backward, optimizer) when audits are enabled, so a test can
// check that a step allocates nothing: every buffer lives in the trial's workspace.
#pragma once

#include <cstdint>

namespace tunecore::mlp {

// Turn the audit of training steps on or off for the whole process (off by default).
void set_step_audit(bool enabled);
bool step_audit_enabled();
// Whether this build counts allocations at all (Linux with GCC or Clang).
bool audit_available();

// Start counting this thread's allocations (operator new calls) from zero / stop and return
// the count.
void audit_begin();
int64_t audit_end();

}  // namespace tunecore::mlp
