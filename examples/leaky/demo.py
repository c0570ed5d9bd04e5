"""make demo: call the leaky extension the way a test suite would."""

import leaky

assert leaky.checksum(b"abc") == 294
assert leaky.checksum(b"") == 0          # this call leaks 16 bytes
print("leaky.checksum works; now read what Memcheck says")
