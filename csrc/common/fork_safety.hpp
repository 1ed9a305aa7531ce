// OpenMP after fork(). GNU libgomp keeps its worker threads in a pool; fork() copies the pool's
// bookkeeping into the child but not its threads, so the child's next parallel region waits
// forever for workers that do not exist (Python's multiprocessing "fork" start method, or
// os.fork, after a training or a large sampler draw). The core therefore remembers which
// process started its first parallel region; any other process (a child forked after that)
// runs every region on the calling thread alone. Results never depend on the thread count, so
// such a child computes the same numbers, only without the extra threads.
#pragma once

namespace tunecore {

// True when this process may start a parallel region with more than one thread: it is the
// process that started the first one (claimed by this call when none has run yet). False in a
// child forked after its parent started OpenMP threads. Thread-safe; a getpid() per call, so
// call it once per region, not per iteration.
bool parallel_regions_safe();

}  // namespace tunecore
