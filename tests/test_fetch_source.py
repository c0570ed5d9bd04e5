"""tools/fetch-source's sources in their order (CPYTHON_SOURCES): the
download cache, python.org (served here from 127.0.0.1 through
CPYTHON_ORG_URL) and Debian's archive (a stand-in apt-get on PATH).  Each
test runs a copy of tools/ and source.conf, so the project's own
build/downloads/ is never touched, and nothing leaves this machine.
test_bad_inputs.py covers CPYTHON_TARBALL."""

import hashlib
import http.server
import io
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import threading
import unittest

import support

VERSION = "3.13.5"
DEBIAN_NAME = "python3.13_%s.orig.tar.xz" % VERSION
URL_PATH = "/%s/Python-%s.tar.xz" % (VERSION, VERSION)
# The genuine tarball, where a build fetched it; else a small one made here,
# with its sha256 written into the copy of source.conf.
GENUINE = os.path.join(support.TOP, "build", "downloads", DEBIAN_NAME)

FAKE_APT_GET = r"""#!/bin/sh
# A stand-in for apt-get: "source" copies $FAKE_DEBIAN_TARBALL, if set.
echo "$*" >> "$FAKE_APT_LOG"
case " $* " in
*" update "*) exit 0 ;;
*" source "*)
    if [ -n "$FAKE_DEBIAN_TARBALL" ]; then
        cp "$FAKE_DEBIAN_TARBALL" ./%s
    else
        echo "E: Unable to find a source package for python3.13" >&2
        exit 100
    fi ;;
esac
""" % DEBIAN_NAME

FAKE_ARCHIVE_ENTRY = """#!/bin/sh
printf 'Types: deb-src\\nURIs: http://127.0.0.1:9/debian\\nSuites: %s\\nComponents: main\\n' "$1"
"""


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def small_tarball(path):
    """A tar.xz laid out like a release, a few hundred bytes."""
    data = b"This is a stand-in for CPython's source.\n"
    info = tarfile.TarInfo("Python-%s/README.rst" % VERSION)
    info.size = len(data)
    info.mtime = 0
    with tarfile.open(path, "w:xz") as tar:
        tar.addfile(info, io.BytesIO(data))


class Server:
    """An HTTP server on 127.0.0.1 serving FILES ({url path: local file});
    any other path is a 404.  REQUESTS lists the paths asked for."""

    def __init__(self):
        self.files = {}
        self.requests = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                server.requests.append(self.path)
                path = server.files.get(self.path)
                if path is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(os.path.getsize(path)))
                self.end_headers()
                with open(path, "rb") as f:
                    shutil.copyfileobj(f, self.wfile)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class FetchSource(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.server = Server()
        cls.addClassCleanup(cls.server.close)
        cls.files = tempfile.mkdtemp()
        cls.addClassCleanup(shutil.rmtree, cls.files)
        if os.path.exists(GENUINE):
            cls.good = GENUINE
        else:
            cls.good = os.path.join(cls.files, "Python-%s.tar.xz" % VERSION)
            small_tarball(cls.good)
        cls.good_sha256 = sha256(cls.good)
        cls.bad = os.path.join(cls.files, "not-the-release.tar.xz")
        with open(cls.bad, "wb") as f:
            f.write(b"not the release\n")

    def setUp(self):
        self.server.files.clear()
        self.server.requests.clear()
        self.top = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.top)
        shutil.copytree(os.path.join(support.TOP, "tools"),
                        os.path.join(self.top, "tools"),
                        ignore=shutil.ignore_patterns("__pycache__"))
        with open(os.path.join(support.TOP, "source.conf")) as f:
            conf = f.read()
        if self.good != GENUINE:
            conf = re.sub(r"(%s\)\s+CPYTHON_SHA256=)[0-9a-f]{64}" % re.escape(VERSION),
                          r"\g<1>" + self.good_sha256, conf)
        with open(os.path.join(self.top, "source.conf"), "w") as f:
            f.write(conf)
        entry = os.path.join(self.top, "tools", "debian-archive-entry")
        with open(entry, "w") as f:
            f.write(FAKE_ARCHIVE_ENTRY)
        bindir = os.path.join(self.top, "bin")
        os.mkdir(bindir)
        with open(os.path.join(bindir, "apt-get"), "w") as f:
            f.write(FAKE_APT_GET)
        os.chmod(os.path.join(bindir, "apt-get"), 0o755)
        self.apt_log = os.path.join(self.top, "apt-get.log")
        self.downloads = os.path.join(self.top, "build", "downloads")
        self.cached = os.path.join(self.downloads, DEBIAN_NAME)

    def fetch(self, sources=None, debian=None, url=None):
        """Run the copy's fetch-source; DEBIAN: the file the stand-in
        apt-get fetches (None: it fails)."""
        env = {k: v for k, v in os.environ.items()
               if k not in ("CPYTHON_TARBALL", "CPYTHON_SOURCES", "CPYTHON",
                            "BUILD")
               and not k.lower().endswith("_proxy")}
        env.update({
            "PATH": os.path.join(self.top, "bin") + os.pathsep + env["PATH"],
            "CPYTHON_ORG_URL": url or self.server.url,
            "FAKE_APT_LOG": self.apt_log,
            "FAKE_DEBIAN_TARBALL": debian or "",
        })
        if sources is not None:
            env["CPYTHON_SOURCES"] = sources
        return subprocess.run([os.path.join(self.top, "tools", "fetch-source")],
                              env=env, capture_output=True, text=True,
                              timeout=120)

    def apt_calls(self):
        if not os.path.exists(self.apt_log):
            return []
        with open(self.apt_log) as f:
            return f.read().splitlines()

    def assertCachedGenuine(self, proc):
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stdout.strip(), self.cached)
        self.assertEqual(sha256(self.cached), self.good_sha256)
        self.assertEqual(os.listdir(self.downloads), [DEBIAN_NAME],
                         "something else was left in the cache")

    def assertNothingCached(self):
        left = os.listdir(self.downloads) if os.path.isdir(self.downloads) else []
        self.assertEqual(left, [], "left in the cache")

    def test_python_org_good(self):
        self.server.files[URL_PATH] = self.good
        proc = self.fetch()
        self.assertCachedGenuine(proc)
        self.assertEqual(self.server.requests, [URL_PATH])
        self.assertIn("fetching %s%s" % (self.server.url, URL_PATH), proc.stderr)
        self.assertEqual(self.apt_calls(), [], "Debian's archive was asked")
        # The next run finds it in the cache and asks no one.
        proc = self.fetch()
        self.assertCachedGenuine(proc)
        self.assertEqual(self.server.requests, [URL_PATH])
        self.assertEqual(proc.stderr, "")

    def test_python_org_wrong_checksum(self):
        self.server.files[URL_PATH] = self.bad
        proc = self.fetch(sources="python.org")
        self.assertEqual(proc.returncode, 1)
        url = self.server.url + URL_PATH
        self.assertIn("python.org failed: %s fails its checksum:" % url, proc.stderr)
        self.assertIn("expected sha256 %s" % self.good_sha256, proc.stderr)
        self.assertIn("got      sha256 %s" % sha256(self.bad), proc.stderr)
        self.assertIn("(not kept)", proc.stderr)
        self.assertIn("no source gave CPython %s's tarball (CPYTHON_SOURCES: "
                      "python.org)" % VERSION, proc.stderr)
        self.assertEqual(proc.stdout, "")
        self.assertNothingCached()

    def test_python_org_wrong_checksum_then_debian(self):
        self.server.files[URL_PATH] = self.bad
        proc = self.fetch(debian=self.good)
        self.assertCachedGenuine(proc)
        self.assertIn("python.org failed: ", proc.stderr)
        self.assertIn("trying debian", proc.stderr)
        self.assertEqual(len([c for c in self.apt_calls() if " source " in
                              " %s " % c]), 1)

    def test_python_org_404_falls_back_to_debian(self):
        proc = self.fetch(debian=self.good)
        self.assertCachedGenuine(proc)
        self.assertEqual(self.server.requests, [URL_PATH])
        self.assertIn("python.org failed: %s%s: HTTP status 404"
                      % (self.server.url, URL_PATH), proc.stderr)
        self.assertIn("debian: verified, cached as build/downloads/" + DEBIAN_NAME,
                      proc.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.top, "build", "apt")),
                         "apt's directory was left")

    def test_every_source_fails(self):
        proc = self.fetch()
        self.assertEqual(proc.returncode, 1)
        summary = proc.stderr[proc.stderr.index("error: no source gave"):]
        self.assertIn("\n  cache: build/downloads/%s: not there" % DEBIAN_NAME, summary)
        self.assertIn("\n  python.org: %s%s: HTTP status 404"
                      % (self.server.url, URL_PATH), summary)
        self.assertRegex(summary, r"\n  debian: apt-get source python3\.13/trixie "
                                  r"failed \(log: .*/build/apt/source\.log\)")
        self.assertIn("Set CPYTHON_TARBALL to a downloaded Python-%s.tar.xz" % VERSION,
                      summary)
        self.assertNothingCached()

    def test_unreachable_server(self):
        proc = self.fetch(sources="python.org", url="http://127.0.0.1:9")
        self.assertEqual(proc.returncode, 1)
        self.assertRegex(proc.stderr, r"python\.org failed: http://127\.0\.0\.1:9%s: "
                                      r"curl: \(7\) " % re.escape(URL_PATH))
        self.assertNothingCached()

    def test_order_is_settable(self):
        self.server.files[URL_PATH] = self.good
        proc = self.fetch(sources="debian python.org", debian=self.good)
        self.assertCachedGenuine(proc)
        self.assertEqual(self.server.requests, [], "python.org was asked first")
        self.assertNotIn("trying python.org", proc.stderr)

    def test_corrupt_cache_is_replaced(self):
        os.makedirs(self.downloads)
        shutil.copy(self.bad, self.cached)
        self.server.files[URL_PATH] = self.good
        proc = self.fetch()
        self.assertCachedGenuine(proc)
        self.assertIn("cache failed: build/downloads/%s fails its checksum"
                      % DEBIAN_NAME, proc.stderr)
        self.assertIn("(removed from the cache)", proc.stderr)

    def test_unknown_source(self):
        proc = self.fetch(sources="cache pypi")
        self.assertEqual(proc.returncode, 1)
        self.assertIn("unknown source 'pypi' (known: cache python.org debian)",
                      proc.stderr)
        self.assertEqual(self.server.requests, [])

    def test_python_org_address_in_source_conf(self):
        # Without CPYTHON_ORG_URL, python.org's own address (not fetched).
        proc = subprocess.run(
            ["bash", "-c", '. "$1"; echo "$PYTHON_ORG_URL/$CPYTHON_VERSION/'
             '$PYTHON_ORG_TARBALL"', "-", os.path.join(support.TOP, "source.conf")],
            env={"PATH": os.environ["PATH"]}, capture_output=True, text=True)
        self.assertEqual(proc.stdout.strip(), "https://www.python.org/ftp/python/"
                         "3.13.5/Python-3.13.5.tar.xz")


if __name__ == "__main__":
    unittest.main()
