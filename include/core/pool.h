/* SPDX-License-Identifier: MIT */
/*
 * The worker pool (modelled on sd-resolve): threads run slow, blocking jobs
 * (AI calls, HTTP deliveries, fix bookkeeping) off the loop thread.
 *
 * Jobs go into lanes (analyze, deliver, fix). Each lane has its own threads
 * and its own bounded queue, so a lane whose jobs hang on a slow peer never
 * takes a thread from another: a Slack outage cannot stall analysis, and
 * only the analysis lane's fullness pauses ingestion (its owner decides).
 *
 * A job owns its data; work() runs on a worker of its lane and must not
 * touch loop-owned state; done() runs later on the loop thread, woken
 * through an eventfd. A job can be cancelled (pool_job_cancel()): a queued
 * one is not run, a running one sees pool_job_cancelled() turn true (an
 * HTTP transfer polls it from its progress callback; pool_job_sleep() wakes
 * up). Freeing the pool cancels everything: jobs that never started are
 * dropped without done() — their work is durable in the database and is
 * queued again at the next start — and running ones are waited for.
 */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-event.h>

#include "shared/cleanup.h"
#include "shared/parse.h"

typedef struct Pool Pool;
typedef struct PoolJob PoolJob;

typedef enum PoolLane {
        POOL_LANE_ANALYZE,
        POOL_LANE_DELIVER,
        POOL_LANE_FIX,
        _POOL_LANE_MAX,
        _POOL_LANE_INVALID = -EINVAL,
} PoolLane;

const char *pool_lane_to_string(PoolLane l);

typedef struct PoolLaneConfig {
        unsigned workers;        /* threads of this lane; 0: the lane refuses jobs */
        size_t max_queue;        /* jobs queued or running at most */
} PoolLaneConfig;

/*
 * Runs on a worker thread. Returns 0 or -errno (-ECANCELED when it gave up
 * because it was cancelled); done() receives it.
 */
typedef int (*PoolWorkFunc)(void *data, PoolJob *job);
/*
 * Runs on the loop thread once work() returned, or with -ECANCELED when the
 * job was cancelled before it ran. The job handle is gone afterwards.
 */
typedef void (*PoolDoneFunc)(void *data, int result);
/* A lane's queue has room again after it was full (with hysteresis). */
typedef void (*PoolDrainFunc)(Pool *p, PoolLane lane, void *userdata);

/* Starts every lane's threads (signals blocked). Returns 0 or -errno. */
int pool_new(sd_event *event, const PoolLaneConfig lanes[_POOL_LANE_MAX], Pool **ret);

/*
 * Stops accepting jobs, drops the queued ones (free_data only), cancels the
 * running ones and joins every thread, then runs the done() callbacks of the
 * jobs that finished. Accepts NULL.
 */
Pool *pool_free(Pool *p);
DEFINE_CLEANUP(Pool, pool_free)

void pool_set_drain_callback(Pool *p, PoolLane lane, PoolDrainFunc f, void *userdata);

/*
 * Queues a job in lane. free_data (may be NULL) frees data after done() ran,
 * or right away if the job is refused or dropped. *ret_job (may be NULL)
 * gets a handle, valid until done() runs, for pool_job_cancel(). Returns 0,
 * -EAGAIN when the lane is full, -EOPNOTSUPP for a lane without workers,
 * -ESHUTDOWN while stopping.
 */
int pool_submit(Pool *p, PoolLane lane, PoolWorkFunc work, PoolDoneFunc done,
                void (*free_data)(void *), void *data, PoolJob **ret_job);

/* Loop thread: cancels a job that has not completed yet (see above). */
void pool_job_cancel(PoolJob *job);
/* Any thread: whether the job was cancelled (or the pool is stopping). */
bool pool_job_cancelled(PoolJob *job);
/*
 * Worker thread: sleeps for usec or until the job is cancelled. Returns 0
 * after the full sleep, -ECANCELED when cancelled.
 */
int pool_job_sleep(PoolJob *job, usec_t usec);

/* Jobs of lane queued, running, or finished but not yet done(). */
size_t pool_pending(Pool *p, PoolLane lane);
size_t pool_max_queue(Pool *p, PoolLane lane);
bool pool_is_full(Pool *p, PoolLane lane);
/* Jobs running on a worker right now. */
size_t pool_running(Pool *p, PoolLane lane);
