#!/usr/bin/env bash
# End-to-end tests of lowbit-quantize / lowbit-inspect / lowbit-dequant:
#   tools_test.sh BIN_DIR SAMPLE_DATA_DIR WORK_DIR
# Round trip on the bundled sample, bit-exact copies of unquantized tensors, MLX golden dequant,
# and bad inputs: clear one-line error, non-zero exit, no OUT left behind.
set -uo pipefail
bin=$1 data=$2 work=$3
golden=$(cd "$(dirname "$0")/../data" && pwd)
checker=$(cd "$(dirname "$0")" && pwd)/lut_check.py
rm -rf "$work" && mkdir -p "$work" && cd "$work" || exit 1
fails=0 checks=0
ok() { checks=$((checks + 1)); echo "ok   $1"; }
bad() { checks=$((checks + 1)); fails=$((fails + 1)); echo "FAIL $1"; }
# expect_fail NAME EXPECTED_SUBSTRING OUT_THAT_MUST_NOT_EXIST CMD...
expect_fail() {
  local name=$1 want=$2 out=$3; shift 3
  local msg; msg=$("$@" 2>&1 >/dev/null); local rc=$?
  if [[ $rc -ne 0 && $msg == *"$want"* && ( -z $out || ! -e $out ) && $(printf '%s\n' "$msg" | wc -l) -eq 1 ]]; then ok "$name"
  else bad "$name (rc=$rc, msg: $msg)"; fi
}
sample=$data/sample-hf

# Round trip: quantize (mixed precision) → inspect → dequantize → compare.
"$bin/lowbit-quantize" "$sample" q4 --bits 4 --group-size 64 --layer '*.v_proj=6' 2>/dev/null && ok quantize || bad quantize
grep -q '"model.layers.0.self_attn.v_proj"' q4/config.json && ok "override recorded" || bad "override recorded"
grep -q '"quantization_config"' q4/config.json && ok "quantization_config copy" || bad "quantization_config copy"
"$bin/lowbit-inspect" q4 --json > inspect.json && ok inspect || bad inspect
python3 - <<'PY' && ok "inspect json" || bad "inspect json"
import json; r = json.load(open("inspect.json"))
assert r["totals"]["tensors"] == 25, r["totals"]
assert [o["name"] for o in r["fp16_preflight"]] == ["model.layers.1.post_attention_layernorm.weight"]
assert r["lut_chunks"]["chunks"] == 1
PY
"$bin/lowbit-dequant" q4 d16 --dtype f16 2>/dev/null && ok dequant || bad dequant
python3 - "$sample" <<'PY' && ok "dequant output: names, dtypes, bit-exact copies, config, side files" || bad "dequant output"
import json, struct, sys, os
def load(path):
    b = open(path, "rb").read(); n = struct.unpack("<Q", b[:8])[0]; h = json.loads(b[8:8 + n]); h.pop("__metadata__", None)
    return {k: (v["dtype"], v["shape"], b[8 + n + v["data_offsets"][0]: 8 + n + v["data_offsets"][1]]) for k, v in h.items()}
src = {}
for f in os.listdir(sys.argv[1]):
    if f.endswith(".safetensors"): src.update(load(os.path.join(sys.argv[1], f)))
out = load("d16/model.safetensors")
assert set(out) == set(src), set(out) ^ set(src)
for k, (dt, shape, data) in out.items():
    assert shape == src[k][1], k
    if k.endswith("norm.weight"): assert dt == "BF16" and data == src[k][2], k   # copied bit-exactly
    else: assert dt == "F16", (k, dt)
cfg = json.load(open("d16/config.json"))
assert "quantization" not in cfg and "quantization_config" not in cfg and cfg["torch_dtype"] == "float16"
assert cfg["model_type"] == "qwen3_moe"
assert open("d16/tokenizer.json").read() == open(os.path.join(sys.argv[1], "tokenizer.json")).read()
PY
"$bin/lowbit-inspect" d16 --compare "$sample" --json > cmp.json && python3 - <<'PY' && ok "round-trip error bounds" || bad "round-trip error bounds"
import json; r = json.load(open("cmp.json"))["compare"]
assert len(r) == 46
for c in r:
    if "norm" in c["name"]: assert c["max_abs_err"] == 0, c
    elif "v_proj" in c["name"] or c["name"].endswith("mlp.gate.weight"): assert c["rel_rms_err"] < 0.03, c   # 6 / 8 bit
    else: assert 0.05 < c["rel_rms_err"] < 0.12, c                                                          # 4 bit
PY
"$bin/lowbit-dequant" q4 stacked --keep-stacked --max-shard-size 1MB 2>/dev/null && [[ -f stacked/model.safetensors.index.json ]] \
  && grep -q switch_mlp stacked/model.safetensors.index.json && ok "keep-stacked + sharded output" || bad "keep-stacked + sharded output"
"$bin/lowbit-dequant" stacked restacked --dtype bf16 2>/dev/null && ok "sharded input" || bad "sharded input"
for mode in mxfp4 mxfp8 nvfp4; do
  "$bin/lowbit-quantize" "$sample" "q_$mode" --mode $mode 2>/dev/null && "$bin/lowbit-dequant" "q_$mode" "d_$mode" 2>/dev/null \
    && ok "$mode round trip" || bad "$mode round trip"
done

# MLX golden: a checkpoint made of MLX's own quantize output must dequantize to MLX's dequantize bit-exactly.
python3 - "$golden" <<'PY' && "$bin/lowbit-dequant" gold gold_out 2>/dev/null && python3 - "$golden" <<'PY2' && ok "MLX golden dequant (affine bf16 b3/b4/b8, mxfp4, nvfp4)" || bad "MLX golden dequant"
import json, struct, sys, os
def load(path):
    b = open(path, "rb").read(); n = struct.unpack("<Q", b[:8])[0]; h = json.loads(b[8:8 + n]); h.pop("__metadata__", None)
    return {k: (v["dtype"], v["shape"], b[8 + n + v["data_offsets"][0]: 8 + n + v["data_offsets"][1]]) for k, v in h.items()}
def save(path, ts):
    h, data = {}, b""
    for k, (dt, shape, blob) in ts.items():
        h[k] = {"dtype": dt, "shape": shape, "data_offsets": [len(data), len(data) + len(blob)]}; data += blob
    t = json.dumps(h).encode(); open(path, "wb").write(struct.pack("<Q", len(t)) + t + data)
a = load(os.path.join(sys.argv[1], "affine_bf16.safetensors")); f = load(os.path.join(sys.argv[1], "fp_modes_bf16.safetensors"))
os.makedirs("gold", exist_ok=True); ts = {}; q = {"group_size": 64, "bits": 4}
for p in ["b3_gs32", "b4_gs64", "b8_gs128"]:
    ts[p + ".weight"] = a[p + ".wq"]; ts[p + ".scales"] = a[p + ".scales"]; ts[p + ".biases"] = a[p + ".biases"]
    q[p] = {"bits": int(p[1]), "group_size": int(p.split("gs")[1])}
for m, gs in [("mxfp4", 32), ("nvfp4", 16)]:
    ts[m + ".weight"] = f[m + ".wq"]; ts[m + ".scales"] = f[m + ".scales"]; q[m] = {"mode": m, "bits": 4, "group_size": gs}
save("gold/model.safetensors", ts); json.dump({"quantization": q}, open("gold/config.json", "w"))
PY
import json, struct, sys, os
def load(path):
    b = open(path, "rb").read(); n = struct.unpack("<Q", b[:8])[0]; h = json.loads(b[8:8 + n]); h.pop("__metadata__", None)
    return {k: (v["dtype"], v["shape"], b[8 + n + v["data_offsets"][0]: 8 + n + v["data_offsets"][1]]) for k, v in h.items()}
a = load(os.path.join(sys.argv[1], "affine_bf16.safetensors")); f = load(os.path.join(sys.argv[1], "fp_modes_bf16.safetensors"))
out = load("gold_out/model.safetensors")
for p in ["b3_gs32", "b4_gs64", "b8_gs128"]: assert out[p + ".weight"][2] == a[p + ".deq"][2], p
for m in ["mxfp4", "nvfp4"]: assert out[m + ".weight"][2] == f[m + ".deq_default_dtype"][2], m
PY2

# Bad inputs: one-line error, non-zero exit, nothing written.
expect_fail "existing OUT without --force" "already exists" "" "$bin/lowbit-dequant" q4 d16
"$bin/lowbit-dequant" q4 d16 --force 2>/dev/null && ok "--force replaces" || bad "--force replaces"
expect_fail "missing input" "not a directory" out1 "$bin/lowbit-dequant" nonexistent out1
cp -r q4 trunc && truncate -s -100 trunc/model.safetensors
expect_fail "truncated file" "truncated" out2 "$bin/lowbit-dequant" trunc out2
cp -r q4 past && python3 -c "
import struct; p='past/model.safetensors'; b=bytearray(open(p,'rb').read()); b[0:8]=struct.pack('<Q',10**7); open(p,'wb').write(b)"
expect_fail "header length past EOF" "past the end" out3 "$bin/lowbit-dequant" past out3
cp -r q4 nob && python3 - <<'PY'
import json, struct
p = "nob/model.safetensors"; b = open(p, "rb").read(); n = struct.unpack("<Q", b[:8])[0]; h = json.loads(b[8:8 + n])
del h["model.layers.0.self_attn.q_proj.biases"]   # leaves a gap in the data section
t = json.dumps(h).encode(); open(p, "wb").write(struct.pack("<Q", len(t)) + t + b[8 + n:])
PY
expect_fail "tensor removed from header (gap)" "gap" out4 "$bin/lowbit-dequant" nob out4
cp -r stacked noshard && rm noshard/model-00002-of-*.safetensors
expect_fail "index names a missing shard" "does not exist" out5 "$bin/lowbit-dequant" noshard out5
cp -r q4 badcfg && echo '{"quantization": {"bits": 4,' > badcfg/config.json
expect_fail "invalid config.json" "not valid JSON" out6 "$bin/lowbit-dequant" badcfg out6
cp -r q4 wrongbits && sed -i 's/"bits": 4,/"bits": 8,/' wrongbits/config.json
expect_fail "scales shape vs config bits" "needs scales" out7 "$bin/lowbit-dequant" wrongbits out7
expect_fail "bad --dtype" "unknown dtype" out8 "$bin/lowbit-dequant" q4 out8 --dtype f8
expect_fail "unknown option" "unknown option" out9 "$bin/lowbit-quantize" "$sample" out9 --bitz 4
expect_fail "bad bits" "unsupported bits 7" out10 "$bin/lowbit-quantize" "$sample" out10 --bits 7
expect_fail "quantize a quantized model" "already quantized" out11 "$bin/lowbit-quantize" q4 out11
# Disk full: a 1 MB file-size limit makes writes fail (EFBIG, as ENOSPC would).
expect_fail "disk full" "failed" out12 bash -c "ulimit -f 1024; trap '' XFSZ; exec '$bin/lowbit-dequant' q4 out12 --dtype f32"
[[ -z $(ls -A | grep '\.tmp-') ]] && ok "no temporaries left behind" || bad "temporaries left: $(ls -A | grep '\.tmp-')"

# LUT (palettized) checkpoints: quantize --lut, inspect, dequantize, independent check (lut_check.py).
for spec in "4 4,8 0.12" "6,8 6,8 0.03"; do
  read -r arg want bound <<<"$spec"; d=lut_${arg/,/_}
  "$bin/lowbit-quantize" "$sample" "$d" --lut "$arg" 2>/dev/null && "$bin/lowbit-dequant" "$d" "${d}_f32" --dtype f32 2>/dev/null \
    && python3 "$checker" "$sample" "$d" "${d}_f32" "$bound" "$want" && ok "LUT --lut $arg round trip" || bad "LUT --lut $arg round trip"
done
"$bin/lowbit-inspect" lut_4 --json > lut_inspect.json && python3 - <<'PY' && ok "inspect LUT" || bad "inspect LUT"
import json; r = json.load(open("lut_inspect.json"))
rows = {t["name"]: t for t in r["tensors"]} if "tensors" in r else {t["name"]: t for t in r["layers"]}
q = rows["model.layers.0.self_attn.q_proj.weight"]
assert (q["mode"], q["bits"], q["group"], q["shape"]) == ("lut", 4, "8", [256, 256]), q
PY
"$bin/lowbit-quantize" "$sample" lut_mixed --lut 4,0 --layer '*.v_proj=8,16' --skip 'model.embed_tokens' 2>/dev/null \
  && "$bin/lowbit-dequant" lut_mixed lut_mixed_out 2>/dev/null && python3 - <<'PY' && ok "LUT per-tensor, overrides, --skip" || bad "LUT per-tensor, overrides, --skip"
import json; q = json.load(open("lut_mixed/config.json"))["lut_quantization"]
assert q["group_size"] == 0 and q["model.layers.0.self_attn.v_proj"] == {"bits": 8, "group_size": 16}, q
assert "lut_quantization" not in json.load(open("lut_mixed_out/config.json"))
h = open("lut_mixed/model.safetensors", "rb").read(20000).decode("latin1")
assert '"model.embed_tokens.lut"' not in h and '"model.layers.0.self_attn.q_proj.lut"' in h
PY
cp -r lut_4 lut_badshape && python3 - <<'PY'
import json, struct
p = "lut_badshape/model.safetensors"; b = open(p, "rb").read(); n = struct.unpack("<Q", b[:8])[0]; h = json.loads(b[8:8 + n])
t = h["model.layers.0.self_attn.q_proj.lut"]; t["shape"] = [t["shape"][1], t["shape"][0]]   # same bytes, wrong layout
s = json.dumps(h).encode(); s += b" " * (-len(s) % 8); open(p, "wb").write(struct.pack("<Q", len(s)) + s + b[8 + n:])
PY
expect_fail "LUT shape mismatch" "q_proj.weight' [256, 128] does not match its LUT [16, 32]" out13 "$bin/lowbit-dequant" lut_badshape out13
cp -r lut_4 lut_badcfg && sed -i 's/"bits": 4,/"bits": 6,/' lut_badcfg/config.json
expect_fail "LUT config bits vs table" "says 6 bits" out14 "$bin/lowbit-inspect" lut_badcfg --json
expect_fail "bad --lut" "--lut expects BITS[,GROUP]" out15 "$bin/lowbit-quantize" "$sample" out15 --lut 4x

echo "tools_test: $((checks - fails))/$checks passed"
[[ $fails -eq 0 ]]
