/* Unit test of the module's in-memory tables (age table with backward-shift
 * deletion, verdict cache with eviction) against simple reference models.
 * Includes the module source so the static functions are reachable. */
#include "../keygate_iam.c"

#include <assert.h>

#define N 5000

static int failures;
#define CHECK(c)                                                        \
    do {                                                                \
        if (!(c)) {                                                     \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
            failures++;                                                 \
        }                                                               \
    } while (0)

static void test_ages(void) {
    static long long model[N + 1]; /* 0 = absent */
    size_t present = 0;
    srand(42);
    for (int step = 0; step < 200000; step++) {
        uint64_t id = 1 + (uint64_t)(rand() % N);
        if (rand() % 3) {
            long long dl = rand();
            if (!model[id]) present++;
            model[id] = dl;
            CHECK(age_set(id, dl));
        } else {
            if (model[id]) present--;
            model[id] = 0;
            age_del(id);
        }
        if (step % 20000 == 0 || step == 199999) {
            CHECK(ages.count == present);
            if (!ages.cap) continue; /* nothing stored yet */
            for (uint64_t k = 1; k <= N; k++) {
                size_t i = age_find(k);
                if (model[k]) CHECK(ages.ids[i] == k && ages.deadlines[i] == model[k]);
                else CHECK(ages.ids[i] == 0);
            }
        }
    }
}

static void test_cache(void) {
    char tok[32], other[32];
    cfg.cache_size = 100;
    CHECK(cache_init());
    for (int i = 0; i < 250; i++) {
        snprintf(tok, sizeof(tok), "tok-%d", i);
        cache_put(tok, strlen(tok), 60000, "user:a");
    }
    CHECK(cache.count == 100);
    CHECK(cache_get("tok-0", 5) == NULL);       /* oldest evicted */
    CHECK(cache_get("tok-249", 7) != NULL);     /* newest kept */
    Verdict *v = cache_get("tok-150", 7);
    CHECK(v && !strcmp(v->principal, "user:a"));
    CHECK(cache_get("tok-15", 6) == NULL);      /* prefix is not a match */
    CHECK(cache_get("tok-1500", 8) == NULL);
    cache_put("tok-150", 7, 60000, "user:b");   /* refresh replaces */
    CHECK(cache.count == 100);
    v = cache_get("tok-150", 7);
    CHECK(v && !strcmp(v->principal, "user:b"));
    cache_put("short", 5, 1, "user:c");         /* expires after 1 ms */
    struct timespec ts = {0, 5 * 1000000L};
    nanosleep(&ts, NULL);
    CHECK(cache_get("short", 5) == NULL);
    cache_put("zero", 4, 0, "user:d");          /* 0 = not cached */
    CHECK(cache_get("zero", 4) == NULL);
    snprintf(other, sizeof(other), "tok-249");
    CHECK(cache_get(other, strlen(other)) != NULL);
    cache_free();
    CHECK(cache.count == 0);
}

static void test_parse(void) {
    Request r;
    char line[128];
    struct { const char *in; int verdict; long long ms; } cases[] = {
        {"ALLOW 60000 user:a@b.c", V_ALLOW, 60000}, {"ALLOW 0 user:a", V_ALLOW, 0},
        {"ALLOW 999999999999 p", V_ALLOW, MAX_CACHE_MS}, {"WRONG", V_WRONG, 0},
        {"EXHAUSTED", V_EXHAUSTED, 0}, {"OTHER", V_OTHER, 0}, {"ALLOW 1", V_OTHER, 0},
        {"ALLOW x user:a", V_OTHER, 0}, {"ALLOW 1  user:a", V_OTHER, 0}, {"ALLOW 1 user a", V_OTHER, 0},
        {"ALLOW -1 user:a", V_OTHER, 0}, {"ALLOW 1234567890123 p", V_OTHER, 0}, {"allow 1 p", V_OTHER, 0},
        {"WRONG ", V_OTHER, 0}, {"ALLOW 1 p\r", V_OTHER, 0}, {"", V_OTHER, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(&r, 0, sizeof(r));
        snprintf(line, sizeof(line), "%s", cases[i].in);
        parse_answer(&r, line);
        CHECK(r.verdict == cases[i].verdict);
        if (cases[i].verdict == V_ALLOW) CHECK(r.cache_ms == cases[i].ms);
    }
}

int main(void) {
    test_ages();
    test_cache();
    test_parse();
    printf("tables and parser: %s\n", failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}
