/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A small JSON writer to stdout, compact (no blanks), for every listing's -j:
 * the commas between members are its business, not the commands'. KEY names
 * an object's member; NULL inside an array (or for the outermost value).
 */
#ifndef XFWD_JSON_H
#define XFWD_JSON_H

#include <stdbool.h>

void json_obj_open(const char *key);
void json_arr_open(const char *key);
void json_close(void);	/* the innermost open object or array */
void json_end(void);	/* closes all that is open and ends the line */

void json_u64(const char *key, unsigned long long v);
void json_i64(const char *key, long long v);
void json_string(const char *key, const char *s);	/* escaped */
void json_bool(const char *key, bool v);
void json_null(const char *key);

#endif /* XFWD_JSON_H */
