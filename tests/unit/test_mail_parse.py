"""Inbound email read into values (issue #20, R-1.1): real messages, built as bytes here.

Hand-written RFC 5322 text carries the encodings real Chinese clients send (GBK under a
"gb2312" label, Big5, encoded words, base64 and quoted-printable); the stdlib
`EmailMessage` builds the multipart messages with attachments.
"""

from __future__ import annotations

import base64
import quopri
from datetime import UTC, datetime, timedelta, timezone
from email.message import EmailMessage
from email.policy import SMTP

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.conversation.mail import (
    REFERENCE,
    InboundMail,
    MailUnreadable,
    read_mail,
    reference_in,
    subject_with_reference,
)

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 4
# 镕 and 喆 are in GBK but not in GB2312: real "gb2312" mail carries them all the same.
GBK_ONLY = "朱镕基 陶喆"


def b64word(text: str, charset: str, label: str | None = None) -> str:
    return f"=?{label or charset}?B?{base64.b64encode(text.encode(charset)).decode()}?="


def qword(text: str, charset: str) -> str:
    return f"=?{charset}?Q?{quopri.encodestring(text.encode(charset), header=True).decode()}?="


def message(headers: dict[str, str], body: bytes, content_type: str = "text/plain") -> bytes:
    lines = [f"{name}: {value}" for name, value in headers.items()]
    if "Content-Type" not in headers:
        lines.append(f"Content-Type: {content_type}")
    head = "\r\n".join(["MIME-Version: 1.0", *lines]).encode("ascii")
    return head + b"\r\n\r\n" + body


def base_headers(**extra: str) -> dict[str, str]:
    headers = {
        "From": f"{b64word('王芳', 'gb2312')} <wang.fang@example.cn>",
        "To": "service@careloop.example",
        "Date": "Tue, 01 Dec 2026 10:00:00 +0800",
        "Message-ID": "<m1@example.cn>",
        "Subject": "test",
    }
    headers.update({k.replace("_", "-"): v for k, v in extra.items()})
    return headers


def strings_of(mail: InboundMail) -> list[str]:
    found = [mail.subject, mail.sender_address, mail.sender_name, mail.text, mail.reply_text]
    found += [a.filename for a in mail.attachments] + [n for n, _ in mail.refused_attachments]
    return found


# --- Chinese mail decodes ----------------------------------------------------------------


def test_a_gbk_subject_with_a_photo_attached_reads_as_the_customer_wrote_it() -> None:
    mail = EmailMessage()
    mail["From"] = "王芳 <wang.fang@example.cn>"
    mail["To"] = "service@careloop.example"
    mail["Subject"] = "placeholder"
    mail.set_content(f"{GBK_ONLY}：屏幕碎了，见照片。", charset="gbk")
    mail.add_attachment(JPEG, maintype="image", subtype="jpeg", filename="照片.jpg")
    raw = mail.as_bytes(policy=SMTP).replace(
        b"Subject: placeholder",
        f"Subject: {b64word(GBK_ONLY + ' 屏幕坏了', 'gbk', 'gb2312')}".encode(),
    )

    read = read_mail(raw)

    assert read.subject == f"{GBK_ONLY} 屏幕坏了"
    assert read.sender_name == "王芳" and read.sender_address == "wang.fang@example.cn"
    assert read.text == f"{GBK_ONLY}：屏幕碎了，见照片。"
    [photo] = read.attachments
    assert (photo.filename, photo.content_type, photo.size) == ("照片.jpg", "image/jpeg", len(JPEG))
    assert photo.data == JPEG and read.refused_attachments == ()


@pytest.mark.parametrize("label", ["gb2312", "GBK", "gb18030"])
def test_a_body_labelled_in_the_gb_family_reads_gbk_only_characters_too(label: str) -> None:
    body = base64.encodebytes(f"{GBK_ONLY}，您好".encode("gb18030"))
    headers = base_headers(Content_Transfer_Encoding="base64")
    headers["Content-Type"] = f'text/plain; charset="{label}"'

    assert read_mail(message(headers, body)).text == f"{GBK_ONLY}，您好"


def test_a_gb18030_four_byte_character_survives() -> None:
    text = "𠀀 is a CJK Extension B character"
    headers = base_headers(Content_Transfer_Encoding="8bit")
    headers["Content-Type"] = "text/plain; charset=gb18030"

    assert read_mail(message(headers, text.encode("gb18030"))).text == text


def test_a_big5_body_in_quoted_printable_reads_as_traditional_chinese() -> None:
    text = "您好，我的訂單還沒有收到，請幫忙查詢。"
    headers = base_headers(Content_Transfer_Encoding="quoted-printable")
    headers["Content-Type"] = "text/plain; charset=big5"
    headers["Subject"] = b64word("訂單查詢", "big5")

    read = read_mail(message(headers, quopri.encodestring(text.encode("big5"))))

    assert read.text == text and read.subject == "訂單查詢"


def test_quoted_printable_encoded_word_subjects_and_utf8_bodies_decode() -> None:
    headers = base_headers(Subject=f"{qword('退货申请', 'utf-8')} {qword('第二次', 'gb2312')}")
    headers["Content-Type"] = "text/plain; charset=utf-8"

    read = read_mail(message(headers, "请尽快处理".encode()))

    assert read.subject == "退货申请第二次" and read.text == "请尽快处理"


def test_an_encoded_word_filename_in_gb2312_keeps_its_gbk_only_characters() -> None:
    mail = EmailMessage()
    mail["From"] = "a@example.cn"
    mail.set_content("附件")
    mail.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf", filename="x.pdf")
    raw = mail.as_bytes().replace(
        b'filename="x.pdf"', f'filename="{b64word("镕基发票", "gbk", "gb2312")}.pdf"'.encode()
    )

    assert [a.filename for a in read_mail(raw).attachments] == ["镕基发票.pdf"]


def test_an_rfc2231_filename_labelled_gbk_decodes() -> None:
    mail = EmailMessage()
    mail["From"] = "a@example.cn"
    mail.set_content("附件")
    mail.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf", filename="x.pdf")
    encoded = "".join(f"%{b:02X}" for b in "喆的发票.pdf".encode("gbk"))
    raw = mail.as_bytes().replace(b'filename="x.pdf"', f"filename*=gbk''{encoded}".encode())

    assert [a.filename for a in read_mail(raw).attachments] == ["喆的发票.pdf"]


def test_unencoded_8bit_gbk_in_a_header_is_read_not_mangled() -> None:
    raw = message(base_headers(), b"x").replace(b"Subject: test", "Subject: 投诉".encode("gbk"))

    assert read_mail(raw).subject == "投诉"


def test_undecodable_bytes_become_replacement_characters_and_never_raise() -> None:
    headers = base_headers(Content_Transfer_Encoding="8bit")
    headers["Content-Type"] = "text/plain; charset=utf-8"

    read = read_mail(message(headers, b"ok \xff\xfe broken"))

    assert read.text.startswith("ok ") and "\ufffd" in read.text and read.text.endswith("broken")


@pytest.mark.parametrize("label", ["x-no-such-charset", "zlib", "base64", "a\\x00b"])
def test_an_unknown_or_non_text_charset_falls_back_to_utf8_then_gb18030(label: str) -> None:
    headers = base_headers()
    headers["Content-Type"] = f'text/plain; charset="{label}"'

    assert read_mail(message(headers, "您好".encode("gbk"))).text == "您好"


def test_nul_bytes_and_lone_surrogates_never_reach_the_result() -> None:
    headers = base_headers()
    headers["Subject"] = "=?utf-8?B?" + base64.b64encode(b"a\x00b\xed\xa0\x80c").decode() + "?="
    headers["Content-Type"] = "text/plain; charset=utf-8"

    read = read_mail(message(headers, b"line\x00one \xed\xa0\x80 end"))

    for text in strings_of(read):
        assert "\x00" not in text
        assert not any("\ud800" <= ch <= "\udfff" for ch in text)
    assert read.subject.startswith("ab") and read.text.startswith("lineone")


# --- HTML-only mail ----------------------------------------------------------------------


def test_html_only_mail_becomes_safe_text_without_script_or_style() -> None:
    html = (
        "<html><head><title>t</title><style>p{color:red}</style></head><body>"
        "<p>您好&nbsp;&amp;&lt;感谢&gt;</p><script>alert('x')</script>"
        "<div>第二行<br>第三行</div><ul><li>一</li><li>二</li></ul>"
        "<img src=x onerror=alert(1)></body></html>"
    )
    headers = base_headers()
    headers["Content-Type"] = "text/html; charset=utf-8"

    text = read_mail(message(headers, html.encode())).text

    assert "alert" not in text and "color" not in text and "<" not in text.replace("&<", "")
    assert text.split("\n") == ["您好 &<感谢>", "第二行", "第三行", "- 一", "- 二"]


def test_a_plain_part_is_preferred_over_its_html_alternative() -> None:
    mail = EmailMessage()
    mail["From"] = "a@example.cn"
    mail.set_content("纯文本")
    mail.add_alternative("<p>超文本</p>", subtype="html")

    read = read_mail(mail.as_bytes())

    assert read.text == "纯文本" and read.attachments == ()


def test_an_html_reply_drops_the_blockquoted_history_from_the_reply_text() -> None:
    mail = EmailMessage()
    mail["From"] = "a@example.cn"
    mail.set_content("<p>已经收到，谢谢</p><blockquote><p>您的退款已处理</p></blockquote>", "html")

    read = read_mail(mail.as_bytes())

    assert read.reply_text == "已经收到，谢谢" and "> 您的退款已处理" in read.text


# --- what is new in a reply --------------------------------------------------------------


def plain(text: str, charset: str = "utf-8", **extra: str) -> bytes:
    headers = base_headers(**extra)
    headers["Content-Type"] = f"text/plain; charset={charset}"
    headers["Content-Transfer-Encoding"] = "base64"
    return message(headers, base64.encodebytes(text.encode(charset)))


def test_an_outlook_chinese_reply_keeps_only_the_new_part() -> None:
    text = (
        "好的，明天上午在家，请安排上门。\r\n\r\n王芳\r\n"
        "________________________________\r\n"
        "发件人: 客服中心 <service@careloop.example>\r\n"
        "发送时间: 2026年12月1日 10:00\r\n"
        "收件人: 王芳 <wang.fang@example.cn>\r\n"
        "主题: 回复: 屏幕坏了 [CL-42]\r\n\r\n"
        "您好，请问您什么时候方便上门维修？\r\n"
    )

    read = read_mail(plain(text, "gb2312"))

    assert read.reply_text == "好的，明天上午在家，请安排上门。\n\n王芳"
    assert "请问您什么时候方便上门维修" in read.text


@pytest.mark.parametrize(
    "history",
    [
        "-----原始邮件-----\n发件人: service@careloop.example\n您好",
        '------------------ 原始邮件 ------------------\n发件人: "客服"<s@c.example>;\n',
        "在 2026年12月1日 周二 10:00，客服中心 <service@careloop.example> 写道：\n> 您好",
        "王芳 <wang.fang@example.cn> 于2026年12月1日周二 10:00写道：\n> 您好",
        "On Tue, Dec 1, 2026 at 10:00 AM Service <service@careloop.example> wrote:\n> Hello",
        "On Tue, Dec 1, 2026 at 10:00 AM Careloop Desk\n<service@careloop.example> wrote:\n",
        "-----Original Message-----\nFrom: Service\nSent: Tuesday\n\nHello",
        "From: Service <service@careloop.example>\nSent: Tuesday, December 1, 2026 10:00\nHi",
        "> 您好，请问型号是？\n> 客服",
    ],
)
def test_quoted_history_in_its_usual_forms_is_trimmed(history: str) -> None:
    read = read_mail(plain(f"型号是 X200。\n\n{history}"))

    assert read.reply_text == "型号是 X200。"


def test_interleaved_quotes_are_dropped_and_the_answers_kept() -> None:
    text = "> 型号是？\nX200\n> 购买日期？\n11月3日"

    assert read_mail(plain(text)).reply_text == "X200\n11月3日"


def test_a_bottom_posted_answer_is_not_lost() -> None:
    text = "On Tue, Dec 1, 2026, Service <s@careloop.example> wrote:\n> 型号是？\n\nX200"

    assert read_mail(plain(text)).reply_text == "X200"


def test_a_line_that_merely_mentions_the_sender_is_kept() -> None:
    text = "发件人：我本人，不是代理。\n请回电。"

    assert read_mail(plain(text)).reply_text == text


# --- mail no person wrote ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("Auto-Submitted", "auto-replied", "Auto-Submitted: auto-replied"),
        ("Auto-Submitted", "auto-generated; owner-email=x@y", "Auto-Submitted: auto-generated"),
        ("X-Autoreply", "yes", "X-Autoreply"),
        ("X-Autorespond", "Out of office", "X-Autorespond"),
        ("Precedence", "bulk", "Precedence: bulk"),
        ("Precedence", "junk", "Precedence: junk"),
        ("Precedence", "list", "Precedence: list"),
        ("List-Id", "<news.example.cn>", "List-Id"),
        ("List-Unsubscribe", "<mailto:unsub@example.cn>", "List-Unsubscribe"),
        ("Return-Path", "<>", "Return-Path: <>"),
    ],
)
def test_an_automatic_mail_is_known_by_its_header(name: str, value: str, reason: str) -> None:
    read = read_mail(message(base_headers(**{name.replace("-", "_"): value}), b"I am away."))

    assert read.is_automatic and read.automatic_reason.startswith(reason)


def test_auto_submitted_no_is_a_person_writing() -> None:
    read = read_mail(message(base_headers(Auto_Submitted="no"), b"hello"))

    assert not read.is_automatic and read.automatic_reason == ""


@pytest.mark.parametrize("sender", ["MAILER-DAEMON@mx.example.cn", "postmaster@example.cn"])
def test_mail_from_the_mail_system_itself_is_automatic(sender: str) -> None:
    read = read_mail(message(base_headers(From=sender), b"Undeliverable"))

    assert read.is_automatic and sender in read.automatic_reason


BOUNCE = b"""\
From: Mail Delivery System <bounces@mx.example.cn>
To: service@careloop.example
Subject: Undelivered Mail Returned to Sender
Message-ID: <bounce-1@mx.example.cn>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="BOUND"

--BOUND
Content-Type: text/plain; charset=us-ascii

The mail to nobody@example.cn could not be delivered.

--BOUND
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.cn

Final-Recipient: rfc822; nobody@example.cn
Action: failed
Status: 5.1.1

--BOUND
Content-Type: text/rfc822-headers

Message-ID: <out-7@careloop.example>
Subject: =?utf-8?B?5oKo5aW9?=

--BOUND--
""".replace(b"\n", b"\r\n")


def test_a_bounce_is_a_delivery_status_report() -> None:
    read = read_mail(BOUNCE)

    assert read.is_automatic and read.automatic_reason == "multipart/report (delivery-status)"
    assert read.text == "The mail to nobody@example.cn could not be delivered."


def test_a_person_writing_is_not_automatic() -> None:
    assert not read_mail(plain("你好")).is_automatic


# --- attachments within limits -----------------------------------------------------------


def with_attachments(*files: tuple[bytes, str, str, str]) -> bytes:
    mail = EmailMessage()
    mail["From"] = "王芳 <wang.fang@example.cn>"
    mail["Subject"] = "附件"
    mail.set_content("见附件")
    for data, maintype, subtype, filename in files:
        mail.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return mail.as_bytes()


def test_an_attachment_over_the_limit_is_refused_with_its_reason() -> None:
    raw = with_attachments(
        (JPEG, "image", "jpeg", "small.jpg"), (b"x" * 2048, "image", "png", "big.png")
    )

    read = read_mail(raw, max_attachment_bytes=1500)

    assert [a.filename for a in read.attachments] == ["small.jpg"]
    assert read.refused_attachments == (
        ("big.png", "too large: 2048 bytes, the limit is 1500 bytes"),
    )


def test_an_attachment_of_a_type_not_allowed_is_refused_and_its_bytes_dropped() -> None:
    raw = with_attachments(
        (b"MZ\x90", "application", "x-msdownload", "setup.exe"),
        (b"MZ\x90", "application", "pdf", "invoice.pdf.exe"),
    )

    read = read_mail(raw)

    assert read.attachments == ()
    assert read.refused_attachments == (
        ("setup.exe", "type application/x-msdownload is not allowed"),
        ("invoice.pdf.exe", "the file name's extension (.exe) is not allowed"),
    )


def test_allowed_types_can_be_narrowed_by_the_caller() -> None:
    raw = with_attachments(
        (b"%PDF-1.4", "application", "pdf", "a.pdf"), (JPEG, "image", "jpeg", "a.jpg")
    )

    read = read_mail(raw, allowed_types=frozenset({"image/jpeg"}))

    assert [a.filename for a in read.attachments] == ["a.jpg"]
    assert [name for name, _ in read.refused_attachments] == ["a.pdf"]


def test_an_octet_stream_photo_takes_its_type_from_its_name_and_paths_are_stripped() -> None:
    raw = with_attachments((JPEG, "application", "octet-stream", "../../etc/照片.JPG"))

    [photo] = read_mail(raw).attachments

    assert (photo.filename, photo.content_type) == ("照片.JPG", "image/jpeg")


def test_an_inline_picture_without_a_name_is_kept_under_a_made_up_name() -> None:
    mail = EmailMessage()
    mail["From"] = "a@example.cn"
    mail.set_content("<p>截图如下</p>", subtype="html")
    mail.add_related(JPEG, "image", "png", cid="<shot@x>")

    read = read_mail(mail.as_bytes())

    assert read.text == "截图如下"
    assert [(a.filename, a.content_type) for a in read.attachments] == [
        ("attachment-1.png", "image/png")
    ]


# --- the record reference ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("subject", "found"),
    [
        ("回复: 屏幕坏了 [CL-123]", 123),
        ("Re: [#77] broken screen", 77),
        ("RE: [cl-9] x", 9),
        ("订单号 123 没到", None),
        ("[CL-] [#abc]", None),
    ],
)
def test_the_record_reference_is_found_in_a_subject(subject: str, found: int | None) -> None:
    assert reference_in(subject) == found


def test_a_reply_subject_carries_the_reference_once_and_reads_back() -> None:
    subject = subject_with_reference("回复: 屏幕坏了 [CL-5]", 123)

    assert subject == "回复: 屏幕坏了 [CL-123]"
    assert reference_in(subject) == 123 and len(REFERENCE.findall(subject)) == 1
    assert subject_with_reference("", 7) == "[CL-7]"


def test_the_reference_in_an_encoded_subject_is_read_into_the_mail() -> None:
    read = read_mail(plain("好", Subject=b64word("回复：屏幕坏了 [CL-123]", "gbk", "gb2312")))

    assert read.record_reference == 123


# --- threading headers, addresses, date --------------------------------------------------


def test_threading_headers_addresses_and_the_date_are_read() -> None:
    raw = plain(
        "ok",
        In_Reply_To="<out-1@careloop.example>",
        References="<m0@example.cn>\r\n <out-1@careloop.example>",
        Cc=f"{b64word('李雷', 'gb2312')} <li.lei@example.cn>, bad-address",
        Reply_To="wang.home@example.cn",
    )

    read = read_mail(raw)

    assert read.message_id == "<m1@example.cn>" and read.in_reply_to == "<out-1@careloop.example>"
    assert read.references == ("<m0@example.cn>", "<out-1@careloop.example>")
    assert read.to == ("service@careloop.example",) and read.cc == ("li.lei@example.cn",)
    assert read.reply_to == ("wang.home@example.cn",)
    assert read.date == datetime(2026, 12, 1, 10, tzinfo=timezone(timedelta(hours=8)))


def test_an_unknown_zone_is_utc_and_a_bad_date_is_none() -> None:
    assert read_mail(plain("x", Date="Tue, 01 Dec 2026 10:00:00 -0000")).date == datetime(
        2026, 12, 1, 10, tzinfo=UTC
    )
    assert read_mail(plain("x", Date="yesterday afternoon")).date is None


def test_an_address_header_the_stdlib_parser_chokes_on_does_not_lose_the_mail() -> None:
    # Python 3.11's structured parser raises IndexError on these; the legacy one reads them.
    read = read_mail(
        plain("好", From="wang.fang@example.cn <", To="x <service@careloop.example>,<")
    )

    assert read.sender_address == "wang.fang@example.cn" and read.text == "好"
    assert read.to == ("service@careloop.example",)


def test_a_mail_without_message_id_or_sender_is_still_read() -> None:
    read = read_mail(b"Subject: hi\r\n\r\nbody")

    assert read.message_id is None and read.sender_address == "" and read.text == "body"


# --- malformed input ---------------------------------------------------------------------


@pytest.mark.parametrize("raw", [b"", b"   \r\n", b"no header here, just words\n\nand more"])
def test_input_that_is_no_email_raises_mail_unreadable(raw: bytes) -> None:
    with pytest.raises(MailUnreadable):
        read_mail(raw)


def test_mail_unreadable_is_a_value_error() -> None:
    assert issubclass(MailUnreadable, ValueError)


def test_a_truncated_multipart_is_read_as_far_as_it_goes() -> None:
    raw = with_attachments((JPEG, "image", "jpeg", "a.jpg"))

    read = read_mail(raw[: len(raw) // 2])

    assert read.text == "见附件"


@settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(
    st.one_of(
        st.binary(max_size=400),
        st.builds(
            lambda head, body: head + b"\r\n\r\n" + body,
            st.sampled_from(
                [
                    b"Subject: =?gb2312?B?",
                    b"Content-Type: multipart/mixed; boundary=x\r\nFrom: <>",
                    b"Content-Type: text/html; charset=big5\r\nContent-Transfer-Encoding: base64",
                    b"From: =?x?Q?\xff?= <a@\xff>\r\nDate: 99 Foo 1 99:99",
                    b"Content-Type: message/rfc822\r\nContent-Disposition: a; filename*=x''%",
                ]
            ),
            st.binary(max_size=300),
        ),
    )
)
def test_no_bytes_make_the_reader_raise_anything_but_mail_unreadable(raw: bytes) -> None:
    try:
        read = read_mail(raw)
    except MailUnreadable:
        return
    for text in strings_of(read):
        assert "\x00" not in text and not any("\ud800" <= ch <= "\udfff" for ch in text)
