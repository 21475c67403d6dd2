/* SPDX-License-Identifier: MIT */
/*
 * The worker pool (modelled on sd-resolve): a fixed number of threads run
 * slow, blocking jobs (AI calls, fix commands, HTTP) off the loop thread.
 * A job owns its data; work() runs on a worker and must not touch loop-owned
 * state; done() runs later on the loop thread, woken through an eventfd.
 * The job queue is bounded: pool_submit() says -EAGAIN when it is full, and
 * the owner pauses its inputs until the on_drain callback says there is room
 * again (backpressure instead of unbounded memory).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-event.h>

#include "shared/cleanup.h"

typedef struct Pool Pool;

typedef void (*PoolWorkFunc)(void *data);
typedef void (*PoolDoneFunc)(Pool *p, void *data, void *userdata);
typedef void (*PoolDrainFunc)(Pool *p, void *userdata);

/* Starts n_workers threads (signals blocked). Returns 0 or -errno. */
int pool_new(sd_event *event, unsigned n_workers, size_t max_queue, Pool **ret);

/*
 * Stops accepting jobs, lets the workers finish the queued ones, joins them,
 * runs the remaining done() callbacks, and frees. Accepts NULL.
 */
Pool *pool_free(Pool *p);
DEFINE_CLEANUP(Pool, pool_free)

/* done() and on_drain() receive this userdata. */
void pool_set_userdata(Pool *p, void *userdata, PoolDrainFunc on_drain);

/*
 * Queues a job. free_data (may be NULL) frees data after done() ran, or
 * right away if the job is refused. Returns 0, -EAGAIN when the queue is
 * full, -ESHUTDOWN while stopping.
 */
int pool_submit(Pool *p, PoolWorkFunc work, PoolDoneFunc done, void (*free_data)(void *),
                void *data);

/* Jobs queued or running. */
size_t pool_pending(Pool *p);
size_t pool_max_queue(Pool *p);
bool pool_is_full(Pool *p);
