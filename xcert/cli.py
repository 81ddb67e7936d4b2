"""The `xcert` command: a thin layer over xcert.keys, xcert.issue, xcert.token and xcert.verify.

Every failure the user can cause ends as a click error (exit 1, or 2 for usage), never a
traceback. Output meant for pasting (the YAML snippet, URLs, tokens.csv) goes to stdout;
notes and progress go to stderr.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shlex
import sys
from pathlib import Path
from typing import Any

import click

from . import keys as keymod
from . import qr
from .cli_registry import COMMANDS as REGISTRY_COMMANDS
from .cli_registry import DEFAULT_REGISTRY, registry_option
from .issue import BatchError, IssueError, Request, issue, issue_batch, parse_day, today
from .model import CST, LEVEL_NAMES, china_time, years_on
from .token import MalformedToken, decode, to_digits, token_from_text
from .trust import TrustList, TrustListError, trust_list_from_registry
from .verify import CHECKS, TEST, verify

DEFAULT_ROOT = "registry/trust/root.json"


def _trust(
    registry: str | None, trust: str | None, root: str | None = None, state_dir: str | None = None
) -> TrustList:
    """The trust list from --trust (a published keys.json, proven by its TUF metadata from the
    pinned --root) or --registry (default ./registry, read directly)."""
    if registry and trust:
        raise click.UsageError("give either --registry or --trust, not both")
    try:
        if trust:
            from .tufclient import fetch_signed

            return fetch_signed(trust, root or DEFAULT_ROOT, Path(state_dir) if state_dir else None)
        directory = Path(registry or DEFAULT_REGISTRY)
        if not (directory / "registry.yaml").is_file():
            raise click.UsageError(
                f"no registry at {directory}/ (registry.yaml not found); "
                "pass --registry DIR or --trust keys.json"
            )
        return trust_list_from_registry(directory)
    except TrustListError as e:
        raise click.ClickException(str(e)) from None


def _key(path: str) -> keymod.PrivateKey:
    """Read a private key file; warn (not refuse) when its group or others may read it."""
    try:
        key = keymod.read_private_key(path)
    except keymod.KeyFileError as e:
        raise click.ClickException(str(e)) from None
    mode = keymod.exposed_mode(path)
    if mode is not None:
        exposed = f"{path} is readable by others (mode {mode:04o})"
        # The published TEST keys (sandbox/, named *-TEST-ONLY.key like `trust init --test-only`
        # writes them) are committed 100644, so a checkout under umask 022 leaves them 0644.
        if key.org == "sandbox" or Path(path).name.endswith("-TEST-ONLY.key"):
            _note(f"note: {exposed}; fine for a published TEST key")
        else:
            _note(
                f"WARNING: {exposed}: run chmod 600 {shlex.quote(path)}. Anyone who can read it "
                f"can sign as {key.org}; if someone else could have copied it, treat the key as compromised."
            )
    return key


def _day(_ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None:
        try:
            parse_day(value, "date")
        except ValueError:
            raise click.BadParameter(f"expected YYYY-MM-DD, got {value!r}", param=param) from None
    return value


def _token(text: str) -> bytes:
    try:
        return token_from_text(text)
    except MalformedToken as e:
        raise click.ClickException(f"malformed: {e}") from None


def _note(message: str) -> None:
    click.echo(message, err=True)


def _warn_if_unreachable(verify_url: str) -> None:
    """Loudly, when the QR codes would point where no employer's phone can go."""
    from urllib.parse import urlsplit

    from .tufclient import is_loopback

    parts = urlsplit(verify_url)
    why = (
        "a loopback address"
        if is_loopback(parts.hostname)
        else "not https"
        if parts.scheme != "https"
        else ""
    )
    if why:
        _note(
            f"WARNING: the QR codes point at {verify_url}, {why}: no employer's phone can open it. "
            "Issue against the published trust list: --trust https://<registry>/keys.json --root ROOT.json"
        )


# The pinned TUF root and the verifier's state directory, for every command that reads a
# published trust list (verify, issue, issue-batch, serve).
root_option = click.option(
    "--root",
    default=DEFAULT_ROOT,
    show_default=True,
    envvar="XCERT_ROOT",
    metavar="FILE",
    help="Pinned TUF root for a published trust list (or $XCERT_ROOT).",
)
state_option = click.option(
    "--state",
    "state_dir",
    metavar="DIR",
    envvar="XCERT_STATE_DIR",
    help="Where verified TUF metadata is kept (rollback protection) [default: per source, "
    "under ~/.local/state/xcert].",
)


def key_file_option(help: str) -> Any:
    """--key FILE: a private key file (whose key it must be, in `help`)."""
    return click.option(
        "--key", "key_file", required=True, type=click.Path(dir_okay=False), metavar="FILE", help=help
    )


trust_options = [
    click.option(
        "--registry",
        metavar="DIR",
        help=f"Registry directory to derive the trust list from [default: ./{DEFAULT_REGISTRY}].",
    ),
    click.option(
        "--trust",
        metavar="PATH|URL",
        help="Published trust list (keys.json, https or a path) instead of a registry; its TUF "
        "metadata (tuf/ beside it) is verified from --root.",
    ),
    root_option,
    state_option,
]


# Options shared by `issue` and `issue-batch`.
key_option = key_file_option("The organization's private key file.")
ecc_option = click.option(
    "--ecc",
    type=click.Choice(qr.EC_LEVELS),
    default="M",
    show_default=True,
    help="QR error correction level.",
)


record_into_option = click.option(
    "--record-into",
    metavar="DIR",
    help="Registry checkout to write the issuance record into (DIR/issuance/ORG/BATCH.yaml and "
    ".leaves) [default: the --out directory of a batch, else the current directory].",
)


def with_trust(fn: Any) -> Any:
    for option in reversed(trust_options):
        fn = option(fn)
    return fn


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="xcert")
def main() -> None:
    """Sign, print, decode and verify 1+X certificate tokens.

    An organization signs each certificate with its private key; the QR code on the paper
    holds an https URL with the signed token. Anyone verifies it against the published
    trust list (keys.json) or a registry checkout.

    The registry's maintainers check it, build the site and import official lists with
    check, site, diff, schema and import (also run as `python build.py …`).
    """


for _command in REGISTRY_COMMANDS:  # xcert/cli_registry.py
    main.add_command(_command)

# --- keys -------------------------------------------------------------------------------


@main.command()
@click.option("--org", required=True, metavar="ID", help="Organization id (registry slug) the key is for.")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Where to write the private key (mode 0600; never overwritten).",
)
def keygen(org: str, out: str) -> None:
    """Create an organization's Ed25519 signing key.

    Writes the private key to FILE (readable only by you) and prints the YAML to add to
    registry/organizations/ID.yaml in a pull request. Tokens signed with the key verify
    once that pull request is merged and the trust list is published.
    """
    try:
        key = keymod.generate(org)
        keymod.write_private_key(out, key, comment=f"created {dt.datetime.now(CST):%Y-%m-%d %H:%M %z}")
    except (ValueError, FileExistsError) as e:
        raise click.ClickException(str(e)) from None
    except OSError as e:
        raise click.ClickException(f"{out}: cannot write: {e.strerror or e}") from None
    start = today()
    until = years_on(start, 2)
    _note(f"wrote {out} (mode 0600): keep it secret and backed up; never commit it")
    click.echo(
        f"# Add to registry/organizations/{org}.yaml in a pull request (append the item to `keys:`).\n"
        f"# kid {key.kid.hex()}  fingerprint {keymod.fingerprint(key.public_key)}\n"
        "keys:\n"
        f"  - public_key: {keymod.public_key_b64url(key)}\n"
        f"    not_before: {start.isoformat()}\n"
        f"    sign_until: {until.isoformat()}   # suggested: two years, then a new key\n"
        "    status: active"
    )


@main.command("key-info")
@click.argument("file", type=click.Path(dir_okay=False))
def key_info(file: str) -> None:
    """Show a private key file's organization, kid, fingerprint and public key.

    Compare the fingerprint with the key published for the organization before signing.
    """
    key = _key(file)
    click.echo(f"org:         {key.org}")
    click.echo(f"kid:         {key.kid.hex()}")
    click.echo(f"fingerprint: {keymod.fingerprint(key.public_key)}")
    click.echo(f"public_key:  {keymod.public_key_b64url(key)}")


# --- issuing ----------------------------------------------------------------------------


@main.command("issue")
@key_option
@click.option(
    "--certificate", required=True, metavar="CODE", help="Certificate type code, e.g. elderly-care."
)
@click.option("--level", required=True, metavar="N", help="Level: 1 初级, 2 中级 or 3 高级.")
@click.option(
    "--serial", required=True, metavar="S", help="Certificate serial, unique within the organization."
)
@click.option("--name", required=True, metavar="NAME", help="Holder's name as printed on the certificate.")
@click.option(
    "--id-number",
    required=True,
    metavar="ID|-",
    help="Holder's 18-character national ID; checked, and only its last 4 characters are signed. "
    "Recommended: '-' reads it from standard input (echo … | xcert issue … --id-number -), so it "
    "stays out of `ps` and the shell history.",
)
@click.option("--date", callback=_day, metavar="YYYY-MM-DD", help="Issue day [default: today, China time].")
@click.option("--college", metavar="CODE", help="College or assessment-site code (optional).")
@click.option(
    "--expires",
    callback=_day,
    metavar="YYYY-MM-DD",
    help="Explicit expiry (00:00 China time). Normally omitted: verifiers derive expiry "
    "from the certificate type's validity years, and the QR stays smaller.",
)
@click.option(
    "--qr",
    "qr_out",
    type=click.Path(dir_okay=False),
    metavar="OUT.svg|OUT.png",
    help="Also write the QR code as SVG or PNG.",
)
@click.option(
    "--record",
    "record_batch",
    metavar="BATCH",
    help="Also write an issuance record of this one certificate, batch id BATCH, into "
    "--record-into (see docs/issuance-records.md).",
)
@record_into_option
@ecc_option
@with_trust
def issue_cmd(
    key_file: str,
    certificate: str,
    level: str,
    serial: str,
    name: str,
    id_number: str,
    date: str | None,
    college: str | None,
    expires: str | None,
    qr_out: str | None,
    ecc: str,
    record_batch: str | None,
    record_into: str | None,
    registry: str | None,
    trust: str | None,
    root: str | None,
    state_dir: str | None,
) -> None:
    """Sign one certificate and print its verify URL (the QR text).

    Before anything is printed the token is verified against the trust list; a certificate
    type or level the organization may not sign, a key outside its signing window, a
    revoked serial and so on are refused with the reason.
    """
    if qr_out and Path(qr_out).suffix.lower() not in (".svg", ".png"):
        raise click.BadParameter("expected a file name ending in .svg or .png", param_hint="--qr")
    key = _key(key_file)
    trust_list = _trust(registry, trust, root, state_dir)
    records = _record_dir(record_into, None) if record_batch else None
    if records is not None:
        _refuse_existing_record(records, key.org, record_batch or "")
    if id_number == "-":  # from standard input: not in `ps` output or the shell history
        id_number = sys.stdin.readline().strip()
        if not id_number:
            raise click.BadParameter("'-' given, but standard input has no line", param_hint="--id-number")
    request = Request(certificate, level, serial, name, id_number, date, college, expires)
    try:
        issued = issue(request, key, trust_list)
    except IssueError as e:
        raise click.ClickException("refused to issue:\n  " + "\n  ".join(e.problems)) from None
    if qr_out:
        code = qr.encode(issued.url, ecc)
        _write_atomic(Path(qr_out), code)
        _note(f"wrote {qr_out} (QR version {code.version}, ECC {ecc})")
    if issued.result.test:
        _note("TEST: signed with the sandbox key; verifiers show it as a TEST certificate")
    _warn_if_unreachable(trust_list.verify_url)
    if records is not None and record_batch:
        _write_record(records, key, record_batch, [issued.token])
    click.echo(issued.url)


def _record_dir(record_into: str | None, out: str | None) -> Path:
    """Where a record goes: --record-into (the registry checkout the pull request comes
    from), else beside the batch output (OUT/issuance/…), else the current directory.
    Never a registry implicitly: issuing does not change a checkout unasked."""
    return Path(record_into or out or ".")


def _refuse_existing_record(directory: Path, org: str, batch: str) -> None:
    from .issuance import BATCH, DIRECTORY, LEAVES_SUFFIX

    if not re.fullmatch(BATCH, batch):
        raise click.BadParameter(
            f"{batch!r}: a batch id is 1-64 of A-Z a-z 0-9 . _ - starting with a letter or digit",
            param_hint="--batch-id/--record",
        )
    path = directory / DIRECTORY / org / f"{batch}.yaml"
    if path.exists():
        raise click.ClickException(f"{path} exists: a record never changes; choose another batch id")
    leaves = directory / DIRECTORY / org / f"{batch}{LEAVES_SUFFIX}"
    if leaves.exists():  # checked before anything is issued: write_record would refuse it after
        raise click.ClickException(
            f"{leaves} exists without its record {path.name} (left by an interrupted run?): "
            f"nothing was issued; remove {leaves} if no record of batch {batch!r} was published, "
            "or choose another batch id"
        )


def _write_record(directory: Path, key: keymod.PrivateKey, batch: str, tokens: list[bytes]) -> None:
    from .issuance import RecordError, make_record, write_record

    try:
        record, leaves = make_record(key.org, batch, key.kid, tokens)
        path = write_record(directory, record, leaves)
    except (RecordError, OSError) as e:
        raise click.ClickException(f"issuance record not written: {e}") from None
    _note(
        f"issuance record: {path} ({record.count} token{'s' * (record.count != 1)}, tree hash "
        f"{record.tree_hash.hex()[:16]}…); sign it with xcert issuance sign --key KEY and send it "
        "in a pull request"
    )


def _write_atomic(path: Path, code: qr.QrCode) -> None:
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")  # same suffix: qr.save picks the format by it
    try:
        qr.save(code, tmp)
        os.replace(tmp, path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise click.ClickException(f"{path}: cannot write: {e.strerror or e}") from None


@main.command("issue-batch")
@key_option
@click.option(
    "--csv",
    "csv_file",
    required=True,
    type=click.Path(dir_okay=False),
    metavar="IN.csv",
    help="UTF-8 CSV with columns certificate, level, serial, name, id_number "
    "and optionally date, college, expires.",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False),
    metavar="DIR",
    help="New (or empty) directory for tokens.csv and the QR files.",
)
@click.option(
    "--date",
    callback=_day,
    metavar="YYYY-MM-DD",
    help="Issue day for rows without a date [default: today, China time].",
)
@ecc_option
@click.option(
    "--workers",
    type=click.IntRange(1, 256),
    metavar="N",
    help="Worker processes [default: the number of CPUs].",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@click.option(
    "--batch-id",
    metavar="ID",
    help="Batch id of the issuance record [default: the name of --out].",
)
@click.option("--no-record", is_flag=True, help="Write no issuance record (not recommended).")
@record_into_option
@with_trust
def issue_batch_cmd(
    key_file: str,
    csv_file: str,
    out: str,
    date: str | None,
    ecc: str,
    workers: int | None,
    quiet: bool,
    batch_id: str | None,
    no_record: bool,
    record_into: str | None,
    registry: str | None,
    trust: str | None,
    root: str | None,
    state_dir: str | None,
) -> None:
    """Issue a whole assessment session from a CSV file.

    Every row is checked first (columns, level, ID number check character, dates, duplicate
    serials, and the same verification as `xcert issue`); if any row is bad, every bad row
    is reported with its line number and nothing is issued. Otherwise DIR gets tokens.csv
    (serial, url) and SERIAL.svg and SERIAL.png per certificate, all at once. The same
    input gives the same bytes.
    """
    key = _key(key_file)
    trust_list = _trust(registry, trust, root, state_dir)
    batch = batch_id or Path(out).resolve().name
    records = None if no_record else _record_dir(record_into, out)
    if records is not None:
        _refuse_existing_record(records, key.org, batch)
    bars: list[Any] = []

    def progress(phase: str, total: int) -> Any:
        from tqdm import tqdm

        for bar in bars:
            bar.close()
        bars.append(tqdm(total=total, desc=phase, unit="cert", file=sys.stderr, disable=quiet, leave=False))
        return bars[-1].update

    try:
        report = issue_batch(
            key,
            csv_file,
            out,
            trust_list,
            workers=workers,
            ecc=ecc,
            date=parse_day(date, "date") if date else None,
            progress=progress,
        )
    except BatchError as e:
        for problem in e.problems:
            click.echo(problem.format(), err=True)
        raise click.ClickException(str(e)) from None
    except IssueError as e:
        raise click.ClickException("; ".join(e.problems)) from None
    finally:
        for bar in bars:
            bar.close()
    if records is not None:
        _write_record(records, key, batch, list(report.tokens))
    test = " (TEST: sandbox key)" if report.test else ""
    _warn_if_unreachable(trust_list.verify_url)
    click.echo(
        f"issued {report.rows} certificates for {report.organization}{test}: "
        f"{out}/tokens.csv and {2 * report.rows} QR files"
    )


# --- reading tokens ---------------------------------------------------------------------


def _structure(text: str) -> dict[str, Any]:
    token = _token(text)
    try:
        d = decode(token)
    except MalformedToken as e:
        raise click.ClickException(f"malformed: {e}") from None
    c = d.claims
    url = text.strip() if "/c/" in text else None
    info: dict[str, Any] = {
        "token_bytes": len(token),
        "digits": len(to_digits(token)),
        "header": {
            "alg": d.alg,
            "alg_name": "EdDSA",
            "kid": d.kid.hex(),
            "protected_bytes": len(d.protected),
        },
        "payload_bytes": len(d.payload),
        "signature_bytes": len(d.signature),
        "claims": {
            "version": c.version,
            "certificate": c.certificate,
            "level": c.level,
            "serial": c.serial,
            "holder_name": c.holder_name,
            "id_tail": c.id_tail,
            "college": c.college,
            "issued_at": c.issued_at,
            "expires_at": c.expires_at,
        },
        "signature_checked": False,
    }
    if url:
        info["qr"] = {
            "url_chars": len(url),
            "version_m": qr.encode(url, "M").version,
            "version_q": qr.encode(url, "Q").version,
        }
    return info


@main.command("decode")
@click.argument("text", metavar="URL|TOKEN")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def decode_cmd(text: str, as_json: bool) -> None:
    """Show a token's structure (URL, digits or hex) WITHOUT checking it.

    For support staff: header, claims, sizes and QR version. Whether the certificate is
    genuine is `xcert verify`'s job.
    """
    info = _structure(text)
    if as_json:
        click.echo(json.dumps(info, ensure_ascii=False, indent=1))
        return
    c, h = info["claims"], info["header"]
    level = LEVEL_NAMES.get(c["level"], ("?", "?"))
    lines = [
        f"token        {info['token_bytes']} bytes COSE_Sign1 (CBOR tag 18), {info['digits']} digits",
        f"  protected  {h['protected_bytes']} bytes: alg {h['alg']} ({h['alg_name']}), kid {h['kid']}",
        f"  payload    {info['payload_bytes']} bytes",
        f"  signature  {info['signature_bytes']} bytes (not checked)",
        "claims",
        f"  version      {c['version']}",
        f"  certificate  {c['certificate']}",
        f"  level        {c['level']} ({level[0]} {level[1]})",
        f"  serial       {c['serial']}",
        f"  holder       {c['holder_name']}",
        f"  ID tail      {c['id_tail']}",
        f"  college      {c['college'] or '-'}",
        f"  issued       {china_time(c['issued_at'])} ({c['issued_at']})",
        "  expires      "
        + (
            f"{china_time(c['expires_at'])} ({c['expires_at']})"
            if c["expires_at"]
            else "- (verifiers derive it from the type's validity years)"
        ),
    ]
    if "qr" in info:
        q = info["qr"]
        lines.append(
            f"QR           {q['url_chars']} characters: version {q['version_m']} at M, {q['version_q']} at Q"
        )
    lines.append("NOT VERIFIED: use `xcert verify` to check the signature and the registry rules")
    click.echo("\n".join(lines))


@main.command("verify")
@click.argument("text", metavar="URL|TOKEN")
@with_trust
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def verify_cmd(
    text: str, registry: str | None, trust: str | None, root: str | None, state_dir: str | None, as_json: bool
) -> None:
    """Verify a certificate (URL, digits or hex) against the trust list.

    Prints the status (valid, invalid, revoked, expired, malformed, test) and every check
    with its stable code. Exit status: 0 only for a valid certificate; 3 for a TEST
    certificate (signed with the public sandbox key: never a real one); 1 otherwise.
    """
    result = verify(text, _trust(registry, trust, root, state_dir))
    if as_json:
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=1))
    else:
        head = result.status.upper() + ("  sandbox TEST certificate: not a real one" if result.test else "")
        lines = [head]
        width = max(len(code) for code in CHECKS)
        for check in result.checks:
            mark = "ok  " if check.ok else "FAIL"
            why = "" if check.ok else f"\n        {check.explanation[1]} / {check.explanation[0]}"
            lines.append(f"  {mark}  {check.code:<{width}}  {check.detail}{why}")
        data = result.to_dict()
        if data["claims"] and result.claims:
            c, issuer, cert = data["claims"], data["issuer"], data["certificate"]
            lines += [
                f"holder       {c['holder_name']}  (ID number ends {c['id_tail']})",
                f"certificate  {c['certificate']} {cert['name']['zh'] if cert else ''} level {c['level']} "
                f"{c['level_name']['zh']}",
                f"serial       {c['serial']}",
                f"issuer       {issuer['id']} {issuer['name']['zh']}",
                # China time, as on the paper certificate (the JSON keeps UTC Z)
                f"issued       {china_time(result.claims.issued_at)}   expires "
                + (china_time(result.expires_at) if result.expires_at else "never"),
            ]
        click.echo("\n".join(lines))
    sys.exit(0 if result.valid else 3 if result.status == TEST else 1)


# --- the signed trust list (TUF) -------------------------------------------------------


@main.group("trust")
def trust_group() -> None:
    """The signed trust list: the key ceremony, and reviewers signing the trust content.

    root.json (k-of-n offline keys) names the security reviewers; they sign the exact
    keys.json a registry change produces, in the pull request that makes the change
    (docs/trust-list-format.md).
    """


def _registry_model(registry: str) -> Any:
    from .load import load_registry

    result = load_registry(Path(registry))
    if not result.ok or result.registry is None:
        first = result.errors[0].format() if result.errors else "registry did not load"
        raise click.ClickException(f"registry {registry} has errors (python build.py check); first: {first}")
    return result.registry


def _print_status(status: Any, registry: str) -> None:
    if status.targets_version is None:
        click.echo("targets: nothing signed yet")
    else:
        click.echo(f"targets: version {status.targets_version}, expires {status.expires:%Y-%m-%d}")
    if status.current and status.irregular:
        click.echo("trust content: unchanged, but targets.json is not what the ceremony builds (below)")
    elif status.current:
        click.echo("trust content: unchanged since the reviewers signed it")
    else:
        click.echo("trust content CHANGED since the reviewers signed it:")
        for part in status.changed:
            click.echo(f"  {part}")
    signers = ", ".join(status.signed_by) or "nobody"
    counted = len(status.signed_by) if status.current and not status.irregular else 0
    click.echo(f"signatures: {counted} of {status.threshold} ({signers})")
    for problem in status.problems:
        click.echo(f"problem: {problem}")
    for warning in status.warnings:
        click.echo(f"warning: {warning}")
    if status.ok:
        click.echo("ok: the trust list can be published")
    else:
        how = f"xcert trust sign --key FILE --registry {registry}"
        click.echo(f"needs {status.needed} more reviewer signature(s): {how}")


@trust_group.command("init")
@click.option(
    "--out", required=True, type=click.Path(file_okay=False), help="Directory for the keys and root.json."
)
@click.option(
    "--threshold",
    default=2,
    show_default=True,
    type=click.IntRange(1, 99),
    help="Reviewer signatures needed.",
)
@click.option(
    "--reviewers", default=3, show_default=True, type=click.IntRange(1, 99), help="Reviewer keys to make."
)
@click.option(
    "--root-keys", default=3, show_default=True, type=click.IntRange(1, 99), help="Root keys to make."
)
@click.option(
    "--root-threshold",
    default=2,
    show_default=True,
    type=click.IntRange(1, 99),
    help="Root signatures needed.",
)
@click.option(
    "--test-only", is_flag=True, help="Mark the root TEST-ONLY (its private keys will be published)."
)
def trust_init(
    out: str, threshold: int, reviewers: int, root_keys: int, root_threshold: int, test_only: bool
) -> None:
    """The key ceremony: every role's keys (mode 0600, never overwritten) and root.json.

    Give each reviewer their key file and keep the root keys offline; copy root.json to
    registry/trust/root.json in a pull request.
    """
    from .tufrepo import TrustRepoError, init_ceremony

    try:
        made = init_ceremony(
            Path(out),
            root_keys=root_keys,
            root_threshold=root_threshold,
            reviewers=reviewers,
            threshold=threshold,
            test_only=test_only,
        )
    except (TrustRepoError, FileExistsError) as e:
        raise click.ClickException(str(e)) from None
    for path in made.key_paths:
        key = keymod.read_private_key(path)
        click.echo(f"{path}  {key.org}  fingerprint {keymod.fingerprint(key.public_key)}")
    click.echo(f"{made.root_path}  root version 1 (copy it to registry/trust/root.json)")


@trust_group.command("status")
@registry_option
def trust_status(registry: str) -> None:
    """Which trust content changed since the last signed targets, and who has signed."""
    from .tufrepo import TrustRepoError, sign_status

    try:
        status = sign_status(Path(registry), _registry_model(registry))
    except TrustRepoError as e:
        raise click.ClickException(str(e)) from None
    _print_status(status, registry)
    sys.exit(0 if status.ok else 1)


@trust_group.command("sign")
@key_file_option("Your reviewer key.")
@registry_option
def trust_sign(key_file: str, registry: str) -> None:
    """Sign the current trust content as a security reviewer (writes registry/trust/targets.json).

    Review `python build.py diff main` first: your signature says every key, revocation and
    status in it is right.
    """
    from .tufrepo import TrustRepoError, sign_targets

    try:
        status = sign_targets(Path(registry), _registry_model(registry), _key(key_file))
    except TrustRepoError as e:
        raise click.ClickException(str(e)) from None
    _print_status(status, registry)


@main.group("issuance")
def issuance_group() -> None:
    """Issuance records: an organization signs the records of the batches it issued.

    See docs/issuance-records.md: a record published before a key is retired or
    compromised (or its organization suspended) keeps its certificates VALID.
    """


@issuance_group.command("sign")
@key_file_option("One of the organization's signing keys listed in the registry (not a compromised one).")
@registry_option
def issuance_sign(key_file: str, registry: str) -> None:
    """Sign every record under registry/issuance/ORG/ (writes registry/trust/issuance-ORG.json).

    No reviewer signature is needed: the registry's trust content delegates issuance/ORG/
    to ORG's keys. A record's publication time is set by the registry when it is first
    published, never by this file.
    """
    from .tufrepo import TrustRepoError, sign_records

    key = _key(key_file)
    try:
        path, count = sign_records(Path(registry), _registry_model(registry), key)
    except TrustRepoError as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"signed {count} issuance record{'s' * (count != 1)} of {key.org}: {path}")


# --- service ----------------------------------------------------------------------------


@main.command()
@click.option(
    "--trust",
    default="site/keys.json",
    show_default=True,
    metavar="PATH|URL",
    help="Published trust list (keys.json) the service verifies against; its TUF metadata is "
    "read from tuf/ beside it.",
)
@root_option
@state_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8001, show_default=True, type=click.IntRange(1, 65535), help="Port.")
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 256),
    help="Worker processes (stateless; each reads the trust list).",
)
@click.option(
    "--limit-concurrency",
    default=1000,
    show_default=True,
    type=click.IntRange(1),
    help="Open connections per worker past which new requests get 503.",
)
@click.option(
    "--keep-alive", default=5, show_default=True, type=click.IntRange(1), help="Idle keep-alive seconds."
)
@click.option(
    "--header-timeout",
    default=10.0,
    show_default=True,
    type=click.FloatRange(0.1),
    help="Seconds for a request head to arrive; slower connections are closed.",
)
@click.option(
    "--body-timeout",
    default=10.0,
    show_default=True,
    type=click.FloatRange(0.1),
    help="Seconds for a request body to arrive (else 408).",
)
@click.option(
    "--poll-seconds",
    default=30.0,
    show_default=True,
    envvar="XCERT_POLL_SECONDS",
    type=click.FloatRange(0, 10**9),
    help="How often to look for a new trust list; 0: never (or $XCERT_POLL_SECONDS).",
)
@click.option(
    "--max-stale-seconds",
    default=86400.0,
    show_default=True,
    envvar="XCERT_MAX_STALE_SECONDS",
    type=click.FloatRange(0, 10**9, min_open=True),
    help="/readyz answers 503 once the trust list has not been confirmed current for this long "
    "(or $XCERT_MAX_STALE_SECONDS).",
)
def serve(
    trust: str,
    root: str,
    state_dir: str | None,
    host: str,
    port: int,
    workers: int,
    limit_concurrency: int,
    keep_alive: int,
    header_timeout: float,
    body_timeout: float,
    poll_seconds: float,
    max_stale_seconds: float,
) -> None:
    """Run the verify service (verify_api) over a published trust list."""
    try:
        from verify_api.serve import serve as run
    except ImportError as e:
        raise click.ClickException(f"the verify service is not available: {e}") from None
    run(
        trust,
        root,
        host,
        port,
        workers,
        state_dir=state_dir,
        poll_seconds=poll_seconds,
        max_stale_seconds=max_stale_seconds,
        limit_concurrency=limit_concurrency,
        keep_alive=keep_alive,
        header_timeout=header_timeout,
        body_timeout=body_timeout,
    )


if __name__ == "__main__":
    main()
