#!/usr/bin/python3
"""Tests of the Python binding (python/lamina.py) over the built liblamina.so:
build, train, predict, evaluate, save, load, errors, callbacks.  Run by
tests/test_python.sh (LAMINA_LIB names the library, LAMINA the command);
prints `ok NAME` / `FAIL NAME` lines like the C tests."""
import gzip
import json
import os
import subprocess
import sys
import tempfile
import traceback

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import lamina  # noqa: E402

LAMINA = os.environ.get("LAMINA", "build/lamina")
TMP = tempfile.mkdtemp(prefix="lamina_test_python_")
failed = 0


def test(fn):
    global failed
    try:
        fn()
        print("ok", fn.__name__)
    except Exception:
        failed += 1
        traceback.print_exc(file=sys.stdout)
        print("FAIL", fn.__name__)
    return fn


def digits():
    d = np.loadtxt(gzip.open("data/digits.csv.gz"), delimiter=",")  # no header
    return d[:, :-1].astype(np.float32), d[:, -1].astype(np.int64)


X, Y = digits()


@test
def test_version():
    with open("include/lamina/lamina.h") as f:
        want = [l.split('"')[1] for l in f if l.startswith("#define LAMINA_VERSION")][0]
    assert lamina.version() == want, (lamina.version(), want)


@test
def test_train_predict_save_load():
    m = lamina.Model("configs/digits_mlp.cfg", epochs=6, seed=1)
    s = m.fit(X, Y)
    assert s["format"] == "lamina-run" and s["results"]["split"] == "test"
    assert s["results"]["n"] == 360 and s["data"]["train"] == 1437, s["data"]
    assert s["results"]["accuracy"] > 0.93, s["results"]["accuracy"]
    h = s["history"]
    assert [e["epoch"] for e in h] == [1, 2, 3, 4, 5, 6], h
    assert h[-1]["loss"] < h[0]["loss"] and all(np.isnan(e["val_loss"]) for e in h)
    p = m.predict(X[:100])
    assert p.shape == (100, 10) and p.dtype == np.float32
    assert np.allclose(p.sum(axis=1), 1, atol=1e-5) and (p >= 0).all()
    assert (m.predict_classes(X[:100]) == p.argmax(axis=1)).all()
    ev = m.evaluate(X, Y)
    assert ev["task"] == "classification" and ev["n"] == len(X) and len(ev["confusion"]) == 10
    path = os.path.join(TMP, "digits.safetensors")
    m.save(path)
    m2 = lamina.Model.load(path)
    assert np.array_equal(m2.predict(X), m.predict(X)), "the loaded model predicts differently"
    assert m2.summary()["parameters"] == m.summary()["parameters"] == 17610
    # the command reads the file Python wrote and agrees on every figure
    r = subprocess.run([LAMINA, "eval", path, "--data", "data/digits.csv.gz", "--json"], capture_output=True,
                       text=True, check=True)
    cli = json.loads(r.stdout)["results"]
    assert cli["n"] == ev["n"] and abs(cli["accuracy"] - ev["accuracy"]) < 1e-12, (cli["accuracy"], ev["accuracy"])
    assert cli["confusion"] == ev["confusion"] and abs(cli["loss"] - ev["loss"]) < 1e-6


@test
def test_same_seed_same_weights():
    a = lamina.Model("configs/digits_mlp.cfg", epochs=2, seed=7)
    b = lamina.Model("configs/digits_mlp.cfg", epochs=2, seed=7)
    a.fit(X, Y)
    b.fit(X, Y)
    assert np.array_equal(a.predict(X), b.predict(X))


@test
def test_own_test_part_and_validation():
    text = ("[net]\ninput = 64\nseed = 3\n[data]\ntest_split = 0.2\n[dense]\nunits = 32\nactivation = relu\n"
            "[dense]\nunits = 10\n[train]\noptimizer = adam\nlr = 0.005\nepochs = 4\nbatch = 64\n"
            "validation_split = 0.25\n")
    m = lamina.Model(text=text)
    s = m.fit(X[:1500], Y[:1500], x_test=X[1500:], y_test=Y[1500:])
    assert s["results"]["n"] == len(X) - 1500 and s["data"]["validation"] == 375, s["data"]
    assert all(not np.isnan(e["val_loss"]) for e in s["history"])
    stops = []
    m = lamina.Model(text=text)
    s = m.fit(X, Y, on_epoch=lambda e: stops.append(e["epoch"]) or e["epoch"] < 2)
    assert stops == [1, 2] and s["training"]["epochs_run"] == 2, (stops, s["training"])


@test
def test_regression():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(600, 3)).astype(np.float32)
    y = (3 * x[:, 0] - 2 * x[:, 1] + 0.5 * x[:, 2] + 10).astype(np.float32)
    text = ("[net]\ninput = 3\n[data]\nscale_target = true\n[dense]\nunits = 16\nactivation = tanh\n"
            "[dense]\nunits = 1\n[train]\nloss = mse\noptimizer = adam\nlr = 0.01\nepochs = 40\nbatch = 32\n")
    m = lamina.Model(text=text)
    s = m.fit(x, y)
    assert s["results"]["task"] == "regression" and s["results"]["r2"] > 0.95, s["results"]
    p = m.predict(x[:200])[:, 0]
    assert p.shape == (200,) and abs(p.mean() - y[:200].mean()) < 1.0  # in the targets' units
    assert np.mean((p - y[:200]) ** 2) < 2.0


@test
def test_errors():
    try:
        lamina.Model(text="[net]\ninput = 4\n[dense]\nunits = 3\nactivaton = relu\n")
        raise AssertionError("a misspelt key was accepted")
    except lamina.Error as e:
        assert e.status == "LAM_ERR_FORMAT" and "<text>:5" in str(e) and "activaton" in str(e), str(e)
    try:
        lamina.Model("/nonexistent.cfg")
        raise AssertionError("a missing file was accepted")
    except lamina.Error as e:
        assert e.status == "LAM_ERR_IO" and "/nonexistent.cfg" in str(e), str(e)
    m = lamina.Model("configs/digits_mlp.cfg", epochs=1)
    m.fit(X, Y)
    for bad, status in ((X[:, :10], "LAM_ERR_SHAPE"), (np.full((3, 64), np.nan), "LAM_ERR_FORMAT")):
        try:
            m.predict(bad)
            raise AssertionError("predict took bad input")
        except lamina.Error as e:
            assert e.status == status, (e.status, str(e))
    try:
        lamina.Model("configs/digits_mlp.cfg", epochs=1).fit(X, -Y - 1)
        raise AssertionError("negative labels were accepted")
    except lamina.Error as e:
        assert e.status == "LAM_ERR_FORMAT" and "label" in str(e), str(e)
    try:
        lamina.Model("configs/digits_mlp.cfg").fit(X, Y[:-1])
        raise AssertionError("x and y of different lengths were accepted")
    except ValueError:
        pass
    try:
        lamina.Model.load(os.path.join(TMP, "nothing.safetensors"))
        raise AssertionError("a missing checkpoint was loaded")
    except lamina.Error as e:
        assert e.status == "LAM_ERR_IO"
    boom = []

    def raises(e):
        boom.append(e["epoch"])
        raise KeyError("from the callback")
    try:
        lamina.Model("configs/digits_mlp.cfg", epochs=5).fit(X, Y, on_epoch=raises)
        raise AssertionError("the callback's exception was lost")
    except KeyError:
        assert boom == [1], boom


import shutil  # noqa: E402
if not failed:
    shutil.rmtree(TMP)
print("# python %s, numpy %s, liblamina %s" % (sys.version.split()[0], np.__version__, lamina.version()))
print("# %d failed" % failed)
sys.exit(1 if failed else 0)
