#!/usr/bin/env bash
# cache-dir.sh — print the directory where gitless keeps tools it builds for tests and
# benchmarks (kube-apiserver, etcd, peer CLIs). Outside the repo, kept between runs.
# Override with GITLESS_CACHE_DIR.
echo "${GITLESS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/gitless}"
