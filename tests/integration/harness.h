/* The integration harness shared by the scenario files: one side of a call, the call, waiting and
 * reading the recorded events.
 *
 * Each side is one RTCPeerConnection with one transport: a pcstate peer, a NiceAgent (RFC 5245,
 * non-reliable, UDP on 127.0.0.1 only) and an OpenSSL DTLS 1.2 session over memory BIOs pumped
 * through nice_agent_send and the agent's receive callback. Side A is ICE-controlling and the DTLS
 * client, side B ICE-controlled and the DTLS server. Certificates are self-signed and made at run
 * time; each side checks the peer's SHA-256 fingerprint against the one "signalled" to it, as WebRTC
 * does with the SDP a=fingerprint line. Everything runs on the GLib default main context. */
#ifndef PCSTATE_INTEGRATION_HARNESS_H
#define PCSTATE_INTEGRATION_HARNESS_H

#include "pcstate.h"

#include <glib.h>
#include <nice/agent.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <stdint.h>

#define MS 1000000ull
#define SEC 1000000000ull
#define LIVENESS_DISCONNECTED (1 * SEC)
#define LIVENESS_FAILED (3 * SEC)
#define APP_DATA_INTERVAL_MS 30 /* each side sends one DTLS application record this often */
#define MAX_EVENTS 64
#define MAX_NICE_STATES 32
#define FP_LEN 128

/* ---- checks (harness.c) ----------------------------------------------------------------------- */

extern int passed, failed;

/* One line per check; failures are counted and make the program exit non-zero. */
void check(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
double secs(uint64_t ns);

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
    int nice_rx_app[MAX_NICE_STATES]; /* rx_app when that state was reported */
    int n_nice;
    uint32_t nice_state;
    int gathering_done_signals; /* candidate-gathering-done emissions seen */
    int remote_candidates;      /* remote candidates given to the agent (and noted to pcstate) */

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

typedef struct {
    side *a, *b;
} call;

/* pcstate glue (harness.c) */
void expect(side *s, uint32_t r, uint32_t want, const char *what);
void report(side *s, uint32_t r, const char *what);
void arm_tick(side *s);
void set_dtls(side *s, uint32_t state);
uint32_t connection_state(side *s);
uint32_t ice_connection_state(side *s);

/* certificates and DTLS over the ICE component (dtls.c) */
extern int ssl_side_idx;
void fingerprint_of(X509 *cert, char out[FP_LEN]);
void make_certificate(EVP_PKEY **out_key, X509 **out_cert);
int verify_fingerprint(int preverify_ok, X509_STORE_CTX *store);
void send_pending(side *s);
void flush_dtls(side *s);
void dtls_progress(side *s);
void dtls_start(side *s);
gboolean on_dtls_timer(gpointer data);
gboolean on_app_timer(gpointer data);

/* sides, waiting and calls (harness.c) */
side *side_new(const char *name, int controlling, uint32_t flags);
void side_stop_network(side *s);
void side_free(side *s);

extern uint64_t scenario_deadline;
extern int scenario_timed_out;
/* Runs the main loop until pred(arg) holds, at most ms and never past the scenario's deadline. */
int wait_until(int (*pred)(void *), void *arg, unsigned ms);
void run_for(unsigned ms);

void give_end_of_candidates(side *s);
/* Called (when set) before each signalling step signal_to takes on x, n: candidates involved. */
extern void (*signal_step)(const side *x, const char *what, int n);
void signal_to(side *x, side *y);
void exchange(call *c, const char *wrong_fp_for_a);
int start_call(call *c, uint32_t flags_a, uint32_t flags_b, const char *wrong_fp_for_a, int eoc_right_away);
void end_call(call *c);

/* reading the recorded events (harness.c) */
const char *path(const side *s, uint32_t kind, int from);
uint64_t event_time(const side *s, uint32_t kind, uint32_t state, int from);
const char *nice_states(const side *s, int from);
uint32_t failure_cause(const side *s);
const char *cause_name(uint32_t c);
void check_results(const side *s, const char *scenario);

/* ---- scenarios in their own files -------------------------------------------------------------- */

void scenario_restart_with_restart_ice(void);
void scenario_restart_automatic(void);

#endif
