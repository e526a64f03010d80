/* Example: two GStreamer webrtcbin elements negotiate a data channel on 127.0.0.1 in one process;
 * pcstate, fed from each element's DTLS and ICE transports, prints its states beside webrtcbin's.
 *
 * Each side (alice offers, bob answers) is one webrtcbin and one pcstate peer. For every DTLS
 * transport webrtcbin creates (the SCTP transport's, and the transceivers' senders' and receivers',
 * deduplicated: with BUNDLE they share one), the side adds one pcstate transport and follows it:
 *
 *   GstWebRTCDTLSTransport notify::state                -> the transport's DTLS state
 *   its GstWebRTCICETransport notify::state             -> the transport's ICE state
 *   its GstWebRTCICETransport notify::gathering-state   -> the transport's gatherer state
 *
 * Every notification re-reads all three properties and commits them with one
 * pcstate_transport_set_states call (pcstate commits only the net change), under the side's lock,
 * so notifications racing on webrtcbin's threads cannot leave a stale value behind. GStreamer's
 * enums are numbered differently from pcstate's, so they are mapped by name.
 *
 * Traffic stays on loopback: each element's libnice agent gathers on 127.0.0.1 only (UDP, no
 * UPnP, no STUN server), and the in-process signalling forwards only candidates on 127.0.0.1.
 *
 * usage: webrtcbin_call [--audio] [--check]
 *   --audio  alice also offers a recvonly audio transceiver (no media flows; BUNDLE puts it on the
 *            data channel's transport): webrtcbin's own ice-connection-state counts only
 *            transceivers' transports, so without one it stays "new" for the whole call.
 *   --check  exits non-zero unless both sides' pcstate connectionState goes new -> connecting ->
 *            connected within 20 s, the data channel carries a message each way, and close reads
 *            closed; prints "N passed, N failed".
 *
 * Build: cc webrtcbin_call.c $(pkg-config --cflags --libs gstreamer-webrtc-1.0 gstreamer-sdp-1.0
 *        nice pcstate) */
#define GST_USE_UNSTABLE_API /* gst/webrtc: the library warns its API may still change */
#include "pcstate.h"

#include <gst/gst.h>
#include <gst/sdp/sdp.h>
#include <gst/webrtc/webrtc.h>
#include <nice/agent.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TIME_LIMIT_S 20
#define MAX_TRANSPORTS 8
#define MAX_STEPS 16

typedef struct side side;

/* One DTLS transport of a webrtcbin and the pcstate transport it feeds. */
typedef struct {
    side *side;
    GstWebRTCDTLSTransport *dtls;
    GstWebRTCICETransport *ice;
    pcstate_transport t;
} tracked;

struct side {
    const char *name;
    GstElement *webrtc;
    side *remote;
    pcstate_peer pc;
    GMutex lock; /* the tracked transports, read-then-commit of their states, `done` */
    gboolean done; /* set before teardown: late notifications commit nothing */
    tracked tr[MAX_TRANSPORTS];
    int n_tr;
    /* what pcstate's callback saw (connectionState values, in order), for --check */
    uint32_t steps[MAX_STEPS];
    int n_steps;
    uint64_t last_seq;
    gboolean seq_gap;
    GstWebRTCDataChannel *channel;
    gboolean got_message;
    int candidates_sent, candidates_dropped;
};

static gint64 t0;
static GMainLoop *loop;
static int passed, failed;

static long ms(void) { return (long)((g_get_monotonic_time() - t0) / 1000); }

static void check(int cond, const char *what) {
    printf("%s: %s\n", cond ? "ok" : "FAILED", what);
    cond ? passed++ : failed++;
}

/* Every pcstate call returns a result; an application would log it, the example stops. */
static void ok(uint32_t result, const char *what) {
    if (result != PCSTATE_RESULT_OK) {
        fprintf(stderr, "%s: %s\n", what, pcstate_result_message(result));
        exit(1);
    }
}

static const char *nick(GType type, int value) {
    GEnumValue *v = g_enum_get_value(g_type_class_peek(type), value);
    return v ? v->value_nick : "?";
}

/* ---- GStreamer's enums to pcstate's, by name ------------------------------------------------ */

static uint32_t ice_state(GstWebRTCICEConnectionState s) {
    switch (s) {
    case GST_WEBRTC_ICE_CONNECTION_STATE_NEW: return PCSTATE_ICE_TRANSPORT_STATE_NEW;
    case GST_WEBRTC_ICE_CONNECTION_STATE_CHECKING: return PCSTATE_ICE_TRANSPORT_STATE_CHECKING;
    case GST_WEBRTC_ICE_CONNECTION_STATE_CONNECTED: return PCSTATE_ICE_TRANSPORT_STATE_CONNECTED;
    case GST_WEBRTC_ICE_CONNECTION_STATE_COMPLETED: return PCSTATE_ICE_TRANSPORT_STATE_COMPLETED;
    case GST_WEBRTC_ICE_CONNECTION_STATE_FAILED: return PCSTATE_ICE_TRANSPORT_STATE_FAILED;
    case GST_WEBRTC_ICE_CONNECTION_STATE_DISCONNECTED: return PCSTATE_ICE_TRANSPORT_STATE_DISCONNECTED;
    case GST_WEBRTC_ICE_CONNECTION_STATE_CLOSED: return PCSTATE_ICE_TRANSPORT_STATE_CLOSED;
    }
    return PCSTATE_STATE_UNCHANGED;
}

static uint32_t dtls_state(GstWebRTCDTLSTransportState s) {
    switch (s) {
    case GST_WEBRTC_DTLS_TRANSPORT_STATE_NEW: return PCSTATE_DTLS_TRANSPORT_STATE_NEW;
    case GST_WEBRTC_DTLS_TRANSPORT_STATE_CLOSED: return PCSTATE_DTLS_TRANSPORT_STATE_CLOSED;
    case GST_WEBRTC_DTLS_TRANSPORT_STATE_FAILED: return PCSTATE_DTLS_TRANSPORT_STATE_FAILED;
    case GST_WEBRTC_DTLS_TRANSPORT_STATE_CONNECTING: return PCSTATE_DTLS_TRANSPORT_STATE_CONNECTING;
    case GST_WEBRTC_DTLS_TRANSPORT_STATE_CONNECTED: return PCSTATE_DTLS_TRANSPORT_STATE_CONNECTED;
    }
    return PCSTATE_STATE_UNCHANGED;
}

static uint32_t gatherer_state(GstWebRTCICEGatheringState s) {
    switch (s) {
    case GST_WEBRTC_ICE_GATHERING_STATE_NEW: return PCSTATE_ICE_GATHERER_STATE_NEW;
    case GST_WEBRTC_ICE_GATHERING_STATE_GATHERING: return PCSTATE_ICE_GATHERER_STATE_GATHERING;
    case GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE: return PCSTATE_ICE_GATHERER_STATE_COMPLETE;
    }
    return PCSTATE_STATE_UNCHANGED;
}

/* ---- pcstate's events ---------------------------------------------------------------------- */

static gboolean progress(gpointer data);

static void on_event(void *user_data, const pcstate_event *e) {
    side *s = user_data;
    if (e->seq != s->last_seq + 1)
        s->seq_gap = TRUE;
    s->last_seq = e->seq;
    if (e->kind == PCSTATE_EVENT_KIND_OVERFLOW)
        return;
    const char *(*name)(uint32_t) =
        e->kind == PCSTATE_EVENT_KIND_CONNECTION_STATE       ? pcstate_connection_state_name
        : e->kind == PCSTATE_EVENT_KIND_ICE_CONNECTION_STATE ? pcstate_ice_connection_state_name
                                                             : pcstate_ice_gathering_state_name;
    printf("%6ld ms  %-5s pcstate   %-25s %s -> %s\n", ms(), s->name, pcstate_event_kind_name(e->kind),
           name(e->old_state), name(e->new_state));
    if (e->kind == PCSTATE_EVENT_KIND_CONNECTION_STATE) {
        if (s->n_steps == 0)
            s->steps[s->n_steps++] = e->old_state;
        if (s->n_steps < MAX_STEPS)
            s->steps[s->n_steps++] = e->new_state;
        g_idle_add(progress, NULL);
    }
}

/* ---- following webrtcbin's transports ------------------------------------------------------ */

/* Reads the three states of one transport and commits them in one call. */
static void commit(tracked *x) {
    GstWebRTCDTLSTransportState d;
    GstWebRTCICEConnectionState i;
    GstWebRTCICEGatheringState g;
    g_mutex_lock(&x->side->lock);
    if (x->side->done) {
        g_mutex_unlock(&x->side->lock);
        return;
    }
    g_object_get(x->dtls, "state", &d, NULL);
    g_object_get(x->ice, "state", &i, "gathering-state", &g, NULL);
    pcstate_transport_states st = {ice_state(i), dtls_state(d), gatherer_state(g)};
    ok(pcstate_transport_set_states(x->side->pc, x->t, &st), "set_states");
    g_mutex_unlock(&x->side->lock);
}

static void on_dtls_notify(GObject *obj, GParamSpec *pspec, gpointer data) {
    tracked *x = data;
    GstWebRTCDTLSTransportState d;
    (void)pspec;
    g_object_get(obj, "state", &d, NULL);
    printf("%6ld ms  %-5s dtls      state %s\n", ms(), x->side->name, nick(GST_TYPE_WEBRTC_DTLS_TRANSPORT_STATE, d));
    commit(x);
}

static void on_ice_notify(GObject *obj, GParamSpec *pspec, gpointer data) {
    tracked *x = data;
    int v;
    g_object_get(obj, pspec->name, &v, NULL);
    GType type = strcmp(pspec->name, "state") == 0 ? GST_TYPE_WEBRTC_ICE_CONNECTION_STATE
                                                   : GST_TYPE_WEBRTC_ICE_GATHERING_STATE;
    printf("%6ld ms  %-5s ice       %s %s\n", ms(), x->side->name, pspec->name, nick(type, v));
    commit(x);
}

/* Adds a pcstate transport for a DTLS transport not followed yet (takes the reference). */
static void follow(side *s, GstWebRTCDTLSTransport *dtls) {
    if (!dtls)
        return;
    g_mutex_lock(&s->lock);
    for (int k = 0; k < s->n_tr; k++)
        if (s->tr[k].dtls == dtls) {
            g_mutex_unlock(&s->lock);
            gst_object_unref(dtls);
            return;
        }
    if (s->n_tr == MAX_TRANSPORTS) {
        fprintf(stderr, "%s: more than %d DTLS transports\n", s->name, MAX_TRANSPORTS);
        exit(1);
    }
    tracked *x = &s->tr[s->n_tr++];
    x->side = s;
    x->dtls = dtls;
    g_object_get(dtls, "transport", &x->ice, NULL);
    ok(pcstate_transport_add(s->pc, &x->t), "transport_add");
    g_mutex_unlock(&s->lock);
    printf("%6ld ms  %-5s follows  DTLS transport %s as pcstate transport %u\n", ms(), s->name,
           GST_OBJECT_NAME(dtls), x->t);
    /* Connect first, then read: a change between the two is seen by one or the other. */
    g_signal_connect(dtls, "notify::state", G_CALLBACK(on_dtls_notify), x);
    g_signal_connect(x->ice, "notify::state", G_CALLBACK(on_ice_notify), x);
    g_signal_connect(x->ice, "notify::gathering-state", G_CALLBACK(on_ice_notify), x);
    commit(x);
}

/* Follows every DTLS transport the element has now: the SCTP transport's and the transceivers'. */
static gboolean follow_transports(gpointer data) {
    side *s = data;
    GstWebRTCSCTPTransport *sctp = NULL;
    GArray *transceivers = NULL;
    g_object_get(s->webrtc, "sctp-transport", &sctp, NULL);
    if (sctp) {
        GstWebRTCDTLSTransport *dtls = NULL;
        g_object_get(sctp, "transport", &dtls, NULL);
        follow(s, dtls);
        gst_object_unref(sctp);
    }
    g_signal_emit_by_name(s->webrtc, "get-transceivers", &transceivers);
    for (guint k = 0; transceivers && k < transceivers->len; k++) {
        GstWebRTCRTPTransceiver *tc = g_array_index(transceivers, GstWebRTCRTPTransceiver *, k);
        const char *ends[] = {"sender", "receiver"};
        for (int e = 0; e < 2; e++) {
            GObject *end = NULL;
            GstWebRTCDTLSTransport *dtls = NULL;
            g_object_get(tc, ends[e], &end, NULL);
            if (!end)
                continue;
            g_object_get(end, "transport", &dtls, NULL);
            follow(s, dtls);
            g_object_unref(end);
        }
    }
    if (transceivers)
        g_array_unref(transceivers);
    return G_SOURCE_REMOVE;
}

/* ---- in-process signalling, loopback only -------------------------------------------------- */

/* Only candidates on 127.0.0.1 reach the other side ("candidate:F C udp PRIO ADDR PORT typ ..."). */
static gboolean on_loopback(const char *candidate) {
    char addr[64] = "";
    return sscanf(candidate, "candidate:%*s %*s %*s %*s %63s", addr) == 1 && strcmp(addr, "127.0.0.1") == 0;
}

static void on_ice_candidate(GstElement *webrtc, guint mline, gchar *candidate, gpointer data) {
    side *s = data;
    (void)webrtc;
    if (!on_loopback(candidate)) {
        s->candidates_dropped++;
        return;
    }
    s->candidates_sent++;
    g_signal_emit_by_name(s->remote->webrtc, "add-ice-candidate", mline, candidate);
}

/* Candidates inside a description are filtered the same way. */
static void keep_loopback_candidates(GstSDPMessage *sdp) {
    for (guint m = 0; m < gst_sdp_message_medias_len(sdp); m++) {
        GstSDPMedia *media = (GstSDPMedia *)gst_sdp_message_get_media(sdp, m);
        for (guint a = gst_sdp_media_attributes_len(media); a-- > 0;) {
            const GstSDPAttribute *attr = gst_sdp_media_get_attribute(media, a);
            if (strcmp(attr->key, "candidate") == 0 && attr->value) {
                char *line = g_strconcat("candidate:", attr->value, NULL);
                if (!on_loopback(line))
                    gst_sdp_media_remove_attribute(media, a);
                g_free(line);
            }
        }
    }
}

static void on_answer_created(GstPromise *promise, gpointer data);

static void on_remote_set(GstPromise *promise, gpointer data) {
    side *s = data; /* the side whose remote description was just set */
    gst_promise_unref(promise);
    g_idle_add(follow_transports, s);
    if (strcmp(s->name, "bob") == 0)
        g_signal_emit_by_name(s->webrtc, "create-answer", NULL,
                              gst_promise_new_with_change_func(on_answer_created, s, NULL));
}

static void on_local_set(GstPromise *promise, gpointer data) {
    gst_promise_unref(promise);
    g_idle_add(follow_transports, data);
}

/* Sets a description as the local one of `s` and the remote one of the other side. */
static void exchange(side *s, GstPromise *promise, const char *field) {
    GstWebRTCSessionDescription *desc = NULL;
    gst_structure_get(gst_promise_get_reply(promise), field, GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &desc, NULL);
    gst_promise_unref(promise);
    if (!desc) {
        fprintf(stderr, "%s: no %s\n", s->name, field);
        exit(1);
    }
    g_signal_emit_by_name(s->webrtc, "set-local-description", desc,
                          gst_promise_new_with_change_func(on_local_set, s, NULL));
    GstWebRTCSessionDescription *copy = gst_webrtc_session_description_copy(desc);
    keep_loopback_candidates(copy->sdp);
    g_signal_emit_by_name(s->remote->webrtc, "set-remote-description", copy,
                          gst_promise_new_with_change_func(on_remote_set, s->remote, NULL));
    gst_webrtc_session_description_free(copy);
    gst_webrtc_session_description_free(desc);
}

static void on_answer_created(GstPromise *promise, gpointer data) { exchange(data, promise, "answer"); }

static void on_offer_created(GstPromise *promise, gpointer data) { exchange(data, promise, "offer"); }

static void on_negotiation_needed(GstElement *webrtc, gpointer data) {
    g_signal_emit_by_name(webrtc, "create-offer", NULL, gst_promise_new_with_change_func(on_offer_created, data, NULL));
}

/* ---- webrtcbin's own states, and the data channel ------------------------------------------ */

static void on_bin_notify(GObject *obj, GParamSpec *pspec, gpointer data) {
    side *s = data;
    int v;
    g_object_get(obj, pspec->name, &v, NULL);
    printf("%6ld ms  %-5s webrtcbin %-25s %s\n", ms(), s->name, pspec->name,
           nick(G_PARAM_SPEC_VALUE_TYPE(pspec), v));
}

static void on_message(GstWebRTCDataChannel *channel, gchar *text, gpointer data) {
    side *s = data;
    printf("%6ld ms  %-5s data      received \"%s\"\n", ms(), s->name, text);
    s->got_message = TRUE;
    if (strcmp(text, "ping") == 0)
        g_signal_emit_by_name(channel, "send-string", "pong");
    g_idle_add(progress, NULL);
}

static void on_open(GstWebRTCDataChannel *channel, gpointer data) {
    (void)data;
    g_signal_emit_by_name(channel, "send-string", "ping");
}

static void on_data_channel(GstElement *webrtc, GstWebRTCDataChannel *channel, gpointer data) {
    side *s = data;
    (void)webrtc;
    s->channel = g_object_ref(channel);
    g_signal_connect(channel, "on-message-string", G_CALLBACK(on_message), s);
}

/* ---- the call ------------------------------------------------------------------------------ */

static side alice = {.name = "alice"}, bob = {.name = "bob"};

static uint32_t connection_state(side *s) {
    uint32_t v;
    ok(pcstate_peer_connection_state(s->pc, &v), "connection_state");
    return v;
}

/* Quits the loop once both sides are connected through pcstate and a message went each way. */
static gboolean progress(gpointer data) {
    (void)data;
    if (connection_state(&alice) == PCSTATE_CONNECTION_STATE_CONNECTED &&
        connection_state(&bob) == PCSTATE_CONNECTION_STATE_CONNECTED && alice.got_message && bob.got_message)
        g_main_loop_quit(loop);
    return G_SOURCE_REMOVE;
}

static gboolean on_time_limit(gpointer data) {
    *(gboolean *)data = TRUE;
    g_main_loop_quit(loop);
    return G_SOURCE_REMOVE;
}

static void side_init(side *s, side *remote, GstElement *pipeline) {
    s->remote = remote;
    g_mutex_init(&s->lock);
    ok(pcstate_peer_new(PCSTATE_PROFILE_W3C, PCSTATE_FLAG_IGNORE_AFTER_CLOSE | PCSTATE_FLAG_CLOSE_EVENTS, &s->pc),
       "peer_new");
    ok(pcstate_peer_set_callback(s->pc, on_event, s, NULL), "set_callback");
    s->webrtc = gst_element_factory_make("webrtcbin", s->name);
    if (!s->webrtc) {
        fprintf(stderr, "no webrtcbin element (gstreamer1.0-plugins-bad, gstreamer1.0-nice)\n");
        exit(1);
    }
    g_object_set(s->webrtc, "bundle-policy", GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE, NULL);
    /* Loopback only: the libnice agent gathers on 127.0.0.1, UDP, no UPnP (no STUN server set). */
    GObject *ice = NULL;
    NiceAgent *agent = NULL;
    NiceAddress addr;
    g_object_get(s->webrtc, "ice-agent", &ice, NULL);
    g_object_set(ice, "ice-tcp", FALSE, NULL);
    g_object_get(ice, "agent", &agent, NULL);
    g_object_set(agent, "upnp", FALSE, NULL);
    nice_address_init(&addr);
    nice_address_set_from_string(&addr, "127.0.0.1");
    nice_agent_add_local_address(agent, &addr);
    g_object_unref(agent);
    g_object_unref(ice);

    g_signal_connect(s->webrtc, "on-ice-candidate", G_CALLBACK(on_ice_candidate), s);
    g_signal_connect(s->webrtc, "on-data-channel", G_CALLBACK(on_data_channel), s);
    g_signal_connect(s->webrtc, "notify::connection-state", G_CALLBACK(on_bin_notify), s);
    g_signal_connect(s->webrtc, "notify::ice-connection-state", G_CALLBACK(on_bin_notify), s);
    g_signal_connect(s->webrtc, "notify::ice-gathering-state", G_CALLBACK(on_bin_notify), s);
    gst_bin_add(GST_BIN(pipeline), s->webrtc);
}

/* Per side: pcstate's three aggregates beside webrtcbin's own. */
static void print_states(side *s, const char *when) {
    pcstate_snapshot snap;
    int conn, iconn, gath;
    ok(pcstate_peer_snapshot(s->pc, &snap), "snapshot");
    g_object_get(s->webrtc, "connection-state", &conn, "ice-connection-state", &iconn, "ice-gathering-state",
                 &gath, NULL);
    printf("%s %s:\n", when, s->name);
    printf("  connectionState    pcstate %-12s webrtcbin %s\n", pcstate_connection_state_name(snap.connection_state),
           nick(GST_TYPE_WEBRTC_PEER_CONNECTION_STATE, conn));
    printf("  iceConnectionState pcstate %-12s webrtcbin %s\n",
           pcstate_ice_connection_state_name(snap.ice_connection_state),
           nick(GST_TYPE_WEBRTC_ICE_CONNECTION_STATE, iconn));
    printf("  iceGatheringState  pcstate %-12s webrtcbin %s\n",
           pcstate_ice_gathering_state_name(snap.ice_gathering_state), nick(GST_TYPE_WEBRTC_ICE_GATHERING_STATE, gath));
}

static void check_side(side *s) {
    char what[160];
    static const uint32_t want[] = {PCSTATE_CONNECTION_STATE_NEW, PCSTATE_CONNECTION_STATE_CONNECTING,
                                    PCSTATE_CONNECTION_STATE_CONNECTED};
    snprintf(what, sizeof what, "%s: pcstate connectionState went new -> connecting -> connected", s->name);
    check(s->n_steps >= 3 && memcmp(s->steps, want, sizeof want) == 0, what);
    snprintf(what, sizeof what, "%s: pcstate followed %d DTLS transport(s), events in order without gaps", s->name,
             s->n_tr);
    check(s->n_tr >= 1 && !s->seq_gap, what);
    snprintf(what, sizeof what, "%s: the data channel delivered the other side's message", s->name);
    check(s->got_message, what);
    snprintf(what, sizeof what, "%s: %d candidate(s) forwarded, all on 127.0.0.1 (%d dropped)", s->name,
             s->candidates_sent, s->candidates_dropped);
    check(s->candidates_sent >= 1, what);
}

int main(int argc, char **argv) {
    gboolean checking = FALSE, audio = FALSE, timed_out = FALSE;
    for (int k = 1; k < argc; k++) {
        if (strcmp(argv[k], "--check") == 0)
            checking = TRUE;
        else if (strcmp(argv[k], "--audio") == 0)
            audio = TRUE;
        else {
            fprintf(stderr, "usage: %s [--audio] [--check]\n", argv[0]);
            return 2;
        }
    }
    gst_init(&argc, &argv);
    t0 = g_get_monotonic_time();
    loop = g_main_loop_new(NULL, FALSE);
    GstElement *pipeline = gst_pipeline_new("call");
    side_init(&alice, &bob, pipeline);
    side_init(&bob, &alice, pipeline);
    g_signal_connect(alice.webrtc, "on-negotiation-needed", G_CALLBACK(on_negotiation_needed), &alice);
    printf("pcstate %s, %s: alice offers a data channel%s to bob over 127.0.0.1\n", pcstate_version(),
           gst_version_string(), audio ? " and a recvonly audio transceiver" : "");

    if (gst_element_set_state(pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
        fprintf(stderr, "the pipeline does not start\n");
        return 1;
    }
    if (audio) {
        GstCaps *caps =
            gst_caps_from_string("application/x-rtp,media=audio,encoding-name=OPUS,payload=96,clock-rate=48000");
        GstWebRTCRTPTransceiver *tc = NULL;
        g_signal_emit_by_name(alice.webrtc, "add-transceiver", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_RECVONLY, caps,
                              &tc);
        gst_caps_unref(caps);
        if (!tc) {
            fprintf(stderr, "add-transceiver failed\n");
            return 1;
        }
        gst_object_unref(tc);
    }
    g_signal_emit_by_name(alice.webrtc, "create-data-channel", "chat", NULL, &alice.channel);
    g_signal_connect(alice.channel, "on-open", G_CALLBACK(on_open), &alice);
    g_signal_connect(alice.channel, "on-message-string", G_CALLBACK(on_message), &alice);

    guint limit = g_timeout_add_seconds(TIME_LIMIT_S, on_time_limit, &timed_out);
    g_main_loop_run(loop);
    if (!timed_out)
        g_source_remove(limit);
    printf("%6ld ms  %s\n", ms(), timed_out ? "time limit reached" : "both connected, data went both ways");
    print_states(&alice, "connected,");
    print_states(&bob, "connected,");

    /* Hang up: pcstate first (RTCPeerConnection.close()), then the elements. What webrtcbin still
     * reports while it stops returns OK and changes nothing (PCSTATE_FLAG_IGNORE_AFTER_CLOSE). */
    ok(pcstate_peer_close(alice.pc), "close");
    ok(pcstate_peer_close(bob.pc), "close");
    gboolean closed = connection_state(&alice) == PCSTATE_CONNECTION_STATE_CLOSED &&
                      connection_state(&bob) == PCSTATE_CONNECTION_STATE_CLOSED;
    gst_element_set_state(pipeline, GST_STATE_NULL);
    print_states(&alice, "after close,");
    print_states(&bob, "after close,");

    if (checking) {
        check(!timed_out, "both sides connected and exchanged data within the time limit");
        check_side(&alice);
        check_side(&bob);
        check(closed, "pcstate_peer_close: both sides read closed");
    }
    /* Teardown: no commit after this (a notification already under way on another thread sees
     * `done`), then the elements go, then the pcstate peers. */
    side *sides[] = {&alice, &bob};
    for (int k = 0; k < 2; k++) {
        side *s = sides[k];
        g_mutex_lock(&s->lock);
        s->done = TRUE;
        g_mutex_unlock(&s->lock);
        for (int j = 0; j < s->n_tr; j++) {
            g_signal_handlers_disconnect_by_data(s->tr[j].dtls, &s->tr[j]);
            g_signal_handlers_disconnect_by_data(s->tr[j].ice, &s->tr[j]);
            gst_object_unref(s->tr[j].ice);
            gst_object_unref(s->tr[j].dtls);
        }
        if (s->channel)
            g_object_unref(s->channel);
    }
    gst_object_unref(pipeline);
    for (int k = 0; k < 2; k++)
        ok(pcstate_peer_free(sides[k]->pc), "free");
    g_main_loop_unref(loop);
    if (checking) {
        printf("gstreamer: %d passed, %d failed\n", passed, failed);
        return failed ? 1 : 0;
    }
    return timed_out ? 1 : 0;
}
