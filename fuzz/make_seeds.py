#!/usr/bin/python3
"""Write the seed corpora of the fuzz harnesses, fuzz/corpus/NAME/: small valid
files of every format (and a few model files from configs/).  The checkpoint
seeds are real checkpoints: tiny models are trained with the lamina command
(LAMINA=path, default build/lamina) and their checkpoint.safetensors copied.

    /usr/bin/python3 fuzz/make_seeds.py          # from the repository root
    /usr/bin/python3 fuzz/make_seeds.py npy idx  # only these corpora

The output is deterministic (fixed seeds, gzip without a timestamp)."""
import gzip
import io
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "fuzz", "corpus")
LAMINA = os.environ.get("LAMINA", os.path.join(ROOT, "build", "lamina"))
IDX_SEP = b"\n--lamina-idx-labels--\n"  # fuzz_idx.c cuts image file | labels file here


def put(name, fname, data):
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, fname), "wb") as f:
        f.write(data)


def gz(data):
    if isinstance(data, str):
        data = data.encode()
    return gzip.compress(data, 9, mtime=0)


def safetensors(tensors, meta=None):
    """tensors: list of (name, dtype, shape, bytes), laid out in order."""
    hdr, off, buf = {}, 0, b""
    if meta is not None:
        hdr["__metadata__"] = meta
    for name, dt, shape, data in tensors:
        hdr[name] = {"dtype": dt, "shape": shape, "data_offsets": [off, off + len(data)]}
        off += len(data)
        buf += data
    h = json.dumps(hdr, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + buf


def npy(descr, shape, payload, fortran=False, version=1):
    """A .npy file as np.save writes it (header padded to 64 bytes)."""
    sh = "()" if not shape else "(%s,)" % shape[0] if len(shape) == 1 else "(%s)" % ", ".join(map(str, shape))
    h = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (descr, fortran, sh)
    h += " " * (21 - len(str(shape[0])) if shape else 0)
    pre = 10 if version == 1 else 12
    pad = 64 - (pre + len(h) + 1) % 64
    h = (h + " " * pad + "\n").encode("utf-8" if version == 3 else "latin1")
    size = struct.pack("<H", len(h)) if version == 1 else struct.pack("<I", len(h))
    return b"\x93NUMPY" + bytes([version, 0]) + size + h + payload


class Unseekable(io.RawIOBase):
    """A write-only stream without tell/seek: zipfile then writes data descriptors."""

    def __init__(self):
        self.buf = bytearray()

    def writable(self):
        return True

    def write(self, b):
        self.buf += b
        return len(b)

    def getvalue(self):
        return bytes(self.buf)


def npz(members, deflate=False, zip64=True, descriptors=False):
    """An .npz as np.savez (Zip64 extra fields in the local headers) or
    np.savez_compressed writes it, or with data descriptors as zipfile writes
    to a pipe; members: list of (name, npy bytes)."""
    out = Unseekable() if descriptors else io.BytesIO()
    method = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
    with zipfile.ZipFile(out, "w", compression=method) as z:
        for name, data in members:
            info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = method
            info.external_attr = 0o600 << 16
            with z.open(info, "w", force_zip64=zip64) as f:
                f.write(data)
    return out.getvalue()


def idx(type_code, dims, payload):
    return bytes([0, 0, type_code, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + payload


def seeds_cfg():
    for c in ["digits_mlp", "fashion_cnn", "cifar_cnn", "char_lstm", "char_gpt", "char_llama",
              "license_bow", "license_attention", "license_transformer", "weather_lstm",
              "weather_linear"]:
        p = os.path.join(ROOT, "configs", c + ".cfg")
        if os.path.exists(p):
            shutil.copy(p, os.path.join(OUT, "cfg", c + ".cfg"))
    put("cfg", "stages.cfg", """[net]
input = 8
[data]
path = x.csv
[dense]
name = h1
units = 6
activation = tanh
lr = 0.01
[dropout]
rate = 0.1
[dense]
name = out
units = 3
[stage]
name = first
train = h1
epochs = 2
[stage]
train = all
[train]
loss = cross_entropy
optimizer = rmsprop
schedule = warmup_cosine
warmup = 3
""")
    put("cfg", "conv.cfg", """[net]
input = 1, 8, 8
[data]
format = idx
train_images = a
train_labels = b
test_images = c
test_labels = d
[augment]
flip = true
crop_pad = 1
[conv2d]
filters = 4
kernel = 3
padding = 1
[batchnorm]
[maxpool]
size = 2
[flatten]
[dense]
units = 10
[train]
loss = cross_entropy
optimizer = adam
""")


def seeds_csv():
    put("csv", "numeric_header.csv", "a,b,c,label\n1,2,3,0\n4,5,6,1\n7,8.5,-9e2,2\n0.1,0.2,0.3,1\n")
    put("csv", "string_labels.csv", "x1,x2,species\n5.1,3.5,setosa\n4.9,3.0,setosa\n7.0,3.2,versicolor\n6.3,3.3,virginica\n")
    put("csv", "quoted_missing.csv", 'id,"f,1",f2,y\r\n1,"2.5",NA,3\r\n2,,4,"5"\r\n3,1e-3,?,7\r\n')
    put("csv", "regression.csv", "id,u,v,y\n0,1.5,2,3.25\n1,2.5,1,-1\n2,0,0,0.5\n")
    put("csv", "semicolon.csv", "1;2;3\n4;5;6\n7;8;9\n")
    put("csv", "noheader.csv", "1,0\n2,1\n3,2\n4,0\n")
    put("csv", "bom_tabs.csv", "\ufeffa, b ,label\n 1 , 2 ,x\n3,4,y\n")
    put("csv", "gzip.csv.gz", gz("a,b,label\n1,2,0\n3,4,1\n5,6,0\n"))


def seeds_idx():
    imgs = idx(0x08, [2, 2, 3], bytes(range(0, 240, 20)))
    labs = idx(0x08, [2], bytes([1, 0]))
    put("idx", "u8_pair.idx", imgs + IDX_SEP + labs)
    f32 = idx(0x0D, [3, 2], b"".join(struct.pack(">f", v) for v in [0.5, -1, 2, 3.25, 0, 1e-3]))
    i16 = idx(0x0B, [3], struct.pack(">3h", 2, 0, 1))
    put("idx", "f32_i16_pair.idx", f32 + IDX_SEP + i16)
    c4 = idx(0x08, [1, 2, 2, 2], bytes(range(8)))
    put("idx", "nchw_i32_pair.idx", c4 + IDX_SEP + idx(0x0C, [1], struct.pack(">i", 3)))
    put("idx", "f64_single.idx", idx(0x0E, [2], struct.pack(">2d", 1.5, -2.0)))
    put("idx", "i8_single.idx", idx(0x09, [4], bytes([0, 1, 0x7F, 0x80])))
    put("idx", "gzip_pair.idx", gz(imgs) + IDX_SEP + gz(labs))


def seeds_cifar():
    rec10 = bytes([3]) + bytes((i * 7) & 255 for i in range(3072))
    put("cifar", "cifar10_one.bin", rec10)
    rec100 = bytes([5, 42]) + bytes((i * 13) & 255 for i in range(3072))
    put("cifar", "cifar100_two.bin", rec100 + bytes([19, 99]) + bytes(3072))
    put("cifar", "cifar10_two.bin.gz", gz(rec10 + bytes([9]) + bytes(3072)))


def seeds_text():
    put("text", "english.txt", "The quick brown fox jumps over the lazy dog.\nIt's 42 o'clock -- isn't it?\n")
    put("text", "utf8.txt", "na\u00efve caf\u00e9 \u2014 \u65e5\u672c\u8a9e \U0001F600 \u00c5ngstr\u00f6m\n")
    put("text", "invalid_utf8.txt", b"ok \xff\xfe \xc0\xaf \xed\xa0\x80 \xf4\x90\x80\x80 end")
    put("text", "vocab_byte.json", '{"tokenizer":"byte","lowercase":false,"pad":false,"unk":false,"tokens":[10,32,97,98]}')
    put("text", "vocab_char.json", '{"tokenizer":"char","lowercase":true,"pad":true,"unk":true,"tokens":["a","b","\\u00e9","\\ud83d\\ude00"]}')
    put("text", "vocab_word.json", '{"tokenizer":"word","lowercase":false,"pad":true,"unk":true,"tokens":["the","of","It\'s","!"]}')


def seeds_text_csv():
    put("text_csv", "plain.csv", "spam,Win money now\nham,See you at noon\nspam,\"Free, free, free\"\n")
    put("text_csv", "header.csv", 'label,text\npos,"I loved it, ""really"""\nneg,"Too long\nand dull"\npos,ok\n')
    put("text_csv", "gzip.csv.gz", gz("a,x y z\nb,y z\na,z\n"))


def seeds_timeseries():
    rows = ["t,x,y,c"]
    for i in range(12):
        rows.append("%d,%g,%g,%s" % (i, i * 0.5, (i * 7) % 5 - 2, "up" if i % 3 else "down"))
    put("timeseries", "numeric_time.csv", "\n".join(rows) + "\n")
    rows = ["c,t,y,x,other"]
    for i in range(10):
        rows.append("k%d,2015-01-%02d,%d,%d,z" % (i % 2, i + 1, i, 10 - i))
    put("timeseries", "dates.csv", "\n".join(rows) + "\n")


def seeds_safetensors():
    f = struct.pack("<4f", 1, 2, 3, 4)
    put("safetensors", "two.safetensors", safetensors(
        [("a.weight", "F32", [2, 2], f), ("b", "I8", [3], bytes([1, 2, 255]))], {"k": "v", "format": "x"}))
    put("safetensors", "scalar_empty.safetensors", safetensors(
        [("s", "I32", [], struct.pack("<i", 7)), ("z", "F16", [0, 5], b""), ("h", "BF16", [1], b"\x80\x3f")]))
    put("safetensors", "empty.safetensors", safetensors([]))


TINY = {
    "mlp_scaler": ("""[net]
input = 3
seed = 1
[data]
path = data.csv
test_split = 0.25
[dense]
name = h
units = 4
activation = relu
[dense]
name = out
units = 3
[train]
loss = cross_entropy
optimizer = adam
batch = 4
epochs = 1
""", "data.csv", "a,b,c,species\n" + "".join(
        "%d,%g,%d,%s\n" % (i, i * 0.5, i % 3, ["cat", "dog", "eel"][i % 3]) for i in range(12))),
    "regression_target_scaler": ("""[net]
input = 2
[data]
path = data.csv
scale = minmax
scale_target = true
[dense]
units = 1
[train]
loss = mse
optimizer = sgd
momentum = 0.9
batch = 2
epochs = 1
""", "data.csv", "u,v,y\n" + "".join("%d,%d,%g\n" % (i, 5 - i, i * 1.5) for i in range(8))),
    "char_lstm": ("""[net]
input = 4
[data]
format = corpus
path = corpus.txt
tokenizer = char
[embedding]
units = 3
[lstm]
units = 4
[dense]
units = vocab
[train]
loss = cross_entropy
optimizer = adam
batch = 2
steps = 2
""", "corpus.txt", "hello world, h\u00e9llo w\u00f6rld\n"),
    "word_transformer": ("""[net]
input = 4
[data]
format = text_csv
path = data.csv
header = no
tokenizer = word
test_split = 0.25
[embedding]
units = 4
position = learned
[transformer]
heads = 2
[seq_pool]
mode = mean
[dense]
units = 2
[train]
loss = cross_entropy
optimizer = adamw
batch = 2
epochs = 1
""", "data.csv", "".join("%s,%s\n" % (l, t) for l, t in [
        ("pos", "good fine great"), ("neg", "bad awful"), ("pos", "great good"),
        ("neg", "awful bad bad"), ("pos", "fine"), ("neg", "bad")])),
}


def seeds_checkpoint():
    if not os.path.exists(LAMINA):
        sys.exit("make_seeds.py: %s not found: run make first (or set LAMINA)" % LAMINA)
    for name, (cfg, dname, data) in TINY.items():
        with tempfile.TemporaryDirectory() as tmp:
            with open(os.path.join(tmp, name + ".cfg"), "w") as f:
                f.write(cfg)
            with open(os.path.join(tmp, dname), "w") as f:
                f.write(data)
            r = subprocess.run([LAMINA, "train", name + ".cfg", "--out", "run", "--quiet", "--threads", "1"],
                               cwd=tmp, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            if r.returncode != 0:
                sys.exit("make_seeds.py: training %s failed:\n%s" % (name, r.stdout.decode()))
            with open(os.path.join(tmp, "run", "checkpoint.safetensors"), "rb") as f:
                ck = f.read()
            put("checkpoint", name + ".safetensors", ck)
            put("safetensors", "checkpoint_" + name + ".safetensors", ck)


def seeds_npy():
    f4 = struct.pack("<6f", 0.5, -1, 2, 3.25, 0, 1e-3)
    put("npy", "f4_2x3.npy", npy("<f4", [2, 3], f4))
    put("npy", "u1_vector.npy", npy("|u1", [5], bytes([0, 1, 2, 255, 7])))
    put("npy", "b1.npy", npy("|b1", [4], bytes([1, 0, 0, 1])))
    put("npy", "i8_be.npy", npy(">i8", [2], struct.pack(">2q", -3, 1 << 40)))
    put("npy", "f2_fortran.npy", npy("<f2", [2, 2], struct.pack("<4e", 1, -2, 0.5, 65504), fortran=True))
    put("npy", "u4_fortran_be.npy", npy(">u4", [2, 1, 2], struct.pack(">4I", 1, 2, 3, 4), fortran=True))
    put("npy", "f8_scalar.npy", npy("<f8", [], struct.pack("<d", 2.5)))
    put("npy", "i2_empty.npy", npy("<i2", [3, 0], b""))
    put("npy", "u2_v2.npy", npy("<u2", [3], struct.pack("<3H", 1, 2, 65535), version=2))
    put("npy", "i4_v3.npy", npy("<i4", [2], struct.pack("<2i", -7, 7), version=3))
    x = npy("<f4", [3, 2], struct.pack("<6f", 1, 2, 3, 4, 5, 6))
    y = npy("|u1", [3], bytes([0, 2, 1]))
    put("npy", "savez.npz", npz([("x", x), ("y", y)]))
    put("npy", "savez_compressed.npz", npz([("x", x), ("y", y)], deflate=True))
    put("npy", "keras.npz", npz([("x_train", x), ("y_train", y), ("x_test", x), ("y_test", y)], deflate=True))
    put("npy", "no_zip64.npz", npz([("a", npy("<f8", [2], struct.pack("<2d", 1, -1)))], zip64=False))
    put("npy", "empty.npz", npz([]))
    put("npy", "descriptors.npz", npz([("x", x), ("y", y)], deflate=True, descriptors=True))


SEEDS = {"cfg": seeds_cfg, "csv": seeds_csv, "idx": seeds_idx, "cifar": seeds_cifar, "text": seeds_text,
         "text_csv": seeds_text_csv, "timeseries": seeds_timeseries, "safetensors": seeds_safetensors,
         "checkpoint": seeds_checkpoint, "npy": seeds_npy}


def main():
    names = sys.argv[1:] or list(SEEDS)
    unknown = [n for n in names if n not in SEEDS]
    if unknown:
        sys.exit("make_seeds.py: unknown corpus %s (known: %s)" % (", ".join(unknown), ", ".join(SEEDS)))
    if not sys.argv[1:] and os.path.isdir(OUT):
        shutil.rmtree(OUT)
    for n in names:
        if n in sys.argv[1:] and os.path.isdir(os.path.join(OUT, n)):
            shutil.rmtree(os.path.join(OUT, n))
    os.makedirs(os.path.join(OUT, "cfg"), exist_ok=True)
    for n in names:
        SEEDS[n]()
    for d in sorted(os.listdir(OUT)):
        files = os.listdir(os.path.join(OUT, d))
        size = sum(os.path.getsize(os.path.join(OUT, d, f)) for f in files)
        print("%-12s %3d files %8d bytes" % (d, len(files), size))


if __name__ == "__main__":
    main()
