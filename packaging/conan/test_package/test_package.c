/* Conan test package (C): a peer whose one transport is connected reads connected; says which
 * file the library was loaded from (libpcstate.so for the shared package, this program for the
 * static one). */
#define _GNU_SOURCE /* dladdr */
#include "pcstate.h"

#include <dlfcn.h>
#include <stdio.h>

int main(void) {
    pcstate_peer pc = 0;
    pcstate_transport t = 0;
    uint32_t state = PCSTATE_CONNECTION_STATE_NEW;
    Dl_info where = {0};
    if (pcstate_peer_new(PCSTATE_PROFILE_W3C, 0, &pc) != PCSTATE_RESULT_OK ||
        pcstate_transport_add(pc, &t) != PCSTATE_RESULT_OK ||
        pcstate_transport_set_ice_state(pc, t, PCSTATE_ICE_TRANSPORT_STATE_CONNECTED) != PCSTATE_RESULT_OK ||
        pcstate_transport_set_dtls_state(pc, t, PCSTATE_DTLS_TRANSPORT_STATE_CONNECTED) != PCSTATE_RESULT_OK ||
        pcstate_peer_connection_state(pc, &state) != PCSTATE_RESULT_OK || pcstate_peer_free(pc) != PCSTATE_RESULT_OK)
        return 1;
    dladdr((void *)pcstate_version, &where);
    printf("pcstate %s (C) from %s: connectionState %s\n", pcstate_version(), where.dli_fname ? where.dli_fname : "?",
           pcstate_connection_state_name(state));
    return state == PCSTATE_CONNECTION_STATE_CONNECTED ? 0 : 1;
}
