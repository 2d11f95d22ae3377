"""Print one summary line from meson's testlog.json (CI reads this line)."""
import json
import sys

results = [json.loads(line) for line in open(sys.argv[1])]
passed = sum(r["result"] in ("OK", "EXPECTEDFAIL") for r in results)
skipped = sum(r["result"] == "SKIP" for r in results)
failed = len(results) - passed - skipped
print(f"{passed} passed, {failed} failed, {skipped} skipped")
