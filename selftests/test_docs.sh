#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The documentation cannot drift from the command: every command synopsis of
# `xfwd --help` is in the man page and in the README's command table and
# nothing else is; every option of every help is in both; `xfwd CMD --help`
# agrees; the man page renders cleanly; bash completion offers the same
# commands, subcommands and names.
. "$(dirname "$0")/lib.sh"
MAN=$TOP/doc/xfwd.8
README=$TOP/README.md
COMPLETION=$TOP/dist/xfwd.bash-completion

# Roff source to plain text: fonts, escaped minus, zero-width marks.
unroff() { sed -e 's/\\f[BIRP]//g' -e 's/\\-/-/g' -e 's/\\&//g' -e 's/\\c$//' -e 's/\\(dq/"/g'; }
# The synopsis lines of a help text: "  CMD ..." up to the two blanks before the summary.
synopses() { awk '/^commands:/ { c = 1; next } /^options:/ { c = 0 } c && /^  [a-z]/ { sub(/^  /, ""); sub(/  +.*/, ""); print }'; }
# The heading lines (.TP next line) of one man section.
man_headings() { awk -v s="$1" '/^\.SH / { in_s = ($0 == ".SH " s) } { if (in_s && tp) print; tp = /^\.TP/ }' "$MAN" | unroff; }
# The first column of the README's command table, unescaped.
readme_commands() {
	awk '/^## Commands/ { c = 1; next } /^## / { c = 0 } c && /^\| `/' "$README" |
		sed -e 's/^| `//' -e 's/` |.*//' -e 's/\\|/|/g'
}
# Options named in a text (long ones, and one-letter ones after a blank or bracket).
options_in() { grep -oE -- '(^|[][ (|,])--?[a-zA-Z][-a-zA-Z]*' | sed 's/^[][ (|,]//' | sort -u; }

help=$("$XFWD" --help); rc=$?
expect_eq "xfwd --help exits 0" "$rc" 0
help_syn=$(synopses <<<"$help" | sort)
man_syn=$(man_headings COMMANDS | sort)
readme_syn=$(readme_commands | sort)
n=$(wc -l <<<"$help_syn")
if [ "$n" -ge 18 ]; then ok "--help lists $n command synopses"; else not_ok "--help lists the command synopses" "only $n"; fi
expect_eq "the man page's COMMANDS are exactly the synopses of --help" \
	"$(diff <(echo "$help_syn") <(echo "$man_syn") | grep '^[<>]' | tr '\n' ' ')" ""
expect_eq "the README's command table is exactly the synopses of --help" \
	"$(diff <(echo "$help_syn") <(echo "$readme_syn") | grep '^[<>]' | tr '\n' ' ')" ""

# xfwd CMD --help: exit 0, the command's synopses; xfwd help CMD the same.
bad=
for cmd in $(awk '{ print $1 }' <<<"$help_syn" | sort -u); do
	out=$("$XFWD" "$cmd" --help 2>&1) || bad+=" $cmd:rc"
	[ "$out" = "$("$XFWD" help "$cmd")" ] || bad+=" $cmd:help-differs"
	while IFS= read -r s; do
		grep -qF -- "  $s" <<<"$out" || bad+=" $cmd:missing[$s]"
	done < <(grep "^$cmd\b" <<<"$help_syn")
done
expect_eq "xfwd CMD --help shows the command's synopses (and equals xfwd help CMD)" "$bad" ""

# Options: every one in a help is in the man page and the README; every one
# the man page documents (synopsis, options, commands, file) is in a help.
all_help=$(for cmd in $(awk '{ print $1 }' <<<"$help_syn" | sort -u); do "$XFWD" "$cmd" --help; done; echo "$help")
help_opts=$(options_in <<<"$all_help")
man_text=$(unroff <"$MAN")
readme_text=$(cat "$README")
missing_man='' missing_readme=''
for o in $help_opts; do
	grep -qF -- "$o" <<<"$man_text" || missing_man+=" $o"
	grep -qF -- "$o" <<<"$readme_text" || missing_readme+=" $o"
done
expect_eq "every option of the helps is in the man page" "$missing_man" ""
expect_eq "every option of the helps is in the README" "$missing_readme" ""
man_opts=$(awk '/^\.SH (SYNOPSIS|OPTIONS|COMMANDS|CONFIGURATION FILE)$/ { c = 1; next } /^\.SH / { c = 0 } c' "$MAN" |
	unroff | options_in)
extra=$(comm -23 <(echo "$man_opts") <(echo "$help_opts") | tr '\n' ' ')
expect_eq "the man page documents no option the helps lack" "$extra" ""

# The configuration file items of 'apply --help' are the man page's.
file_items=$("$XFWD" apply --help | awk '/one item a line/ { c = 1; next } c && /^    [a-z]/ { sub(/^    /, ""); print } /^  --/ { c = 0 }' | sort)
expect_eq "the file format in 'apply --help' is the man page's CONFIGURATION FILE" \
	"$(diff <(echo "$file_items") <(man_headings "CONFIGURATION FILE" | sort) | grep '^[<>]' | tr '\n' ' ')" ""

# Timeout names: set --help, the man page, the binary's own list agree.
names=$("$XFWD" set --help | awk '/NAME:/ { c = 1 } c' | sed 's/NAME://' | tr ' ' '\n' | grep -E '^[a-z_]+$' | sort)
man_names=$(awk '/^\\fBset timeout\\fR/ { c = 1; next } c && /^\.TP/ { exit } c && /^\.B [a-z_]+$/ { print $2 }' "$MAN" | sort)
bin_names=$("$XFWD" set timeout bogus 1 2>&1 | sed 's/.*one of: //; s/)$//' | tr ' ' '\n' | sort)
expect_eq "timeout names: set --help and the man page agree" "$(echo $names)" "$(echo $man_names)"
expect_eq "timeout names: set --help and the binary agree" "$(echo $names)" "$(echo $bin_names)"

# Exit status, documented alike.
expect_match "--help states the exit status" "$help" "exit status: 0 done, 1 the operation failed, 2 bad"
expect_match "the man page has EXIT STATUS 0, 1, 2" "$(awk '/^\.SH EXIT STATUS/ { c = 1; next } /^\.SH/ { c = 0 } c && /^\.B [0-9]$/ { printf "%s ", $2 }' "$MAN")" "^0 1 2 $"
expect_match "the README states the exit status" "$readme_text" "Exit status: 0 done, 1 the operation failed, 2 a bad"

# The man page renders without a warning.
warn=$(groff -man -ww -z "$MAN" 2>&1)
expect_eq "the man page renders without warnings (groff -ww)" "$warn" ""
if MANWIDTH=80 man -l "$MAN" 2>/dev/null | grep -q "import iptables"; then ok "man -l renders the page"
else not_ok "man -l renders the page" "no output"; fi

# Bash completion offers what the helps say.
complete_words() {
	bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _xfwd; printf "%s\n" "${COMPREPLY[@]}"' \
		_ "$COMPLETION" "$@" | sort | tr '\n' ' '
}
check "bash completion is valid bash" bash -n "$COMPLETION"
expect_eq "completion: the commands of --help" "$(complete_words xfwd '')" \
	"$( (awk '{ print $1 }' <<<"$help_syn" | sort -u; echo help) | sort | tr '\n' ' ')"
expect_eq "completion: rule subcommands" "$(complete_words xfwd -n gw rule '')" "add del list "
expect_eq "completion: 'to' after the public port" "$(complete_words xfwd rule add tcp 8000-8099 '')" "to "
expect_eq "completion: timeout names" "$(complete_words xfwd set timeout '')" "$(echo $names) "
expect_eq "completion: settings" "$(complete_words xfwd set '')" "tcp-loose timeout "
expect_eq "completion: tcp-loose values" "$(complete_words xfwd set tcp-loose '')" "off on "
expect_match "completion: stats options" "$(complete_words xfwd stats -)" "--prometheus"
expect_eq "completion: apply options" "$(complete_words xfwd apply --c)" "--check "
expect_eq "completion: import formats" "$(complete_words xfwd import '')" "ip6tables iptables "
expect_eq "completion: flows --family values" "$(complete_words xfwd flows --family '')" "ipv4 ipv6 "
expect_eq "completion: masq filtering" "$(complete_words xfwd masq add 10.0.0.0/8 --filtering '')" "adf apdf eif "
t_exit
