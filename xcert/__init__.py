"""Core library of the 1+X public registry: registry model, token codec, verification, QR."""
