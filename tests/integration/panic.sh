# The panic path: an image whose command line asks cabind to panic once ready
# (cabin.debug=panic) must log the cause on the console and then power off
# (cabin.panic=poweroff) or reboot (cabin.panic=reboot) as configured.
source tests/integration/lib.sh
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not installed"

for action in poweroff reboot; do
	img=$TMP/panic-$action.qcow2
	STATE=$TMP/state-$action
	CLEANUP+=("'$CABIN' kill --state '$STATE' >/dev/null 2>&1")
	note "image with cabin.panic=$action"
	"$CABIN" build -q -o "$img" --cabind build/cabind --kernel-root build/kernel \
		--size 256M --append "cabin.debug=panic cabin.panic=$action"
	"$CABIN" up --state "$STATE" --image "$img" --accel tcg --timeout 600
	log=$STATE/node1/serial.log
	wait_for 120 "panic line" grep -q "cabin: panic: cabin.debug=panic on the kernel command line (action=$action)" "$log"
	if [[ $action == poweroff ]]; then
		wait_for 60 "power off" grep -q 'reboot: Power down' "$log"
		wait_for 30 "QEMU exit" bash -c "'$CABIN' status --state '$STATE' | grep -Eq '^node1 +stopped'"
	else
		wait_for 60 "restart" grep -q 'reboot: Restarting system' "$log"
		# the guest boots again: a second cabind start after the restart
		wait_for 300 "second boot" bash -c "[ \$(grep -c 'cabin: init: cabind' '$log') -ge 2 ]"
		"$CABIN" kill --state "$STATE"
	fi
	note "$action: ok"
done
