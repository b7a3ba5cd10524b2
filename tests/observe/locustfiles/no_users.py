"""A locustfile without any User class (and a stray print, which must not break the stats stream)."""

print("hello from a locustfile")
