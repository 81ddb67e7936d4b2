"""Build the public site: registry → pages, open data, trust list and search index.

`build_site` checks the registry first and refuses to build on any error. Everything is
written into a temporary directory next to `out` and swapped in only at the end, so a
failed build leaves the previous site untouched.

Phases (timed on stderr; bench/build_scale.py reads them): check; MkDocs renders the
hand-written pages and the frames (theme.py); Jinja2 renders every registry page into
its frame (pages.py), writing beside it the frameless copy that Pagefind indexes; then
the open data, trust list and change history are written while Pagefind indexes
(search.py). On a big registry the page writers and the data writer are forked workers
sharing the loaded model, and the data writer goes on to compress the pages while
Pagefind indexes. Last, every text file not compressed yet gets its .gz and .br
(compress.py).
"""

from __future__ import annotations

import dataclasses
import glob
import gzip
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from xml.sax.saxutils import escape as xml_escape

from .. import tufrepo
from ..keys import KeyFileError, PrivateKey, read_private_key
from ..load import load_registry
from ..model import Registry
from ..sources import SiteSources
from ..trust import Stamp, build_trust_list, stamp_for
from . import compress, lookup, opendata, pages, search, theme
from . import issuance as issuance_site


def build_site(
    registry: Path,
    out: Path,
    *,
    site_url: str | None = None,
    verify_url: str | None = None,
    timestamp_key: Path | None = None,
    sources: SiteSources | None = None,
    previous: Path | None = None,
) -> int:
    """Check, build and swap in the site; return a process exit code.

    `previous`: the published site this build replaces (default: `out`). Its signed
    snapshot carries each issuance record's first publication and the versions a new
    publication must not go below; a release built into a new directory must name it.

    `site_url` and `verify_url`, when given, override registry.yaml's local defaults for
    a deployment; the trust list and every page then carry the public addresses (the trust
    list's are signed content: they must match what the reviewers signed).

    When the registry has a trust root, keys.json is published only with its TUF metadata,
    signed by the reviewers' threshold, with snapshot and timestamp signed by
    `timestamp_key`; otherwise nothing is published.

    `sources` says where the MkDocs project, the published specs and vectors are (default:
    the checkout's, xcert.sources).
    """
    started = time.perf_counter()
    result = load_registry(registry)
    print(f"  check: {time.perf_counter() - started:.1f} s", file=sys.stderr)
    for problem in result.problems:
        print(problem.format(), file=sys.stderr)
    if not result.ok or result.registry is None:
        print(
            f"build refused: {len(result.errors)} error(s) in {registry}; {out} left as it was",
            file=sys.stderr,
        )
        return 1
    reg = result.registry
    if site_url or verify_url:
        old = reg.settings
        new = dataclasses.replace(
            old, site_url=site_url or old.site_url, verify_url=verify_url or old.verify_url
        )
        reg = dataclasses.replace(reg, settings=new)
    out = Path(out).resolve()
    before = Path(previous).resolve() if previous is not None else out
    if previous is not None and not (before / tufrepo.META_DIR / "snapshot.json").is_file():
        print(
            f"build refused: --previous {before} holds no published site (tuf/snapshot.json)", file=sys.stderr
        )
        return 1
    if previous is None and reg.records and not (before / tufrepo.META_DIR / "snapshot.json").is_file():
        print(
            f"  note: no published site at {out}: issuance records are dated by this build. A release "
            "built into a new directory must name the live one (--previous DIR), or every record "
            "would look newly published and verifiers that saw it would refuse it",
            file=sys.stderr,
        )
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        recover(out)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}{BUILDING}", dir=out.parent))
    except OSError as e:
        print(f"build failed: cannot write beside {out}: {e.strerror or e}", file=sys.stderr)
        return 1
    try:
        online_key = _online_key(registry, timestamp_key)
        n_pages = write_site(
            reg, stamp_for(registry), tmp / "site", tmp / "work", registry, sources, previous=before
        )
        if online_key is not None:
            published = tufrepo.publish(tmp / "site", registry, reg, online_key, previous=before)
            print(f"  trust list signed: {published}", file=sys.stderr)
        # last: .gz and .br beside every text file not compressed yet or changed since
        compress.compress_site(tmp / "site")
        swap_in(tmp / "site", out, tmp / "old")
    except (tufrepo.TrustRepoError, KeyFileError) as e:
        print(f"build refused: {e}; {out} left as it was", file=sys.stderr)
        return 1
    except Exception as e:  # any failure means no new site; say why and keep the old one
        traceback.print_exc()
        print(f"build failed: {type(e).__name__}: {e}; {out} left as it was", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"built {n_pages} pages into {out} in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return 0


def _online_key(registry: Path, path: Path | None) -> PrivateKey | None:
    """The snapshot/timestamp key, or None for a registry without a trust root."""
    if not (tufrepo.trust_dir(registry) / "root.json").exists():
        print("  note: no trust/root.json: keys.json is published without TUF metadata", file=sys.stderr)
        return None
    if path is None:
        root = tufrepo.read_metadata(tufrepo.trust_dir(registry) / "root.json", tufrepo.Root).signed
        if not tufrepo.is_test_root(root):
            raise tufrepo.TrustRepoError("pass --timestamp-key (or set $XCERT_TIMESTAMP_KEY)")
        path = tufrepo.SANDBOX_TIMESTAMP_KEY
        print("  TEST trust root: signing snapshot/timestamp with sandbox's published key", file=sys.stderr)
    return read_private_key(path)


BUILDING = ".building-"  # a build's work directory beside the site: .<site>.building-XXXX
STALE_SECONDS = 86400  # no build takes a day: a work directory this old was left by a kill


def recover(out: Path) -> None:
    """Undo what a killed build left beside `out`: put the old site back when the kill fell
    between swap_in's two renames (`out` missing, the old site in a work directory), and
    remove work directories older than a day (a running build's are younger)."""
    leftovers = sorted(
        (
            p
            for p in out.parent.glob(f".{glob.escape(out.name)}{BUILDING}*")
            if p.is_dir() and not p.is_symlink()
        ),
        key=lambda p: p.stat().st_mtime,
    )
    if not out.exists():
        for leftover in reversed(leftovers):
            if (leftover / "old").is_dir():
                (leftover / "old").rename(out)
                break
    for leftover in leftovers:
        if time.time() - leftover.stat().st_mtime > STALE_SECONDS:
            shutil.rmtree(leftover, ignore_errors=True)


def swap_in(new: Path, out: Path, graveyard: Path) -> None:
    """Replace `out` by `new` with two renames on the same file system.

    Between the renames `out` is briefly missing; if the second rename fails the old
    site is put back before the error goes on.
    """
    had_old = out.exists()
    if had_old:
        out.rename(graveyard)
    try:
        new.rename(out)
    except OSError:
        if had_old:
            graveyard.rename(out)
        raise


def write_site(
    reg: Registry,
    stamp: Stamp,
    site: Path,
    work: Path,
    registry_dir: Path | None = None,
    sources: SiteSources | None = None,
    previous: Path | None = None,
) -> int:
    """Write the whole site into the empty directory `site`; return the page count.

    With `registry_dir`, the registry's change history from git is published too
    (/data/changes.json and /feed.xml, by xcert.history). `previous`: the published site
    this one replaces, whose signed snapshot dates the issuance records.
    """
    src = sources or SiteSources.at()
    work.mkdir(parents=True)
    lap = _timer()
    first_published = tufrepo.first_published(previous)
    view = pages.View(reg, first_published=first_published)
    env = pages.environment(src.templates)
    vectors = pages.read_vectors(src.vectors) if src.vectors.is_dir() else ()
    jobs = list(pages.page_jobs(view, vectors))
    job_paths = {j.path for j in jobs}
    specs = {path: spec for path, spec in src.specs.items() if spec.is_file()}  # published when present
    nav = [
        theme.NavPage(path, title, section, specs.get(path))
        for path, title, section in pages.NAV
        if path in job_paths or (src.project / "docs" / path / "index.md").is_file() or path in specs
    ]
    nav_frames, shells = theme.run_mkdocs(
        src.project,
        work,
        site,
        site_name=reg.settings.name.zh,
        site_url=reg.settings.site_url,
        nav=nav,
        depths={j.depth for j in jobs if not j.nav},
        footer=version_line(stamp),
    )

    shadow = work / "search"  # what Pagefind reads: the indexed part of each page only

    def write_pages(shard: int, shards: int) -> None:
        records = []
        for job in jobs[shard::shards]:
            page = pages.render(env, view, job)
            frame = nav_frames[page.path] if page.nav else shells[page.depth]
            target = site / page.path / "index.html"
            target.parent.mkdir(parents=True, exist_ok=True)
            title = reg.settings.name.zh if page.path == "" else page.title
            target.write_text(frame.render(page.body, page.path, title, page.description), encoding="utf-8")
            search.write_shadow(shadow, page.path, title, page.body)
            rec = lookup.record(job, page.body)
            if rec is not None:
                records.append(rec)
        lookup.write_records(work / f"lookup-{shard}.jsonl", records)

    def write_data() -> None:
        opendata.write_open_data(reg, stamp, site, build_trust_list(reg))
        issuance_site.write_files(reg, site, first_published)
        if registry_dir is not None:
            from ..history import write_history

            write_history(site, registry_dir, stamp=stamp, settings=reg.settings)
        if vectors:  # the files the vectors page lists, with their field reference
            (site / "vectors").mkdir(exist_ok=True)
            for path in [*src.vectors.glob("*.json"), src.vectors / "README.md"]:
                if path.is_file():
                    shutil.copyfile(path, site / "vectors" / path.name)

    def index() -> None:
        search.index_site(shadow, site / "pagefind")

    lap("mkdocs")
    # On a big registry the work is shared by forked workers that share the loaded model:
    # first two page writers, then Pagefind (one core, the longest phase) beside the open
    # data writer.
    big = len(jobs) >= PARALLEL_FROM and hasattr(os, "fork")
    if big:
        parallel([lambda: write_pages(0, 2), lambda: write_pages(1, 2)])
    else:
        write_pages(0, 1)
    lookup.write_index(lookup.read_records(sorted(work.glob("lookup-*.jsonl"))), site)
    lap("pages")
    search.copy_indexed(site, shadow, [p.path for p in nav if p.path not in job_paths | {"search/"}])
    write_sitemap(site, reg.settings.site_url, sorted(job_paths | {p.path for p in nav}))

    def data_then_compress() -> None:  # Pagefind keeps one core: the other compresses meanwhile
        write_data()
        compress.compress_site(site, exclude=(search.FOLDER,))

    if big:
        parallel([data_then_compress, index])
    else:
        write_data()
        index()
    lap("data+pagefind")
    return len(jobs)


def write_sitemap(site: Path, site_url: str, paths: list[str]) -> None:
    """sitemap.xml (and .gz) of every page; MkDocs' own lists only the nav pages."""
    base = site_url.rstrip("/") + "/"
    lines = ['<?xml version="1.0" encoding="UTF-8"?>']
    lines.append('<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">')
    lines += [f"<url><loc>{xml_escape(base + path)}</loc></url>" for path in paths]
    lines.append("</urlset>\n")
    data = "\n".join(lines).encode("utf-8")
    (site / "sitemap.xml").write_bytes(data)
    (site / "sitemap.xml.gz").write_bytes(gzip.compress(data, mtime=0))


def version_line(stamp: Stamp) -> str:
    """The data version printed in every page footer (plain text)."""
    commit = (stamp.commit or "未知 unknown")[:12] + (
        "+dirty" if (stamp.commit or "").endswith("+dirty") else ""
    )
    return f"数据版本 Data version {stamp.version} · commit {commit} · 构建 built {stamp.built_at}"


def _timer() -> Callable[[str], None]:
    """Phase timings on stderr, for the build log and bench/build_scale.py."""
    last = [time.perf_counter()]

    def lap(phase: str) -> None:
        now = time.perf_counter()
        print(f"  {phase}: {now - last[0]:.1f} s", file=sys.stderr)
        last[0] = now

    return lap


PARALLEL_FROM = 2000  # pages; below this forking costs more than it saves


def parallel(tasks: list[Callable[[], None]]) -> None:
    """Run every task but the last in a forked child, the last here; fail if any fails."""
    ctx = multiprocessing.get_context("fork")
    children = [ctx.Process(target=task, daemon=True) for task in tasks[:-1]]
    for child in children:
        child.start()
    try:
        tasks[-1]()
    finally:
        for child in children:
            child.join()
    failed = [i for i, child in enumerate(children) if child.exitcode != 0]
    if failed:
        raise RuntimeError(f"build worker(s) {failed} failed; see the traceback above")
