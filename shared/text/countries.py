"""Country names as newsrooms write them, both ways: code → name and name → ISO 3166-1 alpha-2.

Enrichment names the countries it finds; the query parser reads `country:"South Korea"`.
"""

from __future__ import annotations

import pycountry

# Where pycountry's official name is not what a newsroom writes.
DISPLAY_NAMES = {"RU": "Russia", "GB": "United Kingdom", "US": "United States",
                 "CZ": "Czech Republic", "TW": "Taiwan", "KR": "South Korea",
                 "KP": "North Korea", "IR": "Iran", "SY": "Syria", "VN": "Vietnam",
                 "VA": "Vatican City"}
# Short names people type that pycountry does not know.
_OTHER_NAMES = {"uk": "GB", "britain": "GB", "great britain": "GB", "usa": "US", "us": "US"}
_BY_NAME = {name.lower(): code for code, name in DISPLAY_NAMES.items()} | _OTHER_NAMES


def country_name(code: str) -> str:
    if code in DISPLAY_NAMES:
        return DISPLAY_NAMES[code]
    country = pycountry.countries.get(alpha_2=code)
    if country is None:
        return code
    return str(getattr(country, "common_name", None) or country.name)


def country_code(text: str) -> str | None:
    """A two-letter code as given, else the code of a country name; None when unknown."""
    text = text.strip()
    if len(text) == 2 and text.isalpha():
        return text.upper()
    if text.lower() in _BY_NAME:
        return _BY_NAME[text.lower()]
    try:
        return str(pycountry.countries.lookup(text).alpha_2)
    except LookupError:
        return None
