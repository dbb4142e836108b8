/* SPDX-License-Identifier: MIT */
/*
 * recording: the agent's recording file and the publishing of samples
 * (agent_record*, agent_publish: agent.h). What the life cycle needs of it:
 */
#pragma once

/* Close the recording (a detach); the next line written reopens it. */
void recording_close(void);
/* In a forked child (its only thread): a lock of its own, no file yet (the
 * child writes <its pid>.jsonl), no process line yet. */
void recording_after_fork(void);
