# cabind as an ordinary foreground daemon: --help, --version, bad flags, the ready line,
# and a clean exit on SIGTERM and SIGINT.
source tests/integration/lib.sh

"$CABIND" --help | grep -q -- '--log-level' || fail "--help does not list --log-level"
"$CABIND" --version | grep -Eq '^cabind [0-9]' || fail "--version"
expect_fail 2 "unrecognized option|unknown option" "$CABIND" --bogus
expect_fail 2 "--log-level loud: expected" "$CABIND" --log-level loud
expect_fail 2 "unexpected argument 'extra'" "$CABIND" extra

expect_fail 2 "--listen-client-urls: \"localhost\": expected http://HOST:PORT" "$CABIND" \
	--listen-client-urls localhost
expect_fail 2 "--heartbeat-interval=0: expected a number from 1 to 60000" "$CABIND" \
	--heartbeat-interval 0
# a port that is taken: a clear error, exit 1
python3 -c 'import socket,time,sys; s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(); print(s.getsockname()[1], flush=True); time.sleep(30)' >"$TMP/port" &
BUSY_PID=$!
CLEANUP+=("kill $BUSY_PID 2>/dev/null")
wait_for 10 "a busy port" test -s "$TMP/port"
expect_fail 1 "kv: listen on 127.0.0.1:$(cat "$TMP/port"): Address (already )?in use" "$CABIND" \
	--data-dir "$TMP/busy" --listen-client-urls "http://127.0.0.1:$(cat "$TMP/port")"
KV=(--data-dir "$TMP/data" --listen-client-urls http://127.0.0.1:0)

note "signals that power an appliance off do not stop the daemon"
"$CABIND" "${KV[@]}" >"$TMP/out" 2>"$TMP/log" &
pid=$!
wait_for 20 "ready line" grep -q '^cabin: ready ' "$TMP/log"
kill -USR1 $pid; kill -USR2 $pid; kill -PWR $pid; kill -HUP $pid
sleep 0.5
kill -0 $pid || { cat "$TMP/log"; fail "the daemon stopped on USR1/USR2/PWR/HUP"; }
kill -TERM $pid
wait $pid || fail "exit status after SIGTERM"
grep -q 'reason="SIGTERM' "$TMP/log" || { cat "$TMP/log"; fail "stopped for another reason"; }

for sig in TERM INT; do
	"$CABIND" "${KV[@]}" --log-level debug >"$TMP/out" 2>"$TMP/log" &
	pid=$!
	wait_for 20 "ready line" grep -q '^cabin: ready ' "$TMP/log"
	grep -Eq '^cabin: ready version=[^ ]+ hostname=[^ ]+ source=none addrs=[^ ]+ boot_ms=[0-9]+$' \
		"$TMP/log" || { cat "$TMP/log"; fail "ready line format"; }
	kill -$sig $pid
	rc=0
	wait $pid || rc=$?
	[[ $rc -eq 0 ]] || { cat "$TMP/log"; fail "SIG$sig: exit status $rc"; }
	grep -q 'shutdown action=poweroff' "$TMP/log" || fail "SIG$sig: no shutdown line"
	note "SIG$sig: clean exit"
done

note "poweroff, reboot and halt (the kernel's orderly_poweroff runs /sbin/poweroff) signal PID 1"
# In a PID namespace a shell stands in for init and records what it receives.
command -v unshare >/dev/null || skip "unshare not installed"
unshare --pid --fork true 2>/dev/null || skip "cannot make a PID namespace here (not root?)"
for pair in poweroff:USR2 reboot:TERM halt:USR1; do
	name=${pair%%:*} sig=${pair##*:}
	ln -sf "$CABIND" "$TMP/$name"
	got=$(unshare --pid --fork bash -c "
		for s in USR1 USR2 TERM; do trap \"echo \$s; exit 0\" \$s; done
		'$TMP/$name' || echo 'exit status' \$?
		sleep 20 & wait") || fail "$name: unshare"
	[[ $got == "$sig" ]] || fail "$name sent '$got' to PID 1, expected $sig"
	note "$name -> SIG$sig"
done
