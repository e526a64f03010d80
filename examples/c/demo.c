/* pcstate demo: a peer with two transports (audio and video, unbundled) goes through a realistic
 * call: gathering, ICE checks, connected, DTLS up, a network blip and recovery, a DTLS failure after
 * an ICE restart, and close. Every event is printed as it arrives. */
#include "pcstate.h"

#include <stdio.h>
#include <stdlib.h>

static const char *state_name(uint32_t kind, uint32_t v) {
    switch (kind) {
    case PCSTATE_EVENT_KIND_ICE_CONNECTION_STATE: return pcstate_ice_connection_state_name(v);
    case PCSTATE_EVENT_KIND_CONNECTION_STATE: return pcstate_connection_state_name(v);
    default: return pcstate_ice_gathering_state_name(v);
    }
}

static void on_event(void *user_data, const pcstate_event *e) {
    ++*(int *)user_data;
    printf("  #%llu %s %s -> %s (transport %u)\n", (unsigned long long)e->seq, pcstate_event_kind_name(e->kind),
           state_name(e->kind, e->old_state), state_name(e->kind, e->new_state), e->transport);
}

static pcstate_peer peer;

/* Aborts on any error: a demo has no recovery path. */
static void ok(uint32_t r, const char *what) {
    if (r != PCSTATE_RESULT_OK) {
        fprintf(stderr, "%s: %s\n", what, pcstate_result_message(r));
        exit(1);
    }
}

static void ice(pcstate_transport t, uint32_t s) {
    printf("transport %u: ice %s\n", t, pcstate_ice_transport_state_name(s));
    ok(pcstate_transport_set_ice_state(peer, t, s), "set ice");
}

static void dtls(pcstate_transport t, uint32_t s) {
    printf("transport %u: dtls %s\n", t, pcstate_dtls_transport_state_name(s));
    ok(pcstate_transport_set_dtls_state(peer, t, s), "set dtls");
}

static void gather(pcstate_transport t, uint32_t s) {
    printf("transport %u: gatherer %s\n", t, pcstate_ice_gatherer_state_name(s));
    ok(pcstate_transport_set_gatherer_state(peer, t, s), "set gatherer");
}

int main(void) {
    pcstate_transport audio, video;
    pcstate_snapshot s;
    int events = 0;
    printf("pcstate %s C demo: W3C profile, close events on\n", pcstate_version());
    ok(pcstate_peer_new(PCSTATE_PROFILE_W3C, PCSTATE_FLAG_CLOSE_EVENTS, &peer), "peer_new");
    ok(pcstate_peer_set_callback(peer, on_event, &events, NULL), "set_callback");
    ok(pcstate_transport_add(peer, &audio), "add");
    ok(pcstate_transport_add(peer, &video), "add");
    printf("added transports %u (audio) and %u (video)\n", audio, video);

    gather(audio, PCSTATE_ICE_GATHERER_STATE_GATHERING);
    gather(video, PCSTATE_ICE_GATHERER_STATE_GATHERING);
    ice(audio, PCSTATE_ICE_TRANSPORT_STATE_CHECKING);
    ice(video, PCSTATE_ICE_TRANSPORT_STATE_CHECKING);
    gather(audio, PCSTATE_ICE_GATHERER_STATE_COMPLETE);
    gather(video, PCSTATE_ICE_GATHERER_STATE_COMPLETE);
    ice(audio, PCSTATE_ICE_TRANSPORT_STATE_CONNECTED);
    ice(video, PCSTATE_ICE_TRANSPORT_STATE_CONNECTED);
    dtls(audio, PCSTATE_DTLS_TRANSPORT_STATE_CONNECTING);
    dtls(video, PCSTATE_DTLS_TRANSPORT_STATE_CONNECTING);
    dtls(audio, PCSTATE_DTLS_TRANSPORT_STATE_CONNECTED);
    dtls(video, PCSTATE_DTLS_TRANSPORT_STATE_CONNECTED);
    ice(audio, PCSTATE_ICE_TRANSPORT_STATE_COMPLETED);
    ice(video, PCSTATE_ICE_TRANSPORT_STATE_COMPLETED);

    printf("-- the network blips on the video path, then recovers\n");
    ice(video, PCSTATE_ICE_TRANSPORT_STATE_DISCONNECTED);
    ice(video, PCSTATE_ICE_TRANSPORT_STATE_CONNECTED);

    printf("-- ICE restart on video; the new DTLS handshake fails\n");
    ice(video, PCSTATE_ICE_TRANSPORT_STATE_CHECKING);
    ice(video, PCSTATE_ICE_TRANSPORT_STATE_CONNECTED);
    dtls(video, PCSTATE_DTLS_TRANSPORT_STATE_FAILED);

    ok(pcstate_peer_snapshot(peer, &s), "snapshot");
    printf("snapshot: connection %s, ice %s, gathering %s, %u transports, last seq %llu\n",
           pcstate_connection_state_name(s.connection_state),
           pcstate_ice_connection_state_name(s.ice_connection_state),
           pcstate_ice_gathering_state_name(s.ice_gathering_state), s.transport_count,
           (unsigned long long)s.last_seq);

    printf("-- close\n");
    ok(pcstate_peer_close(peer), "close");
    ok(pcstate_peer_free(peer), "free");
    printf("C demo finished: %d events\n", events);
    return 0;
}
