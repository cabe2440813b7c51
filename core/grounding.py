"""Which drug a listing offers, read from its words: the substance classes it names as the product.

A classifier head learns substances from labels, and market categories are noisy labels (a
fentanyl listing filed under "opioids/other" taught the heads that "Fentanyl powder" means
`other_drug`). When the text names the product outright (a drug's name, an analogue, a
precursor's chemical name, a brand, a distinctive street name such as "M30" or "fetty"), that
name says the class better than any head. Slang and ordinary words ("ice", "blues", "snow",
"iso") are left to the heads, which read them in context (`Lexicon.ambiguous`).

A name is not the product when the text only compares with it or warns about it: "stronger than
fent", "isomer of isotonitazene" is still a nitazene's own name, but "laced with fentanyl",
"fentanyl test strips", "tested positive for xylazine" and "fentanyl-free" are not offers of it.
Those mentions are skipped. Grounding never decides *whether* a listing is an offer (the sale
head does); it decides which class a flagged offer is about.
"""

import re
from collections.abc import Mapping

from .labels import SUBSTANCES
from .lexicon import Lexicon, find_matches

# Words right before a name that make it a comparison, a warning or an absence, not the product.
_MENTION_BEFORE = re.compile(
    r"(?:\b(?:laced|cut|contaminated|tainted|adulterated|spiked|mixed|poisoned|mezclad[oa]s?|contaminad[oa]s?"
    r"|adulterad[oa]s?|cortad[oa]s?)\s+(?:with|by|con)"
    r"|\b(?:stronger|weaker|safer|better|cheaper|potent|powerful)\s+than|\bmore\s+potent\s+than|\bm[aá]s\s+fuerte\s+que"
    r"|\b(?:like|unlike|similar\s+to|alternative\s+to|replacement\s+(?:for|of)|substitute\s+(?:for|of)|instead\s+of"
    r"|compared\s+(?:to|with)|vs\.?|versus|cousin\s+of|indistinguishable\s+from|isomer\s+of|analog(?:ue)?\s+of|parecid[oa]\s+al?|como\s+el|como\s+la|en\s+lugar\s+de)"
    r"|\b(?:no|not|non|zero|without|free\s+of|sin|libre\s+de|never|nunca)"
    r"|\b(?:tested\s+positive\s+for|positive\s+for|tests?\s+for|testing\s+for|screen(?:s|ing)?\s+for"
    r"|detect(?:s|ed|ing)?|detection\s+of|presence\s+of|traces?\s+of|dio\s+positivo\s+(?:a|para)|positivo\s+(?:a|para))"
    r"|\b(?:overdos(?:e|es|ed)\s+(?:on|from|of)|deaths?\s+(?:from|of)|died\s+(?:of|from)|linked\s+to|driven\s+by"
    r"|sobredosis\s+(?:por|de)|muertes?\s+por|dangers?\s+of|risks?\s+of|warning\s+about|beware\s+of)"
    r"|\b(?:test\s+strips?|testing\s+strips?|test\s+kits?|tiras?\s+(?:reactivas?\s+)?(?:de|para)|pruebas?\s+(?:de|para)"
    r"|kits?\s+(?:de|para))"
    r")\s*[\"'(\[]?\s*$",
    re.IGNORECASE,
)
# Words right after a name that make it a warning or a test, not the product.
_MENTION_AFTER = re.compile(
    r"^\s*(?:[-‐]?\s*free\b(?!\s+(?:shipping|delivery|sample|samples|envio|envío))|[-‐]?\s*(?:test|testing)\s+"
    r"(?:strips?|kits?)|[-‐]?\s*laced\b|(?:replacement|alternative|substitute|analog(?:ue)?)s?\b|[-‐]?\s*(?:related|involved|linked|positive)\b"
    r"|overdos(?:e|es)|poisonings?|deaths?|crisis|epidemic|vaccine|antidote|detection|awareness|warning|alert"
    r"|sobredosis|muertes?|crisis|alerta|advertencia)",
    re.IGNORECASE,
)
WINDOW = 40  # characters either side that are read for a mention cue
# Where the product is named, most telling first. A title names the product; a description often
# carries the vendor's whole menu ("we also have Xanax, Fentanyl, Morphine..."), so it is read only
# when the title names nothing. A seller's handle ("fentyplug") names no product.
FIELDS = ("title", "description")


def is_mention(text: str, start: int, end: int) -> bool:
    """True when the name at text[start:end] is compared with, warned about or said to be absent."""
    before = text[max(0, start - WINDOW) : start]
    after = text[end : end + WINDOW]
    return bool(_MENTION_BEFORE.search(before) or _MENTION_AFTER.match(after))


def offered_substances(fields: Mapping[str, str | None], lexicon: Lexicon) -> list[str]:
    """The substance classes the listing names as its product, in `SUBSTANCES` order; [] when none is named.

    The first field (title, then description) that names any product decides.
    """
    for name in FIELDS:
        text = fields.get(name) or ""
        named = {
            m.category
            for m in find_matches(text, lexicon)
            if m.grounds and m.category in SUBSTANCES and not is_mention(text, m.start, m.end)
        }
        if named:
            return [s for s in SUBSTANCES if s in named]
    return []


def substances_for(fields: Mapping[str, str | None], lexicon: Lexicon, from_heads: list[str]) -> tuple[list[str], str]:
    """A flagged listing's substances and where they came from: the names in its text, else the heads.

    Returns (substances, "text" | "heads").
    """
    named = offered_substances(fields, lexicon)
    return (named, "text") if named else (list(from_heads), "heads")


# A count sold for a price, as street pill offers write it: "100 for 900", "100ct $900", "x100 @ $8",
# "50 por 450", "$10 each", "$5 a pop". Prices alone ("$12.99") and counts alone ("60 tablets") are not it.
_COUNT_FOR_PRICE = re.compile(
    r"(?:(?<![\w.,])x?\d[\d,.]*k?\s*(?:ct|count|pcs|pills|tabs|pastillas)?\s*(?:for|@|por|en)\s*[$€]?\s*\d"
    r"|(?<![\w.,])\d[\d,.]*k?\s*(?:ct|count|pcs)\s*[$€]\s*\d"
    r"|[$€]\s*\d[\d,.]*\s*(?:each|ea|apiece|a\s+pop|per\s+pill|c/u|cada\s+una))",
    re.IGNORECASE,
)
# Words after a pill name that make it hardware or another product ("M30 bolts", "M30 hex nuts").
_GOODS_AFTER = re.compile(
    r"^\W{0,3}(?:(?:hex|flange|stainless|zinc|galvani[sz]ed|steel|metric|anchor|threaded|blue|azul(?:es)?)\s+){0,3}"
    r"(?:bolts?|nuts?|washers?|screws?|studs?|rods?|threads?|taps?|dies|sockets?|wrench(?:es)?|spanners?"
    r"|tornillos?|tuercas?|arandelas?|pernos?|roscas?|machos?)\b",
    re.IGNORECASE,
)
# Words before a pill name that make it hardware ("tornillos M30", "hex bolt M30").
_GOODS_BEFORE = re.compile(
    r"\b(?:bolts?|nuts?|washers?|screws?|studs?|rods?|thread(?:ed)?|taps?|dies|sockets?|hex|metric"
    r"|tornillos?|tuercas?|arandelas?|pernos?|roscas?|machos?)\W{0,3}$",
    re.IGNORECASE,
)
# Headlines and warnings that quote counts and prices without selling anything.
_REPORT = re.compile(
    r"\b(?:seiz\w*|police|arrest\w*|charged|sentenced|indict\w*|tested|testing|laced|warn\w*|alert|overdos\w*"
    r"|deaths?|killed|worth|street\s+value|decomis\w*|asegur\w*|incaut\w*|detenid\w*|alerta|sobredosis)\b",
    re.IGNORECASE,
)


def street_pill_offer(fields: Mapping[str, str | None], lexicon: Lexicon) -> bool:
    """Whether the title offers counterfeit pills by a name that grounds them and a count sold for a price.

    "M30 blues 100 for 900, fast shipping" says all of it in the words: the pressed-pill name (not
    slang: "blues" alone is left to the heads) and a count for a price. Such terse offers are rare
    in the market dumps the model trains on, so the model can score them under its threshold; the
    words decide here whatever the source kind. Not an offer: hardware sold by the same name
    ("M30 bolts 100 for $90"), a name that is only mentioned ("laced with", "fake M30 test strips"),
    and reports that quote counts and prices (seizures, warnings).
    """
    text = fields.get("title") or ""
    if not _COUNT_FOR_PRICE.search(text) or _REPORT.search(text):
        return False
    for m in find_matches(text, lexicon):
        if m.category != "counterfeit_pill" or not m.grounds or is_mention(text, m.start, m.end):
            continue
        before, after = text[max(0, m.start - WINDOW) : m.start], text[m.end : m.end + WINDOW]
        if not _GOODS_AFTER.match(after) and not _GOODS_BEFORE.search(before):
            return True
    return False


# Products sold to prevent overdoses or to test a supply: naloxone and nalmefene under their names and brands,
# and test strips or kits. A listing of one of these is harm reduction, not a drug offer.
_HARM_REDUCTION_PRODUCT = re.compile(
    r"\b(?:naloxon[ea]|narcan|kloxxado|zimhi|rextovy|nalmef[ei]n[ea]?|opvee|zurnai"
    r"|(?:test(?:ing)?|reagent|drug[-\s]checking)\s+(?:strips?|kits?)|fts\b|tiras?\s+reactivas?"
    r"|kits?\s+de\s+(?:prueba|naloxona|reactivos?))",
    re.IGNORECASE,
)


def harm_reduction_product(fields: Mapping[str, str | None], lexicon: Lexicon) -> bool:
    """Whether the listing sells a harm-reduction product (naloxone, test strips) and offers no drug by name.

    "Naloxone (Narcan) nasal spray 4mg" reads like an offer to a model that learned that a dose and a
    quantity make one; the words say it is the antidote. A drug the listing names as its product
    ("M30s 100 for 900, free Narcan with every order") keeps the listing an offer: then the rule is off.
    """
    title = fields.get("title") or ""
    return bool(_HARM_REDUCTION_PRODUCT.search(title)) and not offered_substances(fields, lexicon)
