/* SPDX-License-Identifier: MIT */
/* Tests for store/fixes: attempts, their states and JSON, the backoff, and
 * the incidents' fix columns. */
#include <string.h>

#include "store/fixes.h"
#include "store/incidents.h"
#include "tests.h"

static int64_t new_incident(Store *s, const char *fp) {
        Occurrence o = {
                .fingerprint = fp,
                .app = "app1",
                .host = "host1",
                .category = CATEGORY_PYTHON_MISSING_PACKAGE,
                .severity = SEVERITY_MEDIUM,
                .title = "ModuleNotFoundError: No module named 'yaml'",
                .excerpt = "x",
                .fix_id = "pip_install:PyYAML",
                .origin = "run",
                .source = "python3 main.py",
                .seen = 1000,
        };
        int64_t id = 0;

        if (incident_record(s, &o, &id) < 0)
                return -1;
        return id;
}

TEST(state_strings) {
        for (FixState st = 0; st < _FIX_STATE_MAX; st++)
                ASSERT_EQ(fix_state_from_string(fix_state_to_string(st)), st);
        ASSERT_EQ(fix_state_from_string("bogus"), _FIX_STATE_INVALID);
        ASSERT_EQ(fix_state_from_string(NULL), _FIX_STATE_INVALID);
        ASSERT_TRUE(!fix_state_is_final(FIX_STATE_QUEUED));
        ASSERT_TRUE(!fix_state_is_final(FIX_STATE_VERIFYING));
        ASSERT_TRUE(fix_state_is_final(FIX_STATE_REFUSED));
        ASSERT_TRUE(fix_state_is_final(FIX_STATE_LOST));
        return 0;
}

TEST(attempts) {
        _cleanup_(store_freep) Store *s = test_open_store();
        _cleanup_(fix_attempt_freep) FixAttempt *got = NULL, *latest = NULL;
        FixAttempt **l = NULL;
        size_t n = 0;
        unsigned number = 0;
        int64_t id, a1, a2, active = 0;

        ASSERT_OK(store_begin(s));
        id = new_incident(s, "fp1");
        ASSERT_TRUE(id > 0);
        ASSERT_OK(fix_attempt_next_number(s, id, &number));
        ASSERT_EQ(number, 1u);
        ASSERT_EQ(fix_attempt_find_active(s, id, NULL), 0);
        ASSERT_EQ(fix_attempt_latest_run(s, id, &latest), 0);

        FixAttempt a = {
                .incident_id = id, .app = (char *) "app1", .fingerprint = (char *) "fp1",
                .attempt = 1, .fix_id = (char *) "pip_install:PyYAML",
                .state = FIX_STATE_REFUSED, .reason = (char *) "[Fix] Enabled=no",
                .started = 10, .finished = 10,
        };
        ASSERT_OK(fix_attempt_insert(s, &a, &a1));
        a.attempt = 2;
        a.state = FIX_STATE_QUEUED;
        a.reason = NULL;
        a.finished = 0;
        a.on_request = true;
        ASSERT_OK(fix_attempt_insert(s, &a, &a2));
        ASSERT_OK(fix_attempt_next_number(s, id, &number));
        ASSERT_EQ(number, 3u);
        ASSERT_EQ(fix_attempt_find_active(s, id, &active), 1);
        ASSERT_EQ(active, a2);

        ASSERT_OK(fix_attempt_list_state(s, FIX_STATE_QUEUED, &l, &n));
        ASSERT_EQ(n, (size_t) 1);
        ASSERT_EQ(l[0]->id, a2);
        ASSERT_TRUE(l[0]->on_request);
        ASSERT_EQ(l[0]->finished, 0);
        /* Running, with its unit: the newest that ran, for messages. */
        l[0]->state = FIX_STATE_RUNNING;
        l[0]->unit = strdup("appwatch-fix-app1-1-2.service");
        l[0]->command_line = (free(l[0]->command_line), strdup("python3 -m pip install PyYAML"));
        l[0]->fix_output = strdup("Successfully installed PyYAML-6.0");
        ASSERT_OK(fix_attempt_update(s, l[0]));
        fix_attempt_list_free(l, n);
        ASSERT_EQ(fix_attempt_latest_run(s, id, &latest), 1);
        ASSERT_EQ(latest->id, a2);
        ASSERT_STREQ(latest->fix_output, "Successfully installed PyYAML-6.0");
        ASSERT_EQ(fix_attempt_find_active(s, id, NULL), 1);

        ASSERT_OK(fix_attempt_get(s, a1, &got));
        ASSERT_EQ(got->state, FIX_STATE_REFUSED);
        ASSERT_STREQ(got->reason, "[Fix] Enabled=no");
        ASSERT_EQ(fix_attempt_get(s, 9999, &got), -ENOENT);

        ASSERT_OK(fix_attempt_list_incident(s, id, &l, &n));
        ASSERT_EQ(n, (size_t) 2);
        json_t *j = fix_attempt_to_json(l[1]);
        ASSERT_TRUE(j != NULL);
        ASSERT_STREQ(json_string_value(json_object_get(j, "state")), "running");
        ASSERT_STREQ(json_string_value(json_object_get(j, "unit")),
                     "appwatch-fix-app1-1-2.service");
        ASSERT_TRUE(json_is_null(json_object_get(j, "verify_unit")));
        ASSERT_TRUE(json_is_null(json_object_get(j, "finished")));
        json_decref(j);
        fix_attempt_list_free(l, n);

        /* A state the schema does not know is refused by it. */
        ASSERT_TRUE(store_exec(s, "UPDATE fix_attempts SET state = 'bogus'") < 0);
        ASSERT_OK(store_commit(s));
        return 0;
}

TEST(backoff) {
        _cleanup_(store_freep) Store *s = test_open_store();
        unsigned failures = 0;
        int64_t next = 0;

        ASSERT_OK(store_begin(s));
        ASSERT_EQ(fix_backoff_get(s, "app1", "fp1", &failures, &next), 0);
        ASSERT_OK(fix_backoff_failed(s, "app1", "fp1", 1000, 10, 35, &next));
        ASSERT_EQ(next, 1010);
        ASSERT_OK(fix_backoff_failed(s, "app1", "fp1", 2000, 10, 35, &next));
        ASSERT_EQ(next, 2020);
        ASSERT_OK(fix_backoff_failed(s, "app1", "fp1", 3000, 10, 35, NULL));
        ASSERT_EQ(fix_backoff_get(s, "app1", "fp1", &failures, &next), 1);
        ASSERT_EQ(failures, 3u);
        ASSERT_EQ(next, 3035);    /* 40, capped */
        ASSERT_EQ(fix_backoff_get(s, "app2", "fp1", &failures, &next), 0);
        ASSERT_OK(fix_backoff_clear(s, "app1", "fp1"));
        ASSERT_EQ(fix_backoff_get(s, "app1", "fp1", &failures, &next), 0);
        ASSERT_OK(store_commit(s));
        return 0;
}

TEST(incident_columns) {
        _cleanup_(store_freep) Store *s = test_open_store();
        _cleanup_(incident_freep) Incident *inc = NULL;
        _cleanup_free_ char *cmd = NULL, *cwd = NULL;
        int64_t id;

        ASSERT_OK(store_begin(s));
        id = new_incident(s, "fp1");
        ASSERT_OK(incident_get_run_command(s, id, &cmd, &cwd));
        ASSERT_TRUE(!cmd && !cwd);
        ASSERT_OK(incident_set_run_command(s, id, "python3 'a b.py'", "/srv/app"));
        ASSERT_OK(incident_get_run_command(s, id, &cmd, &cwd));
        ASSERT_STREQ(cmd, "python3 'a b.py'");
        ASSERT_STREQ(cwd, "/srv/app");
        ASSERT_EQ(incident_get_run_command(s, 9999, &cmd, &cwd), -ENOENT);
        ASSERT_OK(incident_set_fix_state(s, id, "running", true));
        ASSERT_OK(incident_set_fix_state(s, id, "failed: x", false));
        ASSERT_EQ(incident_set_fix_state(s, 9999, "x", false), -ENOENT);
        ASSERT_OK(incident_get(s, id, &inc));
        ASSERT_STREQ(inc->fix_state, "failed: x");
        ASSERT_EQ(inc->fix_attempts, 1);
        ASSERT_OK(store_commit(s));
        return 0;
}
