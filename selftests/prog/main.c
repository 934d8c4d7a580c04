// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The runner of the unit tests of xfwd's programs (BPF_PROG_TEST_RUN):
 *
 *   selftests/prog_test [-t SUBSTRING] [-l] [-v]
 *
 * The cases are the PROG_CASE/PROG_TABLE definitions in selftests/prog,
 * found in the binary's prog_cases section (no list to keep), run in the
 * order of their files' names and their lines. -t runs the cases whose name,
 * or whose file's name (tcp_window, frag, ...), contains SUBSTRING.
 *
 * One line per case (per row of a table): "ok - NAME" or "not ok - NAME:
 * detail", where the detail names the packet, the field, what was expected
 * and what came; then "# N passed, N failed". Exits 1 if any case failed.
 */
#include <stdlib.h>
#include <unistd.h>

#include "harness.h"

extern const struct prog_case *const __start_prog_cases[], *const __stop_prog_cases[];

static const struct prog_case **cases;
static size_t ncases;

/* "selftests/prog/tcp_window.c" -> "tcp_window" (into b). */
static const char *file_stem(const char *path, char *b, size_t n)
{
	const char *s = strrchr(path, '/');
	size_t len;

	s = s ? s + 1 : path;
	len = strcspn(s, ".");
	snprintf(b, n, "%.*s", (int)len, s);
	return b;
}

static int case_order(const void *a, const void *b)
{
	const struct prog_case *x = *(const struct prog_case *const *)a;
	const struct prog_case *y = *(const struct prog_case *const *)b;
	int c = strcmp(x->file, y->file);

	return c ? c : x->line - y->line;
}

static void cases_collect(void)
{
	const struct prog_case *const *p;

	ncases = (size_t)(__stop_prog_cases - __start_prog_cases);
	cases = calloc(ncases ? ncases : 1, sizeof(*cases));
	if (!cases) {
		perror("calloc");
		exit(2);
	}
	for (p = __start_prog_cases; p < __stop_prog_cases; p++)
		cases[p - __start_prog_cases] = *p;
	qsort(cases, ncases, sizeof(*cases), case_order);
}

static const void *row_at(const struct prog_case *c, size_t i)
{
	return (const char *)c->rows + i * c->row_size;
}

/* Every row struct starts with its name. */
static const char *row_name(const struct prog_case *c, size_t i)
{
	return *(const char *const *)row_at(c, i);
}

static int selected(const struct prog_case *c, const char *name, const char *filter)
{
	char stem[64];

	return !filter || strstr(name, filter) || strstr(c->name, filter) ||
	       strstr(file_stem(c->file, stem, sizeof(stem)), filter);
}

static int passed, failed;

static void report(const char *name, int rc)
{
	if (rc) {
		printf("not ok - %s: %s\n", name, fail_buf[0] ? fail_buf : "failed, no detail");
		failed++;
	} else {
		printf("ok - %s\n", name);
		passed++;
	}
}

static void usage(const char *prog)
{
	fprintf(stderr, "usage: %s [-t SUBSTRING] [-v] [-l]\n"
		"  -t SUBSTRING  run only the cases whose name or file name contains it\n"
		"  -l            list the cases (with -t: those it selects), one per line\n"
		"  -v            show commands and libbpf messages; -vv: every frame in and out\n", prog);
}

int main(int argc, char **argv)
{
	const char *filter = NULL;
	int opt, list = 0;
	size_t i, r;

	while ((opt = getopt(argc, argv, "t:vlh")) != -1) {
		switch (opt) {
		case 't':
			filter = optarg;
			break;
		case 'v':
			verbose++;
			break;
		case 'l':
			list = 1;
			break;
		default:
			usage(argv[0]);
			return opt == 'h' ? 0 : 2;
		}
	}
	if (optind < argc) {
		usage(argv[0]);
		return 2;
	}
	cases_collect();
	if (!ncases) {
		printf("not ok - no cases in the binary (its section prog_cases is empty)\n");
		return 1;
	}
	if (list) {
		for (i = 0; i < ncases; i++) {
			if (!cases[i]->rows) {
				if (selected(cases[i], cases[i]->name, filter))
					printf("%s\n", cases[i]->name);
				continue;
			}
			for (r = 0; r < cases[i]->nrows; r++)
				if (selected(cases[i], row_name(cases[i], r), filter))
					printf("%s\n", row_name(cases[i], r));
		}
		return 0;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 0; i < sizeof(pattern); i++)
		pattern[i] = (uint8_t)(i * 7 + 3);
	if (setup()) {
		printf("not ok - setup: %s\n", fail_buf);
		return 1;
	}
	for (i = 0; i < ncases; i++) {
		const struct prog_case *c = cases[i];

		if (!c->rows) {
			if (!selected(c, c->name, filter))
				continue;
			fail_buf[0] = 0;
			report(c->name, reset() || c->fn());
			continue;
		}
		for (r = 0; r < c->nrows; r++) {
			if (!selected(c, row_name(c, r), filter))
				continue;
			fail_buf[0] = 0;
			report(row_name(c, r), reset() || c->row_fn(row_at(c, r)));
		}
	}
	xfwd_bpf__destroy(skel);
	if (!passed && !failed)
		fprintf(stderr, "no case is named like '%s' (-l lists them)\n", filter);
	printf("# %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
