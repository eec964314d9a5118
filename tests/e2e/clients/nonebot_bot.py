"""A NoneBot2 bot run as a subprocess by test_nonebot.py (not collected by pytest).

Its whole NoneBot config (driver, host, port, onebot_* keys) comes as JSON in the
CATNEST_NONEBOT_CONFIG environment variable; NoneBot reads undeclared keys only from .env
files, so they are passed to nonebot.init() explicitly. The plugin is nonebot_ping.py.
"""

from __future__ import annotations

import json
import os

import nonebot
from nonebot.adapters.onebot.v11 import Adapter

nonebot.init(**json.loads(os.environ["CATNEST_NONEBOT_CONFIG"]))
nonebot.get_driver().register_adapter(Adapter)
nonebot.load_plugin("nonebot_ping")

if __name__ == "__main__":
    nonebot.run()
