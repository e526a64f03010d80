/* A program that finds pcstate through pkg-config. */
#include <pcstate.h>
#include <stdio.h>

int main(void) {
    pcstate_peer pc;
    pcstate_transport t;
    uint32_t state;
    if (pcstate_peer_new(PCSTATE_PROFILE_W3C, 0, &pc) != PCSTATE_RESULT_OK) return 1;
    pcstate_transport_add(pc, &t);
    pcstate_transport_set_ice_state(pc, t, PCSTATE_ICE_TRANSPORT_STATE_CONNECTED);
    pcstate_transport_set_dtls_state(pc, t, PCSTATE_DTLS_TRANSPORT_STATE_CONNECTED);
    pcstate_peer_connection_state(pc, &state);
    printf("pkg-config consumer: pcstate %s, connectionState %s\n", pcstate_version(),
           pcstate_connection_state_name(state));
    pcstate_peer_free(pc);
    return state == PCSTATE_CONNECTION_STATE_CONNECTED ? 0 : 1;
}
