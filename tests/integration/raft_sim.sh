#!/usr/bin/env bash
# The Raft simulation at length: 10000 seeds each of 3- and 5-member clusters (make check
# runs 1000), with faults, crashes, membership changes and failing allocations.
source "$(dirname "$0")/lib.sh"

SIM=$ROOT/build/test/unit/kv/raft_sim_test
[ -x "$SIM" ] || fail "$SIM is not built (make build/test/unit/kv/raft_sim_test)"
note "20000 seeded runs"
CABIN_RAFT_SEEDS=${CABIN_RAFT_SEEDS:-10000} "$SIM" || fail "the simulation found a failing seed (above)"
