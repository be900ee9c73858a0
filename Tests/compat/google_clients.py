#!/usr/bin/env python3
"""Google's own Python client libraries against a running keygated.

Usage: google_clients.py ENDPOINT KEYFILE PROJECT REGION CLUSTER

ENDPOINT  keygated's API endpoint, e.g. http://127.0.0.1:8787
KEYFILE   a service account JSON key written by `keygate iam service-accounts keys create`
          (its token_uri is ENDPOINT/token)
PROJECT   the project, e.g. keygate-local
REGION    the cluster's region, e.g. us-central1
CLUSTER   an ACTIVE cluster created with --auth-mode=iam-auth

The service account is expected to hold exactly these project roles: roles/redis.admin (clusters,
IAM login), roles/viewer (the project's IAM policy, service accounts and keys) and
roles/iam.serviceAccountTokenCreator (generateAccessToken on itself; those checks print SKIP and
count as neither passed nor failed when it is denied).

Authentication and every API call go through google-auth and google-api-python-client only (the
APIs are built from the discovery documents bundled with google-api-python-client, pointed at
ENDPOINT with client_options.api_endpoint); the data path uses the `redis` PyPI client.
Prints one line per check, then `N passed, M failed`; exits 1 when any check failed.
"""

import datetime
import json
import re
import sys
import traceback

import google.auth.exceptions
import google.auth.transport.requests
from google.auth import impersonated_credentials
from google.oauth2 import service_account
from googleapiclient import discovery
from googleapiclient.errors import HttpError
import redis
import redis.cluster
import redis.exceptions

CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform"


_SECRET_FIELDS = re.compile(r'("(?:accessToken|access_token|refresh_token|id_token|private_key)"\s*:\s*")[^"]*(")')


def redact(text):
    """Keeps tokens and keys out of the output (error bodies may echo them)."""
    return _SECRET_FIELDS.sub(r"\1<redacted>\2", str(text))


class Skip(Exception):
    """A check that could not run for a reason outside keygated's API shape (e.g. a missing grant)."""


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.skipped = 0

    def run(self, name, fn):
        """Runs fn(); its return value (a string) is the detail printed. Returns True when it passed."""
        try:
            detail = fn()
        except Skip as e:
            self.skipped += 1
            print(redact(f"SKIP {name}: {e}"), flush=True)
            return False
        except AssertionError as e:
            self.failed += 1
            print(redact(f"FAIL {name}: {e}"), flush=True)
            return False
        except HttpError as e:
            self.failed += 1
            print(redact(f"FAIL {name}: {describe_http_error(e)}"), flush=True)
            return False
        except Exception as e:  # noqa: BLE001 - every unexpected error is a failed check
            self.failed += 1
            print(redact(f"FAIL {name}: {type(e).__name__}: {e}"), flush=True)
            print(redact(traceback.format_exc()), file=sys.stderr, flush=True)
            return False
        self.passed += 1
        print(redact(f"PASS {name}" + (f": {detail}" if detail else "")), flush=True)
        return True


def error_body(e):
    """The `error` object of a Google error response: {"code","message","status",...}."""
    try:
        return json.loads(e.content.decode("utf-8")).get("error", {})
    except (ValueError, AttributeError):
        return {}


def describe_http_error(e):
    body = error_body(e)
    return (f"HTTP {e.resp.status} {body.get('status', '?')}: {body.get('message', e.content[:300])} "
            f"[{e.resp.get('content-location', e.uri)}]")


def expect_http_error(call, code, status):
    """Executes call (an HttpRequest); it must fail with HTTP `code` and error.status `status`."""
    try:
        result = call.execute()
    except HttpError as e:
        body = error_body(e)
        assert e.resp.status == code, f"expected HTTP {code} {status}, got {describe_http_error(e)}"
        assert e.status_code == code, f"HttpError.status_code {e.status_code} != {code}"
        assert body.get("code") == code, f"error.code {body.get('code')!r} != {code}"
        assert body.get("status") == status, f"error.status {body.get('status')!r} != {status!r}"
        assert body.get("message"), "error.message is empty"
        return f"HTTP {code} {status}: {body['message']}"
    raise AssertionError(f"expected HTTP {code} {status}, the call succeeded: {json.dumps(result)[:300]}")


def utcnow():
    # google-auth keeps expiry as a naive datetime in UTC.
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def parse_rfc3339(s):
    s = s.replace("Z", "+00:00")
    if "." in s:  # fromisoformat in 3.10 takes at most 6 fractional digits
        head, rest = s.split(".", 1)
        frac = "".join(c for c in rest if c.isdigit())
        tz = rest[len(frac):]
        s = f"{head}.{(frac + '000000')[:6]}{tz}"
    return datetime.datetime.fromisoformat(s).astimezone(datetime.timezone.utc).replace(tzinfo=None)


def main(argv):
    if len(argv) != 6:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    endpoint, keyfile, project, region, cluster_id = argv[1:]
    endpoint = endpoint.rstrip("/")
    checks = Checks()
    state = {}
    transport = google.auth.transport.requests.Request()

    def build(api, version, credentials):
        return discovery.build(api, version, credentials=credentials, static_discovery=True,
                               cache_discovery=False, client_options={"api_endpoint": endpoint})

    # (a) OAuth2: the service account key -> a JWT-bearer grant at keygated's /token.
    def token():
        creds = service_account.Credentials.from_service_account_file(keyfile, scopes=[CLOUD_PLATFORM])
        assert creds.project_id == project, f"key's project_id {creds.project_id!r} != {project!r}"
        assert creds._token_uri == endpoint + "/token", \
            f"key's token_uri {creds._token_uri!r} != {endpoint + '/token'!r}"
        assert not creds.valid, "credentials valid before refresh"
        creds.refresh(transport)
        assert creds.valid, "credentials not valid after refresh"
        assert creds.token, "no access token"
        assert creds.expiry is not None, "no expiry"
        lifetime = (creds.expiry - utcnow()).total_seconds()
        assert 3300 <= lifetime <= 3660, f"token lifetime {lifetime:.0f}s, expected about 3600s"
        state["creds"] = creds
        state["email"] = creds.service_account_email
        return f"{creds.service_account_email} got a token from {creds._token_uri}, expires in {lifetime:.0f}s"

    if not checks.run("oauth2 service account token (google.oauth2.service_account)", token):
        return finish(checks)
    creds, email = state["creds"], state["email"]

    # (b) Memorystore for Redis Cluster v1.
    parent = f"projects/{project}/locations/{region}"
    name = f"{parent}/clusters/{cluster_id}"
    clusters = build("redis", "v1", creds).projects().locations().clusters()

    def clusters_list():
        resp = clusters.list(parent=parent).execute()
        names = [c.get("name") for c in resp.get("clusters", [])]
        assert name in names, f"{name} not in clusters.list: {names}"
        assert not resp.get("unreachable"), f"unreachable: {resp.get('unreachable')}"
        return f"{len(names)} cluster(s) in {parent}"

    def clusters_get():
        c = clusters.get(name=name).execute()
        assert c.get("name") == name, f"name {c.get('name')!r} != {name!r}"
        assert c.get("state") == "ACTIVE", f"state {c.get('state')!r} != 'ACTIVE'"
        assert c.get("authorizationMode") == "AUTH_MODE_IAM_AUTH", \
            f"authorizationMode {c.get('authorizationMode')!r} != 'AUTH_MODE_IAM_AUTH'"
        eps = c.get("discoveryEndpoints") or []
        assert eps, "no discoveryEndpoints"
        address, port = eps[0].get("address"), eps[0].get("port")
        assert isinstance(address, str) and address, f"discoveryEndpoints[0].address {address!r}"
        assert isinstance(port, int) and 0 < port < 65536, f"discoveryEndpoints[0].port {port!r} is not an int port"
        assert c.get("uid"), "no uid"
        assert isinstance(c.get("shardCount"), int), f"shardCount {c.get('shardCount')!r}"
        state["address"], state["port"] = address, port
        return f"state=ACTIVE authorizationMode=AUTH_MODE_IAM_AUTH discovery={address}:{port}"

    def create_invalid_id():
        body = {"shardCount": 1, "nodeType": "REDIS_SHARED_CORE_NANO",
                "authorizationMode": "AUTH_MODE_DISABLED",
                "pscConfigs": [{"network": f"projects/{project}/global/networks/default"}]}
        bad_id = "Invalid_Cluster_ID!"
        try:
            return expect_http_error(clusters.create(parent=parent, clusterId=bad_id, body=body),
                                     400, "INVALID_ARGUMENT")
        except AssertionError:
            try:  # never leave a cluster behind if keygated accepted the id
                clusters.delete(name=f"{parent}/clusters/{bad_id}").execute()
            except Exception:  # noqa: BLE001
                pass
            raise

    def get_missing():
        return expect_http_error(clusters.get(name=f"{parent}/clusters/no-such-cluster-404"), 404, "NOT_FOUND")

    def operations_list_get():
        ops = build("redis", "v1", creds).projects().locations().operations()
        resp = ops.list(name=parent).execute()
        items = resp.get("operations", [])
        assert isinstance(items, list), f"operations is {type(items).__name__}"
        assert items, f"no operations in {parent} (the cluster's create operation is expected)"
        op = ops.get(name=items[0]["name"]).execute()
        assert op.get("name") == items[0]["name"], f"operations.get returned {op.get('name')!r}"
        assert op.get("name", "").startswith(f"{parent}/operations/"), f"operation name {op.get('name')!r}"
        assert "done" in op, f"no done field in {op}"
        return f"{len(items)} operation(s); {op['name'].rsplit('/', 1)[1]} done={op['done']}"

    checks.run("redis.v1 clusters.list", clusters_list)
    checks.run("redis.v1 clusters.get", clusters_get)
    checks.run("redis.v1 clusters.create with an invalid clusterId -> 400", create_invalid_id)
    checks.run("redis.v1 clusters.get of a missing cluster -> 404", get_missing)
    checks.run("redis.v1 operations.list / operations.get", operations_list_get)

    # IAM v1: the service account reads itself and its keys.
    accounts = build("iam", "v1", creds).projects().serviceAccounts()

    def service_account_get():
        sa = accounts.get(name=f"projects/{project}/serviceAccounts/{email}").execute()
        assert sa.get("email") == email, f"email {sa.get('email')!r} != {email!r}"
        assert sa.get("name") == f"projects/{project}/serviceAccounts/{email}", f"name {sa.get('name')!r}"
        assert sa.get("projectId") == project, f"projectId {sa.get('projectId')!r}"
        with open(keyfile) as f:
            client_id = json.load(f).get("client_id")
        assert sa.get("uniqueId") == client_id, f"uniqueId {sa.get('uniqueId')!r} != the key file's client_id {client_id!r}"
        return f"{sa['name']} uniqueId={sa.get('uniqueId')}"

    def service_account_keys_list():
        with open(keyfile) as f:
            key_id = json.load(f)["private_key_id"]
        resp = accounts.keys().list(name=f"projects/{project}/serviceAccounts/{email}").execute()
        names = [k.get("name", "") for k in resp.get("keys", [])]
        want = f"projects/{project}/serviceAccounts/{email}/keys/{key_id}"
        assert want in names, f"{want} not in keys.list: {names}"
        return f"{len(names)} key(s), including the key file's {key_id}"

    checks.run("iam.v1 projects.serviceAccounts.get", service_account_get)
    checks.run("iam.v1 projects.serviceAccounts.keys.list", service_account_keys_list)

    # (c) Resource Manager v3: the project's IAM policy.
    projects = build("cloudresourcemanager", "v3", creds).projects()
    member = f"serviceAccount:{email}"

    def get_iam_policy():
        policy = projects.getIamPolicy(resource=f"projects/{project}",
                                       body={"options": {"requestedPolicyVersion": 3}}).execute()
        bindings = policy.get("bindings") or []
        assert bindings, f"no bindings in {policy}"
        assert policy.get("etag"), "no etag"
        roles = sorted(b["role"] for b in bindings if member in b.get("members", []))
        assert "roles/redis.admin" in roles, f"{member} has {roles}, expected roles/redis.admin among them"
        return f"{len(bindings)} binding(s), {member} has {', '.join(roles)}"

    def test_iam_permissions():
        held = ["redis.clusters.get", "redis.clusters.list", "redis.clusters.connect"]
        not_held = ["resourcemanager.projects.setIamPolicy", "iam.serviceAccountKeys.create"]
        resp = projects.testIamPermissions(resource=f"projects/{project}",
                                           body={"permissions": held + not_held}).execute()
        got = resp.get("permissions", [])
        assert sorted(got) == sorted(held), f"permissions {got}, expected exactly {held}"
        return f"{len(got)} of {len(held) + len(not_held)} permissions granted: {', '.join(got)}"

    checks.run("cloudresourcemanager.v3 projects.getIamPolicy", get_iam_policy)
    checks.run("cloudresourcemanager.v3 projects.testIamPermissions", test_iam_permissions)

    # (d) IAM Service Account Credentials v1: the service account impersonating itself.
    sa_resource = f"projects/-/serviceAccounts/{email}"

    def skip_if_denied(e):
        if isinstance(e, HttpError) and e.resp.status == 403:
            raise Skip(f"{describe_http_error(e)} (grant roles/iam.serviceAccountTokenCreator on {email})")

    def generate_access_token():
        svc = build("iamcredentials", "v1", creds).projects().serviceAccounts()
        try:
            resp = svc.generateAccessToken(name=sa_resource,
                                           body={"scope": [CLOUD_PLATFORM], "lifetime": "600s"}).execute()
        except HttpError as e:
            skip_if_denied(e)
            raise
        tok, exp = resp.get("accessToken"), resp.get("expireTime")
        assert tok, f"no accessToken in {resp}"
        assert exp, f"no expireTime in {resp}"
        lifetime = (parse_rfc3339(exp) - utcnow()).total_seconds()
        assert 540 <= lifetime <= 660, f"expireTime {exp} is {lifetime:.0f}s away, expected about 600s"
        state["generated_token"] = tok
        return f"token for {email}, expireTime {exp} ({lifetime:.0f}s)"

    def impersonated():
        imp = impersonated_credentials.Credentials(
            source_credentials=creds, target_principal=email, target_scopes=[CLOUD_PLATFORM], lifetime=600,
            iam_endpoint_override=f"{endpoint}/v1/{sa_resource}:generateAccessToken")
        try:
            imp.refresh(transport)
        except google.auth.exceptions.RefreshError as e:
            if "PERMISSION_DENIED" in str(e):
                raise Skip(f"{e} (grant roles/iam.serviceAccountTokenCreator on {email})")
            if "invalid expiration" in str(e):
                # google-auth reads expireTime with strptime("%Y-%m-%dT%H:%M:%SZ"): whole seconds only,
                # as Google writes a Timestamp whose nanos are 0 (proto3 JSON omits the fraction).
                body = e.args[1] if len(e.args) > 1 else ""
                m = re.search(r'"expireTime"\s*:\s*"([^"]*)"', str(body))
                raise AssertionError(
                    f"google-auth could not parse generateAccessToken's expireTime "
                    f"{m.group(1) if m else body!r}: it expects whole seconds, YYYY-MM-DDTHH:MM:SSZ") from e
            raise
        assert imp.valid and imp.token, "no token"
        lifetime = (imp.expiry - utcnow()).total_seconds()
        assert 540 <= lifetime <= 660, f"expiry {lifetime:.0f}s away, expected about 600s"
        # The impersonated token works for the APIs too.
        c = build("redis", "v1", imp).projects().locations().clusters().get(name=name).execute()
        assert c.get("name") == name, f"clusters.get with the impersonated token returned {c.get('name')!r}"
        return f"token expires in {lifetime:.0f}s and works for redis.v1 clusters.get"

    checks.run("iamcredentials.v1 serviceAccounts.generateAccessToken", generate_access_token)
    checks.run("google.auth.impersonated_credentials refresh", impersonated)

    # (e) The data path: IAM login with the access token as the password.
    def login(password):
        return redis.Redis(host=state["address"], port=state["port"], password=password,
                           socket_timeout=10, socket_connect_timeout=10)

    def need_endpoint():
        if "address" not in state:
            raise AssertionError("no discovery endpoint (clusters.get failed)")

    def redis_ping():
        need_endpoint()
        r = login(creds.token)
        try:
            assert r.ping() is True, "PING did not return PONG"
            who = r.execute_command("ACL", "WHOAMI")
        except redis.exceptions.ResponseError as e:
            if "ACL" in str(e) or "permission" in str(e).lower():
                who = None
            else:
                raise
        finally:
            r.close()
        return f"AUTH <token> + PING at {state['address']}:{state['port']}" + (f", user {who.decode()}" if who else "")

    def redis_cluster_set_get():
        need_endpoint()
        rc = redis.cluster.RedisCluster(host=state["address"], port=state["port"], password=creds.token,
                                        socket_timeout=10, socket_connect_timeout=10)
        try:
            key = "compat:google-clients"
            assert rc.set(key, "hello") is True, "SET failed"
            assert rc.get(key) == b"hello", "GET returned a different value"
            rc.delete(key)
            nodes = len(rc.get_nodes())
        finally:
            rc.close()
        return f"SET/GET through {nodes} node(s)"

    def redis_generated_token():
        need_endpoint()
        if "generated_token" not in state:
            raise Skip("no token from generateAccessToken")
        r = login(state["generated_token"])
        try:
            assert r.ping() is True, "PING did not return PONG"
        finally:
            r.close()
        return "AUTH with the generateAccessToken token + PING"

    def redis_wrong_token():
        need_endpoint()
        wrong = creds.token[:-8] + ("A" * 8 if not creds.token.endswith("A" * 8) else "B" * 8)
        for password in (wrong, "not-a-token"):
            r = login(password)
            try:
                r.ping()
            except redis.exceptions.AuthenticationError as e:
                # redis-py maps the `-WRONGPASS` error code to AuthenticationError and strips the code;
                # the rest is the server's WRONGPASS text.
                assert str(e).startswith("invalid username-password pair"), \
                    f"AuthenticationError that is not -WRONGPASS: {e}"
                msg = f"-WRONGPASS {e}"
            except redis.exceptions.ResponseError as e:
                raise AssertionError(f"expected -WRONGPASS, got -{e}")
            else:
                raise AssertionError(f"PING with the wrong token {password[:12]}… succeeded")
            finally:
                r.close()
        return f"rejected: {msg}"

    checks.run("redis IAM login with the access token + PING", redis_ping)
    checks.run("redis cluster client (RedisCluster) with the access token", redis_cluster_set_get)
    checks.run("redis IAM login with the generateAccessToken token", redis_generated_token)
    checks.run("redis IAM login with a wrong token -> WRONGPASS", redis_wrong_token)

    return finish(checks)


def finish(checks):
    if checks.skipped:
        print(f"({checks.skipped} skipped)")
    print(f"{checks.passed} passed, {checks.failed} failed", flush=True)
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
