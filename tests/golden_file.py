"""Golden files for the Python test scripts: compare what a command printed
with the committed expectation, or rewrite it when ORDERFLOW_UPDATE_GOLDEN=1
(review the diff before committing it)."""
import difflib
import os


def compare(expected_path, actual):
    """None when `actual` is what `expected_path` holds (or was just written
    there); otherwise what is wrong, with a unified diff."""
    if os.environ.get("ORDERFLOW_UPDATE_GOLDEN") == "1":
        os.makedirs(os.path.dirname(expected_path), exist_ok=True)
        with open(expected_path, "w") as f:
            f.write(actual)
        return None
    if not os.path.exists(expected_path):
        return f"{expected_path} is missing (run with ORDERFLOW_UPDATE_GOLDEN=1)"
    want = open(expected_path).read()
    if want == actual:
        return None
    return f"{expected_path} differs:\n" + "".join(
        difflib.unified_diff(want.splitlines(True), actual.splitlines(True), expected_path, "actual"))
