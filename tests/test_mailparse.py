"""Raw mail to what the console shows, on 72 real messages from public test suites.

The fixtures live in ../shared/fixtures/email beside the repository (kept
byte-exact, never copied in here); without them these tests skip, under CI=true
they fail.
"""

from __future__ import annotations

import base64
import os
import random
from pathlib import Path

import pytest

from omnitui.adapters import mailparse, pictograms
from omnitui.adapters.email import to_inbound
from omnitui.adapters.mailparse import (
    FORWARD_LINE,
    ParsedMail,
    content_hash,
    fold_reply,
    parse_mail,
)
from omnitui.domain.models import Channel, ChannelKind

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "email"
ALL_EML = sorted(p.relative_to(FIXTURES).as_posix() for p in FIXTURES.glob("*/*.eml"))
# Mail that really has neither a subject nor a body nor a file.
EMPTY_MAILS = {"jpmobile/softbank-blank.eml"}


def fixtures() -> Path:
    """The shared fixture folder; skip when it is absent, fail when CI=true."""
    if not FIXTURES.is_dir():
        reason = f"email fixtures not found at {FIXTURES}: they live in ../shared beside the repo"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return FIXTURES


def raw(name: str) -> bytes:
    return (fixtures() / name).read_bytes()


def mail(name: str) -> ParsedMail:
    # One file at a time: several fixtures share a Message-ID.
    return parse_mail(raw(name))


def jis(text: str) -> bytes:
    """ISO-2022-JP as Windows (CP50220) writes it, NEC symbols included: cp932 -> JIS."""
    out = bytearray(b"\x1b$B")
    data = text.encode("cp932")
    for i in range(0, len(data), 2):
        s1, s2 = data[i], data[i + 1]
        row = (s1 - 0x81 if s1 < 0xE0 else s1 - 0xC1) * 2 + 0x21
        if s2 >= 0x9F:
            out += bytes((row + 1, s2 - 0x7E))
        else:
            out += bytes((row, s2 - 0x1F - (s2 >= 0x80)))
    return bytes(out + b"\x1b(B")


def b64_word(data: bytes, charset: str) -> bytes:
    return b"=?" + charset.encode() + b"?B?" + base64.b64encode(data) + b"?="


def assert_displayable(parsed: ParsedMail) -> None:
    for value in (parsed.subject, parsed.from_name, parsed.text, parsed.reply):
        assert "\x1b$B" not in value and "\x1b(B" not in value
        value.encode("utf-8")  # no lone surrogates: the store must be able to keep it
    assert "\n" not in parsed.subject and "\t" not in parsed.subject
    assert "\n" not in parsed.from_name
    assert parsed.from_address == parsed.from_address.lower()


# --- every fixture --------------------------------------------------------------------


def test_the_shared_email_fixtures_are_all_there() -> None:
    assert len(list(fixtures().glob("*/*.eml"))) == 72


@pytest.mark.parametrize("name", ALL_EML)
def test_every_real_mail_parses_and_shows_its_subject_or_text(name: str) -> None:
    data = raw(name)
    parsed = parse_mail(data)
    assert_displayable(parsed)
    header_block = data.split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0]
    has_subject = any(
        line.lower().startswith(b"subject:") and line[8:].strip()
        for line in header_block.splitlines()
    )
    if has_subject:
        assert parsed.subject
    if name not in EMPTY_MAILS:
        assert parsed.subject or parsed.text or parsed.attachments


# --- Japanese mail --------------------------------------------------------------------


def test_an_au_mail_with_nec_symbols_shows_circled_digits_and_era_names() -> None:
    parsed = mail("jpmobile/au-kigou.eml")
    assert parsed.text.startswith("\u3000、。，．・：？！")
    for symbol in ("①", "⑳", "Ⅰ", "Ⅹ", "㍉", "㈱", "㈲", "㍻", "№", "℡", "∮", "∟", "⊿"):
        assert symbol in parsed.text
    assert "ΑΒΓ" in parsed.text and "АБВ" in parsed.text and "┌┐" in parsed.text
    assert "\ufffd" not in parsed.text
    assert parsed.problems == ()


def test_a_docomo_iso_2022_jp_mail_shows_its_japanese_subject_and_body() -> None:
    parsed = mail("jpmobile/docomo-jis.eml")
    assert parsed.subject == "テスト"
    assert parsed.text == "テスト本文"
    assert parsed.from_address == "jpmobile.anonymous@docomo.ne.jp"


def test_a_long_iso_2022_jp_subject_split_over_encoded_words_reads_as_one() -> None:
    parsed = mail("jpmobile/pc-mail-single.eml")
    assert parsed.subject == (
        "タイトルの長いメールの場合の対処を実装するためのテストケースとしての"
        "メールに含まれている件名であるサブジェクト部分"
    )
    assert parsed.text == "本文です"
    assert parsed.from_name == "Shin-ichiro OGAWA"


def test_iso_2022_jp_subjects_plain_folded_doubled_and_missing() -> None:
    assert mail("milter-manager-test-mails/subject__base64-iso-2022-jp.eml").subject == "テスト"
    folded = mail("milter-manager-test-mails/subject__folded-base64-iso-2022-jp.eml")
    assert folded.subject == "テストテスト"
    assert mail("milter-manager-test-mails/subject__2-subjects.eml").subject == "test1"
    missing = mail("milter-manager-test-mails/subject__no-subject.eml")
    assert missing.subject == "" and missing.text == "test"


def test_a_shift_jis_decomail_shows_subject_text_html_and_its_pictures() -> None:
    parsed = mail("milter-manager-test-mails/decomail__emobile-shift_jis.eml")
    assert parsed.subject == "デコメ送信テスト"
    assert parsed.text == "デコメール送信テスト"
    assert parsed.html is not None and "デコメール送信テスト" in parsed.html
    assert [(a.filename, a.content_type, a.size) for a in parsed.attachments] == [
        ("face-angel.GIF", "image/gif", 1413),
        ("face-crying.GIF", "image/gif", 1608),
    ]


def test_an_au_iso_2022_jp_decomail_shows_its_text_and_three_inline_pictures() -> None:
    parsed = mail("milter-manager-test-mails/decomail__au-iso-2022-jp.eml")
    assert parsed.subject == "でこめ"
    assert parsed.text == "パンダ パンダ"
    assert parsed.html is not None and "パンダ" in parsed.html
    assert [a.filename for a in parsed.attachments] == [
        "face-angel.gif",
        "face-crying.gif",
        "face-devilish.gif",
    ]


def test_a_docomo_decomail_shows_its_text_and_its_picture() -> None:
    parsed = mail("jpmobile/docomo-decomail.eml")
    assert (parsed.subject, parsed.text) == ("テスト", "テストです")
    assert [(a.filename, a.content_type) for a in parsed.attachments] == [
        ("ao_hatena.gif", "image/gif")
    ]


def test_utf8_japanese_mail_shows_subject_and_folds_its_signature() -> None:
    parsed = mail("mikel-mail/multi_charset__japanese.eml")
    assert parsed.subject == "まみむめも"
    assert parsed.text.startswith("かきくえこ\n\n-- \nhttp://lindsaar.net/")
    assert parsed.reply == "かきくえこ"


def test_an_iso_2022_jp_body_under_a_utf8_subject_reads_as_japanese() -> None:
    parsed = mail("mikel-mail/multi_charset__japanese_iso_2022.eml")
    assert (parsed.subject, parsed.text) == ("まみむめも", "すみません。")


def test_an_iphone_mail_keeps_its_emoji() -> None:
    parsed = mail("jpmobile/iphone-unicode-emoji.eml")
    assert (parsed.subject, parsed.text) == ("絵文字🎅", "🎄❣")


def test_reply_to_wins_over_from_and_the_name_comes_from_from() -> None:
    parsed = mail("sisimai-set-of-emails/not__is-not-bounce-01.eml")
    assert parsed.subject == "にゃんこ"
    assert parsed.from_address == "mikeneko@example.org"
    assert parsed.from_name == "Kijitora"
    assert parsed.text.startswith("にゃーー")


def test_a_japanese_carrier_bounce_shows_its_japanese_explanation() -> None:
    parsed = mail("sisimai-set-of-emails/bsd__lhost-ezweb-07.eml")
    assert "次のあて先へのメッセージはエラーのため送信できませんでした。" in parsed.text
    assert ">>> RCPT TO:<this-local-part-does-not-exist@ezweb.ne.jp>" in parsed.reply


def test_a_mail_without_subject_still_shows_its_body_and_picture() -> None:
    parsed = mail("jpmobile/pc-mail-attached-without-subject.eml")
    assert (parsed.subject, parsed.text) == ("", "本文です")
    assert [(a.filename, a.content_type, a.size) for a in parsed.attachments] == [
        ("Transparent.gif", "image/gif", 42)
    ]


def test_a_forwarded_japanese_mail_is_shown_below_a_forwarded_line() -> None:
    parsed = mail("jpmobile/pc-mail-multi.eml")
    assert parsed.text.startswith("本文です\n\n" + FORWARD_LINE + "\n")
    assert "Subject: タイトルの長いメールの場合の対処" in parsed.text
    assert parsed.reply == "本文です"


# --- attachment names -----------------------------------------------------------------


def test_an_rfc2047_japanese_attachment_name_is_decoded() -> None:
    parsed = mail("mikel-mail/multi_charset__japanese_attachment.eml")
    assert [(a.filename, a.content_type, a.size) for a in parsed.attachments] == [
        ("てすと.txt", "text/plain", 33)
    ]


def test_a_long_rfc2231_japanese_attachment_name_is_joined_and_decoded() -> None:
    parsed = mail("mikel-mail/multi_charset__japanese_attachment_long_name.eml")
    assert parsed.subject == "まみむめも" * 10
    assert [a.filename for a in parsed.attachments] == ["かきくけこ" * 5 + ".txt"]


def test_an_rfc2231_iso_2022_jp_attachment_name_without_language_is_decoded() -> None:
    parsed = mail(
        "milter-manager-test-mails/filename__content-disposition-encoded-filename-without-lang.eml"
    )
    assert parsed.subject == "アイテム価格ファイル"
    assert parsed.text.startswith("アイテムの買値と売値を書いたファイルを送ります。")
    assert parsed.reply == "アイテムの買値と売値を書いたファイルを送ります。"
    (csv,) = parsed.attachments
    assert (csv.filename, csv.content_type, csv.size) == ("アイテム.csv", "text/csv", 368)
    assert csv.data is not None and "ID,名前,買値,売値" in csv.data.decode("utf-8")


def test_a_yahoo_name_cut_mid_character_keeps_the_readable_part() -> None:
    (picture,) = mail("flanker/russian-attachment-yahoo.eml").attachments
    assert picture.filename.startswith("Картинка с очень, очень длинным")
    assert (picture.content_type, picture.size) == ("image/png", 178213)


# --- attachments, html, forwards ------------------------------------------------------


def test_attachments_are_listed_with_name_type_size_and_data() -> None:
    (gif,) = mail("cpython/msg_07.eml").attachments
    assert (gif.filename, gif.content_type, gif.size) == ("dingusfish.gif", "image/gif", 3512)
    assert gif.data is not None and gif.data.startswith(b"GIF8") and gif.note == ""
    (png,) = mail("flanker/mailgun-pic.eml").attachments
    assert (png.filename, png.size) == ("mailgun.png", 60168)
    big = mail("spamscope-mail-parser/mail_test_2.eml").attachments
    assert [(a.filename, a.size) for a in big] == [
        ("intestazione.jpg", 9918),
        ("logometeo.jpg", 7321),
        ("Bollettino.pdf", 1089942),
    ]
    assert big[2].data is not None and big[2].data.startswith(b"%PDF")


def test_an_attachment_over_the_size_cap_is_listed_without_its_data(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(mailparse, "MAX_ATTACHMENT_BYTES", 1024 * 1024)
    pdf = mail("spamscope-mail-parser/mail_test_2.eml").attachments[2]
    assert (pdf.filename, pdf.data, pdf.size) == ("Bollettino.pdf", None, 1089942)
    assert "not kept" in pdf.note


def test_an_attachment_only_mail_has_no_text_but_its_file() -> None:
    parsed = mail("enmime/mail__attachment-only-inline.eml")
    assert parsed.text == ""
    assert [(a.filename, a.content_type) for a in parsed.attachments] == [
        ("favicon.jpg", "image/jpeg")
    ]


def test_a_uuencoded_attachment_is_listed() -> None:
    parsed = mail("mikel-mail/error_emails__content_transfer_encoding_x_uuencode.eml")
    assert [a.filename for a in parsed.attachments] == ["PGP_Cmts_on_12-14-01_Pkg.doc"]
    body = b"Subject: uu\n\nSee the file.\nbegin 644 hello.txt\n%:&5L;&\\*\n`\nend\nBye.\n"
    parsed = parse_mail(body)
    assert parsed.text == "See the file.\n\nBye."
    (file,) = parsed.attachments
    assert (file.filename, file.data) == ("hello.txt", b"hello")


def test_html_only_mail_gives_readable_text() -> None:
    parsed = mail("enmime/mail__non-mime-html.eml")
    assert parsed.text == "This is a test mailing"
    assert parsed.html is not None and "<" in parsed.html
    newsletter = mail("spamscope-mail-parser/mail_test_13.eml")
    assert "Upcoming Webinar" in newsletter.text and "<td" not in newsletter.text


def test_forwarded_messages_are_shown_inline_with_their_headers() -> None:
    parsed = mail("stalwart-mail-parser/rfc__002.eml")
    assert FORWARD_LINE + "\nFrom: Bill Clinton <president@whitehouse.gov>" in parsed.text
    assert parsed.reply == "Fred,\n\nFire up Air Force One!  We're going South!"
    assert [a.filename for a in parsed.attachments] == ["map_of_Argentina.gif"]
    encoded = mail("stalwart-mail-parser/rfc__008.eml")  # message/rfc822 sent as base64
    assert "Subject: HTML test" in encoded.text and "This is an *HTML* test message" in encoded.text
    groupwise = mail("cpython/msg_46.eml")  # the whole message is message/rfc822
    assert groupwise.text.endswith("Testing email forwarding with Groupwise 1.2.2010")


# --- quoted replies -------------------------------------------------------------------


@pytest.mark.parametrize("client", ["gmail", "outlook", "iphone", "thunderbird", "yahoo"])
def test_a_reply_from_each_client_folds_the_quote_away(client: str) -> None:
    parsed = mail(f"talon/{client}.eml")
    assert parsed.reply == "Hello"
    assert len(parsed.text) > len(parsed.reply)


def test_a_japanese_gmail_quote_header_is_folded() -> None:
    body = (fixtures() / "mail-parser-reply" / "email_ja_1_2.txt").read_text("utf-8")
    expected = (
        "田中様\n\nお世話になっております。織田です。\n\nそれでは 11:00 にお待ちしております。"
    )
    assert fold_reply(body).startswith(expected)
    assert fold_reply(body).endswith("以上、よろしくお願いいたします")
    message = (
        b"From: =?UTF-8?B?57mU55Sw?= <oda@example.jp>\r\nSubject: =?UTF-8?B?UmU6IOaXpeeoiw==?=\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    ) + body.encode("utf-8")
    parsed = parse_mail(message)
    assert (parsed.subject, parsed.from_name) == ("Re: 日程", "織田")
    assert "2022年1月1日(金) 9:00 田中太郎" in parsed.text
    assert parsed.reply.startswith(expected) and "かしこまりました" not in parsed.reply


def test_a_reply_keeps_its_full_width_indent_and_text_without_a_quote_is_unchanged() -> None:
    body = "\u3000いつもありがとうございます。\n\u3000発送をお願いします。\n\nOn Mon, Jan 1, 2024 at 9:00 AM Shop <s@x.jp> wrote:\n> 前回"
    assert fold_reply(body) == "\u3000いつもありがとうございます。\n\u3000発送をお願いします。"
    plain = "  ご注文ありがとうございます。\n- 商品A\n- 商品B"
    assert fold_reply(plain) == plain


def test_an_answer_written_below_the_quote_is_kept() -> None:
    body = (fixtures() / "github-email_reply_parser" / "email_1_2.txt").read_text("utf-8")
    reply = fold_reply(body)
    assert reply.startswith("Hi,")
    assert "You can list the keys for the bucket" in reply
    assert "> What is the best way" not in reply


# --- malformed mail -------------------------------------------------------------------


def test_a_multipart_without_boundary_is_recovered_with_a_problem_marker() -> None:
    parsed = mail("cpython/msg_25.eml")
    assert parsed.text.startswith("The original message was received at Fri, 6 Apr 2001")
    assert any("boundary" in p for p in parsed.problems)


def test_an_unknown_charset_label_is_shown_and_named_in_problems() -> None:
    parsed = mail("enmime/low-quality__unk-charset-part.eml")
    assert parsed.text == "A text section"
    assert any("fakescii" in p for p in parsed.problems)
    odd = mail("enmime/mail__html-mime-bad-charset-inline.eml")  # charset="charset=us-ascii"
    assert odd.text == "Test of text section"


def test_broken_base64_gives_a_note_instead_of_a_crash() -> None:
    parsed = mail("enmime/low-quality__malformed-base64-attach.eml")
    (doc,) = parsed.attachments
    assert doc.filename == "some.doc" and "damaged" in doc.note
    assert any("some.doc" in p for p in parsed.problems)


@pytest.mark.parametrize(
    "name",
    [
        "flanker/missing-final-boundary.eml",
        "enmime/low-quality__bad-final-boundary.eml",
        "cpython/msg_35.eml",
    ],
)
def test_broken_structure_is_named_in_problems_and_the_text_survives(name: str) -> None:
    parsed = mail(name)
    assert parsed.problems
    assert parsed.text


def test_headers_after_a_leading_space_or_with_raw_utf8_are_read() -> None:
    parsed = mail("enmime/low-quality__bad-header-start.eml")
    assert (parsed.from_address, parsed.subject) == ("james@makita.skynet", "plain text")
    raw_utf8 = mail("mikel-mail/rfc6532__utf8_headers.eml")
    assert (raw_utf8.subject, raw_utf8.from_name) == ("Säying Hello", "Jöhn Doe")
    assert raw_utf8.from_address == "jdöe@mächine.example"


def test_a_mail_with_a_byte_order_mark_keeps_its_headers() -> None:
    parsed = parse_mail(b"\xef\xbb\xbf" + raw("jpmobile/docomo-jis.eml"))
    assert parsed.subject == "テスト"
    assert parsed.from_address == "jpmobile.anonymous@docomo.ne.jp"
    assert parsed.text == "テスト本文"


def test_a_missing_content_type_is_read_as_plain_text() -> None:
    assert mail("enmime/low-quality__missing-content-type.eml").text == "A plain text email"
    assert mail("flanker/no-ctype.eml").text.startswith("Hello,\nI'm just testing")


# --- decoding traps, built by hand ----------------------------------------------------


def test_an_iso_2022_jp_mail_with_circled_digits_shows_its_japanese_subject() -> None:
    data = jis("①ご注文㈱髙島屋㍻")
    message = b"Subject: " + b64_word(data, "ISO-2022-JP") + b"\r\n"
    message += b"Content-Type: text/plain; charset=ISO-2022-JP\r\n\r\n" + data + b"\r\n"
    parsed = parse_mail(message)
    assert parsed.subject == "①ご注文㈱髙島屋㍻"
    assert parsed.text == "①ご注文㈱髙島屋㍻"
    assert parsed.problems == ()


def test_half_width_kana_in_iso_2022_jp_is_decoded() -> None:
    word = b64_word(b"\x1b(I6E\x1b(B", "iso-2022-jp")
    assert parse_mail(b"Subject: " + word + b"\r\n\r\nx").subject == "ｶﾅ"


def test_a_character_split_across_two_folded_encoded_words_survives() -> None:
    data = "ご注文の件".encode()
    message = b"Subject: " + b64_word(data[:5], "UTF-8") + b"\r\n\t" + b64_word(data[5:], "UTF-8")
    assert parse_mail(message + b"\r\n\r\nx").subject == "ご注文の件"
    tabbed = b"Subject: Re:\r\n\t" + b64_word("お問い合わせ".encode(), "utf-8") + b"\r\n\r\nx"
    assert parse_mail(tabbed).subject == "Re: お問い合わせ"


@pytest.mark.parametrize("codec", ["cp932", "euc_jp", "utf-8"])
def test_raw_8bit_japanese_headers_and_body_are_decoded(codec: str) -> None:
    message = "Subject: 納品書の件\r\nFrom: 田中 <Tanaka@Example.JP>\r\n\r\nお世話になります"
    parsed = parse_mail(message.encode(codec))
    assert (parsed.subject, parsed.from_name) == ("納品書の件", "田中")
    assert (parsed.from_address, parsed.text) == ("tanaka@example.jp", "お世話になります")


def test_a_raw_iso_2022_jp_header_never_reaches_the_screen_as_escapes() -> None:
    message = b"Subject: " + jis("見積") + b"\r\nFrom: " + jis("山田") + b" <y@x.jp>\r\n\r\n"
    message += jis("本文")  # and a body with no Content-Type at all
    parsed = parse_mail(message)
    assert (parsed.subject, parsed.from_name, parsed.text) == ("見積", "山田", "本文")


@pytest.mark.parametrize(
    ("label", "body", "marker"),
    [
        ("iso-2022-jp", "ご確認ください".encode("euc_jp"), "EUC-JP"),
        ("iso-2022-jp", "ご確認ください".encode(), None),
        ("us-ascii", "ご確認ください".encode(), None),
        ("us-ascii", jis("ご確認ください"), None),
        ("utf-8", "ご確認ください".encode("cp932"), "Shift_JIS"),
        ("Shift_JIS", "ご確認ください～①".encode("cp932"), None),
        ("x-unknown", "ご確認ください".encode(), "x-unknown"),
    ],
)
def test_a_mislabelled_or_unknown_charset_still_shows_japanese(
    label: str, body: bytes, marker: str | None
) -> None:
    message = f"Content-Type: text/plain; charset={label}\r\n\r\n".encode() + body
    parsed = parse_mail(message)
    assert parsed.text.startswith("ご確認ください")
    if marker is None:
        assert parsed.problems == ()
    else:
        assert any(marker in p for p in parsed.problems)


def test_an_unknown_label_on_latin_text_falls_back_to_cp1252_and_says_so() -> None:
    parsed = parse_mail(b"Content-Type: text/plain; charset=X-UNKNOWN\r\n\r\ncaf\xe9")
    assert parsed.text == "café"
    assert parsed.problems == ("body charset X-UNKNOWN not known: shown as cp1252",)


def test_a_display_name_that_decodes_to_a_line_break_stays_on_one_line() -> None:
    message = b"From: =?utf-8?Q?Aiko=0D=0ATanaka?= <Aiko@Example.com>\r\nSubject: x\r\n\r\nx"
    parsed = parse_mail(message)
    assert (parsed.from_name, parsed.from_address) == ("Aiko Tanaka", "aiko@example.com")


def test_threading_headers_are_read() -> None:
    first = mail("mikel-mail/rfc2822__example01.eml")
    second = mail("mikel-mail/rfc2822__example06.eml")
    third = mail("mikel-mail/rfc2822__example07.eml")
    assert first.message_id == "<1234@local.machine.example>"
    assert first.date == 880127706.0  # Fri, 21 Nov 1997 09:55:06 -0600
    assert second.in_reply_to == first.message_id
    assert second.references == ("<1234@local.machine.example>",)
    assert second.from_address == "smith@home.example"  # its Reply-To
    assert third.in_reply_to == second.message_id
    assert third.references == ("<1234@local.machine.example>", "<3456@example.net>")


def test_a_missing_or_unreadable_date_is_none() -> None:
    assert parse_mail(b"Date: yesterday\r\n\r\nx").date is None
    assert parse_mail(b"Subject: x\r\n\r\nx").date is None
    # Without a zone the date is read as UTC, not as this machine's zone.
    assert parse_mail(b"Date: Thu, 1 Jan 1970 00:01:00\r\n\r\nx").date == 60.0


# --- raw 8-bit headers: one charset decision per message -------------------------------


def test_a_raw_latin1_subject_and_name_read_as_latin_beside_a_latin1_body() -> None:
    message = (
        "Subject: Formação de preços\r\nFrom: João Gonçalves <Joao@Example.pt>\r\n"
        "Content-Type: text/plain; charset=iso-8859-1\r\n\r\nOlá, segue o orçamento nº 7."
    ).encode("latin-1")
    parsed = parse_mail(message)
    assert (parsed.subject, parsed.from_name) == ("Formação de preços", "João Gonçalves")
    assert (parsed.from_address, parsed.text) == ("joao@example.pt", "Olá, segue o orçamento nº 7.")
    assert parsed.problems == ()


def test_a_raw_cp932_subject_of_symbols_reads_as_shift_jis_beside_a_shift_jis_body() -> None:
    message = (
        "Subject: ①②③\r\nFrom: 山田 太郎 <yamada@example.jp>\r\n"
        "Content-Type: text/plain; charset=Shift_JIS\r\n\r\n①と②をお願いします。"
    ).encode("cp932")
    parsed = parse_mail(message)
    assert (parsed.subject, parsed.from_name, parsed.text) == (
        "①②③",
        "山田 太郎",
        "①と②をお願いします。",
    )
    assert parsed.problems == ()


def test_a_raw_cp932_subject_reads_as_shift_jis_with_no_charset_declared_anywhere() -> None:
    parsed = parse_mail("Subject: ①②③\r\nFrom: 髙橋 <t@example.jp>\r\n\r\nok".encode("cp932"))
    assert (parsed.subject, parsed.from_name, parsed.text) == ("①②③", "髙橋", "ok")
    alone = parse_mail("Subject: Ⅲ期 ㈱\r\n\r\nok".encode("cp932"))
    assert alone.subject == "Ⅲ期 ㈱"


def test_a_raw_utf8_subject_is_utf8_even_beside_a_latin1_body() -> None:
    message = "Subject: Formação ① 🌸\r\nFrom: Zoé <z@example.fr>\r\n".encode()
    message += b"Content-Type: text/plain; charset=iso-8859-1\r\n\r\nCaf\xe9"
    parsed = parse_mail(message)
    assert (parsed.subject, parsed.from_name, parsed.text) == ("Formação ① 🌸", "Zoé", "Café")


@pytest.mark.parametrize(
    "subject",
    ["Formação", "Grüße aus Zürich", "Ça a été livré", "Señor Muñoz", "ÉCOLE", "Ångström",
     "Pedido nº 5", "Reunião às 10h – 2°"],
)  # fmt: skip
def test_latin_subjects_in_raw_cp1252_are_not_read_as_japanese(subject: str) -> None:
    parsed = parse_mail(b"Subject: " + subject.encode("cp1252") + b"\r\n\r\nx")
    assert parsed.subject == subject


@pytest.mark.parametrize(
    ("subject", "codec"),
    [("①②③", "cp932"), ("様", "cp932"), ("ご", "cp932"), ("ﾒｰﾙ", "cp932"), ("Re: 見積", "cp932"),
     ("〒100-0001 ※", "cp932"), ("ご", "euc_jp"), ("ありがとう", "euc_jp"), ("納品書", "euc_jp")],
)  # fmt: skip
def test_japanese_subjects_in_raw_bytes_are_not_read_as_latin(subject: str, codec: str) -> None:
    parsed = parse_mail(b"Subject: " + subject.encode(codec) + b"\r\n\r\nx")
    assert parsed.subject == subject


def test_subject_and_names_are_read_with_one_charset_so_they_agree() -> None:
    # Alone, each of these subjects reads as well one way as the other; the
    # sender's name in the same message settles it for both.
    latin = parse_mail(
        "Subject: Œuvre\r\nFrom: Zoé Lefèvre <z@example.fr>\r\n\r\nx".encode("cp1252")
    )
    assert (latin.subject, latin.from_name) == ("Œuvre", "Zoé Lefèvre")
    japanese = parse_mail("Subject: 髙\r\nFrom: 髙橋 一郎 <t@example.jp>\r\n\r\nx".encode("cp932"))
    assert (japanese.subject, japanese.from_name) == ("髙", "髙橋 一郎")
    # A forwarded message is decided on its own bytes: here EUC-JP inside a Latin-1 mail.
    inner = "Subject: ご注文\r\nFrom: 山田 <y@example.jp>\r\nTo: 佐藤 <s@example.jp>\r\n\r\n本文"
    outer = "Subject: Fwd: pedido\r\nFrom: João <j@example.pt>\r\nContent-Type: multipart/mixed;"
    outer += (
        ' boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\r\nVeja.\r\n'
    )
    outer += "--b\r\nContent-Type: message/rfc822\r\n\r\n"
    message = outer.encode("cp1252") + inner.encode("euc_jp") + b"\r\n--b--\r\n"
    forwarded = parse_mail(message)
    assert (forwarded.subject, forwarded.from_name) == ("Fwd: pedido", "João")
    assert "From: 山田 <y@example.jp>\nSubject: ご注文\nTo: 佐藤 <s@example.jp>" in forwarded.text


# --- carrier pictograms ---------------------------------------------------------------

MARKER = "\u3013"  # 〓: a pictogram with no emoji, or whose carrier cannot be told


def test_every_pictogram_in_the_table_is_one_its_carrier_sends() -> None:
    for carrier, codes in pictograms.TABLE.items():
        assert len(codes) >= 40
        for code, emoji in codes.items():
            assert pictograms.owners(code, carrier) == carrier, (carrier, hex(code))
            assert len(emoji) == 1 and ord(emoji) > 0x7F


def test_au_pictograms_in_an_iso_2022_jp_subject_and_body_become_emoji() -> None:
    # au writes its pictograms as ISO-2022-JP rows 0x75-0x7B: 7541 sun, 7834 heart,
    # 7A23 smiling face, 7A6D footprints (not in the table).
    subject = b"\x1b$B@2$l\x75\x41$G$9\x1b(B"  # 晴れ☀です
    body = b'\x1b$B$"$j$,$H$&\x78\x34$^$?\x7a\x23$M\x7a\x6d\x1b(B!\r\n'
    message = b"From: Taro <Taro@ezweb.ne.jp>\r\nSubject: " + b64_word(subject, "ISO-2022-JP")
    message += b"\r\nContent-Type: text/plain; charset=ISO-2022-JP\r\n\r\n" + body
    parsed = parse_mail(message)
    assert parsed.subject == "晴れ☀です"
    assert parsed.text == f"ありがとう❤また😊ね{MARKER}!"
    assert parsed.problems == ()


def test_au_pictogram_rows_are_kanji_in_mail_from_elsewhere_unless_au_rows_are_there() -> None:
    body = b'\x1b$B$"\x79\x21$$\x1b(B'  # row 0x79: an IBM kanji to Windows (CP50220)
    pc = b"From: pc@example.com\r\nContent-Type: text/plain; charset=ISO-2022-JP\r\n\r\n"
    assert parse_mail(pc + body).text == "あ纊い"
    phone = pc.replace(b"example.com", b"ezweb.ne.jp")
    assert parse_mail(phone + body).text == f"あ{MARKER}い"
    # An au-only row (0x75) in the same text says the same without the address.
    assert parse_mail(pc + body + b"\x1b$B\x75\x41\x1b(B").text == f"あ{MARKER}い☀"


def test_docomo_pictograms_in_shift_jis_become_emoji_and_keep_the_text_around_them() -> None:
    subject = "晴れ".encode("cp932") + b"\xf8\x9f" + "です".encode("cp932")
    body = "ありがとう".encode("cp932") + b"\xf9\x91" + "また".encode("cp932") + b"\xf9\xfc"
    body += "ね".encode("cp932") + b"\xf8\xbb" + "！".encode("cp932")  # F8BB: a pager
    message = b"From: hanako@docomo.ne.jp\r\nSubject: " + b64_word(subject, "Shift_JIS")
    message += b"\r\nContent-Type: text/plain; charset=Shift_JIS\r\n\r\n" + body
    parsed = parse_mail(message)
    assert parsed.subject == "晴れ☀です"
    assert parsed.text == f"ありがとう❤また😱ね{MARKER}！"
    assert parsed.problems == ()


def test_softbank_pictograms_in_shift_jis_become_emoji_even_in_a_raw_subject() -> None:
    subject = "晴れ".encode("cp932") + b"\xf9\x8b" + "です".encode("cp932")
    # F962 heart, FB44 grin (an IBM kanji code to anyone but SoftBank), F7B2 "NEW".
    body = "了解".encode("cp932") + b"\xf9\x62\xfb\x44" + "また".encode("cp932") + b"\xf7\xb2"
    message = b"From: jiro@softbank.ne.jp\r\nSubject: " + subject
    message += b"\r\nContent-Type: text/plain; charset=Shift_JIS\r\n\r\n" + body
    parsed = parse_mail(message)
    assert (parsed.subject, parsed.text) == ("晴れ☀です", "了解❤😁また🆕")


def test_softbank_web_escapes_become_emoji() -> None:
    message = b"From: jiro@softbank.ne.jp\r\nContent-Type: text/plain; charset=ISO-2022-JP\r\n\r\n"
    message += b'\x1b$B$"\x1b$Gj\x0f$$\x1b(B and \x1b$GjO\x0f!'  # G-j: sun, G-O: not in the table
    assert parse_mail(message).text == f"あ☀い and ☀{MARKER}!"


def test_a_pictogram_whose_carrier_cannot_be_told_is_one_marker() -> None:
    # F7B2 is au's heart and SoftBank's "NEW"; from an unknown address, with nothing
    # else to tell, it is a marker. F9xx is docomo's or SoftBank's, unless a code
    # only docomo uses (F8xx) is in the same text.
    head = b"From: friend@example.com\r\nContent-Type: text/plain; charset=Shift_JIS\r\n\r\n"
    unknown = parse_mail(head + "よろしく".encode("cp932") + b"\xf7\xb2" + "です".encode("cp932"))
    assert unknown.text == f"よろしく{MARKER}です"
    docomo = parse_mail(head + b"\xf9\x91\xf8\x9f" + "です".encode("cp932"))
    assert docomo.text == "❤☀です"


# --- the sender of a bounce -----------------------------------------------------------


def _bounce(sender: bytes) -> bytes:
    """A carrier's delivery-failure notice as phones' carriers send them: the explanation
    in Shift_JIS under a us-ascii label, the message that bounced forwarded whole, and
    no closing boundary."""
    explanation = "次のあて先へのメッセージはエラーのため送信できませんでした。".encode("cp932")
    return (
        b"Return-Path: <>\r\nFrom: " + sender + b"\r\nTo: shop@example.com\r\n"
        b"Subject: Returned mail: see transcript for details\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="NOTICE"\r\n'
        b"\r\n--NOTICE\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n" + explanation
        + b"\r\n\r\n--NOTICE\r\nContent-Type: message/delivery-status\r\n\r\n"
        b"Reporting-MTA: dns; mx.docomo.ne.jp\r\n\r\nFinal-Recipient: rfc822; hanako@docomo.ne.jp\r\n"
        b"Action: failed\r\nStatus: 5.1.1\r\n\r\n--NOTICE\r\nContent-Type: message/rfc822\r\n\r\n"
        b"From: Sakura Flowers <shop@example.com>\r\nReply-To: orders@example.com\r\n"
        b"Sender: owner@example.com\r\nTo: hanako@docomo.ne.jp\r\nSubject: "
        + b64_word(jis("ご注文の確認"), "ISO-2022-JP")
        + b"\r\nContent-Type: text/plain; charset=ISO-2022-JP\r\n\r\n" + jis("ご注文ありがとうございます")
        + b"\r\n"
    )  # fmt: skip


@pytest.mark.parametrize(
    ("sender", "address", "name"),
    [
        (b"Mail Delivery Subsystem <MAILER-DAEMON@mx.docomo.ne.jp>",
         "mailer-daemon@mx.docomo.ne.jp", "Mail Delivery Subsystem"),
        # Shift_JIS "①②" is 87 40 87 41: read as Latin-1, "‡@‡A" looks like an address.
        ("①② <postmaster@docomo.ne.jp>".encode("cp932"), "postmaster@docomo.ne.jp", "①②"),
        # An ISO-2022-JP name that never shifts back: its escape runs into the address.
        (b"\x1b$B%a!<%k4IM}<T <Postmaster@docomo.ne.jp>", "postmaster@docomo.ne.jp", "メール管理者"),
        (b"MAILER-DAEMON (Mail Delivery Subsystem)", "mailer-daemon", "Mail Delivery Subsystem"),
    ],
)  # fmt: skip
def test_a_carrier_bounce_is_filed_under_its_own_sender_never_the_forwarded_one(
    sender: bytes, address: str, name: str
) -> None:
    raw_mail = _bounce(sender)
    parsed = parse_mail(raw_mail)
    assert (parsed.from_address, parsed.from_name) == (address, name)
    inbound = to_inbound(Channel(ChannelKind.EMAIL, "shop-mail"), raw_mail, None)
    assert (inbound.address, inbound.display_name) == (address, name)
    assert parsed.text.startswith("次のあて先へのメッセージはエラーのため送信できませんでした。")
    assert "From: Sakura Flowers <shop@example.com>\nSubject: ご注文の確認" in parsed.text
    assert parsed.text.endswith("ご注文ありがとうございます")
    assert any("us-ascii" in p for p in parsed.problems)
    assert any("boundary" in p for p in parsed.problems)


def test_an_address_is_never_taken_from_a_display_name_read_in_the_wrong_charset() -> None:
    # A Latin-1 subject outweighs a Shift_JIS name of two symbols: the name is lost to
    # mojibake, but its "@" (the second byte of "①") never becomes the sender.
    message = "Subject: Café à la crème\r\n".encode("latin-1")
    message += "From: ①② <Postmaster@docomo.ne.jp>\r\n\r\nx".encode("cp932")
    parsed = parse_mail(message)
    assert (parsed.subject, parsed.from_address) == ("Café à la crème", "postmaster@docomo.ne.jp")


# --- never raises ---------------------------------------------------------------------


def test_random_bytes_do_not_crash() -> None:
    rng = random.Random(20240601)
    alphabet = b'\x1b$B(J@I=?:;<>"\r\n\t -_abcQBq\x80\xff\xef\xbb\xbf'
    for _ in range(300):
        size = rng.randrange(0, 2000)
        blob = bytes(rng.getrandbits(8) for _ in range(size))
        assert isinstance(parse_mail(blob), ParsedMail)
        tokens = bytes(rng.choice(alphabet) for _ in range(size))
        assert isinstance(parse_mail(b"Subject: " + tokens + b"\r\n\r\n" + tokens), ParsedMail)
    assert parse_mail(b"").text == ""


def test_truncated_and_corrupted_real_mail_does_not_crash() -> None:
    rng = random.Random(7)
    for name in ALL_EML:
        data = raw(name)
        if len(data) > 300_000:
            data = data[:300_000]
        for cut in (rng.randrange(len(data)) for _ in range(3)):
            assert_displayable(parse_mail(data[:cut]))
        flipped = bytearray(data)
        for _ in range(20):
            flipped[rng.randrange(len(flipped))] = rng.getrandbits(8)
        assert_displayable(parse_mail(bytes(flipped)))


# --- dedupe ---------------------------------------------------------------------------


def test_content_hash_ignores_headers_and_line_endings() -> None:
    lf = b"Subject: a\nReceived: x\n\nHello\nthere\n"
    crlf = b"Subject: b\r\n\r\nHello\r\nthere\r\n"
    assert content_hash(lf) == content_hash(crlf)
    assert content_hash(lf) != content_hash(b"Subject: a\n\nHello\nthere!\n")
    assert len(content_hash(raw("talon/gmail.eml"))) == 64


def test_who_else_a_mail_went_to_is_kept_for_a_reply_all() -> None:
    raw = (
        b"From: Emma <emma@example.com>\r\n"
        b"To: shop@example.com,\r\n =?ISO-2022-JP?B?GyRCOzNFRBsoQg==?= <Yamada@Example.JP>\r\n"
        b'Cc: "Brown, Bob" <bob@example.com>, carol@example.org\r\n'
        b"Cc: dave@example.net\r\n"
        b"Subject: flowers\r\n\r\nhello\r\n"
    )
    parsed = parse_mail(raw)
    assert parsed.to == ("shop@example.com", "山田 <yamada@example.jp>")
    assert parsed.cc == ('"Brown, Bob" <bob@example.com>', "carol@example.org", "dave@example.net")
    item = to_inbound(Channel(ChannelKind.EMAIL, "shop-mail"), raw, None)
    assert item.meta["to"] == list(parsed.to) and item.meta["cc"] == list(parsed.cc)
    # A list that does not parse still gives its addresses; a group with none gives none.
    odd = parse_mail(b"From: a@b.jp\r\nTo: undisclosed-recipients:;\r\nCc: <<x@y.jp\r\n\r\nx")
    assert (odd.to, odd.cc, odd.problems) == ((), ("x@y.jp",), ())
