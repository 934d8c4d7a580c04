// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The JSON writer of json.h: one nesting stack, a comma before every value
 * but the first of its array or object. */
#include <stdio.h>

#include "json.h"
#include "xfwd.h"

#define JSON_DEPTH 16	/* deeper than any listing nests */

static struct {
	char closer;	/* '}' or ']' */
	bool started;	/* has a member: the next one takes a comma */
} open_[JSON_DEPTH];
static int depth;

/* What goes before a value: a comma if it is not the first, its key if any. */
static void json_lead(const char *key)
{
	if (depth > 0) {
		if (open_[depth - 1].started)
			putchar(',');
		open_[depth - 1].started = true;
	}
	if (key) {
		json_str(key);
		putchar(':');
	}
}

static void json_open(const char *key, char opener, char closer)
{
	json_lead(key);
	putchar(opener);
	if (depth < JSON_DEPTH)
		open_[depth] = (typeof(open_[0])){ .closer = closer };
	depth++;
}

void json_obj_open(const char *key)
{
	json_open(key, '{', '}');
}

void json_arr_open(const char *key)
{
	json_open(key, '[', ']');
}

void json_close(void)
{
	if (depth > 0 && depth-- <= JSON_DEPTH)
		putchar(open_[depth].closer);
}

void json_end(void)
{
	while (depth > 0)
		json_close();
	putchar('\n');
}

void json_u64(const char *key, unsigned long long v)
{
	json_lead(key);
	printf("%llu", v);
}

void json_i64(const char *key, long long v)
{
	json_lead(key);
	printf("%lld", v);
}

void json_string(const char *key, const char *s)
{
	json_lead(key);
	json_str(s);
}

void json_bool(const char *key, bool v)
{
	json_lead(key);
	fputs(v ? "true" : "false", stdout);
}

void json_null(const char *key)
{
	json_lead(key);
	fputs("null", stdout);
}
