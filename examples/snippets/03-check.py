import sys
assert sorted([3, 1, 2]) == [1, 2, 3]
print("checks passed", file=sys.stderr)
