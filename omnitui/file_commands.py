"""`omnitui contacts` and `omnitui canned`: a shop's contacts and canned replies to and from files.

Both exit 0 when every row was taken, 2 when a row had a problem (each is
printed on stderr, naming the file) or the file cannot be read.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from omnitui.cli import EXIT_OK, EXIT_USAGE, UsageError

if TYPE_CHECKING:
    from omnitui.config import Settings


async def cmd_contacts(settings: Settings, action: str, file: Path) -> int:
    from omnitui import contacts_file

    region = next((s.default_region for s in settings.sms if s.default_region), None)
    store = await settings.open_store()
    try:
        if action == "export":
            text = contacts_file.write_csv(await store.all_contacts())
            if str(file) == "-":
                sys.stdout.write(text)
            else:
                file.write_text(text, encoding="utf-8", newline="")
                print(f"Wrote {text.count(chr(10)) - 1} contacts to {file}")
            return EXIT_OK
        try:
            source = file.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError("cannot read {file}: {reason}", file=file, reason=exc) from None
        if file.suffix.lower() in (".vcf", ".vcard"):
            parsed = contacts_file.read_vcards(source, region=region)
        else:
            parsed = contacts_file.read_csv(source, region=region)
        created, updated, problems = await store.import_contacts(parsed.records)
        for problem in [*parsed.problems, *problems]:
            print(f"omnitui: {file}: {problem}", file=sys.stderr)
        print(f"Imported {file}: {created} new contacts, {updated} updated")
        return EXIT_OK if not (parsed.problems or problems) else EXIT_USAGE
    finally:
        await store.close()


async def cmd_canned(settings: Settings, action: str, file: Path) -> int:
    from omnitui import canned_file

    store = await settings.open_store()
    try:
        if action == "export":
            text = canned_file.dump(await store.canned_replies())
            if str(file) == "-":
                sys.stdout.write(text)
            else:
                file.write_text(text, encoding="utf-8")
                print(f"Wrote {len(await store.canned_replies())} canned replies to {file}")
            return EXIT_OK
        try:
            source = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError("cannot read {file}: {reason}", file=file, reason=exc) from None
        result = canned_file.load(source)
        for problem in result.problems:
            print(f"omnitui: {file}: {problem}", file=sys.stderr)
        await store.add_canned_replies(result.replies)
        print(f"Imported {len(result.replies)} canned replies from {file}")
        return EXIT_OK if not result.problems else EXIT_USAGE
    finally:
        await store.close()
