"""Personal data is shown masked (R-1.2, R-8.3)."""

from __future__ import annotations

from engine.access.masking import mask_contact, mask_name, masked_fields
from engine.specs.pack import FieldSpec, RecordTypeSpec, StageSpec


def test_a_phone_keeps_its_first_three_and_last_four_digits() -> None:
    assert mask_contact("13812345678") == "138****5678"
    assert "1234" not in mask_contact("+86 138-1234-5678")


def test_an_email_keeps_its_first_letter_and_domain() -> None:
    assert mask_contact("wang.fang@example.com") == "w***@example.com"


def test_a_name_keeps_only_the_surname() -> None:
    assert mask_name("王芳") == "王*"
    assert mask_name("欧阳娜娜") == "欧***"


def test_masked_fields_hides_every_personal_field_and_nothing_else() -> None:
    rtype = RecordTypeSpec(
        id="feedback",
        title="t",
        initial="pending",
        transitions={},
        stages={"pending": StageSpec("pending", "open", "待受理")},
        fields={
            "name": FieldSpec("name", "text", "姓名", mask="name"),
            "phone": FieldSpec("phone", "contact", "电话"),
            "product": FieldSpec("product", "text", "产品"),
        },
    )
    shown = masked_fields(rtype, {"name": "张伟", "phone": "13812345678", "product": "X5"})
    assert shown == {"name": "张*", "phone": "138****5678", "product": "X5"}
