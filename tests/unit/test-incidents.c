/* SPDX-License-Identifier: MIT */
/* Tests for store/incidents: recording, lifecycle, lists, positions. */
#include "store/incidents.h"
#include "tests.h"

static Occurrence occ(const char *fp, const char *app, int64_t seen) {
        return (Occurrence) {
                .fingerprint = fp,
                .app = app,
                .host = "host1",
                .category = CATEGORY_PYTHON_MISSING_PACKAGE,
                .severity = SEVERITY_MEDIUM,
                .title = "ModuleNotFoundError: No module named 'yaml'",
                .excerpt = "Traceback...\nModuleNotFoundError: No module named 'yaml'",
                .fix_id = "pip_install:PyYAML",
                .origin = "file",
                .source = "/var/log/app.log",
                .seen = seen,
        };
}

TEST(record_new_repeat_and_regression) {
        _cleanup_(store_freep) Store *s = test_open_store();
        _cleanup_(incident_freep) Incident *i = NULL;
        Occurrence o = occ("fp1", "app1", 1000);
        int64_t id, id2;

        ASSERT_OK(store_begin(s));
        ASSERT_EQ(incident_record(s, &o, &id), INCIDENT_EVENT_NEW);
        o.seen = 2000;
        ASSERT_EQ(incident_record(s, &o, &id2), INCIDENT_EVENT_REPEAT);
        ASSERT_EQ(id, id2);
        /* The same fingerprint in another app is another incident. */
        Occurrence other = occ("fp1", "app2", 1500);
        ASSERT_EQ(incident_record(s, &other, &id2), INCIDENT_EVENT_NEW);
        ASSERT_TRUE(id2 != id);
        ASSERT_OK(store_commit(s));

        ASSERT_OK(incident_get(s, id, &i));
        ASSERT_EQ(i->count, 2);
        ASSERT_EQ(i->first_seen, 1000);
        ASSERT_EQ(i->last_seen, 2000);
        ASSERT_EQ(i->status, INCIDENT_NEW);
        ASSERT_STREQ(i->fix_id, "pip_install:PyYAML");
        ASSERT_STREQ(i->origin, "file");
        ASSERT_TRUE(!i->regression);
        i = incident_free(i);

        ASSERT_EQ(incident_set_status(s, id, INCIDENT_IN_PROGRESS, 2500), 1);
        ASSERT_EQ(incident_set_status(s, id, INCIDENT_IN_PROGRESS, 2500), 0);
        ASSERT_EQ(incident_set_status(s, id, INCIDENT_RESOLVED, 3000), 1);
        ASSERT_OK(incident_get(s, id, &i));
        ASSERT_EQ(i->status, INCIDENT_RESOLVED);
        ASSERT_EQ(i->resolved_at, 3000);
        i = incident_free(i);

        /* Seen again after Resolved: reopened as a flagged, counted regression. */
        o.seen = 4000;
        ASSERT_EQ(incident_record(s, &o, &id2), INCIDENT_EVENT_REGRESSION);
        ASSERT_EQ(id2, id);
        ASSERT_OK(incident_get(s, id, &i));
        ASSERT_EQ(i->status, INCIDENT_NEW);
        ASSERT_TRUE(i->regression);
        ASSERT_EQ(i->regressions, 1);
        ASSERT_EQ(i->count, 3);
        ASSERT_EQ(i->resolved_at, 0);
        i = incident_free(i);

        ASSERT_ERROR(incident_set_status(s, 9999, INCIDENT_RESOLVED, 1), ENOENT);
        ASSERT_ERROR(incident_get(s, 9999, &i), ENOENT);
        return 0;
}

TEST(list_filters_and_json) {
        _cleanup_(store_freep) Store *s = test_open_store();
        Incident **l = NULL;
        size_t n = 0;
        int64_t id;

        for (int k = 0; k < 5; k++) {
                char fp[8];
                snprintf(fp, sizeof fp, "fp%d", k);
                Occurrence o = occ(fp, k % 2 ? "odd" : "even", 100 * (k + 1));
                ASSERT_EQ(incident_record(s, &o, &id), INCIDENT_EVENT_NEW);
        }
        ASSERT_EQ(incident_set_status(s, id, INCIDENT_MANUAL_REQUIRED, 600), 1);

        ASSERT_OK(incident_list(s, &(IncidentFilter) { .status = -1 }, &l, &n));
        ASSERT_EQ(n, 5);
        ASSERT_STREQ(l[0]->fingerprint, "fp4");    /* most recent first */
        json_t *j = incident_to_json(l[0]);
        ASSERT_TRUE(j);
        ASSERT_STREQ(json_string_value(json_object_get(j, "status")), "Manual Required");
        ASSERT_EQ(json_integer_value(json_object_get(j, "count")), 1);
        json_decref(j);
        incident_list_free(l, n);

        ASSERT_OK(incident_list(s, &(IncidentFilter) { .app = "odd", .status = -1 }, &l, &n));
        ASSERT_EQ(n, 2);
        incident_list_free(l, n);
        ASSERT_OK(incident_list(s, &(IncidentFilter) { .status = INCIDENT_MANUAL_REQUIRED }, &l, &n));
        ASSERT_EQ(n, 1);
        incident_list_free(l, n);
        ASSERT_OK(incident_list(s, &(IncidentFilter) { .status = -1, .since = 300 }, &l, &n));
        ASSERT_EQ(n, 3);
        incident_list_free(l, n);
        ASSERT_OK(incident_list(s, &(IncidentFilter) { .status = -1, .limit = 2 }, &l, &n));
        ASSERT_EQ(n, 2);
        incident_list_free(l, n);
        ASSERT_OK(incident_list(s, &(IncidentFilter) { .app = "none", .status = -1 }, &l, &n));
        ASSERT_EQ(n, 0);
        ASSERT_TRUE(l == NULL);
        return 0;
}

/* The store keeps the taxonomy's strings and hands out its enums. */
TEST(taxonomy_at_the_store_boundary) {
        _cleanup_(store_freep) Store *s = test_open_store();
        _cleanup_(incident_freep) Incident *i = NULL;
        Occurrence o = occ("fp1", "app1", 1000);
        Incident **l = NULL;
        size_t n = 0;
        int64_t id;
        json_t *j;

        o.category = CATEGORY_DISK_FULL;
        o.severity = SEVERITY_CRITICAL;
        ASSERT_EQ(incident_record(s, &o, &id), INCIDENT_EVENT_NEW);
        ASSERT_OK(incident_get(s, id, &i));
        ASSERT_EQ(i->category, CATEGORY_DISK_FULL);
        ASSERT_EQ(i->severity, SEVERITY_CRITICAL);
        ASSERT_EQ(i->status, INCIDENT_NEW);
        j = incident_to_json(i);
        ASSERT_TRUE(j);
        ASSERT_STREQ(json_string_value(json_object_get(j, "category")), "disk_full");
        ASSERT_STREQ(json_string_value(json_object_get(j, "severity")), "Critical");
        ASSERT_STREQ(json_string_value(json_object_get(j, "status")), "New");
        json_decref(j);
        i = incident_free(i);

        /* The columns hold the strings (what older versions and sqlite3 see). */
        ASSERT_OK(store_exec(s, "UPDATE incidents SET count = 7 WHERE category = 'disk_full'"
                                " AND severity = 'Critical' AND status = 'New'"));
        ASSERT_OK(incident_get(s, id, &i));
        ASSERT_EQ(i->count, 7);
        i = incident_free(i);

        /* A category this version does not know (a newer one's, an edited
         * database) is an error for that incident, for one and for a list. */
        ASSERT_OK(store_exec(s, "UPDATE incidents SET category = 'quantum_flux'"));
        ASSERT_ERROR(incident_get(s, id, &i), EBADMSG);
        ASSERT_TRUE(i == NULL);
        ASSERT_ERROR(incident_list(s, &(IncidentFilter) { .status = -1 }, &l, &n), EBADMSG);
        ASSERT_TRUE(l == NULL);
        /* Recording another sighting does not need to read it back. */
        ASSERT_EQ(incident_record(s, &o, NULL), INCIDENT_EVENT_REPEAT);
        ASSERT_OK(store_exec(s, "UPDATE incidents SET category = 'network'"));
        ASSERT_OK(incident_get(s, id, &i));
        ASSERT_EQ(i->category, CATEGORY_NETWORK);
        return 0;
}

TEST(resolve_app_by_origin) {
        _cleanup_(store_freep) Store *s = test_open_store();
        Occurrence a = occ("fa", "app", 1), b = occ("fb", "app", 2), c = occ("fc", "other", 3);
        _cleanup_(incident_freep) Incident *i = NULL;
        int64_t ida, idb;

        a.origin = "run";
        c.origin = "run";
        ASSERT_OK(incident_record(s, &a, &ida));
        ASSERT_OK(incident_record(s, &b, &idb));
        ASSERT_OK(incident_record(s, &c, NULL));
        ASSERT_EQ(incident_resolve_app(s, "app", "run", 10, NULL, NULL), 1);
        ASSERT_EQ(incident_resolve_app(s, "app", "run", 11, NULL, NULL), 0);
        ASSERT_OK(incident_get(s, ida, &i));
        ASSERT_EQ(i->status, INCIDENT_RESOLVED);
        i = incident_free(i);
        ASSERT_OK(incident_get(s, idb, &i));
        ASSERT_EQ(i->status, INCIDENT_NEW);
        return 0;
}

TEST(occurrences_are_bounded) {
        _cleanup_(store_freep) Store *s = test_open_store();
        json_t *a = NULL;
        int64_t id;
        int n;

        ASSERT_OK(store_begin(s));
        for (int k = 0; k < 1000; k++) {
                Occurrence o = occ("flood", "app", k + 1);
                ASSERT_OK(incident_record(s, &o, &id));
        }
        ASSERT_OK(store_commit(s));
        ASSERT_OK(incident_occurrences_json(s, id, 1000, &a));
        n = (int) json_array_size(a);
        ASSERT_TRUE(n >= STORE_MAX_OCCURRENCES && n <= STORE_MAX_OCCURRENCES + 16);
        ASSERT_EQ(json_integer_value(json_object_get(json_array_get(a, 0), "seen")), 1000);
        json_decref(a);
        _cleanup_(incident_freep) Incident *i = NULL;
        ASSERT_OK(incident_get(s, id, &i));
        ASSERT_EQ(i->count, 1000);     /* the count stays exact */
        return 0;
}

TEST(positions) {
        _cleanup_(store_freep) Store *s = test_open_store();
        StorePosition p = { .cursor = (char *) "s=abc;i=1", .dev = UINT64_MAX, .inode = 42, .offset = 7 };
        StorePosition got = {};

        snprintf(p.marker, sizeof p.marker, "0123456789abcdef");
        ASSERT_EQ(position_load(s, "journal", &got), 0);
        ASSERT_OK(position_save(s, "journal", &p, 1));
        ASSERT_EQ(position_load(s, "journal", &got), 1);
        ASSERT_STREQ(got.cursor, "s=abc;i=1");
        ASSERT_TRUE(got.dev == UINT64_MAX);   /* unsigned bits survive the int64 column */
        ASSERT_EQ(got.inode, 42);
        ASSERT_EQ(got.offset, 7);
        ASSERT_STREQ(got.marker, "0123456789abcdef");
        store_position_done(&got);

        p.cursor = NULL;
        p.offset = 9;
        ASSERT_OK(position_save(s, "journal", &p, 2));
        ASSERT_EQ(position_load(s, "journal", &got), 1);
        ASSERT_TRUE(got.cursor == NULL);
        ASSERT_EQ(got.offset, 9);
        store_position_done(&got);

        ASSERT_OK(position_delete(s, "journal"));
        ASSERT_EQ(position_load(s, "journal", &got), 0);
        return 0;
}

TEST(rollback_discards_incidents_and_positions) {
        _cleanup_(store_freep) Store *s = test_open_store();
        Occurrence o = occ("fp", "app", 5);
        StorePosition p = { .offset = 100 }, got = {};
        Incident **l = NULL;
        size_t n;

        ASSERT_OK(store_begin(s));
        ASSERT_OK(incident_record(s, &o, NULL));
        ASSERT_OK(position_save(s, "file:1:2", &p, 5));
        ASSERT_OK(store_rollback(s));
        ASSERT_OK(incident_list(s, &(IncidentFilter) { .status = -1 }, &l, &n));
        ASSERT_EQ(n, 0);
        ASSERT_EQ(position_load(s, "file:1:2", &got), 0);
        return 0;
}

static int collect(const char *stream, const char *meta, const void *data, size_t len,
                   void *userdata) {
        unsigned *n = userdata;
        if (strcmp(stream, "file:1:2") != 0 || strcmp(meta, "{}") != 0 || len != 3 ||
            memcmp(data, "a\0b", 3) != 0)
                return -EBADMSG;
        (*n)++;
        return 0;
}

TEST(pending_blocks) {
        _cleanup_(store_freep) Store *s = test_open_store();
        unsigned n = 0;

        ASSERT_OK(pending_save(s, "file:1:2", "{}", "a\0b", 3, 1));
        ASSERT_OK(pending_save(s, "gone", "{}", "x", 1, 1));
        ASSERT_OK(pending_save(s, "gone", "{}", NULL, 0, 2));   /* deletes */
        ASSERT_OK(pending_foreach(s, collect, &n));
        ASSERT_EQ(n, 1);
        return 0;
}
