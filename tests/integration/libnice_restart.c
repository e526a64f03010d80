/* Integration scenarios: a real libnice ICE restart on a live call (DTLS connected, application data
 * both ways) keeps connectionState `connected` and iceConnectionState connected/completed.
 *
 * The restart is done as an application does it for restartIce() and an ICE-restart offer/answer:
 * A (the offerer) restarts its agent (new ufrag/pwd; libnice keeps its local candidates and its
 * selected pair, and emits no candidate-gathering-done afterwards) and "sends" its new credentials
 * and candidates; after a signalling delay B restarts its own agent, takes A's description and
 * end-of-candidates; after another delay A takes B's answer. pcstate is fed what the agents report,
 * with pcstate_transport_restart_ice before each agent restart (one scenario) or without it, from
 * libnice's own move back to GATHERING (the other). */
#define _GNU_SOURCE
#include "harness.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIGNALLING_DELAY_MS 200 /* each leg of the restart's offer/answer */
#define MAX_STEPS 48
#define MAX_LINES (MAX_STEPS + 2 * (MAX_EVENTS + MAX_NICE_STATES))

/* ---- a timeline of what the application did, what libnice reported and what pcstate said ---- */

typedef struct {
    uint64_t t;
    const char *who;
    char what[128];
} line;

static line steps[MAX_STEPS];
static int n_steps;

static void note_step(const side *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note_step(const side *s, const char *fmt, ...) {
    va_list ap;
    if (n_steps >= MAX_STEPS)
        return;
    steps[n_steps].t = pcstate_now_ns();
    steps[n_steps].who = s->name;
    va_start(ap, fmt);
    vsnprintf(steps[n_steps].what, sizeof steps[0].what, fmt, ap);
    va_end(ap);
    n_steps++;
}

static int by_time(const void *x, const void *y) {
    const line *p = x, *q = y;
    return p->t < q->t ? -1 : p->t > q->t;
}

static const char *event_state_name(uint32_t kind, uint32_t v) {
    const char *n = kind == PCSTATE_EVENT_KIND_ICE_CONNECTION_STATE ? pcstate_ice_connection_state_name(v)
                    : kind == PCSTATE_EVENT_KIND_CONNECTION_STATE   ? pcstate_connection_state_name(v)
                                                                    : pcstate_ice_gathering_state_name(v);
    return n ? n : "?";
}

/* Prints the steps, both agents' component-state-changed signals and both peers' events from the
 * restart on, in time order. */
static void print_timeline(side *const sides[2], const int n0[2], const int nice0[2], uint64_t t0) {
    static line lines[MAX_LINES];
    int n = 0, i, k;
    for (i = 0; i < n_steps; i++)
        lines[n++] = steps[i];
    for (k = 0; k < 2; k++) {
        const side *s = sides[k];
        for (i = nice0[k]; i < s->n_nice && n < MAX_LINES; i++, n++) {
            lines[n].t = s->nice_times[i];
            lines[n].who = s->name;
            snprintf(lines[n].what, sizeof lines[0].what,
                     "libnice component-state-changed %s (%d records received so far)",
                     nice_component_state_to_string(s->nice_states[i]), s->nice_rx_app[i]);
        }
        for (i = n0[k]; i < s->rec.n && n < MAX_LINES; i++, n++) {
            const pcstate_event *e = &s->rec.ev[i];
            lines[n].t = e->time_ns;
            lines[n].who = s->name;
            snprintf(lines[n].what, sizeof lines[0].what, "  pcstate event %s %s>%s",
                     pcstate_event_kind_name(e->kind), event_state_name(e->kind, e->old_state),
                     event_state_name(e->kind, e->new_state));
        }
    }
    qsort(lines, (size_t)n, sizeof lines[0], by_time);
    for (i = 0; i < n; i++)
        printf("     %+9.3f ms  %s  %s\n", (double)(lines[i].t - t0) / 1e6, lines[i].who, lines[i].what);
}

/* ---- the restart ------------------------------------------------------------------------------ */

typedef struct {
    const char *label;
    int restart_ice;  /* call pcstate_transport_restart_ice before the agent restarts */
    int whole_agent;  /* nice_agent_restart rather than nice_agent_restart_stream */
} restart_mode;

/* What restartIce() (A) or taking an ICE-restart offer (B) does to one side's agent. */
static void restart_agent(side *s, const restart_mode *m) {
    pcstate_transport_states st = {9, 9, 9};
    if (m->restart_ice) {
        note_step(s, "pcstate_transport_restart_ice");
        report(s, pcstate_transport_restart_ice(s->pc, s->t), "pcstate_transport_restart_ice");
    }
    note_step(s, "%s", m->whole_agent ? "nice_agent_restart" : "nice_agent_restart_stream");
    if (!(m->whole_agent ? nice_agent_restart(s->agent) : nice_agent_restart_stream(s->agent, s->stream)))
        check(0, "%s %s: the agent restarted", m->label, s->name);
    arm_tick(s);
    pcstate_transport_get_states(s->pc, s->t, &st);
    check(s->nice_state == NICE_COMPONENT_STATE_GATHERING &&
              st.ice_state == PCSTATE_ICE_TRANSPORT_STATE_CONNECTED,
          "%s %s: libnice reported %s from inside the restart call; the transport reads ice %s",
          m->label, s->name, nice_component_state_to_string(s->nice_state),
          pcstate_ice_transport_state_name(st.ice_state));
}

static void step_from_signalling(const side *x, const char *what, int n) {
    if (n)
        note_step(x, "%s (%d)", what, n);
    else
        note_step(x, "%s", what);
}

/* x takes the other side's new description (credentials, candidates) and its end-of-candidates. */
static void take_description(side *x, side *y) {
    signal_step = step_from_signalling;
    signal_to(x, y);
    signal_step = NULL;
    note_step(x, "pcstate_transport_set_remote_end_of_candidates");
    give_end_of_candidates(x);
}

typedef struct {
    call *c;
    int nice0[2];
} ready_wait;

/* Both agents reported READY again since the restart and are READY now. */
static int both_ready_again(void *p) {
    ready_wait *w = p;
    side *sides[2] = {w->c->a, w->c->b};
    int k, i, ok = 1;
    for (k = 0; k < 2; k++) {
        int seen = 0;
        for (i = w->nice0[k]; i < sides[k]->n_nice; i++)
            seen |= sides[k]->nice_states[i] == NICE_COMPONENT_STATE_READY;
        ok &= seen && sides[k]->nice_state == NICE_COMPONENT_STATE_READY;
    }
    return ok;
}

/* Every iceConnectionState event from `from` on went to connected or completed. */
static int ice_stayed_up(const side *s, int from) {
    int i;
    for (i = from; i < s->rec.n; i++) {
        const pcstate_event *e = &s->rec.ev[i];
        if (e->kind == PCSTATE_EVENT_KIND_ICE_CONNECTION_STATE &&
            e->new_state != PCSTATE_ICE_CONNECTION_STATE_CONNECTED &&
            e->new_state != PCSTATE_ICE_CONNECTION_STATE_COMPLETED)
            return 0;
    }
    return 1;
}

static int count_kind(const side *s, uint32_t kind, int from) {
    int i, n = 0;
    for (i = from; i < s->rec.n; i++)
        n += s->rec.ev[i].kind == kind;
    return n;
}

/* The index of the first READY at or after `from` in s's libnice states, or -1. */
static int ready_index(const side *s, int from) {
    int i;
    for (i = from; i < s->n_nice; i++)
        if (s->nice_states[i] == NICE_COMPONENT_STATE_READY)
            return i;
    return -1;
}

static void restart_on_live_call(const restart_mode *m) {
    call c = {0};
    side *sides[2];
    int n0[2], nice0[2], rx0[2], deferred0[2], done0[2], k;
    SSL *ssl0[2];
    ready_wait w;
    uint64_t t0;
    const char *L = m->label;
    if (!start_call(&c, 0, 0, NULL, 1))
        goto out;
    sides[0] = c.a, sides[1] = c.b;
    run_for(300);
    for (k = 0; k < 2; k++) {
        side *s = sides[k];
        check(connection_state(s) == PCSTATE_CONNECTION_STATE_CONNECTED &&
                  ice_connection_state(s) == PCSTATE_ICE_CONNECTION_STATE_COMPLETED && s->rx_app > 3,
              "%s %s: live call before the restart: connected, iceConnectionState completed, %d records "
              "received",
              L, s->name, s->rx_app);
        n0[k] = s->rec.n;
        nice0[k] = s->n_nice;
        rx0[k] = s->rx_app;
        deferred0[k] = s->sends_deferred;
        done0[k] = s->gathering_done_signals;
        ssl0[k] = s->ssl;
    }

    n_steps = 0;
    t0 = pcstate_now_ns();
    /* A: restartIce(), then an offer with its new ufrag/pwd and its candidates goes out. */
    restart_agent(c.a, m);
    run_for(SIGNALLING_DELAY_MS);
    /* B takes the offer: restarts its own agent, sets A's description; the answer goes back. */
    restart_agent(c.b, m);
    take_description(c.b, c.a);
    run_for(SIGNALLING_DELAY_MS);
    /* A takes the answer. */
    take_description(c.a, c.b);
    w.c = &c;
    w.nice0[0] = nice0[0], w.nice0[1] = nice0[1];
    if (!wait_until(both_ready_again, &w, 3000))
        check(0, "%s: both agents READY again within 3 s (A: %s, B: %s)", L, nice_states(c.a, nice0[0]),
              nice_states(c.b, nice0[1]));
    note_step(c.a, "both agents READY again");
    run_for(500);
    note_step(c.a, "0.5 s later");
    print_timeline(sides, n0, nice0, t0);

    for (k = 0; k < 2; k++) {
        side *s = sides[k];
        int r = ready_index(s, nice0[k]);
        /* records received from the agent's GATHERING (its restart) to its READY again */
        int during = r >= 0 ? s->nice_rx_app[r] - s->nice_rx_app[nice0[k]] : -1;
        double window_ms = r >= 0 ? (double)(s->nice_times[r] - s->nice_times[nice0[k]]) / 1e6 : -1.0;
        uint32_t gathering = 99;
        pcstate_transport_states eff = {9, 9, 9};
        check(s->n_nice > nice0[k] && s->nice_states[nice0[k]] == NICE_COMPONENT_STATE_GATHERING && r >= 0,
              "%s %s: libnice went %s after the restart (GATHERING first, READY again)", L, s->name,
              nice_states(s, nice0[k]));
        pcstate_peer_ice_gathering_state(s->pc, &gathering);
        check(s->gathering_done_signals == done0[k] && gathering == PCSTATE_ICE_GATHERING_STATE_COMPLETE &&
                  count_kind(s, PCSTATE_EVENT_KIND_ICE_GATHERING_STATE, n0[k]) == 0,
              "%s %s: libnice emitted no candidate-gathering-done after the restart; iceGatheringState "
              "stayed %s (no event)",
              L, s->name, pcstate_ice_gathering_state_name(gathering));
        check(count_kind(s, PCSTATE_EVENT_KIND_CONNECTION_STATE, n0[k]) == 0 &&
                  connection_state(s) == PCSTATE_CONNECTION_STATE_CONNECTED,
              "%s %s: connectionState stayed connected through the restart (events: %s)", L, s->name,
              path(s, PCSTATE_EVENT_KIND_CONNECTION_STATE, n0[k]));
        check(ice_stayed_up(s, n0[k]),
              "%s %s: iceConnectionState stayed connected/completed through the restart (%s)", L, s->name,
              path(s, PCSTATE_EVENT_KIND_ICE_CONNECTION_STATE, n0[k]));
        pcstate_transport_get_states(s->pc, s->t, &eff);
        check(ice_connection_state(s) == PCSTATE_ICE_CONNECTION_STATE_COMPLETED &&
                  eff.ice_state == PCSTATE_ICE_TRANSPORT_STATE_COMPLETED,
              "%s %s: READY again with gathering complete and the remote's new end-of-candidates reads "
              "completed (transport ice %s, iceConnectionState %s)",
              L, s->name, pcstate_ice_transport_state_name(eff.ice_state),
              pcstate_ice_connection_state_name(ice_connection_state(s)));
        check(during > 0 && s->sends_deferred == deferred0[k],
              "%s %s: media flowed during the restart: %d records received in the %.1f ms from the "
              "agent's GATHERING to its READY again, every send accepted by the agent (%d refused)",
              L, s->name, during, window_ms, s->sends_deferred - deferred0[k]);
        check(s->ssl == ssl0[k] && s->dtls == PCSTATE_DTLS_TRANSPORT_STATE_CONNECTED && s->rx_app > rx0[k],
              "%s %s: the same DTLS session carried on (%d records in all since the restart)", L, s->name,
              s->rx_app - rx0[k]);
        check_results(s, L);
    }
out:
    end_call(&c);
}

/* The application tells pcstate before each agent restart (what docs/feeding.md says to do). */
void scenario_restart_with_restart_ice(void) {
    static const restart_mode m = {"restart_ice", 1, 1};
    restart_on_live_call(&m);
}

/* No pcstate_transport_restart_ice: pcstate sees only libnice's move back to GATHERING. */
void scenario_restart_automatic(void) {
    static const restart_mode m = {"restart (agent only)", 0, 0};
    restart_on_live_call(&m);
}
