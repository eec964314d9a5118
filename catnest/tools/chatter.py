"""Made-up but plausible people, groups and talk for seeded worlds.

Everything is drawn from one `random.Random`, so a seed gives the same world every time.
Message segments are exactly what `normalize_message` makes of what a user would type (string
data values, `text` / `face` / `at` / `reply`), and each raw_message equals
`raw_message(segments)`, the CQ string a sent message gets (tests/tools check every one).
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import orjson

from catnest.onebot.cqcode import encode_segment

_ZH = (
    "哈哈哈", "好的", "在吗", "收到", "明天见", "今天吃什么", "这个 bug 修好了吗", "晚安", "早上好",
    "有人吗", "+1", "太强了", "我去看看", "刚到家", "周末一起打球？", "笑死", "稍等一下", "没问题",
    "我也是这么想的", "等我五分钟", "下班了吗", "谁有空帮我看下 PR", "这个群好热闹", "已阅",
    "求资料", "冲冲冲", "好耶", "真的假的", "我不信", "有道理", "开会了开会了", "今天好冷",
)  # fmt: skip
_EN = (
    "hi", "lol", "brb", "sounds good", "see you tomorrow", "did the build pass?", "ping", "ok",
    "thanks!", "nice one", "who broke main?", "coffee?", "on my way", "good night", "haha",
    "can someone review my PR", "works on my machine", "ship it", "any news?", "let me check",
)  # fmt: skip
# Texts that need CQ escaping (`[`, `]`, `&`) or look like codes: raw_message must escape them.
_ODD = (
    "[doge]", "a & b", "1,2,3", "[图片]", "&#91;not a code&#93;", "R&D 周会改到 3 点",
    "[CQ:face,id=1] is how a face looks", "list[int] vs List[int]",
)  # fmt: skip
_COMMANDS = ("/help", "/ping", "/roll 1d20", "/weather 上海", "/echo hello", "/status")
# Common QQ system face ids.
_FACES = ("14", "5", "63", "76", "178", "179", "182", "212", "277", "66", "271", "307")
_NICK_HEADS = ("小", "阿", "大", "老", "胖", "萌")
_NICK_TAILS = ("明", "红", "鱼", "猫", "白", "黑", "王", "李", "熊", "兔", "狐", "龙", "桃", "糖")
_EN_NAMES = (
    "Alice", "Bob", "Carol", "Dave", "Erin", "Frank", "Grace", "Heidi", "Ivan", "Judy", "Mallory",
    "Niaj", "Olivia", "Peggy", "Rupert", "Sybil", "Trent", "Victor", "Walter", "Momo", "Kiki",
)  # fmt: skip
_GROUP_TOPICS = (
    "Python 学习交流", "摸鱼小分队", "Bot 测试群", "周末羽毛球", "前端互助", "考研冲冲冲",
    "Minecraft 服务器", "NoneBot 用户群", "读书会", "相亲相爱一家人", "Rust 中文社区", "游戏开黑",
    "Open Source Friday", "Homelab", "Catnest 体验群", "租房信息",
)  # fmt: skip
_TITLES = ("龙王", "群聊之火", "吐槽担当", "快乐源泉", "潜水冠军", "技术大佬")
_SIGNS = ("", "", "", "今天也要加油", "busy", "别私聊我，群里说", "🐱", "Life is short")

# Shares of message kinds (cumulative): plain text, face, @, reply, bot command, the rest mixed.
_PLAIN, _FACE, _AT, _REPLY, _COMMAND = 0.70, 0.78, 0.88, 0.95, 0.98


# One encoded segment: (its JSON as orjson writes it, its CQ code as cqcode writes it).
Piece = tuple[str, str]


def piece(seg_type: str, **data: str) -> Piece:
    """A segment encoded both ways, by the same encoders the world uses."""
    segment = {"type": seg_type, "data": data}
    return orjson.dumps(segment).decode(), encode_segment(segment)


def join(*pieces: Piece) -> tuple[str, str]:
    """(segments JSON, raw_message) of a message made of `pieces`.

    orjson writes a list as its items' JSON joined by commas, and raw_message is the codes
    joined and then trimmed; no piece here starts or ends the message with whitespace (pool
    texts are stripped), so joining gives exactly `orjson.dumps` and `raw_message` of the list.
    Building each message from cached pieces keeps a million-message seed fast.
    """
    return "[" + ",".join(p[0] for p in pieces) + "]", "".join(p[1] for p in pieces)


class Chatter:
    """Names and messages drawn from `rng`."""

    def __init__(self, rng: random.Random, pool_size: int = 4096) -> None:
        self._rng = rng
        self._random = rng.random  # C-fast; randrange() costs a microsecond a call
        self._texts = [self._sentence() for _ in range(pool_size)]
        self._text_pieces = [piece("text", text=t) for t in self._texts]
        # The same texts after an @ (`[CQ:at,qq=1] hello`: the space belongs to the text).
        self._spaced_pieces = [piece("text", text=" " + t) for t in self._texts]
        self._plain = [join(p) for p in self._text_pieces]
        self._commands = [join(piece("text", text=c)) for c in _COMMANDS]
        self._faces = [piece("face", id=f) for f in _FACES]
        self._ats: dict[int, Piece] = {}

    def _pick(self, items: Sequence[str]) -> str:
        return items[int(self._random() * len(items))]

    def _sentence(self) -> str:
        r = self._random()
        if r < 0.05:
            return self._pick(_ODD)
        source = _ZH if r < 0.65 else _EN
        parts = [self._pick(source) for _ in range(1 + int(self._random() * 3))]
        joiner = "，" if source is _ZH else " "
        text = joiner.join(parts)
        if self._random() < 0.03:
            text += "\n" + self._pick(source)  # a two-line message now and then
        return text.strip()

    # --- people and groups -----------------------------------------------------------------

    def nickname(self) -> str:
        """A QQ-style nickname."""
        if self._random() < 0.5:
            return self._pick(_NICK_HEADS) + self._pick(_NICK_TAILS)
        name = self._pick(_EN_NAMES)
        return f"{name}{int(self._random() * 1000)}" if self._random() < 0.4 else name

    def sex(self) -> str:
        """male, female or unknown."""
        return self._pick(("male", "female", "unknown"))

    def age(self) -> int:
        """An age, or 0 for an account that does not show one."""
        return 0 if self._random() < 0.3 else 16 + int(self._random() * 30)

    def sign(self) -> str:
        """A profile signature (often empty)."""
        return self._pick(_SIGNS)

    def group_name(self, number: int) -> str:
        """A group name; `number` keeps the many groups of big worlds apart."""
        return f"{self._pick(_GROUP_TOPICS)} {number}"

    def card(self, nickname: str) -> str:
        """A group card: often empty (the nickname shows), else a variation of it."""
        r = self._random()
        if r < 0.7:
            return ""
        if r < 0.85:
            return f"{nickname}-{self._pick(('北京', '上海', '深圳', 'remote', '学生'))}"
        return f"【{self._pick(('摸鱼', '潜水', '打工'))}】{nickname}"

    def title(self) -> str:
        """A special title, rarely."""
        return self._pick(_TITLES) if self._random() < 0.05 else ""

    def remark(self, nickname: str) -> str:
        """What someone calls a friend, usually nothing."""
        return (
            f"{nickname}（{self._pick(('同事', '同学', '网友', '测试'))}）"
            if self._random() < 0.2
            else ""
        )

    # --- talk ------------------------------------------------------------------------------

    def message(
        self,
        sender: int,
        members: Sequence[int],
        *,
        group: bool,
        bot: int,
        recent: Sequence[int],
    ) -> tuple[str, str]:
        """(segments JSON, raw_message) of one message by `sender`.

        `members` are who else may be mentioned in a group; `recent` are ids of earlier
        messages of the same conversation that a reply may quote.
        """
        random_ = self._random
        r = random_()
        if r < _PLAIN:
            return self._plain[int(random_() * len(self._plain))]
        i = int(random_() * len(self._texts))
        if r < _FACE:
            face = self._faces[int(random_() * len(self._faces))]
            return join(face) if random_() < 0.3 else join(self._text_pieces[i], face)
        if r < _AT and group:
            return join(self._at(self._mention(sender, members, bot)), self._spaced_pieces[i])
        if r < _REPLY and recent:
            return join(self._reply(recent), self._text_pieces[i])
        if r < _COMMAND and sender != bot:
            return self._commands[int(random_() * len(self._commands))]
        face = self._faces[int(random_() * len(self._faces))]
        pieces = [self._text_pieces[i], face]
        if group:
            pieces[0:1] = [self._at(self._mention(sender, members, bot)), self._spaced_pieces[i]]
        if recent:
            pieces.insert(0, self._reply(recent))
        return join(*pieces)

    def _at(self, uin: int) -> Piece:
        found = self._ats.get(uin)
        if found is None:
            found = self._ats[uin] = piece("at", qq=str(uin))
        return found

    def _reply(self, recent: Sequence[int]) -> Piece:
        return piece("reply", id=str(recent[int(self._random() * len(recent))]))

    def _mention(self, sender: int, members: Sequence[int], bot: int) -> int:
        # Bots get mentioned far more than their share: that is how users talk to them.
        if sender != bot and self._random() < 0.4:
            return bot
        target = members[int(self._random() * len(members))]
        return bot if target == sender else target
