/* SPDX-License-Identifier: MIT */
/*
 * Worker pool; see pool.h. One mutex guards every queue: per lane a job
 * queue (loop -> that lane's workers, bounded), and one completion queue
 * (workers -> loop) that wakes the loop through an eventfd. A lane's workers
 * wait on the lane's condition variable; a job sleeping in pool_job_sleep()
 * waits on the pool's cancel condition, broadcast by every cancellation.
 * The cancel flag is the one piece of state a worker reads while the loop
 * may write it, so it is read and written under the mutex too.
 */
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "core/pool.h"
#include "shared/log.h"

typedef enum JobState {
        JOB_QUEUED,
        JOB_RUNNING,
        JOB_FINISHED,
} JobState;

struct PoolJob {
        PoolJob *next;
        Pool *pool;
        PoolLane lane;
        JobState state;
        bool cancelled;
        int result;
        PoolWorkFunc work;
        PoolDoneFunc done;
        void (*free_data)(void *);
        void *data;
};

typedef struct Lane {
        Pool *pool;
        PoolLane id;
        pthread_cond_t cond;
        PoolJob *head, *tail;          /* waiting for a worker */
        size_t n_pending;              /* queued + running + finished but not yet done() */
        size_t n_running;
        size_t max_queue;
        bool was_full;
        pthread_t *threads;
        unsigned n_threads;
        PoolDrainFunc on_drain;
        void *drain_userdata;
} Lane;

struct Pool {
        sd_event *event;
        sd_event_source *efd_source;
        int efd;
        pthread_mutex_t lock;
        pthread_cond_t cancel_cond;    /* CLOCK_MONOTONIC, for pool_job_sleep() */
        PoolJob *done_head, *done_tail;
        bool stopping;
        Lane lanes[_POOL_LANE_MAX];
};

static const char *const lane_names[_POOL_LANE_MAX] = {
        [POOL_LANE_ANALYZE] = "analyze",
        [POOL_LANE_DELIVER] = "deliver",
        [POOL_LANE_FIX] = "fix",
};

const char *pool_lane_to_string(PoolLane l) {
        return l >= 0 && l < _POOL_LANE_MAX ? lane_names[l] : NULL;
}

static void job_free(PoolJob *j) {
        if (j->free_data)
                j->free_data(j->data);
        free(j);
}

/* Called with the lock held. */
static void post_done_locked(Pool *p, PoolJob *j) {
        j->state = JOB_FINISHED;
        j->next = NULL;
        if (p->done_tail)
                p->done_tail->next = j;
        else
                p->done_head = j;
        p->done_tail = j;
}

static void *worker_main(void *arg) {
        Lane *l = arg;
        Pool *p = l->pool;

        for (;;) {
                PoolJob *j;
                int r;

                pthread_mutex_lock(&p->lock);
                while (!l->head && !p->stopping)
                        pthread_cond_wait(&l->cond, &p->lock);
                if (p->stopping) {
                        /* Queued jobs are dropped by pool_free(), never run. */
                        pthread_mutex_unlock(&p->lock);
                        return NULL;
                }
                j = l->head;
                l->head = j->next;
                if (!l->head)
                        l->tail = NULL;
                j->state = JOB_RUNNING;
                l->n_running++;
                pthread_mutex_unlock(&p->lock);

                r = j->work ? j->work(j->data, j) : 0;

                pthread_mutex_lock(&p->lock);
                l->n_running--;
                j->result = r;
                post_done_locked(p, j);
                pthread_mutex_unlock(&p->lock);
                (void) eventfd_write(p->efd, 1);
        }
}

/* Runs done() for every finished job; loop thread. */
static void pool_dispatch_done(Pool *p) {
        PoolJob *list;

        pthread_mutex_lock(&p->lock);
        list = p->done_head;
        p->done_head = p->done_tail = NULL;
        pthread_mutex_unlock(&p->lock);

        while (list) {
                PoolJob *j = list;
                Lane *l = &p->lanes[j->lane];

                list = j->next;
                if (j->done)
                        j->done(j->data, j->result);
                job_free(j);
                pthread_mutex_lock(&p->lock);
                l->n_pending--;
                pthread_mutex_unlock(&p->lock);
        }

        /* Tell each lane's owner once there is room again, with some
         * hysteresis so inputs are not toggled for every single job. */
        for (PoolLane i = 0; i < _POOL_LANE_MAX; i++) {
                Lane *l = &p->lanes[i];

                if (l->was_full && l->n_pending <= l->max_queue / 2) {
                        l->was_full = false;
                        if (l->on_drain)
                                l->on_drain(p, i, l->drain_userdata);
                }
        }
}

static int on_eventfd(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Pool *p = userdata;
        eventfd_t v;

        (void) eventfd_read(fd, &v);
        pool_dispatch_done(p);
        return 0;
}

int pool_new(sd_event *event, const PoolLaneConfig lanes[_POOL_LANE_MAX], Pool **ret) {
        _cleanup_(pool_freep) Pool *p = NULL;
        pthread_condattr_t ca;
        sigset_t all, saved;
        int r = 0;

        for (PoolLane i = 0; i < _POOL_LANE_MAX; i++)
                if (lanes[i].workers > 0 && lanes[i].max_queue == 0)
                        return -EINVAL;
        p = calloc(1, sizeof *p);
        if (!p)
                return -ENOMEM;
        *p = (Pool) {
                .event = sd_event_ref(event),
                .efd = -EBADF,
        };
        pthread_mutex_init(&p->lock, NULL);
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&p->cancel_cond, &ca);
        pthread_condattr_destroy(&ca);
        for (PoolLane i = 0; i < _POOL_LANE_MAX; i++) {
                p->lanes[i] = (Lane) { .pool = p, .id = i, .max_queue = lanes[i].max_queue };
                pthread_cond_init(&p->lanes[i].cond, NULL);
        }
        p->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (p->efd < 0)
                return -errno;
        r = sd_event_add_io(event, &p->efd_source, p->efd, EPOLLIN, on_eventfd, p);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(p->efd_source, "pool-completions");

        /* Workers inherit the mask: signals stay with the loop's signalfd. */
        sigfillset(&all);
        r = -pthread_sigmask(SIG_SETMASK, &all, &saved);
        if (r < 0)
                return r;
        for (PoolLane i = 0; i < _POOL_LANE_MAX && r >= 0; i++) {
                Lane *l = &p->lanes[i];

                if (lanes[i].workers == 0)
                        continue;
                l->threads = calloc(lanes[i].workers, sizeof(pthread_t));
                if (!l->threads) {
                        r = -ENOMEM;
                        break;
                }
                for (unsigned k = 0; k < lanes[i].workers; k++) {
                        r = -pthread_create(&l->threads[k], NULL, worker_main, l);
                        if (r < 0)
                                break;
                        l->n_threads++;
                }
        }
        (void) pthread_sigmask(SIG_SETMASK, &saved, NULL);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(p);
        return 0;
}

Pool *pool_free(Pool *p) {
        if (!p)
                return NULL;
        pthread_mutex_lock(&p->lock);
        p->stopping = true;
        for (PoolLane i = 0; i < _POOL_LANE_MAX; i++) {
                Lane *l = &p->lanes[i];

                /* Not started: dropped. The work is durable where it came
                 * from and is queued again at the next start. */
                while (l->head) {
                        PoolJob *j = l->head;
                        l->head = j->next;
                        l->n_pending--;
                        job_free(j);
                }
                l->tail = NULL;
                pthread_cond_broadcast(&l->cond);
        }
        /* Running jobs see pool_job_cancelled() and wake from their sleep. */
        pthread_cond_broadcast(&p->cancel_cond);
        pthread_mutex_unlock(&p->lock);
        for (PoolLane i = 0; i < _POOL_LANE_MAX; i++) {
                Lane *l = &p->lanes[i];

                for (unsigned k = 0; k < l->n_threads; k++)
                        (void) pthread_join(l->threads[k], NULL);
                free(l->threads);
                l->on_drain = NULL;
        }
        /* Every worker is gone: finish the last completions on this thread. */
        pool_dispatch_done(p);
        for (PoolLane i = 0; i < _POOL_LANE_MAX; i++)
                pthread_cond_destroy(&p->lanes[i].cond);
        sd_event_source_disable_unref(p->efd_source);
        safe_close(p->efd);
        sd_event_unref(p->event);
        pthread_cond_destroy(&p->cancel_cond);
        pthread_mutex_destroy(&p->lock);
        free(p);
        return NULL;
}

void pool_set_drain_callback(Pool *p, PoolLane lane, PoolDrainFunc f, void *userdata) {
        assert(lane >= 0 && lane < _POOL_LANE_MAX);
        p->lanes[lane].on_drain = f;
        p->lanes[lane].drain_userdata = userdata;
}

int pool_submit(Pool *p, PoolLane lane, PoolWorkFunc work, PoolDoneFunc done,
                void (*free_data)(void *), void *data, PoolJob **ret_job) {
        PoolJob *j;
        Lane *l;
        int r = 0;

        assert(lane >= 0 && lane < _POOL_LANE_MAX);
        l = &p->lanes[lane];
        j = calloc(1, sizeof *j);
        if (!j) {
                if (free_data)
                        free_data(data);
                return -ENOMEM;
        }
        *j = (PoolJob) { .pool = p, .lane = lane, .work = work, .done = done,
                         .free_data = free_data, .data = data };

        pthread_mutex_lock(&p->lock);
        if (p->stopping)
                r = -ESHUTDOWN;
        else if (l->n_threads == 0)
                r = -EOPNOTSUPP;
        else if (l->n_pending >= l->max_queue) {
                l->was_full = true;
                r = -EAGAIN;
        } else {
                if (l->tail)
                        l->tail->next = j;
                else
                        l->head = j;
                l->tail = j;
                l->n_pending++;
                if (l->n_pending >= l->max_queue)
                        l->was_full = true;
                pthread_cond_signal(&l->cond);
        }
        pthread_mutex_unlock(&p->lock);
        if (r < 0) {
                job_free(j);
                return r;
        }
        if (ret_job)
                *ret_job = j;
        return 0;
}

void pool_job_cancel(PoolJob *j) {
        Pool *p = j->pool;
        Lane *l = &p->lanes[j->lane];
        bool wake = false;

        pthread_mutex_lock(&p->lock);
        j->cancelled = true;
        if (j->state == JOB_QUEUED) {
                /* Unlink it and complete it without running it. */
                PoolJob **prev = &l->head, *last = NULL;

                for (PoolJob *i = l->head; i; prev = &i->next, last = i, i = i->next)
                        if (i == j) {
                                *prev = j->next;
                                if (l->tail == j)
                                        l->tail = last;
                                break;
                        }
                j->result = -ECANCELED;
                post_done_locked(p, j);
                wake = true;
        } else if (j->state == JOB_RUNNING)
                pthread_cond_broadcast(&p->cancel_cond);
        pthread_mutex_unlock(&p->lock);
        if (wake)
                (void) eventfd_write(p->efd, 1);
}

bool pool_job_cancelled(PoolJob *j) {
        Pool *p = j->pool;
        bool c;

        pthread_mutex_lock(&p->lock);
        c = j->cancelled || p->stopping;
        pthread_mutex_unlock(&p->lock);
        return c;
}

int pool_job_sleep(PoolJob *j, usec_t usec) {
        Pool *p = j->pool;
        struct timespec ts;
        usec_t until;
        int r = 0;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        until = (usec_t) ts.tv_sec * 1000000 + (usec_t) ts.tv_nsec / 1000 + usec;
        ts = (struct timespec) { .tv_sec = (time_t) (until / 1000000),
                                 .tv_nsec = (long) (until % 1000000) * 1000 };
        pthread_mutex_lock(&p->lock);
        while (!(j->cancelled || p->stopping)) {
                if (pthread_cond_timedwait(&p->cancel_cond, &p->lock, &ts) == ETIMEDOUT)
                        break;
        }
        if (j->cancelled || p->stopping)
                r = -ECANCELED;
        pthread_mutex_unlock(&p->lock);
        return r;
}

static size_t lane_count(Pool *p, PoolLane lane, bool running) {
        size_t n;

        assert(lane >= 0 && lane < _POOL_LANE_MAX);
        pthread_mutex_lock(&p->lock);
        n = running ? p->lanes[lane].n_running : p->lanes[lane].n_pending;
        pthread_mutex_unlock(&p->lock);
        return n;
}

size_t pool_pending(Pool *p, PoolLane lane) {
        return lane_count(p, lane, false);
}

size_t pool_running(Pool *p, PoolLane lane) {
        return lane_count(p, lane, true);
}

size_t pool_max_queue(Pool *p, PoolLane lane) {
        return p->lanes[lane].max_queue;
}

bool pool_is_full(Pool *p, PoolLane lane) {
        return pool_pending(p, lane) >= p->lanes[lane].max_queue;
}
