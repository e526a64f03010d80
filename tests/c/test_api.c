/* C test of the whole pcstate API: every function, every error code the contract names, events,
 * close, callbacks (reentrant close, replace, free from inside), the event queue and its fd.
 * Built against libpcstate.so and libpcstate.a, run under ASan and UBSan (see Makefile). */
#define _DEFAULT_SOURCE /* fork, pipe, usleep, pthread for the callback-must-return test */
#include "pcstate.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static int failures = 0;
static int checks = 0;

#define CHECK(cond)                                                                   \
    do {                                                                              \
        checks++;                                                                     \
        if (!(cond)) {                                                                \
            failures++;                                                               \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                             \
    } while (0)

#define EXPECT(call, want)                                                                  \
    do {                                                                                    \
        pcstate_result r_ = (call);                                                         \
        checks++;                                                                           \
        if (r_ != (uint32_t)(want)) {                                                       \
            failures++;                                                                     \
            fprintf(stderr, "%s:%d: %s returned %u (%s), wanted %u\n", __FILE__, __LINE__, \
                    #call, r_, pcstate_result_message(r_), (unsigned)(want));              \
        }                                                                                   \
    } while (0)

/* A recording registration: user_data is a heap-allocated struct freed by user_data_free. */
typedef struct recorder {
    pcstate_event events[64];
    int count;
    int *frees;              /* incremented by user_data_free */
    int close_on_connecting; /* close the peer from inside the callback */
    int free_on_first;       /* free the peer from inside the callback */
    int replace_on_first;    /* replace the callback from inside the callback */
    int depth, max_depth;
} recorder;

static void on_event(void *user_data, const pcstate_event *e);

static void free_recorder(void *user_data) {
    recorder *r = (recorder *)user_data;
    (*r->frees)++;
    free(r);
}

static recorder *make_recorder(int *frees) {
    recorder *r = (recorder *)calloc(1, sizeof *r);
    r->frees = frees;
    return r;
}

static int replaced_frees = 0;
static recorder *replacement = NULL;

static void on_event(void *user_data, const pcstate_event *e) {
    recorder *r = (recorder *)user_data;
    r->depth++;
    if (r->depth > r->max_depth) r->max_depth = r->depth;
    if (r->count < 64) r->events[r->count++] = *e;
    if (r->close_on_connecting && e->kind == PCSTATE_EVENT_KIND_CONNECTION_STATE &&
        e->new_state == PCSTATE_CONNECTION_STATE_CONNECTING) {
        EXPECT(pcstate_peer_close(e->peer), PCSTATE_RESULT_OK);
    }
    if (r->free_on_first && r->count == 1) {
        EXPECT(pcstate_peer_free(e->peer), PCSTATE_RESULT_OK);
        CHECK(*r->frees == 0); /* our user_data lives until we return */
    }
    if (r->replace_on_first && r->count == 1) {
        replacement = make_recorder(&replaced_frees);
        EXPECT(pcstate_peer_set_callback(e->peer, on_event, replacement, free_recorder),
               PCSTATE_RESULT_OK);
        CHECK(*r->frees == 0);
    }
    r->depth--;
}

static int readable(int fd) {
    struct pollfd p;
    p.fd = fd;
    p.events = POLLIN;
    p.revents = 0;
    CHECK(poll(&p, 1, 0) >= 0);
    return (p.revents & POLLIN) != 0;
}

static void test_names(void) {
    CHECK(strcmp(pcstate_version(), "0.1.0") >= 0 && strlen(pcstate_version()) >= 5);
    for (uint32_t c = 0; c <= 12; c++) CHECK(pcstate_result_message(c) != NULL);
    CHECK(strcmp(pcstate_result_message(PCSTATE_RESULT_OK), "ok") == 0);
    CHECK(strcmp(pcstate_connection_state_name(PCSTATE_CONNECTION_STATE_CONNECTED), "connected") == 0);
    CHECK(pcstate_connection_state_name(6) == NULL);
    CHECK(strcmp(pcstate_ice_connection_state_name(PCSTATE_ICE_CONNECTION_STATE_COMPLETED), "completed") == 0);
    CHECK(pcstate_ice_connection_state_name(7) == NULL);
    CHECK(strcmp(pcstate_ice_transport_state_name(PCSTATE_ICE_TRANSPORT_STATE_CHECKING), "checking") == 0);
    CHECK(pcstate_ice_transport_state_name(7) == NULL);
    CHECK(strcmp(pcstate_dtls_transport_state_name(PCSTATE_DTLS_TRANSPORT_STATE_FAILED), "failed") == 0);
    CHECK(pcstate_dtls_transport_state_name(5) == NULL);
    CHECK(strcmp(pcstate_ice_gathering_state_name(PCSTATE_ICE_GATHERING_STATE_GATHERING), "gathering") == 0);
    CHECK(pcstate_ice_gathering_state_name(3) == NULL);
    CHECK(strcmp(pcstate_ice_gatherer_state_name(PCSTATE_ICE_GATHERER_STATE_COMPLETE), "complete") == 0);
    CHECK(pcstate_ice_gatherer_state_name(3) == NULL);
}

static void test_errors(void) {
    pcstate_peer p = 0, q = 0, freed = 0, out = 4242;
    pcstate_transport t = 0, gone = 0, tout = 4242;
    uint32_t v = 4242;
    int fd = 4242;
    pcstate_event ev;
    pcstate_snapshot s1, s2;
    pcstate_transport_states st = {4242, 4242, 4242};

    EXPECT(pcstate_peer_new(PCSTATE_PROFILE_W3C, 0, NULL), PCSTATE_RESULT_NULL_ARGUMENT);
    EXPECT(pcstate_peer_new(3, 0, &out), PCSTATE_RESULT_INVALID_ARGUMENT);
    EXPECT(pcstate_peer_new(0, 16, &out), PCSTATE_RESULT_INVALID_ARGUMENT);
    CHECK(out == 4242);
    EXPECT(pcstate_peer_new(PCSTATE_PROFILE_W3C, PCSTATE_FLAG_EVENT_QUEUE, &p), PCSTATE_RESULT_OK);
    EXPECT(pcstate_peer_new(PCSTATE_PROFILE_LEGACY_2016, 0, &q), PCSTATE_RESULT_OK);
    EXPECT(pcstate_peer_new(PCSTATE_PROFILE_W3C_LITERAL, 0, &freed), PCSTATE_RESULT_OK);
    EXPECT(pcstate_peer_free(freed), PCSTATE_RESULT_OK);
    EXPECT(pcstate_transport_add(p, &t), PCSTATE_RESULT_OK);
    EXPECT(pcstate_transport_add(p, &gone), PCSTATE_RESULT_OK);
    EXPECT(pcstate_transport_remove(p, gone), PCSTATE_RESULT_OK);
    EXPECT(pcstate_peer_snapshot(p, &s1), PCSTATE_RESULT_OK);

    /* NULL out-pointers */
    EXPECT(pcstate_transport_add(p, NULL), PCSTATE_RESULT_NULL_ARGUMENT);
    EXPECT(pcstate_transport_get_states(p, t, NULL), PCSTATE_RESULT_NULL_ARGUMENT);
    EXPECT(pcstate_peer_connection_state(p, NULL), PCSTATE_RESULT_NULL_ARGUMENT);
    EXPECT(pcstate_peer_ice_connection_state(p, NULL), PCSTATE_RESULT_NULL_ARGUMENT);
    EXPECT(pcstate_peer_ice_gathering_state(p, NULL), PCSTATE_RESULT_NULL_ARGUMENT);
    EXPECT(pcstate_peer_snapshot(p, NULL), PCSTATE_RESULT_NULL_ARGUMENT);
    EXPECT(pcstate_peer_poll_event(p, NULL), PCSTATE_RESULT_NULL_ARGUMENT);
    EXPECT(pcstate_peer_event_fd(p, NULL), PCSTATE_RESULT_NULL_ARGUMENT);

    /* invalid handles: 0, never issued, freed */
    pcstate_peer bad[3] = {0, ((pcstate_peer)7 << 32) | 123456u, freed};
    for (int i = 0; i < 3; i++) {
        pcstate_peer h = bad[i];
        EXPECT(pcstate_peer_close(h), PCSTATE_RESULT_INVALID_HANDLE);
        EXPECT(pcstate_peer_free(h), PCSTATE_RESULT_INVALID_HANDLE);
        EXPECT(pcstate_transport_add(h, &tout), PCSTATE_RESULT_INVALID_HANDLE);
        EXPECT(pcstate_transport_remove(h, 1), PCSTATE_RESULT_INVALID_HANDLE);
        EXPECT(pcstate_transport_set_ice_state(h, 1, 1), PCSTATE_RESULT_INVALID_HANDLE);
        EXPECT(pcstate_transport_set_dtls_state(h, 1, 1), PCSTATE_RESULT_INVALID_HANDLE);
        EXPECT(pcstate_transport_set_gatherer_state(h, 1, 1), PCSTATE_RESULT_INVALID_HANDLE);
        EXPECT(pcstate_transport_get_states(h, 1, &st), PCSTATE_RESULT_INVALID_HANDLE);
        EXPECT(pcstate_peer_connection_state(h, &v), PCSTATE_RESULT_INVALID_HANDLE);
        EXPECT(pcstate_peer_ice_connection_state(h, &v), PCSTATE_RESULT_INVALID_HANDLE);
        EXPECT(pcstate_peer_ice_gathering_state(h, &v), PCSTATE_RESULT_INVALID_HANDLE);
        EXPECT(pcstate_peer_snapshot(h, &s2), PCSTATE_RESULT_INVALID_HANDLE);
        EXPECT(pcstate_peer_set_callback(h, on_event, NULL, NULL), PCSTATE_RESULT_INVALID_HANDLE);
        EXPECT(pcstate_peer_poll_event(h, &ev), PCSTATE_RESULT_INVALID_HANDLE);
        EXPECT(pcstate_peer_event_fd(h, &fd), PCSTATE_RESULT_INVALID_HANDLE);
    }
    CHECK(tout == 4242 && v == 4242 && fd == 4242 && st.ice_state == 4242);

    /* out-of-range states */
    EXPECT(pcstate_transport_set_ice_state(p, t, 7), PCSTATE_RESULT_INVALID_STATE);
    EXPECT(pcstate_transport_set_dtls_state(p, t, 5), PCSTATE_RESULT_INVALID_STATE);
    EXPECT(pcstate_transport_set_gatherer_state(p, t, 3), PCSTATE_RESULT_INVALID_STATE);

    /* unknown transports: 0, never added, removed */
    pcstate_transport ids[3] = {0, 999, gone};
    for (int i = 0; i < 3; i++) {
        EXPECT(pcstate_transport_remove(p, ids[i]), PCSTATE_RESULT_UNKNOWN_TRANSPORT);
        EXPECT(pcstate_transport_set_ice_state(p, ids[i], 1), PCSTATE_RESULT_UNKNOWN_TRANSPORT);
        EXPECT(pcstate_transport_set_dtls_state(p, ids[i], 1), PCSTATE_RESULT_UNKNOWN_TRANSPORT);
        EXPECT(pcstate_transport_set_gatherer_state(p, ids[i], 1), PCSTATE_RESULT_UNKNOWN_TRANSPORT);
        EXPECT(pcstate_transport_get_states(p, ids[i], &st), PCSTATE_RESULT_UNKNOWN_TRANSPORT);
    }
    CHECK(st.ice_state == 4242);

    /* queue functions without the flag; EMPTY with it */
    EXPECT(pcstate_peer_poll_event(q, &ev), PCSTATE_RESULT_INVALID_ARGUMENT);
    EXPECT(pcstate_peer_event_fd(q, &fd), PCSTATE_RESULT_INVALID_ARGUMENT);
    CHECK(fd == 4242);
    EXPECT(pcstate_peer_poll_event(p, &ev), PCSTATE_RESULT_EMPTY);

    /* nothing changed */
    EXPECT(pcstate_peer_snapshot(p, &s2), PCSTATE_RESULT_OK);
    CHECK(memcmp(&s1, &s2, sizeof s1) == 0);

    /* closed */
    EXPECT(pcstate_peer_close(p), PCSTATE_RESULT_OK);
    EXPECT(pcstate_peer_close(p), PCSTATE_RESULT_OK);
    EXPECT(pcstate_transport_add(p, &tout), PCSTATE_RESULT_CLOSED);
    EXPECT(pcstate_transport_remove(p, t), PCSTATE_RESULT_CLOSED);
    EXPECT(pcstate_transport_set_ice_state(p, t, 1), PCSTATE_RESULT_CLOSED);
    EXPECT(pcstate_transport_set_dtls_state(p, t, 1), PCSTATE_RESULT_CLOSED);
    EXPECT(pcstate_transport_set_gatherer_state(p, t, 1), PCSTATE_RESULT_CLOSED);
    EXPECT(pcstate_transport_get_states(p, t, &st), PCSTATE_RESULT_OK);
    CHECK(st.ice_state == PCSTATE_ICE_TRANSPORT_STATE_CLOSED);
    CHECK(st.dtls_state == PCSTATE_DTLS_TRANSPORT_STATE_CLOSED);
    CHECK(st.gatherer_state == PCSTATE_ICE_GATHERER_STATE_NEW);
    EXPECT(pcstate_peer_connection_state(p, &v), PCSTATE_RESULT_OK);
    CHECK(v == PCSTATE_CONNECTION_STATE_CLOSED);
    EXPECT(pcstate_peer_ice_connection_state(p, &v), PCSTATE_RESULT_OK);
    CHECK(v == PCSTATE_ICE_CONNECTION_STATE_CLOSED);
    EXPECT(pcstate_peer_ice_gathering_state(p, &v), PCSTATE_RESULT_OK);
    CHECK(v == PCSTATE_ICE_GATHERING_STATE_NEW);

    EXPECT(pcstate_peer_free(p), PCSTATE_RESULT_OK);
    EXPECT(pcstate_peer_free(q), PCSTATE_RESULT_OK);
    EXPECT(pcstate_peer_free(p), PCSTATE_RESULT_INVALID_HANDLE);
}

static void test_events_and_queue(void) {
    pcstate_peer p;
    pcstate_transport t1, t2;
    int frees = 0, fd = -1;
    pcstate_event ev;
    EXPECT(pcstate_peer_new(PCSTATE_PROFILE_W3C, PCSTATE_FLAG_EVENT_QUEUE | PCSTATE_FLAG_CLOSE_EVENTS, &p),
           PCSTATE_RESULT_OK);
    recorder *r = make_recorder(&frees);
    EXPECT(pcstate_peer_set_callback(p, on_event, r, free_recorder), PCSTATE_RESULT_OK);
    EXPECT(pcstate_peer_event_fd(p, &fd), PCSTATE_RESULT_OK);
    CHECK(fd >= 0 && !readable(fd));
    EXPECT(pcstate_transport_add(p, &t1), PCSTATE_RESULT_OK);
    EXPECT(pcstate_transport_add(p, &t2), PCSTATE_RESULT_OK);
    CHECK(t1 == 1 && t2 == 2);
    EXPECT(pcstate_transport_set_ice_state(p, t1, PCSTATE_ICE_TRANSPORT_STATE_CHECKING), PCSTATE_RESULT_OK);
    CHECK(r->count == 2);
    CHECK(r->events[0].kind == PCSTATE_EVENT_KIND_ICE_CONNECTION_STATE);
    CHECK(r->events[1].kind == PCSTATE_EVENT_KIND_CONNECTION_STATE);
    CHECK(r->events[1].old_state == PCSTATE_CONNECTION_STATE_NEW);
    CHECK(r->events[1].new_state == PCSTATE_CONNECTION_STATE_CONNECTING);
    CHECK(r->events[1].transport == t1 && r->events[1].peer == p && r->events[1].seq == 2);
    CHECK(r->events[0].time_ns > 0 && r->events[0].time_ns == r->events[1].time_ns);
    CHECK(readable(fd));
    EXPECT(pcstate_peer_close(p), PCSTATE_RESULT_OK);
    CHECK(r->count == 4 && r->events[3].new_state == PCSTATE_CONNECTION_STATE_CLOSED && r->events[3].transport == 0);
    for (int i = 0; i < 4; i++) {
        EXPECT(pcstate_peer_poll_event(p, &ev), PCSTATE_RESULT_OK);
        CHECK(memcmp(&ev, &r->events[i], sizeof ev) == 0);
    }
    CHECK(!readable(fd));
    EXPECT(pcstate_peer_poll_event(p, &ev), PCSTATE_RESULT_EMPTY);
    pcstate_snapshot s;
    EXPECT(pcstate_peer_snapshot(p, &s), PCSTATE_RESULT_OK);
    CHECK(s.last_seq == 4 && s.transport_count == 2);
    EXPECT(pcstate_peer_free(p), PCSTATE_RESULT_OK);
    CHECK(frees == 1);
    CHECK(fcntl(fd, F_GETFD) == -1); /* closed by free */
}

static void test_reentrant(void) {
    pcstate_peer p;
    pcstate_transport t;
    int frees = 0;
    /* close from inside the callback */
    EXPECT(pcstate_peer_new(PCSTATE_PROFILE_W3C, PCSTATE_FLAG_CLOSE_EVENTS, &p), PCSTATE_RESULT_OK);
    recorder *r = make_recorder(&frees);
    r->close_on_connecting = 1;
    EXPECT(pcstate_peer_set_callback(p, on_event, r, free_recorder), PCSTATE_RESULT_OK);
    EXPECT(pcstate_transport_add(p, &t), PCSTATE_RESULT_OK);
    EXPECT(pcstate_transport_set_ice_state(p, t, PCSTATE_ICE_TRANSPORT_STATE_CHECKING), PCSTATE_RESULT_OK);
    CHECK(r->count == 4 && r->max_depth == 1);
    for (int i = 0; i < r->count; i++) CHECK(r->events[i].seq == (uint64_t)i + 1);
    CHECK(r->events[3].new_state == PCSTATE_CONNECTION_STATE_CLOSED);
    /* replace from inside */
    r->replace_on_first = 0;
    EXPECT(pcstate_peer_free(p), PCSTATE_RESULT_OK);
    CHECK(frees == 1);

    frees = 0;
    EXPECT(pcstate_peer_new(PCSTATE_PROFILE_W3C, 0, &p), PCSTATE_RESULT_OK);
    r = make_recorder(&frees);
    r->replace_on_first = 1;
    EXPECT(pcstate_peer_set_callback(p, on_event, r, free_recorder), PCSTATE_RESULT_OK);
    EXPECT(pcstate_transport_add(p, &t), PCSTATE_RESULT_OK);
    EXPECT(pcstate_transport_set_ice_state(p, t, PCSTATE_ICE_TRANSPORT_STATE_CHECKING), PCSTATE_RESULT_OK);
    CHECK(frees == 1);                                   /* old one freed after it returned */
    CHECK(replacement != NULL && replacement->count == 1); /* the second event went to the new one */
    CHECK(replacement->events[0].seq == 2);
    EXPECT(pcstate_peer_set_callback(p, NULL, NULL, NULL), PCSTATE_RESULT_OK);
    CHECK(replaced_frees == 1);
    EXPECT(pcstate_peer_free(p), PCSTATE_RESULT_OK);

    /* free from inside */
    frees = 0;
    EXPECT(pcstate_peer_new(PCSTATE_PROFILE_W3C, 0, &p), PCSTATE_RESULT_OK);
    r = make_recorder(&frees);
    r->free_on_first = 1;
    EXPECT(pcstate_peer_set_callback(p, on_event, r, free_recorder), PCSTATE_RESULT_OK);
    EXPECT(pcstate_transport_add(p, &t), PCSTATE_RESULT_OK);
    EXPECT(pcstate_transport_set_ice_state(p, t, PCSTATE_ICE_TRANSPORT_STATE_CHECKING), PCSTATE_RESULT_OK);
    CHECK(frees == 1);
    EXPECT(pcstate_peer_free(p), PCSTATE_RESULT_INVALID_HANDLE);
}

/* A callback must return normally (header: "Threads and callbacks"). One that ends its thread
 * instead (pthread_exit, or cancellation at a cancellation point) stops the process with a message
 * that names the rule, rather than deep inside the unwinder. Run in a child process. */
static int exit_mode; /* 1: pthread_exit; 2: blocks at a cancellation point, then is cancelled */
static volatile int in_callback;

static void ending_callback(void *user_data, const pcstate_event *e) {
    (void)user_data;
    (void)e;
    in_callback = 1;
    if (exit_mode == 1) pthread_exit(NULL);
    for (;;) pause(); /* a cancellation point */
}

static void *updater(void *arg) {
    pcstate_peer p = *(pcstate_peer *)arg;
    pcstate_transport t;
    if (pcstate_transport_add(p, &t) == PCSTATE_RESULT_OK)
        pcstate_transport_set_ice_state(p, t, PCSTATE_ICE_TRANSPORT_STATE_CHECKING);
    return NULL;
}

static void test_callback_must_return(void) {
    const char *preload = getenv("LD_PRELOAD");
    if (preload && strstr(preload, "vgpreload")) return; /* not under valgrind: it forks */
    for (exit_mode = 1; exit_mode <= 2; exit_mode++) {
        int err[2];
        CHECK(pipe(err) == 0);
        fflush(NULL);
        pid_t child = fork();
        if (child == 0) {
            dup2(err[1], 2);
            pcstate_peer p;
            pthread_t th;
            if (pcstate_peer_new(PCSTATE_PROFILE_W3C, 0, &p) != PCSTATE_RESULT_OK) _exit(3);
            if (pcstate_peer_set_callback(p, ending_callback, NULL, NULL) != PCSTATE_RESULT_OK) _exit(4);
            pthread_create(&th, NULL, updater, &p);
            while (!in_callback) usleep(1000);
            if (exit_mode == 2) pthread_cancel(th);
            pthread_join(th, NULL);
            _exit(0); /* the process survived: not what the contract says */
        }
        close(err[1]);
        char buf[4096] = {0};
        size_t n = 0;
        ssize_t k;
        while (n < sizeof buf - 1 && (k = read(err[0], buf + n, sizeof buf - 1 - n)) > 0) n += (size_t)k;
        close(err[0]);
        int status = 0;
        CHECK(waitpid(child, &status, 0) == child);
        CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
        CHECK(strstr(buf, "pcstate: a callback or user_data_free did not return normally") != NULL);
    }
}

int main(void) {
    test_names();
    test_errors();
    test_events_and_queue();
    test_reentrant();
    test_callback_must_return();
    printf("C API test: %d checks, %d failed\n", checks, failures);
    printf("%d passed, %d failed\n", checks - failures, failures);
    return failures == 0 ? 0 : 1;
}
