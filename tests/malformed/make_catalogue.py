#!/usr/bin/python3
"""Write the catalogue of malformed files, tests/malformed/*, and its index
tests/malformed/catalogue.txt (FILE READER EXPECTED-ERROR-SUBSTRING per line),
which tests/test_malformed.c checks: each file must fail in its reader with a
message holding the substring.  Lines marked "(valid)" are control files that
must be read without error.  Readers and their options are listed at the top
of tests/test_malformed.c.

    /usr/bin/python3 tests/malformed/make_catalogue.py    # from anywhere

Deterministic: the same bytes every run (gzip without timestamps).  The
classes are those of issue 10: truncated, huge declared sizes, shape products
that overflow, offsets out of range, overlapping or gapped tensors, duplicate
keys, invalid UTF-8 and JSON, deep nesting, negative or zero dimensions,
NaN/Inf values, wrong dtype, wrong magic, trailing garbage, empty file, labels
out of range, mismatched row lengths -- each where it applies to a reader --
plus malformed .npy headers and corrupt compressed data (CRC, deflate) for
the NumPy readers, and regression inputs from fuzzing (names starting fuzz_)."""
import gzip
import json
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ENTRIES = []  # (file, reader, expected substring or "(valid)", class)


def add(fname, reader, data, want, cls):
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(HERE, fname), "wb") as f:
        f.write(data)
    ENTRIES.append((fname, reader, want, cls))


def gz(data):
    if isinstance(data, str):
        data = data.encode()
    return gzip.compress(data, 9, mtime=0)


# ---- safetensors ---------------------------------------------------------------

def st_raw(header, data=b"", hlen=None, pad=True):
    h = header.encode() if isinstance(header, str) else header
    if pad:
        h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h) if hlen is None else hlen) + h + data


def E(dt, shape, offs):
    return '{"dtype":"%s","shape":%s,"data_offsets":%s}' % (dt, shape, offs)


def safetensors():
    f8 = struct.pack("<2f", 1.5, -2.0)
    ok = st_raw('{"a":' + E("F32", "[2]", "[0,8]") + '}', f8)
    add("st_ok.safetensors", "safetensors", ok, "(valid)", "control")
    S = "safetensors"
    add("st_empty.safetensors", S, b"", "st_empty.safetensors: file is 0 bytes, shorter than the 8-byte header length field (file offset 0)", "empty file")
    add("st_truncated_length.safetensors", S, ok[:5], "st_truncated_length.safetensors: file is 5 bytes, shorter than the 8-byte header length field (file offset 0)", "truncated")
    add("st_truncated_header.safetensors", S, ok[:20], "st_truncated_header.safetensors: header length 56 exceeds the 12 bytes that follow the length field (header length <= file size - 8) (file offset 0)", "truncated")
    add("st_truncated_data.safetensors", S, ok[:-3], "st_truncated_data.safetensors: tensor \"a\": data_offsets [0, 8] extend past the end of the 5-byte data buffer (file offset 55)", "truncated")
    add("st_huge_header_length.safetensors", S, struct.pack("<Q", 1 << 63) + b"{}      ", "st_huge_header_length.safetensors: header length 9223372036854775808 exceeds the 8 bytes that follow the length field (header length <= file size - 8) (file offset 0)", "huge declared sizes")
    add("st_zero_header_length.safetensors", S, struct.pack("<Q", 0) + b"{}      ", "st_zero_header_length.safetensors: header of 0 bytes cannot hold a JSON object (file offset 8)", "huge declared sizes")
    add("st_huge_tensor.safetensors", S, st_raw('{"a":' + E("F32", "[4294967296]", "[0,17179869184]") + '}', bytes(16)),
        "st_huge_tensor.safetensors: tensor \"a\": data_offsets [0, 17179869184] extend past the end of the 16-byte data buffer (file offset 64)", "huge declared sizes")
    add("st_shape_overflow.safetensors", S,
        st_raw('{"a":' + E("F32", "[9007199254740992,9007199254740992,9007199254740992]", "[0,0]") + '}'),
        "st_shape_overflow.safetensors: tensor \"a\": shape [9007199254740992, 9007199254740992, 9007199254740992] x F32 size overflows (file offset 36)", "shape products that overflow")
    add("st_shape_overflow_2d.safetensors", S, st_raw('{"a":' + E("F32", "[4294967296,4294967296]", "[0,0]") + '}'),
        "st_shape_overflow_2d.safetensors: tensor \"a\": shape [4294967296, 4294967296] x F32 size overflows (file offset 36)", "shape products that overflow")
    add("st_dim_over_2p53.safetensors", S, st_raw('{"a":' + E("F32", "[9007199254740993]", "[0,8]") + '}', f8),
        "st_dim_over_2p53.safetensors: tensor \"a\": a shape dimension exceeds 2^53 (file offset 37)", "huge declared sizes")
    add("st_offset_out_of_range.safetensors", S, st_raw('{"a":' + E("F32", "[2]", "[4,12]") + '}', f8),
        "st_offset_out_of_range.safetensors: tensor \"a\": data_offsets [4, 12] extend past the end of the 8-byte data buffer (file offset 55)", "offsets out of range")
    add("st_offset_over_2p53.safetensors", S, st_raw('{"a":' + E("F32", "[2]", "[0,99999999999999999999999]") + '}', f8),
        "st_offset_over_2p53.safetensors: tensor \"a\": data_offsets end exceeds 2^53 (file offset 58)", "offsets out of range")
    add("st_begin_after_end.safetensors", S, st_raw('{"a":' + E("F32", "[2]", "[8,0]") + '}', f8),
        "st_begin_after_end.safetensors: tensor \"a\": data_offsets [8, 0] have begin > end (file offset 55)", "offsets out of range")
    add("st_negative_offset.safetensors", S, st_raw('{"a":' + E("F32", "[2]", "[-8,0]") + '}', f8),
        "st_negative_offset.safetensors: tensor \"a\": data_offsets begin must not be negative (file offset 56)", "offsets out of range")
    add("st_overlap.safetensors", S,
        st_raw('{"a":' + E("F32", "[2]", "[0,8]") + ',"b":' + E("F32", "[2]", "[4,12]") + '}', bytes(12)),
        "st_overlap.safetensors: tensor \"b\": data_offsets [4, 12] overlap tensor \"a\" which ends at 8 (byte ranges must not overlap) (file offset 124)", "overlapping or gapped tensors")
    add("st_overlap_same.safetensors", S,
        st_raw('{"a":' + E("F32", "[2]", "[0,8]") + ',"b":' + E("F32", "[2]", "[0,8]") + '}', f8),
        "st_overlap_same.safetensors: tensor \"b\": data_offsets [0, 8] overlap tensor \"a\" which ends at 8 (byte ranges must not overlap) (file offset 120)", "overlapping or gapped tensors")
    add("st_gap.safetensors", S, st_raw('{"a":' + E("F32", "[2]", "[4,12]") + '}', bytes(12)),
        "st_gap.safetensors: gap of 4 bytes in the data buffer before tensor \"a\" at data offset 0 (byte ranges must be contiguous) (file offset 64)", "overlapping or gapped tensors")
    add("st_size_mismatch.safetensors", S, st_raw('{"a":' + E("F32", "[3]", "[0,8]") + '}', f8),
        "st_size_mismatch.safetensors: tensor \"a\": shape [3] of F32 needs 12 bytes but data_offsets [0, 8] span 8 (file offset 55)", "offsets out of range")
    add("st_duplicate_tensor.safetensors", S,
        st_raw('{"a":' + E("F32", "[2]", "[0,8]") + ',"a":' + E("F32", "[2]", "[0,8]") + '}', f8),
        "st_duplicate_tensor.safetensors: header is not valid JSON: duplicate key \"a\" (value starts here) (file offset 66)", "duplicate keys")
    add("st_duplicate_field.safetensors", S,
        st_raw('{"a":{"dtype":"F32","dtype":"F32","shape":[2],"data_offsets":[0,8]}}', f8),
        "st_duplicate_field.safetensors: header is not valid JSON: duplicate key \"dtype\" (value starts here) (file offset 36)", "duplicate keys")
    add("st_duplicate_metadata.safetensors", S, st_raw('{"__metadata__":{"k":"1","k":"2"}}'),
        "st_duplicate_metadata.safetensors: header is not valid JSON: duplicate key \"k\" (value starts here) (file offset 37)", "duplicate keys")
    add("st_invalid_utf8_name.safetensors", S, st_raw(b'{"a\xff":' + E("F32", "[2]", "[0,8]").encode() + b'}', f8),
        "st_invalid_utf8_name.safetensors: header is not valid JSON: invalid UTF-8 in string (file offset 11)", "invalid UTF-8")
    add("st_overlong_utf8.safetensors", S, st_raw(b'{"a\xc0\xaf":' + E("F32", "[2]", "[0,8]").encode() + b'}', f8),
        "st_overlong_utf8.safetensors: header is not valid JSON: invalid UTF-8 in string (file offset 11)", "invalid UTF-8")
    add("st_lone_surrogate.safetensors", S, st_raw('{"a\\ud800":' + E("F32", "[2]", "[0,8]") + '}', f8),
        "st_lone_surrogate.safetensors: header is not valid JSON: high surrogate \\uD800 not followed by a low surrogate (file offset 11)", "invalid UTF-8")
    add("st_invalid_json.safetensors", S, st_raw('{abc}'), "st_invalid_json.safetensors: header is not valid JSON: object key (a string) expected, found 'a' (file offset 9)", "invalid JSON")
    add("st_trailing_comma.safetensors", S, st_raw('{"a":' + E("F32", "[2]", "[0,8]") + ',}', f8),
        "st_trailing_comma.safetensors: header is not valid JSON: trailing comma before '}' (file offset 62)", "invalid JSON")
    add("st_nan_literal.safetensors", S, st_raw('{"a":' + E("F32", "[NaN]", "[0,8]") + '}', f8),
        "st_nan_literal.safetensors: header is not valid JSON: value expected, found 'N' (file offset 37)", "NaN/Inf values")
    add("st_not_object.safetensors", S, st_raw('[]'), "st_not_object.safetensors: header must begin with '{' (file offset 8)", "wrong magic")
    add("st_binary_header.safetensors", S, st_raw(b"\x89PNG\r\n\x1a\n"), "st_binary_header.safetensors: header must begin with '{' (file offset 8)", "wrong magic")
    deep = '{"__metadata__":{"a":' + "[" * 100 + "]" * 100 + '}}'
    add("st_deep_nesting.safetensors", S, st_raw(deep), "st_deep_nesting.safetensors: header is not valid JSON: nesting deeper than 64 levels (file offset 91)", "deep nesting")
    add("st_negative_dim.safetensors", S, st_raw('{"a":' + E("F32", "[-2]", "[0,8]") + '}', f8),
        "st_negative_dim.safetensors: tensor \"a\": a shape dimension must not be negative (file offset 37)", "negative or zero dimensions")
    add("st_fraction_dim.safetensors", S, st_raw('{"a":' + E("F32", "[2.0]", "[0,8]") + '}', f8),
        "st_fraction_dim.safetensors: tensor \"a\": a shape dimension must be an integer, found a fraction or exponent (file offset 37)", "wrong dtype")
    add("st_string_dim.safetensors", S, st_raw('{"a":' + E("F32", '["2"]', "[0,8]") + '}', f8),
        "st_string_dim.safetensors: tensor \"a\": a shape dimension must be an integer, found a string (file offset 37)", "wrong dtype")
    add("st_unknown_dtype.safetensors", S, st_raw('{"a":' + E("Q7", "[2]", "[0,8]") + '}', f8),
        "st_unknown_dtype.safetensors: tensor \"a\": unknown dtype \"Q7\" (file offset 22)", "wrong dtype")
    add("st_unsupported_dtype.safetensors", S, st_raw('{"a":' + E("F64", "[1]", "[0,8]") + '}', f8),
        "st_unsupported_dtype.safetensors: tensor \"a\": dtype F64 is valid safetensors but not supported by Lamina (F32, F16, BF16, I32, I8) (file offset 22)", "wrong dtype")
    add("st_rank7.safetensors", S, st_raw('{"a":' + E("F32", "[1,1,1,1,1,1,1]", "[0,4]") + '}', f8[:4]),
        "st_rank7.safetensors: tensor \"a\": rank 7 exceeds LAM_MAX_DIMS = 6 (file offset 36)", "huge declared sizes")
    add("st_missing_field.safetensors", S, st_raw('{"a":{"dtype":"F32","data_offsets":[0,8]}}', f8),
        "st_missing_field.safetensors: tensor \"a\": missing field \"shape\" (file offset 13)", "invalid JSON")
    add("st_unknown_field.safetensors", S,
        st_raw('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}}', f8), "st_unknown_field.safetensors: tensor \"a\": unknown field \"x\" (allowed: dtype, shape, data_offsets) (file offset 65)", "invalid JSON")
    add("st_nul_in_name.safetensors", S, st_raw('{"a\\u0000b":' + E("F32", "[2]", "[0,8]") + '}', f8),
        "st_nul_in_name.safetensors: tensor name contains a NUL character (file offset 20)", "invalid UTF-8")
    add("st_metadata_not_string.safetensors", S, st_raw('{"__metadata__":{"a":1}}'), "st_metadata_not_string.safetensors: __metadata__ value of \"a\" must be a string, found a number (file offset 29)", "wrong dtype")
    add("st_trailing_garbage.safetensors", S, ok + b"GARBAGE!", "st_trailing_garbage.safetensors: 8 trailing bytes of the data buffer belong to no tensor (the tensors must cover the data buffer to its end) (file offset 72)", "trailing garbage")
    add("st_trailing_json.safetensors", S, st_raw('{} x'), "st_trailing_json.safetensors: header is not valid JSON: unexpected 'x' after the JSON value (file offset 11)", "trailing garbage")
    bad_pad = bytearray(st_raw('{}'))
    bad_pad[8 + 2] = 0
    add("st_nul_padding.safetensors", S, bytes(bad_pad), "st_nul_padding.safetensors: header is not valid JSON: unexpected byte 0x00 after the JSON value (file offset 10)", "trailing garbage")


# ---- model files ----------------------------------------------------------------

MLP = "[net]\ninput = 4\n[data]\npath = data.csv\n[dense]\nunits = 3\n[train]\nloss = cross_entropy\n"


def model():
    M = "model"
    add("model_ok.cfg", M, MLP, "(valid)", "control")
    add("model_empty.cfg", M, "", "model_empty.cfg: missing [net] section (input = ...)", "empty file")
    add("model_comments_only.cfg", M, "# nothing\n\n   ; here\n", "model_comments_only.cfg: missing [net] section (input = ...)", "empty file")
    add("model_truncated.cfg", M, MLP[:MLP.index("[dense]") + 4], "model_truncated.cfg:5: malformed section header '[den' (expected [name])", "truncated")
    add("model_truncated_key.cfg", M, MLP[:MLP.index("units") + 6], "model_truncated_key.cfg:6: expected 'key = value' or '[section]', found 'units'", "truncated")
    add("model_no_value.cfg", M, MLP.replace("units = 3", "units ="), "model_no_value.cfg:6: key 'units' has no value", "truncated")
    add("model_duplicate_key.cfg", M, MLP.replace("input = 4\n", "input = 4\ninput = 5\n"),
        "model_duplicate_key.cfg:3: key 'input' repeated in [net] (first on line 2)", "duplicate keys")
    add("model_duplicate_section.cfg", M, MLP + "[net]\ninput = 2\n", "model_duplicate_section.cfg:9: section [net] repeated (first on line 1)", "duplicate keys")
    add("model_zero_dim.cfg", M, MLP.replace("input = 4", "input = 1, 0"),
        "model_zero_dim.cfg:2: input = '1, 0': expected positive integers separated by commas", "negative or zero dimensions")
    add("model_negative_dim.cfg", M, MLP.replace("input = 4", "input = -4"),
        "model_negative_dim.cfg:2: input = '-4': expected positive integers separated by commas", "negative or zero dimensions")
    add("model_zero_units.cfg", M, MLP.replace("units = 3", "units = 0"), "model_zero_units.cfg:6: units = 0 is outside 1..16777216", "negative or zero dimensions")
    add("model_huge_dim.cfg", M, MLP.replace("input = 4", "input = 99999999999"),
        "model_huge_dim.cfg:2: input = '99999999999': expected positive integers separated by commas", "huge declared sizes")
    add("model_too_many_dims.cfg", M, MLP.replace("input = 4", "input = 1, 1, 1, 1, 1, 1"),
        "model_too_many_dims.cfg:2: input has more than 5 values", "huge declared sizes")
    add("model_shape_overflow.cfg", M, MLP.replace("input = 4", "input = 2147483648, 2147483648, 2147483648"),
        "model_shape_overflow.cfg:2: input = '2147483648, 2147483648, 2147483648' holds more than 2^31 values per sample", "shape products that overflow")
    add("model_nan_value.cfg", M, MLP + "lr = nan\n", "model_nan_value.cfg:9: lr = 'nan' is not a finite number", "NaN/Inf values")
    add("model_inf_value.cfg", M, MLP + "momentum = inf\n", "model_inf_value.cfg:9: momentum = 'inf' is not a finite number", "NaN/Inf values")
    add("model_out_of_range.cfg", M, MLP + "lr = 1e9\n", "model_out_of_range.cfg:9: lr = 1e+09 is outside [0, 1000]", "huge declared sizes")
    add("model_wrong_type.cfg", M, MLP.replace("units = 3", "units = three"), "model_wrong_type.cfg:6: units = 'three' is not an integer", "wrong dtype")
    add("model_wrong_bool.cfg", M, MLP + "shuffle = maybe\n", "model_wrong_bool.cfg:9: shuffle = 'maybe': expected true or false", "wrong dtype")
    add("model_bad_choice.cfg", M, MLP.replace("cross_entropy", "hinge"), "model_bad_choice.cfg:8: loss = 'hinge': expected one of cross_entropy, mse, bce",
        "wrong dtype")
    add("model_unknown_key.cfg", M, MLP + "learning_rate = 0.1\n", "model_unknown_key.cfg:9: unknown key 'learning_rate' in [train]", "wrong dtype")
    add("model_unknown_section.cfg", M, MLP + "[denseish]\nunits = 2\n", "model_unknown_section.cfg:9: unknown section [denseish] (known: net, data, augment, train, stage, dense, conv2d, maxpool, avgpool, global_avgpool, flatten, batchnorm, dropout, activation, embedding, lstm, gru, rnn, attention, seq_pool, layernorm, rmsnorm, transformer)", "wrong dtype")
    add("model_missing_input.cfg", M, MLP.replace("input = 4\n", "seed = 1\n"), "model_missing_input.cfg:1: [net] needs 'input'", "truncated")
    add("model_nul_byte.cfg", M, MLP.encode() + b"\x00", "model_nul_byte.cfg: model file contains a NUL byte (binary?)", "wrong magic")
    add("model_binary.cfg", M, b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\x03" + bytes(range(1, 40)),
        "model_binary.cfg: model file contains a NUL byte (binary?)", "wrong magic")
    add("model_trailing_garbage.cfg", M, MLP + "}}}}\n", "model_trailing_garbage.cfg:9: expected 'key = value' or '[section]', found '}}}}'",
        "trailing garbage")
    add("model_bad_section_name.cfg", M, MLP + "[a b]\n", "model_bad_section_name.cfg:9: bad section name 'a b'", "invalid UTF-8")
    add("model_invalid_utf8_name.cfg", M, MLP.encode() + b"[dense\xff]\nunits = 2\n", "model_invalid_utf8_name.cfg:9: not valid UTF-8", "invalid UTF-8")
    add("model_invalid_utf8_value.cfg", M, MLP.replace("[dense]\n", "[dense]\nname = fc\xff\n").encode("latin-1"),
        "model_invalid_utf8_value.cfg:6: not valid UTF-8", "invalid UTF-8")
    add("model_too_many_stages.cfg", M, MLP + "[stage]\n" * 65, "model_too_many_stages.cfg:73: more than 64 [stage] sections",
        "huge declared sizes")
    add("model_invalid_utf8_comment.cfg", M, b"# caf\xe9\n" + MLP.encode(), "model_invalid_utf8_comment.cfg:1: not valid UTF-8", "invalid UTF-8")


# ---- CSV -------------------------------------------------------------------------

def csv():
    C = "csv"
    ok = "a,b,label\n1,2,0\n3,4,1\n"
    add("csv_ok.csv", C, ok, "(valid)", "control")
    add("csv_empty.csv", C, "", "csv_empty.csv: the file is empty (no rows)", "empty file")
    add("csv_blank_lines.csv", C, "\n\r\n  \n", "csv_blank_lines.csv: the file is empty (no rows)", "empty file")
    add("csv_header_only.csv", C, "a,b,label\n", "csv_header_only.csv: no data rows after the header (line 1)", "truncated")
    add("csv_row_lengths.csv", C, "a,b,label\n1,2,0\n3,1\n", "csv_row_lengths.csv:3:4: expected 3 fields (as on line 1, the header), found 2", "mismatched row lengths")
    add("csv_row_too_long.csv", C, "a,b,label\n1,2,0\n3,4,5,1\n", "csv_row_too_long.csv:3:7: expected 3 fields (as on line 1, the header), found more", "mismatched row lengths")
    add("csv_nan_feature.csv", C, "a,b,label\n1,NaN,0\n3,4,1\n", "csv_nan_feature.csv:2:3: missing value (\"NaN\") in column 'b' (field 2)", "NaN/Inf values")
    add("csv_inf_feature.csv", C, "a,b,label\n1,inf,0\n3,4,1\n", "csv_inf_feature.csv:2:3: column 'b' (field 2): expected a number, found \"inf\"", "NaN/Inf values")
    add("csv_huge_value.csv", C, "a,b,label\n1,1e39,0\n3,4,1\n", "csv_huge_value.csv:2:3: column 'b' (field 2): expected a number, found \"1e39\"", "NaN/Inf values")
    add("csv_non_numeric.csv", C, "a,b,label\n1,x2,0\n3,4,1\n", "csv_non_numeric.csv:2:3: column 'b' (field 2): expected a number, found \"x2\"", "wrong dtype")
    add("csv_invalid_utf8.csv", C, b"a,b,label\n1,\xff\xfe,0\n3,4,1\n", "csv_invalid_utf8.csv:2:3: column 'b' (field 2): expected a number, found \"\\xff\\xfe\"", "invalid UTF-8")
    add("csv_missing_label.csv", C, "a,b,label\n1,2,\n3,4,1\n", "csv_missing_label.csv:2:5: missing label (\"\") in column 'label' (field 3)", "truncated")
    add("csv_unterminated_quote.csv", C, 'a,b,label\n1,"2,0\n3,4,1\n', "csv_unterminated_quote.csv:2:3: quoted field opened here is never closed (end of file reached)", "truncated")
    add("csv_text_after_quote.csv", C, 'a,b,label\n1,"2"x,0\n3,4,1\n', "csv_text_after_quote.csv:2:6: unexpected \"x\" after the closing quote of a field", "trailing garbage")
    add("csv_truncated_gzip.csv.gz", C, gz(ok * 20)[:-12], "csv_truncated_gzip.csv.gz:4: corrupt or truncated gzip data (zlib: tests/malformed/csv_truncated_gzip.csv.gz: unexpected end of file)", "truncated")
    add("csv_corrupt_gzip.csv.gz", C, b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\x03" + b"\xff" * 30, "csv_corrupt_gzip.csv.gz:1: corrupt or truncated gzip data (zlib: tests/malformed/csv_corrupt_gzip.csv.gz: invalid block type)", "wrong magic")
    add("csv_3classes_ok.csv", "csv_3classes", "0,1.5\n2,2.5\n1,3\n", "(valid)", "control")
    add("csv_label_out_of_range.csv", "csv_3classes", "0,1.5\n3,2.5\n", "csv_label_out_of_range.csv:2:1: label \"3\" is not an integer in [0, 3) (nclasses = 3)", "labels out of range")
    add("csv_label_negative.csv", "csv_3classes", "0,1.5\n-1,2.5\n", "csv_label_negative.csv:2:1: label \"-1\" is not an integer in [0, 3) (nclasses = 3)", "labels out of range")
    add("csv_label_fraction.csv", "csv_3classes", "0,1.5\n1.5,2.5\n", "csv_label_fraction.csv:2:1: label \"1.5\" is not an integer in [0, 3) (nclasses = 3)", "labels out of range")


# ---- IDX -------------------------------------------------------------------------

def idx(type_code, dims, payload, ndim=None):
    return bytes([0, 0, type_code, len(dims) if ndim is None else ndim]) + \
        b"".join(struct.pack(">I", d) for d in dims) + payload


def idx_files():
    I = "idx"
    images = idx(0x08, [2, 2, 2], bytes(range(8)))
    labels = idx(0x08, [2], bytes([1, 9]))
    add("ok_images_2.idx", I, images, "(valid)", "control")
    add("ok_labels_2.idx", I, labels, "(valid)", "control")
    add("idx_ok_pair.idx", "idx_labels", labels, "(valid)", "control")
    add("idx_empty.idx", I, b"", "idx_empty.idx: truncated IDX file: ends at byte offset 0 inside the 4-byte magic number", "empty file")
    add("idx_truncated_magic.idx", I, b"\x00\x00", "idx_truncated_magic.idx: truncated IDX file: ends at byte offset 2 inside the 4-byte magic number", "truncated")
    add("idx_wrong_magic.idx", I, b"\x89PNG" + bytes(12), "idx_wrong_magic.idx: byte offset 0: not an IDX file: magic number starts 89 50, expected 00 00", "wrong magic")
    add("idx_gzip_wrong_magic.idx.gz", I, gz(b"PK\x03\x04" + bytes(12)), "idx_gzip_wrong_magic.idx.gz: byte offset 0: not an IDX file: magic number starts 50 4b, expected 00 00", "wrong magic")
    add("idx_unknown_type.idx", I, idx(0x0A, [2], b"\x00\x00"), "idx_unknown_type.idx: byte offset 2: unknown IDX element type 0x0a", "wrong dtype")
    add("idx_zero_ndim.idx", I, idx(0x08, [], b"", ndim=0), "idx_zero_ndim.idx: byte offset 3: 0 dimensions", "negative or zero dimensions")
    add("idx_five_dims.idx", I, idx(0x08, [1, 1, 1, 1, 1], b"\x00"), "idx_five_dims.idx: byte offset 3: 5 dimensions", "huge declared sizes")
    add("idx_zero_dim.idx", I, idx(0x08, [2, 0], b""), "idx_zero_dim.idx: byte offset 8: dimension 1 is 0", "negative or zero dimensions")
    add("idx_negative_dim.idx", I, idx(0x08, [0xFFFFFFFF], b"\x00"), "idx_negative_dim.idx: byte offset 4: dimension 0 (4294967295) makes the array larger than 2147483648 elements", "negative or zero dimensions")
    add("idx_shape_overflow.idx", I, idx(0x08, [65536, 65536, 65536], b"\x00"), "idx_shape_overflow.idx: byte offset 8: dimension 1 (65536) makes the array larger than 2147483648 elements",
        "shape products that overflow")
    add("idx_huge_declared.idx", I, idx(0x08, [60000, 28, 28], bytes(16)),
        "idx_huge_declared.idx: truncated IDX file: ends at byte offset 32, but its header declares 60000 x 28 x 28 u8 elements, 47040016 bytes in all",
        "huge declared sizes")
    add("idx_gzip_huge_declared.idx.gz", I, gz(idx(0x0E, [1 << 28], bytes(64))),
        "idx_gzip_huge_declared.idx.gz: truncated IDX file: ends at byte offset 72 (uncompressed) inside the data", "huge declared sizes")
    add("idx_truncated_dims.idx", I, idx(0x08, [2], b"", ndim=3), "idx_truncated_dims.idx: truncated IDX file: ends at byte offset 8 inside the dimension list", "truncated")
    add("idx_truncated_data.idx", I, images[:-1], "idx_truncated_data.idx: truncated IDX file: ends at byte offset 23, but its header declares 2 x 2 x 2 u8 elements, 24 bytes in all", "truncated")
    add("idx_gzip_truncated.idx.gz", I, gz(idx(0x08, [4, 50], bytes(range(200))))[:-9], "idx_gzip_truncated.idx.gz: corrupt or truncated gzip data near uncompressed byte offset 211 (zlib: unexpected end of file)", "truncated")
    add("idx_trailing_garbage.idx", I, images + b"junk", "idx_trailing_garbage.idx: 4 unexpected bytes after the data, from byte offset 24 (the header declares 2 x 2 x 2 u8 elements)",
        "trailing garbage")
    add("idx_gzip_trailing_garbage.idx.gz", I, gz(images + b"junk"), "idx_gzip_trailing_garbage.idx.gz: unexpected bytes after the data, at byte offset 24 (uncompressed); the header declares 2 x 2 x 2 u8 elements",
        "trailing garbage")
    # two-file readers: images with ok_labels_2.idx, labels with ok_images_2.idx
    nan = struct.pack(">f", float("nan"))
    add("idx_images_nan.idx", "idx_images", idx(0x0D, [2, 2], struct.pack(">f", 1) * 3 + nan),
        "idx_images_nan.idx: byte offset 24: element 1 of sample 1 is nan", "NaN/Inf values")
    add("idx_images_inf.idx", "idx_images", idx(0x0E, [2, 1], struct.pack(">2d", float("-inf"), 0)),
        "idx_images_inf.idx: byte offset 12: element 0 of sample 0 is -inf", "NaN/Inf values")
    add("idx_images_f64_range.idx", "idx_images", idx(0x0E, [2, 1], struct.pack(">2d", 1e300, 0)),
        "idx_images_f64_range.idx: byte offset 12: element 0 of sample 0 is 1e+300", "NaN/Inf values")
    add("idx_images_1d.idx", "idx_images", idx(0x08, [2], b"\x00\x01"), "idx_images_1d.idx: byte offset 3: an image file needs 2 to 4 dimensions ([N, F], [N, H, W] or [N, C, H, W]), found 1",
        "negative or zero dimensions")
    add("idx_images_count.idx", "idx_images", idx(0x08, [3, 2], bytes(6)), "ok_labels_2.idx: byte offset 4: 2 labels, but tests/malformed/idx_images_count.idx holds 3 images", "mismatched row lengths")
    add("idx_labels_out_of_range.idx", "idx_labels", idx(0x08, [2], bytes([1, 10])),
        "idx_labels_out_of_range.idx: byte offset 9: label 10 of item 1 is outside [0, 10)", "labels out of range")
    add("idx_labels_negative.idx", "idx_labels", idx(0x09, [2], bytes([0, 0xFF])),
        "idx_labels_negative.idx: byte offset 9: label -1 of item 1 is outside [0, 10)", "labels out of range")
    add("idx_labels_i32_huge.idx", "idx_labels", idx(0x0C, [2], struct.pack(">2i", 0, 2147483647)),
        "idx_labels_i32_huge.idx: byte offset 12: label 2147483647 of item 1 is outside [0, 10)", "labels out of range")
    add("idx_labels_float.idx", "idx_labels", idx(0x0D, [2], struct.pack(">2f", 0, 1)), "idx_labels_float.idx: byte offset 2: labels of type f32",
        "wrong dtype")
    add("idx_labels_2d.idx", "idx_labels", idx(0x08, [2, 1], b"\x00\x01"), "idx_labels_2d.idx: byte offset 3: a label file has 1 dimension, found 2",
        "mismatched row lengths")
    add("idx_labels_count.idx", "idx_labels", idx(0x08, [3], b"\x00\x01\x02"), "idx_labels_count.idx: byte offset 4: 3 labels, but tests/malformed/ok_images_2.idx holds 2 images", "mismatched row lengths")
    add("idx_labels_truncated.idx", "idx_labels", idx(0x08, [2], b"\x00"), "idx_labels_truncated.idx: truncated IDX file: ends at byte offset 9, but its header declares 2 u8 elements, 10 bytes in all", "truncated")


# ---- CIFAR -----------------------------------------------------------------------

def cifar():
    rec10 = bytes([3]) + bytes(3072)
    rec100 = bytes([4, 44]) + bytes(3072)
    add("cifar10_ok.bin", "cifar10", rec10 * 2, "(valid)", "control")
    add("cifar100_ok.bin", "cifar100", rec100, "(valid)", "control")
    add("cifar_empty.bin", "cifar10", b"", "cifar_empty.bin: byte offset 0: empty file, no CIFAR records", "empty file")
    add("cifar_truncated.bin", "cifar10", rec10[:1000], "cifar_truncated.bin: byte offset 0: partial record: 1000 bytes is not a whole number of 3073-byte records", "truncated")
    add("cifar_trailing_garbage.bin", "cifar10", rec10 + b"junk", "cifar_trailing_garbage.bin: byte offset 3073: partial record: 3077 bytes is not a whole number of 3073-byte records", "trailing garbage")
    add("cifar_gzip_truncated.bin.gz", "cifar10", gz(rec10 * 3)[:-9], "cifar_gzip_truncated.bin.gz: corrupt or truncated gzip data near uncompressed byte offset 9219 (zlib: unexpected end of file)", "truncated")
    add("cifar_gzip_partial.bin.gz", "cifar10", gz(rec10 + b"x"), "cifar_gzip_partial.bin.gz: byte offset 3073 (uncompressed): partial record: 3074 bytes is not a whole number of 3073-byte records", "truncated")
    add("cifar10_label_out_of_range.bin", "cifar10", rec10 + bytes([10]) + bytes(3072),
        "cifar10_label_out_of_range.bin: byte offset 3073: label 10 of record 1 is outside [0, 10)", "labels out of range")
    add("cifar100_coarse_out_of_range.bin", "cifar100", bytes([20, 5]) + bytes(3072),
        "cifar100_coarse_out_of_range.bin: byte offset 0: coarse label 20 of record 0 is outside [0, 20)", "labels out of range")
    add("cifar100_fine_out_of_range.bin", "cifar100", rec100 + bytes([1, 100]) + bytes(3072),
        "cifar100_fine_out_of_range.bin: byte offset 3075: fine label 100 of record 1 is outside [0, 100)", "labels out of range")
    add("cifar_wrong_variant.bin", "cifar10", rec100 * 2, "cifar_wrong_variant.bin: byte offset 6146: partial record: 6148 bytes is not a whole number of 3073-byte records", "wrong magic")


# ---- text --------------------------------------------------------------------------

VOCAB = '{"tokenizer":"char","lowercase":false,"pad":true,"unk":true,"tokens":["a","b","c"]}'


def text():
    add("corpus_ok.txt", "corpus", "some text\n", "(valid)", "control")
    add("corpus_empty.txt", "corpus", "", "corpus_empty.txt: the corpus is empty (1 file(s), no bytes)", "empty file")
    V = "vocab_json"
    add("vocab_ok.json", V, VOCAB, "(valid)", "control")
    add("vocab_empty.json", V, "", "vocabulary JSON: value expected, found end of input at byte 0", "empty file")
    add("vocab_truncated.json", V, VOCAB[:-10], "vocabulary JSON: ',' or ']' expected, found end of input at byte 73", "truncated")
    add("vocab_invalid_json.json", V, VOCAB.replace(':false', ':fals'), "vocabulary JSON: invalid literal (true, false or null expected) at byte 32", "invalid JSON")
    add("vocab_invalid_utf8.json", V, VOCAB.replace('"c"', '"\xff"').encode("latin-1"), "vocabulary JSON: invalid UTF-8 in string at byte 79", "invalid UTF-8")
    add("vocab_lone_surrogate.json", V, VOCAB.replace('"c"', '"\\udc00"'), "vocabulary JSON: unpaired low surrogate \\uDC00 at byte 79", "invalid UTF-8")
    add("vocab_duplicate_key.json", V, VOCAB.replace('"pad":true', '"pad":true,"pad":true'), "vocabulary JSON: duplicate key \"pad\" (value starts here) at byte 55",
        "duplicate keys")
    add("vocab_deep_nesting.json", V, VOCAB.replace('"tokens":["a"', '"tokens":[' + "[" * 100 + "]" * 100 + ',"a"'),
        "vocabulary JSON: nesting deeper than 64 levels at byte 132", "deep nesting")
    add("vocab_not_object.json", V, '["a","b"]', "vocabulary JSON: byte 0: expected an object, found array", "wrong dtype")
    add("vocab_missing_field.json", V, VOCAB.replace('"unk":true,', ''), "vocabulary JSON: byte 0: the field \"unk\" is missing", "truncated")
    add("vocab_extra_field.json", V, VOCAB.replace('{', '{"size":3,'), "vocabulary JSON: byte 8: unknown field \"size\"; the fields are tokenizer, lowercase, pad, unk, tokens", "wrong dtype")
    add("vocab_wrong_type.json", V, VOCAB.replace('"pad":true', '"pad":"yes"'), "vocabulary JSON: byte 44: \"pad\" must be a boolean, found string", "wrong dtype")
    add("vocab_unknown_tokenizer.json", V, VOCAB.replace('"char"', '"bpe"'), "vocabulary JSON: byte 13: unknown tokenizer \"bpe\"", "wrong dtype")
    add("vocab_byte_out_of_range.json", V,
        '{"tokenizer":"byte","lowercase":false,"pad":false,"unk":false,"tokens":[1,256]}', "vocabulary JSON: byte 74: token 1 of a byte vocabulary must be an integer in [0, 255]", "labels out of range")
    add("vocab_byte_negative.json", V,
        '{"tokenizer":"byte","lowercase":false,"pad":false,"unk":false,"tokens":[-1,3]}', "vocabulary JSON: byte 72: token 0 of a byte vocabulary must be an integer in [0, 255]", "negative or zero dimensions")
    add("vocab_byte_fraction.json", V,
        '{"tokenizer":"byte","lowercase":false,"pad":false,"unk":false,"tokens":[1.5]}', "vocabulary JSON: byte 72: token 0 of a byte vocabulary must be an integer in [0, 255]", "wrong dtype")
    add("vocab_byte_string.json", V,
        '{"tokenizer":"byte","lowercase":false,"pad":false,"unk":false,"tokens":["a"]}', "vocabulary JSON: byte 72: token 0 of a byte vocabulary must be an integer in [0, 255]", "wrong dtype")
    add("vocab_char_two_units.json", V, VOCAB.replace('"c"', '"cd"'), "vocabulary JSON: byte 78: token 2 (character U+0063 (\"cd\")) is not one char token", "wrong dtype")
    add("vocab_unsorted.json", V, VOCAB.replace('["a","b","c"]', '["b","a","c"]'), "vocabulary JSON: byte 74: token 1 is out of order; char tokens are listed in ascending order, each once", "duplicate keys")
    add("vocab_char_duplicate.json", V, VOCAB.replace('["a","b","c"]', '["a","a","c"]'), "vocabulary JSON: byte 74: token 1 is a duplicate; char tokens are listed in ascending order, each once", "duplicate keys")
    add("vocab_word_duplicate.json", V,
        '{"tokenizer":"word","lowercase":false,"pad":false,"unk":true,"tokens":["x","y","x"]}', "vocabulary JSON: byte 79: token 2 (word \"x\") is listed twice", "duplicate keys")
    add("vocab_word_space.json", V,
        '{"tokenizer":"word","lowercase":false,"pad":false,"unk":true,"tokens":["a b"]}', "vocabulary JSON: byte 71: token 0 (word \"a b\") is not one word token", "wrong dtype")
    add("vocab_uppercase.json", V, VOCAB.replace('"lowercase":false', '"lowercase":true').replace('"c"', '"C"'), "vocabulary JSON: byte 77: token 2 (character U+0043 (\"C\")) is not one char token of lower-case text",
        "wrong dtype")
    add("vocab_no_tokens.json", V, '{"tokenizer":"char","lowercase":false,"pad":false,"unk":false,"tokens":[]}',
        "vocabulary JSON: byte 71: 0 tokens; a vocabulary has 1 to 4194304", "empty file")
    add("vocab_trailing_garbage.json", V, VOCAB + "}", "vocabulary JSON: unexpected '}' after the JSON value at byte 83", "trailing garbage")
    add("vocab_nan.json", V, VOCAB.replace('"tokens":["a","b","c"]', '"tokens":[NaN]'), "vocabulary JSON: value expected, found 'N' at byte 70",
        "NaN/Inf values")


    T = "text_csv"
    ok = "label,text\npos,nice\nneg,\"bad, very\"\n"
    add("text_csv_ok.csv", T, ok, "(valid)", "control")
    add("text_csv_empty.csv", T, "", "text_csv_empty.csv: the file is empty (no rows)", "empty file")
    add("text_csv_header_only.csv", T, "label,text\n", "text_csv_header_only.csv: no data rows after the header (line 1)", "truncated")
    add("text_csv_row_lengths.csv", T, "label,text\npos,nice\nneg\n", "text_csv_row_lengths.csv:3: expected 2 fields (as on line 1), found 1", "mismatched row lengths")
    add("text_csv_row_too_long.csv", T, "label,text\npos,nice\nneg,a,b\n", "text_csv_row_too_long.csv:3: expected 2 fields (as on line 1), found more than 2", "mismatched row lengths")
    add("text_csv_empty_label.csv", T, "label,text\npos,nice\n,bad\n", "text_csv_empty_label.csv:3:1: the label is empty", "truncated")
    add("text_csv_unterminated_quote.csv", T, 'label,text\npos,"nice\n', "text_csv_unterminated_quote.csv:2:5: quoted field opened here is never closed (end of file reached)", "truncated")
    add("text_csv_nul_label.csv", T, b"label,text\npo\x00s,nice\n", "text_csv_nul_label.csv:2:1: the label holds a NUL byte", "invalid UTF-8")
    add("text_csv_missing_column.csv", T, "label,body\npos,nice\n", "text_csv_missing_column.csv:1: no text column named 'text' in the header; the columns are 'label', 'body'", "wrong dtype")
    add("text_csv_gzip_truncated.csv.gz", T, gz(ok * 30)[:-9], "text_csv_gzip_truncated.csv.gz:91: corrupt or truncated gzip data (zlib: tests/malformed/text_csv_gzip_truncated.csv.gz: unexpected end of file)", "truncated")

    S = "timeseries"
    rows = "t,x,y\n" + "".join("%d,%d,%g\n" % (i, i * 2, i * 0.5) for i in range(8))
    add("ts_ok.csv", S, rows, "(valid)", "control")
    add("ts_empty.csv", S, "", "ts_empty.csv: the file is empty", "empty file")
    add("ts_header_only.csv", S, "t,x,y\n", "ts_header_only.csv: 0 rows are too few for one window of 2 rows and its target", "truncated")
    add("ts_too_few_rows.csv", S, "t,x,y\n0,1,2\n1,2,3\n", "ts_too_few_rows.csv: 2 rows are too few for one window of 2 rows and its target", "truncated")
    add("ts_row_lengths.csv", S, rows.replace("3,6,1.5\n", "3,6\n"), "ts_row_lengths.csv:5: expected 3 fields (as in the header), found 2", "mismatched row lengths")
    add("ts_nan_value.csv", S, rows.replace("3,6,1.5", "3,NaN,1.5"), "ts_nan_value.csv:5:3: column 'x': missing value (\"NaN\")", "NaN/Inf values")
    add("ts_inf_value.csv", S, rows.replace("3,6,1.5", "3,6,-inf"), "ts_inf_value.csv:5:5: column 'y': expected a number, found \"-inf\"", "NaN/Inf values")
    add("ts_non_numeric.csv", S, rows.replace("3,6,1.5", "3,six,1.5"), "ts_non_numeric.csv:5:3: column 'x': expected a number, found \"six\"", "wrong dtype")
    add("ts_out_of_order.csv", S, rows.replace("4,8,2\n", "1,8,2\n"), "ts_out_of_order.csv:6:1: time \"1\" comes before \"3\" of line 5: the rows are out of time order", "wrong dtype")
    add("ts_empty_time.csv", S, rows.replace("4,8,2\n", ",8,2\n"), "ts_empty_time.csv:6:1: the time is empty", "truncated")
    add("ts_missing_column.csv", S, rows.replace("t,x,y", "t,x,z"), "ts_missing_column.csv:1: no feature column named 'y' in the header; the columns are 't', 'x', 'z'", "wrong dtype")
    add("ts_gzip_truncated.csv.gz", S, gz("t,x,y\n" + "".join("%d,1,2\n" % i for i in range(100)))[:-9], "ts_gzip_truncated.csv.gz:102: corrupt or truncated gzip data (zlib: tests/malformed/ts_gzip_truncated.csv.gz: unexpected end of file)", "truncated")


# ---- checkpoints --------------------------------------------------------------------

CK_MODEL = "[net]\ninput = 2\n[data]\npath = data.csv\n[dense]\nname = out\nunits = 2\n[train]\nbatch = 2\n"
TEXT_MODEL = ("[net]\ninput = 2\n[data]\nformat = corpus\npath = c.txt\ntokenizer = byte\n[embedding]\nunits = 2\n"
              "[dense]\nunits = vocab\n[train]\nbatch = 1\n")
BYTE_VOCAB = '{"tokenizer":"byte","lowercase":false,"pad":false,"unk":false,"tokens":[97,98,99]}'


def f32(*v):
    return struct.pack("<%df" % len(v), *v)


def ck_meta(model, **extra):
    m = {"format": "lamina-checkpoint", "format_version": "1", "model": model, "model_path": "model.cfg",
         "scaler": "none", "stage": "0", "epoch": "1", "step": "3", "best_epoch": "1", "bad_epochs": "0",
         "best_monitor": "0.5", "loader_rng": "0" * 63 + "1", "loader_epoch": "1", "loader_pos": "0", "loader_n": "4",
         "dropout_rng": "0" * 63 + "2", "augment_rng": "0" * 63 + "3", "optimizer": "none", "optim_steps": ""}
    for k, v in extra.items():
        if v is None:
            m.pop(k, None)
        else:
            m[k] = v
    return m


def st_build(tensors, meta):
    """tensors: list of (name, dtype, shape, bytes) in data order; written as the library does."""
    hdr, off, buf = {"__metadata__": meta}, 0, b""
    for name, dt, shape, data in tensors:
        hdr[name] = {"dtype": dt, "shape": shape, "data_offsets": [off, off + len(data)]}
        off += len(data)
        buf += data
    h = json.dumps(hdr, separators=(",", ":"), sort_keys=True).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + buf


def checkpoints():
    C = "checkpoint"
    W = ("out.weight", "F32", [2, 2], f32(0.1, -0.2, 0.3, 0.4))
    B = ("out.bias", "F32", [2], f32(0.0, 0.5))
    ok = st_build([W, B], ck_meta(CK_MODEL))
    add("ckpt_ok.safetensors", C, ok, "(valid)", "control")
    add("ckpt_empty.safetensors", C, b"", "ckpt_empty.safetensors: file is 0 bytes, shorter than the 8-byte header length field (file offset 0)", "empty file")
    add("ckpt_truncated.safetensors", C, ok[:-5], "ckpt_truncated.safetensors: tensor \"out.bias\": data_offsets [16, 24] extend past the end of the 19-byte data buffer (file offset 669)", "truncated")
    add("ckpt_trailing_garbage.safetensors", C, ok + b"\x00" * 8, "ckpt_trailing_garbage.safetensors: 8 trailing bytes of the data buffer belong to no tensor (the tensors must cover the data buffer to its end) (file offset 800)", "trailing garbage")
    add("ckpt_not_lamina.safetensors", C, st_build([W, B], {"format": "pt"}),
        "ckpt_not_lamina.safetensors: not a Lamina checkpoint (no lamina-checkpoint metadata)", "wrong magic")
    add("ckpt_version.safetensors", C, st_build([W, B], ck_meta(CK_MODEL, format_version="9")),
        "ckpt_version.safetensors: checkpoint format version 9, this Lamina reads 1 and 2", "wrong magic")
    add("ckpt_bad_model_text.safetensors", C, st_build([W, B], ck_meta(CK_MODEL.replace("units = 2", "units ="))),
        "model.cfg:7: key 'units' has no value", "truncated")
    add("ckpt_missing_param.safetensors", C, st_build([W], ck_meta(CK_MODEL)), "ckpt_missing_param.safetensors: checkpoint has no tensor \"out.bias\"", "truncated")
    add("ckpt_wrong_shape.safetensors", C, st_build([("out.weight", "F32", [4], W[3]), B], ck_meta(CK_MODEL)),
        "ckpt_wrong_shape.safetensors: checkpoint tensor \"out.weight\" is F32 [4], expected F32 [2, 2]", "mismatched row lengths")
    add("ckpt_wrong_dtype.safetensors", C, st_build([("out.weight", "I32", [2, 2], W[3]), B], ck_meta(CK_MODEL)),
        "ckpt_wrong_dtype.safetensors: checkpoint tensor \"out.weight\" is I32 [2, 2], expected F32 [2, 2]", "wrong dtype")
    add("ckpt_extra_tensor.safetensors", C, st_build([W, B, ("evil", "F32", [1], f32(1))], ck_meta(CK_MODEL)),
        "ckpt_extra_tensor.safetensors: tensor 'evil' is not a parameter of the model", "trailing garbage")
    add("ckpt_nan_weight.safetensors", C, st_build([("out.weight", "F32", [2, 2], f32(0.1, float("nan"), 0, 0)), B],
                                                   ck_meta(CK_MODEL)), "ckpt_nan_weight.safetensors: parameter out.weight[1] is nan: not finite (a diverged run?)", "NaN/Inf values")
    add("ckpt_inf_bias.safetensors", C, st_build([W, ("out.bias", "F32", [2], f32(float("inf"), 0))], ck_meta(CK_MODEL)),
        "ckpt_inf_bias.safetensors: parameter out.bias[0] is inf: not finite (a diverged run?)", "NaN/Inf values")
    add("ckpt_bad_rng.safetensors", C, st_build([W, B], ck_meta(CK_MODEL, dropout_rng="xyz")),
        "ckpt_bad_rng.safetensors: malformed RNG state in checkpoint metadata", "wrong dtype")
    add("ckpt_negative_count.safetensors", C, st_build([W, B], ck_meta(CK_MODEL, step="-3")),
        "ckpt_negative_count.safetensors: checkpoint metadata 'step' = '-3' is not a count", "negative or zero dimensions")
    add("ckpt_missing_state.safetensors", C, st_build([W, B], ck_meta(CK_MODEL, loader_pos=None)),
        "ckpt_missing_state.safetensors: checkpoint metadata lacks 'loader_pos'", "truncated")
    add("ckpt_stage_out_of_range.safetensors", C, st_build([W, B], ck_meta(CK_MODEL, stage="65")),
        "ckpt_stage_out_of_range.safetensors: stage 65 out of range", "huge declared sizes")
    add("ckpt_epoch_huge.safetensors", C, st_build([W, B], ck_meta(CK_MODEL, epoch="99999999999999999999")),
        "ckpt_epoch_huge.safetensors: checkpoint metadata 'epoch' = '99999999999999999999' is not a count", "huge declared sizes")
    add("ckpt_class_names_not_array.safetensors", C, st_build([W, B], ck_meta(CK_MODEL, class_names='{"a":1}')),
        "ckpt_class_names_not_array.safetensors: class_names metadata is not an array of strings", "wrong dtype")
    add("ckpt_class_names_invalid_json.safetensors", C, st_build([W, B], ck_meta(CK_MODEL, class_names='["a",')),
        "ckpt_class_names_invalid_json.safetensors: class_names metadata is not an array of strings", "invalid JSON")
    add("ckpt_class_names_number.safetensors", C, st_build([W, B], ck_meta(CK_MODEL, class_names='["a",2]')),
        "ckpt_class_names_number.safetensors: class_names[1] is not a string", "wrong dtype")
    add("ckpt_unknown_scaler.safetensors", C, st_build([W, B], ck_meta(CK_MODEL, scaler="robust")),
        "ckpt_unknown_scaler.safetensors: unknown scaler 'robust'", "wrong dtype")
    add("ckpt_scaler_missing.safetensors", C, st_build([W, B], ck_meta(CK_MODEL, scaler="standard")),
        "ckpt_scaler_missing.safetensors: scaler tensors missing or not F32 [2]", "truncated")
    add("ckpt_scaler_zero_scale.safetensors", C,
        st_build([W, B, ("scaler.scale", "F32", [2], f32(0, 1)), ("scaler.shift", "F32", [2], f32(0, 0))],
                 ck_meta(CK_MODEL, scaler="standard")), "lam_scaler_from_params: column 0 has shift 0, scale 0; the shift must be finite and the scale finite and non-zero", "negative or zero dimensions")
    add("ckpt_scaler_nan.safetensors", C,
        st_build([W, B, ("scaler.scale", "F32", [2], f32(1, 1)), ("scaler.shift", "F32", [2], f32(float("nan"), 0))],
                 ck_meta(CK_MODEL, scaler="standard")), "lam_scaler_from_params: column 0 has shift nan, scale 1; the shift must be finite and the scale finite and non-zero", "NaN/Inf values")
    add("ckpt_target_scaler_shape.safetensors", C,
        st_build([W, B, ("target_scaler.scale", "F32", [3], f32(1, 1, 1)), ("target_scaler.shift", "F32", [3], f32(0, 0, 0))],
                 ck_meta(CK_MODEL)), "ckpt_target_scaler_shape.safetensors: target scaler tensors missing or not F32 [2]", "mismatched row lengths")
    # text models: the vocabulary comes from the metadata
    E = ("emb1.weight", "F32", [3, 2], f32(*range(6)))
    FW = ("fc1.weight", "F32", [3, 2], f32(*range(6)))
    FB = ("fc1.bias", "F32", [3], f32(0, 0, 0))
    add("ckpt_text_ok.safetensors", C, st_build([E, FW, FB], ck_meta(TEXT_MODEL, vocab=BYTE_VOCAB)), "(valid)", "control")
    add("ckpt_text_vocab_tokenizer.safetensors", C,
        st_build([E, FW, FB], ck_meta(TEXT_MODEL, vocab=BYTE_VOCAB.replace('"byte"', '"char"').replace("97,98,99", '"a","b","c"'))),
        "model.cfg: the saved vocabulary is of the char tokenizer, the model file says byte", "wrong dtype")
    add("ckpt_text_vocab_invalid.safetensors", C,
        st_build([E, FW, FB], ck_meta(TEXT_MODEL, vocab=BYTE_VOCAB.replace("99", "999"))), "vocabulary JSON: byte 78: token 2 of a byte vocabulary must be an integer in [0, 255]", "labels out of range")
    add("ckpt_text_vocab_size.safetensors", C,
        st_build([E, FW, FB], ck_meta(TEXT_MODEL, vocab=BYTE_VOCAB.replace("97,", ""))), "ckpt_text_vocab_size.safetensors: checkpoint tensor \"emb1.weight\" is F32 [3, 2], expected F32 [2, 2]",
        "mismatched row lengths")


# ---- NumPy .npy and .npz --------------------------------------------------------------

def npy(descr, shape, payload, fortran=False, version=1, header=None):
    """A .npy file as np.save writes it; header: the dict text instead."""
    if header is None:
        sh = "()" if not shape else "(%s,)" % shape[0] if len(shape) == 1 else "(%s)" % ", ".join(map(str, shape))
        header = "{'descr': %s, 'fortran_order': %s, 'shape': %s, }" % (
            descr if descr.startswith("[") else "'%s'" % descr, fortran, sh)
        header += " " * (21 - len(str(shape[0])) if shape else 0)
    h = header.encode("utf-8") if isinstance(header, str) else header
    pre = 10 if version == 1 else 12
    pad = 64 - (pre + len(h) + 1) % 64
    h = h + b" " * pad + b"\n"
    size = struct.pack("<H", len(h)) if version == 1 else struct.pack("<I", len(h))
    return b"\x93NUMPY" + bytes([version, 0]) + size + h + payload


def deflate(raw):
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return c.compress(raw) + c.flush()


def zip_archive(members, **eocd):
    """An .npz laid out as np.savez writes it (a Zip64 extra field in every
    local header).  members: dicts with name (bytes, the whole member name),
    data (the member's bytes) and deflate; optional overrides of the local
    header (lname, lcrc, lcsize, lusize), the central directory (ccrc, ccsize,
    cusize, coff, cextra), both (flags, method, raw: the stored bytes), pad
    (bytes after the member).  eocd: count, size, off, disk overrides."""
    out, cd = b"", b""
    for m in members:
        raw = m["data"]
        comp = m.get("raw", deflate(raw) if m.get("deflate") else raw)
        crc = zlib.crc32(raw)
        method = m.get("method", 8 if m.get("deflate") else 0)
        flags = m.get("flags", 0)
        name, lname = m["name"], m.get("lname", m["name"])
        off = len(out)
        lcs, lus = m.get("lcsize", len(comp)), m.get("lusize", len(raw))
        extra = struct.pack("<HHQQ", 1, 16, lus, lcs)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, flags, method, 0, 0x21, m.get("lcrc", crc), lcs, lus,
                           len(lname), len(extra)) + lname + extra + comp + m.get("pad", b"")
        cextra = m.get("cextra", b"")
        cd += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 0x314, 20, flags, method, 0, 0x21, m.get("ccrc", crc),
                          m.get("ccsize", len(comp)), m.get("cusize", len(raw)), len(name), len(cextra), 0, 0, 0,
                          0o600 << 16, m.get("coff", off)) + name + cextra
    e = {"count": len(members), "size": len(cd), "off": len(out), "disk": 0}
    e.update(eocd)
    return out + cd + struct.pack("<IHHHHIIH", 0x06054B50, e["disk"], e["disk"], e["count"], e["count"], e["size"],
                                  e["off"], 0)


def numpy_files():
    N = "npy"
    f6 = struct.pack("<6f", 0.5, -1, 2, 3.25, 0, 1e-3)
    ok = npy("<f4", [2, 3], f6)
    add("npy_ok.npy", N, ok, "(valid)", "control")
    add("npy_zero_dim.npy", N, npy("<f4", [0, 3], b""), "(valid)", "control")
    add("npy_fortran_be.npy", N, npy(">i2", [2, 2], struct.pack(">4h", 1, 3, 2, 4), fortran=True), "(valid)", "control")
    add("npy_empty.npy", N, b"", "npy_empty.npy: byte offset 0: the file is empty", "empty file")
    add("npy_truncated_preamble.npy", N, ok[:8], "npy_truncated_preamble.npy: byte offset 8: truncated: the file ends inside the 10-byte preamble (magic, version, header length)", "truncated")
    add("npy_truncated_header.npy", N, ok[:40], "npy_truncated_header.npy: byte offset 8: truncated: header length 118 runs past the end of the 40-byte file", "truncated")
    add("npy_truncated_data.npy", N, ok[:-3], "npy_truncated_data.npy: byte offset 149: truncated: the header declares shape (2, 3) of '<f4', 24 bytes of data from byte offset 128, but the file ends after 21", "truncated")
    add("npy_huge_shape.npy", N, npy("<f8", [10 ** 12], struct.pack("<d", 1)), "npy_huge_shape.npy: byte offset 136: truncated: the header declares shape (1000000000000,) of '<f8', 8000000000000 bytes of data from byte offset 128, but the file ends after 8", "huge declared sizes")
    add("npy_huge_header_length.npy", N, b"\x93NUMPY\x02\x00\xff\xff\xff\xff{}", "npy_huge_header_length.npy: byte offset 8: header length 4294967295 exceeds the cap of 1048576 bytes", "huge declared sizes")
    add("npy_rank9.npy", N, npy("<f4", [1] * 9, struct.pack("<f", 1)), "npy_rank9.npy: byte offset 60: 'shape' has more than 8 dimensions", "huge declared sizes")
    add("npy_shape_overflow.npy", N, npy("<f4", [2 ** 32] * 3, b""), "npy_shape_overflow.npy: byte offset 60: shape (4294967296, 4294967296, 4294967296) of '<f4' overflows (more than 2^63 elements or 2^64 bytes)", "shape products that overflow")
    add("npy_negative_dim.npy", N, npy("<f4", [2, 3], f6, header="{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3), }"),
        "npy_negative_dim.npy: byte offset 64: negative dimension in 'shape'", "negative or zero dimensions")
    add("npy_duplicate_key.npy", N, npy("<f4", [2, 3], f6, header="{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'descr': '<f8', }"),
        "npy_duplicate_key.npy: byte offset 68: duplicate key 'descr' (first at byte offset 11)", "duplicate keys")
    add("npy_v3_invalid_utf8.npy", N, npy("<f4", [2, 3], f6, version=3, header=b"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } \xc3("),
        "npy_v3_invalid_utf8.npy: byte offset 72: invalid UTF-8 in the version 3.0 header", "invalid UTF-8")
    add("npy_deep_nesting.npy", N, npy("<f4", [3], f6[:12], header="{'descr': '<f4', 'fortran_order': False, 'shape': " + "(" * 40 + "3" + ",)" * 40 + ", }"),
        "npy_deep_nesting.npy: byte offset 61: nested brackets in 'shape'", "deep nesting")
    add("npy_unknown_key.npy", N, npy("<f4", [2, 3], f6, header="{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'order': 'C', }"),
        "npy_unknown_key.npy: byte offset 68: unknown key 'order'", "malformed header")
    add("npy_missing_key.npy", N, npy("<f4", [2, 3], f6, header="{'descr': '<f4', 'fortran_order': False, }"), "npy_missing_key.npy: byte offset 10: the header has no key 'shape'", "malformed header")
    add("npy_one_tuple.npy", N, npy("<f4", [2, 3], f6, header="{'descr': '<f4', 'fortran_order': False, 'shape': (6), }"),
        "npy_one_tuple.npy: byte offset 60: 'shape' (6) is an integer in parentheses, not a tuple", "malformed header")
    no_nl = bytearray(ok)
    no_nl[127] = 0x20
    add("npy_no_newline.npy", N, bytes(no_nl), "npy_no_newline.npy: byte offset 127: the header ends with ' ', not '\\n'", "malformed header")
    add("npy_unsupported_dtype.npy", N, npy("<U5", [2], bytes(40)), "npy_unsupported_dtype.npy: byte offset 20: dtype '<U5' (unicode strings) is not supported", "wrong dtype")
    add("npy_object.npy", N, npy("|O", [1], b"\x80\x04N."), "npy_object.npy: byte offset 20: dtype '|O' (Python objects (pickled)) is not supported", "wrong dtype")
    add("npy_structured.npy", N, npy("[('a', '<f4'), ('b', '<i4')]", [3], bytes(24)), "npy_structured.npy: byte offset 20: structured dtype (descr is a list of fields)", "wrong dtype")
    add("npy_unknown_dtype.npy", N, npy("<q4", [2, 3], f6), "npy_unknown_dtype.npy: byte offset 20: unknown dtype '<q4'", "wrong dtype")
    add("npy_bad_fortran_order.npy", N, npy("<f4", [2, 3], f6, header="{'descr': '<f4', 'fortran_order': 1, 'shape': (2, 3), }"),
        "npy_bad_fortran_order.npy: byte offset 44: expected True or False for 'fortran_order' in the header dict, found '1'", "wrong dtype")
    add("npy_wrong_magic.npy", N, b"\x93NUMPX" + ok[6:], "npy_wrong_magic.npy: byte offset 0: not a .npy file: it starts with '\\x93NUMPX', not \\x93NUMPY", "wrong magic")
    add("npy_bad_version.npy", N, ok[:6] + b"\x04\x00" + ok[8:], "npy_bad_version.npy: byte offset 6: unknown .npy format version 4.0", "wrong magic")
    add("npy_trailing_garbage.npy", N, ok + b"XY", "npy_trailing_garbage.npy: byte offset 152: 2 unexpected bytes after the data (the header declares shape (2, 3) of '<f4', 24 bytes)", "trailing garbage")
    add("npy_after_dict.npy", N, npy("<f4", [2, 3], f6, header="{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } x"),
        "npy_after_dict.npy: byte offset 70: 'x' after the header dict", "trailing garbage")

    Z = "npz"
    x = npy("<f4", [2, 3], f6)
    y = npy("|u1", [2], bytes([1, 0]))
    XY = [{"name": b"x.npy", "data": x}, {"name": b"y.npy", "data": y}]
    ok_z = zip_archive(XY)
    add("npz_ok.npz", Z, ok_z, "(valid)", "control")
    add("npz_ok_deflate.npz", Z, zip_archive([dict(m, deflate=True) for m in XY]), "(valid)", "control")
    add("npz_no_arrays.npz", Z, zip_archive([]), "(valid)", "control")
    add("npz_empty.npz", Z, b"", "npz_empty.npz: byte offset 0: the file is empty", "empty file")
    add("npz_truncated.npz", Z, ok_z[:-10], "npz_truncated.npz: byte offset 506: no end-of-central-directory record (a ZIP archive ends with one)", "truncated")
    add("npz_truncated_member.npz", Z, zip_archive([{"name": b"x.npy", "data": x[:-5]}]), "npz_truncated_member.npz[x.npy]: byte offset 147: truncated: the header declares shape (2, 3) of '<f4', 24 bytes of data from byte offset 128, but the file ends after 19", "truncated")
    add("npz_truncated_deflate.npz", Z, zip_archive([{"name": b"x.npy", "data": x, "deflate": True,
                                                       "raw": deflate(x)[:-4]}]), "npz_truncated_deflate.npz: byte offset 142: member 'x.npy': truncated deflate data: the 87 compressed bytes end before the stream does", "truncated")
    add("npz_huge_count.npz", Z, zip_archive(XY, count=0xFFFE), "npz_huge_count.npz: byte offset 494: 65534 entries cannot fit in the 102-byte central directory (46 bytes or more each)", "huge declared sizes")
    add("npz_zip_bomb.npz", Z, zip_archive([{"name": b"x.npy", "data": x, "deflate": True, "cusize": 10 ** 9}]), "npz_zip_bomb.npz: byte offset 170: member 'x.npy' declares 1000000000 bytes from 91 compressed ones, more than deflate can produce (at most 1032:1)",
        "huge declared sizes")
    add("npz_inflates_more.npz", Z, zip_archive([{"name": b"x.npy", "data": x, "deflate": True, "cusize": len(x) - 8,
                                                   "lusize": len(x) - 8}]), "npz_inflates_more.npz: byte offset 55: member 'x.npy': the deflate data inflates to more than the 144 bytes the archive declares", "huge declared sizes")
    add("npz_zip64_missing.npz", Z, zip_archive([{"name": b"x.npy", "data": x, "cusize": 0xFFFFFFFF}]), "npz_zip64_missing.npz: byte offset 207: member 'x.npy': a size or offset of 0xFFFFFFFF says \"see the Zip64 extra field\", which is missing",
        "huge declared sizes")
    add("npz_stored_sizes.npz", Z, zip_archive([{"name": b"x.npy", "data": x, "ccsize": len(x) - 1}]), "npz_stored_sizes.npz: byte offset 227: member 'x.npy' is stored (not compressed) but its compressed size 151 differs from its size 152",
        "offsets out of range")
    add("npz_offset_out_of_range.npz", Z, zip_archive([XY[0], dict(XY[1], coff=0x7FFFFFFF)]), "npz_offset_out_of_range.npz: byte offset 485: member 'y.npy': its local header at byte offset 2147483647 is not before the central directory at byte offset 392",
        "offsets out of range")
    add("npz_cd_offset.npz", Z, zip_archive(XY, off=len(ok_z) - 22 - 96 + 1), "npz_cd_offset.npz: byte offset 494: the central directory (102 bytes at byte offset 399) does not end where the end records begin (byte offset 494)", "offsets out of range")
    add("npz_local_mismatch.npz", Z, zip_archive([dict(XY[0], lusize=len(x) + 1), XY[1]]), "npz_local_mismatch.npz: byte offset 14: member 'x.npy': the local header's uncompressed size is 153, the central directory's 152", "offsets out of range")
    add("npz_overlap.npz", Z, zip_archive([XY[0], dict(XY[1], coff=0)]), "npz_overlap.npz: byte offset 0: member 'y.npy' (local header here) overlaps member 'x.npy', which ends at byte offset 207", "overlapping or gapped tensors")
    add("npz_gap.npz", Z, zip_archive([dict(XY[0], pad=b"\0" * 5), XY[1]]), "npz_gap.npz: byte offset 207: 5 bytes belong to no member (before member 'y.npy' at byte offset 212)", "overlapping or gapped tensors")
    add("npz_duplicate_member.npz", Z, zip_archive([XY[0], dict(XY[1], name=b"x.npy")]), "npz_duplicate_member.npz: byte offset 392: duplicate member name 'x.npy' (central directory entries 0 and 1)", "duplicate keys")
    add("npz_invalid_utf8_name.npz", Z, zip_archive([dict(XY[0], name=b"x\xff.npy")]), "npz_invalid_utf8_name.npz: byte offset 254: member 'x\\xff.npy': the name is not valid UTF-8", "invalid UTF-8")
    add("npz_not_npy.npz", Z, zip_archive([XY[0], {"name": b"readme.txt", "data": b"hello"}]), "npz_not_npy.npz: byte offset 369: member 'readme.txt' is not a .npy file (its name does not end in .npy)", "wrong dtype")
    add("npz_bzip2.npz", Z, zip_archive([dict(XY[0], method=12)]), "npz_bzip2.npz: byte offset 217: member 'x.npy' is compressed with method 12 (bzip2)", "wrong dtype")
    add("npz_encrypted.npz", Z, zip_archive([dict(XY[0], flags=1)]), "npz_encrypted.npz: byte offset 215: member 'x.npy' is encrypted (flags 0x0001)", "wrong dtype")
    add("npz_member_bad_dtype.npz", Z, zip_archive([{"name": b"x.npy", "data": npy("<U3", [2], bytes(24))}]), "npz_member_bad_dtype.npz[x.npy]: byte offset 20: dtype '<U3' (unicode strings) is not supported",
        "wrong dtype")
    add("npz_wrong_magic.npz", Z, x, "npz_wrong_magic.npz: byte offset 152: no end-of-central-directory record (a ZIP archive ends with one)", "wrong magic")
    add("npz_local_name.npz", Z, zip_archive([dict(XY[0], lname=b"z.npy")]), "npz_local_name.npz: byte offset 30: member 'x.npy': the local header names it 'z.npy'", "wrong magic")
    add("npz_multidisk.npz", Z, zip_archive(XY, disk=1), "npz_multidisk.npz: byte offset 494: a multi-disk (spanned) ZIP archive (disk 1, central directory on disk 1, 2 of 2 entries here)", "wrong magic")
    add("npz_trailing_garbage.npz", Z, ok_z + b"GARBAGE", "npz_trailing_garbage.npz: byte offset 516: 7 unexpected bytes after the end-of-central-directory record (byte offset 494)", "trailing garbage")
    add("npz_bad_crc.npz", Z, zip_archive([dict(XY[0], ccrc=zlib.crc32(x) ^ 1, lcrc=zlib.crc32(x) ^ 1)]), "npz_bad_crc.npz: byte offset 55: member 'x.npy': CRC-32 mismatch: its bytes give 0x13c628cc, the archive says 0x13c628cd",
        "corrupt compressed data (CRC, deflate)")
    add("npz_corrupt_deflate.npz", Z, zip_archive([{"name": b"x.npy", "data": x, "deflate": True, "raw": b"\xff" * 40}]),
        "npz_corrupt_deflate.npz: byte offset 56: member 'x.npy': corrupt deflate data (zlib: invalid block type)", "corrupt compressed data (CRC, deflate)")

    # data sets: x and y as .npy files, and .npz archives
    x4 = npy("<f4", [4, 2], struct.pack("<8f", 1, 2, 3, 4, 5, 6, 7, 8))
    add("npy_ok_x.npy", "npy_x", x4, "(valid)", "control")
    add("npy_ok_y.npy", "npy_y", npy("<i8", [4], struct.pack("<4q", 0, 9, 1, 2)), "(valid)", "control")
    add("npy_x_nan.npy", "npy_x", npy("<f4", [4, 2], struct.pack("<8f", 1, 2, 3, float("nan"), 5, 6, 7, 8)), "npy_x_nan.npy: element 3 (index (1, 1)) is nan: not a number", "NaN/Inf values")
    add("npy_x_inf.npy", "npy_x", npy("<f8", [4, 2], struct.pack("<8d", 1, 2, 3, 4, 5, 6, float("-inf"), 8)), "npy_x_inf.npy: element 6 (index (3, 0)) is -inf: infinite", "NaN/Inf values")
    add("npy_x_f8_range.npy", "npy_x", npy("<f8", [4, 2], struct.pack("<8d", 1, 2, 3, 4, 5, 1e300, 7, 8)), "npy_x_f8_range.npy: element 5 (index (2, 1)) is 1e+300: beyond float range", "NaN/Inf values")
    add("npy_x_zero_samples.npy", "npy_x", npy("<f4", [0, 2], b""), "npy_x_zero_samples.npy: shape (0, 2) holds no samples", "negative or zero dimensions")
    add("npy_x_zero_features.npy", "npy_x", npy("<f4", [4, 0], b""), "npy_x_zero_features.npy: shape (4, 0): each sample holds 0 values", "negative or zero dimensions")
    add("npy_x_scalar.npy", "npy_x", npy("<f4", [], struct.pack("<f", 1)), "npy_x_scalar.npy: a scalar, not samples", "negative or zero dimensions")
    add("npy_x_rows.npy", "npy_x", npy("<f4", [5, 2], bytes(40)), "npy_ok_y.npy: shape (4,) does not go with tests/malformed/npy_x_rows.npy's (5, 2)", "mismatched row lengths")
    add("npy_y_count.npy", "npy_y", npy("<i8", [3], struct.pack("<3q", 0, 1, 2)), "npy_y_count.npy: shape (3,) does not go with tests/malformed/npy_ok_x.npy's (4, 2)", "mismatched row lengths")
    add("npy_y_2d.npy", "npy_y", npy("<i8", [4, 1], struct.pack("<4q", 0, 1, 2, 3)), "npy_y_2d.npy: shape (4, 1) does not go with tests/malformed/npy_ok_x.npy's (4, 2)", "mismatched row lengths")
    add("npy_y_out_of_range.npy", "npy_y", npy("|u1", [4], bytes([0, 1, 12, 3])), "npy_y_out_of_range.npy: label 2 is 12, outside [0, 10)", "labels out of range")
    add("npy_y_negative.npy", "npy_y", npy("<i4", [4], struct.pack("<4i", 0, -1, 2, 3)), "npy_y_negative.npy: label 1 is -1, outside [0, 10)", "labels out of range")
    add("npy_y_fraction.npy", "npy_y", npy("<f8", [4], struct.pack("<4d", 1.5, 1, 2, 3)), "npy_y_fraction.npy: label 0 is 1.5, not an integer", "wrong dtype")
    add("npy_y_nan.npy", "npy_y", npy("<f4", [4], struct.pack("<4f", 1, float("nan"), 2, 3)), "npy_y_nan.npy: label 1 is nan, not an integer", "NaN/Inf values")
    add("npy_y_strings.npy", "npy_y", npy("<U1", [4], bytes(16)), "npy_y_strings.npy: byte offset 20: dtype '<U1' (unicode strings) is not supported", "wrong dtype")

    D = "npz_data"
    y4 = npy("|u1", [4], bytes([0, 1, 2, 1]))
    add("npz_data_ok.npz", D, zip_archive([{"name": b"x.npy", "data": x4}, {"name": b"y.npy", "data": y4}]), "(valid)", "control")
    add("npz_data_keras.npz", D, zip_archive([{"name": n, "data": d, "deflate": True} for n, d in [
        (b"x_train.npy", x4), (b"y_train.npy", y4), (b"x_test.npy", x4), (b"y_test.npy", y4)]]), "(valid)", "control")
    add("npz_data_mismatch.npz", D, zip_archive([{"name": b"x.npy", "data": x4},
                                                 {"name": b"y.npy", "data": npy("|u1", [3], bytes([0, 1, 2]))}]),
        "npz_data_mismatch.npz[y]: shape (3,) does not go with tests/malformed/npz_data_mismatch.npz[x]'s (4, 2)", "mismatched row lengths")
    add("npz_data_no_y.npz", D, zip_archive([{"name": b"x.npy", "data": x4}]), "npz_data_no_y.npz: no training arrays: the archive holds x but no y nor x_train and y_train", "truncated")
    add("npz_data_test_half.npz", D, zip_archive([{"name": b"x.npy", "data": x4}, {"name": b"y.npy", "data": y4},
                                                  {"name": b"x_test.npy", "data": x4}]), "npz_data_test_half.npz: the archive holds x_test but not y_test", "truncated")
    add("npz_data_test_labels.npz", D, zip_archive([{"name": b"x.npy", "data": x4}, {"name": b"y.npy", "data": y4},
                                                    {"name": b"x_test.npy", "data": x4},
                                                    {"name": b"y_test.npy", "data": npy("|u1", [4], bytes([0, 1, 5, 1]))}]),
        "npz_data_test_labels.npz[y_test]: label 2 is 5, outside [0, 3)", "labels out of range")
    add("npz_data_inf.npz", D, zip_archive([{"name": b"x.npy", "data": npy("<f4", [4, 2], struct.pack("<8f", float("inf"), *range(7)))},
                                            {"name": b"y.npy", "data": y4}]), "npz_data_inf.npz[x]: element 0 (index (0, 0)) is inf: infinite", "NaN/Inf values")


# ---- regression inputs found by the fuzzers (fuzz/README.md) ---------------------

def fuzz_regressions():
    # fuzz_csv: a file that is only a UTF-8 byte-order mark read past the end
    # of the CSV tokenizer's buffer (heap-buffer-overflow in src_getc)
    bom = b"\xef\xbb\xbf"
    add("fuzz_csv_bom_only.csv", "csv", bom, "fuzz_csv_bom_only.csv: the file is empty (no rows)", "empty file")
    add("fuzz_text_csv_bom_only.csv", "text_csv", bom, "fuzz_text_csv_bom_only.csv: the file is empty (no rows)",
        "empty file")
    add("fuzz_ts_bom_only.csv", "timeseries", bom, "fuzz_ts_bom_only.csv: the file is empty", "empty file")


def main():
    for f in os.listdir(HERE):
        if f not in ("make_catalogue.py",):
            os.remove(os.path.join(HERE, f))
    safetensors()
    model()
    csv()
    idx_files()
    cifar()
    text()
    checkpoints()
    numpy_files()
    fuzz_regressions()
    names = [e[0] for e in ENTRIES]
    assert len(names) == len(set(names)), "file names must be unique"
    with open(os.path.join(HERE, "catalogue.txt"), "w") as f:
        f.write("# Malformed files and the error each must produce (tests/test_malformed.c).\n"
                "# Written by make_catalogue.py: edit that script, not this file.\n"
                "# FILE READER EXPECTED-ERROR-SUBSTRING   (\"(valid)\": a control file that must be read)\n")
        classes = {}
        for fname, reader, want, c in ENTRIES:
            classes.setdefault(c, []).append(fname)
        f.write("#\n# Classes (issue 10) and the files of each:\n")
        for c in sorted(classes):
            f.write("#   %s (%d): %s\n" % (c, len(classes[c]), " ".join(classes[c])))
        f.write("#\n")
        for fname, reader, want, c in ENTRIES:
            f.write("%-44s %-12s %s\n" % (fname, reader, want))
    print("%d files (%d controls) in %s" % (len(ENTRIES), sum(e[2] == "(valid)" for e in ENTRIES), HERE))


if __name__ == "__main__":
    main()
