"""The pure rules: addresses, SMS segments, canned replies, search terms, safe text."""

from __future__ import annotations

import pytest

from omnitui.domain.identity import InvalidAddress, normalize_email, normalize_phone
from omnitui.domain.mail import (
    check_signature,
    clean_subject,
    combined_signature,
    parse_addresses,
    reply_all,
    reply_subject,
    with_signature,
)
from omnitui.domain.safe_text import one_line, visible
from omnitui.domain.search import fts_query, highlight_spans, index_terms
from omnitui.domain.sms import count_segments
from omnitui.domain.templates import render, still_unresolved


def test_email_is_lower_cased_and_display_part_dropped() -> None:
    assert normalize_email("  Aiko Tanaka <AIKO@Example.COM> ") == "aiko@example.com"
    with pytest.raises(InvalidAddress):
        normalize_email("not an address")


def test_phone_numbers_become_e164_with_a_default_region() -> None:
    assert normalize_phone("090-1234-5678", "JP") == "+819012345678"
    assert normalize_phone("+81 90 1234 5678") == "+819012345678"
    assert normalize_phone("(415) 555-2671", "US") == "+14155552671"
    with pytest.raises(InvalidAddress):
        normalize_phone("12", "JP")


def test_gsm_text_fits_160_then_153_per_segment() -> None:
    assert count_segments("a" * 160).segments == 1
    assert count_segments("a" * 161).segments == 2
    assert count_segments("a" * 306).segments == 2
    assert count_segments("a" * 307).segments == 3
    # Extension characters cost two septets.
    assert count_segments("€" * 80).units == 160
    assert count_segments("€" * 81).segments == 2


def test_one_japanese_character_switches_to_ucs2() -> None:
    seg = count_segments("Your order is ready 花")
    assert seg.encoding == "UCS-2"
    assert seg.non_gsm == "花"
    assert count_segments("あ" * 70).segments == 1
    assert count_segments("あ" * 71).segments == 2
    # An emoji is two UTF-16 units.
    assert count_segments("🌸" * 35).units == 70
    assert count_segments("").segments == 0


def test_over_1600_characters_is_too_long() -> None:
    assert count_segments("a" * 1600).too_long is False
    assert count_segments("a" * 1601).too_long is True


def test_canned_reply_personalised_with_fallbacks() -> None:
    body = "{name|お客様}様、{shop}の{agent}です。ご注文{order_id}の件です。"
    done = render(body, {"name": "田中 美咲", "shop": "さくら花店", "agent": "Aiko"})
    assert done.text == "田中 美咲様、さくら花店のAikoです。ご注文{order_id}の件です。"
    assert done.unresolved == ("order_id",)
    fallback = render(body, {"shop": "さくら花店", "agent": "Aiko", "order_id": "#12"})
    assert fallback.text.startswith("お客様様")
    assert fallback.unresolved == ()


def test_literal_braces_and_unknown_keys() -> None:
    done = render("{{not a field}} Hi {First_Name}", {"first_name": "Emma"})
    assert done.text == "{not a field} Hi Emma"
    assert still_unresolved("Hi {x} and {y}", ("x", "z")) == ("x",)


def test_japanese_substrings_become_bigram_phrases() -> None:
    terms = index_terms("ご予約ありがとうございます")
    assert "予約" in terms.split()
    assert fts_query("予約") == '"予約"'
    assert fts_query("予") == '"予" *'
    assert fts_query("予約確認") == '"予約 約確 確認"'
    assert fts_query("order deliv") == '"order" AND "deliv" *'
    assert fts_query("  !! ") is None
    assert fts_query('say "hi') == '"say" AND "hi" *'


def test_highlight_spans_find_each_term() -> None:
    assert highlight_spans("Order ready, order id", "order") == [(0, 5), (13, 18)]


def test_control_characters_become_visible() -> None:
    shown = visible("hi\x1b[31mred\x07\r\nnext\u202egnp.exe")
    assert "\x1b" not in shown and "\x07" not in shown and "\u202e" not in shown
    assert "␛[31mred" in shown
    assert "\n" in shown
    assert one_line("a\nb\tc") == "a b c"


def test_reply_subject_does_not_pile_up_re() -> None:
    assert reply_subject("Re: RE: Re[2]: ご予約について") == "Re: ご予約について"
    assert reply_subject("Order 12") == "Re: Order 12"
    assert reply_subject("") == "Re:"


def test_names_that_read_alike_are_suggested_not_different_ones() -> None:
    from omnitui.domain.duplicates import Candidate, similar_names

    found = similar_names(
        [
            Candidate(1, "田中 美咲"),
            Candidate(2, "田中美咲"),
            Candidate(3, "Emma Wilson"),
            Candidate(4, "emma  wilson"),
            Candidate(5, "田中 健太"),
            Candidate(6, "Emma Watson"),
        ]
    )
    assert sorted(s.pair for s in found) == [(1, 2), (3, 4)]


def test_a_phone_number_in_a_signature_points_at_the_sms_contact() -> None:
    from omnitui.domain.duplicates import phone_mentions

    text = "よろしくお願いします。\n--\n佐藤 健\nTEL: 090-1234-5678"
    found = phone_mentions([(7, text)], {"+819012345678": 9}, "JP")
    assert [(s.a, s.b) for s in found] == [(7, 9)]
    assert "+819012345678" in found[0].evidence


def test_the_given_name_is_guessed_family_name_first_for_japanese_names() -> None:
    from omnitui.domain.names import given_name_guess

    assert given_name_guess("山田 花子") == "花子"
    assert given_name_guess("山田\u3000花子") == "花子"  # an ideographic space
    assert given_name_guess("ヤマダ ハナコ") == "ハナコ"
    assert given_name_guess("Emma Brown") == "Emma"
    assert given_name_guess("Emma") == "Emma"
    # No telling: no guess rather than a wrong one.
    assert given_name_guess("山田花子") == ""
    assert given_name_guess("aiko@example.com") == ""
    assert given_name_guess("+81 90 1234 5678") == ""


def test_addresses_typed_by_an_agent_are_read_and_bad_ones_named() -> None:
    good, bad = parse_addresses(
        'Hana <hana@florist.example>, ken@example.jp; "Brown, Bob" <bob@example.com>'
        "、ｍｉｋａ＠ｅｘａｍｐｌｅ．ｊｐ  KEN@example.jp"
    )
    assert good == [
        "Hana <hana@florist.example>",
        "ken@example.jp",
        '"Brown, Bob" <bob@example.com>',
        "mika@example.jp",  # typed in full-width with the IME on
    ]
    assert bad == []
    for wrong in ("ken@", "ken@example", "ken example.jp", "a@b.c\r\nBcc: x@evil.example"):
        assert parse_addresses(wrong)[1], wrong
    assert parse_addresses("ok@example.jp, ken@, <x@>")[1] == ["ken@", "<x@>"]


def test_reply_all_copies_the_others_never_the_shop_or_the_customer() -> None:
    others = reply_all(
        [
            "Sakura Flowers <SHOP@example.com>",
            "Hana <hana@florist.example>",
            "emma@example.com",
            "hana@florist.example",
            "not an address",
        ],
        own={"shop@example.com"},
        customer="Emma@Example.com",
    )
    assert others == ["Hana <hana@florist.example>"]


def test_a_signature_is_tidied_checked_and_added_after_the_separator() -> None:
    assert check_signature("\n\nSakura Flowers   \n03-1234-5678\n\n") == (
        "Sakura Flowers\n03-1234-5678"
    )
    for wrong, why in [
        ("-- \nSakura", '"-- "'),
        ("Sakura\x1b[31m", "control characters"),
        ("\n".join("x" * 16), "at most 15 lines"),
    ]:
        with pytest.raises(ValueError, match=why):
            check_signature(wrong)
    signature = combined_signature("Sakura Flowers", "Aiko")
    assert with_signature("See you.\n\n", signature) == "See you.\n\n-- \nSakura Flowers\nAiko"
    assert with_signature("See you.", "") == "See you."
    assert combined_signature("", "Aiko") == "Aiko"
    assert clean_subject("  Your\r\norder\tis  ready ") == "Your order is ready"
