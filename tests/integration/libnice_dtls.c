/* Integration test: two libnice agents with OpenSSL DTLS 1.2 on 127.0.0.1 drive pcstate through the
 * libnice adapter, end-of-candidates, liveness, an ICE restart and the DTLS setters; each scenario
 * asserts the events.
 *
 * Each side is one RTCPeerConnection with one transport: a pcstate peer, a NiceAgent (RFC 5245,
 * non-reliable, UDP on 127.0.0.1 only) and an OpenSSL DTLS 1.2 session over memory BIOs pumped
 * through nice_agent_send and the agent's receive callback. Side A is ICE-controlling and the DTLS
 * client, side B ICE-controlled and the DTLS server. Certificates are self-signed and made at run
 * time; each side checks the peer's SHA-256 fingerprint against the one "signalled" to it, as WebRTC
 * does with the SDP a=fingerprint line. Everything runs on the GLib default main context. */
#define _GNU_SOURCE
#include "pcstate.h"

#include <glib.h>
#include <nice/agent.h>
#include <nice/nice-version.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define MS 1000000ull
#define SEC 1000000000ull
#define LIVENESS_DISCONNECTED (1 * SEC)
#define LIVENESS_FAILED (3 * SEC)
#define APP_DATA_INTERVAL_MS 30 /* each side sends one DTLS application record this often */
#define MAX_EVENTS 64
#define MAX_NICE_STATES 32
#define FP_LEN 128

/* ---- checks -------------------------------------------------------------------------------- */

static int passed, failed;

/* One line per check; failures are counted and make the program exit non-zero. */
static void check(int ok, const char *fmt, ...) {
    va_list ap;
    printf("%s ", ok ? "ok  " : "FAIL");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
    if (ok)
        passed++;
    else
        failed++;
}

static double secs(uint64_t ns) { return (double)ns / 1e9; }

/* ---- one side: pcstate peer + libnice agent + DTLS session ------------------------------------ */

typedef struct {
    pcstate_event ev[MAX_EVENTS];
    int n;
    int overflow;
} recorder;

typedef struct side {
    const char *name;
    int controlling; /* ICE controlling and DTLS client */
    uint32_t flags;  /* pcstate_peer_new flags */

    pcstate_peer pc;
    pcstate_transport t;
    recorder rec;
    int pc_closed;          /* pcstate_peer_close was called */
    int bad_results;        /* pcstate calls that returned something unexpected */
    int calls;              /* pcstate mutating calls made by the harness */
    int calls_after_close;
    guint tick_src;
    uint64_t tick_deadline;

    NiceAgent *agent;
    guint stream;
    int stream_removed;
    int gathered;
    uint32_t nice_states[MAX_NICE_STATES];
    uint64_t nice_times[MAX_NICE_STATES];
    int n_nice;
    uint32_t nice_state;

    SSL_CTX *ctx;
    SSL *ssl;
    EVP_PKEY *key;
    X509 *cert;
    char fingerprint[FP_LEN];        /* ours, as the SDP would carry it */
    char remote_fingerprint[FP_LEN]; /* what signalling told us the remote's is */
    uint32_t dtls;                   /* the DTLS state we reported last */
    int handshake_done;
    int fingerprint_mismatch; /* our verify rejected the remote's certificate */
    int alert_read, alert_read_level; /* last alert received (level 2 = fatal), -1 none */
    int close_notify_received;
    GQueue pending; /* datagrams nice_agent_send refused (component not ready yet) */
    int sends_deferred;

    guint app_src, dtls_timer_src;
    int sending;
    uint64_t drop_until;       /* the harness drops what it receives until then */
    uint64_t last_alive;       /* last note_alive time */
    int rx_packets, rx_dropped, rx_app;
} side;

static int ssl_side_idx;

static void on_pcstate_event(void *user_data, const pcstate_event *e) {
    recorder *r = user_data;
    if (r->n < MAX_EVENTS)
        r->ev[r->n++] = *e;
    else
        r->overflow++;
}

/* Checks one pcstate result against `want`. */
static void expect(side *s, uint32_t r, uint32_t want, const char *what) {
    s->calls++;
    if (s->pc_closed)
        s->calls_after_close++;
    if (r != want) {
        s->bad_results++;
        printf("     %s: %s returned %u (%s), expected %u\n", s->name, what, r, pcstate_result_message(r),
               want);
    }
}

/* A mutating call: OK, or CLOSED on a closed peer that lacks IGNORE_AFTER_CLOSE. */
static void report(side *s, uint32_t r, const char *what) {
    expect(s, r,
           s->pc_closed && !(s->flags & PCSTATE_FLAG_IGNORE_AFTER_CLOSE) ? PCSTATE_RESULT_CLOSED
                                                                        : PCSTATE_RESULT_OK,
           what);
}

static gboolean on_tick_timer(gpointer data);

/* Ticks the peer now and arms one GLib timer at the deadline it returns. */
static void arm_tick(side *s) {
    uint64_t next = 0, now = pcstate_now_ns();
    uint32_t r;
    if (!s->pc)
        return;
    r = pcstate_peer_tick(s->pc, now, &next);
    expect(s, r, PCSTATE_RESULT_OK, "pcstate_peer_tick"); /* also after close */
    if (s->tick_src) {
        g_source_remove(s->tick_src);
        s->tick_src = 0;
    }
    if (r != PCSTATE_RESULT_OK)
        return;
    s->tick_deadline = next;
    if (next != UINT64_MAX) {
        uint64_t wait_ns = next > now ? next - now : 0;
        s->tick_src = g_timeout_add((guint)((wait_ns + MS - 1) / MS), on_tick_timer, s);
    }
}

static gboolean on_tick_timer(gpointer data) {
    side *s = data;
    s->tick_src = 0;
    arm_tick(s);
    return G_SOURCE_REMOVE;
}

static void set_dtls(side *s, uint32_t state) {
    s->dtls = state;
    report(s, pcstate_transport_set_dtls_state(s->pc, s->t, state), "pcstate_transport_set_dtls_state");
}

static uint32_t connection_state(side *s) {
    uint32_t v = 99;
    pcstate_peer_connection_state(s->pc, &v);
    return v;
}

static uint32_t ice_connection_state(side *s) {
    uint32_t v = 99;
    pcstate_peer_ice_connection_state(s->pc, &v);
    return v;
}

/* ---- certificates and fingerprints ---------------------------------------------------------- */

/* "sha-256 AB:CD:..." as in an SDP a=fingerprint line. */
static void fingerprint_of(X509 *cert, char out[FP_LEN]) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0, i;
    size_t o = (size_t)snprintf(out, FP_LEN, "sha-256 ");
    X509_digest(cert, EVP_sha256(), md, &len);
    for (i = 0; i < len && o + 3 < FP_LEN; i++)
        o += (size_t)snprintf(out + o, FP_LEN - o, i ? ":%02X" : "%02X", md[i]);
}

/* A self-signed ECDSA P-256 certificate, as browsers make for WebRTC. */
static void make_certificate(EVP_PKEY **out_key, X509 **out_cert) {
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    X509_NAME *name;
    uint32_t serial;
    if (!key || !x) {
        fprintf(stderr, "cannot make a key/certificate\n");
        exit(1);
    }
    RAND_bytes((unsigned char *)&serial, sizeof serial);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), (long)(serial >> 1));
    X509_gmtime_adj(X509_getm_notBefore(x), -86400);
    X509_gmtime_adj(X509_getm_notAfter(x), 30L * 86400);
    X509_set_pubkey(x, key);
    name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"WebRTC", -1, -1, 0);
    X509_set_issuer_name(x, name);
    if (!X509_sign(x, key, EVP_sha256())) {
        fprintf(stderr, "cannot sign the certificate\n");
        exit(1);
    }
    *out_key = key;
    *out_cert = x;
}

/* WebRTC trusts no CA: the leaf certificate is accepted iff its fingerprint is the signalled one. */
static int verify_fingerprint(int preverify_ok, X509_STORE_CTX *store) {
    SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
    side *s = SSL_get_ex_data(ssl, ssl_side_idx);
    char fp[FP_LEN];
    (void)preverify_ok; /* self-signed: OpenSSL's own verdict is irrelevant */
    if (X509_STORE_CTX_get_error_depth(store) != 0)
        return 1;
    fingerprint_of(X509_STORE_CTX_get_current_cert(store), fp);
    if (strcasecmp(fp, s->remote_fingerprint) != 0) {
        s->fingerprint_mismatch = 1;
        X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
        return 0; /* OpenSSL sends a fatal bad_certificate alert and fails the handshake */
    }
    return 1;
}

static void on_ssl_info(const SSL *ssl, int where, int ret) {
    side *s = SSL_get_ex_data(ssl, ssl_side_idx);
    if ((where & SSL_CB_ALERT) && (where & SSL_CB_READ)) {
        s->alert_read = ret & 0xff;
        s->alert_read_level = ret >> 8;
    }
}

/* ---- DTLS over the ICE component --------------------------------------------------------------- */

static void send_datagram(side *s, const char *buf, int len) {
    if (g_queue_is_empty(&s->pending) && s->agent &&
        nice_agent_send(s->agent, s->stream, 1, (guint)len, buf) == len)
        return;
    /* Not sendable yet (the component is not READY): keep it for on_component_state. */
    g_queue_push_tail(&s->pending, g_bytes_new(buf, (gsize)len));
    s->sends_deferred++;
}

static void send_pending(side *s) {
    GBytes *b;
    while (s->agent && (b = g_queue_peek_head(&s->pending)) != NULL) {
        gsize len;
        const char *data = g_bytes_get_data(b, &len);
        if (nice_agent_send(s->agent, s->stream, 1, (guint)len, data) != (gint)len)
            return;
        g_bytes_unref(g_queue_pop_head(&s->pending));
    }
}

/* Sends whatever OpenSSL wrote to its memory BIO as one datagram. */
static void flush_dtls(side *s) {
    static char buf[65536];
    int n;
    while (s->ssl && (n = BIO_read(SSL_get_wbio(s->ssl), buf, sizeof buf)) > 0)
        send_datagram(s, buf, n);
}

/* Advances the handshake or reads application data, and reports every DTLS state change. */
static void dtls_progress(side *s) {
    char buf[2048];
    if (!s->ssl || s->dtls == PCSTATE_DTLS_TRANSPORT_STATE_FAILED ||
        s->dtls == PCSTATE_DTLS_TRANSPORT_STATE_CLOSED)
        return;
    if (!s->handshake_done) {
        int r;
        ERR_clear_error();
        r = SSL_do_handshake(s->ssl);
        flush_dtls(s);
        if (r == 1) {
            /* Done: the verify callback already compared the fingerprint; check it once more. */
            X509 *peer_cert = SSL_get1_peer_certificate(s->ssl);
            char fp[FP_LEN] = "";
            if (peer_cert)
                fingerprint_of(peer_cert, fp);
            X509_free(peer_cert);
            s->handshake_done = 1;
            if (strcasecmp(fp, s->remote_fingerprint) == 0) {
                set_dtls(s, PCSTATE_DTLS_TRANSPORT_STATE_CONNECTED);
            } else {
                s->fingerprint_mismatch = 1;
                set_dtls(s, PCSTATE_DTLS_TRANSPORT_STATE_FAILED);
                return;
            }
        } else {
            int e = SSL_get_error(s->ssl, r);
            if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
                set_dtls(s, PCSTATE_DTLS_TRANSPORT_STATE_FAILED); /* alert or fingerprint mismatch */
            return;
        }
    }
    for (;;) {
        int n = SSL_read(s->ssl, buf, sizeof buf), e;
        if (n > 0) {
            s->rx_app++;
            continue;
        }
        e = SSL_get_error(s->ssl, n);
        if (e == SSL_ERROR_ZERO_RETURN) {
            s->close_notify_received = 1;
            set_dtls(s, PCSTATE_DTLS_TRANSPORT_STATE_CLOSED);
        } else if (e != SSL_ERROR_WANT_READ) {
            set_dtls(s, PCSTATE_DTLS_TRANSPORT_STATE_FAILED);
        }
        break;
    }
    flush_dtls(s);
}

/* The DTLS handshake starts: client when its component is READY, server then or at the first
 * datagram, whichever comes first. */
static void dtls_start(side *s) {
    BIO *rbio, *wbio;
    if (s->ssl)
        return;
    s->ssl = SSL_new(s->ctx);
    SSL_set_ex_data(s->ssl, ssl_side_idx, s);
    rbio = BIO_new(BIO_s_mem());
    wbio = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(rbio, -1);
    BIO_set_mem_eof_return(wbio, -1);
    SSL_set_bio(s->ssl, rbio, wbio);
    SSL_set_options(s->ssl, SSL_OP_NO_QUERY_MTU);
    SSL_set_mtu(s->ssl, 1200);
    SSL_set_info_callback(s->ssl, on_ssl_info);
    if (s->controlling)
        SSL_set_connect_state(s->ssl);
    else
        SSL_set_accept_state(s->ssl);
    set_dtls(s, PCSTATE_DTLS_TRANSPORT_STATE_CONNECTING);
    if (s->controlling)
        dtls_progress(s); /* ClientHello */
}

/* DTLS retransmissions while the handshake is in progress; -1 means OpenSSL gave up. */
static gboolean on_dtls_timer(gpointer data) {
    side *s = data;
    if (s->ssl && !s->handshake_done && s->dtls == PCSTATE_DTLS_TRANSPORT_STATE_CONNECTING) {
        int r = DTLSv1_handle_timeout(s->ssl);
        flush_dtls(s);
        if (r < 0)
            set_dtls(s, PCSTATE_DTLS_TRANSPORT_STATE_FAILED);
    }
    return G_SOURCE_CONTINUE;
}

/* Application data (think RTP/SCTP) every APP_DATA_INTERVAL_MS while DTLS is connected. */
static gboolean on_app_timer(gpointer data) {
    side *s = data;
    static const char ping[] = "application data";
    if (s->sending && s->ssl && s->dtls == PCSTATE_DTLS_TRANSPORT_STATE_CONNECTED) {
        SSL_write(s->ssl, ping, sizeof ping);
        flush_dtls(s);
    }
    return G_SOURCE_CONTINUE;
}

/* ---- libnice callbacks ------------------------------------------------------------------------ */

/* Every datagram on the component (libnice keeps STUN to itself): liveness, then DTLS. */
static void on_recv(NiceAgent *agent, guint stream_id, guint component_id, guint len, gchar *buf,
                    gpointer data) {
    side *s = data;
    uint64_t now = pcstate_now_ns();
    (void)agent, (void)stream_id, (void)component_id;
    s->rx_packets++;
    if (now < s->drop_until) {
        s->rx_dropped++;
        return;
    }
    s->last_alive = now;
    report(s, pcstate_transport_note_alive(s->pc, s->t, now), "pcstate_transport_note_alive");
    if (!s->ssl)
        dtls_start(s);
    if (s->ssl) {
        BIO_write(SSL_get_rbio(s->ssl), buf, (int)len);
        dtls_progress(s);
    }
}

static void on_component_state(NiceAgent *agent, guint stream_id, guint component_id, guint state,
                               gpointer data) {
    side *s = data;
    (void)agent, (void)stream_id, (void)component_id;
    if (s->n_nice < MAX_NICE_STATES) {
        s->nice_times[s->n_nice] = pcstate_now_ns();
        s->nice_states[s->n_nice++] = state;
    }
    s->nice_state = state;
    report(s, pcstate_transport_set_ice_agent_state(s->pc, s->t, PCSTATE_ICE_AGENT_LIBNICE, state),
           "pcstate_transport_set_ice_agent_state");
    arm_tick(s); /* the alive clock starts once the transport is connected */
    if (state == NICE_COMPONENT_STATE_READY) {
        send_pending(s);
        dtls_start(s);
    }
}

static void on_gathering_done(NiceAgent *agent, guint stream_id, gpointer data) {
    side *s = data;
    (void)agent, (void)stream_id;
    s->gathered = 1;
    report(s, pcstate_transport_set_gatherer_state(s->pc, s->t, PCSTATE_ICE_GATHERER_STATE_COMPLETE),
           "pcstate_transport_set_gatherer_state");
    arm_tick(s);
}

/* A stack that reports its components gone when their stream is removed (teardown). */
static void on_streams_removed(NiceAgent *agent, guint *stream_ids, gpointer data) {
    side *s = data;
    (void)agent, (void)stream_ids;
    s->stream_removed = 1;
    report(s, pcstate_transport_set_ice_agent_state(s->pc, s->t, PCSTATE_ICE_AGENT_LIBNICE,
                                                    NICE_COMPONENT_STATE_DISCONNECTED),
           "pcstate_transport_set_ice_agent_state (streams-removed)");
    report(s, pcstate_transport_set_gatherer_state(s->pc, s->t, PCSTATE_ICE_GATHERER_STATE_NEW),
           "pcstate_transport_set_gatherer_state (streams-removed)");
}

/* ---- setting up and tearing down a side ----------------------------------------------------- */

static side *side_new(const char *name, int controlling, uint32_t flags) {
    side *s = g_new0(side, 1);
    NiceAddress addr;
    GObjectClass *klass;
    uint32_t r;
    s->name = name;
    s->controlling = controlling;
    s->flags = flags;
    s->alert_read = -1;
    s->sending = 1;
    g_queue_init(&s->pending);

    r = pcstate_peer_new(PCSTATE_PROFILE_W3C, flags, &s->pc);
    if (r == PCSTATE_RESULT_OK)
        r = pcstate_peer_set_callback(s->pc, on_pcstate_event, &s->rec, NULL);
    if (r == PCSTATE_RESULT_OK)
        r = pcstate_transport_add(s->pc, &s->t);
    if (r == PCSTATE_RESULT_OK)
        r = pcstate_peer_set_liveness(s->pc, LIVENESS_DISCONNECTED, LIVENESS_FAILED);
    if (r != PCSTATE_RESULT_OK) {
        fprintf(stderr, "%s: pcstate setup failed: %s\n", name, pcstate_result_message(r));
        exit(1);
    }

    make_certificate(&s->key, &s->cert);
    fingerprint_of(s->cert, s->fingerprint);
    s->ctx = SSL_CTX_new(DTLS_method());
    SSL_CTX_set_min_proto_version(s->ctx, DTLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(s->ctx, DTLS1_2_VERSION);
    SSL_CTX_use_certificate(s->ctx, s->cert);
    SSL_CTX_use_PrivateKey(s->ctx, s->key);
    SSL_CTX_set_verify(s->ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_fingerprint);

    s->agent = nice_agent_new_full(NULL, NICE_COMPATIBILITY_RFC5245,
                                   NICE_AGENT_OPTION_REGULAR_NOMINATION);
    klass = G_OBJECT_GET_CLASS(s->agent);
    g_object_set(s->agent, "controlling-mode", controlling, "ice-tcp", FALSE, NULL);
    if (g_object_class_find_property(klass, "upnp"))
        g_object_set(s->agent, "upnp", FALSE, NULL);
    nice_address_init(&addr);
    nice_address_set_from_string(&addr, "127.0.0.1");
    nice_agent_add_local_address(s->agent, &addr);
    s->stream = nice_agent_add_stream(s->agent, 1);
    nice_agent_attach_recv(s->agent, s->stream, 1, g_main_context_default(), on_recv, s);
    g_signal_connect(s->agent, "component-state-changed", G_CALLBACK(on_component_state), s);
    g_signal_connect(s->agent, "candidate-gathering-done", G_CALLBACK(on_gathering_done), s);
    g_signal_connect(s->agent, "streams-removed", G_CALLBACK(on_streams_removed), s);

    s->app_src = g_timeout_add(APP_DATA_INTERVAL_MS, on_app_timer, s);
    s->dtls_timer_src = g_timeout_add(50, on_dtls_timer, s);
    return s;
}

/* Stops the agent and the DTLS session; the pcstate peer stays (freed by side_free). */
static void side_stop_network(side *s) {
    GBytes *b;
    if (s->app_src)
        g_source_remove(s->app_src);
    if (s->dtls_timer_src)
        g_source_remove(s->dtls_timer_src);
    s->app_src = s->dtls_timer_src = 0;
    if (s->agent) {
        if (!s->stream_removed)
            nice_agent_attach_recv(s->agent, s->stream, 1, g_main_context_default(), NULL, NULL);
        g_signal_handlers_disconnect_by_data(s->agent, s);
        g_object_unref(s->agent);
        s->agent = NULL;
    }
    if (s->ssl)
        SSL_free(s->ssl);
    s->ssl = NULL;
    while ((b = g_queue_pop_head(&s->pending)) != NULL)
        g_bytes_unref(b);
}

static void side_free(side *s) {
    if (!s)
        return;
    side_stop_network(s);
    if (s->tick_src)
        g_source_remove(s->tick_src);
    if (s->pc)
        pcstate_peer_free(s->pc);
    SSL_CTX_free(s->ctx);
    X509_free(s->cert);
    EVP_PKEY_free(s->key);
    g_free(s);
}

/* ---- waiting on the main loop, bounded ------------------------------------------------------- */

static uint64_t scenario_deadline;
static int scenario_timed_out;

static gboolean on_wake(gpointer data) {
    *(int *)data = 1;
    return G_SOURCE_REMOVE;
}

/* Runs the main loop until pred(arg) holds, at most ms and never past the scenario's deadline. */
static int wait_until(int (*pred)(void *), void *arg, unsigned ms) {
    uint64_t now = pcstate_now_ns(), until = now + ms * MS;
    int fired = 0;
    guint src;
    if (until > scenario_deadline)
        until = scenario_deadline;
    if (until <= now)
        return pred ? pred(arg) : 0;
    src = g_timeout_add((guint)((until - now + MS - 1) / MS), on_wake, &fired);
    while (!(pred && pred(arg)) && !fired)
        g_main_context_iteration(NULL, TRUE);
    if (!fired)
        g_source_remove(src);
    if (pcstate_now_ns() >= scenario_deadline && !(pred && pred(arg)))
        scenario_timed_out = 1;
    return pred ? pred(arg) : 1;
}

static void run_for(unsigned ms) { wait_until(NULL, NULL, ms); }

typedef struct {
    side *a, *b;
} call;

static int both_gathered(void *p) {
    call *c = p;
    return c->a->gathered && c->b->gathered;
}

static int both_dtls_settled(void *p) {
    call *c = p;
    return c->a->dtls > PCSTATE_DTLS_TRANSPORT_STATE_CONNECTING &&
           c->b->dtls > PCSTATE_DTLS_TRANSPORT_STATE_CONNECTING &&
           c->a->nice_state == NICE_COMPONENT_STATE_READY &&
           c->b->nice_state == NICE_COMPONENT_STATE_READY;
}

static void give_end_of_candidates(side *s) {
    report(s, pcstate_transport_set_remote_end_of_candidates(s->pc, s->t),
           "pcstate_transport_set_remote_end_of_candidates");
    arm_tick(s);
}

/* Signalling, non-trickle: once both gathered, each side gets the other's credentials, all its
 * candidates and its fingerprint (unless wrong_fp_for_a overrides what A is told). */
static void exchange(call *c, const char *wrong_fp_for_a) {
    side *pair[2] = {c->a, c->b};
    int i;
    for (i = 0; i < 2; i++) {
        side *x = pair[i], *y = pair[1 - i];
        gchar *ufrag = NULL, *pwd = NULL;
        GSList *cands;
        nice_agent_get_local_credentials(y->agent, y->stream, &ufrag, &pwd);
        nice_agent_set_remote_credentials(x->agent, x->stream, ufrag, pwd);
        g_free(ufrag);
        g_free(pwd);
        cands = nice_agent_get_local_candidates(y->agent, y->stream, 1);
        nice_agent_set_remote_candidates(x->agent, x->stream, 1, cands);
        g_slist_free_full(cands, (GDestroyNotify)nice_candidate_free);
        g_strlcpy(x->remote_fingerprint, y->fingerprint, FP_LEN);
    }
    if (wrong_fp_for_a)
        g_strlcpy(c->a->remote_fingerprint, wrong_fp_for_a, FP_LEN);
}

/* Creates both sides, gathers, exchanges and waits for ICE READY and a DTLS outcome on both. */
static int start_call(call *c, uint32_t flags_a, uint32_t flags_b, const char *wrong_fp_for_a,
                      int eoc_right_away) {
    c->a = side_new("A", 1, flags_a);
    c->b = side_new("B", 0, flags_b);
    report(c->a, pcstate_transport_set_gatherer_state(c->a->pc, c->a->t, PCSTATE_ICE_GATHERER_STATE_GATHERING),
           "pcstate_transport_set_gatherer_state");
    report(c->b, pcstate_transport_set_gatherer_state(c->b->pc, c->b->t, PCSTATE_ICE_GATHERER_STATE_GATHERING),
           "pcstate_transport_set_gatherer_state");
    nice_agent_gather_candidates(c->a->agent, c->a->stream);
    nice_agent_gather_candidates(c->b->agent, c->b->stream);
    if (!wait_until(both_gathered, c, 3000)) {
        check(0, "both agents gathered their candidates");
        return 0;
    }
    exchange(c, wrong_fp_for_a);
    if (eoc_right_away) {
        give_end_of_candidates(c->a);
        give_end_of_candidates(c->b);
    }
    if (!wait_until(both_dtls_settled, c, 5000)) {
        check(0, "ICE READY and DTLS settled on both sides (A: nice %u dtls %u, B: nice %u dtls %u)",
              c->a->nice_state, c->a->dtls, c->b->nice_state, c->b->dtls);
        return 0;
    }
    return 1;
}

static void end_call(call *c) {
    side_free(c->a);
    side_free(c->b);
    c->a = c->b = NULL;
}

/* ---- reading the recorded events -------------------------------------------------------------- */

static const char *state_name(uint32_t kind, uint32_t v) {
    const char *n = kind == PCSTATE_EVENT_KIND_ICE_CONNECTION_STATE ? pcstate_ice_connection_state_name(v)
                    : kind == PCSTATE_EVENT_KIND_CONNECTION_STATE   ? pcstate_connection_state_name(v)
                                                                    : pcstate_ice_gathering_state_name(v);
    return n ? n : "?";
}

/* The states one aggregate went through, from event `from` on: "new>checking>connected". */
static const char *path(const side *s, uint32_t kind, int from) {
    static char buf[8][256];
    static int slot;
    char *out = buf[slot++ % 8];
    size_t o = 0;
    int i, any = 0;
    uint32_t last = 0;
    out[0] = '\0';
    for (i = from; i < s->rec.n; i++) {
        const pcstate_event *e = &s->rec.ev[i];
        if (e->kind != kind)
            continue;
        if (!any || e->old_state != last)
            o += (size_t)snprintf(out + o, sizeof buf[0] - o, "%s%s", any ? "|" : "",
                                  state_name(kind, e->old_state));
        o += (size_t)snprintf(out + o, sizeof buf[0] - o, ">%s", state_name(kind, e->new_state));
        last = e->new_state;
        any = 1;
    }
    return any ? out : "(none)";
}

/* The time of the first event of `kind` to `state`, from event `from` on; 0 if none. */
static uint64_t event_time(const side *s, uint32_t kind, uint32_t state, int from) {
    int i;
    for (i = from; i < s->rec.n; i++)
        if (s->rec.ev[i].kind == kind && s->rec.ev[i].new_state == state)
            return s->rec.ev[i].time_ns;
    return 0;
}

static const char *nice_states(const side *s, int from) {
    static char buf[4][128];
    static int slot;
    char *out = buf[slot++ % 4];
    size_t o = 0;
    int i;
    out[0] = '\0';
    for (i = from; i < s->n_nice; i++)
        o += (size_t)snprintf(out + o, sizeof buf[0] - o, "%s%u", i > from ? " " : "", s->nice_states[i]);
    return i > from ? out : "(none)";
}

static uint32_t failure_cause(const side *s) {
    struct pcstate_peer_stats st;
    return pcstate_peer_stats(s->pc, &st) == PCSTATE_RESULT_OK ? st.failure_cause : 99;
}

static const char *cause_name(uint32_t c) {
    static const char *names[] = {"none", "ICE", "DTLS", "liveness"};
    return c < 4 ? names[c] : "?";
}

static void check_results(const side *s, const char *scenario) {
    check(s->bad_results == 0 && s->rec.overflow == 0,
          "%s %s: every pcstate call returned what it should (%d calls, %d after close)", scenario,
          s->name, s->calls, s->calls_after_close);
}

/* ---- scenarios -------------------------------------------------------------------------------- */

/* A normal call: connected; iceConnectionState "connected" until end-of-candidates, then
 * "completed"; liveness never fires while application data flows. */
static void scenario_normal(void) {
    call c = {0};
    side *sides[2];
    int i;
    if (!start_call(&c, 0, 0, NULL, 0))
        goto out;
    sides[0] = c.a, sides[1] = c.b;
    for (i = 0; i < 2; i++) {
        side *s = sides[i];
        int before;
        check(s->dtls == PCSTATE_DTLS_TRANSPORT_STATE_CONNECTED,
              "normal %s: DTLS 1.2 handshake done, peer fingerprint verified (%s)", s->name,
              SSL_get_version(s->ssl));
        check(!strcmp(nice_states(s, 0), "1 2 3 4"),
              "normal %s: libnice went through %s (CONNECTED to READY: %.1f ms)", s->name,
              nice_states(s, 0),
              s->n_nice >= 4 ? (double)(s->nice_times[3] - s->nice_times[2]) / 1e6 : -1.0);
        check(connection_state(s) == PCSTATE_CONNECTION_STATE_CONNECTED &&
                  !strcmp(path(s, PCSTATE_EVENT_KIND_CONNECTION_STATE, 0), "new>connecting>connected"),
              "normal %s: connectionState %s", s->name, path(s, PCSTATE_EVENT_KIND_CONNECTION_STATE, 0));
        check(ice_connection_state(s) == PCSTATE_ICE_CONNECTION_STATE_CONNECTED &&
                  !strcmp(path(s, PCSTATE_EVENT_KIND_ICE_CONNECTION_STATE, 0), "new>checking>connected"),
              "normal %s: before end-of-candidates (libnice READY, gathering complete) "
              "iceConnectionState is %s: %s",
              s->name, pcstate_ice_connection_state_name(ice_connection_state(s)),
              path(s, PCSTATE_EVENT_KIND_ICE_CONNECTION_STATE, 0));
        check(!strcmp(path(s, PCSTATE_EVENT_KIND_ICE_GATHERING_STATE, 0), "new>gathering>complete"),
              "normal %s: iceGatheringState %s", s->name, path(s, PCSTATE_EVENT_KIND_ICE_GATHERING_STATE, 0));
        before = s->rec.n;
        give_end_of_candidates(s);
        check(s->rec.n == before + 1 && ice_connection_state(s) == PCSTATE_ICE_CONNECTION_STATE_COMPLETED &&
                  !strcmp(path(s, PCSTATE_EVENT_KIND_ICE_CONNECTION_STATE, before), "connected>completed"),
              "normal %s: end-of-candidates -> iceConnectionState %s (events from that call: %d)",
              s->name, path(s, PCSTATE_EVENT_KIND_ICE_CONNECTION_STATE, before), s->rec.n - before);
    }
    {
        int na = c.a->rec.n, nb = c.b->rec.n, ra = c.a->rx_app, rb = c.b->rx_app;
        run_for(1500);
        check(c.a->rec.n == na && c.b->rec.n == nb && c.a->rx_app - ra > 20 && c.b->rx_app - rb > 20,
              "normal: 1.5 s of application data (A got %d, B got %d records), liveness on: no event",
              c.a->rx_app - ra, c.b->rx_app - rb);
    }
    for (i = 0; i < 2; i++) {
        pcstate_transport_states eff = {9, 9, 9}, rep = {8, 8, 8};
        pcstate_transport_get_states(sides[i]->pc, sides[i]->t, &eff);
        pcstate_transport_get_reported_states(sides[i]->pc, sides[i]->t, &rep);
        check(eff.ice_state == PCSTATE_ICE_TRANSPORT_STATE_COMPLETED && !memcmp(&eff, &rep, sizeof eff),
              "normal %s: transport reads ice %s dtls %s gatherer %s (reported = effective)",
              sides[i]->name, pcstate_ice_transport_state_name(eff.ice_state),
              pcstate_dtls_transport_state_name(eff.dtls_state),
              pcstate_ice_gatherer_state_name(eff.gatherer_state));
        check_results(sides[i], "normal");
    }
out:
    end_call(&c);
}

/* A is told a fingerprint that is not B's: A rejects B's certificate (fatal alert), B gets the
 * alert; both connectionStates fail while ICE stays up. */
static void scenario_fingerprint_mismatch(void) {
    call c = {0};
    EVP_PKEY *k;
    X509 *other;
    char wrong[FP_LEN];
    side *sides[2];
    int i;
    make_certificate(&k, &other);
    fingerprint_of(other, wrong);
    X509_free(other);
    EVP_PKEY_free(k);
    if (!start_call(&c, 0, 0, wrong, 1))
        goto out;
    sides[0] = c.a, sides[1] = c.b;
    check(c.a->fingerprint_mismatch && c.a->dtls == PCSTATE_DTLS_TRANSPORT_STATE_FAILED,
          "mismatch A: rejected B's certificate (fingerprint mismatch), DTLS failed");
    check(c.b->alert_read_level == 2 && c.b->dtls == PCSTATE_DTLS_TRANSPORT_STATE_FAILED,
          "mismatch B: received a fatal alert (%s), DTLS failed",
          c.b->alert_read >= 0 ? SSL_alert_desc_string_long(c.b->alert_read) : "none");
    for (i = 0; i < 2; i++) {
        side *s = sides[i];
        check(connection_state(s) == PCSTATE_CONNECTION_STATE_FAILED &&
                  !strcmp(path(s, PCSTATE_EVENT_KIND_CONNECTION_STATE, 0), "new>connecting>failed"),
              "mismatch %s: connectionState %s", s->name, path(s, PCSTATE_EVENT_KIND_CONNECTION_STATE, 0));
        check(ice_connection_state(s) == PCSTATE_ICE_CONNECTION_STATE_COMPLETED,
              "mismatch %s: iceConnectionState stays ICE's own: %s", s->name,
              path(s, PCSTATE_EVENT_KIND_ICE_CONNECTION_STATE, 0));
        check(s->rx_app == 0, "mismatch %s: no application data got through", s->name);
        check(failure_cause(s) == PCSTATE_FAILURE_CAUSE_DTLS, "mismatch %s: failure cause %s",
              s->name, cause_name(failure_cause(s)));
        check_results(s, "mismatch");
    }
out:
    end_call(&c);
}

typedef struct {
    side *s;
    uint32_t state;
} conn_wait;

static int reached_connection_state(void *p) {
    conn_wait *w = p;
    return connection_state(w->s) == w->state;
}

/* B vanishes (agent and DTLS gone, no more traffic): A, liveness 1 s / 3 s, reads disconnected
 * 1 s after the last packet, failed 3 s after it; libnice itself stays READY. */
static void scenario_remote_vanishes(void) {
    call c = {0};
    conn_wait w;
    uint64_t t0, last, t_disc, t_fail, next = 0;
    int n0, nice0;
    pcstate_transport_states eff = {9, 9, 9}, rep = {8, 8, 8};
    if (!start_call(&c, 0, 0, NULL, 1))
        goto out;
    run_for(300);
    check(connection_state(c.a) == PCSTATE_CONNECTION_STATE_CONNECTED &&
              ice_connection_state(c.a) == PCSTATE_ICE_CONNECTION_STATE_COMPLETED && c.a->rx_app > 3,
          "vanish A: connected, iceConnectionState completed, application data flowing (%d records)",
          c.a->rx_app);
    n0 = c.a->rec.n;
    nice0 = c.a->n_nice;
    side_stop_network(c.b); /* B's agent and DTLS session are gone; A keeps sending into the void */
    t0 = pcstate_now_ns();
    last = c.a->last_alive;
    w.s = c.a;
    w.state = PCSTATE_CONNECTION_STATE_FAILED;
    wait_until(reached_connection_state, &w, 6000);
    t_disc = event_time(c.a, PCSTATE_EVENT_KIND_CONNECTION_STATE, PCSTATE_CONNECTION_STATE_DISCONNECTED, n0);
    t_fail = event_time(c.a, PCSTATE_EVENT_KIND_CONNECTION_STATE, PCSTATE_CONNECTION_STATE_FAILED, n0);
    printf("     vanish A: last packet %.3f s before B vanished; disconnected at +%.3f s, failed at "
           "+%.3f s (after the last packet: %.3f s, %.3f s)\n",
           secs(t0 - last), t_disc ? secs(t_disc - t0) : -1.0, t_fail ? secs(t_fail - t0) : -1.0,
           t_disc ? secs(t_disc - last) : -1.0, t_fail ? secs(t_fail - last) : -1.0);
    check(!strcmp(path(c.a, PCSTATE_EVENT_KIND_CONNECTION_STATE, n0), "connected>disconnected>failed"),
          "vanish A: connectionState %s", path(c.a, PCSTATE_EVENT_KIND_CONNECTION_STATE, n0));
    check(!strcmp(path(c.a, PCSTATE_EVENT_KIND_ICE_CONNECTION_STATE, n0), "completed>disconnected>failed"),
          "vanish A: iceConnectionState %s", path(c.a, PCSTATE_EVENT_KIND_ICE_CONNECTION_STATE, n0));
    check(t_disc && t_disc - last >= LIVENESS_DISCONNECTED && t_disc - t0 <= 2 * SEC &&
              t_disc + 100 * MS >= t0 + SEC,
          "vanish A: disconnected %.3f s after B vanished (1-2 s; never before 1 s of silence)",
          t_disc ? secs(t_disc - t0) : -1.0);
    check(t_fail && t_fail - last >= LIVENESS_FAILED && t_fail - t0 <= 4500 * MS &&
              t_fail + 100 * MS >= t0 + 3 * SEC,
          "vanish A: failed %.3f s after B vanished (3-4.5 s; never before 3 s of silence)",
          t_fail ? secs(t_fail - t0) : -1.0);
    check(c.a->n_nice == nice0 && c.a->nice_state == NICE_COMPONENT_STATE_READY,
          "vanish A: libnice itself reported nothing (still READY): liveness is the only signal");
    pcstate_transport_get_states(c.a->pc, c.a->t, &eff);
    pcstate_transport_get_reported_states(c.a->pc, c.a->t, &rep);
    check(eff.ice_state == PCSTATE_ICE_TRANSPORT_STATE_FAILED &&
              rep.ice_state == PCSTATE_ICE_TRANSPORT_STATE_COMPLETED,
          "vanish A: transport ICE effective %s, reported %s", pcstate_ice_transport_state_name(eff.ice_state),
          pcstate_ice_transport_state_name(rep.ice_state));
    check(failure_cause(c.a) == PCSTATE_FAILURE_CAUSE_LIVENESS, "vanish A: failure cause %s",
          cause_name(failure_cause(c.a)));
    check(pcstate_peer_tick(c.a->pc, pcstate_now_ns(), &next) == PCSTATE_RESULT_OK && next == UINT64_MAX,
          "vanish A: after failed no deadline is pending (tick -> UINT64_MAX)");
    n0 = c.a->rec.n;
    report(c.a, pcstate_transport_note_alive(c.a->pc, c.a->t, pcstate_now_ns()), "pcstate_transport_note_alive");
    check(c.a->rec.n == n0 && connection_state(c.a) == PCSTATE_CONNECTION_STATE_FAILED,
          "vanish A: failed is sticky: a late packet (note_alive) changes nothing");
    check_results(c.a, "vanish");
out:
    end_call(&c);
}

/* A drops everything it receives for 1.5 s while B keeps sending: disconnected after 1 s, then
 * connected again at the first packet accepted; ICE (libnice) never noticed. */
static void scenario_drop_burst(void) {
    call c = {0};
    uint64_t t0, t_disc, t_back, drop_end;
    int n0, nb, nice0, got0;
    if (!start_call(&c, 0, 0, NULL, 1))
        goto out;
    run_for(300);
    n0 = c.a->rec.n;
    nb = c.b->rec.n;
    nice0 = c.a->n_nice;
    got0 = c.a->rx_app;
    t0 = pcstate_now_ns();
    drop_end = t0 + 1500 * MS;
    c.a->drop_until = drop_end;
    run_for(2100);
    t_disc = event_time(c.a, PCSTATE_EVENT_KIND_CONNECTION_STATE, PCSTATE_CONNECTION_STATE_DISCONNECTED, n0);
    t_back = event_time(c.a, PCSTATE_EVENT_KIND_CONNECTION_STATE, PCSTATE_CONNECTION_STATE_CONNECTED, n0);
    printf("     drop A: dropped %d packets over 1.5 s; disconnected at +%.3f s, connected again at "
           "+%.3f s\n",
           c.a->rx_dropped, t_disc ? secs(t_disc - t0) : -1.0, t_back ? secs(t_back - t0) : -1.0);
    check(c.a->rx_dropped >= 20, "drop A: the harness dropped %d packets (B sends every %d ms)",
          c.a->rx_dropped, APP_DATA_INTERVAL_MS);
    check(!strcmp(path(c.a, PCSTATE_EVENT_KIND_CONNECTION_STATE, n0), "connected>disconnected>connected"),
          "drop A: connectionState %s", path(c.a, PCSTATE_EVENT_KIND_CONNECTION_STATE, n0));
    check(!strcmp(path(c.a, PCSTATE_EVENT_KIND_ICE_CONNECTION_STATE, n0), "completed>disconnected>completed"),
          "drop A: iceConnectionState %s", path(c.a, PCSTATE_EVENT_KIND_ICE_CONNECTION_STATE, n0));
    check(t_disc && t_disc >= t0 + LIVENESS_DISCONNECTED - 100 * MS && t_disc <= t0 + 1300 * MS,
          "drop A: disconnected %.3f s into the drop (about 1 s)", t_disc ? secs(t_disc - t0) : -1.0);
    check(t_back && t_back >= drop_end && t_back <= drop_end + 300 * MS,
          "drop A: connected again %.3f s after the drop ended, at the first packet accepted",
          t_back ? secs(t_back - drop_end) : -1.0);
    check(c.a->rx_app > got0 && connection_state(c.a) == PCSTATE_CONNECTION_STATE_CONNECTED,
          "drop A: application data flows again (%d records since), connectionState connected",
          c.a->rx_app - got0);
    check(c.b->rec.n == nb && c.a->n_nice == nice0,
          "drop: B saw no event and libnice reported no state change on either side");
    check_results(c.a, "drop");
    check_results(c.b, "drop");
out:
    end_call(&c);
}

typedef struct {
    call *c;
    int from_a, from_b; /* libnice states reported before the restart */
} restart_wait;

static int ready_since(const side *s, int from) {
    int i;
    for (i = from; i < s->n_nice; i++)
        if (s->nice_states[i] == NICE_COMPONENT_STATE_READY)
            return 1;
    return 0;
}

static int both_ready_since(void *p) {
    restart_wait *w = p;
    return ready_since(w->c->a, w->from_a) && ready_since(w->c->b, w->from_b);
}

/* An ICE restart on a live call, done as docs/feeding.md says: A calls
 * pcstate_transport_restart_ice and then nice_agent_restart_stream; B only restarts its agent
 * (pcstate sees the restart in libnice's GATHERING); then the new credentials and candidates both
 * ways, then the remote's new end-of-candidates. connectionState stays connected throughout on
 * both sides, iceConnectionState goes completed > connected > completed, data keeps flowing. */
static void scenario_restart(void) {
    call c = {0};
    side *sides[2];
    restart_wait w;
    int n0[2], got0[2], i;
    if (!start_call(&c, 0, 0, NULL, 1))
        goto out;
    run_for(300);
    sides[0] = c.a, sides[1] = c.b;
    w.c = &c, w.from_a = c.a->n_nice, w.from_b = c.b->n_nice;
    for (i = 0; i < 2; i++) {
        n0[i] = sides[i]->rec.n;
        got0[i] = sides[i]->rx_app;
    }
    report(c.a, pcstate_transport_restart_ice(c.a->pc, c.a->t), "pcstate_transport_restart_ice");
    for (i = 0; i < 2; i++)
        check(nice_agent_restart_stream(sides[i]->agent, sides[i]->stream),
              "restart %s: nice_agent_restart_stream", sides[i]->name);
    exchange(&c, NULL); /* the new credentials, the candidates (libnice kept its own) */
    for (i = 0; i < 2; i++)
        report(sides[i], pcstate_transport_note_remote_candidate(sides[i]->pc, sides[i]->t),
               "pcstate_transport_note_remote_candidate");
    if (!wait_until(both_ready_since, &w, 5000)) {
        check(0, "restart: libnice READY again on both sides (A: %s, B: %s)", nice_states(c.a, w.from_a),
              nice_states(c.b, w.from_b));
        goto out;
    }
    run_for(300);
    for (i = 0; i < 2; i++) {
        side *s = sides[i];
        const char *nice = nice_states(s, i == 0 ? w.from_a : w.from_b);
        check(nice[0] == '1' && connection_state(s) == PCSTATE_CONNECTION_STATE_CONNECTED,
              "restart %s: libnice went through %s; connectionState connected", s->name, nice);
        give_end_of_candidates(s);
        check(!strcmp(path(s, PCSTATE_EVENT_KIND_CONNECTION_STATE, n0[i]), "(none)"),
              "restart %s: connectionState stayed connected throughout (events: %s)", s->name,
              path(s, PCSTATE_EVENT_KIND_CONNECTION_STATE, n0[i]));
        check(!strcmp(path(s, PCSTATE_EVENT_KIND_ICE_CONNECTION_STATE, n0[i]), "completed>connected>completed"),
              "restart %s: iceConnectionState %s", s->name, path(s, PCSTATE_EVENT_KIND_ICE_CONNECTION_STATE, n0[i]));
        check(!strcmp(path(s, PCSTATE_EVENT_KIND_ICE_GATHERING_STATE, n0[i]), "(none)"),
              "restart %s: iceGatheringState stayed complete (libnice does not gather again)", s->name);
        check(s->rx_app - got0[i] > 10 && s->dtls == PCSTATE_DTLS_TRANSPORT_STATE_CONNECTED,
              "restart %s: application data kept flowing over DTLS (%d records since the restart)", s->name,
              s->rx_app - got0[i]);
        check_results(s, "restart");
    }
out:
    end_call(&c);
}

static int b_got_close_notify(void *p) { return ((side *)p)->close_notify_received; }

static int same_snapshot(const pcstate_snapshot *x, const pcstate_snapshot *y) {
    return x->last_seq == y->last_seq && x->connection_state == y->connection_state &&
           x->ice_connection_state == y->ice_connection_state &&
           x->ice_gathering_state == y->ice_gathering_state && x->transport_count == y->transport_count;
}

/* A closes its peer (IGNORE_AFTER_CLOSE | CLOSE_EVENTS) and then tears down while its agent and
 * DTLS keep reporting: every set returns OK and changes nothing. B (no flag) gets close_notify,
 * closes too, and its own teardown reports get PCSTATE_RESULT_CLOSED. */
static void scenario_close_ignore(void) {
    call c = {0};
    pcstate_snapshot snap0, snap1;
    pcstate_transport_states st0 = {9, 9, 9}, st1 = {8, 8, 8}, want = {2, 2, 2};
    pcstate_transport extra = 77;
    uint32_t v;
    int n0, calls0;
    side *a;
    if (!start_call(&c, PCSTATE_FLAG_IGNORE_AFTER_CLOSE | PCSTATE_FLAG_CLOSE_EVENTS, 0, NULL, 1))
        goto out;
    a = c.a;
    run_for(200);
    n0 = a->rec.n;
    check(pcstate_peer_close(a->pc) == PCSTATE_RESULT_OK, "close A: pcstate_peer_close OK");
    a->pc_closed = 1;
    check(!strcmp(path(a, PCSTATE_EVENT_KIND_ICE_CONNECTION_STATE, n0), "completed>closed") &&
              !strcmp(path(a, PCSTATE_EVENT_KIND_CONNECTION_STATE, n0), "connected>closed") &&
              a->rec.n == n0 + 2,
          "close A: close events iceConnectionState %s, connectionState %s",
          path(a, PCSTATE_EVENT_KIND_ICE_CONNECTION_STATE, n0), path(a, PCSTATE_EVENT_KIND_CONNECTION_STATE, n0));
    pcstate_peer_snapshot(a->pc, &snap0);
    pcstate_transport_get_states(a->pc, a->t, &st0);
    n0 = a->rec.n;
    calls0 = a->calls;

    /* Teardown, as a stack does it: DTLS close_notify (DTLS closed), keep receiving B's data for a
     * while (note_alive, ticks), then remove the stream (streams-removed reports the component). */
    SSL_shutdown(a->ssl);
    flush_dtls(a);
    a->sending = 0;
    set_dtls(a, PCSTATE_DTLS_TRANSPORT_STATE_CLOSED);
    if (!wait_until(b_got_close_notify, c.b, 2000))
        check(0, "close B: close_notify received");
    run_for(150);
    arm_tick(a);
    nice_agent_remove_stream(a->agent, a->stream);
    run_for(100);
    /* Everything else a late report could do. */
    for (v = 0; v <= NICE_COMPONENT_STATE_FAILED; v++)
        report(a, pcstate_transport_set_ice_agent_state(a->pc, a->t, PCSTATE_ICE_AGENT_LIBNICE, v),
               "pcstate_transport_set_ice_agent_state");
    for (v = 0; v <= PCSTATE_DTLS_TRANSPORT_STATE_FAILED; v++)
        report(a, pcstate_transport_set_dtls_state(a->pc, a->t, v), "pcstate_transport_set_dtls_state");
    for (v = 0; v <= PCSTATE_ICE_TRANSPORT_STATE_CLOSED; v++)
        report(a, pcstate_transport_set_ice_state(a->pc, a->t, v), "pcstate_transport_set_ice_state");
    report(a, pcstate_transport_set_gatherer_state(a->pc, a->t, PCSTATE_ICE_GATHERER_STATE_GATHERING),
           "pcstate_transport_set_gatherer_state");
    report(a, pcstate_transport_set_remote_end_of_candidates(a->pc, a->t),
           "pcstate_transport_set_remote_end_of_candidates");
    report(a, pcstate_transport_note_alive(a->pc, a->t, pcstate_now_ns()), "pcstate_transport_note_alive");
    report(a, pcstate_transport_set_states(a->pc, a->t, &want), "pcstate_transport_set_states");
    report(a, pcstate_transport_add(a->pc, &extra), "pcstate_transport_add");
    report(a, pcstate_transport_add_with_states(a->pc, &want, &extra), "pcstate_transport_add_with_states");
    report(a, pcstate_transport_remove(a->pc, a->t), "pcstate_transport_remove");
    arm_tick(a);
    pcstate_peer_snapshot(a->pc, &snap1);
    pcstate_transport_get_states(a->pc, a->t, &st1);
    check(a->calls - calls0 >= 20 && a->bad_results == 0,
          "close A: %d pcstate calls during teardown (agent, DTLS, liveness, add/remove/set) all "
          "returned OK (add wrote transport id %u)", a->calls - calls0, extra);
    check(same_snapshot(&snap0, &snap1) && a->rec.n == n0,
          "close A: nothing changed: connectionState %s, iceConnectionState %s, iceGatheringState %s, "
          "%u transport(s), last seq %llu, no event",
          pcstate_connection_state_name(snap1.connection_state),
          pcstate_ice_connection_state_name(snap1.ice_connection_state),
          pcstate_ice_gathering_state_name(snap1.ice_gathering_state), snap1.transport_count,
          (unsigned long long)snap1.last_seq);
    check(!memcmp(&st0, &st1, sizeof st0) && st1.ice_state == PCSTATE_ICE_TRANSPORT_STATE_CLOSED &&
              st1.dtls_state == PCSTATE_DTLS_TRANSPORT_STATE_CLOSED,
          "close A: transport %u still reads ice %s dtls %s gatherer %s", a->t,
          pcstate_ice_transport_state_name(st1.ice_state), pcstate_dtls_transport_state_name(st1.dtls_state),
          pcstate_ice_gatherer_state_name(st1.gatherer_state));
    check(pcstate_transport_set_ice_agent_state(a->pc, a->t, 99, 1) == PCSTATE_RESULT_INVALID_ARGUMENT &&
              pcstate_transport_set_ice_agent_state(a->pc, a->t, PCSTATE_ICE_AGENT_LIBNICE, 6) ==
                  PCSTATE_RESULT_INVALID_STATE &&
              pcstate_transport_set_dtls_state(a->pc, a->t, 5) == PCSTATE_RESULT_INVALID_STATE,
          "close A: bad inputs after close still get their errors (unknown agent, agent state 6, "
          "DTLS state 5)");

    /* B: the remote's close_notify is DTLS closed; then B closes its peer (no flag) and tears down. */
    {
        side *b = c.b;
        pcstate_transport_states bs = {9, 9, 9};
        int nb;
        pcstate_transport_get_states(b->pc, b->t, &bs);
        check(bs.dtls_state == PCSTATE_DTLS_TRANSPORT_STATE_CLOSED,
              "close B: close_notify -> DTLS closed; connectionState then %s (%s)",
              pcstate_connection_state_name(connection_state(b)),
              path(b, PCSTATE_EVENT_KIND_CONNECTION_STATE, 0));
        check(pcstate_peer_close(b->pc) == PCSTATE_RESULT_OK, "close B: pcstate_peer_close OK");
        b->pc_closed = 1;
        nb = b->rec.n;
        set_dtls(b, PCSTATE_DTLS_TRANSPORT_STATE_CLOSED);
        report(b, pcstate_transport_set_ice_agent_state(b->pc, b->t, PCSTATE_ICE_AGENT_LIBNICE,
                                                        NICE_COMPONENT_STATE_FAILED),
               "pcstate_transport_set_ice_agent_state");
        nice_agent_remove_stream(b->agent, b->stream);
        run_for(100);
        check(b->rec.n == nb && b->calls_after_close >= 4,
              "close B (no IGNORE_AFTER_CLOSE): %d teardown sets returned PCSTATE_RESULT_CLOSED, no event",
              b->calls_after_close);
        check_results(b, "close");
    }
    check_results(a, "close");
out:
    end_call(&c);
}

/* ---- main ------------------------------------------------------------------------------------- */

static void on_alarm(int sig) {
    static const char msg[] = "FAIL integration: the whole run exceeded 60 s\n";
    (void)sig;
    if (write(2, msg, sizeof msg - 1) < 0) {
    }
    _exit(3);
}

typedef struct {
    const char *name;
    void (*run)(void);
    unsigned limit_ms;
} scenario;

int main(void) {
    static const scenario scenarios[] = {
        {"normal call", scenario_normal, 8000},
        {"fingerprint mismatch", scenario_fingerprint_mismatch, 8000},
        {"remote vanishes (liveness 1 s / 3 s)", scenario_remote_vanishes, 12000},
        {"dropped packets then recovery", scenario_drop_burst, 10000},
        {"ICE restart on a live call", scenario_restart, 10000},
        {"close with IGNORE_AFTER_CLOSE during teardown", scenario_close_ignore, 8000},
    };
    uint64_t start = pcstate_now_ns();
    size_t i;
    signal(SIGALRM, on_alarm);
    alarm(60);
    ssl_side_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
    printf("pcstate %s, libnice %d.%d.%d, %s\n", pcstate_version(), NICE_VERSION_MAJOR,
           NICE_VERSION_MINOR, NICE_VERSION_MICRO, OpenSSL_version(OPENSSL_VERSION));
    for (i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++) {
        uint64_t t = pcstate_now_ns();
        printf("# %s\n", scenarios[i].name);
        scenario_deadline = t + scenarios[i].limit_ms * MS;
        scenario_timed_out = 0;
        scenarios[i].run();
        check(!scenario_timed_out, "%s: finished within its %.0f s limit (%.2f s)", scenarios[i].name,
              scenarios[i].limit_ms / 1000.0, secs(pcstate_now_ns() - t));
    }
    printf("integration: %.2f s\n", secs(pcstate_now_ns() - start));
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
