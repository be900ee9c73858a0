/*
 * keygate_iam.c - Valkey module for Keygate IAM logins.
 *
 * Logins as user "default" (AUTH <token>, AUTH default <token>,
 * HELLO 3 AUTH default <token>) are decided by the Keygate auth agent over a
 * Unix socket (see PROTOCOL.md); every other user goes through normal ACL
 * passwords. The module holds no crypto and no policy: it does IPC with a hard
 * deadline, keeps a small verdict cache, sends the exact Memorystore replies
 * and closes connections that outlive the age limit after their last AUTH.
 *
 * Threads: the verdict cache and the age table are touched only on the main
 * thread (auth callback, auth reply callback, timer, user-changed callback).
 * A fixed pool of worker threads (module argument workers=N) only talks to the
 * agent over connections it keeps open, and calls UnblockClient exactly once
 * per uncached login.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "valkeymodule_min.h"

/* ---------------------------------------------------------------- API --- */

#define KG_DECLARE(ret, name, params, required) static ret(*VM_##name) params;
KEYGATE_VALKEY_API(KG_DECLARE)
#undef KG_DECLARE

typedef int (*GetApiFunc)(const char *name, void *fnptr_out);

/* Fills every VM_<Name> pointer; fails if a required one is missing. */
static int load_api(ValkeyModuleCtx *ctx) {
    GetApiFunc get_api = *(GetApiFunc *)ctx; /* first word of ctx */
    int ok = 1;
#define KG_LOAD(ret, name, params, required)                                    \
    if (get_api("ValkeyModule_" #name, (void *)&VM_##name) != VALKEYMODULE_OK) { \
        VM_##name = NULL;                                                       \
        if (required) ok = 0;                                                   \
    }
    KEYGATE_VALKEY_API(KG_LOAD)
#undef KG_LOAD
    return ok && VM_Log != NULL;
}

#define MODULE_NAME "keygate-iam"

/* Exact Memorystore error texts. A leading '-' makes the server use them
 * verbatim instead of prefixing another "-ERR ". */
#define ERR_EXHAUSTED                                                              \
    "-ERR (ERR_IAM_EXHAUSTED) Memorystore IAM authentication backend quota exceeded. " \
    "See https://cloud.google.com/memorystore/docs/cluster/manage-iam-auth#error_messages."
#define ERR_OTHER                                                          \
    "-ERR (ERR_IAM_OTHER) Memorystore IAM authentication backend error. " \
    "See https://cloud.google.com/memorystore/docs/cluster/manage-iam-auth#error_messages."

#define MAX_TOKEN_LEN 16384
#define MAX_CLUSTER_LEN 1024
#define MAX_PRINCIPAL_LEN 1024
#define MAX_CACHE_MS (24LL * 3600 * 1000) /* never trust a verdict for more than a day */
#define WORKER_STACK (256 * 1024)

/* --------------------------------------------------------- settings --- */

static struct {
    char socket_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    char cluster[MAX_CLUSTER_LEN + 1];
    long long timeout_ms;
    long long max_age_ms;
    long long cache_size;
    long long workers;
} cfg = {"", "", 2000, 43200000LL, 10000, 2};

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts); /* immune to wall-clock jumps */
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Only lets the compiler check kg_log's format against its arguments. */
__attribute__((format(printf, 1, 2))) static inline void kg_log_format_check(const char *fmt, ...) { (void)fmt; }

/* The server drops lines below its log level before formatting them, so a
 * verbose line costs nothing on a server that does not log it. */
#define kg_log(ctx, level, ...)                                                 \
    do {                                                                        \
        if (0) kg_log_format_check(__VA_ARGS__);                                \
        VM_Log(ctx, level, __VA_ARGS__);                                        \
    } while (0)

/* Overwrites secrets before their memory is reused. */
static void wipe(void *p, size_t n) {
    memset(p, 0, n);
    __asm__ __volatile__("" : : "r"(p) : "memory"); /* the stores may not be elided */
}

/* Printable ASCII without spaces: the only shape a token or principal has. */
static int is_word(const char *s, size_t len) {
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e) return 0;
    return len > 0;
}

/* ----------------------------------------------------- verdict cache --- */
/* Chained hash of ALLOW verdicts keyed by the exact token, plus a list in
 * insertion order so the oldest entry can be evicted when full. */

typedef struct Verdict {
    struct Verdict *chain;      /* next in hash bucket */
    struct Verdict *older, *newer;
    uint64_t hash;
    long long expires;          /* now_ms() deadline */
    const char *principal;      /* points into data, after the token */
    size_t len, size;           /* token length, allocation size */
    char data[];                /* token bytes, then the principal and a NUL */
} Verdict;

static struct {
    Verdict **buckets;
    size_t nbuckets; /* power of two */
    size_t count;
    Verdict *oldest, *newest;
    long long next_sweep;
} cache;

static uint64_t hash_token(const char *s, size_t len) {
    uint64_t h = 1469598103934665603ULL; /* FNV-1a: only ALLOWed tokens get in */
    for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h;
}

static void cache_remove(Verdict *v) {
    Verdict **p = &cache.buckets[v->hash & (cache.nbuckets - 1)];
    while (*p != v) p = &(*p)->chain;
    *p = v->chain;
    if (v->older) v->older->newer = v->newer; else cache.oldest = v->newer;
    if (v->newer) v->newer->older = v->older; else cache.newest = v->older;
    cache.count--;
    wipe(v, v->size);
    free(v);
}

static void cache_sweep(long long now) {
    for (Verdict *v = cache.oldest, *next; v; v = next) {
        next = v->newer;
        if (v->expires <= now) cache_remove(v);
    }
}

/* Returns the unexpired ALLOW for exactly this token, or NULL. */
static Verdict *cache_get(const char *tok, size_t len) {
    if (!cache.buckets) return NULL;
    uint64_t h = hash_token(tok, len);
    for (Verdict *v = cache.buckets[h & (cache.nbuckets - 1)]; v; v = v->chain) {
        if (v->hash != h || v->len != len || memcmp(v->data, tok, len) != 0) continue;
        if (v->expires > now_ms()) return v;
        cache_remove(v);
        return NULL;
    }
    return NULL;
}

static void cache_put(const char *tok, size_t len, long long ttl_ms, const char *principal) {
    if (!cache.buckets || ttl_ms <= 0) return;
    long long now = now_ms();
    Verdict *old = cache_get(tok, len);
    if (old) cache_remove(old); /* re-insert as newest with the new expiry */
    if ((long long)cache.count >= cfg.cache_size && now >= cache.next_sweep) {
        cache_sweep(now); /* full: drop expired entries, at most once a second */
        cache.next_sweep = now + 1000;
    }
    while ((long long)cache.count >= cfg.cache_size && cache.oldest) cache_remove(cache.oldest);

    size_t plen = strlen(principal), size = sizeof(Verdict) + len + plen + 1;
    Verdict *v = calloc(1, size);
    if (!v) return; /* caching is only an optimisation */
    v->hash = hash_token(tok, len);
    v->expires = now + ttl_ms;
    v->len = len;
    v->size = size;
    memcpy(v->data, tok, len);
    memcpy(v->data + len, principal, plen + 1);
    v->principal = v->data + len;
    size_t b = v->hash & (cache.nbuckets - 1);
    v->chain = cache.buckets[b];
    cache.buckets[b] = v;
    v->older = cache.newest;
    if (cache.newest) cache.newest->newer = v; else cache.oldest = v;
    cache.newest = v;
    cache.count++;
}

static int cache_init(void) {
    if (cfg.cache_size == 0) return 1; /* caching off */
    cache.nbuckets = 16;
    while ((long long)cache.nbuckets < cfg.cache_size) cache.nbuckets <<= 1;
    cache.buckets = calloc(cache.nbuckets, sizeof(Verdict *));
    return cache.buckets != NULL;
}

static void cache_free(void) {
    while (cache.oldest) cache_remove(cache.oldest);
    free(cache.buckets);
    cache.buckets = NULL;
}

/* -------------------------------------------------- connection ages --- */
/* Open-addressing table client id -> deadline (now_ms). Id 0 marks a free
 * slot (the server numbers clients from 1). */

static struct {
    uint64_t *ids;
    long long *deadlines;
    size_t cap; /* power of two, or 0 before first use */
    size_t count;
} ages;

static size_t age_home(uint64_t id) {
    return (size_t)((id * 0x9E3779B97F4A7C15ULL) >> 17) & (ages.cap - 1);
}

static size_t age_find(uint64_t id) { /* slot of id, or of the free slot it would take */
    size_t i = age_home(id);
    while (ages.ids[i] && ages.ids[i] != id) i = (i + 1) & (ages.cap - 1);
    return i;
}

static int age_grow(void) {
    size_t oldcap = ages.cap, newcap = oldcap ? oldcap * 2 : 64;
    uint64_t *oldids = ages.ids;
    long long *olddl = ages.deadlines;
    uint64_t *ids = calloc(newcap, sizeof(*ids));
    long long *dl = calloc(newcap, sizeof(*dl));
    if (!ids || !dl) {
        free(ids);
        free(dl);
        return 0;
    }
    ages.ids = ids;
    ages.deadlines = dl;
    ages.cap = newcap;
    for (size_t i = 0; i < oldcap; i++) {
        if (!oldids[i]) continue;
        size_t j = age_find(oldids[i]);
        ages.ids[j] = oldids[i];
        ages.deadlines[j] = olddl[i];
    }
    free(oldids);
    free(olddl);
    return 1;
}

static int age_set(uint64_t id, long long deadline) {
    if ((ages.count + 1) * 2 > ages.cap && !age_grow()) return 0;
    size_t i = age_find(id);
    if (!ages.ids[i]) ages.count++;
    ages.ids[i] = id;
    ages.deadlines[i] = deadline;
    return 1;
}

static void age_del(uint64_t id) {
    if (!ages.cap) return;
    size_t mask = ages.cap - 1, i = age_find(id);
    if (!ages.ids[i]) return;
    /* Backward-shift deletion keeps every probe chain unbroken. */
    for (size_t j = (i + 1) & mask; ages.ids[j]; j = (j + 1) & mask) {
        size_t k = age_home(ages.ids[j]);
        int movable = (i <= j) ? (k <= i || k > j) : (k <= i && k > j);
        if (movable) {
            ages.ids[i] = ages.ids[j];
            ages.deadlines[i] = ages.deadlines[j];
            i = j;
        }
    }
    ages.ids[i] = 0;
    ages.count--;
}

/* The server calls this exactly once when a client we logged in changes user
 * (a later AUTH of any kind, including our own re-AUTH) or disconnects. */
static void on_user_changed(uint64_t client_id, void *privdata) {
    (void)privdata;
    age_del(client_id);
}

static long long tick_period(void) {
    long long p = cfg.max_age_ms / 4; /* close within a quarter of the limit, */
    if (p > 1000) p = 1000;           /* at most a second late, */
    if (p < 10) p = 10;               /* without spinning */
    return p;
}

static ValkeyModuleTimerID age_timer; /* the one pending timer, 0 if none */

/* Repeating timer: re-armed by creating a new one (stopping a timer from its
 * own callback would double-free it). */
static void age_tick(ValkeyModuleCtx *ctx, void *data) {
    (void)data;
    long long now = now_ms();
    size_t nexp = 0;
    for (size_t i = 0; i < ages.cap; i++)
        if (ages.ids[i] && ages.deadlines[i] <= now) nexp++;
    if (nexp) {
        uint64_t *expired = malloc(nexp * sizeof(*expired));
        if (expired) {
            size_t n = 0;
            for (size_t i = 0; i < ages.cap; i++)
                if (ages.ids[i] && ages.deadlines[i] <= now) expired[n++] = ages.ids[i];
            for (size_t i = 0; i < n; i++) {
                age_del(expired[i]); /* before closing: the close fires on_user_changed */
                VM_DeauthenticateAndCloseClient(ctx, expired[i]);
            }
            kg_log(ctx, VALKEYMODULE_LOGLEVEL_VERBOSE,
                   "closed %zu connection(s) older than max-age-ms=%lld since their last AUTH", n,
                   cfg.max_age_ms);
            free(expired);
        }
    }
    if (cache.buckets && now >= cache.next_sweep) {
        cache_sweep(now);
        cache.next_sweep = now + 10000;
    }
    age_timer = VM_CreateTimer(ctx, tick_period(), age_tick, NULL);
}

/* ------------------------------------------------------- agent calls --- */
/*
 * A fixed pool of `workers` threads, started at load and joined at unload or
 * shutdown, asks the agent. Each worker keeps its own agent connections open
 * from one login to the next and multiplexes them with epoll: exactly one
 * request is in flight on a connection at a time (so the agent's in-order
 * answers never need matching), a worker opens another connection when all of
 * its open ones are busy (up to MAX_INFLIGHT), and keeps up to KEEP_IDLE idle
 * ones for later logins. A slow answer therefore holds only its own
 * connection, never the logins behind it. Idle connections stay watched: any
 * byte or hang-up on one closes it, so an answer can never be taken for the
 * next request's.
 *
 * The main thread appends requests to one queue under pool.mu and writes to a
 * sleeping worker's eventfd only when no worker is awake to see the queue.
 */

enum { V_ALLOW, V_WRONG, V_EXHAUSTED, V_OTHER };

/* One login in flight. Owned by the queue, then by one worker until
 * UnblockClient, then by the server, which hands it to auth_reply and finally
 * to request_free. */
typedef struct Request {
    struct Request *next;   /* pool queue, then the worker's wait list */
    ValkeyModuleBlockedClient *bc;
    long long deadline;     /* now_ms() */
    long long retry_at;     /* agent backlog was full: connect again at this time */
    int verdict;
    int resent;             /* already sent again on a fresh connection */
    long long cache_ms;
    char principal[MAX_PRINCIPAL_LEN + 1];
    char why[160];          /* failure detail for the log; never contains the token */
    size_t len;             /* token length */
    size_t line_len;        /* request line length, '\n' included */
    char line[];            /* "AUTH <cluster> <token>\n": the token is its tail */
} Request;

#define REQ_TOKEN(r) ((r)->line + (r)->line_len - 1 - (r)->len)

static int fail(Request *r, const char *what, int err) {
    char buf[64];
    r->verdict = V_OTHER;
    if (err) snprintf(r->why, sizeof(r->why), "%s: %s", what, strerror_r(err, buf, sizeof(buf))); /* GNU */
    else snprintf(r->why, sizeof(r->why), "%s", what);
    return -1;
}

/* Parses the agent's one-line answer (without the newline); 0 if it is none
 * of the four answers (r->verdict is then OTHER too). */
static int parse_answer(Request *r, char *line) {
    if (!strcmp(line, "WRONG")) { r->verdict = V_WRONG; return 1; }
    if (!strcmp(line, "EXHAUSTED")) { r->verdict = V_EXHAUSTED; return 1; }
    if (!strcmp(line, "OTHER")) { fail(r, "agent answered OTHER", 0); return 1; }
    if (!strncmp(line, "ALLOW ", 6)) {
        char *ms = line + 6, *sp = strchr(ms, ' ');
        size_t digits = sp ? (size_t)(sp - ms) : 0;
        if (digits >= 1 && digits <= 12 && strspn(ms, "0123456789") == digits &&
            is_word(sp + 1, strlen(sp + 1)) && strlen(sp + 1) <= MAX_PRINCIPAL_LEN) {
            r->cache_ms = strtoll(ms, NULL, 10);
            if (r->cache_ms > MAX_CACHE_MS) r->cache_ms = MAX_CACHE_MS;
            snprintf(r->principal, sizeof(r->principal), "%s", sp + 1);
            r->verdict = V_ALLOW;
            return 1;
        }
    }
    fail(r, "malformed agent answer", 0);
    return 0;
}

#define MAX_WORKERS 16
#define MAX_INFLIGHT 256           /* agent calls in flight per worker, one connection each */
#define KEEP_IDLE 16               /* idle agent connections a worker keeps open */
#define ANSWER_MAX (MAX_PRINCIPAL_LEN + 64) /* answer line + '\n' + NUL; longer is OTHER */
#define CONNECT_RETRY_MS 5         /* agent listen backlog full: connect again after this */

typedef struct {
    int fd;             /* -1: free slot */
    int reused;         /* has carried an answer: a hang-up may just mean it went stale */
    int connecting;     /* non-blocking connect not finished yet */
    Request *r;         /* in flight; NULL while idle */
    size_t sent, got;   /* bytes of r->line written, bytes of the answer read */
    char in[ANSWER_MAX];
} AgentConn;

typedef struct {
    pthread_t tid;
    int efd;                 /* eventfd: wakes the worker out of epoll_wait() */
    int epfd;                /* the eventfd (data 0) and every connection (data slot + 1) */
    int sleeping, notified;  /* under pool.mu */
    int load;                /* requests held when it went to sleep; under pool.mu */
    /* Only the worker thread touches the rest. */
    int held;                /* requests taken from the queue and not unblocked yet */
    Request *wait, *wait_tail; /* taken, not sent yet (FIFO) */
    AgentConn *conns;
    int nconns, capconns, nidle;
    struct epoll_event ev[64];
} Worker;

static struct {
    pthread_mutex_t mu;
    Request *head, *tail; /* submitted, not taken by a worker yet */
    int stopping;
    int nworkers;         /* running; set and cleared on the main thread only */
    Worker w[MAX_WORKERS];
} pool = {.mu = PTHREAD_MUTEX_INITIALIZER};

static struct sockaddr_un agent_addr;

static void notify(Worker *w) {
    uint64_t one = 1;
    if (write(w->efd, &one, sizeof(one)) < 0) { /* counter full: already readable */ }
}

/* Under pool.mu: the first worker with room that sleeps and has not been
 * woken yet (marked woken now), or NULL. Filling workers in order keeps the
 * traffic on as few threads as possible: fewer wake-ups per login. */
static Worker *pick_sleeper(const Worker *except) {
    for (int i = 0; i < pool.nworkers; i++) {
        Worker *w = &pool.w[i];
        if (w == except || !w->sleeping || w->notified || w->load >= MAX_INFLIGHT) continue;
        w->notified = 1;
        return w;
    }
    return NULL;
}

/* Main thread: hands a request to the pool; 0 if the pool is stopped. */
static int pool_submit(Request *r) {
    Worker *wake = NULL;
    pthread_mutex_lock(&pool.mu);
    if (pool.stopping || !pool.nworkers) {
        pthread_mutex_unlock(&pool.mu);
        return 0;
    }
    r->next = NULL;
    if (pool.tail) pool.tail->next = r; else pool.head = r;
    pool.tail = r;
    int awake = 0; /* an awake or woken worker looks at the queue before it sleeps */
    for (int i = 0; i < pool.nworkers && !awake; i++) awake = !pool.w[i].sleeping || pool.w[i].notified;
    if (!awake) wake = pick_sleeper(NULL);
    pthread_mutex_unlock(&pool.mu);
    if (wake) notify(wake);
    return 1;
}

/* The worker's verdict is final: the request now belongs to the server. */
static void finish(Worker *w, Request *r) {
    w->held--;
    VM_UnblockClient(r->bc, r); /* exactly once per request */
}

static void wait_push_front(Worker *w, Request *r) {
    r->next = w->wait;
    w->wait = r;
    if (!w->wait_tail) w->wait_tail = r;
}

static Request *wait_pop(Worker *w) {
    Request *r = w->wait;
    w->wait = r->next;
    if (!w->wait) w->wait_tail = NULL;
    r->next = NULL;
    return r;
}

static void conn_close(Worker *w, AgentConn *c) {
    if (!c->r) w->nidle--;
    /* Explicitly: a forked child's copy of the fd would keep it registered. */
    epoll_ctl(w->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
    c->r = NULL;
}

/* Closes every idle connection (after one turned out stale, the rest
 * probably are too: the agent restarted or closes after each answer). */
static void close_idle(Worker *w) {
    for (int i = 0; i < w->nconns && w->nidle; i++)
        if (w->conns[i].fd >= 0 && !w->conns[i].r) conn_close(w, &w->conns[i]);
}

static AgentConn *idle_conn(Worker *w) {
    if (!w->nidle) return NULL;
    for (int i = 0; i < w->nconns; i++)
        if (w->conns[i].fd >= 0 && !w->conns[i].r) return &w->conns[i];
    return NULL;
}

/* Watches c for input, and for output while connecting or sending. */
static int conn_watch(Worker *w, AgentConn *c, int op) {
    struct epoll_event e = {.events = EPOLLIN | (c->connecting || (c->r && c->sent < c->r->line_len) ? EPOLLOUT : 0),
                            .data.u32 = (uint32_t)(c - w->conns) + 1};
    return epoll_ctl(w->epfd, op, c->fd, &e);
}

/* Opens a new connection in a free slot; NULL with *err set on failure
 * (EAGAIN: the agent's listen backlog is full, try again shortly). */
static AgentConn *conn_open(Worker *w, int *err) {
    AgentConn *c = NULL;
    for (int i = 0; i < w->nconns && !c; i++)
        if (w->conns[i].fd < 0) c = &w->conns[i];
    if (!c && w->nconns == w->capconns) {
        int cap = w->capconns ? w->capconns * 2 : 8;
        if (cap > MAX_INFLIGHT + KEEP_IDLE) cap = MAX_INFLIGHT + KEEP_IDLE;
        AgentConn *grown = cap > w->capconns ? realloc(w->conns, (size_t)cap * sizeof(*grown)) : NULL;
        if (!grown) {
            *err = ENOMEM;
            return NULL;
        }
        w->conns = grown;
        w->capconns = cap;
    }
    if (!c) c = &w->conns[w->nconns++];
    c->fd = -1;
    c->r = NULL;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *err = errno;
        return NULL;
    }
    int rc;
    do rc = connect(fd, (struct sockaddr *)&agent_addr, sizeof(agent_addr));
    while (rc < 0 && errno == EINTR);
    if (rc < 0 && errno != EINPROGRESS) {
        *err = errno;
        close(fd);
        return NULL;
    }
    c->fd = fd;
    c->reused = 0;
    c->connecting = rc < 0;
    if (conn_watch(w, c, EPOLL_CTL_ADD) < 0) {
        *err = errno;
        close(fd);
        c->fd = -1;
        return NULL;
    }
    w->nidle++; /* idle until a request is put on it */
    return c;
}

/* The connection broke while carrying c->r. If it had answered before and
 * broke before any byte of this answer, the agent most likely closed it in
 * between (restart, or an agent that closes after each answer): send the
 * request once more on a fresh connection if the deadline allows. */
static void conn_failed(Worker *w, AgentConn *c, const char *what, int err) {
    Request *r = c->r;
    int stale = c->reused && c->got == 0 && (err == 0 || err == EPIPE || err == ECONNRESET);
    conn_close(w, c);
    if (stale) {
        close_idle(w);
        if (!r->resent && r->deadline > now_ms()) {
            r->resent = 1;
            wait_push_front(w, r);
            return;
        }
    }
    fail(r, what, err);
    finish(w, r);
}

/* Writes (the rest of) the request line; `watching_out`: EPOLLOUT is on. */
static void send_some(Worker *w, AgentConn *c, int watching_out) {
    Request *r = c->r;
    while (c->sent < r->line_len) {
        ssize_t n = send(c->fd, r->line + c->sent, r->line_len - c->sent, MSG_NOSIGNAL);
        if (n > 0) { c->sent += (size_t)n; continue; }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) { /* socket buffer full: wait for EPOLLOUT */
            if (watching_out || conn_watch(w, c, EPOLL_CTL_MOD) == 0) return;
        }
        conn_failed(w, c, "write to agent", n < 0 ? errno : EIO);
        return;
    }
    if (watching_out && conn_watch(w, c, EPOLL_CTL_MOD) < 0) conn_failed(w, c, "write to agent", errno);
}

static void conn_writable(Worker *w, AgentConn *c) {
    if (c->connecting) {
        int soerr = 0;
        socklen_t sl = sizeof(soerr);
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0) soerr = errno;
        if (soerr) {
            conn_failed(w, c, "connect to agent", soerr);
            return;
        }
        c->connecting = 0;
    }
    send_some(w, c, 1);
}

static void conn_readable(Worker *w, AgentConn *c) {
    Request *r = c->r;
    ssize_t n;
    do n = read(c->fd, c->in + c->got, sizeof(c->in) - 1 - c->got);
    while (n < 0 && errno == EINTR);
    if (n == 0) {
        conn_failed(w, c, "agent closed without answering", 0);
        return;
    }
    if (n < 0) {
        if (errno != EAGAIN) conn_failed(w, c, "read from agent", errno);
        return;
    }
    c->got += (size_t)n;
    char *nl = memchr(c->in, '\n', c->got);
    if (!nl) {
        if (c->got == sizeof(c->in) - 1) {
            fail(r, "agent answer too long", 0);
            conn_close(w, c);
            finish(w, r);
        }
        return;
    }
    /* More than one line, or not an answer at all: the agent is out of step
     * or confused, so this connection is not used again. */
    int suspect = (size_t)(nl + 1 - c->in) < c->got;
    *nl = '\0';
    if (memchr(c->in, '\0', (size_t)(nl - c->in))) {
        fail(r, "malformed agent answer", 0);
        suspect = 1;
    } else if (!parse_answer(r, c->in)) {
        suspect = 1;
    }
    c->r = NULL; /* idle again */
    c->reused = 1;
    w->nidle++;
    if (suspect || w->nidle > KEEP_IDLE) conn_close(w, c);
    finish(w, r);
}

/* Fails what waits or is in flight past its deadline; a connection whose
 * request timed out is closed, since its late answer would come next. */
static void expire(Worker *w, long long now) {
    for (int i = 0; i < w->nconns; i++) {
        AgentConn *c = &w->conns[i];
        if (c->fd < 0 || !c->r || c->r->deadline > now) continue;
        Request *r = c->r;
        fail(r, c->connecting ? "connect to agent" : c->sent < r->line_len ? "write to agent" : "read from agent",
             ETIMEDOUT);
        conn_close(w, c);
        finish(w, r);
    }
    for (Request **p = &w->wait; *p;) {
        Request *r = *p;
        if (r->deadline > now) {
            p = &r->next;
            continue;
        }
        *p = r->next;
        if (w->wait_tail == r) w->wait_tail = NULL;
        r->next = NULL;
        fail(r, "connect to agent", ETIMEDOUT);
        finish(w, r);
    }
    if (!w->wait_tail) /* re-find the tail after removals */
        for (Request *r = w->wait; r; r = r->next) w->wait_tail = r;
}

/* Puts waiting requests on idle or new connections, oldest first. */
static void dispatch(Worker *w, long long now) {
    while (w->wait) {
        Request *r = w->wait;
        AgentConn *c = r->resent ? NULL : idle_conn(w);
        if (!c) {
            if (r->retry_at > now) break;
            int err = 0;
            c = conn_open(w, &err);
            if (!c) {
                if (err == EAGAIN) { /* backlog full: retry until the deadline */
                    r->retry_at = now + CONNECT_RETRY_MS;
                    break;
                }
                wait_pop(w);
                fail(r, "connect to agent", err);
                finish(w, r);
                continue;
            }
        }
        wait_pop(w);
        w->nidle--;
        c->r = r;
        c->sent = c->got = 0;
        if (!c->connecting) send_some(w, c, 0);
    }
}

/* Fails everything the worker holds and closes its connections. */
static void worker_stop(Worker *w) {
    for (int i = 0; i < w->nconns; i++) {
        AgentConn *c = &w->conns[i];
        if (c->fd < 0) continue;
        Request *r = c->r;
        conn_close(w, c);
        if (r) {
            fail(r, "module stopping", 0);
            finish(w, r);
        }
    }
    while (w->wait) {
        Request *r = wait_pop(w);
        fail(r, "module stopping", 0);
        finish(w, r);
    }
    free(w->conns);
    w->conns = NULL;
    w->nconns = w->capconns = 0;
}

static void *worker_main(void *arg) {
    Worker *w = arg;
    for (;;) {
        pthread_mutex_lock(&pool.mu);
        w->sleeping = w->notified = 0;
        if (pool.stopping) {
            pthread_mutex_unlock(&pool.mu);
            break;
        }
        while (pool.head && w->held < MAX_INFLIGHT) { /* take what fits */
            Request *r = pool.head;
            pool.head = r->next;
            if (!pool.head) pool.tail = NULL;
            r->next = NULL;
            if (w->wait_tail) w->wait_tail->next = r; else w->wait = r;
            w->wait_tail = r;
            w->held++;
        }
        pthread_mutex_unlock(&pool.mu);

        long long now = now_ms();
        expire(w, now);
        dispatch(w, now);

        /* Sleep until an answer, a hang-up, new work or the next deadline. */
        long long next = LLONG_MAX;
        for (int i = 0; i < w->nconns; i++)
            if (w->conns[i].fd >= 0 && w->conns[i].r && w->conns[i].r->deadline < next) next = w->conns[i].r->deadline;
        for (Request *r = w->wait; r; r = r->next) {
            if (r->deadline < next) next = r->deadline;
            if (r == w->wait && r->retry_at > now && r->retry_at < next) next = r->retry_at;
        }
        long long left = next == LLONG_MAX ? -1 : next > now ? next - now : 0;
        if (left > INT_MAX) left = INT_MAX;

        Worker *other = NULL;
        pthread_mutex_lock(&pool.mu);
        if (!pool.stopping && pool.head && w->held < MAX_INFLIGHT) {
            pthread_mutex_unlock(&pool.mu); /* more work arrived */
            continue;
        }
        if (pool.head) other = pick_sleeper(w); /* this worker is full: pass it on */
        w->sleeping = !pool.stopping;
        w->load = w->held;
        pthread_mutex_unlock(&pool.mu);
        if (other) notify(other);
        if (!w->sleeping) continue;

        int n = epoll_wait(w->epfd, w->ev, (int)(sizeof(w->ev) / sizeof(w->ev[0])), (int)left);
        for (int k = 0; k < n; k++) {
            uint32_t slot = w->ev[k].data.u32, events = w->ev[k].events;
            if (slot == 0) {
                uint64_t v;
                if (read(w->efd, &v, sizeof(v)) < 0) { /* already drained */ }
                continue;
            }
            AgentConn *c = &w->conns[slot - 1];
            if (c->fd < 0) continue; /* closed by an earlier event of this batch */
            if (!c->r) {
                conn_close(w, c); /* idle: stray bytes or hang-up */
            } else if (c->connecting || c->sent < c->r->line_len) {
                if (!c->connecting && !(events & (EPOLLOUT | EPOLLHUP | EPOLLERR))) {
                    Request *r = c->r; /* input before the request was complete */
                    fail(r, "agent wrote before reading the request", 0);
                    conn_close(w, c);
                    finish(w, r);
                } else {
                    conn_writable(w, c);
                }
            } else {
                conn_readable(w, c);
            }
        }
    }
    worker_stop(w);
    return NULL;
}

/* Stops and joins every worker; whatever they held is answered ERR_IAM_OTHER.
 * Main thread only (unload, shutdown, failed load). */
static void pool_stop(void) {
    if (!pool.nworkers) return;
    pthread_mutex_lock(&pool.mu);
    pool.stopping = 1;
    pthread_mutex_unlock(&pool.mu);
    for (int i = 0; i < pool.nworkers; i++) notify(&pool.w[i]);
    for (int i = 0; i < pool.nworkers; i++) { /* each fails what it holds, then exits */
        pthread_join(pool.w[i].tid, NULL);
        close(pool.w[i].efd);
        close(pool.w[i].epfd);
    }
    pool.nworkers = 0;
    while (pool.head) { /* not taken by any worker */
        Request *r = pool.head;
        pool.head = r->next;
        fail(r, "module stopping", 0);
        VM_UnblockClient(r->bc, r);
    }
    pool.tail = NULL;
}

/* Starts the workers at load; 0 (with nothing left running) on failure. */
static int pool_start(ValkeyModuleCtx *ctx) {
    memset(&agent_addr, 0, sizeof(agent_addr));
    agent_addr.sun_family = AF_UNIX;
    memcpy(agent_addr.sun_path, cfg.socket_path, strlen(cfg.socket_path));
    pool.stopping = 0;
    pthread_attr_t attr;
    sigset_t all, old;
    sigfillset(&all);
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, WORKER_STACK);
    /* Workers block all signals: the server's handlers belong to its own threads. */
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = 0;
    const char *what = "";
    for (int i = 0; i < cfg.workers; i++) {
        Worker *w = &pool.w[i];
        memset(w, 0, sizeof(*w));
        struct epoll_event e = {.events = EPOLLIN, .data.u32 = 0};
        w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        w->epfd = epoll_create1(EPOLL_CLOEXEC);
        if (w->efd < 0 || w->epfd < 0 || epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->efd, &e) < 0) {
            rc = errno;
            what = "eventfd/epoll";
        } else if ((rc = pthread_create(&w->tid, &attr, worker_main, w)) != 0) {
            what = "pthread_create";
        }
        if (rc) {
            if (w->efd >= 0) close(w->efd);
            if (w->epfd >= 0) close(w->epfd);
            break;
        }
        pthread_mutex_lock(&pool.mu);
        pool.nworkers = i + 1;
        pthread_mutex_unlock(&pool.mu);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    if (pool.nworkers == cfg.workers) return 1;
    char buf[64];
    kg_log(ctx, VALKEYMODULE_LOGLEVEL_WARNING, "cannot start worker thread %d (%s: %s); not loading",
           pool.nworkers + 1, what, strerror_r(rc, buf, sizeof(buf)));
    pool_stop();
    return 0;
}

/* --------------------------------------------------------- logins --- */

/* Rate-limited warning so a dead agent cannot flood the server log. */
static void warn_backend(ValkeyModuleCtx *ctx, const char *why) {
    static long long last;
    static unsigned long suppressed;
    long long now = now_ms();
    if (last && now - last < 1000) {
        suppressed++;
        return;
    }
    kg_log(ctx, VALKEYMODULE_LOGLEVEL_WARNING, "IAM login failed (ERR_IAM_OTHER): %s (%lu similar suppressed)",
           why, suppressed);
    last = now;
    suppressed = 0;
}

static int deny_wrong(ValkeyModuleCtx *ctx, ValkeyModuleString *user, const char *why) {
    if (VM_ACLAddLogEntryByUserName) {
        ValkeyModuleString *obj = VM_CreateString(ctx, why, strlen(why));
        VM_ACLAddLogEntryByUserName(ctx, user, obj, VALKEYMODULE_ACL_LOG_AUTH);
        VM_FreeString(ctx, obj);
    }
    return VALKEYMODULE_AUTH_HANDLED; /* err left NULL: the server sends WRONGPASS */
}

static int deny_err(ValkeyModuleCtx *ctx, ValkeyModuleString **err, const char *text) {
    *err = VM_CreateString(ctx, text, strlen(text)); /* freed by the server */
    return VALKEYMODULE_AUTH_HANDLED;
}

/* Logs the client in as ACL user "default" and (re)starts its age limit. */
static int login(ValkeyModuleCtx *ctx, ValkeyModuleString *user, const char *principal, const char *how) {
    uint64_t id = 0;
    /* On a re-AUTH this fires the previous on_user_changed first (dropping the
     * old deadline); the new one is set afterwards. */
    if (VM_AuthenticateClientWithACLUser(ctx, "default", 7, cfg.max_age_ms ? on_user_changed : NULL, NULL,
                                         &id) != VALKEYMODULE_OK) {
        kg_log(ctx, VALKEYMODULE_LOGLEVEL_WARNING, "cannot log in as ACL user 'default' (missing or off?)");
        return deny_wrong(ctx, user, "keygate-iam: default user unavailable");
    }
    if (cfg.max_age_ms && !age_set(id, now_ms() + cfg.max_age_ms))
        kg_log(ctx, VALKEYMODULE_LOGLEVEL_WARNING, "out of memory: no age limit for client %llu",
               (unsigned long long)id);
    kg_log(ctx, VALKEYMODULE_LOGLEVEL_VERBOSE, "client %llu logged in as %s (%s)", (unsigned long long)id,
           principal, how);
    return VALKEYMODULE_AUTH_HANDLED;
}

/* Runs on the main thread once the worker has unblocked the client. */
static int auth_reply(ValkeyModuleCtx *ctx, ValkeyModuleString *user, ValkeyModuleString *pass,
                      ValkeyModuleString **err) {
    (void)pass;
    Request *r = VM_GetBlockedClientPrivateData(ctx);
    if (!r) return deny_err(ctx, err, ERR_OTHER);
    switch (r->verdict) {
    case V_ALLOW:
        cache_put(REQ_TOKEN(r), r->len, r->cache_ms, r->principal);
        return login(ctx, user, r->principal, "agent");
    case V_WRONG:
        return deny_wrong(ctx, user, "keygate-iam: token rejected");
    case V_EXHAUSTED:
        return deny_err(ctx, err, ERR_EXHAUSTED);
    default:
        warn_backend(ctx, r->why[0] ? r->why : "unknown");
        return deny_err(ctx, err, ERR_OTHER);
    }
}

static void request_free(ValkeyModuleCtx *ctx, void *privdata) {
    (void)ctx;
    Request *r = privdata;
    wipe(r->line, r->line_len); /* the token; the rest is not secret */
    free(r);
}

static int auth_cb(ValkeyModuleCtx *ctx, ValkeyModuleString *user, ValkeyModuleString *pass,
                   ValkeyModuleString **err) {
    size_t ulen, tlen;
    const char *uname = VM_StringPtrLen(user, &ulen);
    if (ulen != 7 || memcmp(uname, "default", 7) != 0)
        return VALKEYMODULE_AUTH_NOT_HANDLED; /* internal users: ACL passwords */

    const char *tok = VM_StringPtrLen(pass, &tlen);
    if (tlen > MAX_TOKEN_LEN || !is_word(tok, tlen))
        return deny_wrong(ctx, user, "keygate-iam: malformed token"); /* cannot be a token */

    Verdict *v = cache_get(tok, tlen);
    if (v) return login(ctx, user, v->principal, "cached");

    /* A client inside MULTI/EXEC or a script cannot be blocked. */
    int flags = VM_GetContextFlags(ctx);
    if (flags & (VALKEYMODULE_CTX_FLAGS_MULTI | VALKEYMODULE_CTX_FLAGS_LUA | VALKEYMODULE_CTX_FLAGS_DENY_BLOCKING))
        return deny_err(ctx, err, ERR_OTHER);

    /* The request line is built here once: the worker only writes it out. */
    size_t clen = strlen(cfg.cluster), n = 5 + clen + 1 + tlen + 1;
    Request *r = malloc(sizeof(*r) + n);
    if (!r) return deny_err(ctx, err, ERR_OTHER);
    r->next = NULL;
    r->deadline = now_ms() + cfg.timeout_ms; /* counts from here, time in the queue included */
    r->retry_at = 0;
    r->verdict = V_OTHER;
    r->resent = 0;
    r->cache_ms = 0;
    r->principal[0] = r->why[0] = '\0';
    r->len = tlen;
    r->line_len = n;
    memcpy(r->line, "AUTH ", 5);
    memcpy(r->line + 5, cfg.cluster, clen);
    r->line[5 + clen] = ' ';
    memcpy(r->line + 6 + clen, tok, tlen);
    r->line[n - 1] = '\n';

    r->bc = VM_BlockClientOnAuth(ctx, auth_reply, request_free);
    if (!r->bc) {
        request_free(ctx, r);
        return deny_err(ctx, err, ERR_OTHER);
    }
    if (!pool_submit(r)) { /* only after the shutdown event */
        fail(r, "module stopping", 0);
        VM_UnblockClient(r->bc, r); /* auth_reply answers ERR_IAM_OTHER */
    }
    return VALKEYMODULE_AUTH_HANDLED;
}

/* Valkey 9 tries to unload modules at shutdown and refuses (with a warning)
 * while a timer is pending, so stop ours first; also stop and join the
 * workers so none runs while the process exits. Never runs inside age_tick. */
static void on_shutdown(ValkeyModuleCtx *ctx, ValkeyModuleEvent eid, uint64_t sub, void *data) {
    (void)eid;
    (void)sub;
    (void)data;
    if (age_timer) VM_StopTimer(ctx, age_timer, NULL);
    age_timer = 0;
    pool_stop();
}

/* ---------------------------------------------------------- loading --- */

/* Parses a decimal integer in [min, max]; 1 on success. */
static int parse_num(const char *s, long long min, long long max, long long *out) {
    if (!*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 15) return 0;
    long long v = strtoll(s, NULL, 10);
    if (v < min || v > max) return 0;
    *out = v;
    return 1;
}

static int parse_args(ValkeyModuleCtx *ctx, ValkeyModuleString **argv, int argc) {
    int seen_socket = 0, seen_cluster = 0, seen_timeout = 0, seen_age = 0, seen_cache = 0, seen_workers = 0;
    for (int i = 0; i < argc; i++) {
        size_t len;
        const char *arg = VM_StringPtrLen(argv[i], &len);
        const char *eq = memchr(arg, '=', len);
        if (!eq || strlen(arg) != len) {
            kg_log(ctx, VALKEYMODULE_LOGLEVEL_WARNING, "argument %d is not key=value; not loading", i + 1);
            return 0;
        }
        size_t klen = (size_t)(eq - arg);
        const char *val = eq + 1;
        size_t vlen = len - klen - 1;
#define KEY_IS(k) (klen == strlen(k) && !memcmp(arg, k, klen))
        int *seen = KEY_IS("socket") ? &seen_socket : KEY_IS("cluster") ? &seen_cluster
                  : KEY_IS("timeout-ms") ? &seen_timeout : KEY_IS("max-age-ms") ? &seen_age
                  : KEY_IS("cache-size") ? &seen_cache : KEY_IS("workers") ? &seen_workers : NULL;
        if (!seen) {
            kg_log(ctx, VALKEYMODULE_LOGLEVEL_WARNING, "unknown argument '%.*s'; expected socket=, cluster=, "
                   "timeout-ms=, max-age-ms=, cache-size=, workers=; not loading", (int)(klen > 64 ? 64 : klen), arg);
            return 0;
        }
        if ((*seen)++) {
            kg_log(ctx, VALKEYMODULE_LOGLEVEL_WARNING, "argument '%.*s' given twice; not loading", (int)klen, arg);
            return 0;
        }
        int ok;
        if (KEY_IS("socket")) {
            ok = vlen > 0 && vlen < sizeof(cfg.socket_path);
            if (ok) memcpy(cfg.socket_path, val, vlen + 1);
        } else if (KEY_IS("cluster")) {
            ok = vlen <= MAX_CLUSTER_LEN && is_word(val, vlen);
            if (ok) memcpy(cfg.cluster, val, vlen + 1);
        } else if (KEY_IS("timeout-ms")) {
            ok = parse_num(val, 1, 600000, &cfg.timeout_ms);
        } else if (KEY_IS("max-age-ms")) {
            ok = parse_num(val, 0, 100LL * 365 * 24 * 3600 * 1000, &cfg.max_age_ms);
        } else if (KEY_IS("cache-size")) {
            ok = parse_num(val, 0, 10000000, &cfg.cache_size);
        } else {
            ok = parse_num(val, 1, MAX_WORKERS, &cfg.workers);
        }
        if (!ok) {
            kg_log(ctx, VALKEYMODULE_LOGLEVEL_WARNING, "invalid value for '%.*s' (socket: path shorter than %zu "
                   "bytes; cluster: 1-%d printable chars without spaces; timeout-ms: 1-600000; max-age-ms: >= 0; "
                   "cache-size: 0-10000000; workers: 1-%d); not loading", (int)klen, arg, sizeof(cfg.socket_path),
                   MAX_CLUSTER_LEN, MAX_WORKERS);
            return 0;
        }
#undef KEY_IS
    }
    if (!seen_socket || !seen_cluster) {
        kg_log(ctx, VALKEYMODULE_LOGLEVEL_WARNING, "socket=PATH and cluster=NAME are required; not loading");
        return 0;
    }
    return 1;
}

int ValkeyModule_OnLoad(ValkeyModuleCtx *ctx, ValkeyModuleString **argv, int argc) {
    if (!load_api(ctx)) return VALKEYMODULE_ERR;
    if (VM_IsModuleNameBusy && VM_IsModuleNameBusy(MODULE_NAME)) return VALKEYMODULE_ERR;
    VM_SetModuleAttribs(ctx, MODULE_NAME, 1, VALKEYMODULE_APIVER_1);

    if (!parse_args(ctx, argv, argc)) return VALKEYMODULE_ERR;
    if (!cache_init()) {
        kg_log(ctx, VALKEYMODULE_LOGLEVEL_WARNING, "out of memory for the verdict cache; not loading");
        return VALKEYMODULE_ERR;
    }
    if (!pool_start(ctx)) { /* last step that can fail: nothing runs if it does */
        cache_free();
        return VALKEYMODULE_ERR;
    }
    VM_RegisterAuthCallback(ctx, auth_cb);
    if (cfg.max_age_ms) age_timer = VM_CreateTimer(ctx, tick_period(), age_tick, NULL);
    if (VM_SubscribeToServerEvent) {
        ValkeyModuleEvent shutdown = {VALKEYMODULE_EVENT_SHUTDOWN, 1};
        VM_SubscribeToServerEvent(ctx, shutdown, on_shutdown);
    }
    kg_log(ctx, VALKEYMODULE_LOGLEVEL_NOTICE,
           "IAM logins for %s via %s (timeout-ms=%lld max-age-ms=%lld cache-size=%lld workers=%lld)", cfg.cluster,
           cfg.socket_path, cfg.timeout_ms, cfg.max_age_ms, cfg.cache_size, cfg.workers);
    return VALKEYMODULE_OK;
}

/* Reached by MODULE UNLOAD only with max-age-ms=0 (a pending timer blocks it)
 * and no login in flight (blocked clients block it too), and by Valkey 9's
 * unload at exit after on_shutdown. The workers are stopped and joined here
 * (if still running) before the server unmaps this code. */
int ValkeyModule_OnUnload(ValkeyModuleCtx *ctx) {
    (void)ctx;
    pool_stop();
    cache_free();
    free(ages.ids);
    free(ages.deadlines);
    memset(&ages, 0, sizeof(ages));
    return VALKEYMODULE_OK;
}
