#!/usr/bin/env bash
# Print deploy/prometheus/alerts.yaml as a Prometheus Operator PrometheusRule, for the kustomize base.
# `make alerts` writes it to deploy/k8s/base/prometheus-rule.yaml; tests/unit/test_deploy_alerts.py
# fails when that file is not exactly this script's output, so the two cannot drift.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cat <<'EOF'
# GENERATED from deploy/prometheus/alerts.yaml by `make alerts`: edit that file, then regenerate.
# Needs the Prometheus Operator's CRDs (monitoring.coreos.com/v1). Its ruleSelector may ask for a label
# (kube-prometheus-stack: `release: <name>`): add it in your overlay. Without the operator, load
# alerts.yaml through Prometheus' rule_files instead (deploy/README.md).
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: acx
  labels:
    app.kubernetes.io/name: acx
    app.kubernetes.io/part-of: acx
spec:
EOF
# The rule file's body (its top level is `groups:`) indented under `spec:`; its header comment stays behind.
sed -e '/^#/d' -e 's/^\(.\)/  \1/' "$here/alerts.yaml"
