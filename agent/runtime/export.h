/* SPDX-License-Identifier: MIT */
/* The only definition of LRULEAK_EXPORT; only exports.c uses it, and every
 * exported name is also listed in agent.sym (checked by a test). */
#pragma once

#define LRULEAK_EXPORT __attribute__((visibility("default")))
