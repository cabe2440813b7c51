#!/usr/bin/env bash
# Runs once in the es-setup service: a CA and one certificate per node into the `certs` volume.
# Idempotent: an existing CA is kept, so restarting the stack never invalidates the nodes' certificates.
set -euo pipefail
cd /usr/share/elasticsearch
certs=config/certs
if [[ ! -f "$certs/ca/ca.crt" ]]; then
  bin/elasticsearch-certutil ca --silent --pem --out "$certs/ca.zip"
  unzip -q -o "$certs/ca.zip" -d "$certs"
fi
if [[ ! -f "$certs/es01/es01.crt" ]]; then
  bin/elasticsearch-certutil cert --silent --pem --in config/instances.yml \
    --ca-cert "$certs/ca/ca.crt" --ca-key "$certs/ca/ca.key" --out "$certs/nodes.zip"
  unzip -q -o "$certs/nodes.zip" -d "$certs"
fi
# The nodes run as uid 1000; the pipeline containers (uid 10001) read only the CA certificate.
chown -R 1000:0 "$certs"
find "$certs" -type d -exec chmod 755 {} +
find "$certs" -type f -name '*.key' -exec chmod 640 {} +
chmod 644 "$certs/ca/ca.crt"
echo "certificates ready"
