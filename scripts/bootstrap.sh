#!/usr/bin/env bash
# Installs everything listingwatch needs on a fresh Debian machine; safe to run again.
# Debian packages (chromium, a JDK, Maven) only when missing; the virtual
# environment is rebuilt only when requirements.lock changes; the Elasticsearch
# distribution is fetched once into the ignored .cache/ directory.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_missing=()
[ -x /usr/bin/chromium ] || apt_missing+=(chromium)
command -v java >/dev/null || apt_missing+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || apt_missing+=(maven)
# Services the tests start themselves: Redis (shared crawl frontier, Celery broker) and
# PostgreSQL (production Airflow metadata); Tor for onion sources.
command -v redis-server >/dev/null || apt_missing+=(redis-server)
[ -d /usr/lib/postgresql ] || apt_missing+=(postgresql)
command -v tor >/dev/null || apt_missing+=(tor)
# Fonts a screenshot of these listings needs: colour emoji, CJK, Arabic, Cyrillic.
[ -f /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ] || apt_missing+=(fonts-noto-color-emoji)
[ -d /usr/share/fonts/opentype/noto ] || apt_missing+=(fonts-noto-cjk)
[ -f /usr/share/fonts/truetype/noto/NotoSansArabic-Regular.ttf ] || apt_missing+=(fonts-noto-core)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || apt_missing+=(fonts-dejavu-core)
# Tesseract reads text in listing photos (menus, price lists), in English and Spanish.
command -v tesseract >/dev/null || apt_missing+=(tesseract-ocr)
[ -f /usr/share/tesseract-ocr/5/tessdata/eng.traineddata ] || apt_missing+=(tesseract-ocr-eng)
[ -f /usr/share/tesseract-ocr/5/tessdata/spa.traineddata ] || apt_missing+=(tesseract-ocr-spa)
# pdftoppm renders takedown report PDFs to PNG for checks.
command -v pdftoppm >/dev/null || apt_missing+=(poppler-utils)
if [ ${#apt_missing[@]} -gt 0 ]; then
  echo "==> installing Debian packages: ${apt_missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${apt_missing[@]}" >/dev/null
fi

if ! python3 -m uv --version >/dev/null 2>&1; then
  echo "==> installing uv (fast, cached Python installs)"
  python3 -m pip install -q --disable-pip-version-check uv
fi

stamp=".venv/.installed-$(cat requirements.lock pyproject.toml | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "==> installing Python packages into .venv (first run downloads torch; later runs use the cache)"
  [ -x .venv/bin/python ] || python3 -m uv venv -q .venv --python python3
  # Every wheel is checked against the SHA-256 the lock file records (uv pip compile --generate-hashes).
  python3 -m uv pip sync -q --require-hashes --python .venv/bin/python requirements.lock
  python3 -m uv pip install -q --python .venv/bin/python --no-deps -e .
  rm -f .venv/.installed-*
  touch "$stamp"
fi

.venv/bin/listingwatch es fetch
