"""Lamina from Python: a ctypes binding over liblamina.so, NumPy arrays in and out.

    import numpy as np
    import lamina

    m = lamina.Model("configs/digits_mlp.cfg", epochs=10)   # a model file (or text=...)
    summary = m.fit(x, y)             # x [n, features] floats, y [n] int labels or [n, k] targets
    print(summary["results"]["accuracy"], len(summary["history"]))
    probs = m.predict(x_new)          # [n, outputs] float32: class probabilities or values
    m.save("digits.safetensors")
    m2 = lamina.Model.load("digits.safetensors")
    print(m2.evaluate(x, y)["accuracy"])

The model file describes the layers, the loss, the optimiser and the data
preparation ([data] test_split, scale; [train] validation_split); fit()
applies them to the arrays it is given, as `lamina train` does to the file's
data.  Every error of the library raises lamina.Error with its message.

The library is found through $LAMINA_LIB (a path to liblamina.so), then the
build folder of this source tree (build/liblamina.so), then the dynamic
linker's path (liblamina.so.0.1, as `make install` installs it).
Needs NumPy (Debian: python3-numpy).  Text models (token input) are trained
from their model file's data with `lamina train`; predict() takes float
features only.
"""
import ctypes
import ctypes.util
import json
import os

import numpy as np

__all__ = ["Model", "Error", "version", "set_threads"]

SOVERSION = "0.1"


class Error(RuntimeError):
    """A failed library call: .status is the lam_status name, str() the message."""

    def __init__(self, status, message):
        super().__init__(message or status)
        self.status = status


def _load():
    here = os.path.dirname(os.path.abspath(__file__))
    candidates = [os.environ.get("LAMINA_LIB"),
                  os.path.join(here, "..", "build", "liblamina.so"),
                  "liblamina.so." + SOVERSION, ctypes.util.find_library("lamina")]
    errors = []
    for c in candidates:
        if not c:
            continue
        try:
            return ctypes.CDLL(c)
        except OSError as e:
            errors.append(str(e))
    raise ImportError("lamina: cannot load liblamina.so (build it with make, install it with make install, "
                      "or set LAMINA_LIB): " + "; ".join(errors))


_lib = _load()
_c_p = ctypes.c_void_p
_str = ctypes.c_char_p
_i64 = ctypes.c_int64
_i32 = ctypes.c_int32


class _Overrides(ctypes.Structure):  # lam_model_overrides (include/lamina/train.h)
    _fields_ = [("data_path", _str), ("epochs", ctypes.c_int), ("batch", ctypes.c_int), ("lr", ctypes.c_double),
                ("seed", ctypes.c_longlong), ("strategy", _str), ("steps", ctypes.c_longlong),
                ("vocab_json", _str)]


class _EpochLog(ctypes.Structure):  # lam_epoch_log
    _fields_ = [("stage", ctypes.c_int), ("stage_name", _str), ("epoch", ctypes.c_int), ("epochs", ctypes.c_int),
                ("train_loss", ctypes.c_double), ("train_acc", ctypes.c_double), ("val_loss", ctypes.c_double),
                ("val_acc", ctypes.c_double), ("lr", ctypes.c_double), ("seconds", ctypes.c_double),
                ("improved", ctypes.c_bool)]


_ON_EPOCH = ctypes.CFUNCTYPE(ctypes.c_bool, ctypes.POINTER(_EpochLog), _c_p)


class _Hooks(ctypes.Structure):  # lam_fit_hooks
    _fields_ = [("on_batch", _c_p), ("on_epoch", _ON_EPOCH), ("user", _c_p), ("checkpoint_path", _str),
                ("resume_path", _str), ("csv_log_path", _str), ("stage", ctypes.c_int), ("stage_name", _str),
                ("should_stop", _c_p), ("checkpoint_every", _i64)]


def _fn(name, restype, *argtypes):
    f = getattr(_lib, name)
    f.restype = restype
    f.argtypes = argtypes
    return f


_lib_version = _fn("lam_version", _str)
_status_str = _fn("lam_status_str", _str, ctypes.c_int)
_last_error = _fn("lam_last_error", _str)
_free = _fn("lam_free", None, _c_p)
_set_threads = _fn("lam_set_threads", None, ctypes.c_int)
_model_load = _fn("lam_model_load", ctypes.c_int, _str, ctypes.POINTER(_Overrides), ctypes.POINTER(_c_p))
_cfg_parse = _fn("lam_cfg_parse", ctypes.c_int, _str, ctypes.c_size_t, _str, ctypes.POINTER(_c_p))
_model_from_cfg = _fn("lam_model_from_cfg", ctypes.c_int, _c_p, ctypes.POINTER(_Overrides), ctypes.POINTER(_c_p))
_model_free = _fn("lam_model_free", None, _c_p)
_model_json = _fn("lam_model_json", ctypes.c_int, _c_p, ctypes.POINTER(_c_p))
_model_compile = _fn("lam_model_compile", ctypes.c_int, _c_p, ctypes.c_int)
_from_arrays = _fn("lam_dataset_from_arrays", ctypes.c_int, _c_p, _i64, _i64, _c_p, _i32, _c_p, _i32,
                   ctypes.POINTER(_c_p))
_dataset_free = _fn("lam_dataset_free", None, _c_p)
_prepare_dataset = _fn("lam_model_prepare_dataset", ctypes.c_int, _c_p, _c_p, _c_p, ctypes.POINTER(_c_p),
                       ctypes.POINTER(_c_p), ctypes.POINTER(_c_p))
_prepare_inputs = _fn("lam_model_prepare_inputs", ctypes.c_int, _c_p, _c_p)
_train_json = _fn("lam_model_train_json", ctypes.c_int, _c_p, _c_p, _c_p, _c_p, ctypes.POINTER(_Hooks),
                  ctypes.POINTER(_c_p))
_evaluate_json = _fn("lam_evaluate_json", ctypes.c_int, _c_p, _c_p, ctypes.POINTER(_c_p))
_predict = _fn("lam_predict", ctypes.c_int, _c_p, _c_p, _c_p)
_ckpt_save = _fn("lam_checkpoint_save", ctypes.c_int, _c_p, _c_p, _c_p, _str)
_ckpt_load = _fn("lam_checkpoint_load", ctypes.c_int, _str, ctypes.POINTER(_c_p), _c_p)


def _check(status):
    if status != 0:
        raise Error(_status_str(status).decode(), _last_error().decode("utf-8", "replace"))


def _take_json(ptr):
    """Parse and free a JSON string the library allocated."""
    try:
        return json.loads(ctypes.string_at(ptr.value).decode("utf-8"))
    finally:
        _free(ptr)


def version():
    """The version of the loaded liblamina (lam_version)."""
    return _lib_version().decode()


def set_threads(n):
    """Kernel threads for everything that follows (0: all cores).  Results do not depend on it."""
    _set_threads(int(n))


class _Dataset:
    """A lam_dataset built from NumPy arrays (copied); freed with the object unless taken."""

    def __init__(self, x, y=None, task=None):
        x = np.ascontiguousarray(x, dtype=np.float32)
        if x.ndim == 1:
            x = x.reshape(-1, 1)
        n = x.shape[0]
        nfeat = int(np.prod(x.shape[1:]))
        x = x.reshape(n, nfeat)
        labels = targets = None
        nclasses = ntargets = 0
        if y is not None:
            y = np.asarray(y)
            if y.shape[0] != n:
                raise ValueError("x has %d rows, y %d" % (n, y.shape[0]))
            if task == "classification":
                if y.ndim != 1 or (y.dtype.kind == "f" and not np.all(np.equal(np.mod(y, 1), 0))):
                    raise ValueError("class labels must be a 1-D array of integers")
                labels = np.ascontiguousarray(y, dtype=np.int32)
            else:
                targets = np.ascontiguousarray(y, dtype=np.float32).reshape(n, -1)
                ntargets = targets.shape[1]
        self._keep = (x, labels, targets)
        self.ptr = _c_p()
        _check(_from_arrays(x.ctypes.data, n, nfeat, labels.ctypes.data if labels is not None else None,
                            nclasses, targets.ctypes.data if targets is not None else None, ntargets,
                            ctypes.byref(self.ptr)))
        self.n = n

    def take(self):
        p, self.ptr = self.ptr, _c_p()
        return p

    def __del__(self):
        if getattr(self, "ptr", None) and self.ptr.value:
            _dataset_free(self.ptr)


class Model:
    """A Lamina model: built from a model file (path or text), trained on arrays, saved as a checkpoint."""

    def __init__(self, path=None, text=None, epochs=0, batch=0, lr=0.0, seed=-1, strategy=None, steps=0,
                 _ptr=None):
        self._ptr = _c_p()
        if _ptr is not None:
            self._ptr = _ptr
            return
        ov = _Overrides(None, int(epochs), int(batch), float(lr), int(seed),
                        strategy.encode() if strategy else None, int(steps), None)
        if (path is None) == (text is None):
            raise ValueError("give a model file path or its text")
        if path is not None:
            _check(_model_load(os.fsencode(path), ctypes.byref(ov), ctypes.byref(self._ptr)))
        else:
            cfg = _c_p()
            b = text.encode("utf-8")
            _check(_cfg_parse(b, len(b), b"<text>", ctypes.byref(cfg)))
            _check(_model_from_cfg(cfg, ctypes.byref(ov), ctypes.byref(self._ptr)))  # takes cfg

    @classmethod
    def load(cls, path):
        """A trained model from a checkpoint (model.safetensors or checkpoint.safetensors)."""
        p = _c_p()
        _check(_ckpt_load(os.fsencode(path), ctypes.byref(p), None))
        return cls(_ptr=p)

    def close(self):
        if self._ptr and self._ptr.value:
            _model_free(self._ptr)
            self._ptr = _c_p()

    def __del__(self):
        self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def summary(self):
        """The resolved model as a dict: layers, shapes, parameters, FLOPs, memory (lam_model_json)."""
        js = _c_p()
        _check(_model_json(self._ptr, ctypes.byref(js)))
        return _take_json(js)

    def _task(self):
        return "regression" if self.summary()["loss"] == "mse" else "classification"

    def fit(self, x, y, x_test=None, y_test=None, on_epoch=None):
        """Train on arrays as the model file says (its test and validation splits, its scaler, its
        optimiser and strategy).  x_test / y_test: a test part of your own instead of the split.
        on_epoch(dict) is called after every epoch; return False from it to stop.
        Returns the run summary (lam_run_summary_json) with "history": the epochs' dicts."""
        task = self._task()
        all_ = _Dataset(x, y, task)
        test_in = _Dataset(x_test, y_test, task) if x_test is not None else None
        tr, va, te = _c_p(), _c_p(), _c_p()
        _check(_prepare_dataset(self._ptr, all_.take(), test_in.take() if test_in else None, ctypes.byref(tr),
                                ctypes.byref(va), ctypes.byref(te)))
        history = []
        error = []

        def cb(e, user):
            d = e.contents
            row = {"stage": d.stage, "epoch": d.epoch, "epochs": d.epochs, "loss": d.train_loss,
                   "accuracy": d.train_acc, "val_loss": d.val_loss, "val_accuracy": d.val_acc, "lr": d.lr,
                   "seconds": d.seconds, "improved": bool(d.improved)}
            history.append(row)
            try:
                return on_epoch is None or on_epoch(row) is not False
            except Exception as ex:  # an exception cannot cross C: stop and raise it after
                error.append(ex)
                return False

        hooks = _Hooks()
        hooks.on_epoch = _ON_EPOCH(cb)
        js = _c_p()
        try:
            _check(_train_json(self._ptr, tr, va, te, ctypes.byref(hooks), ctypes.byref(js)))
        finally:
            for p in (tr, va, te):
                if p.value:
                    _dataset_free(p)
        if error:
            raise error[0]
        summary = _take_json(js)
        summary["history"] = history
        return summary

    def _inputs(self, x, y=None):
        d = _Dataset(x, y, self._task() if y is not None else None)
        _check(_prepare_inputs(self._ptr, d.ptr))
        return d

    def predict(self, x):
        """Outputs for every row: [n, outputs] float32 (class probabilities, or the predicted values
        in the targets' units)."""
        d = self._inputs(x)
        out = np.zeros((d.n, self.summary()["outputs"]), dtype=np.float32)
        _check(_predict(self._ptr, d.ptr, out.ctypes.data))
        return out

    def predict_classes(self, x):
        """The most probable class of every row (int array)."""
        p = self.predict(x)
        return (p[:, 0] >= 0.5).astype(np.int64) if p.shape[1] == 1 else p.argmax(axis=1)

    def evaluate(self, x, y):
        """Loss and metrics on labelled arrays: a dict as lam_metrics_json (accuracy, per-class
        precision/recall/F1, confusion matrix; or MSE/MAE/R2)."""
        d = self._inputs(x, y)
        js = _c_p()
        _check(_evaluate_json(self._ptr, d.ptr, ctypes.byref(js)))
        return _take_json(js)

    def save(self, path):
        """Write the weights, the scaler and the model file's text as a safetensors checkpoint
        (atomically); Model.load and every lamina command read it."""
        _check(_ckpt_save(self._ptr, None, None, os.fsencode(path)))
