"""Static files: compressed once in memory, served under content-hash URLs and cached immutably.

Every file under ``static/`` is read and hashed when the app is assembled; text files (JS, CSS,
licences) are gzip-compressed once (level 9), on their first request. Pages link them through :meth:`StaticAssets.url`
(``/static/v/<hash>/<path>``, the Jinja global ``static_url``), which a browser may keep for a
year (``immutable``): a new file has a new hash, hence a new URL. The plain ``/static/<path>``
still answers (an hour's cache, with an ETag) for links made before a change.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import Request
from fastapi.responses import Response

from lydiard.errors import NotFoundError

#: Suffixes worth compressing (the rest, e.g. images, are sent as they are).
COMPRESSIBLE = frozenset({".js", ".css", ".txt", ".svg", ".json", ".map", ".html", ""})
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "public, max-age=3600"
#: Characters of the SHA-256 kept in a versioned URL.
HASH_CHARS = 12


@dataclass(slots=True)
class Asset:
    """One static file: its bytes, content hash and (once asked for) gzip-compressed bytes."""

    body: bytes
    digest: str
    media_type: str
    compressible: bool
    _gzip: bytes | None = field(default=None, repr=False)

    @property
    def gzip_body(self) -> bytes | None:
        """The gzip-compressed bytes (compressed on first use), or None when not worth it."""
        if not self.compressible:
            return None
        if self._gzip is None:  # a race compresses twice, harmlessly
            gz = gzip.compress(self.body, 9, mtime=0)
            if len(gz) >= len(self.body):
                self.compressible = False
                return None
            self._gzip = gz
        return self._gzip


def _media_type(path: Path) -> str:
    if path.suffix == ".js":
        return "text/javascript; charset=utf-8"
    if path.suffix == ".css":
        return "text/css; charset=utf-8"
    guessed = mimetypes.guess_type(path.name)[0]
    if guessed is None or path.name in ("LICENSE", "NOTICE", "VERSION"):
        return "text/plain; charset=utf-8"
    return guessed + ("; charset=utf-8" if guessed.startswith("text/") else "")


class StaticAssets:
    """The static files of one directory, loaded and compressed once."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files: dict[str, Asset] = {}
        for path in sorted(root.rglob("*")):
            if not path.is_file():
                continue
            body = path.read_bytes()
            rel = path.relative_to(root).as_posix()
            self.files[rel] = Asset(body=body, digest=hashlib.sha256(body).hexdigest()[:HASH_CHARS],
                                    media_type=_media_type(path),
                                    compressible=path.suffix in COMPRESSIBLE and len(body) > 256)

    def url(self, rel: str) -> str:
        """The versioned URL of ``rel`` (a path under ``static/``)."""
        asset = self.files.get(rel)
        if asset is None:
            raise KeyError(f"no static file {rel!r}")
        return f"/static/v/{asset.digest}/{rel}"

    def compressed_size(self, rel: str) -> int:
        """Bytes sent for ``rel`` to a browser that accepts gzip."""
        asset = self.files[rel]
        return len(asset.gzip_body if asset.gzip_body is not None else asset.body)

    def response(self, request: Request, rel: str, digest: str | None) -> Response:
        """``rel`` as a response: gzip when accepted, immutable when ``digest`` is its hash."""
        asset = self.files.get(rel)
        if asset is None:
            raise NotFoundError("no such static file", path=rel)
        etag = f'"{asset.digest}"'
        headers = {"etag": etag, "vary": "Accept-Encoding",
                   "cache-control": IMMUTABLE if digest == asset.digest else REVALIDATE}
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        body = asset.body
        if "gzip" in request.headers.get("accept-encoding", "").lower():
            gz = asset.gzip_body
            if gz is not None:
                body = gz
                headers["content-encoding"] = "gzip"
        return Response(body, media_type=asset.media_type, headers=headers)


__all__ = ["Asset", "StaticAssets"]
