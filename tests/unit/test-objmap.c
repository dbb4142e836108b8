/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>

#include "check-helpers.h"
#include "objmap.h"

/* Addresses are never dereferenced: any non-NULL integer works as a key. */
static const void *
key(uintptr_t i)
{
    return (const void *)(0x7f0000000000ULL + i * 16);
}

START_TEST(objmap_put_get_roundtrip)
{
    struct objmap m;
    objmap_init(&m);
    for (uint32_t i = 0; i < 100000; i++) {
        ck_assert_uint_eq(objmap_put(&m, key(i), i), i);
    }
    ck_assert_uint_eq(m.len, 100000);
    for (uint32_t i = 0; i < 100000; i++) {
        ck_assert_uint_eq(objmap_get(&m, key(i)), i);
    }
    ck_assert_uint_eq(objmap_get(&m, key(100000)), OBJMAP_ABSENT);
    objmap_done(&m);
}
END_TEST

START_TEST(objmap_put_keeps_first_value)
{
    struct objmap m;
    objmap_init(&m);
    ck_assert_uint_eq(objmap_put(&m, key(1), 7), 7);
    ck_assert_uint_eq(objmap_put(&m, key(1), 9), 7);
    ck_assert_uint_eq(m.len, 1);
    objmap_done(&m);
}
END_TEST

START_TEST(objmap_null_key_is_absent)
{
    struct objmap m;
    objmap_init(&m);
    ck_assert_uint_eq(objmap_get(&m, NULL), OBJMAP_ABSENT);
    ck_assert_uint_eq(objmap_put(&m, NULL, 1), OBJMAP_ABSENT);
    ck_assert_uint_eq(m.len, 0);
    objmap_done(&m);
}
END_TEST

START_TEST(objmap_clear_forgets_keys_keeps_memory)
{
    struct objmap m;
    objmap_init(&m);
    for (uint32_t i = 0; i < 5000; i++) {
        objmap_put(&m, key(i), i);
    }
    size_t bytes = objmap_bytes(&m);
    objmap_clear(&m);
    ck_assert_uint_eq(m.len, 0);
    ck_assert_uint_eq(objmap_bytes(&m), bytes);
    ck_assert_uint_eq(objmap_get(&m, key(3)), OBJMAP_ABSENT);
    ck_assert_uint_eq(objmap_put(&m, key(3), 1), 1);
    objmap_done(&m);
}
END_TEST

START_TEST(objmap_clustered_addresses)
{
    /* Objects from one arena: consecutive 16-byte slots, and sparse ones. */
    struct objmap m;
    objmap_init(&m);
    for (uint32_t i = 0; i < 4096; i++) {
        objmap_put(&m, key(i), i);
        objmap_put(&m, key((uintptr_t)i << 20), i + 4096);
    }
    for (uint32_t i = 1; i < 4096; i++) {
        ck_assert_uint_eq(objmap_get(&m, key(i)), i);
        ck_assert_uint_eq(objmap_get(&m, key((uintptr_t)i << 20)), i + 4096);
    }
    objmap_done(&m);
}
END_TEST

START_TEST(objmap_reserve_prevents_growth)
{
    struct objmap m;
    objmap_init(&m);
    objmap_put(&m, key(0), 0);
    ck_assert_int_eq(objmap_reserve(&m, 50000), 0);
    size_t bytes = objmap_bytes(&m);
    for (uint32_t i = 1; i < 50000; i++) {
        objmap_put(&m, key(i), i);
    }
    ck_assert_uint_eq(objmap_bytes(&m), bytes); /* no growth while filling */
    for (uint32_t i = 0; i < 50000; i++) {
        ck_assert_uint_eq(objmap_get(&m, key(i)), i); /* keys survived the rehash */
    }
    ck_assert_int_eq(objmap_reserve(&m, 10), 0); /* never shrinks */
    ck_assert_uint_eq(objmap_bytes(&m), bytes);
    objmap_done(&m);
}
END_TEST

Suite *
objmap_suite(void)
{
    Suite *s = suite_create("objmap");
    TCase *tc = tcase_create("identity");
    tcase_add_test(tc, objmap_put_get_roundtrip);
    tcase_add_test(tc, objmap_put_keeps_first_value);
    tcase_add_test(tc, objmap_null_key_is_absent);
    tcase_add_test(tc, objmap_clear_forgets_keys_keeps_memory);
    tcase_add_test(tc, objmap_clustered_addresses);
    tcase_add_test(tc, objmap_reserve_prevents_growth);
    suite_add_tcase(s, tc);
    return s;
}
