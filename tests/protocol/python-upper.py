# Writes python-upper.json: what Python's str.upper() does to every code point it changes, the code
# points Python's Unicode database leaves unassigned, and sample strings with their uppercase form.
# Run: python3 tests/protocol/python-upper.py > tests/protocol/python-upper.json
import json, random, sys, unicodedata

changed = {}
unassigned = []
start = None
for cp in range(0x110000):
    if 0xD800 <= cp <= 0xDFFF:
        continue
    ch = chr(cp)
    if ch.upper() != ch:
        changed[cp] = ch.upper()
    if unicodedata.category(ch) == "Cn":
        if start is None:
            start = cp
    elif start is not None:
        unassigned.append([start, cp - 1])
        start = None
if start is not None:
    unassigned.append([start, 0x10FFFF])

rng = random.Random(12000)
alphabet = [chr(c) for c in changed] + list("abc xyz 0123 ß ﬁ ǰ ΐ straße 한국어 ü ñ\n\t")
samples = []
for _ in range(300):
    s = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
    samples.append([s, s.upper()])

json.dump({
    "python": sys.version.split()[0],
    "unicode": unicodedata.unidata_version,
    "upper": {str(k): v for k, v in changed.items()},
    "unassigned": unassigned,
    "samples": samples,
}, sys.stdout, ensure_ascii=False, separators=(",", ":"))
sys.stdout.write("\n")
