#!/usr/bin/python3
"""End-to-end bad-input tests of the initbench binary.

Every case runs `initbench run ...` on something wrong and checks what a user sees:
- the exit status is non-zero, not a signal, and the process ends within a timeout;
- stderr is exactly one line, "initbench: error: ...", naming the file (and line where there is
  one) and what was wrong (each case lists patterns the line must match);
- the output folder is not created, or, when it existed before, is left byte-for-byte as it was
  (no partial file, no leftover temporary).

    bad_input.py BINARY GROUP      GROUP: spec, set, cli, idx, csv, output (or --list)
"""

import gzip
import os
import re
import shutil
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
from common import check  # noqa: E402

TIMEOUT = 60  # seconds; every case takes well under one (a hang is a failure)

SECTIONS = {
    "top": 'name = "bad"',
    "data": 'kind = "circles"\ntrain = 50\ntest = 10',
    "model": "layers = [2, 4, 1]",
    "init": 'scheme = "he_normal"',
    "train": "lr = 0.1\nsteps = 5",
    "probes": "",
}


def spec(**sections):
    """A small valid spec with some sections replaced (raw TOML lines; extra= is appended)."""
    parts = {**SECTIONS, **{k: v for k, v in sections.items() if k != "extra"}}
    text = parts["top"] + "\n"
    for name in ("data", "model", "init", "train", "probes"):
        text += f"\n[{name}]\n{parts[name]}\n"
    return text + sections.get("extra", "")


class Case:
    """One bad input. files: {relative path: str or bytes} written into the case's folder;
    args: the arguments after `initbench` ({dir} and {out} are substituted); expect: regexes the
    stderr line must match ({dir} substituted, escaped); line_of: text whose line number in
    files[spec] must appear as 'spec:LINE'."""

    def __init__(self, name, files, args, expect, line_of=None, before=None, nobody=False):
        self.name = name
        self.files = files
        self.args = args
        self.expect = expect
        self.line_of = line_of
        self.before = before  # function(dir, out, binary): prepares the output folder
        self.nobody = nobody  # run as an unprivileged user (permission cases, when root)


def spec_case(name, text, expect, line_of=None, extra_args=(), file_name=None):
    file_name = file_name or f"{name}.toml"
    return Case(name, {file_name: text}, ["run", file_name, *extra_args], expect,
                line_of=(file_name, line_of) if line_of else None)


def run_case(binary, case):
    with common.TempDir(case.name) as tmp:
        case_dir = os.path.join(tmp, "case")
        os.makedirs(case_dir)
        os.chmod(case_dir, 0o755)
        for rel, content in case.files.items():
            if content is None:  # a file the case leaves out
                continue
            path = os.path.join(case_dir, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            mode = "wb" if isinstance(content, bytes) else "w"
            with open(path, mode) as f:
                f.write(content)
        out = os.path.join(tmp, "out")
        preexec = None
        if case.nobody and os.geteuid() == 0:
            # root ignores permissions: run a copy of the binary as nobody instead.
            copy = os.path.join(tmp, "initbench")
            shutil.copy(binary, copy)
            os.chmod(copy, 0o755)
            binary = copy
            preexec = common.as_nobody()
        if case.before:
            case.before(case_dir, out, binary)
        before = common.snapshot(out)
        existed = os.path.exists(out)
        args = [binary] + [a.replace("{dir}", case_dir).replace("{out}", out) for a in case.args]
        if "--out" not in case.args:
            args += ["--out", out]
        args += ["--no-plot"] if args[1] == "run" and "--no-plot" not in args else []
        result = common.run(args, cwd=case_dir, timeout=TIMEOUT, preexec_fn=preexec)
        info = "\n" + result.describe()
        check(not result.timed_out, f"did not finish within {TIMEOUT} s{info}")
        sig = common.signal_name(result.returncode)
        check(sig is None, f"ended by {sig}{info}")
        check(result.returncode not in (0, 130), f"exit status {result.returncode}{info}")
        lines = result.stderr.rstrip("\n").split("\n")
        check(len(lines) == 1 and lines[0], f"stderr is {len(lines)} lines, not one{info}")
        line = lines[0]
        check(line.startswith("initbench: error: "), f"stderr does not start with "
              f"'initbench: error: '{info}")
        for pattern in case.expect:
            pattern = pattern.replace("{dir}", re.escape(case_dir))
            check(re.search(pattern, line), f"stderr does not match /{pattern}/{info}")
        if case.line_of:
            file_name, text = case.line_of
            content = case.files[file_name]
            number = content[: content.index(text)].count("\n") + 1
            check(f"{file_name}:{number}" in line, f"stderr does not name {file_name}:{number}{info}")
        if existed:
            after = common.snapshot(out)
            check(after == before, "the output folder changed: "
                  f"{sorted(set(after) ^ set(before)) or 'contents differ'}{info}")
        else:
            check(not os.path.exists(out), f"the output folder was created: "
                  f"{sorted(common.snapshot(out))}{info}")
        check(not common.temporaries(tmp), f"temporary files left: {common.temporaries(tmp)}")
        return line[len("initbench: error: "):].replace(case_dir + os.sep, "")


# ---------------------------------------------------------------------------------------------
# spec: the TOML file
# ---------------------------------------------------------------------------------------------

def spec_cases():
    c = []
    c.append(spec_case("toml_table_header", 'name = "bad"\n[data\nkind = "circles"\n',
                       [r"toml_table_header\.toml:2:\d+: "]))
    c.append(spec_case("toml_value", spec(train="lr = 0.1.2\nsteps = 5"),
                       [r"toml_value\.toml:\d+:\d+: "]))
    c.append(spec_case("toml_duplicate_key", spec(train="lr = 0.1\nlr = 0.2\nsteps = 5"),
                       [r"toml_duplicate_key\.toml:\d+:\d+: ", "lr"]))
    c.append(spec_case("toml_unterminated_string", 'name = "bad\n', [r"\.toml:1:\d+: "]))
    c.append(spec_case("toml_binary", b"\x00\xff\xfe\x80garbage\x00\n".decode("latin-1"),
                       [r"toml_binary\.toml:\d+"]))
    c.append(spec_case("unknown_table", spec(extra="[dta]\nkind = 'x'\n"),
                       ["unknown table 'dta'", "did you mean 'data'", "allowed"], line_of="[dta]"))
    c.append(spec_case("unknown_key", spec(model="layrs = [2, 4, 1]"),
                       ["unknown key", "layrs", "did you mean 'layers'"], line_of="layrs"))
    c.append(spec_case("unknown_top_key", spec(top='name = "bad"\nsed = 3'),
                       ["sed", "did you mean 'seed'"], line_of="sed"))
    c.append(spec_case("wrong_type_string", spec(data='kind = "circles"\ntrain = "300"'),
                       ["data.train", "expected an integer", "string"], line_of='train = "300"'))
    c.append(spec_case("wrong_type_float", spec(data='kind = "circles"\ntrain = 2.5'),
                       ["data.train", "integer"], line_of="train = 2.5"))
    c.append(spec_case("wrong_type_bool", spec(model="layers = [2, 4, 1]\nactivation = true"),
                       ["model.activation", "string"], line_of="activation = true"))
    c.append(spec_case("wrong_type_table", spec(top='name = "bad"\nseed = { a = 1 }'),
                       ["seed"], line_of="seed ="))
    c.append(spec_case("empty_list_seed", spec(top='name = "bad"\nseed = []'),
                       ["seed", "empty list"], line_of="seed = []"))
    c.append(spec_case("empty_list_scheme", spec(init="scheme = []"),
                       ["init.scheme", "empty list"], line_of="scheme = []"))
    c.append(spec_case("empty_list_layers", spec(model="layers = []"),
                       ["model.layers"], line_of="layers = []"))
    c.append(spec_case("width_0", spec(model="depth = 1\nwidth = 0"),
                       ["model.width = 0", ">= 1"], line_of="width = 0"))
    c.append(spec_case("depth_0", spec(model="depth = 0\nwidth = 3"),
                       ["model.depth = 0", ">= 1"], line_of="depth = 0"))
    c.append(spec_case("depth_100000", spec(model="depth = 100000\nwidth = 3"),
                       ["model.depth = 100000", "absurd"], line_of="depth = 100000"))
    c.append(spec_case("width_absurd", spec(model="depth = 2\nwidth = 10000000"),
                       ["model.width", "absurd"], line_of="width = 10000000"))
    c.append(spec_case("params_absurd", spec(model="depth = 5000\nwidth = 50000"),
                       ["parameters", "absurd"]))
    c.append(spec_case("layer_size_0", spec(model="layers = [2, 0, 1]"),
                       ["model.layers"], line_of="layers ="))
    c.append(spec_case("layers_too_short", spec(model="layers = [2]"),
                       ["model.layers", "at least 2"], line_of="layers ="))
    c.append(spec_case("layers_negative", spec(model="layers = [2, -4, 1]"),
                       ["model.layers"], line_of="layers ="))
    c.append(spec_case("train_negative", spec(data='kind = "circles"\ntrain = -5'),
                       ["data.train = -5"], line_of="train = -5"))
    c.append(spec_case("samples_absurd", spec(data='kind = "circles"\ntrain = 100000000000'),
                       ["data.train", "absurd|<="], line_of="train = 1"))
    c.append(spec_case("batch_larger_than_data", spec(train="lr = 0.1\nsteps = 5\nbatch = 100"),
                       ["train.batch = 100", "50"], line_of="batch = 100"))
    c.append(spec_case("lr_0", spec(train="lr = 0\nsteps = 5"),
                       ["train.lr = 0", "> 0"], line_of="lr = 0"))
    c.append(spec_case("lr_negative", spec(train="lr = -0.1\nsteps = 5"),
                       ["train.lr = -0.1", "> 0"], line_of="lr = -0.1"))
    c.append(spec_case("lr_nan", spec(train="lr = nan\nsteps = 5"),
                       ["train.lr", "finite"], line_of="lr = nan"))
    c.append(spec_case("lr_inf", spec(train="lr = inf\nsteps = 5"),
                       ["train.lr", "finite"], line_of="lr = inf"))
    c.append(spec_case("steps_negative", spec(train="lr = 0.1\nsteps = -1"),
                       ["train.steps = -1", ">= 0"], line_of="steps = -1"))
    c.append(spec_case("epochs_negative", spec(train="lr = 0.1\nepochs = -3"),
                       ["train.epochs = -3", ">= 0"], line_of="epochs = -3"))
    c.append(spec_case("steps_and_epochs", spec(train="lr = 0.1\nsteps = 5\nepochs = 2"),
                       ["steps", "epochs"]))
    c.append(spec_case("no_steps", spec(train="lr = 0.1"), ["steps", "epochs"]))
    c.append(spec_case("unknown_scheme", spec(init='scheme = "heu_normal"'),
                       ["unknown scheme 'heu_normal'", "did you mean 'he_normal'",
                        "allowed: .*glorot_uniform"], line_of="scheme ="))
    c.append(spec_case("unknown_activation", spec(model='layers = [2, 4, 1]\nactivation = "rleu"'),
                       ["unknown activation 'rleu'", "did you mean 'relu'", "allowed: .*tanh"],
                       line_of="activation ="))
    c.append(spec_case("unknown_optimizer", spec(train='lr = 0.1\nsteps = 5\noptimizer = "adamw"'),
                       ["unknown optimizer 'adamw'", "allowed: .*sgd"], line_of="optimizer ="))
    c.append(spec_case("unknown_output", spec(model='layers = [2, 4, 1]\noutput = "softmx"'),
                       ["unknown output 'softmx'", "allowed: .*sigmoid"], line_of="output ="))
    c.append(spec_case("unknown_dataset", spec(data='kind = "mnist"'),
                       ["unknown dataset kind 'mnist'", "allowed: .*circles"], line_of="kind ="))
    c.append(spec_case("unknown_precision", spec(model='layers = [2, 4, 1]\nprecision = "half"'),
                       ["precision", "half", "float"], line_of="precision ="))
    c.append(spec_case("unknown_schedule", spec(probes='schedule = "lin"\nevery = 1'),
                       ["probes.schedule", "lin", "log"], line_of="schedule ="))
    c.append(spec_case("scheme_param_missing", spec(init='scheme = "normal"'),
                       ["missing parameter 'stddev'"], line_of="scheme ="))
    c.append(spec_case("scheme_param_unknown", spec(init='scheme = "he_normal(gain=2)"'),
                       ["unknown parameter 'gain'", "mode"], line_of="scheme ="))
    c.append(spec_case("scheme_stddev_negative", spec(init='scheme = "normal(stddev=-1)"'),
                       ["stddev must be >= 0"], line_of="scheme ="))
    c.append(spec_case("scheme_gain_0", spec(init='scheme = "orthogonal(gain=0)"'),
                       ["gain must be > 0"], line_of="scheme ="))
    c.append(spec_case("scheme_gain_negative", spec(init='scheme = "glorot_uniform(gain=-2)"'),
                       ["gain"], line_of="scheme ="))
    c.append(spec_case("scheme_syntax", spec(init='scheme = "normal(stddev=1"'),
                       ["normal\\(stddev=1"], line_of="scheme ="))
    c.append(spec_case("scheme_param_not_number", spec(init='scheme = "normal(stddev=big)"'),
                       ["stddev", "big"], line_of="scheme ="))
    c.append(spec_case("identity_non_square", spec(init='scheme = "identity"'),
                       ["identity", "square"], line_of="scheme ="))
    c.append(spec_case("bias_scheme", spec(init='scheme = "he_normal"\nbias = "orthogonal"'),
                       ["init.bias", "orthogonal"], line_of="bias ="))
    c.append(spec_case("scale_0", spec(init='scheme = "he_normal"\nscale = 0'),
                       ["init.scale = 0"], line_of="scale ="))
    c.append(spec_case("layers_do_not_fit", spec(model="layers = [3, 4, 1]"),
                       ["does not fit the circles data", "2 inputs"], line_of="layers ="))
    c.append(spec_case("softmax_on_binary", spec(model='layers = [2, 4, 1]\noutput = "softmax"'),
                       ["softmax"]))
    c.append(spec_case("no_name", spec(top="seed = 1"), ["name"]))
    c.append(spec_case("name_path", spec(top='name = "../escape"'),
                       ["name", "escape"], line_of="name ="))
    c.append(spec_case("grid_absurd", spec(top='name = "bad"\nseed = [' +
                                           ", ".join(str(i) for i in range(400)) + "]",
                                           init="scheme = [" + ", ".join(
                                               f'"normal(stddev={i + 1})"' for i in range(300)) + "]"),
                       ["absurd|100000"]))
    c.append(spec_case("dump_after_last_step", spec(probes="dump_weights = [100]"),
                       ["dump_weights", "100"], line_of="dump_weights ="))
    c.append(spec_case("empty_file", "", ["name"]))
    c.append(Case("missing_spec", {}, ["run", "missing.toml"], ["missing.toml"]))
    c.append(Case("spec_is_folder", {"folder.toml/x": "x"}, ["run", "folder.toml"],
                  ["folder.toml"]))
    c.append(Case("unreadable_spec", {"secret.toml": spec()},
                  ["run", "secret.toml"], ["secret.toml"],
                  before=lambda d, o, b: os.chmod(os.path.join(d, "secret.toml"), 0), nobody=True))
    # NumPy's legacy generator: circles only, both seeds required, seeds only with it
    c.append(spec_case("numpy_generator_moons",
                       spec(data='kind = "moons"\ngenerator = "numpy"\nnumpy_seed = 1\n'
                                 'numpy_test_seed = 2'),
                       ["data.generator", "circles", "moons"], line_of="generator ="))
    c.append(spec_case("numpy_generator_no_seed",
                       spec(data='kind = "circles"\ngenerator = "numpy"\nnumpy_seed = 1'),
                       ["data.generator", "numpy_test_seed"], line_of="generator ="))
    c.append(spec_case("numpy_seed_without_generator",
                       spec(data='kind = "circles"\nnumpy_seed = 1'),
                       ["data.numpy_seed", "generator"], line_of="numpy_seed ="))
    c.append(spec_case("numpy_seed_range",
                       spec(data='kind = "circles"\ngenerator = "numpy"\n'
                                 'numpy_seed = 4294967296\nnumpy_test_seed = 2'),
                       ["data.numpy_seed", "2\\^32"], line_of="numpy_seed ="))
    c.append(spec_case("numpy_init_no_seed",
                       spec(init='scheme = "he_normal"\ngenerator = "numpy"'),
                       ["init.generator", "init.numpy_seed"], line_of="generator ="))
    c.append(spec_case("numpy_init_unknown_generator",
                       spec(init='scheme = "he_normal"\ngenerator = "numpie"'),
                       ["init.generator", "numpie", "did you mean 'numpy'"],
                       line_of="generator ="))
    # the second of two specs is bad: nothing runs, not even the first
    c.append(Case("second_spec_bad", {"good.toml": spec(top='name = "good"'),
                                      "second.toml": spec(model="layers = [2, 0, 1]")},
                  ["run", "good.toml", "second.toml"], [r"second\.toml:\d+"]))
    return c


# ---------------------------------------------------------------------------------------------
# set: --set overrides
# ---------------------------------------------------------------------------------------------

def set_cases():
    good = spec()
    c = []

    def s(name, override, expect):
        c.append(Case(name, {"good.toml": good}, ["run", "good.toml", "--set", override],
                      [re.escape(f"--set {override}")] + expect))

    s("set_unknown_key", "model.layrs=[2,3,1]", ["did you mean 'model.layers'"])
    s("set_unknown_section", "modle.depth=3", ["unknown key", "modle"])
    s("set_no_equals", "model.depth", ["key=value"])
    s("set_empty_key", "=3", ["key"])
    s("set_empty_value", "model.depth=", ["model.depth"])
    s("set_quick", "quick.seed=1", ["quick"])
    s("set_bad_type", "model.layers=abc", ["expected a list of integers"])
    s("set_bad_number", "train.lr=fast", ["train.lr", "number"])
    s("set_negative", "train.steps=-4", ["train.steps = -4", ">= 0"])
    s("set_zero_width", "model.width=0", ["model.width"])
    s("set_empty_list", "seed=[]", ["seed", "empty list"])
    s("set_bad_list", "init.scheme=[he_normal,", ["init.scheme"])
    s("set_unknown_scheme", "init.scheme=[he_normal,lecun]", ["unknown scheme 'lecun'"])
    s("set_name_list", "name=[a,b]", ["name"])
    s("set_layers_misfit", "model.layers=[3,4,1]", ["does not fit"])
    s("set_table_value", "model={depth=3}", ["model"])
    return c


# ---------------------------------------------------------------------------------------------
# cli: arguments
# ---------------------------------------------------------------------------------------------

def cli_cases():
    good = spec()
    c = []

    def a(name, args, expect, with_spec=True):
        c.append(Case(name, {"good.toml": good}, (["run", "good.toml"] if with_spec else []) + args,
                      expect))

    a("shard_zero", ["--shard", "0/2"], ["--shard '0/2'", "1 <= I <= N"])
    a("shard_beyond", ["--shard", "3/2"], ["--shard '3/2'"])
    a("shard_no_count", ["--shard", "1/0"], ["--shard '1/0'"])
    a("shard_text", ["--shard", "x"], ["--shard 'x'"])
    a("shard_negative", ["--shard", "-1/2"], ["--shard"])
    a("shard_extra", ["--shard", "1/2/3"], ["--shard '1/2/3'"])
    a("shard_empty", ["--shard", ""], ["--shard"])
    a("shard_huge", ["--shard", "1/99999999999999999999999"], ["--shard"])
    a("threads_negative", ["--threads", "-1"], ["--threads", "-1"])
    a("threads_absurd", ["--threads", "100000"], ["--threads", "100000"])
    a("threads_text", ["--threads", "many"], ["--threads", "many"])
    a("threads_fraction", ["--threads", "1.5"], ["--threads", "1.5"])
    a("unknown_option", ["--bogus"], ["--bogus"])
    a("option_without_value", ["--no-plot", "--out", "{out}", "--threads"], ["--threads"])
    a("run_without_spec", ["run"], ["spec"], with_spec=False)
    a("unknown_command", ["frobnicate"], ["unknown command 'frobnicate'", "commands: run"],
      with_spec=False)
    a("command_typo", ["rnu", "good.toml"], ["unknown command 'rnu'", "did you mean 'run'"],
      with_spec=False)
    a("unknown_long_option", ["--outdir", "{out}"], ["--outdir: unknown option", "--out"])
    a("set_without_equals", ["--set", "model.depth", "5"],
      ["--set model.depth", "expected key=value"])
    a("set_unquoted_list", ["--set", "init.scheme=[zeros,", "he_normal]"],
      ["'he_normal]' is not a spec file", "must be quoted"])
    a("spec_is_folder", ["{dir}"], ["is a folder, not a spec file"])
    c.append(Case("duplicate_names", {"good.toml": good, "copy.toml": good},
                  ["run", "good.toml", "copy.toml", "--out", "{out}"],
                  ["good.toml and copy.toml both have name", "rename one"]))
    a("spec_unknown_name", ["run", "course_intt"],
      ["no spec file 'course_intt'", "did you mean 'course_init'"], with_spec=False)
    return c


# ---------------------------------------------------------------------------------------------
# idx: MNIST-format files
# ---------------------------------------------------------------------------------------------

def idx_bytes(dims, data, magic=None):
    magic = magic if magic is not None else 0x800 | len(dims)
    return struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in dims) + bytes(data)


def idx_folder(train=30, test=10, side=4, classes=3, gz=False, **replace):
    """{name: bytes} of a small valid IDX data set; replace= swaps single files by key
    (train_images, train_labels, test_images, test_labels)."""
    def images(n):
        return idx_bytes([n, side, side], [(i * 37 + j * 11) % 256 for i in range(n)
                                           for j in range(side * side)])

    def labels(n):
        return idx_bytes([n], [i % classes for i in range(n)])

    files = {"train_images": images(train), "train_labels": labels(train),
             "test_images": images(test), "test_labels": labels(test)}
    files.update(replace)
    names = {"train_images": "train-images-idx3-ubyte", "train_labels": "train-labels-idx1-ubyte",
             "test_images": "t10k-images-idx3-ubyte", "test_labels": "t10k-labels-idx1-ubyte"}
    out = {}
    for key, content in files.items():
        if content is None:
            continue
        name = "mnist/" + names[key]
        if gz:
            content, name = gzip.compress(content, mtime=0), name + ".gz"
        out[name] = content
    return out


IDX_SPEC = spec(data='kind = "idx"\npath = "mnist"', model='depth = 1\nwidth = 4\noutput = "softmax"')


def idx_cases():
    c = []

    def i(name, files, expect, text=IDX_SPEC):
        c.append(Case(name, {"idx.toml": text, **files}, ["run", "idx.toml"],
                      [r"idx\.toml"] + expect))

    good = idx_folder()
    i("idx_missing_folder", {}, ["mnist", "no such folder"])
    i("idx_missing_file", idx_folder(test_labels=None), ["t10k-labels-idx1-ubyte", "no such file"])
    bad_magic = bytearray(good["mnist/train-images-idx3-ubyte"])
    bad_magic[2] = 0x09
    i("idx_bad_magic", idx_folder(train_images=bytes(bad_magic)),
      ["train-images-idx3-ubyte", "bad magic number"])
    i("idx_not_idx", idx_folder(train_images=b"GIF89a" + bytes(100)),
      ["train-images-idx3-ubyte", "bad magic number"])
    i("idx_wrong_dims", idx_folder(train_images=idx_bytes([30, 16], bytes(30 * 16))),
      ["train-images-idx3-ubyte", "wrong dimension count"])
    i("idx_labels_wrong_dims", idx_folder(train_labels=idx_bytes([30, 1], bytes(30))),
      ["train-labels-idx1-ubyte", "wrong dimension count"])
    i("idx_truncated_data", idx_folder(train_images=good["mnist/train-images-idx3-ubyte"][:-5]),
      ["train-images-idx3-ubyte", "truncated data"])
    i("idx_truncated_header", idx_folder(train_images=good["mnist/train-images-idx3-ubyte"][:9]),
      ["train-images-idx3-ubyte", "truncated header"])
    i("idx_empty_file", idx_folder(train_images=b""), ["train-images-idx3-ubyte", "truncated"])
    i("idx_trailing_bytes", idx_folder(train_labels=good["mnist/train-labels-idx1-ubyte"] + b"x"),
      ["train-labels-idx1-ubyte", "after"])
    i("idx_label_count", idx_folder(train_labels=idx_bytes([29], bytes(29))),
      ["train-labels-idx1-ubyte", "29 labels", "30 images"])
    i("idx_huge_header", idx_folder(train_images=idx_bytes([2**31, 4, 4], bytes(64))),
      ["train-images-idx3-ubyte", "truncated data"])
    i("idx_overflow_header",
      idx_folder(train_images=idx_bytes([2**32 - 1, 2**32 - 1, 2**32 - 1], bytes(64))),
      ["train-images-idx3-ubyte", "overflow|truncated"])
    i("idx_no_pixels", idx_folder(train_images=idx_bytes([30, 0, 4], b"")),
      ["train-images-idx3-ubyte", "no pixels"])
    i("idx_test_size_differs", idx_folder(test_images=idx_bytes([10, 5, 5], bytes(250))),
      ["t10k-images-idx3-ubyte", "5 x 5"])
    i("idx_label_out_of_range", idx_folder(),
      ["labels-idx1-ubyte", "out of range for classes = 2"],
      text=spec(data='kind = "idx"\npath = "mnist"\nclasses = 2',
                model='depth = 1\nwidth = 4\noutput = "sigmoid"'))
    i("idx_model_misfit", idx_folder(),
      ["16 inputs|16 features|16"], text=spec(data='kind = "idx"\npath = "mnist"',
                                              model='layers = [10, 4, 3]\noutput = "softmax"'))
    gz = idx_folder(gz=True)
    corrupt = bytearray(gz["mnist/train-images-idx3-ubyte.gz"])
    for k in range(15, len(corrupt) - 10):
        corrupt[k] ^= 0x5A
    i("idx_gzip_corrupt", {**gz, "mnist/train-images-idx3-ubyte.gz": bytes(corrupt)},
      ["train-images-idx3-ubyte.gz", "broken gzip stream|bad magic|truncated"])
    cut = gz["mnist/train-images-idx3-ubyte.gz"]
    i("idx_gzip_cut", {**gz, "mnist/train-images-idx3-ubyte.gz": cut[: len(cut) // 2]},
      ["train-images-idx3-ubyte.gz", "broken gzip stream|truncated"])
    crc = bytearray(cut)
    crc[-8] ^= 0xFF  # the trailer's CRC-32
    i("idx_gzip_bad_crc", {**gz, "mnist/train-images-idx3-ubyte.gz": bytes(crc)},
      ["train-images-idx3-ubyte.gz", "broken gzip stream"])
    return c


# ---------------------------------------------------------------------------------------------
# csv: CSV data files
# ---------------------------------------------------------------------------------------------

GOOD_CSV = "x1,x2,y\n" + "".join(f"{i * 0.1:.1f},{(i * 7 % 10) * 0.3:.1f},{i % 2}\n"
                                 for i in range(40))
CSV_SPEC = spec(data='kind = "csv"\npath = "train.csv"\nlabel = "y"')


def csv_cases():
    c = []

    def k(name, content, expect, text=CSV_SPEC, extra=None):
        files = {"csv.toml": text, "train.csv": content}
        files.update(extra or {})
        c.append(Case(name, files, ["run", "csv.toml"], [r"csv\.toml"] + expect))

    k("csv_empty", "", ["train.csv", "empty file"])
    k("csv_blank_lines", "\n\n  \n", ["train.csv", "empty file"])
    k("csv_header_only", "x1,x2,y\n", ["train.csv", "no data rows"])
    k("csv_ragged", GOOD_CSV + "1.0,2.0\n", ["train.csv:42:", "2 cells", "3 columns"])
    k("csv_ragged_long", GOOD_CSV + "1.0,2.0,1,4\n", ["train.csv:42:", "4 cells"])
    k("csv_non_numeric", GOOD_CSV.replace("0.3,1\n", "abc,1\n", 1),
      [r"train\.csv:\d+:", "'abc' is not a number"])
    k("csv_nan", GOOD_CSV + "nan,1.0,0\n", ["train.csv:42:", "not finite"])
    k("csv_inf", GOOD_CSV + "1.0,-inf,0\n", ["train.csv:42:", "not finite"])
    k("csv_huge_number", GOOD_CSV + "1e999,1.0,0\n", ["train.csv:42:", "finite|number"])
    k("csv_missing_label", GOOD_CSV.replace("x1,x2,y", "x1,x2,z"),
      ["train.csv:1:", "no label column 'y'", "x1, x2, z"])
    k("csv_missing_target", GOOD_CSV, ["train.csv:1:", "'t'"],
      text=spec(data='kind = "csv"\npath = "train.csv"\ntargets = ["t"]',
                model='layers = [3, 4, 1]\noutput = "linear"'))
    k("csv_label_negative", GOOD_CSV + "1.0,1.0,-1\n", ["train.csv:42:", "label", "-1"])
    k("csv_label_fraction", GOOD_CSV + "1.0,1.0,0.5\n", ["train.csv:42:", "label", "0.5"])
    k("csv_label_out_of_range", GOOD_CSV + "1.0,1.0,3\n",
      ["train.csv:42:", "out of range for classes = 2"],
      text=spec(data='kind = "csv"\npath = "train.csv"\nlabel = "y"\nclasses = 2'))
    k("csv_label_absurd", GOOD_CSV + "1.0,1.0,1e9\n", ["train.csv:42:", "class index"])
    k("csv_duplicate_column", GOOD_CSV.replace("x1,x2,y", "x1,x1,y"),
      ["train.csv:1:", "duplicate column 'x1'"])
    k("csv_unnamed_column", GOOD_CSV.replace("x1,x2,y", "x1,,y"), ["train.csv:1:", "no name"])
    k("csv_only_label", "y\n0\n1\n", ["train.csv:1:", "no feature columns"])
    k("csv_missing_file", None, ["train.csv", "no such file"])
    k("csv_binary", bytes(range(256)) * 4, ["train.csv"])
    # quoting is RFC 4180's (the project's one CSV tokenizer): "1.0" is the number 1.0, and a
    # quote that does not close is an error at the line it opened on
    k("csv_quoted_text_cell", GOOD_CSV + '"one",2,1\n', ["train.csv:42:", "'one' is not a number"])
    k("csv_unterminated_quote", GOOD_CSV + '"1.0,2,1\n', ["train.csv:42:", "unterminated quoted field"])
    k("csv_quote_inside", GOOD_CSV + '1"0,2,1\n', ["train.csv:42:", "a quote in the middle of a field"])
    k("csv_test_columns", GOOD_CSV, ["test.csv:1:", "x2"],
      text=spec(data='kind = "csv"\npath = "train.csv"\ntest_path = "test.csv"\nlabel = "y"'),
      extra={"test.csv": "x1,y\n1.0,0\n"})
    k("csv_no_train_rows", "x1,x2,y\n1,2,0\n", ["train.csv", "no training rows"],
      text=spec(data='kind = "csv"\npath = "train.csv"\nlabel = "y"\ntest_fraction = 0.9'))
    k("csv_model_misfit", GOOD_CSV, ["does not fit|2 inputs|2 features"],
      text=spec(data='kind = "csv"\npath = "train.csv"\nlabel = "y"',
                model="layers = [5, 4, 1]"))
    k("csv_batch_larger", GOOD_CSV, ["train.batch = 100", "training samples"],
      text=spec(data='kind = "csv"\npath = "train.csv"\nlabel = "y"',
                train="lr = 0.1\nsteps = 5\nbatch = 100"))
    k("csv_identity_non_square", GOOD_CSV, ["identity", "square"],
      text=spec(data='kind = "csv"\npath = "train.csv"\nlabel = "y"',
                model="depth = 2\nwidth = 4", init='scheme = "identity"'))
    return c


# ---------------------------------------------------------------------------------------------
# output: the output folder
# ---------------------------------------------------------------------------------------------

def make_file(path, content="x"):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(content)


def run_good(binary, spec_dir, out, name="good.toml", extra=()):
    r = common.run([binary, "run", os.path.join(spec_dir, name), "--out", out, "--no-plot",
                    *extra], cwd=spec_dir)
    check(r.returncode == 0, f"preparing the folder failed:\n{r.describe()}")


def output_cases():
    good = spec()
    other = spec(train="lr = 0.2\nsteps = 5")
    c = []

    def o(name, args, expect, before, nobody=False, files=None):
        c.append(Case(name, files or {"good.toml": good}, ["run", "good.toml", *args], expect,
                      before=before, nobody=nobody))

    # --out is a regular file, or below one
    o("out_is_file", ["--out", "{out}"], ["output folder", "out"],
      before=lambda d, out, b: make_file(out))
    o("out_below_file", ["--out", "{out}/sub"], ["output folder", "out/sub"],
      before=lambda d, out, b: make_file(out))
    # the experiment folder's place is taken by a file
    o("experiment_is_file", [], ["output folder|bad"],
      before=lambda d, out, b: make_file(os.path.join(out, "bad")))
    # .runs is a file
    o("runs_is_file", [], [".runs"],
      before=lambda d, out, b: make_file(os.path.join(out, "bad", ".runs")))

    # permissions (as an unprivileged user when root)
    def readonly(d, out, b):
        os.makedirs(out)
        os.chmod(out, 0o555)
    o("out_readonly", [], ["output folder", "Permission denied"], before=readonly, nobody=True)

    def experiment_readonly(d, out, b):
        os.makedirs(os.path.join(out, "bad"))
        os.chmod(os.path.join(out, "bad"), 0o555)
    o("experiment_readonly", [], ["bad", "Permission denied"], before=experiment_readonly,
      nobody=True)

    def experiment_unreadable(d, out, b):
        os.makedirs(os.path.join(out, "bad", ".runs"))
        os.chmod(os.path.join(out, "bad"), 0)
    o("experiment_unreadable_resume", ["--resume"], ["bad", "Permission denied"],
      before=experiment_unreadable, nobody=True)

    # --resume into a folder of another spec: refused, and the folder is left as it was
    def other_results(d, out, b):
        make_file(os.path.join(d, "other.toml"), other)
        run_good(b, d, out, "other.toml")
    o("resume_other_spec", ["--resume"], ["different spec", "--resume"], before=other_results)

    # a bad data file with existing results: nothing is touched, even with --force (which lets
    # another spec replace them); without --force the other spec is refused first
    def good_results(d, out, b):
        run_good(b, d, out)
    c.append(Case("bad_data_keeps_results",
                  {"good.toml": good, "csv.toml": CSV_SPEC.replace('"bad"', '"bad"'),
                   "train.csv": "x1,x2,y\n1,2\n"},
                  ["run", "csv.toml", "--force"], ["train.csv:2:"], before=good_results))
    c.append(Case("other_spec_keeps_results",
                  {"good.toml": good, "csv.toml": CSV_SPEC.replace('"bad"', '"bad"'),
                   "train.csv": "x1,x2,y\n1,2\n"},
                  ["run", "csv.toml"], ["holds results of a different spec", "--force"],
                  before=good_results))
    return c


GROUP_CASES = {"spec": spec_cases, "set": set_cases, "cli": cli_cases, "idx": idx_cases,
               "csv": csv_cases, "output": output_cases}


def group(make):
    def run_group(binary):
        tally = common.Tally()
        for case in make():
            tally.case(case.name, run_case, binary, case)
        return tally.result()
    return run_group


if __name__ == "__main__":
    sys.exit(common.main({name: group(make) for name, make in GROUP_CASES.items()}, sys.argv))
