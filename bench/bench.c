/* pcstate benchmarks over the C ABI. Every figure is measured in this run and reported as a ratio
 * to a baseline measured in the same run: an uncontended pthread mutex lock/unlock pair around a
 * store (taken after the process has started a second thread), and a naive implementation that
 * rescans all transports on every update. Each figure is the best of REPS repetitions.
 *
 *   bench [--scale S] [--json PATH]     S multiplies the iteration counts (default 1; 0.01 smoke)
 *   bench --op NAME --count N           runs one operation N times and nothing else, for
 *                                       bench/instructions.py to count its instructions under
 *                                       callgrind (NAME: see ops[] below)
 *   bench --memory                      only the memory figure (bytes per peer with 4 transports,
 *                                       100,000 peers) */
#define _GNU_SOURCE
#include "pcstate.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define REPS 7

static double scale = 1.0;

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t iters(uint64_t base) {
    uint64_t n = (uint64_t)((double)base * scale);
    return n < 10 ? 10 : n;
}

static void must(uint32_t r, const char *what) {
    if (r != PCSTATE_RESULT_OK) {
        fprintf(stderr, "%s: %s\n", what, pcstate_result_message(r));
        exit(1);
    }
}

/* ---- baseline: a mutex pair around a store ---------------------------------------------------- */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static volatile uint32_t sink;

static double bench_mutex(void) {
    uint64_t n = iters(20000000), t0 = now_ns();
    for (uint64_t i = 0; i < n; i++) {
        pthread_mutex_lock(&mu);
        sink = (uint32_t)i;
        pthread_mutex_unlock(&mu);
    }
    return (double)(now_ns() - t0) / (double)n;
}

static void *nothing(void *arg) { return arg; }

/* ---- baseline: a naive peer that rescans every transport on every update ---------------------- */
typedef struct {
    uint8_t ice, dtls, gatherer;
} naive_transport;

typedef struct {
    pthread_mutex_t mu;
    naive_transport *t;
    int n;
    uint32_t ice_state, conn_state, gathering_state;
    void (*cb)(void *, uint32_t, uint32_t);
    void *user_data;
} naive_peer;

/* The W3C rules recomputed by counting every transport's states, as libwebrtc and webrtcbin do. */
static void naive_recompute(naive_peer *p) {
    int ice[7] = {0}, dtls[5] = {0}, gat[3] = {0}, n = p->n;
    for (int i = 0; i < n; i++) {
        ice[p->t[i].ice]++;
        dtls[p->t[i].dtls]++;
        gat[p->t[i].gatherer]++;
    }
    uint32_t is, cs, gs;
    if (ice[5]) is = 5;
    else if (ice[4]) is = 4;
    else if (ice[0] + ice[6] == n) is = 0;
    else if (ice[0] + ice[1]) is = 1;
    else if (ice[3] + ice[6] == n) is = 3;
    else is = 2;
    if (ice[5] || dtls[4]) cs = 4;
    else if (ice[4]) cs = 3;
    else if (ice[0] + ice[6] == n && dtls[0] + dtls[3] == n) cs = 0;
    else if (ice[0] + ice[1] || dtls[0] + dtls[1]) cs = 1;
    else cs = 2;
    gs = gat[1] ? 1 : (n > 0 && gat[2] == n) ? 2 : 0;
    if (is != p->ice_state && p->cb) p->cb(p->user_data, p->ice_state, is);
    if (cs != p->conn_state && p->cb) p->cb(p->user_data, p->conn_state, cs);
    p->ice_state = is;
    p->conn_state = cs;
    p->gathering_state = gs;
}

static void naive_set_ice(naive_peer *p, int id, uint8_t s) {
    pthread_mutex_lock(&p->mu);
    p->t[id].ice = s;
    naive_recompute(p);
    pthread_mutex_unlock(&p->mu);
}

/* ---- pcstate peers ------------------------------------------------------------------------------ */
static volatile uint64_t events_seen;

static void count_event(void *user_data, const pcstate_event *e) {
    (void)user_data;
    events_seen += e->seq;
}

/* A peer whose n transports are all ICE connected and DTLS connected. */
static pcstate_peer connected_peer(int n, uint32_t flags) {
    pcstate_peer p;
    must(pcstate_peer_new(PCSTATE_PROFILE_W3C, flags, &p), "peer_new");
    for (int i = 0; i < n; i++) {
        pcstate_transport t;
        must(pcstate_transport_add(p, &t), "add");
        must(pcstate_transport_set_ice_state(p, t, PCSTATE_ICE_TRANSPORT_STATE_CONNECTED), "ice");
        must(pcstate_transport_set_dtls_state(p, t, PCSTATE_DTLS_TRANSPORT_STATE_CONNECTED), "dtls");
    }
    return p;
}

/* Transport 1 toggles connected <-> completed: no aggregate changes (others stay connected). */
/* Updates rotate over PEERS peers of the same size, as a server's do; this also keeps one peer's
 * allocation addresses (cache set and 4K-aliasing luck) from deciding a figure. */
#define PEERS 8

/* Transport 1 toggles connected <-> completed: no aggregate changes (others stay connected). */
static double bench_nochange(const pcstate_peer *p) {
    uint64_t n = iters(10000000) / PEERS, t0 = now_ns();
    for (uint64_t i = 0; i < n; i++) {
        uint32_t s = (i & 1) ? PCSTATE_ICE_TRANSPORT_STATE_COMPLETED : PCSTATE_ICE_TRANSPORT_STATE_CONNECTED;
        for (int j = 0; j < PEERS; j++) pcstate_transport_set_ice_state(p[j], 1, s);
    }
    return (double)(now_ns() - t0) / (double)(n * PEERS);
}

/* Transport 1 toggles connected <-> disconnected: 2 events per update, to a callback. */
static double bench_event(const pcstate_peer *p) {
    uint64_t n = iters(2000000) / PEERS, t0 = now_ns();
    for (uint64_t i = 0; i < n; i++) {
        uint32_t s = (i & 1) ? PCSTATE_ICE_TRANSPORT_STATE_CONNECTED : PCSTATE_ICE_TRANSPORT_STATE_DISCONNECTED;
        for (int j = 0; j < PEERS; j++) pcstate_transport_set_ice_state(p[j], 1, s);
    }
    return (double)(now_ns() - t0) / (double)(n * PEERS);
}

static void naive_cb(void *u, uint32_t o, uint32_t n) {
    (void)u;
    (void)o;
    events_seen += n;
}

static naive_peer *naive_new(int n) {
    naive_peer *p = calloc(1, sizeof *p);
    pthread_mutex_init(&p->mu, NULL);
    p->t = calloc((size_t)n, sizeof *p->t);
    p->n = n;
    for (int i = 0; i < n; i++) p->t[i].ice = p->t[i].dtls = 2;
    p->cb = naive_cb;
    naive_recompute(p);
    return p;
}

/* Fewer iterations for larger peers: each naive update costs O(n). */
static uint64_t n_for_naive_base(int n) { return n <= 2 ? 10000000u : 40000000u / (uint64_t)n; }

static double bench_naive(naive_peer *p) {
    uint64_t n = iters(n_for_naive_base(p->n)), t0 = now_ns();
    for (uint64_t i = 0; i < n; i++) naive_set_ice(p, 0, (i & 1) ? 3 : 2);
    return (double)(now_ns() - t0) / (double)n;
}

/* ---- throughput with threads -------------------------------------------------------------------- */
typedef struct {
    pcstate_peer peer; /* 0: the worker creates (and frees) a peer of its own */
    pcstate_transport t;
    uint64_t n;
    uint32_t flags;    /* of the peer the worker creates */
    int changing;      /* every update changes the aggregates (commits 2 events, moves the gauges) */
} worker_arg;

static pcstate_peer connected_peer(int n, uint32_t flags);

static void *worker(void *arg) {
    worker_arg *w = arg;
    /* A server thread creates the peers it serves: its allocations come from its own arena. */
    pcstate_peer p = w->peer ? w->peer : connected_peer(2, w->flags);
    uint32_t other = w->changing ? PCSTATE_ICE_TRANSPORT_STATE_DISCONNECTED : PCSTATE_ICE_TRANSPORT_STATE_COMPLETED;
    for (uint64_t i = 0; i < w->n; i++)
        pcstate_transport_set_ice_state(p, w->t, (i & 1) ? other : PCSTATE_ICE_TRANSPORT_STATE_CONNECTED);
    if (!w->peer) pcstate_peer_free(p);
    return NULL;
}

/* The machine's own scaling: each thread locks its own mutex (on its own cache line). */
typedef struct {
    pthread_mutex_t mu;
    uint64_t n;
    volatile uint32_t sink;
} __attribute__((aligned(128))) private_mutex;

static void *mutex_worker(void *arg) {
    private_mutex *m = arg;
    for (uint64_t i = 0; i < m->n; i++) {
        pthread_mutex_lock(&m->mu);
        m->sink = (uint32_t)i;
        pthread_mutex_unlock(&m->mu);
    }
    return NULL;
}

static double bench_mutex_threads(int threads) {
    static private_mutex m[2];
    pthread_t th[2];
    uint64_t n = iters(6000000);
    for (int i = 0; i < threads; i++) {
        pthread_mutex_init(&m[i].mu, NULL);
        m[i].n = n;
    }
    uint64_t t0 = now_ns();
    for (int i = 0; i < threads; i++) pthread_create(&th[i], NULL, mutex_worker, &m[i]);
    for (int i = 0; i < threads; i++) pthread_join(th[i], NULL);
    return (double)(n * (uint64_t)threads) / ((double)(now_ns() - t0) / 1e9) / 1e6;
}

static double bench_threads_mode(int threads, int same_peer, int changing, uint32_t flags);

/* Million updates per second with `threads` threads; same_peer: all on one peer. */
static double bench_threads(int threads, int same_peer) { return bench_threads_mode(threads, same_peer, 0, 0); }

/* The same, where every update commits events (the process-wide gauges move), peers with `flags`. */
static double bench_threads_mode(int threads, int same_peer, int changing, uint32_t flags) {
    pthread_t th[8];
    worker_arg w[8];
    pcstate_peer shared = connected_peer(4, 0);
    uint64_t n = iters(3000000);
    for (int i = 0; i < threads; i++) {
        w[i].peer = same_peer ? shared : 0;
        w[i].t = same_peer ? (pcstate_transport)(i + 1) : 1;
        w[i].n = n;
        w[i].flags = flags;
        w[i].changing = changing;
    }
    uint64_t t0 = now_ns();
    for (int i = 0; i < threads; i++) pthread_create(&th[i], NULL, worker, &w[i]);
    for (int i = 0; i < threads; i++) pthread_join(th[i], NULL);
    double secs = (double)(now_ns() - t0) / 1e9;
    pcstate_peer_free(shared);
    return (double)(n * (uint64_t)threads) / secs / 1e6;
}

/* Million updates per second, 2 threads on different peers that one other thread (a signalling
 * thread) created beforehand, as servers do: the peers' memory comes from that thread's arena. */
static double bench_threads_created_elsewhere(void) {
    pthread_t th[2];
    worker_arg w[2];
    uint64_t n = iters(3000000);
    for (int i = 0; i < 2; i++) {
        w[i].peer = connected_peer(2, 0);
        w[i].t = 1;
        w[i].n = n;
        w[i].flags = 0;
        w[i].changing = 0;
    }
    uint64_t t0 = now_ns();
    for (int i = 0; i < 2; i++) pthread_create(&th[i], NULL, worker, &w[i]);
    for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
    double secs = (double)(now_ns() - t0) / 1e9;
    for (int i = 0; i < 2; i++) pcstate_peer_free(w[i].peer);
    return (double)(n * 2) / secs / 1e6;
}

/* ---- field inputs: strided transport ids, liveness ------------------------------------------------ */
/* A peer whose `live` connected transports are every `stride`-th id ever added (the others were
 * added and removed): ids sharing their low bits. */
static pcstate_peer strided_peer(int live, int stride, pcstate_transport *first) {
    pcstate_peer p;
    pcstate_transport_states up = {PCSTATE_ICE_TRANSPORT_STATE_CONNECTED,
                                   PCSTATE_DTLS_TRANSPORT_STATE_CONNECTED,
                                   PCSTATE_ICE_GATHERER_STATE_COMPLETE};
    must(pcstate_peer_new(PCSTATE_PROFILE_W3C, 0, &p), "peer_new");
    *first = 0;
    for (int i = 0; i < live; i++)
        for (int k = 0; k < stride; k++) {
            pcstate_transport t;
            must(pcstate_transport_add_with_states(p, &up, &t), "add");
            if (k) must(pcstate_transport_remove(p, t), "remove");
            else if (!*first) *first = t;
        }
    return p;
}

/* The slots of the transport table that pcstate used before 0.1 had for `live` transports (powers
 * of two from 4, at most 3/4 full above 4). */
static uint32_t old_table_slots(int live) {
    uint32_t cap = 4;
    while ((uint32_t)live > cap || (cap > 4 && (uint32_t)live * 4 > cap * 3)) cap *= 2;
    return cap;
}

/* Whether `id` has home slot 0 under that table's fixed, public Fibonacci hash (the top bits of
 * id * 2^32/phi): ids an adversary keeps to pile every transport into one probe run. */
static int old_hash_home_zero(uint32_t id, uint32_t slots) {
    uint32_t bits = (uint32_t)__builtin_ctz(slots);
    return ((id * 0x9E3779B9u) >> (32 - bits)) == 0;
}

/* A peer with `live` connected transports: ids 1..live (colliding == 0), or only ids that share
 * one home slot under the old fixed hash (the others were added and removed). Their ids go to
 * `ids`. */
static pcstate_peer pattern_peer(int live, int colliding, pcstate_transport *ids) {
    pcstate_peer p;
    pcstate_transport_states up = {PCSTATE_ICE_TRANSPORT_STATE_CONNECTED,
                                   PCSTATE_DTLS_TRANSPORT_STATE_CONNECTED,
                                   PCSTATE_ICE_GATHERER_STATE_COMPLETE};
    uint32_t slots = old_table_slots(live);
    must(pcstate_peer_new(PCSTATE_PROFILE_W3C, 0, &p), "peer_new");
    for (int n = 0; n < live;) {
        pcstate_transport t;
        must(pcstate_transport_add_with_states(p, &up, &t), "add");
        if (!colliding || old_hash_home_zero(t, slots)) ids[n++] = t;
        else must(pcstate_transport_remove(p, t), "remove");
    }
    return p;
}

/* No-change updates rotating over all `live` transports of a pattern peer (each set completed,
 * then connected again: the aggregates stay connected). */
static double bench_pattern(pcstate_peer p, const pcstate_transport *ids, int live) {
    uint64_t n = iters(10000000), t0 = now_ns();
    for (uint64_t i = 0; i < n; i++)
        pcstate_transport_set_ice_state(p, ids[(i >> 1) % (uint64_t)live],
                                        (i & 1) ? PCSTATE_ICE_TRANSPORT_STATE_CONNECTED
                                                : PCSTATE_ICE_TRANSPORT_STATE_COMPLETED);
    return (double)(now_ns() - t0) / (double)n;
}

/* No-change updates of one transport of a strided peer. */
static double bench_strided(pcstate_peer p, pcstate_transport t) {
    uint64_t n = iters(10000000), t0 = now_ns();
    for (uint64_t i = 0; i < n; i++)
        pcstate_transport_set_ice_state(p, t, (i & 1) ? PCSTATE_ICE_TRANSPORT_STATE_COMPLETED
                                                      : PCSTATE_ICE_TRANSPORT_STATE_CONNECTED);
    return (double)(now_ns() - t0) / (double)n;
}

/* pcstate_transport_note_alive per received packet, liveness on, rotating over PEERS peers. */
static double bench_note_alive(const pcstate_peer *p) {
    uint64_t n = iters(10000000) / PEERS, t0 = now_ns();
    for (uint64_t i = 0; i < n; i++)
        for (int j = 0; j < PEERS; j++) pcstate_transport_note_alive(p[j], 1, 1000000000u + i);
    return (double)(now_ns() - t0) / (double)(n * PEERS);
}

/* pcstate_peer_tick when nothing is due (the common case), on a peer with `n` watched transports. */
static double bench_tick(pcstate_peer p) {
    uint64_t n = iters(10000000), next = 0, t0 = now_ns();
    for (uint64_t i = 0; i < n; i++) pcstate_peer_tick(p, 1000000000u + i, &next);
    return (double)(now_ns() - t0) / (double)n;
}

/* A peer with n connected transports, liveness on (5 s / 30 s) and its clocks started. */
static pcstate_peer live_peer(int n) {
    pcstate_peer p = connected_peer(n, 0);
    uint64_t next;
    must(pcstate_peer_set_liveness(p, 5000000000u, 30000000000u), "liveness");
    must(pcstate_peer_tick(p, 1000000000u, &next), "tick");
    return p;
}

/* ---- memory and create/free ---------------------------------------------------------------------- */
static long rss_bytes(void) {
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f || fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    if (f) fclose(f);
    return resident * sysconf(_SC_PAGESIZE);
}

static double bench_memory(int peers, int transports) {
    pcstate_peer *h = malloc(sizeof *h * (size_t)peers);
    long before = rss_bytes();
    for (int i = 0; i < peers; i++) {
        must(pcstate_peer_new(PCSTATE_PROFILE_W3C, 0, &h[i]), "peer_new");
        for (int j = 0; j < transports; j++) {
            pcstate_transport t;
            must(pcstate_transport_add(h[i], &t), "add");
        }
    }
    long after = rss_bytes();
    for (int i = 0; i < peers; i++) pcstate_peer_free(h[i]);
    free(h);
    return (double)(after - before) / peers;
}

static double bench_create_free(void) {
    uint64_t n = iters(2000000), t0 = now_ns();
    for (uint64_t i = 0; i < n; i++) {
        pcstate_peer p;
        pcstate_peer_new(PCSTATE_PROFILE_W3C, 0, &p);
        pcstate_peer_free(p);
    }
    return (double)(now_ns() - t0) / (double)n;
}

/* ---- the event queue ------------------------------------------------------------------------------ */
static double bench_poll(void) {
    pcstate_peer p = connected_peer(2, PCSTATE_FLAG_EVENT_QUEUE);
    uint64_t updates = iters(500000);
    for (uint64_t i = 0; i < updates; i++)
        pcstate_transport_set_ice_state(p, 1, (i & 1) ? PCSTATE_ICE_TRANSPORT_STATE_CONNECTED
                                                       : PCSTATE_ICE_TRANSPORT_STATE_DISCONNECTED);
    pcstate_event e;
    uint64_t got = 0, t0 = now_ns();
    while (pcstate_peer_poll_event(p, &e) == PCSTATE_RESULT_OK) got++;
    double ns = (double)(now_ns() - t0) / (double)(got ? got : 1);
    pcstate_peer_free(p);
    return ns;
}

/* Transport 1's gatherer toggles gathering <-> complete (the other's stays complete): one event
 * (iceGatheringState) per update. */
static uint32_t gatherer_toggle(uint64_t i) {
    return (i & 1) ? PCSTATE_ICE_GATHERER_STATE_COMPLETE : PCSTATE_ICE_GATHERER_STATE_GATHERING;
}

/* A connected peer whose gatherers are complete. */
static pcstate_peer gathered_peer(uint32_t flags) {
    pcstate_peer p = connected_peer(2, flags);
    for (pcstate_transport t = 1; t <= 2; t++)
        must(pcstate_transport_set_gatherer_state(p, t, PCSTATE_ICE_GATHERER_STATE_COMPLETE), "gatherer");
    pcstate_event e;
    while (pcstate_peer_poll_event(p, &e) == PCSTATE_RESULT_OK) {
    }
    return p;
}

/* An update committing 1 event to a callback, rotating over PEERS peers. */
static double bench_event1(const pcstate_peer *p) {
    uint64_t n = iters(2000000) / PEERS, t0 = now_ns();
    for (uint64_t i = 0; i < n; i++)
        for (int j = 0; j < PEERS; j++) pcstate_transport_set_gatherer_state(p[j], 1, gatherer_toggle(i));
    return (double)(now_ns() - t0) / (double)(n * PEERS);
}

/* An update committing 1 event to the queue, then the poll that takes it. */
static double bench_queue(void) {
    pcstate_peer p = gathered_peer(PCSTATE_FLAG_EVENT_QUEUE);
    pcstate_event e;
    uint64_t n = iters(2000000), t0 = now_ns();
    for (uint64_t i = 0; i < n; i++) {
        pcstate_transport_set_gatherer_state(p, 1, gatherer_toggle(i));
        while (pcstate_peer_poll_event(p, &e) == PCSTATE_RESULT_OK) events_seen += e.seq;
    }
    double ns = (double)(now_ns() - t0) / (double)n;
    pcstate_peer_free(p);
    return ns;
}

/* ---- one operation, for counting instructions (bench/instructions.py) ----------------------------- */
typedef struct {
    const char *name, *what;
} op_info;

static const op_info ops[] = {
    {"mutex", "baseline: pthread mutex lock+unlock around a store"},
    {"nochange", "update, no aggregate change"},
    {"event", "update committing 1 event to a callback"},
    {"event2", "update committing 2 events to a callback"},
    {"queue", "update committing 1 event to the queue + its poll"},
    {"note_alive", "note_alive per packet (liveness on)"},
    {"create", "peer create + free"},
};

/* Runs operation `name` `n` times after a set-up that does not depend on `n`, so that the
 * difference of two runs' instruction counts is n2 - n1 operations. */
static int run_op(const char *name, uint64_t n) {
    pcstate_peer p;
    pcstate_event e;
    if (!strcmp(name, "mutex")) {
        for (uint64_t i = 0; i < n; i++) {
            pthread_mutex_lock(&mu);
            sink = (uint32_t)i;
            pthread_mutex_unlock(&mu);
        }
    } else if (!strcmp(name, "nochange")) {
        p = connected_peer(2, 0);
        for (uint64_t i = 0; i < n; i++)
            pcstate_transport_set_ice_state(p, 1, (i & 1) ? PCSTATE_ICE_TRANSPORT_STATE_COMPLETED
                                                           : PCSTATE_ICE_TRANSPORT_STATE_CONNECTED);
    } else if (!strcmp(name, "event")) {
        p = gathered_peer(0);
        must(pcstate_peer_set_callback(p, count_event, NULL, NULL), "set_callback");
        for (uint64_t i = 0; i < n; i++) pcstate_transport_set_gatherer_state(p, 1, gatherer_toggle(i));
    } else if (!strcmp(name, "event2")) {
        p = connected_peer(2, 0);
        must(pcstate_peer_set_callback(p, count_event, NULL, NULL), "set_callback");
        for (uint64_t i = 0; i < n; i++)
            pcstate_transport_set_ice_state(p, 1, (i & 1) ? PCSTATE_ICE_TRANSPORT_STATE_CONNECTED
                                                           : PCSTATE_ICE_TRANSPORT_STATE_DISCONNECTED);
    } else if (!strcmp(name, "queue")) {
        p = gathered_peer(PCSTATE_FLAG_EVENT_QUEUE);
        for (uint64_t i = 0; i < n; i++) {
            pcstate_transport_set_gatherer_state(p, 1, gatherer_toggle(i));
            must(pcstate_peer_poll_event(p, &e), "poll");
        }
    } else if (!strcmp(name, "note_alive")) {
        p = live_peer(2);
        for (uint64_t i = 0; i < n; i++) pcstate_transport_note_alive(p, 1, 1000000000u + i);
    } else if (!strcmp(name, "create")) {
        for (uint64_t i = 0; i < n; i++) {
            must(pcstate_peer_new(PCSTATE_PROFILE_W3C, 0, &p), "peer_new");
            must(pcstate_peer_free(p), "peer_free");
        }
    } else {
        fprintf(stderr, "unknown --op %s\n", name);
        return 2;
    }
    return 0;
}

static double min2(double a, double b) { return a < b ? a : b; }
static double max2(double a, double b) { return a > b ? a : b; }

int main(int argc, char **argv) {
    const char *json = NULL, *op = NULL;
    uint64_t count = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--scale") && i + 1 < argc) scale = atof(argv[++i]);
        else if (!strcmp(argv[i], "--json") && i + 1 < argc) json = argv[++i];
        else if (!strcmp(argv[i], "--op") && i + 1 < argc) op = argv[++i];
        else if (!strcmp(argv[i], "--count") && i + 1 < argc) count = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--memory")) {
            printf("memory per peer with 4 transports: %.0f B\n", bench_memory(100000, 4));
            return 0;
        }
        else if (!strcmp(argv[i], "--list-ops")) {
            for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) printf("%s\t%s\n", ops[k].name, ops[k].what);
            return 0;
        }
    }
    /* glibc takes the lock fast path without atomics until a process has had a second thread. */
    pthread_t t;
    pthread_create(&t, NULL, nothing, NULL);
    pthread_join(t, NULL);
    if (op) return run_op(op, count);

    const int sizes[3] = {2, 64, 1024};
    pcstate_peer quiet[3][PEERS], loud[3][PEERS];
    naive_peer *naive[3];
    for (int i = 0; i < 3; i++) {
        for (int j = 0; j < PEERS; j++) {
            quiet[i][j] = connected_peer(sizes[i], 0);
            loud[i][j] = connected_peer(sizes[i], 0);
            must(pcstate_peer_set_callback(loud[i][j], count_event, NULL, NULL), "set_callback");
        }
        naive[i] = naive_new(sizes[i]);
    }
    pcstate_peer gathered[PEERS];
    for (int j = 0; j < PEERS; j++) {
        gathered[j] = gathered_peer(0);
        must(pcstate_peer_set_callback(gathered[j], count_event, NULL, NULL), "set_callback");
    }
    double mutex = 1e18, nochange[3], event[3], rescan[3], event1 = 1e18;
    for (int i = 0; i < 3; i++) nochange[i] = event[i] = rescan[i] = 1e18;
    for (int r = 0; r < REPS; r++) {
        mutex = min2(mutex, bench_mutex());
        event1 = min2(event1, bench_event1(gathered));
        for (int i = 0; i < 3; i++) {
            nochange[i] = min2(nochange[i], bench_nochange(quiet[i]));
            event[i] = min2(event[i], bench_event(loud[i]));
            rescan[i] = min2(rescan[i], bench_naive(naive[i]));
        }
    }
    double one = 0, two = 0, shared = 0, create_free = 1e18, poll = 1e18, m_one = 0, m_two = 0;
    /* 1-thread and 2-thread runs interleaved, so both see the same machine conditions. */
    for (int r = 0; r < 2 * REPS; r++) {
        one = max2(one, bench_threads(1, 0));
        two = max2(two, bench_threads(2, 0));
        shared = max2(shared, bench_threads(2, 1));
        m_one = max2(m_one, bench_mutex_threads(1));
        m_two = max2(m_two, bench_mutex_threads(2));
        if (r < REPS) {
            create_free = min2(create_free, bench_create_free());
            poll = min2(poll, bench_poll());
        }
    }
    int stride_live = scale < 1 ? 300 : 3000;
    pcstate_transport strided_t;
    pcstate_peer strided = strided_peer(stride_live, 4096, &strided_t);
    /* The same number of live transports: ids 1..N, and ids that all collide under the old hash. */
    int pattern_live = scale < 1 ? 300 : 3000;
    pcstate_transport *seq_ids = malloc(sizeof *seq_ids * (size_t)pattern_live);
    pcstate_transport *col_ids = malloc(sizeof *col_ids * (size_t)pattern_live);
    pcstate_peer sequential = pattern_peer(pattern_live, 0, seq_ids);
    pcstate_peer colliding = pattern_peer(pattern_live, 1, col_ids);
    double seq_ns = 1e18, col_ns = 1e18, queue_ns = 1e18;
    for (int r = 0; r < REPS; r++) {
        seq_ns = min2(seq_ns, bench_pattern(sequential, seq_ids, pattern_live));
        col_ns = min2(col_ns, bench_pattern(colliding, col_ids, pattern_live));
        queue_ns = min2(queue_ns, bench_queue());
    }
    pcstate_peer_free(sequential);
    pcstate_peer_free(colliding);
    free(seq_ids);
    free(col_ids);
    pcstate_peer alive[PEERS], ticking[2];
    for (int j = 0; j < PEERS; j++) alive[j] = live_peer(2);
    ticking[0] = live_peer(2);
    ticking[1] = live_peer(1024);
    double stride_ns = 1e18, alive_ns = 1e18, tick_ns[2] = {1e18, 1e18}, elsewhere = 0;
    for (int r = 0; r < REPS; r++) {
        stride_ns = min2(stride_ns, bench_strided(strided, strided_t));
        alive_ns = min2(alive_ns, bench_note_alive(alive));
        for (int i = 0; i < 2; i++) tick_ns[i] = min2(tick_ns[i], bench_tick(ticking[i]));
    }
    for (int r = 0; r < 2 * REPS; r++) elsewhere = max2(elsewhere, bench_threads_created_elsewhere());
    /* Observability: updates that change the aggregates move the process-wide gauges; with
     * PCSTATE_FLAG_HISTORY they also fill the history ring. */
    double ev_one = 0, ev_two = 0, hist_one = 0, hist_two = 0;
    for (int r = 0; r < 2 * REPS; r++) {
        ev_one = max2(ev_one, bench_threads_mode(1, 0, 1, 0));
        ev_two = max2(ev_two, bench_threads_mode(2, 0, 1, 0));
        hist_one = max2(hist_one, bench_threads_mode(1, 0, 1, PCSTATE_FLAG_HISTORY));
        hist_two = max2(hist_two, bench_threads_mode(2, 0, 1, PCSTATE_FLAG_HISTORY));
    }
    pcstate_peer_free(strided);
    for (int j = 0; j < PEERS; j++) pcstate_peer_free(gathered[j]);
    for (int j = 0; j < PEERS; j++) pcstate_peer_free(alive[j]);
    for (int i = 0; i < 2; i++) pcstate_peer_free(ticking[i]);
    int mem_peers = scale < 1 ? 1000 : 100000;
    double bytes = bench_memory(mem_peers, 4);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);

    printf("pcstate %s benchmarks (%ld CPUs, scale %g, best of %d; updates rotate over %d peers)\n\n",
           pcstate_version(), cpus, scale, REPS, PEERS);
    printf("%-58s %10s %10s\n", "figure", "value", "ratio");
    printf("%-58s %8.1f ns %10s\n", "baseline: pthread mutex lock+unlock around a store", mutex, "1.00x");
    for (int i = 0; i < 3; i++) {
        char label[96];
        snprintf(label, sizeof label, "set_ice_state, no aggregate change, %d transports", sizes[i]);
        printf("%-58s %8.1f ns %9.2fx mutex\n", label, nochange[i], nochange[i] / mutex);
    }
    for (int i = 0; i < 3; i++) {
        char label[96];
        snprintf(label, sizeof label, "set_ice_state committing 2 events to a callback, %d tr.", sizes[i]);
        printf("%-58s %8.1f ns %9.2fx mutex\n", label, event[i], event[i] / mutex);
    }
    printf("%-58s %8.1f ns %9.2fx mutex\n", "update committing 1 event to a callback, 2 transports", event1,
           event1 / mutex);
    for (int i = 0; i < 3; i++) {
        char label[96];
        snprintf(label, sizeof label, "naive rescan update, %d transports", sizes[i]);
        printf("%-58s %8.1f ns %9.2fx pcstate\n", label, rescan[i], rescan[i] / nochange[i]);
    }
    printf("%-58s %9.2fx\n", "no-change update: 1024 transports / 2 transports", nochange[2] / nochange[0]);
    printf("%-58s %7.1f M/s %10s\n", "throughput, 1 thread", one, "1.00x");
    printf("%-58s %7.1f M/s %9.2fx 1 thread\n", "throughput, 2 threads on different peers", two, two / one);
    printf("%-58s %7.1f M/s %9.2fx 1 thread\n", "throughput, 2 threads on one shared peer", shared, shared / one);
    printf("%-58s %7.1f M/s %9.2fx 1 thread\n", "throughput, 2 threads, peers made by a third thread", elsewhere,
           elsewhere / one);
    printf("%-58s %9.2fx\n", "control: private mutex pairs, 2 threads / 1 thread (machine)", m_two / m_one);
    char label[96];
    printf("%-58s %7.1f M/s %9.2fx 1 thread\n", "changing updates (gauges move), 2 threads / 1", ev_two, ev_two / ev_one);
    printf("%-58s %7.1f M/s %9.2fx no hist.\n", "changing updates with history, 1 thread", hist_one, hist_one / ev_one);
    printf("%-58s %7.1f M/s %9.2fx 1 thread\n", "changing updates with history, 2 threads / 1", hist_two,
           hist_two / hist_one);
    snprintf(label, sizeof label, "no-change update, %d live transports, every 4096th id", stride_live);
    printf("%-58s %8.1f ns %9.2fx 2 tr.\n", label, stride_ns, stride_ns / nochange[0]);
    snprintf(label, sizeof label, "no-change updates over %d live transports, ids 1..%d", pattern_live, pattern_live);
    printf("%-58s %8.1f ns %9.2fx 2 tr.\n", label, seq_ns, seq_ns / nochange[0]);
    snprintf(label, sizeof label, "the same, %d ids colliding under the old fixed hash", pattern_live);
    printf("%-58s %8.1f ns %9.2fx ids 1..N\n", label, col_ns, col_ns / seq_ns);
    printf("%-58s %8.1f ns %9.2fx mutex\n", "update committing 1 event to the queue + its poll", queue_ns,
           queue_ns / mutex);
    printf("%-58s %8.1f ns %9.2fx mutex\n", "note_alive per packet (liveness on)", alive_ns, alive_ns / mutex);
    printf("%-58s %8.1f ns %9.2fx mutex\n", "tick, nothing due, 2 watched transports", tick_ns[0], tick_ns[0] / mutex);
    printf("%-58s %8.1f ns %9.2fx mutex\n", "tick, nothing due, 1024 watched transports", tick_ns[1],
           tick_ns[1] / mutex);
    printf("%-58s %8.0f B\n", "memory per peer with 4 transports", bytes);
    printf("%-58s %8.1f ns %9.2fx mutex\n", "peer create + free", create_free, create_free / mutex);
    printf("%-58s %8.1f ns %9.2fx mutex\n", "pcstate_peer_poll_event, per event", poll, poll / mutex);

    struct {
        const char *what;
        int met;
    } targets[] = {
        {"no-change update <= 2.0x the mutex pair", nochange[0] / mutex <= 2.0},
        {"1024 transports <= 1.1x 2 transports", nochange[2] / nochange[0] <= 1.1},
        {"2 threads on different peers >= 1.8x one thread", two / one >= 1.8},
        {"<= 256 bytes per peer with 4 transports", bytes <= 256},
        {"strided ids: update <= 1.5x the 2-transport figure", stride_ns / nochange[0] <= 1.5},
        {"colliding ids: update <= 3x ids 1..N, same live count", col_ns / seq_ns <= 3.0},
        {"note_alive <= 1.5x the mutex pair", alive_ns / mutex <= 1.5},
        {"tick with 1024 transports <= 1.5x with 2", tick_ns[1] / tick_ns[0] <= 1.5},
        {"changing updates, 2 threads >= 1.8x one (no shared counters)", ev_two / ev_one >= 1.8},
        {"create + free <= 10x the mutex pair", create_free / mutex <= 10},
        {"naive rescan at 1024 transports >= 20x pcstate", rescan[2] / nochange[2] >= 20},
    };
    int ok = 1;
    printf("\ntargets:\n");
    for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++) {
        printf("  %-52s %s\n", targets[i].what, targets[i].met ? "met" : "MISSED");
        ok &= targets[i].met;
    }

    if (json) {
        FILE *f = fopen(json, "w");
        if (!f) {
            perror(json);
            return 1;
        }
        fprintf(f, "{\n  \"version\": \"%s\",\n  \"cpus\": %ld,\n  \"scale\": %g,\n", pcstate_version(), cpus, scale);
        fprintf(f, "  \"mutex_pair_ns\": %.2f,\n", mutex);
        for (int i = 0; i < 3; i++) {
            fprintf(f, "  \"set_ice_nochange_%d_ns\": %.2f,\n", sizes[i], nochange[i]);
            fprintf(f, "  \"set_ice_2_events_%d_ns\": %.2f,\n", sizes[i], event[i]);
            fprintf(f, "  \"naive_rescan_%d_ns\": %.2f,\n", sizes[i], rescan[i]);
        }
        fprintf(f, "  \"nochange_ratio_to_mutex\": %.3f,\n", nochange[0] / mutex);
        fprintf(f, "  \"nochange_1024_over_2\": %.3f,\n", nochange[2] / nochange[0]);
        fprintf(f, "  \"naive_1024_over_pcstate\": %.1f,\n", rescan[2] / nochange[2]);
        fprintf(f, "  \"throughput_1_thread_mops\": %.2f,\n", one);
        fprintf(f, "  \"throughput_2_threads_mops\": %.2f,\n", two);
        fprintf(f, "  \"throughput_2_threads_shared_peer_mops\": %.2f,\n", shared);
        fprintf(f, "  \"scaling_2_threads\": %.3f,\n", two / one);
        fprintf(f, "  \"machine_scaling_2_threads_private_mutexes\": %.3f,\n", m_two / m_one);
        fprintf(f, "  \"throughput_2_threads_peers_made_elsewhere_mops\": %.2f,\n", elsewhere);
        fprintf(f, "  \"scaling_2_threads_peers_made_elsewhere\": %.3f,\n", elsewhere / one);
        fprintf(f, "  \"changing_updates_1_thread_mops\": %.2f,\n", ev_one);
        fprintf(f, "  \"changing_updates_scaling_2_threads\": %.3f,\n", ev_two / ev_one);
        fprintf(f, "  \"changing_updates_history_1_thread_mops\": %.2f,\n", hist_one);
        fprintf(f, "  \"changing_updates_history_scaling_2_threads\": %.3f,\n", hist_two / hist_one);
        fprintf(f, "  \"strided_%d_live_nochange_ns\": %.2f,\n", stride_live, stride_ns);
        fprintf(f, "  \"strided_over_2_transports\": %.3f,\n", stride_ns / nochange[0]);
        fprintf(f, "  \"sequential_%d_live_nochange_ns\": %.2f,\n", pattern_live, seq_ns);
        fprintf(f, "  \"colliding_%d_live_nochange_ns\": %.2f,\n", pattern_live, col_ns);
        fprintf(f, "  \"colliding_over_sequential\": %.3f,\n", col_ns / seq_ns);
        fprintf(f, "  \"event_1_callback_ns\": %.2f,\n", event1);
        fprintf(f, "  \"event_1_queue_and_poll_ns\": %.2f,\n", queue_ns);
        fprintf(f, "  \"note_alive_ns\": %.2f,\n", alive_ns);
        fprintf(f, "  \"note_alive_ratio_to_mutex\": %.3f,\n", alive_ns / mutex);
        fprintf(f, "  \"tick_nothing_due_2_ns\": %.2f,\n", tick_ns[0]);
        fprintf(f, "  \"tick_nothing_due_1024_ns\": %.2f,\n", tick_ns[1]);
        fprintf(f, "  \"bytes_per_peer_4_transports\": %.1f,\n", bytes);
        fprintf(f, "  \"memory_peers\": %d,\n", mem_peers);
        fprintf(f, "  \"create_free_ns\": %.2f,\n", create_free);
        fprintf(f, "  \"create_free_ratio_to_mutex\": %.3f,\n", create_free / mutex);
        fprintf(f, "  \"poll_event_ns\": %.2f,\n", poll);
        fprintf(f, "  \"targets_met\": %s\n}\n", ok ? "true" : "false");
        fclose(f);
    }
    (void)events_seen;
    return 0;
}
