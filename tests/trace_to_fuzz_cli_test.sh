#!/usr/bin/env bash
# tools/trace_to_fuzz from the command line, on replay_trace_maker's mixed
# trace (4 threads, every kind of call, cross-thread frees, failed
# allocations): for each harness and a few windows, an input within the
# harness's max_len (or --max_len), the same bytes every time, and a
# report of what it made; --explain; and refusals, with exit 2. The
# in-process tests (trace_to_fuzz_*_test) run the inputs through the
# harnesses.
set -uo pipefail

convert=$1 maker=$2
# Bazel's per-test scratch directory, which it cleans up.
tmp=${TEST_TMPDIR:?run this through bazel test}
failures=0

fail() {
  echo "FAIL $1"
  [[ -f ${tmp}/stderr ]] && head -5 "${tmp}/stderr"
  failures=$((failures + 1))
}

"${maker}" mixed "${tmp}/mixed.trace" || exit 1

declare -A max_len=([per_thread]=256 [lifecycle]=64 [c_interface]=1024)

# converts NAME OUT LIMIT ARGS...: writes OUT, at most LIMIT bytes, and
# says so.
converts() {
  local name=$1 out=$2 limit=$3
  shift 3
  if ! "${convert}" "$@" "${tmp}/mixed.trace" "${out}" >"${tmp}/stdout" \
    2>"${tmp}/stderr"; then
    fail "${name}: exit $?"
    return
  fi
  local size
  size=$(stat -c %s "${out}")
  if ((size < 1 || size > limit)); then
    fail "${name}: ${size} bytes, not 1 to ${limit}"
  elif ! grep -q "^${out}: ${size} bytes for .*: [1-9][0-9]* of the window's" \
    "${tmp}/stdout"; then
    fail "${name}: no report: $(cat "${tmp}/stdout")"
  elif ! "${convert}" "$@" "${tmp}/mixed.trace" "${out}.again" >/dev/null ||
    ! cmp -s "${out}" "${out}.again"; then
    fail "${name}: not the same bytes again"
  else
    echo "ok   ${name}: $(cat "${tmp}/stdout")"
  fi
}

for harness in per_thread lifecycle c_interface; do
  for window in "1 400 0" "2 300 100" "4 1000 2000" "3 50 2500"; do
    read -r threads records start <<<"${window}"
    converts "${harness}, ${threads} threads from ${start}" \
      "${tmp}/${harness}-${threads}-${start}" "${max_len[${harness}]}" \
      --harness="${harness}" --threads="${threads}" --records="${records}" \
      --start="${start}"
  done
  converts "${harness}, --max_len=40" "${tmp}/${harness}-40" 40 \
    --harness="${harness}" --threads=2 --records=1000 --max_len=40
  converts "${harness}, --start=50%" "${tmp}/${harness}-50" \
    "${max_len[${harness}]}" --harness="${harness}" --threads=4 \
    --records=500 --start=50%
  converts "${harness}, --start=t2" "${tmp}/${harness}-t2" \
    "${max_len[${harness}]}" --harness="${harness}" --threads=3 \
    --records=500 --start=t2
done

# --explain: a line for each call before the cut, then the report.
"${convert}" --harness=c_interface --threads=1 --records=30 --explain \
  "${tmp}/mixed.trace" "${tmp}/explained" >"${tmp}/stdout" 2>"${tmp}/stderr"
if [[ $(grep -c ' => ' "${tmp}/stdout") -ne 30 ]]; then
  fail "--explain: not 30 calls explained: $(head -3 "${tmp}/stdout")"
else
  echo "ok   --explain: $(head -1 "${tmp}/stdout")"
fi

# expect_refused NAME MESSAGE ARGS...: exits 2 with MESSAGE on stderr.
expect_refused() {
  local name=$1 message=$2
  shift 2
  "${convert}" "$@" >/dev/null 2>"${tmp}/stderr"
  local rc=$?
  if [[ ${rc} -ne 2 ]]; then
    fail "${name}: exit ${rc}, not 2"
  elif ! grep -qF -- "${message}" "${tmp}/stderr"; then
    fail "${name}: no \"${message}\" on stderr"
  else
    echo "ok   ${name}: $(head -1 "${tmp}/stderr")"
  fi
}

trace=${tmp}/mixed.trace out=${tmp}/refused
expect_refused "unknown harness" "no harness nonesuch" \
  --harness=nonesuch --threads=1 --records=10 "${trace}" "${out}"
expect_refused "no --records" "usage: trace_to_fuzz" \
  --harness=lifecycle --threads=1 "${trace}" "${out}"
expect_refused "no output file" "usage: trace_to_fuzz" \
  --harness=lifecycle --threads=1 --records=10 "${trace}"
expect_refused "bad number" "usage: trace_to_fuzz" \
  --harness=lifecycle --threads=1x --records=10 "${trace}" "${out}"
expect_refused "more threads than the trace has" \
  "the trace has 4 threads that call the allocator, not 5" \
  --harness=lifecycle --threads=5 --records=10 "${trace}" "${out}"
expect_refused "start past the calls" "--start=99999 is past the" \
  --harness=lifecycle --threads=1 --records=10 --start=99999 "${trace}" "${out}"
expect_refused "start at a thread past the window's" \
  "a start at thread 2 needs --threads above it" \
  --harness=lifecycle --threads=2 --records=10 --start=t2 "${trace}" "${out}"
expect_refused "start at 100%" "usage: trace_to_fuzz" \
  --harness=lifecycle --threads=2 --records=10 --start=100% "${trace}" "${out}"
expect_refused "not a trace" "offset 0: not a trace" \
  --harness=lifecycle --threads=1 --records=10 "${maker}" "${out}"
expect_refused "unwritable output" "cannot write ${tmp}/no/such/dir" \
  --harness=lifecycle --threads=1 --records=10 "${trace}" "${tmp}/no/such/dir"
if [[ -e ${out} ]]; then
  fail "a refused run wrote its output"
fi
if ! "${convert}" --help | grep -q "^usage: trace_to_fuzz"; then
  fail "--help: no usage"
fi

if [[ ${failures} -ne 0 ]]; then
  echo "${failures} failed"
  exit 1
fi
echo "all passed"
