// Tests of include/pcstate.hpp: moves, destructors that free, lambdas with captures (also
// move-only ones), exceptions with result codes. Run under ASan + UBSan (see Makefile).
#include "pcstate.hpp"

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

static int checks = 0, failures = 0;
#define CHECK(cond)                                                                   \
    do {                                                                              \
        ++checks;                                                                     \
        if (!(cond)) {                                                                \
            ++failures;                                                               \
            std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                             \
    } while (0)

template <class F> static uint32_t error_code(F &&f) {
    try {
        f();
    } catch (const pcstate::Error &e) {
        return e.code();
    }
    return PCSTATE_RESULT_OK;
}

static bool handle_valid(pcstate_peer h) {
    uint32_t v;
    return pcstate_peer_connection_state(h, &v) == PCSTATE_RESULT_OK;
}

static void test_moves_and_destructors() {
    pcstate_peer h = 0;
    {
        pcstate::PeerConnection pc;
        h = pc.handle();
        CHECK(h != 0 && handle_valid(h));
        pcstate::PeerConnection moved(std::move(pc));
        CHECK(!pc && moved.handle() == h);
        pcstate::PeerConnection other(pcstate::Profile::Legacy2016);
        pcstate_peer h2 = other.handle();
        other = std::move(moved); // frees other's peer
        CHECK(!handle_valid(h2));
        CHECK(other.handle() == h && handle_valid(h));
    }
    CHECK(!handle_valid(h)); // destructor freed it

    pcstate::PeerConnection pc;
    {
        pcstate::Transport t = pc.add_transport();
        CHECK(t.id() == 1 && pc.snapshot().transport_count == 1);
        pcstate::Transport t2(std::move(t));
        CHECK(!t && t2.id() == 1);
    }
    CHECK(pc.snapshot().transport_count == 0); // ~Transport removed it
    pcstate::Transport kept = pc.add_transport();
    CHECK(kept.id() == 2);
    pcstate_transport id = kept.release();
    CHECK(id == 2 && !kept);
    CHECK(pc.snapshot().transport_count == 1);
    pcstate::Transport removed = pc.add_transport();
    removed.remove();
    CHECK(pc.snapshot().transport_count == 1);
    // A transport that outlives its peer: its destructor ignores the freed peer.
    pcstate::Transport orphan;
    {
        pcstate::PeerConnection short_lived;
        orphan = short_lived.add_transport();
    }
    CHECK(orphan.id() == 1);
}

static void test_lambdas() {
    pcstate::PeerConnection pc(pcstate::Profile::W3C, pcstate::flags::CloseEvents);
    std::vector<std::string> log;
    int destroyed = 0;
    struct Tracker {
        explicit Tracker(int *d) : destroyed(d) {}
        int *destroyed;
        ~Tracker() { ++*destroyed; }
    };
    auto tracker = std::make_unique<Tracker>(&destroyed);
    // A move-only lambda with captures by reference and by move.
    pc.on_event([&log, t = std::move(tracker)](const pcstate::Event &e) {
        (void)t;
        log.push_back(std::string(pcstate::to_string(e.kind)) + " " + e.old_name() + "->" + e.new_name());
    });
    pcstate::Transport t = pc.add_transport();
    t.set_ice_state(pcstate::IceTransportState::Checking);
    t.set_dtls_state(pcstate::DtlsTransportState::Connected);
    t.set_ice_state(pcstate::IceTransportState::Connected);
    CHECK(pc.connection_state() == pcstate::ConnectionState::Connected);
    CHECK(pc.ice_connection_state() == pcstate::IceConnectionState::Connected);
    CHECK(pc.ice_gathering_state() == pcstate::IceGatheringState::New);
    std::vector<std::string> want = {
        "iceconnectionstatechange new->checking", "connectionstatechange new->connecting",
        "iceconnectionstatechange checking->connected", "connectionstatechange connecting->connected"};
    CHECK(log == want);
    // Replacing the callable destroys the old one exactly once.
    int calls = 0;
    CHECK(destroyed == 0);
    pc.on_event([&calls](const pcstate::Event &) { ++calls; });
    CHECK(destroyed == 1);
    pc.close();
    CHECK(calls == 2);
    auto st = t.states();
    CHECK(st.ice == pcstate::IceTransportState::Closed && st.dtls == pcstate::DtlsTransportState::Closed);
    pc.on_event(nullptr);
    CHECK(std::string(pcstate::to_string(pcstate::ConnectionState::Failed)) == "failed");
    CHECK(std::string(pcstate::to_string(static_cast<pcstate::ConnectionState>(99))) == "unknown");
}

static void test_errors_and_queue() {
    pcstate::PeerConnection pc(pcstate::Profile::W3CLiteral, pcstate::flags::EventQueue);
    CHECK(error_code([] { pcstate::PeerConnection bad(static_cast<pcstate::Profile>(7)); }) ==
          PCSTATE_RESULT_INVALID_ARGUMENT);
    CHECK(error_code([] { pcstate::PeerConnection bad(pcstate::Profile::W3C, 64); }) ==
          PCSTATE_RESULT_INVALID_ARGUMENT);
    pcstate::Transport t = pc.add_transport();
    CHECK(error_code([&] { t.set_ice_state(static_cast<pcstate::IceTransportState>(9)); }) ==
          PCSTATE_RESULT_INVALID_STATE);
    CHECK(pc.event_fd() >= 0);
    CHECK(!pc.poll_event());
    t.set_gatherer_state(pcstate::IceGathererState::Gathering);
    auto e = pc.poll_event();
    CHECK(e && e->seq == 1 && e->kind == pcstate::EventKind::IceGatheringState && e->transport == t.id());
    pc.close();
    CHECK(error_code([&] { pc.add_transport(); }) == PCSTATE_RESULT_CLOSED);
    try {
        t.set_ice_state(pcstate::IceTransportState::Checking);
        CHECK(false);
    } catch (const pcstate::Error &err) {
        CHECK(err.code() == PCSTATE_RESULT_CLOSED);
        CHECK(std::string(err.what()) == "the peer is closed");
    }
    pcstate::PeerConnection plain;
    CHECK(error_code([&] { plain.poll_event(); }) == PCSTATE_RESULT_INVALID_ARGUMENT);
    pcstate_peer h = plain.handle();
    plain.free();
    CHECK(!plain && !handle_valid(h));
    pcstate::PeerConnection moved_from;
    pcstate::PeerConnection sink(std::move(moved_from));
    CHECK(error_code([&] { moved_from.snapshot(); }) == PCSTATE_RESULT_INVALID_HANDLE);
    // A callable that frees its own peer from inside.
    pcstate::PeerConnection self_freeing;
    pcstate_peer sh = self_freeing.handle();
    int seen = 0;
    self_freeing.on_event([&seen, sh](const pcstate::Event &) {
        ++seen;
        CHECK(pcstate_peer_free(sh) == PCSTATE_RESULT_OK);
    });
    pcstate::Transport st = self_freeing.add_transport();
    st.set_ice_state(pcstate::IceTransportState::Checking);
    CHECK(seen == 1 && !handle_valid(sh));
}

int main() {
    test_moves_and_destructors();
    test_lambdas();
    test_errors_and_queue();
    std::printf("C++ wrapper test: %d checks, %d failed\n", checks, failures);
    std::printf("%d passed, %d failed\n", checks - failures, failures);
    return failures == 0 ? 0 : 1;
}
