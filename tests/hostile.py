"""One catalogue of hostile names, reused by every test that feeds user text to an output.

Each entry is text a user (or an attacker who hands a planner a file) could put in a title, a scenario name,
a facility's name or id, or a community's name: markup that closes an element or opens a script, event
handlers in attributes, ``javascript:`` URLs, quotes and backslashes, line breaks, template syntax (Jinja's
``{{ }}`` and ``{% %}``, JavaScript's ``${}``), spreadsheet formulas (OWASP's CSV-injection list), very long
text, bidirectional and zero-width characters, and plain Chinese. None may run, and each must come out as the
same text it went in as.
"""

from __future__ import annotations

#: The payloads' script: a page that ran any of them called ``alert(1)``.
ALERT = "alert(1)"

HOSTILE_NAMES: tuple[str, ...] = (
    "</title><script>alert(1)</script><title>",
    '"><img src=x onerror=alert(1)>',
    "'><svg onload=alert(1)>",
    "</script><script>alert(1)</script>",
    "<iframe srcdoc=\"<script>alert(1)</script>\"></iframe>",
    "javascript:alert(1)",
    '<a href="javascript:alert(1)">link</a>',
    "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &#x3C;b&#x3E;",
    "O'Brien \"quoted\" back\\slash \\u003c \\\\ end\\",
    "line one\nline two\r\nline three\ttabbed",
    "{{ 7*7 }} {% for x in range(3) %}X{% endfor %} {# c #} ${alert(1)} #{1}",
    '=HYPERLINK("http://x","y")',
    "+cmd|' /C calc'!A0",
    "@SUM(1)",
    "-2+3",
    "\t=1+1",
    "\r=1+1",
    "养老服务中心（示例）/ 长者食堂",
    "\u202eevil\u202c right-to-left \u05e9\u05dc\u05d5\u05dd \u0645\u0631\u062d\u0628\u0627",
    "zero\u200bwidth\u200d\ufeffjoin",
    "long " + "很长的名字 <b>x</b> " * 300,
)

#: Formula payloads: text a spreadsheet would run if written as given.
FORMULAS: tuple[str, ...] = tuple(n for n in HOSTILE_NAMES if n[:1] in ("=", "+", "-", "@", "\t", "\r"))

#: A short hostile title for pages (a title has to fit a window bar; the long one is tested as a name).
HOSTILE_TITLE = "</title><script>alert(1)</script><title>\"'><img src=x onerror=alert(1)> {{ 7*7 }} ${1+1} =1+1"
