#!/usr/bin/env bash
# Installs the Python packages the test suite uses, when missing, pinned:
# chDB (a current ClickHouse engine, in-process) for the SQL cross-check;
# pyarrow and pandas to read exports back; Jupyter's nbconvert, ipykernel and
# matplotlib to execute the notebooks; the OpenTelemetry SDK with its OTLP
# exporters (gRPC and HTTP/protobuf) and the OpenFeature SDK with its official
# OpenTelemetry hook for the real-SDK acceptance tests (cmd/ingest).
set -euo pipefail
PYTHON=${PYTHON:-python3}
want=()
# A package counts as present only at its pinned version, read from its
# installed metadata: "import chdb" can succeed on a half-removed install.
for pin in chdb==4.4.0 pyarrow==26.0.1 pandas==3.1.1 nbconvert==7.17.2 ipykernel==7.4.0 matplotlib==3.11.2 \
  opentelemetry-sdk==1.45.2 opentelemetry-exporter-otlp-proto-grpc==1.45.2 opentelemetry-exporter-otlp-proto-http==1.45.2 \
  openfeature-sdk==0.10.0 openfeature-hooks-opentelemetry==0.3.1; do
  "$PYTHON" -c "import importlib.metadata as m, sys; sys.exit(m.version('${pin%%==*}') != '${pin#*==}')" 2>/dev/null || want+=("$pin")
done
if [ ${#want[@]} -gt 0 ]; then
  echo "[pydeps] installing ${want[*]}" >&2
  "$PYTHON" -m pip install --quiet --disable-pip-version-check "${want[@]}" >&2
fi
# The notebooks run on the kernel named python3; register it for this
# interpreter when Jupyter does not know one.
if ! "$PYTHON" -m jupyter kernelspec list 2>/dev/null | grep -q '^ *python3 '; then
  "$PYTHON" -m ipykernel install --user --name python3 >&2
fi
