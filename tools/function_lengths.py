"""The longest functions of the addons, tests and tools, by lines (decorators included).

python tools/function_lengths.py            # the 15 longest
python tools/function_lengths.py --max 60   # and exit 1 if any is longer than 60 lines
"""

import argparse
import ast
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent


def function_lengths(root):
    """(lines, "path:line name") of every function under the addons, tests/ and tools/."""
    for path in sorted(root.glob("*/**/*.py")):
        top = path.relative_to(root).parts[0]
        if not (top.startswith("spp_") or top in ("tests", "tools")):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                start = min([node.lineno] + [decorator.lineno for decorator in node.decorator_list])
                yield node.end_lineno - start + 1, f"{path.relative_to(root)}:{node.lineno} {node.name}"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--max", type=int, help="exit 1 if a function is longer than this")
    args = parser.parse_args()
    lengths = sorted(function_lengths(ROOT), reverse=True)
    for lines, where in lengths[: args.top]:
        print(f"{lines:4d} {where}")
    return 1 if args.max and lengths and lengths[0][0] > args.max else 0


if __name__ == "__main__":
    sys.exit(main())
