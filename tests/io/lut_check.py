# Independent check of a palettized checkpoint (lowbit-quantize --lut) and its dequantization:
#   lut_check.py SRC_HF_DIR LUT_DIR DEQUANT_F32_DIR MAX_REL_ERR EXPECTED_BITS
# Decodes the LSB-first index stream and the f16 tables here, in plain Python, and checks for every
# palettized weight: each dequantized value is exactly lut[group][index] (so also one of its
# group's entries); the squared error is no worse than a uniform 2^bits grid over each group's
# [min, max] (k-means optimal can only beat it); the relative Frobenius error is below MAX_REL_ERR.
import json, math, os, re, struct, sys

def load_dir(d):
    out = {}
    for f in sorted(os.listdir(d)):
        if not f.endswith(".safetensors"):
            continue
        b = open(os.path.join(d, f), "rb").read()
        n = struct.unpack("<Q", b[:8])[0]
        h = json.loads(b[8:8 + n]); h.pop("__metadata__", None)
        for k, v in h.items():
            o = v["data_offsets"]
            out[k] = (v["dtype"], v["shape"], b[8 + n + o[0]:8 + n + o[1]])
    return out

def floats(t):
    dt, shape, data = t
    if dt == "F32": return list(struct.unpack("<%df" % (len(data) // 4), data))
    if dt == "F16": return list(struct.unpack("<%de" % (len(data) // 2), data))
    if dt == "BF16":
        u = struct.unpack("<%dH" % (len(data) // 2), data)
        return list(struct.unpack("<%df" % len(u), struct.pack("<%dI" % len(u), *[x << 16 for x in u])))
    raise SystemExit("unexpected dtype " + dt)

src, q, deq = load_dir(sys.argv[1]), load_dir(sys.argv[2]), load_dir(sys.argv[3])
max_rel, want_bits = float(sys.argv[4]), sys.argv[5]
assert set(deq) == set(src), set(deq) ^ set(src)
expert_re = re.compile(r"^(.*)\.experts\.(\d+)\.(\w+)\.weight$")
checked = 0
worst = 0.0
for name in sorted(deq):
    m = expert_re.match(name)
    module, e = (f"{m[1]}.switch_mlp.{m[3]}", int(m[2])) if m else (name[:-len(".weight")], 0)
    if not name.endswith(".weight") or module + ".lut" not in q:
        continue
    wdt, wshape, stream = q[module + ".weight"]
    ldt, lshape, _ = q[module + ".lut"]
    entries, groups, rows = lshape[-1], lshape[-2], wshape[-2]
    bits = entries.bit_length() - 1
    cols = wshape[-1] * 8 // bits
    assert wdt == "U8" and ldt == "F16" and src[name][1] == [rows, cols], (name, wshape, lshape)
    gr = rows // groups
    lut = floats(q[module + ".lut"])[e * groups * entries:(e + 1) * groups * entries]
    w, d = floats(src[name]), floats(deq[name])
    base = e * rows * cols * bits
    stream = stream + b"\0"
    mask = (1 << bits) - 1
    sse = ssq = sse_uniform = 0.0
    for g in range(groups):
        table = lut[g * entries:(g + 1) * entries]
        vals = w[g * gr * cols:(g + 1) * gr * cols]
        lo, hi = min(vals), max(vals)
        step = (hi - lo) / mask if hi > lo else 1.0
        for k, x in enumerate(vals):
            i = g * gr * cols + k
            p = base + i * bits
            idx = ((stream[p >> 3] | stream[(p >> 3) + 1] << 8) >> (p & 7)) & mask
            assert d[i] == table[idx], (name, i, d[i], table[idx])
            sse += (d[i] - x) ** 2
            ssq += x * x
            u = lo + round((x - lo) / step) * step
            sse_uniform += (u - x) ** 2
    rel = math.sqrt(sse / ssq) if ssq else 0.0
    assert rel < max_rel, (name, rel)
    # The f16 rounding of the table may cost a little against the exact uniform grid.
    assert sse <= sse_uniform * 1.02 + 1e-9 * rows * cols, (name, sse, sse_uniform)
    checked += 1
    worst = max(worst, rel)
cfg = json.load(open(os.path.join(sys.argv[2], "config.json")))["lut_quantization"]
assert cfg["method"] == "kmeans_optimal" and f"{cfg['bits']},{cfg['group_size']}" == want_bits, cfg
assert checked >= 15, checked
print(f"lut_check: {checked} palettized weights ok, worst relative Frobenius error {worst:.4f}")
