"""Checked reading of initbench's CSV files: pandas tables whose every error is one located line.

    t = Table.read("results/course_init/curves.csv")
    t.require("run_id", "train_loss")   # DataError: ...curves.csv: missing column 'train_loss'
    t.floats("train_loss")              # DataError: ...curves.csv:4: column 'train_loss': ...
    t.ints("step")

The file is read by pandas (`read_csv`) as text; numbers are converted per column on request, as
Python's float() reads them (`nan`, `inf`, `-inf` included), so a value that is not a number is
reported with its file line and column instead of turning the column into text. A row with more
or fewer fields than the header, an empty file or an empty header row is a DataError too. Line
numbers are file lines (1 = the header), blank lines counted. Used by `initbench.plot` and
`initbench.report`, whose command lines report errors through `one_line_errors`; imports pandas
and numpy only when a table is read.
"""

import csv
import os
import sys

__all__ = ["DataError", "Table", "one_line_errors"]


class DataError(ValueError):
    """Bad or missing input, said in one line that names the file (and line and column)."""


def one_line_errors(prog, debug_variable, work):
    """Runs work() for a command line and returns its exit status: 0; or 1 after one line on
    stderr, "PROG: error: ..." for a DataError or an OSError, "PROG: internal error: ..." for any
    other exception (a bug; its traceback instead when debug_variable is set in the
    environment)."""
    try:
        work()
    except (DataError, OSError) as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 1
    except Exception as e:  # a bug of ours: one line, the traceback on request
        if os.environ.get(debug_variable):
            raise
        print(f"{prog}: internal error: {type(e).__name__}: {e} (set {debug_variable}=1 for the "
              f"traceback)", file=sys.stderr)
        return 1
    return 0


def _rows_with_lines(path):
    """(file line, fields) of every non-blank row, the header first: for locating errors."""
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        for row in reader:
            if row:
                yield reader.line_num, row


class Table:
    """A CSV file: its header and a pandas DataFrame of its rows as text (duplicate column names
    get pandas' `.1` suffix; runs.csv repeats `seed`, a field and an axis with the same value)."""

    def __init__(self, path, header, frame):
        self.path = path
        self.header = header
        self.frame = frame
        self._cache = {}
        self._lines = None

    @staticmethod
    def read(path):
        """The table at path; FileNotFoundError if there is no such file, DataError if it is
        malformed."""
        import pandas as pd
        if not os.path.isfile(path):
            raise FileNotFoundError(path)
        try:
            raw = pd.read_csv(path, header=None, dtype=str, keep_default_na=False,
                              encoding="utf-8")
        except pd.errors.EmptyDataError:
            raise DataError(f"{path}: empty file (no header row)") from None
        except pd.errors.ParserError as e:
            raise DataError(Table._parser_message(path, e)) from None
        except (OSError, UnicodeDecodeError) as e:
            raise DataError(f"{path}: cannot read: {e}") from None
        header = raw.iloc[0].tolist()
        if all(name == "" for name in header):
            raise DataError(f"{path}: empty header row")
        frame = raw.iloc[1:].reset_index(drop=True)
        frame.columns = Table._unique(header)
        table = Table(path, header, frame)
        table._check_short_rows()
        return table

    @staticmethod
    def _parser_message(path, error):
        # pandas: "Error tokenizing data. C error: Expected 8 fields in line 6, saw 9"
        text = str(error).strip()
        words = text.replace(",", " ").split()
        try:
            expected = int(words[words.index("Expected") + 1])
            line = int(words[words.index("line") + 1])
            saw = int(words[words.index("saw") + 1])
        except (ValueError, IndexError):
            return f"{path}: cannot read: {text.splitlines()[-1] if text else error}"
        return f"{path}:{line}: {saw} fields, the header has {expected}"

    @staticmethod
    def _unique(header):
        seen, out = {}, []
        for name in header:
            k = seen.get(name, 0)
            seen[name] = k + 1
            out.append(name if k == 0 else f"{name}.{k}")
        return out

    def _check_short_rows(self):
        """pandas pads a short row with empty fields: a short row has an empty last field, and
        only such rows are counted again."""
        if len(self.frame) == 0 or not (self.frame.iloc[:, -1] == "").any():
            return
        for i, (line, row) in enumerate(_rows_with_lines(self.path)):
            if i > 0 and len(row) != len(self.header):
                raise DataError(f"{self.path}:{line}: {len(row)} fields, the header has "
                                f"{len(self.header)}")

    def line(self, i):
        """The file line of row i (0 = the first row after the header)."""
        if self._lines is None:
            self._lines = [line for line, _ in _rows_with_lines(self.path)][1:]
        return self._lines[i]

    def __len__(self):
        return len(self.frame)

    def has(self, name):
        return name in self.frame.columns

    def require(self, *names):
        for name in names:
            if name not in self.frame.columns:
                raise DataError(f"{self.path}: missing column '{name}'")

    def text(self, name):
        """The column as a list of strings."""
        self.require(name)
        return self.frame[name].tolist()

    def floats(self, name):
        """The column as a float64 array (Python's float() of each field)."""
        import numpy as np
        if name in self._cache:
            return self._cache[name]
        values = self.text(name)
        try:
            out = np.array(values, dtype=float) if values else np.zeros(0)
        except ValueError:
            for i, v in enumerate(values):
                try:
                    float(v)
                except ValueError:
                    raise DataError(f"{self.path}:{self.line(i)}: column '{name}': '{v}' is not "
                                    f"a number") from None
            raise
        self._cache[name] = out
        return out

    def ints(self, name):
        """The column as an int64 array; a value that is not a whole number is a DataError."""
        import numpy as np
        x = self.floats(name)
        bad = ~np.isfinite(x) | (x != np.round(x))
        if bad.any():
            k = int(np.argmax(bad))
            raise DataError(f"{self.path}:{self.line(k)}: column '{name}': "
                            f"'{self.frame[name].iloc[k]}' is not an integer")
        return x.astype(np.int64)
