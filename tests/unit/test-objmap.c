/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

/* Removal against a reference model: random puts and removes over a small
 * key space in a small table (long probe runs that wrap around the end),
 * every key checked after each step. */
START_TEST(objmap_remove_matches_a_model)
{
    enum { KEYS = 700, STEPS = 20000 };
    static uint32_t model[KEYS]; /* value + 1, 0 = absent */
    struct objmap m;
    uint64_t seed = 0x9e3779b97f4a7c15ULL;

    objmap_init(&m);
    memset(model, 0, sizeof(model));
    for (int step = 0; step < STEPS; step++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        uint32_t k = (uint32_t)(seed >> 33) % KEYS;
        /* Clustered addresses: neighbours share home slots. */
        const void *addr = key(k * 3);
        if ((seed >> 20) & 1) {
            ck_assert(objmap_remove(&m, addr) == (model[k] != 0));
            model[k] = 0;
        } else {
            uint32_t v = objmap_put(&m, addr, (uint32_t)step);
            if (model[k] == 0) {
                model[k] = (uint32_t)step + 1;
            }
            ck_assert_uint_eq(v, model[k] - 1);
        }
        if (step % 97 == 0) {
            size_t live = 0;
            for (uint32_t i = 0; i < KEYS; i++) {
                uint32_t got = objmap_get(&m, key(i * 3));
                ck_assert_uint_eq(got, model[i] != 0 ? model[i] - 1 : OBJMAP_ABSENT);
                live += model[i] != 0;
            }
            ck_assert_uint_eq(m.len, live);
        }
    }
    objmap_done(&m);
}
END_TEST

START_TEST(objmap_set_changes_only_present_keys)
{
    struct objmap m;
    objmap_init(&m);
    ck_assert(!objmap_set(&m, key(1), 5)); /* empty map */
    objmap_put(&m, key(1), 1);
    ck_assert(objmap_set(&m, key(1), 5));
    ck_assert_uint_eq(objmap_get(&m, key(1)), 5);
    ck_assert(!objmap_set(&m, key(2), 5));
    ck_assert_uint_eq(objmap_get(&m, key(2)), OBJMAP_ABSENT);
    ck_assert(!objmap_remove(&m, key(2)));
    ck_assert(objmap_remove(&m, key(1)));
    ck_assert_uint_eq(m.len, 0);
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
    tcase_add_test(tc, objmap_remove_matches_a_model);
    tcase_add_test(tc, objmap_set_changes_only_present_keys);
    suite_add_tcase(s, tc);
    return s;
}
