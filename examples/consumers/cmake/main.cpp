// A C++ program that finds pcstate with CMake find_package and uses the C++17 wrapper.
#include <pcstate.hpp>

#include <cstdio>

int main() {
    pcstate::PeerConnection pc;
    int events = 0;
    pc.on_event([&events](const pcstate::Event &) { ++events; });
    pcstate::Transport t = pc.add_transport();
    t.set_ice_state(pcstate::IceTransportState::Connected);
    t.set_dtls_state(pcstate::DtlsTransportState::Connected);
    std::printf("CMake C++ consumer: connectionState %s after %d events\n",
                pcstate::to_string(pc.connection_state()), events);
    return pc.connection_state() == pcstate::ConnectionState::Connected ? 0 : 1;
}
