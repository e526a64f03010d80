/* The integration harness: checks, the pcstate side of each peer, libnice callbacks feeding it,
 * setting up a call on 127.0.0.1, bounded waiting on the main loop and reading recorded events. */
#define _GNU_SOURCE
#include "harness.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- checks -------------------------------------------------------------------------------- */

int passed, failed;

/* One line per check; failures are counted and make the program exit non-zero. */
void check(int ok, const char *fmt, ...) {
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

double secs(uint64_t ns) { return (double)ns / 1e9; }

/* ---- the pcstate side of a peer ------------------------------------------------------------- */

static void on_pcstate_event(void *user_data, const pcstate_event *e) {
    recorder *r = user_data;
    if (r->n < MAX_EVENTS)
        r->ev[r->n++] = *e;
    else
        r->overflow++;
}

/* Checks one pcstate result against `want`. */
void expect(side *s, uint32_t r, uint32_t want, const char *what) {
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
void report(side *s, uint32_t r, const char *what) {
    expect(s, r,
           s->pc_closed && !(s->flags & PCSTATE_FLAG_IGNORE_AFTER_CLOSE) ? PCSTATE_RESULT_CLOSED
                                                                        : PCSTATE_RESULT_OK,
           what);
}

static gboolean on_tick_timer(gpointer data);

/* Ticks the peer now and arms one GLib timer at the deadline it returns. */
void arm_tick(side *s) {
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

void set_dtls(side *s, uint32_t state) {
    s->dtls = state;
    report(s, pcstate_transport_set_dtls_state(s->pc, s->t, state), "pcstate_transport_set_dtls_state");
}

uint32_t connection_state(side *s) {
    uint32_t v = 99;
    pcstate_peer_connection_state(s->pc, &v);
    return v;
}

uint32_t ice_connection_state(side *s) {
    uint32_t v = 99;
    pcstate_peer_ice_connection_state(s->pc, &v);
    return v;
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
        s->nice_rx_app[s->n_nice] = s->rx_app;
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
    s->gathering_done_signals++;
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

side *side_new(const char *name, int controlling, uint32_t flags) {
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
void side_stop_network(side *s) {
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

void side_free(side *s) {
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

uint64_t scenario_deadline;
int scenario_timed_out;

static gboolean on_wake(gpointer data) {
    *(int *)data = 1;
    return G_SOURCE_REMOVE;
}

/* Runs the main loop until pred(arg) holds, at most ms and never past the scenario's deadline. */
int wait_until(int (*pred)(void *), void *arg, unsigned ms) {
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

void run_for(unsigned ms) { wait_until(NULL, NULL, ms); }

/* ---- a call between A and B ------------------------------------------------------------------ */

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

void give_end_of_candidates(side *s) {
    report(s, pcstate_transport_set_remote_end_of_candidates(s->pc, s->t),
           "pcstate_transport_set_remote_end_of_candidates");
    arm_tick(s);
}

void (*signal_step)(const side *x, const char *what, int n);

/* Signalling, x receives y's description: y's current ICE credentials, all its candidates (each one
 * the agent took is noted to pcstate) and its fingerprint. */
void signal_to(side *x, side *y) {
    gchar *ufrag = NULL, *pwd = NULL;
    GSList *cands;
    int i, added;
    nice_agent_get_local_credentials(y->agent, y->stream, &ufrag, &pwd);
    if (signal_step)
        signal_step(x, "nice_agent_set_remote_credentials", 0);
    nice_agent_set_remote_credentials(x->agent, x->stream, ufrag, pwd);
    g_free(ufrag);
    g_free(pwd);
    cands = nice_agent_get_local_candidates(y->agent, y->stream, 1);
    if (signal_step)
        signal_step(x, "nice_agent_set_remote_candidates", (int)g_slist_length(cands));
    added = nice_agent_set_remote_candidates(x->agent, x->stream, 1, cands);
    if (signal_step)
        signal_step(x, "pcstate_transport_note_remote_candidate", added);
    for (i = 0; i < added; i++)
        report(x, pcstate_transport_note_remote_candidate(x->pc, x->t),
               "pcstate_transport_note_remote_candidate");
    x->remote_candidates += added > 0 ? added : 0;
    g_slist_free_full(cands, (GDestroyNotify)nice_candidate_free);
    g_strlcpy(x->remote_fingerprint, y->fingerprint, FP_LEN);
}

/* Non-trickle offer/answer once both gathered: each side gets the other's description (A is told
 * wrong_fp_for_a instead of B's fingerprint when given). */
void exchange(call *c, const char *wrong_fp_for_a) {
    signal_to(c->a, c->b);
    signal_to(c->b, c->a);
    if (wrong_fp_for_a)
        g_strlcpy(c->a->remote_fingerprint, wrong_fp_for_a, FP_LEN);
}

/* Creates both sides, gathers, exchanges and waits for ICE READY and a DTLS outcome on both. */
int start_call(call *c, uint32_t flags_a, uint32_t flags_b, const char *wrong_fp_for_a,
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

void end_call(call *c) {
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
const char *path(const side *s, uint32_t kind, int from) {
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
uint64_t event_time(const side *s, uint32_t kind, uint32_t state, int from) {
    int i;
    for (i = from; i < s->rec.n; i++)
        if (s->rec.ev[i].kind == kind && s->rec.ev[i].new_state == state)
            return s->rec.ev[i].time_ns;
    return 0;
}

const char *nice_states(const side *s, int from) {
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

uint32_t failure_cause(const side *s) {
    struct pcstate_peer_stats st;
    return pcstate_peer_stats(s->pc, &st) == PCSTATE_RESULT_OK ? st.failure_cause : 99;
}

const char *cause_name(uint32_t c) {
    static const char *names[] = {"none", "ICE", "DTLS", "liveness"};
    return c < 4 ? names[c] : "?";
}

void check_results(const side *s, const char *scenario) {
    check(s->bad_results == 0 && s->rec.overflow == 0,
          "%s %s: every pcstate call returned what it should (%d calls, %d after close)", scenario,
          s->name, s->calls, s->calls_after_close);
}
