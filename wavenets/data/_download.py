"""Downloads that resume, check disk space and checksums, and never leave a half file behind
under the final name."""
from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import shutil
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from pathlib import Path

from .._extras import need

__all__ = ["download", "md5sum", "gunzip", "extract", "DownloadError", "check_free_space"]

CHUNK = 1 << 20


class DownloadError(RuntimeError):
    """A download, checksum or decompression failed; the message says what to do."""


def _progress(total: int | None, initial: int, desc: str, quiet: bool):
    tqdm = need("tqdm.auto", "train", "downloading").tqdm

    return tqdm(total=total, initial=initial, unit="B", unit_scale=True, unit_divisor=1024, desc=desc,
                disable=quiet, leave=False)


def md5sum(path: Path, quiet: bool = True) -> str:
    """The MD5 hex digest of the file at ``path``, read in chunks (a progress bar unless
    ``quiet``)."""
    h = hashlib.md5()
    with open(path, "rb") as f, _progress(path.stat().st_size, 0, f"md5 {path.name}", quiet) as bar:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            h.update(chunk)
            bar.update(len(chunk))
    return h.hexdigest()


def check_free_space(folder: Path, needed: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(folder).free
    if free < needed:
        raise DownloadError(
            f"not enough disk space in {folder}: need {needed / 2**30:.1f} GiB, {free / 2**30:.1f} GiB free; "
            "free some space or pass another --data-root"
        )


def download(url: str, dest: Path, *, md5: Iterable[str] | None = None, quiet: bool = False,
             timeout: float = 60.0, retries: int = 4, backoff: float = 2.0) -> Path:
    """Fetch ``url`` to ``dest``. Bytes arrive in ``dest.part`` and an interrupted download
    resumes from there (HTTP Range). ``dest`` appears only once the file is complete and its
    MD5 is one of ``md5``; a mismatch deletes the partial file and raises.

    A connection that fails or stalls (no byte for ``timeout`` s) is retried ``retries`` times,
    resuming, after ``backoff``, ``2·backoff``, … seconds; then the error says so."""
    dest = Path(dest)
    part = dest.with_name(dest.name + ".part")
    dest.parent.mkdir(parents=True, exist_ok=True)
    for attempt in range(retries + 1):
        try:
            _fetch_once(url, dest, part, timeout, quiet)
            break
        except _Transient as err:
            if attempt == retries:
                have = part.stat().st_size if part.exists() else 0
                raise DownloadError(f"download of {url} failed {retries + 1} times ({err}); {have} bytes are kept in "
                                    f"{part}: check the network and run the command again to resume") from None
            wait = backoff * 2 ** attempt
            if not quiet:
                print(f"{dest.name}: {err}; retrying in {wait:g} s ({attempt + 1} of {retries})", file=sys.stderr)
            time.sleep(wait)
    if md5 is not None:
        expected = set(md5)
        got = md5sum(part, quiet)
        if got not in expected:
            part.unlink()
            raise DownloadError(f"checksum mismatch for {dest.name}: md5 {got}, expected "
                                f"{' or '.join(sorted(expected))}; the corrupt file was deleted, run again to re-download")
    os.replace(part, dest)
    return dest


class _Transient(Exception):
    """A failure worth retrying: no connection, a stall, a cut transfer."""


def _fetch_once(url: str, dest: Path, part: Path, timeout: float, quiet: bool) -> None:
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as err:
        if err.code == 416 and have:  # range not satisfiable: the part is already complete
            return
        if err.code >= 500:
            raise _Transient(f"HTTP {err.code} {err.reason}") from err
        raise DownloadError(f"download of {url} failed: HTTP {err.code} {err.reason}") from err
    except (urllib.error.URLError, OSError) as err:  # TimeoutError is an OSError
        raise _Transient(f"cannot reach the server: {getattr(err, 'reason', err)}") from err
    with response:
        resumed = have and response.status == 206
        if not resumed:
            have = 0
        length = response.headers.get("Content-Length")
        total = have + int(length) if length is not None else None
        if total is not None:
            check_free_space(dest.parent, total - have)
        try:
            with open(part, "ab" if resumed else "wb") as f, _progress(total, have, dest.name, quiet) as bar:
                for chunk in iter(lambda: response.read1(CHUNK), b""):  # read1: keep what arrived before a stall
                    f.write(chunk)
                    bar.update(len(chunk))
        except TimeoutError as err:
            raise _Transient(f"the transfer stalled (no data for {timeout:g} s)") from err
        except (ConnectionError, http.client.IncompleteRead) as err:
            raise _Transient(f"the connection was cut ({type(err).__name__})") from err
    if total is not None and part.stat().st_size != total:
        raise _Transient(f"the transfer stopped at {part.stat().st_size} of {total} bytes")


def gunzip(src: Path, dest: Path, *, quiet: bool = False) -> Path:
    """Decompress ``src`` to ``dest`` through a temporary file (atomic rename)."""
    tmp = dest.with_name(dest.name + ".tmp")
    try:
        with gzip.open(src, "rb") as fin, open(tmp, "wb") as fout, _progress(None, 0, f"gunzip {src.name}", quiet) as bar:
            for chunk in iter(lambda: fin.read(CHUNK), b""):
                fout.write(chunk)
                bar.update(len(chunk))
    except (OSError, EOFError) as err:
        tmp.unlink(missing_ok=True)
        raise DownloadError(f"{src} is not a valid gzip file ({err}); delete it and fetch again") from err
    os.replace(tmp, dest)
    return dest


def extract(archive: Path, dest: Path, *, expect: str, quiet: bool = False, flat: bool = False) -> Path:
    """Unpack a .zip or .tar(.gz) archive whose top folder is ``expect`` into ``dest/expect``
    (``flat``: an archive with no top folder, unpacked into ``dest/expect``).

    Unpacks into a temporary folder beside it and renames it into place, so ``dest/expect``
    exists only when complete; refuses members that would land outside ``dest``.
    """
    import tarfile
    import zipfile

    tmp = dest / f".{expect}.unpacking"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    root = tmp
    if flat:
        tmp = tmp / expect
        tmp.mkdir()
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as z:
                names = z.namelist()
                _check_members(names, tmp)
                z.extractall(tmp)
        elif tarfile.is_tarfile(archive):
            with tarfile.open(archive) as t:
                _check_members(t.getnames(), tmp)
                t.extractall(tmp, filter="data")
        else:
            raise DownloadError(f"{archive} is neither a zip nor a tar archive; delete it and fetch again")
        if not (root / expect).is_dir():
            raise DownloadError(f"{archive} does not contain the folder {expect}/; delete it and fetch again")
        os.replace(root / expect, dest / expect)
    except (OSError, EOFError) as err:
        raise DownloadError(f"cannot unpack {archive} ({err}); delete it and fetch again") from err
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return dest / expect


def _check_members(names, root: Path) -> None:
    base = root.resolve()
    for name in names:
        target = (root / name).resolve()
        if base != target and base not in target.parents:
            raise DownloadError(f"archive member {name!r} would be written outside {root}; refusing to unpack")
