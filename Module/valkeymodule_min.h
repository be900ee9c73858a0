/*
 * valkeymodule_min.h - the small part of the Valkey module ABI that
 * keygate_iam.c uses. valkeymodule.h is not installed on build hosts, so the
 * types, constants and function signatures below are written out by hand.
 * Source of truth: valkey-io/valkey src/valkeymodule.h and src/module.c
 * (checked against a Valkey 9.1.2 server at run time by Module/tests).
 *
 * Every API function is a pointer looked up at load time through the GetApi
 * function whose address the server stores in the first word of the
 * ValkeyModuleCtx passed to ValkeyModule_OnLoad.
 */
#ifndef KEYGATE_VALKEYMODULE_MIN_H
#define KEYGATE_VALKEYMODULE_MIN_H

#include <stddef.h>
#include <stdint.h>

/* Opaque server types. */
typedef struct ValkeyModuleCtx ValkeyModuleCtx;
typedef struct ValkeyModuleString ValkeyModuleString;
typedef struct ValkeyModuleBlockedClient ValkeyModuleBlockedClient;

typedef long long mstime_t;
typedef uint64_t ValkeyModuleTimerID;

#define VALKEYMODULE_OK 0
#define VALKEYMODULE_ERR 1
#define VALKEYMODULE_APIVER_1 1

/* Return values of an auth callback. */
#define VALKEYMODULE_AUTH_HANDLED 0
#define VALKEYMODULE_AUTH_NOT_HANDLED 1

/* GetContextFlags bits: contexts in which a client must not be blocked. */
#define VALKEYMODULE_CTX_FLAGS_LUA (1 << 0)
#define VALKEYMODULE_CTX_FLAGS_MULTI (1 << 1)
#define VALKEYMODULE_CTX_FLAGS_DENY_BLOCKING (1 << 21)

/* ACLAddLogEntryByUserName reason (enum ValkeyModuleACLLogEntryReason). */
#define VALKEYMODULE_ACL_LOG_AUTH 0

#define VALKEYMODULE_LOGLEVEL_VERBOSE "verbose"
#define VALKEYMODULE_LOGLEVEL_NOTICE "notice"
#define VALKEYMODULE_LOGLEVEL_WARNING "warning"

/* Callback types. */
typedef int (*ValkeyModuleAuthCallback)(ValkeyModuleCtx *ctx, ValkeyModuleString *username,
                                        ValkeyModuleString *password, ValkeyModuleString **err);
typedef void (*ValkeyModuleUserChangedFunc)(uint64_t client_id, void *privdata);
typedef void (*ValkeyModuleTimerProc)(ValkeyModuleCtx *ctx, void *data);
typedef void (*ValkeyModuleFreePrivdataFunc)(ValkeyModuleCtx *ctx, void *privdata);

/* Server events (SubscribeToServerEvent); passed by value. */
typedef struct ValkeyModuleEvent {
    uint64_t id;      /* VALKEYMODULE_EVENT_... */
    uint64_t dataver; /* version of the event data structure */
} ValkeyModuleEvent;
#define VALKEYMODULE_EVENT_SHUTDOWN 5
typedef void (*ValkeyModuleEventCallback)(ValkeyModuleCtx *ctx, ValkeyModuleEvent eid, uint64_t subevent,
                                          void *data);

/*
 * The API functions used, as X(return type, Name, (parameters), required).
 * Each becomes a pointer `VM_<Name>` filled from "ValkeyModule_<Name>".
 * Optional ones (required = 0) may be NULL on older servers.
 */
#define KEYGATE_VALKEY_API(X)                                                                      \
    X(int, IsModuleNameBusy, (const char *name), 0)                                                \
    X(void, SetModuleAttribs, (ValkeyModuleCtx * ctx, const char *name, int ver, int apiver), 1)  \
    X(void, Log, (ValkeyModuleCtx * ctx, const char *level, const char *fmt, ...), 1)             \
    X(const char *, StringPtrLen, (const ValkeyModuleString *str, size_t *len), 1)                 \
    X(ValkeyModuleString *, CreateString, (ValkeyModuleCtx * ctx, const char *ptr, size_t len), 1) \
    X(void, FreeString, (ValkeyModuleCtx * ctx, ValkeyModuleString * str), 1)                      \
    X(int, GetContextFlags, (ValkeyModuleCtx * ctx), 1)                                            \
    X(void, RegisterAuthCallback, (ValkeyModuleCtx * ctx, ValkeyModuleAuthCallback cb), 1)         \
    X(ValkeyModuleBlockedClient *, BlockClientOnAuth,                                              \
      (ValkeyModuleCtx * ctx, ValkeyModuleAuthCallback reply_cb, ValkeyModuleFreePrivdataFunc free_privdata), 1) \
    X(int, UnblockClient, (ValkeyModuleBlockedClient * bc, void *privdata), 1)                    \
    X(void *, GetBlockedClientPrivateData, (ValkeyModuleCtx * ctx), 1)                             \
    X(int, AuthenticateClientWithACLUser,                                                          \
      (ValkeyModuleCtx * ctx, const char *name, size_t len, ValkeyModuleUserChangedFunc cb,        \
       void *privdata, uint64_t *client_id), 1)                                                    \
    X(int, DeauthenticateAndCloseClient, (ValkeyModuleCtx * ctx, uint64_t client_id), 1)          \
    X(ValkeyModuleTimerID, CreateTimer,                                                            \
      (ValkeyModuleCtx * ctx, mstime_t period, ValkeyModuleTimerProc cb, void *data), 1)           \
    X(int, StopTimer, (ValkeyModuleCtx * ctx, ValkeyModuleTimerID id, void **data), 1)            \
    X(int, SubscribeToServerEvent,                                                                 \
      (ValkeyModuleCtx * ctx, ValkeyModuleEvent event, ValkeyModuleEventCallback cb), 0)          \
    X(int, ACLAddLogEntryByUserName,                                                               \
      (ValkeyModuleCtx * ctx, ValkeyModuleString * user, ValkeyModuleString * object, int reason), 0)

#endif
