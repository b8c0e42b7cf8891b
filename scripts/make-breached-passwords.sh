#!/usr/bin/env bash
# Rebuilds assets/data/breached-passwords.txt.gz, the list of breached passwords that
# src/accounts/password.rs refuses (with assets/data/common-passwords.txt, the hand-kept
# Brazilian list).
#
# Source: the "passwords" frequency list of zxcvbn (Dropbox, MIT licence), the 30,000 most
# frequent passwords of Mark Burnett's 10 million password corpus from public breaches, as
# packaged by Debian in python3-zxcvbn (apt-get install python3-zxcvbn). Kept: entries of
# 12 characters or more (whole passwords that pass the length rule), and entries that begin
# and end with a letter (the "core" a password is reduced to after stripping leading and
# trailing digits and symbols, e.g. "dragon" in "dragon2024!!").
set -euo pipefail
cd "$(dirname "$0")/.."
out=assets/data/breached-passwords.txt.gz
/usr/bin/python3 - <<'PY' | gzip -9 -n > "$out"
from zxcvbn.frequency_lists import FREQUENCY_LISTS
print("# Breached passwords refused at sign-up (NIST SP 800-63B 5.1.1.2), compared lower-case.")
print("# From zxcvbn's 'passwords' list (MIT licence, (c) 2012 Dropbox, Inc.), derived from")
print("# Mark Burnett's corpus of 10 million breached passwords; made by")
print("# scripts/make-breached-passwords.sh.")
seen = set()
for w in FREQUENCY_LISTS["passwords"]:
    w = w.strip().lower()
    if not w or w in seen or w.startswith("#"):
        continue
    if len(w) >= 12 or (len(w) >= 3 and w[0].isalpha() and w[-1].isalpha()):
        seen.add(w)
        print(w)
PY
echo "$out: $(zcat "$out" | grep -vc '^#') entries, $(stat -c %s "$out") bytes"
