#!/bin/sh
# admin/demo.sh BUILD - `make run`: a ready demo instance in ./run-demo on
# port base 10000, run in the foreground (Ctrl-C stops it cleanly).
# Touches:  ./run-demo (created on the first run, reused afterwards) and
#           the demo user demo@example.test in its users table.
# Security: the demo password is random, made once and kept in
#           run-demo/demo-password (mode 0600); the instance listens on
#           every interface like any default instance, so run it on a
#           machine you trust or set inet_interfaces first.
# Errors:   stops at the first failing step with tern's message, exit 1.
set -eu
build=${1:?usage: sh admin/demo.sh /abs/build}
tern=$build/sbin/tern
dir=run-demo
user=demo@example.test
base=10000

[ -x "$tern" ] || { echo "demo: $tern is not built (run make)" >&2; exit 1; }
if [ ! -f "$dir/main.cf" ]; then
	"$tern" init "$dir" --port-base "$base" --hostname localhost --domain example.test
fi
pwfile=$dir/demo-password
if [ ! -s "$pwfile" ]; then
	(umask 077 && od -An -N9 -tx1 /dev/urandom | tr -d ' \n' > "$pwfile")
fi
password=$(cat "$pwfile")
if ! "$tern" -c "$dir" user list | grep -qx "$user"; then
	printf '%s\n' "$password" | "$tern" -c "$dir" user add "$user"
fi

echo
echo "tern demo instance in $(cd "$dir" && pwd)"
for svc in smtp:25 submission:587 smtps:465 pop3:110 imap:143 pop3s:995 imaps:993; do
	printf '  %-11s 127.0.0.1:%s\n' "${svc%%:*}" "$((base + ${svc#*:}))"
done
echo "  (entries whose daemons are not built yet stay commented out in master.cf)"
printf '  %-11s %s\n' user "$user" password "$password" log "$dir/log/maillog"
echo "Ctrl-C stops it."
echo
exec "$tern" -c "$dir" start-fg
