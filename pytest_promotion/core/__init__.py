"""Leaves every other module may import: errors, the secret scrubber, xdist and text helpers."""
