/* loginbench: new-connection login load generator for `make bench` (Benchmarks/run.py compiles it).
 *
 *   loginbench resp  PORT       TOKENFILE THREADS SECONDS [once]
 *   loginbench agent SOCKETPATH TOKENFILE THREADS SECONDS [once] CLUSTER
 *
 * resp:  each login = connect to 127.0.0.1:PORT, AUTH <token>, expect +OK, PING, expect +PONG, close.
 * agent: each verification = connect to the Unix socket, "AUTH <cluster> <token>\n", expect "ALLOW ...\n", close
 *        (a connection per request: the worst case for the agent; the module itself keeps its
 *        connections open and sends many requests on each, see Module/PROTOCOL.md).
 * TOKENFILE holds one password/token per line. Without `once` the tokens are reused round-robin (warm);
 * with `once` every token is used by exactly one login (cold) and the run ends early when they run out.
 * THREADS workers run for SECONDS; prints one JSON object with counts, wall time and latency percentiles (µs).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int mode_agent, once, nthreads, port;
static double seconds;
static const char *sockpath, *cluster;
static char **tokens;
static size_t ntokens;
static atomic_size_t next_token;
static atomic_int stop_flag;
static char first_error[256];
static pthread_mutex_t err_mu = PTHREAD_MUTEX_INITIALIZER;
static double t_start;

typedef struct {
    size_t ok, fail, cap, n;
    unsigned *lat; /* µs */
} worker_t;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void note_error(const char *what, const char *detail) {
    pthread_mutex_lock(&err_mu);
    if (!first_error[0]) {
        snprintf(first_error, sizeof first_error, "%s: %.*s", what, 160, detail ? detail : strerror(errno));
        for (char *p = first_error; *p; p++)
            if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20) *p = ' ';
    }
    pthread_mutex_unlock(&err_mu);
}

static int write_all(int fd, const char *b, size_t n) {
    while (n) {
        ssize_t w = write(fd, b, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        b += w; n -= (size_t)w;
    }
    return 0;
}

/* Reads until a '\n'; returns the line length (with the '\n'), -1 on error/EOF. */
static ssize_t read_line(int fd, char *b, size_t cap) {
    size_t n = 0;
    while (n < cap - 1) {
        ssize_t r = read(fd, b + n, cap - 1 - n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        n += (size_t)r;
        if (memchr(b, '\n', n)) break;
    }
    b[n] = 0;
    return (ssize_t)n;
}

static int one_login(const char *tok, char *buf, size_t cap) {
    int fd;
    if (mode_agent) {
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        strncpy(a.sun_path, sockpath, sizeof a.sun_path - 1);
        fd = socket(AF_UNIX, SOCK_STREAM, 0);
        if (fd < 0) { note_error("socket", NULL); return -1; }
        while (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
            if (errno == EAGAIN || errno == EINTR) { usleep(100); continue; }
            note_error("connect", NULL); close(fd); return -1;
        }
        int n = snprintf(buf, cap, "AUTH %s %s\n", cluster, tok);
        if (write_all(fd, buf, (size_t)n) < 0) { note_error("write", NULL); close(fd); return -1; }
        if (read_line(fd, buf, cap) < 0) { note_error("read", NULL); close(fd); return -1; }
        close(fd);
        if (strncmp(buf, "ALLOW ", 6) != 0) { note_error("agent answered", buf); return -1; }
        return 0;
    }
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) { note_error("socket", NULL); return -1; }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) { note_error("connect", NULL); close(fd); return -1; }
    size_t tl = strlen(tok);
    int n = snprintf(buf, cap, "*2\r\n$4\r\nAUTH\r\n$%zu\r\n%s\r\n", tl, tok);
    if (write_all(fd, buf, (size_t)n) < 0) { note_error("write", NULL); close(fd); return -1; }
    if (read_line(fd, buf, cap) < 0) { note_error("read AUTH reply", NULL); close(fd); return -1; }
    if (strcmp(buf, "+OK\r\n") != 0) { note_error("AUTH", buf); close(fd); return -1; }
    static const char ping[] = "*1\r\n$4\r\nPING\r\n";
    if (write_all(fd, ping, sizeof ping - 1) < 0) { note_error("write", NULL); close(fd); return -1; }
    if (read_line(fd, buf, cap) < 0) { note_error("read PING reply", NULL); close(fd); return -1; }
    close(fd);
    if (strcmp(buf, "+PONG\r\n") != 0) { note_error("PING", buf); return -1; }
    return 0;
}

static void *worker(void *arg) {
    worker_t *w = arg;
    size_t cap = 20000;
    char *buf = malloc(cap);
    while (!atomic_load(&stop_flag)) {
        size_t i = atomic_fetch_add(&next_token, 1);
        if (once && i >= ntokens) break;
        const char *tok = tokens[i % ntokens];
        double t0 = now();
        if (t0 - t_start >= seconds) break;
        int rc = one_login(tok, buf, cap);
        double t1 = now();
        if (rc == 0) {
            w->ok++;
            if (w->n == w->cap) {
                w->cap = w->cap ? w->cap * 2 : 65536;
                w->lat = realloc(w->lat, w->cap * sizeof *w->lat);
            }
            w->lat[w->n++] = (unsigned)((t1 - t0) * 1e6);
        } else {
            w->fail++;
            if (w->fail > 1000 && w->fail > w->ok) break; /* clearly broken; stop hammering */
        }
    }
    free(buf);
    return NULL;
}

static int cmpu(const void *a, const void *b) {
    unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    if (argc < 6) {
        fprintf(stderr, "usage: loginbench resp PORT TOKENFILE THREADS SECONDS [once]\n"
                        "       loginbench agent SOCKET TOKENFILE THREADS SECONDS [once] CLUSTER\n");
        return 2;
    }
    mode_agent = strcmp(argv[1], "agent") == 0;
    if (mode_agent) sockpath = argv[2]; else port = atoi(argv[2]);
    nthreads = atoi(argv[4]);
    seconds = atof(argv[5]);
    int ai = 6;
    if (argc > ai && strcmp(argv[ai], "once") == 0) { once = 1; ai++; }
    if (mode_agent) {
        if (argc <= ai) { fprintf(stderr, "agent mode needs CLUSTER\n"); return 2; }
        cluster = argv[ai];
    }
    FILE *f = fopen(argv[3], "r");
    if (!f) { perror(argv[3]); return 2; }
    size_t cap = 1024;
    tokens = malloc(cap * sizeof *tokens);
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len;
    while ((len = getline(&line, &lcap, f)) > 0) {
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
        if (!len) continue;
        if (ntokens == cap) tokens = realloc(tokens, (cap *= 2) * sizeof *tokens);
        tokens[ntokens++] = strdup(line);
    }
    fclose(f);
    if (!ntokens) { fprintf(stderr, "no tokens in %s\n", argv[3]); return 2; }

    worker_t *ws = calloc((size_t)nthreads, sizeof *ws);
    pthread_t *th = calloc((size_t)nthreads, sizeof *th);
    t_start = now();
    for (int i = 0; i < nthreads; i++) pthread_create(&th[i], NULL, worker, &ws[i]);
    for (int i = 0; i < nthreads; i++) pthread_join(th[i], NULL);
    double elapsed = now() - t_start;

    size_t ok = 0, fail = 0, n = 0;
    for (int i = 0; i < nthreads; i++) { ok += ws[i].ok; fail += ws[i].fail; n += ws[i].n; }
    unsigned *all = malloc((n ? n : 1) * sizeof *all);
    size_t k = 0;
    for (int i = 0; i < nthreads; i++) { memcpy(all + k, ws[i].lat, ws[i].n * sizeof *all); k += ws[i].n; }
    qsort(all, n, sizeof *all, cmpu);
    unsigned p50 = n ? all[n / 2] : 0, p99 = n ? all[(size_t)((double)n * 0.99)] : 0;
    if (n && (size_t)((double)n * 0.99) >= n) p99 = all[n - 1];
    printf("{\"ok\":%zu,\"fail\":%zu,\"elapsed\":%.6f,\"rate\":%.1f,\"p50_us\":%u,\"p99_us\":%u,\"first_error\":\"%s\"}\n",
           ok, fail, elapsed, elapsed > 0 ? ok / elapsed : 0.0, p50, p99, first_error);
    return 0;
}
