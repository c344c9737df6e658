#!/usr/bin/env bash
# Debian packages the renderers use. Run as root (or with sudo) on Debian 12 / Ubuntu 22.04+.
#   scripts/system-deps.sh           everything: WeasyPrint libs, fonts, PDF tools, Chromium, LibreOffice
#   scripts/system-deps.sh --minimal WeasyPrint libraries, fonts and PDF tools only
# Without Chromium the `chromium` engine is unavailable (its tests skip); without LibreOffice
# DOCX -> PDF fails with a clear error. Everything else comes from PyPI.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

packages=(
  libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0   # WeasyPrint (harfbuzz subsetting: 2x faster)
  fonts-dejavu fonts-liberation2                         # fonts the default styles name
  qpdf poppler-utils                                     # PDF checks in the tests (qpdf --check, pdftotext)
)
if [ "${1:-}" != "--minimal" ]; then
  packages+=(
    chromium                                             # the `chromium` engine (/usr/bin/chromium)
    libreoffice-writer-nogui                             # DOCX -> PDF (soffice --headless)
    libreoffice-calc-nogui libreoffice-impress-nogui     # opening XLSX/PPTX in acceptance checks
  )
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
if ! command -v apt-get >/dev/null || { [ -n "$SUDO" ] && ! command -v sudo >/dev/null; }; then
  echo "system-deps: cannot install ${missing[*]} here (no apt-get or no root); engines that need them are skipped" >&2
  exit 0
fi
echo "system-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
