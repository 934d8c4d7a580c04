SELFTEST_BINS :=
.PHONY: selftests
selftests:
