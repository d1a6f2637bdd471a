#!/usr/bin/env bash
# (Re)builds the seed corpus of each fuzz target, fuzz/corpus/<target>/, from
# the files the repository ships and tests with:
#   spec           openapi.yaml, the admin API's document, every test spec
#   scenario_file  scenarios/*.yaml and every other YAML file under tests/
#   template       the template strings and `from:` expressions of those files
#                  (each alone, and all of them in one JSON object and array)
#   request        HTTP/1.1 requests from the shipped spec's examples
#                  (fuzz/examples/request_seeds.rs)
# Seeds are added beside what fuzzing has found; nothing is removed.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
corpus=fuzz/corpus
mkdir -p $corpus/spec $corpus/scenario_file $corpus/template

# The path as a file name: tests/specs/features.yaml -> tests_specs_features.yaml.
seed() {
  cp "$1" "$corpus/$2/${1//\//_}"
}

seed openapi.yaml spec
seed src/admin_openapi.json spec
scenario_files=(scenarios/*.yaml)
while IFS= read -r file; do
  if [[ $file == tests/specs/* ]] || grep -q '^openapi:' "$file"; then
    seed "$file" spec
  else
    scenario_files+=("$file")
  fi
done < <(find tests -name '*.yaml' | sort)
for file in "${scenario_files[@]}"; do
  seed "$file" scenario_file
done

templates=$(
  {
    grep -ohE "\"[^\"]*\{\{[^\"]*\"|'[^']*\{\{[^']*'" "${scenario_files[@]}" | sed -E 's/^.(.*).$/\1/'
    grep -ohE 'from: [A-Za-z0-9_.-]+' "${scenario_files[@]}" | sed 's/^from: //'
  } | sort -u
)
json_strings=()
while IFS= read -r template; do
  printf '%s' "$template" > "$corpus/template/$(printf '%s' "$template" | sha1sum | cut -c1-40)"
  escaped=${template//\\/\\\\}
  json_strings+=("\"${escaped//\"/\\\"}\"")
done <<< "$templates"
members=()
for i in "${!json_strings[@]}"; do
  members+=("\"t$i\": ${json_strings[$i]}")
done
(IFS=,; printf '{%s}' "${members[*]}") > $corpus/template/all-as-object.json
(IFS=,; printf '[%s]' "${json_strings[*]}") > $corpus/template/all-as-array.json

cargo run --quiet --manifest-path fuzz/Cargo.toml --example request_seeds -- $corpus/request
