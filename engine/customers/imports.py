"""CSV imports of customers and purchases: every bad row named by number and column.

A file is checked whole first. Nothing is written while any row is bad, unless
the caller asks to import the good rows; customers repeated by number are
merged, never doubled.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session

from engine import bounds
from engine.customers import bulk
from engine.specs.pack import PackSpec

CUSTOMER_COLUMNS = ("number", "name", "contact", "tier", "dedicated_agent", "timezone")
DATE_COLUMNS = ("birthday", "since")
CONSENT_COLUMNS = ("consent_service", "consent_marketing")
ORDER_COLUMNS = ("customer", "external_id", "amount", "currency", "ordered_at", "shipped_at")
YES = {"1", "true", "yes", "y", "是", "同意"}
NO = {"0", "false", "no", "n", "否", "不同意"}
ENCODINGS = ("utf-8-sig", "gb18030")  # Excel in China saves GB18030 unless told otherwise


@dataclass(frozen=True)
class RowError:
    row: int  # as a spreadsheet numbers it: the header is row 1
    column: str
    message: str

    def __str__(self) -> str:
        return f"第 {self.row} 行，{self.column} 列：{self.message}"


@dataclass
class Checked:
    kind: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), else GB18030; anything else is refused."""
    for encoding in ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValueError("the file is neither UTF-8 nor GB18030 text; save it as CSV UTF-8")


def check(text: str, tz: ZoneInfo, now: datetime | None = None) -> Checked:
    """Read the CSV, tell customers from purchases by the header, check every row; with `now`,
    a purchase in the future is a bad row (the store refuses it, R-5.3)."""
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    required: tuple[str, ...]
    if "external_id" in header:
        checked, required, parse = (
            Checked("orders"),
            ("customer", "external_id", "amount", "ordered_at"),
            _order_row,
        )
    else:
        checked, required, parse = Checked("customers"), ("number",), _customer_row
    missing = [c for c in required if c not in header]
    if missing:
        checked.errors.append(RowError(1, ", ".join(missing), "缺少必需的列"))
        return checked
    for number, raw in enumerate(reader, start=2):
        values = {(k or "").strip(): (v or "").strip() for k, v in raw.items()}
        row_errors = _unstorable(values, number)
        parsed = parse(values, number, row_errors, tz)
        if now is not None and checked.kind == "orders":
            _not_future(parsed, values, number, row_errors, now)
        if row_errors:
            checked.errors.extend(row_errors)
        else:
            checked.rows.append(parsed)
    return checked


def _unstorable(values: Mapping[str, str], number: int) -> list[RowError]:
    """A row error per cell (or header) with text no database keeps: a NUL, a lone surrogate."""
    return [
        RowError(number, column, "含有无法保存的字符（如空字符 NUL）")
        for column, value in values.items()
        if bounds.text_problem(column) or bounds.text_problem(value)
    ]


def _not_future(
    row: Mapping[str, Any],
    values: Mapping[str, str],
    number: int,
    errors: list[RowError],
    now: datetime,
) -> None:
    for column in ("ordered_at", "shipped_at"):
        moment = row.get(column)
        if isinstance(moment, datetime) and moment > now:
            errors.append(RowError(number, column, f"“{values[column]}”晚于现在"))


def _customer_row(
    values: Mapping[str, str], number: int, errors: list[RowError], tz: ZoneInfo
) -> dict[str, Any]:
    if not values.get("number"):
        errors.append(RowError(number, "number", "客户编号为空"))
    elif len(values["number"]) > 64:
        errors.append(RowError(number, "number", "客户编号超过 64 个字符"))
    row: dict[str, Any] = {k: values[k] for k in CUSTOMER_COLUMNS if values.get(k)}
    if row.get("timezone"):
        try:
            ZoneInfo(row["timezone"])
        except (ZoneInfoNotFoundError, ValueError):
            errors.append(
                RowError(number, "timezone", f"“{row['timezone']}”不是时区，如 Asia/Shanghai")
            )
    for column in DATE_COLUMNS:
        if values.get(column):
            row[column] = _day(values[column], number, column, errors)
    for column in CONSENT_COLUMNS:
        answer = values.get(column, "").lower()
        if answer in YES or answer in NO:
            row[column] = answer in YES
        elif answer:
            errors.append(RowError(number, column, f"“{values[column]}”请填 是/否"))
    if any(column in row for column in CONSENT_COLUMNS):
        row["consent_source"] = "import"
    return row


def _day(text: str, number: int, column: str, errors: list[RowError]) -> date | None:
    try:
        return date.fromisoformat("-".join(p.zfill(2) for p in text.replace("/", "-").split("-")))
    except ValueError:
        errors.append(RowError(number, column, f"“{text}”不是日期，请写成 1990-08-01"))
        return None


def _order_row(
    values: Mapping[str, str], number: int, errors: list[RowError], tz: ZoneInfo
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "customer": values.get("customer", ""),
        "external_id": values.get("external_id", ""),
        "currency": values.get("currency") or "CNY",
    }
    for column in ("customer", "external_id"):
        if not row[column]:
            errors.append(RowError(number, column, "为空"))
    try:
        row["amount"] = float(values.get("amount", "").replace(",", ""))
        if row["amount"] < 0:
            raise ValueError
    except ValueError:
        errors.append(RowError(number, "amount", f"“{values.get('amount', '')}”不是金额"))
    row["ordered_at"] = _moment(values.get("ordered_at", ""), number, errors, tz)
    if values.get("shipped_at"):
        row["shipped_at"] = _moment(values["shipped_at"], number, errors, tz, "shipped_at")
    return row


def _moment(
    text: str, number: int, errors: list[RowError], tz: ZoneInfo, column: str = "ordered_at"
) -> datetime | None:
    """2026-08-01, 2026/8/1 or 2026-08-01 10:00[+08:00]; without offset: the pack's zone."""
    cleaned = text.replace("/", "-")
    try:
        if len(cleaned) <= 10:
            day = date.fromisoformat("-".join(p.zfill(2) for p in cleaned.split("-")))
            return datetime.combine(day, time(), tz)
        moment = datetime.fromisoformat(cleaned)
        return moment if moment.tzinfo else moment.replace(tzinfo=tz)
    except ValueError:
        errors.append(RowError(number, column, f"“{text}”不是日期，请写成 2026-08-01"))
        return None


def apply(session: Session, packs: Sequence[PackSpec], checked: Checked, now: datetime) -> int:
    """Write the checked rows; customers merge by number. Returns how many rows were written."""
    for _ in apply_in_chunks(session, packs, checked, now):
        pass
    return len(checked.rows)


def apply_in_chunks(
    session: Session, packs: Sequence[PackSpec], checked: Checked, now: datetime
) -> Iterator[tuple[int, int]]:
    """Write the checked rows a chunk at a time, set-based (engine/customers/bulk.py), yielding
    (done, of) after each chunk: a background job commits and reports progress there.
    Customers merge by number (counted merged); a purchase's unknown customer is created first.
    A tier a row sets is entered in the `packs` that declare it, as the desk enters it (R-5.2)."""
    if checked.kind == "customers":
        merged = _merged(checked.rows)
        for start in range(0, len(merged), bulk.CHUNK):
            bulk.upsert_customers(session, packs, merged[start : start + bulk.CHUNK], now)
            yield min(start + bulk.CHUNK, len(merged)), len(merged)
        return
    for start in range(0, len(checked.rows), bulk.CHUNK):
        chunk = checked.rows[start : start + bulk.CHUNK]
        numbers = sorted({row["customer"] for row in chunk})
        bulk.upsert_customers(session, packs, [{"number": number} for number in numbers], now)
        bulk.add_orders(session, chunk, now)
        yield start + len(chunk), len(checked.rows)


def _merged(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per customer number, later cells filling or overriding earlier ones."""
    by_number: dict[str, dict[str, Any]] = {}
    for row in rows:
        by_number.setdefault(row["number"], {}).update(row)
    return list(by_number.values())
