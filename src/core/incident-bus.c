/* SPDX-License-Identifier: MIT */
/* Incident event listeners; see incident-bus.h. Loop thread only. */
#include <errno.h>
#include <stdlib.h>

#include "core/incident-bus.h"

struct IncidentListener {
        IncidentBus *bus;
        IncidentListener *next;
        IncidentListenerFunc func;
        void *userdata;
        void (*destroy)(void *);
};

struct IncidentBus {
        IncidentListener *listeners;
};

int incident_bus_new(IncidentBus **ret) {
        IncidentBus *b = calloc(1, sizeof *b);

        if (!b)
                return -ENOMEM;
        *ret = b;
        return 0;
}

IncidentBus *incident_bus_free(IncidentBus *b) {
        if (!b)
                return NULL;
        while (b->listeners)
                incident_listener_free(b->listeners);
        free(b);
        return NULL;
}

int incident_bus_listen(IncidentBus *b, IncidentListenerFunc f, void *userdata,
                        void (*destroy)(void *), IncidentListener **ret) {
        IncidentListener *l = calloc(1, sizeof *l), **p;

        if (!l)
                return -ENOMEM;
        *l = (IncidentListener) { .bus = b, .func = f, .userdata = userdata, .destroy = destroy };
        for (p = &b->listeners; *p; p = &(*p)->next)
                ;
        *p = l;
        if (ret)
                *ret = l;
        return 0;
}

IncidentListener *incident_listener_free(IncidentListener *l) {
        if (!l)
                return NULL;
        for (IncidentListener **p = &l->bus->listeners; *p; p = &(*p)->next)
                if (*p == l) {
                        *p = l->next;
                        break;
                }
        if (l->destroy)
                l->destroy(l->userdata);
        free(l);
        return NULL;
}

int incident_bus_publish(IncidentBus *b, const IncidentNotice *n) {
        int r;

        for (IncidentListener *l = b->listeners; l; l = l->next) {
                r = l->func(n, l->userdata);
                if (r < 0)
                        return r;
        }
        return 0;
}
