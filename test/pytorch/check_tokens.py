"""For test/pytorch-export-safety.test.ts: argv holds pairs (reference file, file to check). Each
file must parse (ast) and tokenize, and the checked file must have exactly the reference's token
structure (the token types, the operators and the keywords; names, strings, numbers and comments may
differ), use only plain double-quoted ASCII strings, and name no dangerous builtin. One JSON line per pair."""
import ast
import io
import json
import keyword
import sys
import tokenize
import builtins

BUILTINS = set(dir(builtins))

DANGEROUS = {"exec", "eval", "compile", "__import__", "os", "sys", "subprocess", "system", "open", "globals", "locals", "getattr", "setattr", "breakpoint", "input", "pwned"}
# Names the generated code itself uses that a document name could otherwise imitate.
MODULE_LEVEL = {"torch", "nn", "F", "np", "json", "os", "math", "time", "argparse", "dist"}


def structure(path):
    text = open(path, encoding="utf-8").read()
    ast.parse(text)
    tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    shape, strings, names = [], [], []
    for t in tokens:
        if t.type == tokenize.NAME:
            shape.append(t.string if keyword.iskeyword(t.string) or keyword.issoftkeyword(t.string) else "NAME")
            names.append(t.string)
        elif t.type == tokenize.OP:
            shape.append(t.string)
        elif t.type == tokenize.STRING:
            shape.append("STRING")
            strings.append(t.string)
        elif t.type in (tokenize.COMMENT, tokenize.NUMBER):
            shape.append(tokenize.tok_name[t.type])
        else:
            shape.append(tokenize.tok_name[t.type])
    return text, shape, strings, names


for reference, checked in zip(sys.argv[1::2], sys.argv[2::2]):
    result = {"file": checked}
    try:
        _, want, ref_strings, ref_names = structure(reference)
        text, got, strings, names = structure(checked)
        result["sameStructure"] = want == got
        if want != got:
            first = next((i for i, (a, b) in enumerate(zip(want, got)) if a != b), min(len(want), len(got)))
            result["at"] = [want[max(0, first - 5) : first + 5], got[max(0, first - 5) : first + 5]]
        result["ascii"] = all(ord(c) < 128 for c in text)
        # Strings the document changed are plain "..." literals (no prefix: no f-string, no bytes).
        result["plainStrings"] = want == got and all(b.startswith('"') and not b.startswith('"""') for a, b in zip(ref_strings, strings) if a != b)
        # Names the document changed (same positions, as the structure is the same): none may be a
        # builtin, a module the code uses, a dunder or private name, or a dangerous global.
        changed = [b for a, b in zip(ref_names, names) if a != b] if want == got else names
        result["badNames"] = sorted({n for n in changed if n in DANGEROUS or n in MODULE_LEVEL or n in BUILTINS or n.startswith("_")})
    except Exception as err:
        result["error"] = f"{type(err).__name__}: {err}"
    print(json.dumps(result), flush=True)
