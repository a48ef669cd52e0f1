"""moment.js-style date patterns (the corpus's ``date_format``) applied to Python dates.

Source: moment.js format tokens. The corpus only uses ``MMM DD, YYYY``; the common tokens
are supported so an editor's other choice also works. Text in ``[brackets]`` is literal.
"""

import re

MONTHS = (
    "January February March April May June July August September October November December"
).split()
WEEKDAYS = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()

_TOKEN_RE = re.compile(r"\[[^\]]*\]|YYYY|YY|MMMM|MMM|MM|Mo|M|DDDD|DD|Do|D|dddd|ddd|d")


def _ordinal(n):
    if 10 <= n % 100 <= 20:
        suffix = "th"
    else:
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def format_date(value, pattern):
    """Format ``value`` (a date) with a moment.js ``pattern``: ``MMM DD, YYYY`` -> ``Nov 29, 2024``.

    Characters that are not tokens are copied as they are. Returns a str.
    """
    tokens = {
        "YYYY": lambda d: f"{d.year:04d}",
        "YY": lambda d: f"{d.year % 100:02d}",
        "MMMM": lambda d: MONTHS[d.month - 1],
        "MMM": lambda d: MONTHS[d.month - 1][:3],
        "MM": lambda d: f"{d.month:02d}",
        "Mo": lambda d: _ordinal(d.month),
        "M": lambda d: str(d.month),
        "DDDD": lambda d: f"{d.timetuple().tm_yday:03d}",
        "DD": lambda d: f"{d.day:02d}",
        "Do": lambda d: _ordinal(d.day),
        "D": lambda d: str(d.day),
        "dddd": lambda d: WEEKDAYS[d.weekday()],
        "ddd": lambda d: WEEKDAYS[d.weekday()][:3],
        "d": lambda d: str((d.weekday() + 1) % 7),
    }

    def replace(match):
        token = match.group(0)
        if token.startswith("["):
            return token[1:-1]
        return tokens[token](value)

    return _TOKEN_RE.sub(replace, pattern or "MMM DD, YYYY")
