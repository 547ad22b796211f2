"""Frontend: read the user's source (source.py), refuse what is outside the subset (fence.py),
and resolve every free name against the function's globals and closure (resolve.py)."""
