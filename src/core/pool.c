/* SPDX-License-Identifier: MIT */
/*
 * Worker pool; see pool.h. Two queues under one mutex: jobs (loop -> workers,
 * bounded) and completions (workers -> loop, at most as long as the jobs in
 * flight). Workers wake on a condition variable; the loop wakes on an eventfd.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/pool.h"
#include "shared/log.h"

typedef struct Job {
        struct Job *next;
        PoolWorkFunc work;
        PoolDoneFunc done;
        void (*free_data)(void *);
        void *data;
} Job;

struct Pool {
        sd_event *event;
        sd_event_source *efd_source;
        int efd;
        pthread_mutex_t lock;
        pthread_cond_t cond;
        Job *queue_head, *queue_tail;   /* waiting for a worker */
        Job *done_head, *done_tail;     /* finished, waiting for the loop */
        size_t n_queued;                /* in queue */
        size_t n_pending;               /* queued + running + finished but not yet done() */
        size_t max_queue;
        bool stopping;
        bool was_full;
        pthread_t *threads;
        unsigned n_threads;
        void *userdata;
        PoolDrainFunc on_drain;
};

static void job_free(Job *j) {
        if (j->free_data)
                j->free_data(j->data);
        free(j);
}

static void *worker_main(void *arg) {
        Pool *p = arg;

        for (;;) {
                Job *j;

                pthread_mutex_lock(&p->lock);
                while (!p->queue_head && !p->stopping)
                        pthread_cond_wait(&p->cond, &p->lock);
                j = p->queue_head;
                if (!j) {
                        /* Stopping and nothing left to do. */
                        pthread_mutex_unlock(&p->lock);
                        return NULL;
                }
                p->queue_head = j->next;
                if (!p->queue_head)
                        p->queue_tail = NULL;
                p->n_queued--;
                pthread_mutex_unlock(&p->lock);

                if (j->work)
                        j->work(j->data);

                pthread_mutex_lock(&p->lock);
                j->next = NULL;
                if (p->done_tail)
                        p->done_tail->next = j;
                else
                        p->done_head = j;
                p->done_tail = j;
                pthread_mutex_unlock(&p->lock);
                (void) eventfd_write(p->efd, 1);
        }
}

/* Runs done() for every finished job; loop thread. */
static void pool_dispatch_done(Pool *p) {
        Job *list;

        pthread_mutex_lock(&p->lock);
        list = p->done_head;
        p->done_head = p->done_tail = NULL;
        pthread_mutex_unlock(&p->lock);

        while (list) {
                Job *j = list;
                list = j->next;
                if (j->done)
                        j->done(p, j->data, p->userdata);
                job_free(j);
                pthread_mutex_lock(&p->lock);
                p->n_pending--;
                pthread_mutex_unlock(&p->lock);
        }

        /* Tell the owner once there is room again, with some hysteresis so
         * inputs are not toggled for every single job. */
        if (p->was_full && p->n_pending <= p->max_queue / 2) {
                p->was_full = false;
                if (p->on_drain)
                        p->on_drain(p, p->userdata);
        }
}

static int on_eventfd(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Pool *p = userdata;
        eventfd_t v;

        (void) eventfd_read(fd, &v);
        pool_dispatch_done(p);
        return 0;
}

int pool_new(sd_event *event, unsigned n_workers, size_t max_queue, Pool **ret) {
        _cleanup_(pool_freep) Pool *p = NULL;
        sigset_t all, saved;
        int r;

        if (n_workers == 0 || max_queue == 0)
                return -EINVAL;
        p = calloc(1, sizeof *p);
        if (!p)
                return -ENOMEM;
        *p = (Pool) {
                .event = sd_event_ref(event),
                .efd = -EBADF,
                .max_queue = max_queue,
        };
        pthread_mutex_init(&p->lock, NULL);
        pthread_cond_init(&p->cond, NULL);
        p->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (p->efd < 0)
                return -errno;
        r = sd_event_add_io(event, &p->efd_source, p->efd, EPOLLIN, on_eventfd, p);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(p->efd_source, "pool-completions");

        p->threads = calloc(n_workers, sizeof(pthread_t));
        if (!p->threads)
                return -ENOMEM;
        /* Workers inherit the mask: signals stay with the loop's signalfd. */
        sigfillset(&all);
        r = -pthread_sigmask(SIG_SETMASK, &all, &saved);
        if (r < 0)
                return r;
        for (unsigned i = 0; i < n_workers; i++) {
                r = -pthread_create(&p->threads[i], NULL, worker_main, p);
                if (r < 0)
                        break;
                p->n_threads++;
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
        pthread_cond_broadcast(&p->cond);
        pthread_mutex_unlock(&p->lock);
        for (unsigned i = 0; i < p->n_threads; i++)
                (void) pthread_join(p->threads[i], NULL);
        free(p->threads);
        /* Every worker is gone: finish the last completions on this thread. */
        p->on_drain = NULL;
        pool_dispatch_done(p);
        sd_event_source_disable_unref(p->efd_source);
        safe_close(p->efd);
        sd_event_unref(p->event);
        pthread_cond_destroy(&p->cond);
        pthread_mutex_destroy(&p->lock);
        free(p);
        return NULL;
}

void pool_set_userdata(Pool *p, void *userdata, PoolDrainFunc on_drain) {
        p->userdata = userdata;
        p->on_drain = on_drain;
}

int pool_submit(Pool *p, PoolWorkFunc work, PoolDoneFunc done, void (*free_data)(void *),
                void *data) {
        Job *j;
        int r = 0;

        j = calloc(1, sizeof *j);
        if (!j) {
                if (free_data)
                        free_data(data);
                return -ENOMEM;
        }
        *j = (Job) { .work = work, .done = done, .free_data = free_data, .data = data };

        pthread_mutex_lock(&p->lock);
        if (p->stopping)
                r = -ESHUTDOWN;
        else if (p->n_pending >= p->max_queue) {
                p->was_full = true;
                r = -EAGAIN;
        } else {
                if (p->queue_tail)
                        p->queue_tail->next = j;
                else
                        p->queue_head = j;
                p->queue_tail = j;
                p->n_queued++;
                p->n_pending++;
                if (p->n_pending >= p->max_queue)
                        p->was_full = true;
                pthread_cond_signal(&p->cond);
        }
        pthread_mutex_unlock(&p->lock);
        if (r < 0)
                job_free(j);
        return r;
}

size_t pool_pending(Pool *p) {
        size_t n;

        pthread_mutex_lock(&p->lock);
        n = p->n_pending;
        pthread_mutex_unlock(&p->lock);
        return n;
}

size_t pool_max_queue(Pool *p) {
        return p->max_queue;
}

bool pool_is_full(Pool *p) {
        return pool_pending(p) >= p->max_queue;
}
