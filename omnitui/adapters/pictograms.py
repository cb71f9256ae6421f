"""Japanese carrier pictograms (docomo, au/KDDI, SoftBank "emoji") in legacy mail.

Feature phones wrote pictograms into Shift_JIS and ISO-2022-JP mail as codes
that no standard codec knows:

- docomo: Shift_JIS F89F-F9FC.
- au (KDDI): Shift_JIS F340-F4FC and F640-F7FC; in mail, ISO-2022-JP rows
  0x75-0x7B, which the usual JIS -> Shift_JIS arithmetic turns into EB40-EEFC
  ("email Shift_JIS"). Leads EB, EC, ED, EE are au's F6, F7, F3, F4.
- SoftBank: Shift_JIS F741-F7FC, F941-F9FC and FB41-FBFC, and on the web its
  own escapes `ESC $ G` (and E, F, O, P, Q) ... `SI`.

The ranges overlap (F7xx is au's and SoftBank's, F9xx docomo's and SoftBank's)
and partly coincide with real characters (EDxx, EExx and FBxx are IBM kanji
extensions in cp932), so a code is read as a pictogram of the carrier the mail
came from, or of the only carrier that uses it.

`TABLE` is a hand-picked set of the common pictograms (faces, hearts, weather,
hands, marks), each row as Unicode's EmojiSources.txt (Unicode 6.0, the
carriers' round-trip mappings) gives it. A pictogram outside the table, or
whose carrier cannot be told, is shown as `MARKER` (〓, the geta mark: what
Japanese phones themselves showed for a character they could not display), so
the text around it is never lost.
"""

from __future__ import annotations

DOCOMO = "docomo"
AU = "au"
SOFTBANK = "softbank"

MARKER = "\u3013"  # 〓

# Unicode, then the docomo, KDDI and SoftBank Shift_JIS codes (0: that carrier has none).
_ROWS: tuple[tuple[str, int, int, int], ...] = (
    ("\u00a9", 0xF9D6, 0xF774, 0xF7EE),  # ©
    ("\u00ae", 0xF9DB, 0xF775, 0xF7EF),  # ®
    ("\u203c", 0xF9A9, 0xF3F1, 0),  # ‼
    ("\u2049", 0xF9A8, 0xF3F0, 0),  # ⁉
    ("\u2122", 0xF9D7, 0xF76A, 0xFBD7),  # ™
    ("\u231a", 0xF9C4, 0xF797, 0),  # ⌚
    ("\u23f0", 0xF95E, 0xF7B1, 0),  # ⏰
    ("\u2600", 0xF89F, 0xF660, 0xF98B),  # ☀
    ("\u2601", 0xF8A0, 0xF665, 0xF98A),  # ☁
    ("\u260e", 0xF8E8, 0xF7B3, 0xF949),  # ☎
    ("\u2614", 0xF8A1, 0xF664, 0xF98C),  # ☔
    ("\u2615", 0xF8D1, 0xF7B4, 0xF986),  # ☕
    ("\u263a", 0, 0xF6D4, 0xFB54),  # ☺
    ("\u2660", 0xF8EF, 0xF7BE, 0xF7AE),  # ♠
    ("\u2663", 0xF8F1, 0xF7C0, 0xF7AF),  # ♣
    ("\u2665", 0xF8EE, 0xF378, 0xF7AC),  # ♥
    ("\u2666", 0xF8F0, 0xF7BF, 0xF7AD),  # ♦
    ("\u2668", 0xF99C, 0xF695, 0xF763),  # ♨
    ("\u26a0", 0xF9DC, 0xF659, 0xF7F2),  # ⚠
    ("\u26a1", 0xF8A3, 0xF65F, 0xF77D),  # ⚡
    ("\u26bd", 0xF8B7, 0xF68F, 0xF958),  # ⚽
    ("\u26c4", 0xF8A2, 0xF65D, 0xF989),  # ⛄
    ("\u2708", 0xF8C3, 0xF68C, 0xF95D),  # ✈
    ("\u2709", 0xF977, 0xF6FA, 0),  # ✉
    ("\u270a", 0xF8F4, 0xF488, 0xF950),  # ✊
    ("\u270b", 0xF8F6, 0xF7C4, 0xF952),  # ✋
    ("\u270c", 0xF8F5, 0xF7C3, 0xF951),  # ✌
    ("\u2728", 0xF99F, 0xF37E, 0xF9CE),  # ✨
    ("\u274c", 0, 0xF76C, 0xF9D3),  # ❌
    ("\u2753", 0, 0xF65B, 0xF960),  # ❓
    ("\u2757", 0xF9A7, 0xF65A, 0xF961),  # ❗
    ("\u2764", 0xF991, 0xF7B2, 0xF962),  # ❤
    ("\u27a1", 0, 0xF76E, 0xF7D4),  # ➡
    ("\u2b50", 0, 0xF663, 0xF9CF),  # ⭐
    ("\u2b55", 0, 0xF381, 0xF9D2),  # ⭕
    ("\U0001f195", 0xF982, 0xF7E5, 0xF7B2),  # 🆕
    ("\U0001f197", 0xF9B0, 0xF7CA, 0xF7ED),  # 🆗
    ("\U0001f300", 0xF8A4, 0xF641, 0xFB84),  # 🌀
    ("\U0001f308", 0, 0xF3C6, 0xFB8D),  # 🌈
    ("\U0001f319", 0xF943, 0xF65E, 0xF98D),  # 🌙
    ("\U0001f31f", 0, 0, 0xF9D5),  # 🌟
    ("\U0001f337", 0xF9E8, 0xF6BD, 0xF9A4),  # 🌷
    ("\U0001f338", 0xF9ED, 0xF6A3, 0xF970),  # 🌸
    ("\U0001f339", 0, 0xF7EA, 0xF972),  # 🌹
    ("\U0001f340", 0xF9E6, 0xF6EC, 0xF750),  # 🍀
    ("\U0001f341", 0xF9EC, 0xF6A7, 0xF758),  # 🍁
    ("\U0001f354", 0xF8D4, 0xF6AF, 0xF760),  # 🍔
    ("\U0001f359", 0xF9EE, 0xF6AE, 0xF9E2),  # 🍙
    ("\U0001f370", 0xF9EF, 0xF6A9, 0xF987),  # 🍰
    ("\U0001f374", 0xF8D0, 0xF685, 0xF984),  # 🍴
    ("\U0001f37a", 0xF8D3, 0xF69C, 0xF988),  # 🍺
    ("\U0001f380", 0xF8E5, 0xF7BC, 0xF9B4),  # 🎀
    ("\U0001f381", 0xF8E6, 0xF6A8, 0xF752),  # 🎁
    ("\U0001f382", 0xF8E7, 0xF7BD, 0xF9EB),  # 🎂
    ("\U0001f384", 0xF948, 0xF6A2, 0xF973),  # 🎄
    ("\U0001f389", 0, 0xF36F, 0xF9B2),  # 🎉
    ("\U0001f3b5", 0xF99B, 0xF7EE, 0xF97E),  # 🎵
    ("\U0001f3b6", 0xF9A4, 0xF6DE, 0xF9C6),  # 🎶
    ("\U0001f3e0", 0xF8C4, 0xF684, 0xF976),  # 🏠
    ("\U0001f431", 0xF946, 0xF6B4, 0xF990),  # 🐱
    ("\U0001f436", 0xF945, 0xF6BA, 0xF993),  # 🐶
    ("\U0001f437", 0xF9FA, 0xF6B7, 0xF74B),  # 🐷
    ("\U0001f440", 0xF8F2, 0xF7C1, 0xFB59),  # 👀
    ("\U0001f44a", 0xF9A2, 0xF6CC, 0xF94D),  # 👊
    ("\U0001f44c", 0, 0xF3A8, 0xFB60),  # 👌
    ("\U0001f44d", 0xF9CC, 0xF6D2, 0xF94E),  # 👍
    ("\U0001f44f", 0, 0xF3A7, 0xFB5F),  # 👏
    ("\U0001f48b", 0xF99E, 0xF6C4, 0xF943),  # 💋
    ("\U0001f493", 0xF992, 0xF479, 0xF9C7),  # 💓
    ("\U0001f494", 0xF993, 0xF64F, 0xF963),  # 💔
    ("\U0001f495", 0xF994, 0xF650, 0),  # 💕
    ("\U0001f496", 0, 0xF379, 0),  # 💖
    ("\U0001f497", 0, 0, 0xF9C8),  # 💗
    ("\U0001f498", 0, 0xF6C3, 0xF9C9),  # 💘
    ("\U0001f4a1", 0xF9A0, 0xF64E, 0xF74F),  # 💡
    ("\U0001f4a2", 0xF9A1, 0xF6BE, 0xF9D4),  # 💢
    ("\U0001f4a4", 0xF9A6, 0xF64D, 0xF77C),  # 💤
    ("\U0001f4a6", 0xF9AB, 0xF7CE, 0xF9D1),  # 💦
    ("\U0001f4a7", 0xF9AC, 0xF6BF, 0),  # 💧
    ("\U0001f4a8", 0xF9AD, 0xF6CD, 0xF9D0),  # 💨
    ("\U0001f4b0", 0xF9BA, 0xF6A0, 0xF76F),  # 💰
    ("\U0001f4e9", 0xF973, 0xF466, 0xF743),  # 📩
    ("\U0001f4f1", 0xF8E9, 0xF7A5, 0xF94A),  # 📱
    ("\U0001f4f7", 0xF8E2, 0xF6EE, 0xF948),  # 📷
    ("\U0001f525", 0, 0xF653, 0xF75D),  # 🔥
    ("\U0001f601", 0xF9F8, 0xF485, 0xFB44),  # 😁
    ("\U0001f602", 0, 0xF468, 0xFB52),  # 😂
    ("\U0001f603", 0xF995, 0xF649, 0xF998),  # 😃
    ("\U0001f609", 0xF9CE, 0xF7F3, 0xFB45),  # 😉
    ("\U0001f60a", 0, 0xF3A1, 0xF997),  # 😊
    ("\U0001f60b", 0xF9F7, 0, 0),  # 😋
    ("\U0001f60c", 0xF9C6, 0xF399, 0xFB4A),  # 😌
    ("\U0001f60d", 0xF9CB, 0xF7F4, 0xF746),  # 😍
    ("\U0001f60f", 0xF9D1, 0xF393, 0xFB42),  # 😏
    ("\U0001f612", 0xF9CA, 0xF39D, 0xFB4E),  # 😒
    ("\U0001f613", 0xF9C8, 0xF7F6, 0xF748),  # 😓
    ("\U0001f614", 0xF9C5, 0xF394, 0xFB43),  # 😔
    ("\U0001f616", 0xF998, 0xF397, 0xFB47),  # 😖
    ("\U0001f618", 0, 0xF3A3, 0xFB58),  # 😘
    ("\U0001f61c", 0xF9CD, 0xF6C0, 0xF745),  # 😜
    ("\U0001f61e", 0xF997, 0, 0xF999),  # 😞
    ("\U0001f620", 0xF996, 0xF64A, 0xF99A),  # 😠
    ("\U0001f621", 0xF9C9, 0xF461, 0xFB56),  # 😡
    ("\U0001f622", 0xF9D3, 0xF46D, 0xFB53),  # 😢
    ("\U0001f623", 0xF9D0, 0xF396, 0xFB46),  # 😣
    ("\U0001f62d", 0xF9D2, 0xF64B, 0xFB51),  # 😭
    ("\U0001f631", 0xF9FC, 0xF7F5, 0xF747),  # 😱
    ("\U0001f632", 0, 0xF39E, 0xFB50),  # 😲
    ("\U0001f637", 0, 0xF39B, 0xFB4C),  # 😷
    ("\U0001f64f", 0, 0xF3A6, 0xFB5D),  # 🙏
    ("\U0001f697", 0xF8BF, 0xF68A, 0xF95B),  # 🚗
)


def _by_carrier() -> dict[str, dict[int, str]]:
    table: dict[str, dict[int, str]] = {DOCOMO: {}, AU: {}, SOFTBANK: {}}
    for emoji, *codes in _ROWS:
        for carrier, code in zip((DOCOMO, AU, SOFTBANK), codes, strict=True):
            if code:
                table[carrier][code] = emoji
    return table


TABLE = _by_carrier()  # carrier -> Shift_JIS code -> emoji

# au's mail Shift_JIS leads (ISO-2022-JP rows 0x75-0x7C) -> its own Shift_JIS leads.
AU_MAIL_LEAD = {0xEB: 0xF6, 0xEC: 0xF7, 0xED: 0xF3, 0xEE: 0xF4}
# SoftBank web escapes: ESC $ <group> c... SI; each group is a run of Shift_JIS codes.
SOFTBANK_ESCAPE_BASE = {
    "G": 0xF941,
    "E": 0xF741,
    "F": 0xF7A1,
    "O": 0xF9A1,
    "P": 0xFB41,
    "Q": 0xFBA1,
}

# Sender domains whose mail comes from a carrier's phones (suffix match).
CARRIER_DOMAINS = {
    "docomo.ne.jp": DOCOMO,
    "ezweb.ne.jp": AU,
    "au.com": AU,
    "softbank.ne.jp": SOFTBANK,
    "vodafone.ne.jp": SOFTBANK,
    "disney.ne.jp": SOFTBANK,
}


def carrier_of(address: str) -> str | None:
    """The carrier whose phones send mail from `address`, if its domain says so."""
    domain = address.rpartition("@")[2].strip().lower().rstrip(".>")
    for suffix, carrier in CARRIER_DOMAINS.items():
        if domain == suffix or domain.endswith("." + suffix):
            return carrier
    return None


def owners(code: int, carrier: str | None) -> str | None:
    """Whose pictogram the Shift_JIS `code` is (au's mail leads already mapped): the
    mail's `carrier` if it uses the code, else the one carrier that does; "" for a
    code no carrier can be told for (or a company's own character in the user-defined
    area F040-F9FC); None for a real character (an IBM kanji), not a pictogram."""
    lead, trail = code >> 8, code & 0xFF
    if not (0x40 <= trail <= 0xFC) or trail == 0x7F:
        return None
    if 0xFB41 <= code <= 0xFBFC:  # IBM kanji in cp932 unless the mail is SoftBank's
        return SOFTBANK if carrier == SOFTBANK else None
    if not 0xF0 <= lead <= 0xF9:
        return None
    users: list[str] = []
    if 0xF89F <= code <= 0xF9FC:
        users.append(DOCOMO)
    if lead in (0xF3, 0xF4, 0xF6, 0xF7):
        users.append(AU)
    if lead in (0xF7, 0xF9) and trail >= 0x41:
        users.append(SOFTBANK)
    if carrier in users:
        return carrier
    return users[0] if len(users) == 1 else ""  # "": a pictogram, carrier unknown


def pictogram(code: int, carrier: str | None) -> str | None:
    """The text for Shift_JIS `code` as a pictogram: its emoji, `MARKER` when the
    table has none or the carrier is unknown, None when it is not a pictogram."""
    owner = owners(code, carrier)
    if owner is None:
        return None
    return TABLE[owner].get(code, MARKER) if owner else MARKER
