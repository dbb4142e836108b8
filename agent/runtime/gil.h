/* SPDX-License-Identifier: MIT */
/*
 * gil: how an agent thread takes the GIL without losing to a convoy.
 *
 * CPython asks the holder to drop the GIL only when a waiter's wait of one
 * switch interval (5 ms) times out. A holder that drops and takes it again
 * more often than that - a main thread looping around select() with a zero
 * timeout, a busy asyncio loop polling its selector - wakes the waiter each
 * time and takes the GIL back before the waiter runs, so the waiter can
 * wait for seconds (scripts/bench-gil-convoy.py measures it).
 *
 * So while an agent thread waits, one pending call (Py_AddPendingCall) asks
 * the main thread to release the GIL and wait until the agent thread has it
 * (at most GIL_HANDOFF_MS), then take it back: the switch interval's forced
 * switch, by hand. A main thread that is not running bytecode never runs
 * the call, and then it does not hold the GIL either.
 *
 * CPython 3.9+ only: 3.8's Py_AddPendingCall crashes once finalisation has
 * drained the queue, and that happens before the atexit hooks run. From
 * 3.9 on the queue lives until the interpreter is torn down; the call is
 * queued under agent.lock while the atexit hook has not run
 * (agent.stopping) and the interpreter is not finalising.
 */
#pragma once

/* PyGILState_Ensure() for an agent thread: a new thread state, the GIL
 * (through the handoff). Returns what gil_release() wants. */
int gil_ensure(void);
/* Delete that thread state and release the GIL (PyGILState_Release): no
 * thread state of ours stays behind for faulthandler, sys._current_frames()
 * or threading to see. */
void gil_release(int state);
