/* Integration test: two libnice agents with OpenSSL DTLS 1.2 on 127.0.0.1 drive pcstate through the
 * libnice adapter, end-of-candidates, liveness and the DTLS setters; each scenario asserts the events.
 * The harness (a side, a call, waiting, reading events) is harness.c and dtls.c; ICE restarts on a
 * live call are libnice_restart.c. */
#define _GNU_SOURCE
#include "harness.h"

#include <nice/nice-version.h>
#include <openssl/err.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
        {"close with IGNORE_AFTER_CLOSE during teardown", scenario_close_ignore, 8000},
        {"ICE restart on a live call, with pcstate_transport_restart_ice", scenario_restart_with_restart_ice, 8000},
        {"ICE restart on a live call, told by libnice's states only", scenario_restart_automatic, 8000},
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
