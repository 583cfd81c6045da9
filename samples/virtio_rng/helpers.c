// SPDX-License-Identifier: GPL-2.0
/* The workloop library's C wrappers, linked into this module. */
#include "../../src/helpers.c"
