#!/usr/bin/env python3
"""Fetch the web pages' third-party front-end files from the npm registry, verify them, vendor them.

Run from the repository root: ``python3 scripts/vendor_frontend.py`` (``--check`` only verifies
that the committed files match the pinned tarballs). Each package is a pinned version whose
registry tarball must have the SHA-256 written below; the chosen files and the package's licence
are written to ``src/lydiard/interfaces/web/static/vendor/<name>/`` and committed. Nothing is
patched: the files are byte-for-byte the package's.

Why uPlot for the charts (measured on the registry tarballs, gzip -9):
uPlot 1.6.32 ``uPlot.iife.min.js`` is 51,081 bytes (21,991 gzipped); plotly.js's strict-CSP
build (``plotly.js-strict-dist-min`` 4.1.1, ``plotly-strict.min.js``) is 5,158,139 bytes
(1,569,510 gzipped), 71× more than the 200 KB-per-page budget allows, and the plotly.min.js
the ``plotly`` Python package ships (4.8 MB) needs run-time patching to pass a strict CSP.
uPlot draws on a canvas, sets no inline style attribute through markup and injects no
``<style>`` element, so it runs under ``style-src 'self'`` as it is.

Swagger UI (``/api/docs``) comes from ``swagger-ui-dist``: its bundle and stylesheet, started
by a small script of ours (``static/swagger-init.js``), so the page needs no CDN and no
inline script.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import tarfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REGISTRY = "https://registry.npmjs.org"
VENDOR_DIR = Path(__file__).resolve().parent.parent / "src" / "lydiard" / "interfaces" / "web" / "static" / "vendor"


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    sha256: str  #: of the registry tarball
    files: dict[str, str]  #: path in the tarball → file name under vendor/<dest>/
    dest: str

    @property
    def url(self) -> str:
        base = self.name.rsplit("/", 1)[-1]
        return f"{REGISTRY}/{self.name}/-/{base}-{self.version}.tgz"


PACKAGES: tuple[Package, ...] = (
    Package("uplot", "1.6.32", "4b8a8191e425658e3ea8c8c1314b0fc679c861ee3a1af2b20c7b16ba50b5133d",
            {"package/dist/uPlot.iife.min.js": "uPlot.iife.min.js", "package/dist/uPlot.min.css": "uPlot.min.css",
             "package/LICENSE": "LICENSE"}, dest="uplot"),
    Package("swagger-ui-dist", "5.36.0", "685a2b38b5d6eab2dbc096a8596db11cc7409cdb671d2e3bec8f9b017d0d566b",
            {"package/swagger-ui-bundle.js": "swagger-ui-bundle.js", "package/swagger-ui.css": "swagger-ui.css",
             "package/LICENSE": "LICENSE", "package/NOTICE": "NOTICE",
             "package/swagger-ui-bundle.js.LICENSE.txt": "swagger-ui-bundle.js.LICENSE.txt"}, dest="swagger-ui"),
)


def fetch(pkg: Package) -> dict[str, bytes]:
    """The package's chosen files, after checking the tarball's SHA-256 against the pin."""
    with urllib.request.urlopen(pkg.url, timeout=120) as resp:
        data = resp.read()
    digest = hashlib.sha256(data).hexdigest()
    if digest != pkg.sha256:
        raise SystemExit(f"{pkg.name} {pkg.version}: tarball SHA-256 {digest} is not the pinned {pkg.sha256}")
    out: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for member, target in pkg.files.items():
            f = tar.extractfile(member)
            if f is None:
                raise SystemExit(f"{pkg.name}: {member} missing from the tarball")
            out[target] = f.read()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="verify the committed files, write nothing")
    args = parser.parse_args(argv)
    bad = 0
    for pkg in PACKAGES:
        files = fetch(pkg)
        dest = VENDOR_DIR / pkg.dest
        for name, body in files.items():
            path = dest / name
            if args.check:
                if not path.is_file() or path.read_bytes() != body:
                    bad += 1
                continue
            dest.mkdir(parents=True, exist_ok=True)
            path.write_bytes(body)
        if not args.check:
            (dest / "VERSION").write_text(f"{pkg.name} {pkg.version} sha256:{pkg.sha256}\n")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
