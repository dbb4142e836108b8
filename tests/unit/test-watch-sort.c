/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check-helpers.h"
#include "scan-internal.h"

/* Addresses are never dereferenced: distinct integers laid out as a heap's
 * objects are (16-byte aligned, the high bytes shared by most). */
static uint64_t rng = 88172645463325252ULL;

static uint64_t
next_random(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static int
by_obj(const void *pa, const void *pb)
{
    const struct steady_watch *a = pa, *b = pb;

    return a->obj < b->obj ? -1 : a->obj > b->obj;
}

/* n distinct addresses in `span` bytes above base, each entry carrying its
 * own address in refcnt so that a payload torn from its key shows. */
static struct steady_watch *
make_entries(size_t n, uintptr_t base, uint64_t span)
{
    struct steady_watch *v = calloc(n + 1, sizeof(*v));
    uint64_t slots = span / 16, start = next_random() % slots;

    ck_assert_ptr_nonnull(v);
    ck_assert_uint_le(n, slots);
    for (size_t i = 0; i < n; i++) {
        /* Distinct and scattered: a stride that is a prime (Knuth's
         * multiplicative hash constant) walks all slots before repeating. */
        uint64_t slot = (start + i * 2654435761ULL) % slots;
        v[i].obj = (PyObject *)(base + slot * 16);
        v[i].refcnt = (Py_ssize_t)(base + slot * 16);
        v[i].accounted = (uint32_t)i;
        v[i].row_mode = (uint32_t)(i * 7);
    }
    return v;
}

static void
check_sorted_like_qsort(size_t n, uintptr_t base, uint64_t span)
{
    struct steady_watch *v = make_entries(n, base, span);
    struct steady_watch *want = malloc((n + 1) * sizeof(*want));
    struct steady_watch *tmp = malloc((n + 1) * sizeof(*tmp));

    ck_assert_ptr_nonnull(want);
    ck_assert_ptr_nonnull(tmp);
    memcpy(want, v, n * sizeof(*v));
    qsort(want, n, sizeof(*want), by_obj);
    watch_sort(v, n, tmp);
    for (size_t i = 0; i < n; i++) {
        ck_assert_ptr_eq(v[i].obj, want[i].obj);
        ck_assert_int_eq(v[i].refcnt, (Py_ssize_t)(uintptr_t)v[i].obj);
        ck_assert_uint_eq(v[i].accounted, want[i].accounted);
        ck_assert_uint_eq(v[i].row_mode, want[i].row_mode);
    }
    free(v);
    free(want);
    free(tmp);
}

START_TEST(watch_sort_small_runs_use_the_insertion_path)
{
    for (size_t n = 0; n <= 40; n++) {
        check_sorted_like_qsort(n, 0x7f0000000000ULL, 1 << 20);
    }
}
END_TEST

START_TEST(watch_sort_matches_qsort_on_heap_like_addresses)
{
    /* One arena's worth, a few hundred MiB, and all of the address space's
     * low 47 bits: every digit of the sort takes part somewhere. */
    check_sorted_like_qsort(1000, 0x7f3a12000000ULL, 1 << 16);
    check_sorted_like_qsort(100000, 0x55d0c0000000ULL, 512ULL << 20);
    check_sorted_like_qsort(100000, 0x1000, (1ULL << 47) - 0x2000);
}
END_TEST

/* n zeroed entries and as much scratch. */
static struct steady_watch *
zeroed(size_t n, struct steady_watch **ret_tmp)
{
    struct steady_watch *v = calloc(n, sizeof(*v));

    *ret_tmp = calloc(n, sizeof(**ret_tmp));
    ck_assert_ptr_nonnull(v);
    ck_assert_ptr_nonnull(*ret_tmp);
    return v;
}

START_TEST(watch_sort_keeps_sorted_and_reversed_input)
{
    size_t n = 5000;
    struct steady_watch *tmp, *v = zeroed(n, &tmp);

    for (int reversed = 0; reversed < 2; reversed++) {
        for (size_t i = 0; i < n; i++) {
            size_t k = reversed ? n - 1 - i : i;
            v[i].obj = (PyObject *)(0x7f0000000000ULL + k * 48);
        }
        watch_sort(v, n, tmp);
        for (size_t i = 0; i < n; i++) {
            ck_assert_ptr_eq(v[i].obj, (PyObject *)(0x7f0000000000ULL + i * 48));
        }
    }
    free(v);
    free(tmp);
}
END_TEST

START_TEST(watch_sort_skips_only_digits_that_are_all_alike)
{
    /* Bytes 1 and 2 of every address alike, bytes 0 and 3.. not: a sort
     * that stopped at the first uniform digit would leave them unsorted. */
    size_t n = 4096;
    struct steady_watch *tmp, *v = zeroed(n, &tmp);

    for (size_t i = 0; i < n; i++) {
        uint64_t k = (i * 2654435761ULL) % n;
        v[i].obj = (PyObject *)(0x7f0000000000ULL + (k << 24) + ((k % 16) << 4));
    }
    watch_sort(v, n, tmp);
    for (size_t i = 1; i < n; i++) {
        ck_assert((uintptr_t)v[i - 1].obj < (uintptr_t)v[i].obj);
    }
    free(v);
    free(tmp);
}
END_TEST

Suite *
watch_sort_suite(void)
{
    Suite *s = suite_create("watch_sort");
    TCase *tc = tcase_create("order");
    tcase_add_test(tc, watch_sort_small_runs_use_the_insertion_path);
    tcase_add_test(tc, watch_sort_matches_qsort_on_heap_like_addresses);
    tcase_add_test(tc, watch_sort_keeps_sorted_and_reversed_input);
    tcase_add_test(tc, watch_sort_skips_only_digits_that_are_all_alike);
    suite_add_tcase(s, tc);
    return s;
}
