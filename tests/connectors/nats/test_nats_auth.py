"""fev-nats' [nats] credentials and TLS, end to end: a real nats-server
configured for each (its config written here, certificates made here with
the openssl CLI), a real fevd and a real fev-nats.  For each kind: a wrong
secret (or an untrusted server) is said in the log and in `fev nats status`
while the events wait in fev (none published, none released); the right
one, given by a SIGHUP, carries every event fev -> JetStream -> fev; and no
secret appears in the log, `fev nats status` or `fev stat`.  Also: the
files that hold secrets are refused by --check-config when missing,
unreadable or open to others."""
import base64
import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import time

from fevtool import Skip, expect, main, start_fevd
from nats_fixture import NATS_SERVER, Bridge, NatsServer, parse_check, \
    peer, topic

KEYS = 5
BATCH = 20  # events published while the secret is wrong, and again after

# The NKey user pair of nats.c's and nats.go's tests (the seed's public
# key is in their test JWTs): a fixed test vector.  (The public key
# UDXU4RCS...NLCNF4 of NATS' documentation belongs to another seed.)  The server below knows only the public key, so a bridge
# that connects with the seed proves the pair matches (libnats signs the
# server's nonce with the seed; the server verifies with the public key).
NKEY_SEED = "SUAMK2FG4MI6UE3ACF3FK3OIQBCEIEZV7NSWFFEW63UXMRLFM2XLAXK4GY"
NKEY_PUBLIC = "UAT6BWCSCWLUKJT6K6MBJJOEOTXZ5AJDOYKNEVRFC7VNO6OA43N4TRNO"


def crc16(data):
    """The CRC-16 of an NKey (XMODEM: polynomial 0x1021, start 0)."""
    crc = 0
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021 if crc & 0x8000 else crc << 1) \
                & 0xFFFF
    return crc


def nkey_decode(text):
    raw = base64.b32decode(text + "=" * (-len(text) % 8))
    expect(crc16(raw[:-2]) == int.from_bytes(raw[-2:], "little"),
           "the NKey's CRC", text)
    return raw[:-2]


def other_user_seed():
    """A well-formed user seed (prefix and CRC right) of another key: a
    seed libnats accepts and signs with, that the server must refuse."""
    raw = nkey_decode(NKEY_SEED)
    raw = raw[:2] + bytes(b ^ 0x5A for b in raw[2:])
    raw += crc16(raw).to_bytes(2, "little")
    return base64.b32encode(raw).decode().rstrip("=")


def nkey_encode(raw):
    return base64.b32encode(raw + crc16(raw).to_bytes(2, "little")) \
        .decode().rstrip("=")


def b64url(data):
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


class NKey:
    """A fresh NKey (operator O, account A or user U): Ed25519 through the
    openssl CLI (the private key as DER: PKCS#8's prefix, then the 32
    bytes), the seed and public key in NATS' encoding."""

    PREFIX = {"O": 14 << 3, "A": 0, "U": 20 << 3}

    def __init__(self, kind, d):
        raw, p = os.urandom(32), self.PREFIX[kind]
        self.seed = nkey_encode(bytes([(18 << 3) | (p >> 5), (p & 31) << 3])
                                + raw)
        self.der = os.path.join(d, "%s-%s.der" % (kind, raw[:6].hex()))
        with open(self.der, "wb") as k:
            k.write(bytes.fromhex("302e020100300506032b657004220420") + raw)
        os.chmod(self.der, 0o600)
        pub = self.openssl("pkey", "-inform", "DER", "-in", self.der,
                           "-pubout", "-outform", "DER")[-32:]
        self.public = nkey_encode(bytes([p]) + pub)

    def openssl(self, *args, data=None):
        r = subprocess.run(["openssl", *args], input=data,
                           capture_output=True, timeout=30)
        expect(r.returncode == 0, "openssl %s" % args[0], r.stderr)
        return r.stdout

    def sign(self, data):
        msg = self.der + ".msg"
        with open(msg, "wb") as m:
            m.write(data)
        return self.openssl("pkeyutl", "-sign", "-keyform", "DER",
                            "-inkey", self.der, "-rawin", "-in", msg)

    def jwt(self, subject, name, nats):
        """A NATS JWT this key issues (what nsc writes)."""
        claims = {"iat": int(time.time()), "iss": self.public, "sub": subject,
                  "name": name, "nats": dict(nats, version=2)}
        claims["jti"] = base64.b32encode(hashlib.sha256(json.dumps(
            claims, sort_keys=True).encode()).digest()).decode().rstrip("=")
        head = b64url(b'{"typ":"JWT","alg":"ed25519-nkey"}')
        body = b64url(json.dumps(claims).encode())
        signed = (head + "." + body).encode()
        return head + "." + body + "." + b64url(self.sign(signed))


class Operator:
    """What nsc sets up, made here: an operator, a system account, an
    account with JetStream, the server's config for them (a memory
    resolver), and .creds files for users of the account."""

    UNLIMITED = {"subs": -1, "data": -1, "payload": -1, "imports": -1,
                 "exports": -1, "wildcards": True, "conn": -1, "leaf": -1}

    def __init__(self, f):
        if not shutil.which("openssl"):
            raise Skip("the openssl CLI is not installed")
        self.f = f
        self.dir = os.path.join(f.tmp, "operator")
        os.mkdir(self.dir)
        op = NKey("O", self.dir)
        self.account = NKey("A", self.dir)
        sys_account = NKey("A", self.dir)
        js = dict(self.UNLIMITED, mem_storage=-1, disk_storage=-1,
                  streams=-1, consumer=-1)
        op_jwt = os.path.join(self.dir, "operator.jwt")
        with open(op_jwt, "w") as o:
            o.write(op.jwt(op.public, "fev-test", {"type": "operator"}))
        self.server_conf = (
            "operator: \"%s\"\nsystem_account: %s\nresolver: MEMORY\n"
            "resolver_preload: {%s: \"%s\", %s: \"%s\"}" % (
                op_jwt, sys_account.public, self.account.public,
                op.jwt(self.account.public, "fev", {
                    "type": "account", "limits": js}),
                sys_account.public,
                op.jwt(sys_account.public, "SYS", {
                    "type": "account", "limits": self.UNLIMITED})))

    def creds(self, name, signer=None):
        """A .creds file for a new user; signer: the seed written in it
        (another user's: a file whose seed does not match its JWT)."""
        user = NKey("U", self.dir)
        user_jwt = self.account.jwt(user.public, name, {
            "type": "user", "pub": {}, "sub": {}, "subs": -1, "data": -1,
            "payload": -1})
        seed = (signer or user).seed
        path = write_secret(self.f, name + ".creds",
                            "-----BEGIN NATS USER JWT-----\n%s\n"
                            "------END NATS USER JWT------\n\n"
                            "-----BEGIN USER NKEY SEED-----\n%s\n"
                            "------END USER NKEY SEED------\n"
                            % (user_jwt, seed))
        return path, seed, user


def write_secret(f, name, text, mode=0o600):
    path = os.path.join(f.tmp, name)
    with open(path, "w") as s:
        s.write(text)
    os.chmod(path, mode)
    return path


def bridge_text(url, nats_keys):
    return ("[nats]\nservers = %s\nreconnect_wait = 50ms\n"
            "reconnect_wait_max = 300ms\n%s"
            "[stream ORDERS]\nsubjects = orders.>\nstorage = memory\n"
            "[out orders]\ntopic = orders\nsubject = orders.{key}\n"
            "[in orders]\nstream = ORDERS\ntopic = orders-in\n"
            "ack_wait = 2s\n" % (url, nats_keys))


def no_secret_shown(f, b, secrets):
    """Neither the log, the status file, `fev nats status` (text, --json,
    --prometheus) nor `fev stat --nats` holds any of the secret strings."""
    outputs = {"log": b.logtext(all=True)}
    if os.path.exists(b.status_file):
        with open(b.status_file, errors="replace") as st:
            outputs["the status file"] = st.read()
    for args in [(), ("--json",), ("--prometheus",)]:
        r = f.fev("nats", "--config", b.conf, "status", *args)
        outputs["fev nats status %s" % " ".join(args)] = r.stdout + r.stderr
        r = f.fev("stat", *args, "-i", "0", "--nats", b.conf)
        outputs["fev stat --nats %s" % " ".join(args)] = r.stdout + r.stderr
    for where, text in outputs.items():
        for s in secrets:
            expect(s not in text, "a secret in %s" % where, s, text[-3000:])


def wrong_then_right(f, nats, url, wrong, right, sentence, secrets):
    """The bridge with the wrong [nats] keys: the sentence in its log and
    in `fev nats status`, BATCH events held in fev.  Then the right keys
    by SIGHUP: 2 * BATCH events reach orders-in through JetStream."""
    start_fevd(f)
    topic(f, "orders", partitions=2)
    r = f.fev("group", "delete", "orders", "default")
    expect(r.returncode == 0, "group delete default", r.stderr)
    topic(f, "orders-in", partitions=2)
    b = Bridge(f, "b", bridge_text(url, wrong))
    b.start(ready=False)
    group_made(b)
    peer(f, "pub", f.instance, "orders", "0", str(BATCH), str(KEYS))
    b.wait(lambda: sentence in b.logtext(), 30, "the log to say: " + sentence)
    b.wait(lambda: sentence in f.fev("nats", "--config", b.conf,
                                     "status").stdout,
           10, "fev nats status to say: " + sentence)
    expect(b.p.poll() is None, "fev-nats keeps running", b.logtext())
    c = b.counters("out", "orders")
    expect(c.get("published", 0) == 0 and c.get("released", 0) == 0,
           "nothing published or released while refused", c)
    no_secret_shown(f, b, secrets)
    b.write(bridge_text(url, right))
    b.p.send_signal(1)  # SIGHUP
    peer(f, "pub", f.instance, "orders", str(BATCH), str(BATCH), str(KEYS))
    got = parse_check(peer(f, "check", f.instance, "orders-in",
                           str(2 * BATCH), str(KEYS), "30000"))
    expect(got["distinct"] == 2 * BATCH and got["headers_bad"] == 0 and
           got["order"] == 0,
           "every event fev -> JetStream -> fev, keys and headers kept",
           got, b.status_text(), b.logtext())
    b.wait(lambda: b.counters("out", "orders").get("released") ==
           2 * BATCH, 20, "the out bridge to release every event")
    no_secret_shown(f, b, secrets)
    b.stop()


def group_made(b):
    """The bridge made its group (before it connects): from now on the
    topic keeps every event for it."""
    b.wait(lambda: "created consumer group nats-orders" in b.logtext(), 30,
           "the bridge's group")


def need_server():
    if not NATS_SERVER:
        raise Skip("nats-server is not installed (scripts/deps.sh "
                   "installs it)")


def test_user_password(f):
    need_server()
    nats = NatsServer(f, conf="authorization {user: fev, "
                      "password: \"pw-right-7f3a\"}")
    wrong_then_right(
        f, nats, nats.url, "user = fev\npassword = pw-wrong-91c2\n",
        "user = fev\npassword = pw-right-7f3a\n",
        "check the credentials in [nats]", ["pw-right-7f3a", "pw-wrong-91c2"])


def test_user_password_in_the_url_is_never_shown(f):
    # nats://USER:PASSWORD@HOST works with libnats as it does with every
    # NATS client; the URL is then said without them.
    need_server()
    nats = NatsServer(f, conf="authorization {user: fev, "
                      "password: \"pw-url-55d1\"}")
    hostport = nats.url[len("nats://"):]
    start_fevd(f)
    topic(f, "orders", partitions=2)
    f.fev("group", "delete", "orders", "default")
    topic(f, "orders-in", partitions=2)
    b = Bridge(f, "b", bridge_text("nats://fev:pw-wrong-url-0b9e@" +
                                   hostport, ""))
    b.start(ready=False)
    group_made(b)
    b.wait(lambda: "check the credentials in [nats]" in b.logtext(), 30,
           "the credentials sentence")
    no_secret_shown(f, b, ["pw-wrong-url-0b9e"])
    b.write(bridge_text("nats://fev:pw-url-55d1@" + hostport, ""))
    b.p.send_signal(1)
    peer(f, "pub", f.instance, "orders", "0", str(BATCH), str(KEYS))
    got = parse_check(peer(f, "check", f.instance, "orders-in", str(BATCH),
                           str(KEYS), "30000"))
    expect(got["distinct"] == BATCH, "every event", got, b.logtext())
    expect("cannot connect to NATS (nats://***@127.0.0.1:%d)" % nats.port
           in b.logtext(), "the URL is said without its user and password",
           b.logtext())
    no_secret_shown(f, b, ["pw-url-55d1", "pw-wrong-url-0b9e"])
    b.stop()


def test_token(f):
    need_server()
    nats = NatsServer(f, conf="authorization {token: \"tok-right-c0ffee\"}")
    wrong_then_right(
        f, nats, nats.url, "token = tok-wrong-beef01\n",
        "token = tok-right-c0ffee\n", "check the credentials in [nats]",
        ["tok-right-c0ffee", "tok-wrong-beef01"])


def test_nkey_seed_file(f):
    need_server()
    nkey_decode(NKEY_PUBLIC)  # well-formed, or the vector is mistyped
    other = other_user_seed()
    nats = NatsServer(f, conf="authorization {users: [{nkey: %s}]}"
                      % NKEY_PUBLIC)
    right = write_secret(f, "user.nk", NKEY_SEED + "\n")
    wrong = write_secret(f, "other.nk", other + "\n")
    wrong_then_right(
        f, nats, nats.url,
        "nkey = %s\nnkey_seed = %s\n" % (NKEY_PUBLIC, wrong),
        "nkey = %s\nnkey_seed = %s\n" % (NKEY_PUBLIC, right),
        "check the credentials in [nats]", [NKEY_SEED, other])


def test_creds_file_of_an_operator_setup(f):
    # An operator, accounts and users made here as nsc would (NKeys and
    # JWTs signed with the openssl CLI); the server trusts the operator.
    # The wrong file: a user's JWT with another user's seed.
    need_server()
    op = Operator(f)
    nats = NatsServer(f, conf=op.server_conf)
    right, right_seed, user = op.creds("fev")
    wrong, wrong_seed, _ = op.creds("fev-wrong", signer=NKey("U", op.dir))
    wrong_then_right(
        f, nats, nats.url, "creds = %s\n" % wrong, "creds = %s\n" % right,
        "check the credentials in [nats]", [right_seed, wrong_seed])


class Pki:
    """A CA, a server certificate for 127.0.0.1 and localhost, a client
    certificate, all signed by the CA; and a second CA nobody trusts with
    a server certificate of its own.  Made with the openssl CLI."""

    def __init__(self, f):
        if not shutil.which("openssl"):
            raise Skip("the openssl CLI is not installed")
        self.dir = os.path.join(f.tmp, "pki")
        os.mkdir(self.dir)
        self.ca, self.ca_key = self.make_ca("ca")
        self.server, self.server_key = self.make_leaf(
            "server", self.ca, self.ca_key, "subjectAltName=IP:127.0.0.1,"
            "DNS:localhost\nextendedKeyUsage=serverAuth")
        self.client, self.client_key = self.make_leaf(
            "client", self.ca, self.ca_key, "extendedKeyUsage=clientAuth")
        self.other_host, self.other_host_key = self.make_leaf(
            "other-host", self.ca, self.ca_key, "subjectAltName="
            "DNS:nats.other.example\nextendedKeyUsage=serverAuth")
        rogue, rogue_key = self.make_ca("rogue-ca")
        self.rogue_server, self.rogue_server_key = self.make_leaf(
            "rogue-server", rogue, rogue_key, "subjectAltName=IP:127.0.0.1,"
            "DNS:localhost\nextendedKeyUsage=serverAuth")

    def path(self, name):
        return os.path.join(self.dir, name)

    def openssl(self, *args):
        r = subprocess.run(["openssl", *args], capture_output=True,
                           text=True, timeout=60)
        expect(r.returncode == 0, "openssl %s" % args[0], r.stderr)

    def make_ca(self, name):
        self.openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
                     "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
                     "-subj", "/CN=fev test %s" % name,
                     "-keyout", self.path(name + ".key"),
                     "-out", self.path(name + ".pem"))
        return self.path(name + ".pem"), self.path(name + ".key")

    def make_leaf(self, name, ca, ca_key, ext):
        key, csr = self.path(name + ".key"), self.path(name + ".csr")
        with open(self.path(name + ".ext"), "w") as e:
            e.write(ext + "\n")
        self.openssl("req", "-newkey", "ec", "-pkeyopt",
                     "ec_paramgen_curve:P-256", "-nodes", "-subj",
                     "/CN=fev test %s" % name, "-keyout", key, "-out", csr)
        self.openssl("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key,
                     "-CAcreateserial", "-days", "2", "-extfile",
                     self.path(name + ".ext"), "-out",
                     self.path(name + ".pem"))
        os.chmod(key, 0o600)
        return self.path(name + ".pem"), key

    def key_lines(self, key):
        """The lines of a private key file that are its secret."""
        with open(key) as k:
            return [ln for ln in k.read().splitlines()
                    if ln and not ln.startswith("-----")]


def tls_block(cert, key, ca=None, verify=False):
    text = "tls {cert_file: \"%s\", key_file: \"%s\", timeout: 2" % (cert,
                                                                     key)
    if ca:
        text += ", ca_file: \"%s\"" % ca
    if verify:
        text += ", verify: true"
    return text + "}"


def test_tls_server_verified_against_the_ca(f):
    # The bridge trusts only the test CA: the first server shows a
    # certificate of another CA (refused, nothing sent), then the server
    # comes back with the CA's certificate on the same port and store.
    need_server()
    pki = Pki(f)
    nats = NatsServer(f, conf=tls_block(pki.rogue_server,
                                        pki.rogue_server_key))
    # tls:// alone asks for TLS (no tls = yes), as in any NATS client.
    tls_url = nats.url.replace("nats://", "tls://")
    keys = "tls_ca = %s\n" % pki.ca
    start_fevd(f)
    topic(f, "orders", partitions=2)
    f.fev("group", "delete", "orders", "default")
    topic(f, "orders-in", partitions=2)
    b = Bridge(f, "b", bridge_text(tls_url, keys))
    b.start(ready=False)
    group_made(b)
    peer(f, "pub", f.instance, "orders", "0", str(BATCH), str(KEYS))
    sentence = "check the TLS settings in [nats]"
    b.wait(lambda: sentence in b.logtext(), 30, "the TLS sentence")
    expect("SSL handshake error: 20:unable to get local issuer "
           "certificate" in b.logtext(),
           "the log says why: the certificate", b.logtext())
    b.wait(lambda: sentence in f.fev("nats", "--config", b.conf,
                                     "status").stdout,
           10, "fev nats status to say it")
    c = b.counters("out", "orders")
    expect(c.get("published", 0) == 0 and c.get("released", 0) == 0,
           "nothing published or released to an untrusted server", c)
    with open(nats.conf) as cf:
        text = cf.read()
    with open(nats.conf, "w") as cf:
        cf.write(text.replace(pki.rogue_server_key, pki.server_key)
                 .replace(pki.rogue_server, pki.server))
    nats.stop()
    nats.start()
    got = parse_check(peer(f, "check", f.instance, "orders-in", str(BATCH),
                           str(KEYS), "30000"))
    expect(got["distinct"] == BATCH and got["headers_bad"] == 0,
           "every event through the trusted server", got, b.logtext())
    no_secret_shown(f, b, pki.key_lines(pki.server_key) +
                    pki.key_lines(pki.rogue_server_key))
    b.stop()


def test_tls_server_must_hold_the_name_it_is_reached_by(f):
    # The CA signed the server's certificate, but for another name: the
    # bridge, reaching it as 127.0.0.1, refuses it.  tls_hostname names
    # what the certificate holds (SIGHUP): the events flow.
    need_server()
    pki = Pki(f)
    nats = NatsServer(f, conf=tls_block(pki.other_host,
                                        pki.other_host_key))
    tls_url = nats.url.replace("nats://", "tls://")
    keys = "tls_ca = %s\n" % pki.ca
    wrong_then_right(
        f, nats, tls_url, keys,
        keys + "tls_hostname = nats.other.example\n",
        "SSL handshake error: 64:IP address mismatch", [])


def test_tls_url_never_falls_back_to_plain_text(f):
    # libnats 3.4 takes only the host and port of a tls:// URL: to a
    # server without TLS it would send the credentials and the events in
    # plain text.  The bridge refuses, and sends nothing.
    need_server()
    pki = Pki(f)
    nats = NatsServer(f, conf="authorization {token: \"tok-plain-1d2e\"}")
    start_fevd(f)
    topic(f, "orders", partitions=2)
    f.fev("group", "delete", "orders", "default")
    topic(f, "orders-in", partitions=2)
    b = Bridge(f, "b", bridge_text(nats.url.replace("nats://", "tls://"),
                                   "tls_ca = %s\ntoken = tok-plain-1d2e\n"
                                   % pki.ca))
    b.start(ready=False)
    group_made(b)
    peer(f, "pub", f.instance, "orders", "0", str(BATCH), str(KEYS))
    b.wait(lambda: "check the TLS settings in [nats]" in b.logtext(), 30,
           "the TLS sentence")
    c = b.counters("out", "orders")
    expect(c.get("published", 0) == 0 and "connected to NATS" not in
           b.logtext(), "nothing sent without TLS", c, b.logtext())
    no_secret_shown(f, b, ["tok-plain-1d2e"])
    b.stop()


def test_mutual_tls_with_a_client_certificate(f):
    # The server verifies clients against the CA: the bridge without a
    # certificate is refused; with tls_cert and tls_key (SIGHUP) it runs.
    need_server()
    pki = Pki(f)
    nats = NatsServer(f, conf=tls_block(pki.server, pki.server_key, pki.ca,
                                        verify=True))
    keys = "tls = yes\ntls_ca = %s\n" % pki.ca
    wrong_then_right(
        f, nats, nats.url, keys,
        keys + "tls_cert = %s\ntls_key = %s\n" % (pki.client,
                                                  pki.client_key),
        "a server that verifies clients needs tls_cert and tls_key",
        pki.key_lines(pki.client_key))


def check_config(f, keys):
    b = Bridge(f, "chk", bridge_text("nats://127.0.0.1:4222", keys))
    return b.run("--check-config")


def test_secret_files_are_checked_by_check_config(f):
    seed = write_secret(f, "user.nk", NKEY_SEED + "\n")
    missing = os.path.join(f.tmp, "absent.nk")
    open_to_all = write_secret(f, "open.nk", NKEY_SEED + "\n", mode=0o644)
    for key, secret in [("nkey_seed", True), ("creds", True),
                        ("tls_key", True), ("tls_ca", False)]:
        extra = "nkey = %s\n" % NKEY_PUBLIC if key == "nkey_seed" else ""
        extra += "tls_cert = %s\n" % seed if key == "tls_key" else ""
        r = check_config(f, extra + "%s = %s\n" % (key, missing))
        expect(r.returncode == 2 and "%s %s: No such file" % (key, missing)
               in r.stderr and "give the path of an existing file" in
               r.stderr, "a missing %s is refused" % key, r.stderr)
        r = check_config(f, extra + "%s = %s\n" % (key, open_to_all))
        if secret:
            expect(r.returncode == 2 and "is readable or writable by "
                   "others: chmod o-rw %s" % open_to_all in r.stderr,
                   "a %s open to others is refused" % key, r.stderr)
        else:
            expect(r.returncode == 0, "a CA file may be world-readable",
                   r.stderr)
        expect(NKEY_SEED not in r.stdout + r.stderr,
               "the refusal does not show the secret", r.stderr)
        r = check_config(f, extra + "%s = %s\n" % (key, f.tmp))
        expect(r.returncode == 2 and "is not a regular file" in r.stderr,
               "a directory as %s is refused" % key, r.stderr)
    r = check_config(f, "nkey = %s\nnkey_seed = %s\n" % (NKEY_PUBLIC, seed))
    expect(r.returncode == 0, "a seed file only its owner reads", r.stderr)
    # A config holding a password, token or URL credentials, readable by
    # others: said (the secret is out already), not refused.
    for keys in ["token = tok-conf-77aa\n", "user = u\npassword = pw-conf\n"]:
        b = Bridge(f, "chk", bridge_text("nats://127.0.0.1:4222", keys))
        os.chmod(b.conf, 0o644)
        r = b.run("--check-config")
        expect(r.returncode == 0 and "holds a secret and is readable or "
               "writable by others: chmod o-rw %s" % b.conf in r.stderr and
               "tok-conf-77aa" not in r.stderr,
               "a config with a secret open to others is said", r.stderr)
        os.chmod(b.conf, 0o600)
        r = b.run("--check-config")
        expect(r.returncode == 0 and "others" not in r.stderr,
               "not when only its owner reads it", r.stderr)
    b = Bridge(f, "chk", bridge_text("nats://u:pw@127.0.0.1:4222", ""))
    os.chmod(b.conf, 0o644)
    r = b.run("--check-config")
    expect("readable or writable by others" in r.stderr,
           "URL credentials are a secret too", r.stderr)
    b = Bridge(f, "chk", bridge_text("nats://127.0.0.1:4222", ""))
    os.chmod(b.conf, 0o644)
    r = b.run("--check-config")
    expect(r.returncode == 0 and "others" not in r.stderr,
           "a config without a secret may be read by all", r.stderr)
    r = check_config(f, "tls_hostname = a/b\n")
    expect(r.returncode == 2 and "tls_hostname 'a/b' is not a host name"
           in r.stderr, "a bad tls_hostname is refused", r.stderr)
    if os.geteuid() == 0:
        print("SKIP (part) unreadable secret file: root reads every file")
        return
    os.chmod(seed, 0)
    r = check_config(f, "nkey = %s\nnkey_seed = %s\n" % (NKEY_PUBLIC, seed))
    os.chmod(seed, stat.S_IRUSR | stat.S_IWUSR)
    expect(r.returncode == 2 and "Permission denied" in r.stderr and
           "let the user fev-nats runs as read it" in r.stderr,
           "an unreadable seed file is refused", r.stderr)


if __name__ == "__main__":
    sys.exit(main([
        test_secret_files_are_checked_by_check_config,
        test_user_password,
        test_user_password_in_the_url_is_never_shown,
        test_token,
        test_nkey_seed_file,
        test_creds_file_of_an_operator_setup,
        test_tls_server_verified_against_the_ca,
        test_tls_server_must_hold_the_name_it_is_reached_by,
        test_tls_url_never_falls_back_to_plain_text,
        test_mutual_tls_with_a_client_certificate,
    ]))
