// Conan test package (C++): the header-only wrapper include/pcstate.hpp over the packaged library.
#include "pcstate.hpp"

#include <cstdio>

int main() {
    pcstate::PeerConnection pc(pcstate::Profile::W3C, 0);
    pcstate::Transport t = pc.add_transport();
    t.set_ice_state(pcstate::IceTransportState::Connected);
    t.set_dtls_state(pcstate::DtlsTransportState::Connected);
    auto state = pc.snapshot().connection_state;
    std::printf("pcstate %s (C++): connectionState %s\n", pcstate_version(), pcstate::to_string(state));
    return state == pcstate::ConnectionState::Connected ? 0 : 1;
}
