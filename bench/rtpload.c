/* The audio bench's load generator media loop, in C: what bench/media.py's MediaLoop does, at a fraction of its
 * CPU. At 500 calls the Python loop takes ~80 % of a core on the 2-core machine the relay is measured on, and the
 * two together leave the relay too little room for its latency to mean anything (docs/media.md).
 *
 * Python (bench/native_media_loop.py) owns everything else: the sockets, the SRTP sessions (pylibsrtp's, called
 * here through the function pointers it gives us, so keys and replay state are the ones Python set up), the
 * window, and the report. This file only sends each call's stamped PCMU packets on schedule and reads what
 * comes back, from one thread, as MediaLoop.serve does; the fields below are mirrored by ctypes there.
 * Built by that module with `cc -O2 -shared -fPIC`; no library beyond libc.
 */
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef int (*srtp_fn)(void *session, void *packet, int *length);
typedef void (*handoff_fn)(int32_t port, const uint8_t *data, int32_t length, uint32_t address, uint16_t port_number);

#define PACKET_ROOM 2048
#define PCMU_BYTES 160
#define STAMP_BYTES 16 /* send time (ns, CLOCK_REALTIME, big-endian), stream id, counter: Python's "!qII" */
#define GAP_SAMPLES 20
#define BATCH_DRAIN 64 /* a long send batch must not leave arrivals unread */
#define MAX_EVENTS 256

struct port {
    int32_t fd;
    int32_t stream;
    uint32_t ssrc;
    uint32_t handoff;         /* 1: STUN and DTLS go back to Python (aiortc keeps ICE consent) */
    struct sockaddr_in remote;
    void *tx;                 /* srtp_t, or NULL on a phone's plain RTP */
    void *rx;
    uint32_t seq, ts;
    int64_t counter;
};

struct results {  /* cleared by a reset */
    int64_t sent[2], received[2], latency_count[2], send_path_count, read_lag_count, lateness_count;
    int64_t reordered, srtp_errors, rtcp, handed_off, send_errors, skipped, gaps, samples_dropped;
    int64_t gap_samples[GAP_SAMPLES][4];  /* stream, first missing counter, how many, send time */
    int64_t gap_samples_count;
};

struct loop {
    /* changed by Python while the loop runs */
    volatile int32_t running, sending, reset_requested, window_changed;
    volatile int64_t next_window_start, next_window_end;  /* taken up as one when window_changed is set */
    int64_t window_start, window_end;  /* ns, CLOCK_REALTIME: packets sent in it are counted */
    /* set up by Python before it runs */
    int32_t ports_count, sinks_count, streams_count, unused2;
    struct port *ports;
    int32_t *sinks;           /* phones' RTCP sockets: read, counted, dropped */
    srtp_fn protect, unprotect;
    handoff_fn handoff;
    double period, max_behind;
    double tick;              /* s: wake on this clock and read what arrived meanwhile; 0: wake for each arrival */
    int64_t capacity;         /* of each sample buffer below */
    int64_t *latency[2], *send_path, *read_lag;
    double *lateness;
    int64_t *sent_first, *sent_last, *received_low, *received_high, *last_counter;  /* per stream, -1: none */
    struct results r;
};

static double monotonic(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static int64_t realtime_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static int in_window(struct loop *loop, int64_t ns) {
    return loop->window_start <= ns && ns < loop->window_end;
}

static void put_be64(uint8_t *p, uint64_t v) {
    for (int i = 7; i >= 0; i--, v >>= 8) p[i] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v) {
    p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v;
}

static uint64_t get_be(const uint8_t *p, int bytes) {
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++) v = v << 8 | p[i];
    return v;
}

static void sample(int64_t *buffer, int64_t *count, int64_t value, struct loop *loop) {
    if (*count < loop->capacity) buffer[(*count)++] = value;
    else loop->r.samples_dropped++;
}

static void reset(struct loop *loop) {
    memset(&loop->r, 0, sizeof loop->r);
    for (int32_t s = 0; s < loop->streams_count; s++) {
        loop->sent_first[s] = loop->sent_last[s] = loop->received_low[s] = loop->received_high[s] = -1;
        loop->last_counter[s] = -1;
    }
}

static void send_one(struct loop *loop, struct port *port) {
    uint8_t packet[PACKET_ROOM];
    int64_t sent_ns = realtime_ns();
    packet[0] = 0x80;
    packet[1] = 0;  /* PCMU */
    packet[2] = port->seq >> 8; packet[3] = port->seq;
    put_be32(packet + 4, port->ts);
    put_be32(packet + 8, port->ssrc);
    put_be64(packet + 12, (uint64_t)sent_ns);
    put_be32(packet + 20, (uint32_t)port->stream);
    put_be32(packet + 24, (uint32_t)port->counter);
    memset(packet + 12 + STAMP_BYTES, 0xFF, PCMU_BYTES - STAMP_BYTES);
    int length = 12 + PCMU_BYTES;
    int failed = port->tx != NULL && loop->protect(port->tx, packet, &length) != 0;
    if (failed || sendto(port->fd, packet, length, 0, (struct sockaddr *)&port->remote, sizeof port->remote) < 0)
        loop->r.send_errors++;
    port->seq = (port->seq + 1) & 0xFFFF;
    port->ts += PCMU_BYTES;
    port->counter++;
    if (in_window(loop, sent_ns)) {
        int32_t s = port->stream;
        loop->r.sent[s & 1]++;
        if (loop->sent_first[s] < 0) loop->sent_first[s] = port->counter - 1;
        loop->sent_last[s] = port->counter - 1;
        sample(loop->send_path, &loop->r.send_path_count, realtime_ns() - sent_ns, loop);  /* ours, not the relay's */
    }
}

static void drain_sink(struct loop *loop, int fd) {
    uint8_t data[PACKET_ROOM];
    for (;;) {
        ssize_t n = recv(fd, data, sizeof data, MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
            continue;  /* an ICMP error queued on the socket */
        }
        loop->r.rtcp++;
    }
}

static void drain_port(struct loop *loop, int32_t index) {
    /* One datagram per readiness, as MediaLoop does: epoll is level-triggered and says again if more wait. */
    struct port *port = &loop->ports[index];
    uint8_t data[PACKET_ROOM];
    char control[64];
    struct sockaddr_in from;
    struct iovec iov = {data, sizeof data};
    struct msghdr message = {&from, sizeof from, &iov, 1, control, sizeof control, 0};
    ssize_t n = recvmsg(port->fd, &message, MSG_DONTWAIT);
    if (n < 2) return;  /* nothing after all, or an ICMP error */
    uint8_t first = data[0];
    if (first < 128 || first > 191) {  /* STUN (0-3), DTLS (20-63): aiortc's business (RFC 7983) */
        if (port->handoff && loop->handoff != NULL) {
            loop->r.handed_off++;
            loop->handoff(index, data, (int32_t)n, ntohl(from.sin_addr.s_addr), ntohs(from.sin_port));
        }
        return;
    }
    if (data[1] >= 192 && data[1] <= 223) {  /* RTCP (RFC 5761 §4): the relay's reports, not measured */
        loop->r.rtcp++;
        return;
    }
    int length = (int)n;
    if (port->rx != NULL && loop->unprotect(port->rx, data, &length) != 0) {
        loop->r.srtp_errors++;
        return;
    }
    int offset = 12 + 4 * (first & 0x0F);
    if (first & 0x10) offset += 4 + 4 * (int)get_be(data + offset + 2, 2);
    if (offset + STAMP_BYTES > length) {
        loop->r.srtp_errors++;  /* not one of our packets */
        return;
    }
    int64_t sent_ns = (int64_t)get_be(data + offset, 8);
    int64_t stream = (int64_t)get_be(data + offset + 8, 4);
    int64_t counter = (int64_t)get_be(data + offset + 12, 4);
    if (stream >= loop->streams_count) {
        loop->r.srtp_errors++;
        return;
    }
    int64_t arrived_ns = -1;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&message); c != NULL; c = CMSG_NXTHDR(&message, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_TIMESTAMPNS) {
            struct timespec t;
            memcpy(&t, CMSG_DATA(c), sizeof t);
            arrived_ns = t.tv_sec * 1000000000LL + t.tv_nsec;
        }
    }
    if (arrived_ns < 0) arrived_ns = realtime_ns();
    int measured = in_window(loop, sent_ns);
    if (measured) {
        loop->r.received[stream & 1]++;
        if (loop->received_low[stream] < 0 || counter < loop->received_low[stream])
            loop->received_low[stream] = counter;
        if (counter > loop->received_high[stream]) loop->received_high[stream] = counter;
        sample(loop->latency[stream & 1], &loop->r.latency_count[stream & 1], arrived_ns - sent_ns, loop);
        sample(loop->read_lag, &loop->r.read_lag_count, realtime_ns() - arrived_ns, loop);  /* ours, not the relay's */
    }
    int64_t last = loop->last_counter[stream];
    if (last >= 0 && counter <= last) {
        loop->r.reordered++;
        return;
    }
    if (last >= 0 && counter > last + 1 && measured) {
        loop->r.gaps += counter - last - 1;  /* the counter skipped: packets lost in between */
        if (loop->r.gap_samples_count < GAP_SAMPLES) {
            int64_t *g = loop->r.gap_samples[loop->r.gap_samples_count++];
            g[0] = stream; g[1] = last + 1; g[2] = counter - last - 1; g[3] = sent_ns;
        }
    }
    loop->last_counter[stream] = counter;
}

static int drain_ready(struct loop *loop, int poller, int timeout_ms) {
    struct epoll_event events[MAX_EVENTS];
    int ready = epoll_wait(poller, events, MAX_EVENTS, timeout_ms);
    for (int i = 0; i < ready; i++) {
        int32_t key = (int32_t)events[i].data.u32;
        if (key < 0) drain_sink(loop, loop->sinks[-key - 1]);
        else drain_port(loop, key);
    }
    return ready;
}

static void sleep_until(double when) {
    struct timespec t = {(time_t)when, (long)((when - (time_t)when) * 1e9)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL) == EINTR) {}
}

/* Runs until Python sets `running` to 0; returns 0, or -1 (errno) if the epoll set could not be made. */
int rtpload_run(struct loop *loop) {
    int poller = epoll_create1(EPOLL_CLOEXEC);
    if (poller < 0) return -1;
    for (int32_t i = 0; i < loop->ports_count; i++) {
        struct epoll_event e = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        if (epoll_ctl(poller, EPOLL_CTL_ADD, loop->ports[i].fd, &e) < 0) goto failed;
    }
    for (int32_t i = 0; i < loop->sinks_count; i++) {
        struct epoll_event e = {.events = EPOLLIN, .data.u32 = (uint32_t)(-(i + 1))};
        if (epoll_ctl(poller, EPOLL_CTL_ADD, loop->sinks[i], &e) < 0) goto failed;
    }
    double step = loop->period / loop->ports_count;  /* spread evenly, as independent calls would be */
    double start = monotonic() + 0.01;
    int64_t k = 0;
    while (loop->running) {
        if (loop->reset_requested) {
            reset(loop);
            loop->reset_requested = 0;
        }
        if (loop->window_changed) {
            /* Both ends at once, and never a start before now: a packet sent before we took the window up was
             * not counted as sent, so it must not count as received either. */
            int64_t now_ns = realtime_ns();
            loop->window_start = loop->next_window_start > now_ns ? loop->next_window_start : now_ns;
            loop->window_end = loop->next_window_end;
            loop->window_changed = 0;
        }
        if (!loop->sending) {
            drain_ready(loop, poller, 10);
            start = monotonic() + 0.01;  /* resume on a fresh schedule, not with a burst */
            k = 0;
            continue;
        }
        double now = monotonic();
        double due = start + k * step;
        if (due <= now) {
            int measured = in_window(loop, realtime_ns());
            if (now - due > loop->max_behind) {  /* starved of CPU: skip, as phones would, rather than burst */
                int64_t missed = (int64_t)((now - due) / step);
                k += missed;
                due = start + k * step;
                if (measured) loop->r.skipped += missed;
            }
            if (measured && loop->r.lateness_count < loop->capacity)
                loop->lateness[loop->r.lateness_count++] = now - due;
            int64_t batch = 0;
            while (due <= now) {
                send_one(loop, &loop->ports[k % loop->ports_count]);
                k++;
                due = start + k * step;
                if (++batch % BATCH_DRAIN == 0) drain_ready(loop, poller, 0);
            }
        }
        if (loop->tick > 0) {
            /* Arrivals do not wake us: the kernel stamps them (SO_TIMESTAMPNS), so reading them a tick later
             * changes no measured latency, and the relay's sends need not pay for waking us each time. */
            sleep_until(fmax(due, now + loop->tick));
            while (drain_ready(loop, poller, 0) == MAX_EVENTS) {}
            continue;
        }
        double wait = due - monotonic();
        drain_ready(loop, poller, wait > 0 ? (int)ceil(wait * 1000) : 0);  /* ms, rounded up as Python's poll */
    }
    close(poller);
    return 0;
failed:
    close(poller);
    return -1;
}
