// pcstate demo in C++: the same call as examples/c/demo.c through include/pcstate.hpp.
#include "pcstate.hpp"

#include <cstdio>

using pcstate::DtlsTransportState;
using pcstate::IceGathererState;
using pcstate::IceTransportState;

int main() {
    std::printf("pcstate %s C++ demo: W3C profile, close events on\n", pcstate_version());
    pcstate::PeerConnection pc(pcstate::Profile::W3C, pcstate::flags::CloseEvents);
    int events = 0;
    pc.on_event([&events](const pcstate::Event &e) {
        ++events;
        std::printf("  #%llu %s %s -> %s (transport %u)\n", static_cast<unsigned long long>(e.seq()),
                    e.name(), e.old_name(), e.new_name(), e.transport());
    });
    pcstate::Transport audio = pc.add_transport();
    pcstate::Transport video = pc.add_transport();
    std::printf("added transports %u (audio) and %u (video)\n", audio.id(), video.id());

    auto ice = [](pcstate::Transport &t, IceTransportState s) {
        std::printf("transport %u: ice %s\n", t.id(), pcstate::to_string(s));
        t.set_ice_state(s);
    };
    auto dtls = [](pcstate::Transport &t, DtlsTransportState s) {
        std::printf("transport %u: dtls %s\n", t.id(), pcstate::to_string(s));
        t.set_dtls_state(s);
    };
    auto gather = [](pcstate::Transport &t, IceGathererState s) {
        std::printf("transport %u: gatherer %s\n", t.id(), pcstate::to_string(s));
        t.set_gatherer_state(s);
    };
    for (auto *t : {&audio, &video}) gather(*t, IceGathererState::Gathering);
    for (auto *t : {&audio, &video}) ice(*t, IceTransportState::Checking);
    for (auto *t : {&audio, &video}) gather(*t, IceGathererState::Complete);
    for (auto *t : {&audio, &video}) ice(*t, IceTransportState::Connected);
    for (auto s : {DtlsTransportState::Connecting, DtlsTransportState::Connected})
        for (auto *t : {&audio, &video}) dtls(*t, s);
    for (auto *t : {&audio, &video}) ice(*t, IceTransportState::Completed);
    std::printf("-- the network blips on the video path, then recovers\n");
    ice(video, IceTransportState::Disconnected);
    ice(video, IceTransportState::Connected);
    std::printf("-- ICE restart on video; the new DTLS handshake fails\n");
    ice(video, IceTransportState::Checking);
    ice(video, IceTransportState::Connected);
    dtls(video, DtlsTransportState::Failed);
    auto s = pc.snapshot();
    std::printf("snapshot: connection %s, ice %s, gathering %s, %u transports, last seq %llu\n",
                pcstate::to_string(s.connection_state), pcstate::to_string(s.ice_connection_state),
                pcstate::to_string(s.ice_gathering_state), s.transport_count,
                static_cast<unsigned long long>(s.last_seq));
    std::printf("-- close\n");
    pc.close();
    audio.release(); // the peer is closed: nothing to remove
    video.release();
    std::printf("C++ demo finished: %d events\n", events);
    return events == 18 ? 0 : 1;
}
