#!/usr/bin/env bash
# Placeholder until the libnice + OpenSSL integration lands.
echo "integration: not yet built"
