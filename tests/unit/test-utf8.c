/* SPDX-License-Identifier: MIT */
/* Tests for shared/utf8: validation and \xHH escaping at the boundary. */
#include <jansson.h>

#include "shared/utf8.h"
#include "tests.h"

TEST(valid_and_invalid) {
        ASSERT_TRUE(utf8_is_valid("", 0));
        ASSERT_TRUE(utf8_is_valid("build.log", 9));
        ASSERT_TRUE(utf8_is_valid("빌드 로그.log", strlen("빌드 로그.log")));
        ASSERT_TRUE(utf8_is_valid("\xf0\x9f\x94\xb4", 4));          /* U+1F534 */
        ASSERT_TRUE(!utf8_is_valid("bad\xff.log", 8));
        ASSERT_TRUE(!utf8_is_valid("\xc0\xaf", 2));                   /* overlong '/' */
        ASSERT_TRUE(!utf8_is_valid("\xe0\x80\xaf", 3));               /* overlong */
        ASSERT_TRUE(!utf8_is_valid("\xed\xa0\x80", 3));               /* surrogate */
        ASSERT_TRUE(!utf8_is_valid("\xf4\x90\x80\x80", 4));           /* > U+10FFFF */
        ASSERT_TRUE(!utf8_is_valid("\xeb\xb9", 2));                   /* cut mid-character */
        ASSERT_TRUE(!utf8_is_valid("a\0b", 3));
        return 0;
}

TEST(escape_keeps_valid_text_and_names_bad_bytes) {
        _cleanup_free_ char *a = utf8_escape_invalid("bad\xff.log", 8);
        _cleanup_free_ char *b = utf8_escape_invalid("로그\xeb\xb9", 8);
        _cleanup_free_ char *c = utf8_escape_invalid("a\0b", 3);
        _cleanup_free_ char *d = utf8_dup("fine/빌드.log");
        _cleanup_free_ char *e = utf8_dup("x\xc3(");

        ASSERT_STREQ(a, "bad\\xff.log");
        ASSERT_STREQ(b, "로그\\xeb\\xb9");
        ASSERT_STREQ(c, "a\\x00b");
        ASSERT_STREQ(d, "fine/빌드.log");
        ASSERT_STREQ(e, "x\\xc3(");
        ASSERT_TRUE(utf8_dup(NULL) == NULL);
        return 0;
}

TEST(escaped_text_is_accepted_by_jansson) {
        static const char *const inputs[] = { "\xff\xfe", "ok", "\xc0\xaf/etc", "\xed\xa0\x80x" };

        for (size_t i = 0; i < ELEMENTSOF(inputs); i++) {
                _cleanup_free_ char *s = utf8_dup(inputs[i]);
                json_t *j;

                ASSERT_TRUE(s);
                ASSERT_TRUE(utf8_is_valid(s, strlen(s)));
                j = json_string(s);
                ASSERT_TRUE(j);
                json_decref(j);
        }
        return 0;
}
