#!/usr/bin/env bash
# Creates .venv with the pinned stack (requirements/) and builds the compiled operators.
# Idempotent: rerunning it only installs what changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade 'pip>=23.2'
.venv/bin/python -m pip install -q -r requirements.txt
if .venv/bin/python -m pip show -q opencv-python-headless 2>/dev/null; then
  # Environments made before we settled on opencv-python: two OpenCV packages share cv2.
  .venv/bin/python -m pip uninstall -q -y opencv-python-headless
  .venv/bin/python -m pip install -q --force-reinstall --no-deps opencv-python
fi
if [ -f requirements/mediapipe.txt ]; then
  # mediapipe's declared dependencies pull jax and a second OpenCV; see
  # docs/en/get_started.md and requirements/mediapipe.txt.
  .venv/bin/python -m pip install -q --no-deps -r requirements/mediapipe.txt
fi
# torch must be importable while the extension compiles, hence no build isolation.
.venv/bin/python -m pip install -q --no-build-isolation --no-deps -e .
.venv/bin/python -c "import geoconv_mm; print('geoconv_mm', geoconv_mm.__version__, geoconv_mm.build_info())"
