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
 * A worker thread per uncached login only talks to the agent and then calls
 * UnblockClient exactly once.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
} cfg = {"", "", 2000, 43200000LL, 10000};

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts); /* immune to wall-clock jumps */
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

__attribute__((format(printf, 3, 4))) static void kg_log(ValkeyModuleCtx *ctx, const char *level,
                                                          const char *fmt, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    VM_Log(ctx, level, "%s", buf);
}

/* Overwrites secrets before their memory is reused. */
static void wipe(void *p, size_t n) {
    volatile unsigned char *v = p;
    while (n--) *v++ = 0;
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

/* Valkey 9 tries to unload modules at shutdown and refuses (with a warning)
 * while a timer is pending, so stop ours first. Never runs inside age_tick. */
static void on_shutdown(ValkeyModuleCtx *ctx, ValkeyModuleEvent eid, uint64_t sub, void *data) {
    (void)eid;
    (void)sub;
    (void)data;
    if (age_timer) VM_StopTimer(ctx, age_timer, NULL);
    age_timer = 0;
}

/* ------------------------------------------------------- agent calls --- */

enum { V_ALLOW, V_WRONG, V_EXHAUSTED, V_OTHER };

/* One login in flight. Owned by the worker until UnblockClient, then by the
 * server, which hands it to auth_reply and finally to request_free. */
typedef struct {
    ValkeyModuleBlockedClient *bc;
    long long deadline; /* now_ms() */
    int verdict;
    long long cache_ms;
    char principal[MAX_PRINCIPAL_LEN + 1];
    char why[160]; /* failure detail for the log; never contains the token */
    size_t len;
    char token[];
} Request;

static int remaining_ms(const Request *r) {
    long long left = r->deadline - now_ms();
    return left <= 0 ? 0 : (int)left;
}

/* Waits until fd is ready for `events` or the deadline passes. */
static int wait_fd(int fd, short events, const Request *r) {
    for (;;) {
        int left = remaining_ms(r);
        if (left == 0) return 0;
        struct pollfd p = {.fd = fd, .events = events};
        int n = poll(&p, 1, left);
        if (n > 0) return 1;
        if (n < 0 && errno != EINTR) return 0;
    }
}

static int fail(Request *r, const char *what, int err) {
    char buf[64];
    r->verdict = V_OTHER;
    if (err) snprintf(r->why, sizeof(r->why), "%s: %s", what, strerror_r(err, buf, sizeof(buf))); /* GNU */
    else snprintf(r->why, sizeof(r->why), "%s", what);
    return -1;
}

static int agent_connect(Request *r) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return fail(r, "socket", errno);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    memcpy(sa.sun_path, cfg.socket_path, strlen(cfg.socket_path));
    for (;;) {
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) return fd;
        if (errno == EINTR) continue;
        if (errno == EAGAIN && remaining_ms(r) > 0) { /* agent backlog full: retry */
            struct timespec ts = {0, 5 * 1000000L};
            nanosleep(&ts, NULL);
            continue;
        }
        if (errno == EINPROGRESS) {
            int soerr = 0;
            socklen_t sl = sizeof(soerr);
            if (!wait_fd(fd, POLLOUT, r)) break;
            if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0) return fd;
            errno = soerr;
        }
        int e = errno == EAGAIN ? ETIMEDOUT : errno;
        close(fd);
        return fail(r, "connect to agent", e);
    }
    close(fd);
    return fail(r, "connect to agent", ETIMEDOUT);
}

/* Parses the agent's one-line answer (without the newline). */
static void parse_answer(Request *r, char *line) {
    if (!strcmp(line, "WRONG")) { r->verdict = V_WRONG; return; }
    if (!strcmp(line, "EXHAUSTED")) { r->verdict = V_EXHAUSTED; return; }
    if (!strcmp(line, "OTHER")) { fail(r, "agent answered OTHER", 0); return; }
    if (!strncmp(line, "ALLOW ", 6)) {
        char *ms = line + 6, *sp = strchr(ms, ' ');
        size_t digits = sp ? (size_t)(sp - ms) : 0;
        if (digits >= 1 && digits <= 12 && strspn(ms, "0123456789") == digits &&
            is_word(sp + 1, strlen(sp + 1)) && strlen(sp + 1) <= MAX_PRINCIPAL_LEN) {
            r->cache_ms = strtoll(ms, NULL, 10);
            if (r->cache_ms > MAX_CACHE_MS) r->cache_ms = MAX_CACHE_MS;
            snprintf(r->principal, sizeof(r->principal), "%s", sp + 1);
            r->verdict = V_ALLOW;
            return;
        }
    }
    fail(r, "malformed agent answer", 0);
}

/* Asks the agent; every outcome ends in r->verdict. */
static void ask_agent(Request *r) {
    int fd = agent_connect(r);
    if (fd < 0) return;

    size_t clen = strlen(cfg.cluster), n = 5 + clen + 1 + r->len + 1;
    char *req = malloc(n);
    if (!req) {
        close(fd);
        fail(r, "out of memory", 0);
        return;
    }
    memcpy(req, "AUTH ", 5);
    memcpy(req + 5, cfg.cluster, clen);
    req[5 + clen] = ' ';
    memcpy(req + 6 + clen, r->token, r->len);
    req[n - 1] = '\n';

    size_t off = 0;
    while (off < n) {
        ssize_t w = send(fd, req + off, n - off, MSG_NOSIGNAL);
        if (w > 0) { off += (size_t)w; continue; }
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && errno == EAGAIN && wait_fd(fd, POLLOUT, r)) continue;
        fail(r, "write to agent", w < 0 && errno != EAGAIN ? errno : ETIMEDOUT);
        break;
    }
    wipe(req, n);
    free(req);
    if (off < n) {
        close(fd);
        return;
    }

    char line[MAX_PRINCIPAL_LEN + 64];
    size_t got = 0;
    for (;;) {
        ssize_t rd = read(fd, line + got, sizeof(line) - 1 - got);
        if (rd > 0) {
            got += (size_t)rd;
            char *nl = memchr(line, '\n', got);
            if (nl) {
                *nl = '\0';
                if (memchr(line, '\0', (size_t)(nl - line))) fail(r, "malformed agent answer", 0);
                else parse_answer(r, line);
                break;
            }
            if (got == sizeof(line) - 1) { fail(r, "agent answer too long", 0); break; }
            continue;
        }
        if (rd == 0) { fail(r, "agent closed without answering", 0); break; }
        if (errno == EINTR) continue;
        if (errno == EAGAIN && wait_fd(fd, POLLIN, r)) continue;
        fail(r, "read from agent", errno == EAGAIN ? ETIMEDOUT : errno);
        break;
    }
    close(fd);
}

static void *worker_main(void *arg) {
    Request *r = arg;
    ask_agent(r);
    VM_UnblockClient(r->bc, r); /* exactly once; r now belongs to the server */
    return NULL;
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
        cache_put(r->token, r->len, r->cache_ms, r->principal);
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
    wipe(r, sizeof(*r) + r->len);
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

    Request *r = calloc(1, sizeof(*r) + tlen);
    if (!r) return deny_err(ctx, err, ERR_OTHER);
    r->deadline = now_ms() + cfg.timeout_ms; /* counts from here, thread start-up included */
    r->verdict = V_OTHER;
    r->len = tlen;
    memcpy(r->token, tok, tlen);

    r->bc = VM_BlockClientOnAuth(ctx, auth_reply, request_free);
    if (!r->bc) {
        request_free(ctx, r);
        return deny_err(ctx, err, ERR_OTHER);
    }

    /* Workers block all signals (the server's handlers belong to its own
     * threads) and are detached: nobody joins them. */
    pthread_attr_t attr;
    pthread_t tid;
    sigset_t all, old;
    sigfillset(&all);
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, WORKER_STACK);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&tid, &attr, worker_main, r);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        fail(r, "cannot start worker thread", rc);
        VM_UnblockClient(r->bc, r); /* auth_reply answers ERR_IAM_OTHER */
    }
    return VALKEYMODULE_AUTH_HANDLED;
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
    int seen_socket = 0, seen_cluster = 0, seen_timeout = 0, seen_age = 0, seen_cache = 0;
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
                  : KEY_IS("cache-size") ? &seen_cache : NULL;
        if (!seen) {
            kg_log(ctx, VALKEYMODULE_LOGLEVEL_WARNING, "unknown argument '%.*s'; expected socket=, cluster=, "
                   "timeout-ms=, max-age-ms=, cache-size=; not loading", (int)(klen > 64 ? 64 : klen), arg);
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
        } else {
            ok = parse_num(val, 0, 10000000, &cfg.cache_size);
        }
        if (!ok) {
            kg_log(ctx, VALKEYMODULE_LOGLEVEL_WARNING, "invalid value for '%.*s' (socket: path shorter than %zu "
                   "bytes; cluster: 1-%d printable chars without spaces; timeout-ms: 1-600000; max-age-ms: >= 0; "
                   "cache-size: 0-10000000); not loading", (int)klen, arg, sizeof(cfg.socket_path),
                   MAX_CLUSTER_LEN);
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
    VM_RegisterAuthCallback(ctx, auth_cb);
    if (cfg.max_age_ms) {
        age_timer = VM_CreateTimer(ctx, tick_period(), age_tick, NULL);
        if (VM_SubscribeToServerEvent) {
            ValkeyModuleEvent shutdown = {VALKEYMODULE_EVENT_SHUTDOWN, 1};
            VM_SubscribeToServerEvent(ctx, shutdown, on_shutdown);
        }
    }
    kg_log(ctx, VALKEYMODULE_LOGLEVEL_NOTICE,
           "IAM logins for %s via %s (timeout-ms=%lld max-age-ms=%lld cache-size=%lld)", cfg.cluster,
           cfg.socket_path, cfg.timeout_ms, cfg.max_age_ms, cfg.cache_size);
    return VALKEYMODULE_OK;
}

/* Only reachable with max-age-ms=0 (a pending timer blocks MODULE UNLOAD) and
 * no login in flight (blocked clients block it too). */
int ValkeyModule_OnUnload(ValkeyModuleCtx *ctx) {
    (void)ctx;
    cache_free();
    free(ages.ids);
    free(ages.deadlines);
    memset(&ages, 0, sizeof(ages));
    return VALKEYMODULE_OK;
}
