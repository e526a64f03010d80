#!/bin/sh
# Compile-time test of pcstate.hpp: a discarded [[nodiscard]] result is rejected by -Wall -Wextra -Werror.
# Usage (from the repository root): CXX=g++ tests/cpp/nodiscard.sh
# 1. `pc.add_transport();` as a statement must fail to compile, with a nodiscard diagnostic on
#    that line; the control `pcstate::Transport t = pc.add_transport();` must compile.
# 2. Every [[nodiscard]] member, discarded, one per line: every line must be diagnosed as a
#    discarded nodiscard result; the control, each cast to (void), must compile cleanly.
set -eu
CXX=${CXX:-g++}
FLAGS="-std=c++17 -pedantic -Wall -Wextra -Werror -Iinclude -fsyntax-only"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "nodiscard test: $*" >&2; exit 1; }

# The expressions whose result must be used, in a scope with these names.
prelude='#include "pcstate.hpp"
void use([[maybe_unused]] pcstate::PeerConnection &pc, [[maybe_unused]] pcstate::Transport &t,
         [[maybe_unused]] const pcstate::Event &e, [[maybe_unused]] const pcstate::TransportStates &s,
         [[maybe_unused]] const pcstate::Config &c, [[maybe_unused]] const pcstate::Error &err,
         [[maybe_unused]] const pcstate::StateChange<pcstate::ConnectionState> &ch,
         [[maybe_unused]] const pcstate::PeerStats &ps, [[maybe_unused]] const pcstate::GlobalStats &gs) {'
cat > "$tmp/members" <<'EOF'
pc.add_transport()
pc.add_transport(s)
pc.add_transport(pcstate::IceTransportState::Connected)
pc.add_transport(pcstate::IceTransportState::Connected, pcstate::DtlsTransportState::Connected, pcstate::IceGathererState::Complete)
pc.snapshot()
pc.poll_event()
pc.connection_state()
pc.ice_connection_state()
pc.ice_gathering_state()
pc.closed()
pc.event_fd()
pc.tick()
pc.tick(pcstate::now())
pc.handle()
pc.stats()
pc.free_with_stats()
pc.history()
pc.operator bool()
t.id()
t.peer()
t.operator bool()
t.states()
t.reported_states()
e.peer()
e.seq()
e.time()
e.transport()
e.kind()
e.name()
e.connection_state()
e.ice_connection_state()
e.ice_gathering_state()
e.is_overflow()
e.dropped()
e.old_name()
e.new_name()
e.raw()
pcstate::Event::from_c(pcstate_event{})
s == s
s != s
s.to_c()
pcstate::TransportStates::from_c(pcstate_transport_states{})
ch == ch
ch != ch
c.flags()
err.code()
pcstate::now()
pcstate::Clock::now()
pcstate::version()
pcstate::to_string(pcstate::ConnectionState::New)
pcstate::to_string(pcstate::IceConnectionState::New)
pcstate::to_string(pcstate::IceTransportState::New)
pcstate::to_string(pcstate::DtlsTransportState::New)
pcstate::to_string(pcstate::IceGatheringState::New)
pcstate::to_string(pcstate::IceGathererState::New)
pcstate::to_string(pcstate::EventKind::Overflow)
pcstate::to_string(pcstate::FailureCause::Ice)
ps.created()
ps.first_connected()
ps.time_to_connected()
ps.time_in_state(pcstate::ConnectionState::Connected)
ps.entered(pcstate::ConnectionState::Connected)
ps.failure_cause()
ps.failure_transport()
ps.raw()
pcstate::PeerStats::from_c(ps.raw())
pcstate::global_stats()
gs.live_peers()
gs.peers_in_state(pcstate::ConnectionState::Connected)
gs.events_committed()
gs.failures()
gs.raw()
pcstate::GlobalStats::from_c(gs.raw())
EOF

# 1. The statement the issue names, and its control.
snippet() { printf '%s\n%s\n}\n' "$prelude" "$1" > "$tmp/$2.cpp"; }
snippet '    pc.add_transport();' discard
snippet '    pcstate::Transport kept = pc.add_transport(); (void)kept;' keep
$CXX $FLAGS "$tmp/keep.cpp" || fail "the control (the transport kept) does not compile"
if $CXX $FLAGS "$tmp/discard.cpp" 2> "$tmp/discard.err"; then
  fail "a discarded pc.add_transport() compiled"
fi
line=$(printf '%s\n' "$prelude" | wc -l)
line=$((line + 1))
if ! grep -q "discard.cpp:$line:.*nodiscard" "$tmp/discard.err"; then
  cat "$tmp/discard.err" >&2
  fail "the discarded pc.add_transport() failed, but without a nodiscard diagnostic on line $line"
fi

# 2. Every member, discarded (one per line) and cast to (void) (the control).
{ printf '%s\n' "$prelude"; sed 's/^\(.*\)$/    \1;/' "$tmp/members"; echo '}'; } > "$tmp/all.cpp"
{ printf '%s\n' "$prelude"; sed 's/^\(.*\)$/    (void)(\1);/' "$tmp/members"; echo '}'; } > "$tmp/all_void.cpp"
$CXX $FLAGS "$tmp/all_void.cpp" || fail "the control (every result cast to void) does not compile"
if $CXX $FLAGS "$tmp/all.cpp" 2> "$tmp/all.err"; then
  fail "discarding every [[nodiscard]] result compiled"
fi
first=$(( $(printf '%s\n' "$prelude" | wc -l) + 1 ))
n=$(wc -l < "$tmp/members")
sed -n 's/^[^:]*all\.cpp:\([0-9]*\):[0-9]*:.*nodiscard.*/\1/p' "$tmp/all.err" | sort -un > "$tmp/got"
seq "$first" $((first + n - 1)) > "$tmp/want"
if ! cmp -s "$tmp/got" "$tmp/want"; then
  comm -13 "$tmp/got" "$tmp/want" | while read -r l; do
    echo "not diagnosed: $(sed -n "$((l - first + 1))p" "$tmp/members")" >&2
  done
  fail "$(comm -13 "$tmp/got" "$tmp/want" | wc -l) of $n discarded results compiled without a nodiscard diagnostic"
fi
echo "nodiscard test: a discarded add_transport() is rejected; all $n [[nodiscard]] results are diagnosed;" \
  "the controls compile"
