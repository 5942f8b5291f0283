"""Golden .npy / .npz fixtures written by real NumPy (Debian's python3-numpy).

Run from anywhere with Debian's interpreter:
    /usr/bin/python3 tests/golden/make_npy.py
It rewrites tests/golden/npy/: the fixtures and manifest.txt, which
tests/test_npy.c reads (the suite itself needs no Python).  Deterministic:
the same bytes every run (for one NumPy version; the files are committed).

manifest.txt, one array per line:
    FILE[:MEMBER] DTYPE FORTRAN SHAPE HEX
FILE a fixture (MEMBER: an array of an .npz), DTYPE Lamina's name of the
element type (b1, i1, ..., f8), FORTRAN 1 if the file stores it in Fortran
order, SHAPE the dimensions joined by ',' ("-" for a scalar), HEX the
elements in C order and little-endian byte order (what the reader must give
on a little-endian host; "-" when empty).  Files starting with "np_save_"
are np.save's output for a C-order native array: lam_npy_write must give the
same bytes.

Fixtures: every element type little-endian (np.save), big-endian ones,
Fortran order (little- and big-endian), format versions 2.0 and 3.0
(numpy.lib.format.write_array), a 0-d scalar and empty arrays, an np.savez
and an np.savez_compressed archive, a Keras-style archive (x_train, y_train,
x_test, y_test), a member name with non-ASCII characters, and three archives
built with zipfile directly: data descriptors (written to an unseekable
stream, with and without Zip64) and Zip64 end records with 0xFFFFFFFF
sizes in the central directory (checked to load with np.load)."""
import io
import os
import struct
import zipfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "npy")
MANIFEST = []

NAMES = {"?": "b1", "i1": "i1", "u1": "u1", "i2": "i2", "u2": "u2", "i4": "i4", "u4": "u4",
         "i8": "i8", "u8": "u8", "f2": "f2", "f4": "f4", "f8": "f8"}


def lname(a):
    k = a.dtype.kind + str(a.dtype.itemsize)
    return "b1" if a.dtype.kind == "b" else NAMES[k]


def record(label, a, fortran=False):
    le = a.astype(a.dtype.newbyteorder("<"), order="C")
    shape = ",".join(str(d) for d in a.shape) or "-"
    hx = le.tobytes().hex() or "-"
    MANIFEST.append("%s %s %d %s %s" % (label, lname(a), 1 if fortran else 0, shape, hx))


def values(dtype, shape):
    """Deterministic values covering each type's range (extremes included)."""
    n = int(np.prod(shape))
    dt = np.dtype(dtype)
    if dt.kind == "b":
        v = np.array([(i * 7) % 3 == 0 for i in range(n)])
    elif dt.kind in "iu":
        info = np.iinfo(dt)
        pool = [info.min, info.max, 0, 1, info.max // 3, info.min // 5 if dt.kind == "i" else 7, 42]
        v = np.array([pool[i % len(pool)] for i in range(n)], dtype=dt)
    else:
        fi = np.finfo(dt)
        pool = [0.0, -1.5, float(fi.max), float(fi.tiny), -float(fi.eps), 3.25, -0.0, 1e-3]
        v = np.array([pool[i % len(pool)] for i in range(n)], dtype=dt)
    return v.astype(dt).reshape(shape)


def save(fname, a, fortran=False, version=None):
    path = os.path.join(OUT, fname)
    arr = a.copy(order="F" if fortran else "C")
    if version is None:
        np.save(path, arr, allow_pickle=False)
    else:
        with open(path, "wb") as f:
            np.lib.format.write_array(f, arr, version=version, allow_pickle=False)
    back = np.load(path)
    assert back.dtype == a.dtype and np.array_equal(back, a, equal_nan=True), fname
    record(fname, a, fortran and a.ndim > 1)


class Unseekable(io.RawIOBase):
    """A write-only stream without tell/seek: zipfile then writes data descriptors."""

    def __init__(self):
        self.buf = bytearray()

    def writable(self):
        return True

    def write(self, b):
        self.buf += b
        return len(b)


def npz_descriptors(fname, arrays, force_zip64):
    s = Unseekable()
    with zipfile.ZipFile(s, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, a in arrays.items():
            with z.open(name + ".npy", "w", force_zip64=force_zip64) as f:
                np.lib.format.write_array(f, a, allow_pickle=False)
    data = bytes(s.buf)
    assert struct.unpack("<H", data[6:8])[0] & 8, "expected data descriptors"
    with open(os.path.join(OUT, fname), "wb") as f:
        f.write(data)
    check_npz(fname, arrays)


def npz_zip64_records(fname, arrays):
    """A stored archive whose central directory says 0xFFFFFFFF for both
    sizes and the offset of each member (the values in Zip64 extra fields),
    with a Zip64 end record and locator before the end record."""
    out, cd = bytearray(), bytearray()
    for name, a in arrays.items():
        b = io.BytesIO()
        np.lib.format.write_array(b, a, allow_pickle=False)
        data = b.getvalue()
        crc = zipfile.crc32(data) & 0xFFFFFFFF
        nm = (name + ".npy").encode()
        off = len(out)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, 0, 0, 0x21, crc, 0xFFFFFFFF, 0xFFFFFFFF,
                           len(nm), 20) + nm + struct.pack("<HHQQ", 1, 16, len(data), len(data)) + data
        cd += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 0x032D, 45, 0, 0, 0, 0x21, crc, 0xFFFFFFFF,
                          0xFFFFFFFF, len(nm), 28, 0, 0, 0, 0o600 << 16, 0xFFFFFFFF)
        cd += nm + struct.pack("<HHQQQ", 1, 24, len(data), len(data), off)
    cd_off, n = len(out), len(arrays)
    out += cd
    rec = len(out)
    out += struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, n, n, len(cd), cd_off)
    out += struct.pack("<IIQI", 0x07064B50, 0, rec, 1)
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    with open(os.path.join(OUT, fname), "wb") as f:
        f.write(out)
    check_npz(fname, arrays)


def check_npz(fname, arrays):
    path = os.path.join(OUT, fname)
    with zipfile.ZipFile(path) as z:
        assert z.testzip() is None
    with np.load(path) as z:
        assert sorted(z.files) == sorted(arrays), (fname, z.files)
        for k, a in arrays.items():
            assert z[k].dtype == a.dtype and np.array_equal(z[k], a, equal_nan=True), (fname, k)
    for k, a in arrays.items():
        record(fname + ":" + k, a)


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        os.remove(os.path.join(OUT, f))
    # every type, little-endian, C order, as np.save writes them
    for t in ["?", "i1", "u1", "<i2", "<u2", "<i4", "<u4", "<i8", "<u8", "<f2", "<f4", "<f8"]:
        a = values(t, (2, 3))
        save("np_save_%s.npy" % lname(a), a)
    # big-endian
    for t in [">i2", ">u2", ">i4", ">u4", ">i8", ">u8", ">f2", ">f4", ">f8"]:
        a = values(t, (3, 2))
        save("be_%s.npy" % lname(a), a)
    # Fortran order
    save("fortran_f4.npy", values("<f4", (2, 3, 4)), fortran=True)
    save("fortran_be_i4.npy", values(">i4", (3, 5)), fortran=True)
    save("fortran_u1_4d.npy", values("u1", (2, 1, 3, 2)), fortran=True)
    save("fortran_1d.npy", values("<f8", (5,)), fortran=True)
    # format versions
    save("version2_f8.npy", values("<f8", (4,)), version=(2, 0))
    save("version3_i2.npy", values("<i2", (2, 2)), version=(3, 0))
    # scalars and empty arrays
    save("np_save_scalar_f8.npy", np.array(2.5))
    save("np_save_scalar_i4.npy", np.array(-7, dtype="<i4"))
    save("np_save_empty_0x3.npy", np.zeros((0, 3), dtype="<f4"))
    save("np_save_empty_4x0x2.npy", np.zeros((4, 0, 2), dtype="<i8"))
    save("np_save_empty_1d.npy", np.zeros((0,), dtype="u1"))
    save("np_save_8d.npy", values("<i2", (1, 2, 1, 2, 1, 1, 2, 1)))
    # archives
    x = np.arange(24, dtype="<f4").reshape(6, 4) / 4
    y = np.array([0, 1, 2, 1, 0, 2], dtype="<i8")
    for fn, saver in [("savez.npz", np.savez), ("savez_compressed.npz", np.savez_compressed)]:
        arrays = {"x": x, "y": y, "scalar": np.array(3.0), "bytes": values("u1", (100,))}
        saver(os.path.join(OUT, fn), **arrays)
        check_npz(fn, arrays)
    keras = {"x_train": values("u1", (8, 3, 3)), "y_train": np.array([0, 1, 2, 3, 0, 1, 2, 3], dtype="u1"),
             "x_test": values("u1", (4, 3, 3)), "y_test": np.array([3, 2, 1, 0], dtype="u1")}
    np.savez_compressed(os.path.join(OUT, "keras_style.npz"), **keras)
    check_npz("keras_style.npz", keras)
    uni = {"caf\u00e9": np.array([1.5, -2.0], dtype="<f4"), "\u65e5\u672c": np.array([7], dtype="<i2")}
    np.savez(os.path.join(OUT, "unicode_names.npz"), **uni)
    check_npz("unicode_names.npz", uni)
    np.savez(os.path.join(OUT, "empty_archive.npz"))
    check_npz("empty_archive.npz", {})
    small = {"a": values("<f8", (3,)), "b": values("<i4", (2, 2))}
    npz_descriptors("descriptors.npz", small, False)
    npz_descriptors("descriptors_zip64.npz", small, True)
    npz_zip64_records("zip64_records.npz", small)
    with open(os.path.join(OUT, "manifest.txt"), "w") as f:
        f.write("# Written by tests/golden/make_npy.py with NumPy %s: edit that script, not this file.\n"
                % np.__version__)
        f.write("# FILE[:MEMBER] DTYPE FORTRAN SHAPE HEX (C order, little-endian)\n")
        f.write("\n".join(MANIFEST) + "\n")
    print("%d arrays in %d files in %s" % (len(MANIFEST), len(os.listdir(OUT)) - 1, OUT))


if __name__ == "__main__":
    main()
