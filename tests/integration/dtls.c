/* The integration harness's DTLS: self-signed certificates, SDP-style fingerprints and an OpenSSL
 * DTLS 1.2 session pumped through the side's libnice component, reporting each DTLS state. */
#define _GNU_SOURCE
#include "harness.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int ssl_side_idx;

/* "sha-256 AB:CD:..." as in an SDP a=fingerprint line. */
void fingerprint_of(X509 *cert, char out[FP_LEN]) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0, i;
    size_t o = (size_t)snprintf(out, FP_LEN, "sha-256 ");
    X509_digest(cert, EVP_sha256(), md, &len);
    for (i = 0; i < len && o + 3 < FP_LEN; i++)
        o += (size_t)snprintf(out + o, FP_LEN - o, i ? ":%02X" : "%02X", md[i]);
}

/* A self-signed ECDSA P-256 certificate, as browsers make for WebRTC. */
void make_certificate(EVP_PKEY **out_key, X509 **out_cert) {
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
int verify_fingerprint(int preverify_ok, X509_STORE_CTX *store) {
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

void send_pending(side *s) {
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
void flush_dtls(side *s) {
    static char buf[65536];
    int n;
    while (s->ssl && (n = BIO_read(SSL_get_wbio(s->ssl), buf, sizeof buf)) > 0)
        send_datagram(s, buf, n);
}

/* Advances the handshake or reads application data, and reports every DTLS state change. */
void dtls_progress(side *s) {
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
void dtls_start(side *s) {
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
gboolean on_dtls_timer(gpointer data) {
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
gboolean on_app_timer(gpointer data) {
    side *s = data;
    static const char ping[] = "application data";
    if (s->sending && s->ssl && s->dtls == PCSTATE_DTLS_TRANSPORT_STATE_CONNECTED) {
        SSL_write(s->ssl, ping, sizeof ping);
        flush_dtls(s);
    }
    return G_SOURCE_CONTINUE;
}
