"""Seeded, realistic data shapes for the benches: customers, intakes and SLA deadline samples.

Uniform random strings would flatter the engine (short texts, no repeat customers,
every priority equally common) and hide costs that real traffic has: Chinese text
in JSON, a P2-heavy priority mix that sends most clocks onto the working-day
calendar, a few VIPs, repeat customers. Everything comes from `random.Random(seed)`,
so two runs (and the engine and its baseline) see the same data.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from engine.records.intake import NewRecord

T = TypeVar("T")

# The most common surnames first; weights roughly follow their share of the population.
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝"
)
COMPOUND_SURNAMES = ("欧阳", "司马", "上官", "诸葛", "东方")
GIVEN_CHARS = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超霞平刚英华玲飞鹏辉建国文斌宇浩凯秀兰红梅琳晨欣怡子涵"
    "思雨佳琪博文俊杰晓东海燕志强婷雪颖慧鑫宁欢莉倩晶璐梓萱一诺昊然嘉豪雅"
)
# Mainland mobile prefixes of the three carriers (and virtual operators).
PHONE_PREFIXES = (
    "130 131 132 133 134 135 136 137 138 139 150 151 152 153 155 156 157 158 159 "
    "166 170 171 173 175 176 177 178 180 181 182 183 184 185 186 187 188 189 191 198 199"
).split()

PRODUCTS = (
    "变频空调",
    "对开门冰箱",
    "滚筒洗衣机",
    "波轮洗衣机",
    "燃气热水器",
    "电热水器",
    "吸油烟机",
    "燃气灶",
    "嵌入式洗碗机",
    "65英寸智能电视",
    "扫地机器人",
    "净水器",
    "微波炉",
    "电饭煲",
    "空气净化器",
    "干衣机",
)

# (category, text): a few dozen complaints as customers write them, about {p}, the product.
TEMPLATES: tuple[tuple[str, str], ...] = (
    ("quality", "{p}开机后不到十分钟就自动断电，重启也没用，家里老人孩子都等着用。"),
    ("quality", "新买的{p}运行时噪音特别大，晚上根本睡不着，怀疑是压缩机有问题。"),
    ("quality", "{p}显示屏出现故障代码E4，按说明书操作后还是不能恢复。"),
    ("quality", "{p}漏水，把地板都泡坏了，请尽快安排师傅上门检查。"),
    ("quality", "{p}用了不到三个月，外壳就出现裂纹，是不是质量有问题？"),
    ("quality", "{p}遥控器失灵，换了新电池也没有反应。"),
    ("quality", "{p}有很大的焦糊味，不敢再用了，担心有安全隐患。"),
    ("quality", "{p}制冷效果越来越差，温度一直降不下来。"),
    ("quality", "{p}通电后指示灯一直闪烁，无法正常启动。"),
    ("quality", "{p}的门封条脱落，关不严，已经影响正常使用。"),
    ("service", "师傅约好上午上门安装{p}，等了一整天都没来，电话也打不通。"),
    ("service", "客服热线一直排队，等了四十分钟还没人接，{p}的问题到现在没解决。"),
    ("service", "上门维修{p}的师傅态度很差，还额外收取了没有说明的费用。"),
    ("service", "{p}报修已经一周了，每次打电话都说在处理，没有任何进展。"),
    ("service", "安装{p}时师傅把墙面弄脏了也不清理，希望公司重视服务质量。"),
    ("service", "{p}的延保服务说好包含上门清洗，现在却说不在范围内。"),
    ("service", "在线客服回复都是模板，{p}的具体问题没有人能说清楚。"),
    ("function", "{p}的App总是连不上家里的WiFi，绑定设备一直失败。"),
    ("function", "{p}的预约功能设置太复杂，老人根本不会用，希望简化操作。"),
    ("function", "希望{p}能支持语音控制，现在只能用手机操作很不方便。"),
    ("function", "{p}升级固件后原来的省电模式不见了，能恢复吗？"),
    ("function", "{p}的童锁功能没法单独关闭，每次都要输入密码。"),
    ("function", "{p}的定时关机不准，设置两小时经常三小时后才关。"),
    ("logistics", "订单里的{p}显示已签收，但我根本没有收到货。"),
    ("logistics", "{p}送到时包装破损严重，机身有明显凹痕。"),
    ("logistics", "{p}承诺三天内送达，已经超过一周还在运输中。"),
    ("logistics", "快递员没有送货上门，{p}被放在小区门口，请核实。"),
    ("logistics", "收到的{p}型号和订单不一致，要求换货。"),
    ("logistics", "{p}配送时少了配件包，安装支架和说明书都没有。"),
    ("other", "想咨询一下{p}的以旧换新活动具体怎么参加。"),
    ("other", "{p}的发票开错了抬头，需要重新开具。"),
    ("other", "建议{p}的说明书增加图示，现在文字太多看不懂。"),
    ("other", "请问{p}的保修期从购买日还是安装日开始算？"),
    ("other", "对{p}整体比较满意，但希望售后回访不要太频繁。"),
    ("other", "{p}参加的满减活动优惠没有到账，请帮忙查询。"),
    ("other", "我要投诉，{p}的宣传和实际功能差距太大。"),
)
SCENARIOS = ("家中日常使用", "出租房内使用", "新房装修后首次使用", "店铺营业使用", "节假日使用")
WISHES = ("尽快上门维修", "换新机", "退货退款", "给个说法", "电话回复即可", "补发配件")

# mix: most feedback is a question or a minor problem.
PRIORITIES = (("P0", 5), ("P1", 25), ("P2", 70))
CHANNELS = (
    ("phone", 30),
    ("online_chat", 25),
    ("wechat", 18),
    ("email", 6),
    ("platform_review", 9),
    ("social_media", 4),
    ("paper_form", 3),
    ("walk_in", 5),
)
TIERS = (("vip", 3), ("high_value", 7), ("regular", 60), (None, 30))
# Channels that hand over their own message id (deduplicated on intake).
MESSAGE_IDS = {
    "phone": "call",
    "online_chat": "chat",
    "wechat": "wxmsg",
    "email": "mail",
    "platform_review": "review",
    "social_media": "post",
}


def pick(rng: random.Random, weighted: Sequence[tuple[T, int]]) -> T:
    """One value by its weight: the mixes above are shares, not equal chances."""
    values = [value for value, _ in weighted]
    weights = [weight for _, weight in weighted]
    return rng.choices(values, weights)[0]


def chinese_name(rng: random.Random) -> str:
    """Surname (rarely a compound one) and a one- or two-character given name."""
    surname = rng.choice(COMPOUND_SURNAMES) if rng.random() < 0.01 else rng.choice(SURNAMES)
    given = "".join(rng.choice(GIVEN_CHARS) for _ in range(1 if rng.random() < 0.3 else 2))
    return surname + given


def phone_number(rng: random.Random) -> str:
    return rng.choice(PHONE_PREFIXES) + f"{rng.randrange(10**8):08d}"


def description(rng: random.Random) -> tuple[str, str, str]:
    """(category, product, text) from a template, sometimes with a second sentence."""
    category, template = rng.choice(TEMPLATES)
    product = rng.choice(PRODUCTS)
    text = template.format(p=product)
    if rng.random() < 0.3:
        text += f"订单号{rng.randrange(10**15, 10**16)}，麻烦尽快处理，谢谢！"
    return category, product, text


@dataclass(frozen=True)
class CustomerShape:
    number: str
    name: str
    contact: str
    tier: str | None


@dataclass(frozen=True)
class IntakeShape:
    """What a channel delivers: the customer, the feedback fields and the intake attributes."""

    customer: CustomerShape
    fields: dict[str, Any]
    channel: str
    category: str
    priority: str
    received_at: datetime
    external_id: str | None

    def new_record(self) -> NewRecord:
        """The engine's intake request for it (the customer travels in the fields)."""
        return NewRecord(
            record_type="feedback",
            fields=self.fields,
            channel=self.channel,
            category=self.category,
            priority=self.priority,
            received_at=self.received_at,
            external_id=self.external_id,
        )


class Generator:
    """All data of one bench run from one seed."""

    def __init__(self, seed: int = 20261123) -> None:
        self.rng = random.Random(seed)
        self._numbers: set[str] = set()
        self._external: set[str] = set()

    def customer(self) -> CustomerShape:
        rng = self.rng
        while (number := f"C{rng.randrange(10**9):09d}") in self._numbers:
            pass
        self._numbers.add(number)
        return CustomerShape(number, chinese_name(rng), phone_number(rng), pick(rng, TIERS))

    def customers(self, n: int) -> list[CustomerShape]:
        return [self.customer() for _ in range(n)]

    def intakes(
        self,
        n: int,
        now: datetime,
        *,
        known: Sequence[CustomerShape] = (),
        repeat_share: float = 0.75,
        days: int = 14,
    ) -> list[IntakeShape]:
        """`n` intakes received over the `days` before `now`, oldest first; `repeat_share` of
        them from `known` customers (the CRM has them), the rest from first-time customers."""
        rng = self.rng
        span = days * 86400
        offsets = sorted((rng.randrange(span) for _ in range(n)), reverse=True)
        intakes = []
        for back in offsets:
            received = now - timedelta(seconds=back)
            repeat = known and rng.random() < repeat_share
            customer = rng.choice(known) if repeat else self.customer()
            category, product, text = description(rng)
            channel = pick(rng, CHANNELS)
            fields: dict[str, Any] = {
                "customer_no": customer.number,
                "customer_name": customer.name,
                "contact": customer.contact,
                "product": product,
                "description": text,
            }
            if rng.random() < 0.7:
                fields["purchased_on"] = (
                    received.date() - timedelta(days=rng.randrange(1, 1100))
                ).isoformat()
            if rng.random() < 0.5:
                occurred = received - timedelta(minutes=rng.randrange(5, 4 * 24 * 60))
                fields["occurred_at"] = occurred.isoformat()
            if rng.random() < 0.3:
                fields["scenario"] = rng.choice(SCENARIOS)
            if rng.random() < 0.4:
                fields["expected_solution"] = rng.choice(WISHES)
            intakes.append(
                IntakeShape(
                    customer=customer,
                    fields=fields,
                    channel=channel,
                    category=category,
                    priority=pick(rng, PRIORITIES),
                    received_at=received,
                    external_id=self._external_id(channel),
                )
            )
        return intakes

    def _external_id(self, channel: str) -> str | None:
        prefix = MESSAGE_IDS.get(channel)
        if prefix is None:
            return None
        while (value := f"{prefix}_{self.rng.getrandbits(64):016x}") in self._external:
            pass
        self._external.add(value)
        return value

    def deadline_samples(
        self, n: int, *, first_year: int = 2025, last_year: int = 2027
    ) -> list[tuple[datetime, float]]:
        """(start, working seconds) pairs: starts on whole minutes anywhere in the years (nights,
        weekends and holidays included), amounts of 1 to 45 working hours in whole minutes, as
        SLA budgets and their 80 % warnings give. Whole minutes let a minute oracle check them."""
        rng = self.rng
        lo = int(datetime(first_year, 1, 1, tzinfo=UTC).timestamp()) // 60
        hi = int(datetime(last_year + 1, 1, 1, tzinfo=UTC).timestamp()) // 60
        return [
            (
                datetime.fromtimestamp(rng.randrange(lo, hi) * 60, UTC),
                float(rng.randrange(60, 45 * 60 + 1) * 60),
            )
            for _ in range(n)
        ]
