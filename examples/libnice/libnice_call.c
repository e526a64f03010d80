/* Example: a libnice + OpenSSL DTLS call on 127.0.0.1 reported to pcstate, printing its W3C events.
 *
 * Two peers, alice and bob, live in this one process and share the GLib main loop. Each has:
 *   - a libnice agent (RFC 5245, UDP, 127.0.0.1 only) with one stream of one component,
 *   - an OpenSSL DTLS 1.2 session over that component (memory BIOs: what OpenSSL writes we send
 *     with nice_agent_send, what libnice receives we write into OpenSSL),
 *   - a pcstate peer with one transport, fed from the moments listed below.
 *
 *   libnice component-state-changed   -> pcstate_transport_set_ice_agent_state(LIBNICE, state)
 *   libnice candidate-gathering-done  -> pcstate_transport_set_gatherer_state(complete)
 *   remote candidates set in libnice  -> pcstate_transport_note_remote_candidate
 *   all remote candidates were given  -> pcstate_transport_set_remote_end_of_candidates
 *   ICE restart (restartIce(), or a remote ICE-restart offer)
 *                                     -> pcstate_transport_restart_ice, then nice_agent_restart;
 *                                        then the new description as above (libnice keeps its
 *                                        candidates and emits no candidate-gathering-done again)
 *   every datagram received           -> pcstate_transport_note_alive
 *   pcstate's next deadline           -> a GLib timer that calls pcstate_peer_tick
 *   DTLS handshake started / done and fingerprint ok / alert or mismatch / close_notify
 *                                     -> pcstate_transport_set_dtls_state(connecting / connected /
 *                                        failed / closed)
 *
 * Build: cc libnice_call.c $(pkg-config --cflags --libs nice openssl pcstate) */
#include "pcstate.h"

#include <nice/agent.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *name;
    pcstate_peer pc;
    pcstate_transport t;
    guint tick_timer, dtls_timer;

    NiceAgent *agent;
    guint stream;
    gboolean gathered;
    gboolean ready; /* the component is READY now */

    SSL_CTX *ctx;
    SSL *ssl;
    char fingerprint[128];        /* ours: what our SDP's a=fingerprint would say */
    char remote_fingerprint[128]; /* the remote's, as its SDP said */
    gboolean dtls_done, dtls_closed;
} peer;

/* ---- pcstate: events and the liveness timer ----------------------------------------------- */

static void on_event(void *user_data, const pcstate_event *e) {
    const peer *p = user_data;
    const char *(*name)(uint32_t) =
        e->kind == PCSTATE_EVENT_KIND_CONNECTION_STATE       ? pcstate_connection_state_name
        : e->kind == PCSTATE_EVENT_KIND_ICE_CONNECTION_STATE ? pcstate_ice_connection_state_name
                                                             : pcstate_ice_gathering_state_name;
    if (e->kind == PCSTATE_EVENT_KIND_OVERFLOW) /* only if a callback falls far behind */
        return;
    printf("  %-6s %-25s %s -> %s\n", p->name, pcstate_event_kind_name(e->kind), name(e->old_state),
           name(e->new_state));
}

/* Every pcstate call returns a result; an application would log it, the example stops. */
static void ok(uint32_t result, const char *what) {
    if (result != PCSTATE_RESULT_OK) {
        fprintf(stderr, "%s: %s\n", what, pcstate_result_message(result));
        exit(1);
    }
}

static gboolean on_tick(gpointer data);

/* pcstate owns no thread: tick it now and set one timer for the deadline it returns. Call this
 * after every ICE report too, since that is where the liveness clock starts. */
static void schedule_tick(peer *p) {
    uint64_t now = pcstate_now_ns(), next;
    ok(pcstate_peer_tick(p->pc, now, &next), "tick");
    if (p->tick_timer)
        g_source_remove(p->tick_timer);
    p->tick_timer = 0;
    if (next != UINT64_MAX)
        p->tick_timer = g_timeout_add((guint)((next > now ? next - now : 0) / 1000000 + 1), on_tick, p);
}

static gboolean on_tick(gpointer data) {
    peer *p = data;
    p->tick_timer = 0;
    schedule_tick(p);
    return G_SOURCE_REMOVE;
}

/* ---- DTLS over the ICE component ---------------------------------------------------------- */

/* Sends what OpenSSL wrote. On loopback one datagram can carry a whole flight. */
static void dtls_flush(peer *p) {
    char buf[16384];
    int n;
    while ((n = BIO_read(SSL_get_wbio(p->ssl), buf, sizeof buf)) > 0)
        nice_agent_send(p->agent, p->stream, 1, (guint)n, buf);
}

static void dtls_set(peer *p, uint32_t state) {
    ok(pcstate_transport_set_dtls_state(p->pc, p->t, state), "set_dtls_state");
}

/* Drives the handshake, then reads; maps each OpenSSL outcome to a DTLS transport state. */
static void dtls_pump(peer *p) {
    char buf[2048];
    int r;
    if (!p->dtls_done) {
        r = SSL_do_handshake(p->ssl);
        dtls_flush(p);
        if (r != 1) {
            int err = SSL_get_error(p->ssl, r);
            if (err != SSL_ERROR_WANT_READ) /* a fatal alert, sent or received */
                dtls_set(p, PCSTATE_DTLS_TRANSPORT_STATE_FAILED);
            return;
        }
        /* Handshake done. WebRTC trusts the certificate only if its SHA-256 fingerprint is the
         * one the remote's SDP carried. */
        X509 *cert = SSL_get1_peer_certificate(p->ssl);
        unsigned char md[32];
        unsigned int len = 0;
        char fp[128] = "sha-256";
        X509_digest(cert, EVP_sha256(), md, &len);
        X509_free(cert);
        for (unsigned int i = 0; i < len; i++)
            sprintf(fp + strlen(fp), "%c%02X", i ? ':' : ' ', md[i]);
        p->dtls_done = TRUE;
        dtls_set(p, strcmp(fp, p->remote_fingerprint) == 0 ? PCSTATE_DTLS_TRANSPORT_STATE_CONNECTED
                                                           : PCSTATE_DTLS_TRANSPORT_STATE_FAILED);
    }
    while ((r = SSL_read(p->ssl, buf, sizeof buf - 1)) > 0) {
        buf[r] = '\0';
        printf("  %-6s received \"%s\"\n", p->name, buf);
    }
    if (SSL_get_error(p->ssl, r) == SSL_ERROR_ZERO_RETURN && !p->dtls_closed) {
        p->dtls_closed = TRUE; /* the remote's close_notify */
        dtls_set(p, PCSTATE_DTLS_TRANSPORT_STATE_CLOSED);
    }
}

/* Retransmits lost handshake flights; OpenSSL gives up (-1) after about a dozen tries. */
static gboolean on_dtls_timer(gpointer data) {
    peer *p = data;
    if (!p->ssl || p->dtls_done)
        return G_SOURCE_CONTINUE;
    int r = DTLSv1_handle_timeout(p->ssl);
    dtls_flush(p);
    if (r < 0)
        dtls_set(p, PCSTATE_DTLS_TRANSPORT_STATE_FAILED);
    return G_SOURCE_CONTINUE;
}

/* Accept any certificate during the handshake: the fingerprint check above decides. */
static int accept_any(int preverify_ok, X509_STORE_CTX *ctx) {
    (void)preverify_ok, (void)ctx;
    return 1;
}

/* A self-signed P-256 certificate made at start-up, as browsers do. */
static void dtls_init(peer *p) {
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *cert = X509_new();
    unsigned char md[32];
    unsigned int len = 0;
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert), 86400);
    X509_set_pubkey(cert, key);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_ASC,
                               (const unsigned char *)p->name, -1, -1, 0);
    X509_set_issuer_name(cert, X509_get_subject_name(cert));
    X509_sign(cert, key, EVP_sha256());
    X509_digest(cert, EVP_sha256(), md, &len);
    strcpy(p->fingerprint, "sha-256");
    for (unsigned int i = 0; i < len; i++)
        sprintf(p->fingerprint + strlen(p->fingerprint), "%c%02X", i ? ':' : ' ', md[i]);

    p->ctx = SSL_CTX_new(DTLS_method());
    SSL_CTX_set_min_proto_version(p->ctx, DTLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(p->ctx, DTLS1_2_VERSION);
    SSL_CTX_use_certificate(p->ctx, cert);
    SSL_CTX_use_PrivateKey(p->ctx, key);
    SSL_CTX_set_verify(p->ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, accept_any);
    X509_free(cert);
    EVP_PKEY_free(key);
}

/* The handshake starts once ICE is READY (libnice sends only then); the controlling side is the
 * DTLS client here. */
static void dtls_start(peer *p, gboolean client) {
    if (p->ssl)
        return;
    p->ssl = SSL_new(p->ctx);
    SSL_set_bio(p->ssl, BIO_new(BIO_s_mem()), BIO_new(BIO_s_mem()));
    BIO_set_mem_eof_return(SSL_get_rbio(p->ssl), -1); /* empty means "wait", not EOF */
    if (client)
        SSL_set_connect_state(p->ssl);
    else
        SSL_set_accept_state(p->ssl);
    dtls_set(p, PCSTATE_DTLS_TRANSPORT_STATE_CONNECTING);
    dtls_pump(p);
}

/* ---- libnice callbacks -------------------------------------------------------------------- */

static void on_state(NiceAgent *agent, guint stream, guint component, guint state, gpointer data) {
    peer *p = data;
    gboolean controlling;
    (void)stream, (void)component;
    /* Pass libnice's own number: pcstate maps it (READY is "completed" only with gathering done
     * and the remote's end-of-candidates, otherwise "connected"). */
    ok(pcstate_transport_set_ice_agent_state(p->pc, p->t, PCSTATE_ICE_AGENT_LIBNICE, state),
       "set_ice_agent_state");
    schedule_tick(p);
    p->ready = state == NICE_COMPONENT_STATE_READY;
    if (state == NICE_COMPONENT_STATE_READY) {
        g_object_get(agent, "controlling-mode", &controlling, NULL);
        dtls_start(p, controlling);
    }
}

static void on_gathering_done(NiceAgent *agent, guint stream, gpointer data) {
    peer *p = data;
    (void)agent, (void)stream;
    p->gathered = TRUE;
    ok(pcstate_transport_set_gatherer_state(p->pc, p->t, PCSTATE_ICE_GATHERER_STATE_COMPLETE),
       "set_gatherer_state");
}

static void on_receive(NiceAgent *agent, guint stream, guint component, guint len, gchar *buf,
                       gpointer data) {
    peer *p = data;
    (void)agent, (void)stream, (void)component;
    /* Anything from the remote proves it alive (libnice keeps STUN to itself). */
    ok(pcstate_transport_note_alive(p->pc, p->t, pcstate_now_ns()), "note_alive");
    if (!p->ssl)
        dtls_start(p, FALSE); /* the ClientHello beat our own READY */
    BIO_write(SSL_get_rbio(p->ssl), buf, (int)len);
    dtls_pump(p);
}

/* ---- setting up, signalling, tearing down -------------------------------------------------- */

static void peer_init(peer *p, const char *name, gboolean controlling) {
    NiceAddress loopback;
    memset(p, 0, sizeof *p);
    p->name = name;
    /* IGNORE_AFTER_CLOSE: libnice and OpenSSL keep reporting while we tear down after close();
     * those calls then return OK and change nothing. CLOSE_EVENTS: close() reports "closed". */
    ok(pcstate_peer_new(PCSTATE_PROFILE_W3C, PCSTATE_FLAG_IGNORE_AFTER_CLOSE | PCSTATE_FLAG_CLOSE_EVENTS,
                        &p->pc),
       "peer_new");
    ok(pcstate_peer_set_callback(p->pc, on_event, p, NULL), "set_callback");
    ok(pcstate_transport_add(p->pc, &p->t), "transport_add");
    /* Browser-like: disconnected after 2 s without a packet, failed after 10 s (libnice alone
     * would say nothing for much longer). */
    ok(pcstate_peer_set_liveness(p->pc, 2000000000ull, 10000000000ull), "set_liveness");
    dtls_init(p);

    p->agent = nice_agent_new_full(NULL, NICE_COMPATIBILITY_RFC5245, NICE_AGENT_OPTION_REGULAR_NOMINATION);
    g_object_set(p->agent, "controlling-mode", controlling, "ice-tcp", FALSE, NULL);
    if (g_object_class_find_property(G_OBJECT_GET_CLASS(p->agent), "upnp"))
        g_object_set(p->agent, "upnp", FALSE, NULL);
    nice_address_init(&loopback);
    nice_address_set_from_string(&loopback, "127.0.0.1");
    nice_agent_add_local_address(p->agent, &loopback);
    p->stream = nice_agent_add_stream(p->agent, 1);
    g_signal_connect(p->agent, "component-state-changed", G_CALLBACK(on_state), p);
    g_signal_connect(p->agent, "candidate-gathering-done", G_CALLBACK(on_gathering_done), p);
    nice_agent_attach_recv(p->agent, p->stream, 1, NULL, on_receive, p);
    p->dtls_timer = g_timeout_add(100, on_dtls_timer, p);

    ok(pcstate_transport_set_gatherer_state(p->pc, p->t, PCSTATE_ICE_GATHERER_STATE_GATHERING),
       "set_gatherer_state");
    nice_agent_gather_candidates(p->agent, p->stream);
}

/* What the SDP offer/answer would carry from `from` to `to`: ICE credentials, candidates and the
 * DTLS fingerprint. Without trickle the candidates are all of them, so the end-of-candidates
 * fact holds as soon as they are given. */
static void signal_to(peer *from, peer *to) {
    gchar *ufrag, *pwd;
    GSList *candidates;
    int added;
    nice_agent_get_local_credentials(from->agent, from->stream, &ufrag, &pwd);
    nice_agent_set_remote_credentials(to->agent, to->stream, ufrag, pwd);
    candidates = nice_agent_get_local_candidates(from->agent, from->stream, 1);
    added = nice_agent_set_remote_candidates(to->agent, to->stream, 1, candidates);
    if (added > 0) /* once per ICE session is enough */
        ok(pcstate_transport_note_remote_candidate(to->pc, to->t), "note_remote_candidate");
    g_slist_free_full(candidates, (GDestroyNotify)nice_candidate_free);
    g_free(ufrag);
    g_free(pwd);
    strcpy(to->remote_fingerprint, from->fingerprint);
    ok(pcstate_transport_set_remote_end_of_candidates(to->pc, to->t), "set_remote_end_of_candidates");
}

static void peer_destroy(peer *p) {
    if (p->tick_timer)
        g_source_remove(p->tick_timer);
    g_source_remove(p->dtls_timer);
    g_signal_handlers_disconnect_by_data(p->agent, p);
    g_object_unref(p->agent);
    SSL_free(p->ssl);
    SSL_CTX_free(p->ctx);
    ok(pcstate_peer_free(p->pc), "peer_free");
}

static gboolean on_timeout(gpointer data) {
    *(gboolean *)data = TRUE;
    return G_SOURCE_REMOVE;
}

/* Runs the main loop until *flag is set, at most ms milliseconds. */
static gboolean run_until(const gboolean *flag, guint ms) {
    gboolean timed_out = FALSE;
    guint timer = g_timeout_add(ms, on_timeout, &timed_out);
    while (!*flag && !timed_out)
        g_main_context_iteration(NULL, TRUE);
    if (!timed_out)
        g_source_remove(timer);
    return *flag;
}

static void print_state(const peer *p) {
    pcstate_snapshot s;
    ok(pcstate_peer_snapshot(p->pc, &s), "snapshot");
    printf("  %-6s connectionState %s, iceConnectionState %s, iceGatheringState %s\n", p->name,
           pcstate_connection_state_name(s.connection_state),
           pcstate_ice_connection_state_name(s.ice_connection_state),
           pcstate_ice_gathering_state_name(s.ice_gathering_state));
}

int main(void) {
    peer alice, bob;
    gboolean never = FALSE;
    printf("pcstate %s: a libnice call on 127.0.0.1 with DTLS 1.2\n", pcstate_version());

    printf("-- gathering\n");
    peer_init(&alice, "alice", TRUE);
    peer_init(&bob, "bob", FALSE);
    if (!run_until(&alice.gathered, 5000) || !run_until(&bob.gathered, 5000))
        return fprintf(stderr, "gathering did not finish\n"), 1;

    printf("-- offer/answer: credentials, all candidates, fingerprints\n");
    signal_to(&alice, &bob);
    signal_to(&bob, &alice);
    if (!run_until(&alice.dtls_done, 10000) || !run_until(&bob.dtls_done, 10000))
        return fprintf(stderr, "the call did not connect\n"), 1;
    print_state(&alice);
    print_state(&bob);

    printf("-- a little media\n");
    SSL_write(alice.ssl, "hello bob", 9);
    dtls_flush(&alice);
    SSL_write(bob.ssl, "hello alice", 11);
    dtls_flush(&bob);
    run_until(&never, 200);

    /* ICE restart on the live call: each side tells pcstate first (libnice reports GATHERING from
     * inside nice_agent_restart), then the new credentials and candidates go both ways. The call
     * stays "connected"; iceConnectionState reads "connected" until the agents are READY again
     * with the remote's new end-of-candidates, then "completed". */
    printf("-- ICE restart: alice restarts, bob takes her offer and answers\n");
    ok(pcstate_transport_restart_ice(alice.pc, alice.t), "restart_ice");
    nice_agent_restart(alice.agent);
    ok(pcstate_transport_restart_ice(bob.pc, bob.t), "restart_ice");
    nice_agent_restart(bob.agent);
    signal_to(&alice, &bob);
    signal_to(&bob, &alice);
    if (!run_until(&alice.ready, 5000) || !run_until(&bob.ready, 5000))
        return fprintf(stderr, "the restart did not complete\n"), 1;
    print_state(&alice);
    print_state(&bob);

    printf("-- alice hangs up: close(), then DTLS close_notify, then her agent goes\n");
    ok(pcstate_peer_close(alice.pc), "close");
    SSL_shutdown(alice.ssl);
    dtls_flush(&alice);
    dtls_set(&alice, PCSTATE_DTLS_TRANSPORT_STATE_CLOSED); /* after close: OK, changes nothing */
    peer_destroy(&alice);
    if (!run_until(&bob.dtls_closed, 2000))
        return fprintf(stderr, "bob did not get close_notify\n"), 1;
    /* The W3C rules count a closed DTLS transport as fine: bob still reads "connected" until
     * signalling tells him the call is over and he calls close() too. */
    print_state(&bob);
    ok(pcstate_peer_close(bob.pc), "close");
    peer_destroy(&bob);
    printf("done\n");
    return 0;
}
